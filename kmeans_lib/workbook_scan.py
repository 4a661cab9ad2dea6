"""Bounds on an Excel workbook's XML, checked as a stream before openpyxl parses it.

A workbook is a zip archive of XML parts. A few kilobytes of it can unpack to
millions of elements that openpyxl turns into Python objects one by one (a
styles part of empty formats), or place one cell so far to the right that
pandas pads every row to that width. Each part is read here with expat, as a
stream of at most a megabyte at a time, counting its elements against the limit
of its kind and following the cells' positions the way openpyxl places them;
the read stops at the first limit passed, so the check costs at most the limit's
worth of parsing and no memory.
"""

from __future__ import annotations

import functools
import zipfile
from xml.etree import ElementTree
from xml.parsers import expat

from kmeans_lib.errors import InputError

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_CELL, _ROW, _SHEET = (f"{_MAIN} {name}" for name in ("c", "row", "sheet"))
_TYPES = "{http://schemas.openxmlformats.org/package/2006/content-types}"
_SPREADSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml."
STYLES_TYPE = _SPREADSHEET + "styles+xml"
TEXTS_TYPE = _SPREADSHEET + "sharedStrings+xml"
SHEET_TYPE = _SPREADSHEET + "worksheet+xml"
MANIFEST = "[Content_Types].xml"
# openpyxl reads the styles from this name, whatever the manifest says it holds.
STYLES_PART = "xl/styles.xml"
_CHUNK = 1 << 20


class _Refused(Exception):
    """Raised inside expat's callbacks to stop the parse; carries the InputError."""

    def __init__(self, error: InputError):
        super().__init__(str(error))
        self.error = error


@functools.lru_cache(maxsize=4096)
def _column_number(reference: str) -> int | None:
    """The column of a cell reference such as ``ZZZ12`` (A is 1), None if not one."""
    letters = reference.rstrip("0123456789").strip("$").upper()
    number = 0
    for letter in letters:
        if not "A" <= letter <= "Z":
            return None
        number = number * 26 + ord(letter) - ord("A") + 1
    return number or None


def column_letters(number: int) -> str:
    """The letters of column ``number`` (1 is A, 27 is AA)."""
    letters = ""
    while number:
        number, remainder = divmod(number - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


class _PartScan:
    """expat callbacks that count one part's elements and follow its cells.

    Cells and rows are placed as openpyxl places them: by their ``r``
    attribute when they have one, else one after the previous.
    """

    def __init__(
        self, limit: int, what: str, counted: int, *, max_columns: int, max_cells: int, row_cap: int
    ):
        self.limit, self.what, self.elements = limit, what, counted
        self.max_columns, self.max_cells, self.row_cap = max_columns, max_cells, row_cap
        self.sheets = self.row = self.column = self.width = 0

    def start(self, name: str, attributes: dict[str, str]) -> None:
        self.elements += 1
        if self.elements > self.limit:
            raise _Refused(
                InputError(
                    f"There are more than {self.limit:,} XML elements in this workbook's "
                    f"{self.what}, far more than a table this app reads needs. Copy the table "
                    "into a new workbook, or save it as CSV, and upload that."
                )
            )
        if name == _CELL:
            reference = attributes.get("r")
            number = _column_number(reference) if reference else None
            self.column = self.column + 1 if number is None else number
            if self.column > self.width:
                self.width = self.column
                if self.width > self.max_columns:
                    letters = column_letters(self.width)
                    raise _Refused(
                        InputError(
                            f"A sheet of this workbook has a cell in column {letters} "
                            f"(column {self.width:,}), beyond the {self.max_columns:,} columns "
                            "this app reads. Delete the empty columns between the data, or "
                            "copy the table into a new sheet, and upload that."
                        )
                    )
        elif name == _ROW:
            number = attributes.get("r", "")
            self.row = int(number) if number.isdigit() else self.row + 1
            self.column = 0
            self.check_cells()
        elif name == _SHEET:
            self.sheets += 1

    def check_cells(self) -> None:
        """Refuse a used range (rows as read times columns) of more than ``max_cells``."""
        rows = min(self.row, self.row_cap)
        if rows * self.width > self.max_cells:
            raise _Refused(
                InputError(
                    f"A sheet of this workbook spans {rows:,} rows by {self.width:,} columns, "
                    f"more than the {self.max_cells:,} cells this app reads (empty cells "
                    "between the data count too). Delete the empty rows and columns, or "
                    "upload a sample of the rows."
                )
            )

    @staticmethod
    def refuse_dtd(*_args: object) -> None:
        raise _Refused(
            InputError(
                "This workbook holds a document type declaration, which spreadsheet "
                "programs never write and which can make a small file expand without end. "
                "Open the table in your spreadsheet program, save it as .xlsx and upload that."
            )
        )


def scan_part(
    archive: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    limit: int,
    what: str,
    counted: int = 0,
    *,
    max_columns: int,
    max_cells: int,
    row_cap: int,
) -> _PartScan:
    """Parse one part as a stream, refusing it at the first limit it passes.

    Parameters
    ----------
    archive, info : the workbook and the part.
    limit : int
        Most XML elements the part may hold.
    what : str
        The part in plain words, for the message ("formatting", "sheets").
    counted : int, default 0
        Elements counted already against the same limit (in other parts).
    max_columns, max_cells : int
        Bounds on the used range of any cells it holds (rows times columns).
    row_cap : int
        Rows pandas reads at most: rows beyond it do not count as cells.

    Returns
    -------
    _PartScan
        The counts: ``elements`` (with ``counted``), ``sheets`` (sheet entries of a workbook part),
        ``row`` and ``width`` of the cells' used range.

    Raises
    ------
    InputError
        When a limit is passed or the part declares a DTD. A part that is not
        XML is left alone: openpyxl, parsing with the same expat, fails on it
        at the same place.
    """
    scan = _PartScan(
        limit, what, counted, max_columns=max_columns, max_cells=max_cells, row_cap=row_cap
    )
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.StartElementHandler = scan.start
    parser.StartDoctypeDeclHandler = scan.refuse_dtd
    parser.EntityDeclHandler = scan.refuse_dtd
    try:
        with archive.open(info) as stream:
            while chunk := stream.read(_CHUNK):
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
        scan.check_cells()
    except _Refused as refused:
        raise refused.error from None
    except expat.ExpatError:
        pass
    return scan


def content_types(archive: zipfile.ZipFile, manifest: zipfile.ZipInfo) -> dict[str, str]:
    """Each part's content type from the (already scanned) manifest, by part name.

    Parts named by an ``Override`` take its type; others the ``Default`` of
    their extension; parts with neither are left out.
    """
    try:
        root = ElementTree.fromstring(archive.read(manifest))
    except ElementTree.ParseError:
        return {}
    defaults = {
        item.get("Extension", "").lower(): item.get("ContentType", "")
        for item in root.iter(f"{_TYPES}Default")
    }
    types = {
        item.get("PartName", "").lstrip("/"): item.get("ContentType", "")
        for item in root.iter(f"{_TYPES}Override")
    }
    for name in archive.namelist():
        extension = name.rpartition(".")[2].lower()
        if name not in types and extension in defaults:
            types[name] = defaults[extension]
    return types
