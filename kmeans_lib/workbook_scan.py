"""Bounds on an Excel workbook's XML, checked as a stream before calamine parses it.

A workbook is a zip archive of XML parts. A few kilobytes of it can unpack to
millions of elements, or place one cell so far to the right or down that the
sheet's used range (which calamine allocates whole, and pandas pads from A1)
holds billions of cells. Each part calamine reads is read here first with
expat, as a stream of at most a megabyte at a time, counting its elements and
its text against the limits of its kind and following the cells' positions the
way calamine places them; the read stops at the first limit passed, so the
check costs at most the limit's worth of parsing and no memory.

The parts are found as calamine finds them, whatever the manifest
(``[Content_Types].xml``) says or whether there is one: ``_rels/.rels`` names
the workbook part, whose folder (``xl/`` as a rule) holds ``sharedStrings.xml``,
``styles.xml``, ``workbook.xml`` and ``_rels/workbook.xml.rels``, which names
each sheet's part. Names are matched without regard to case, as calamine does.
Elements are matched by their local names (calamine ignores namespaces and
prefixes) and XML that expat does not accept is refused: calamine's parser is
lenient (it does not even check that end tags match), so a part this scan
cannot follow must not reach it.
"""

from __future__ import annotations

import dataclasses
import functools
import zipfile
from xml.parsers import expat

from kmeans_lib.errors import InputError

_CHUNK = 1 << 20
# The first characters of each <v> (a number, or the index of a shared text) and <f> (a
# formula, which calamine reads and drops) are free: only longer values count as text.
_FREE_VALUE_CHARS = 64
# Cell types whose <v> calamine keeps as text: formulas' text results and ISO dates.
_TEXT_VALUE_TYPES = frozenset({"str", "d"})
_OFFICE_DOCUMENT = "/relationships/officeDocument"
_DIGITS = "0123456789"


class _Refused(Exception):
    """Raised inside expat's callbacks to stop the parse; carries the InputError."""

    def __init__(self, error: InputError):
        super().__init__(str(error))
        self.error = error


def damaged() -> InputError:
    """The refusal of a workbook whose structure cannot be followed."""
    return InputError(
        "This Excel workbook could not be read (it may be damaged). Open it in your "
        "spreadsheet program, save it again as .xlsx and upload that."
    )


def column_letters(number: int) -> str:
    """The letters of column ``number`` (1 is A, 27 is AA)."""
    letters = ""
    while number:
        number, remainder = divmod(number - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


@functools.lru_cache(maxsize=4096)
def _column_number(letters: str) -> int | None:
    """The column of letters such as ``ZZZ`` (A is 1), None if they are not letters.

    More than four letters are past any column limit (and past the u32 calamine keeps
    a column in): they give a column beyond all of them.
    """
    letters = letters.strip("$").upper()
    if len(letters) > 4:
        return 26**4 + 1 if letters.isascii() and letters.isalpha() else None
    number = 0
    for letter in letters:
        if not "A" <= letter <= "Z":
            return None
        number = number * 26 + ord(letter) - ord("A") + 1
    return number or None


# Columns A to ZZZ by their letters, for the usual cell reference.
_COLUMNS = {column_letters(number): number for number in range(1, 18_279)}


def _position(reference: str) -> tuple[int, int] | None:
    """Row and column of a cell reference such as ``ZZZ12`` (A1 is (1, 1)), None if not one.

    A row of more than nine digits is past any limit (calamine would overflow the u32
    it keeps a row in): it gives a row of a billion.
    """
    letters = reference.rstrip(_DIGITS)
    start = len(letters)
    if start == len(reference) or not start:
        return None
    column = _column_number(letters)
    if column is None:
        return None
    row = int(reference[start:]) if len(reference) - start <= 9 else 1_000_000_000
    return (row, column) if row else None


@dataclasses.dataclass(frozen=True)
class Limits:
    """The bounds one scan checks (see kmeans_lib.tabular for their values and reasons)."""

    max_columns: int
    max_cells: int
    max_text_chars: int


@dataclasses.dataclass
class PartScan:
    """What one part's scan counted and found."""

    elements: int
    text: int
    rows: int = 0  # the used range of its cells, from A1
    width: int = 0
    relationships: dict[str, tuple[str, str]] = dataclasses.field(default_factory=dict)
    sheets: list[tuple[str, str]] = dataclasses.field(default_factory=list)  # (name, Id)


def _too_many_elements(limit: int, what: str) -> _Refused:
    return _Refused(
        InputError(
            f"There are more than {limit:,} XML elements in this workbook's {what}, far "
            "more than a table this app reads needs. Copy the table into a new workbook, "
            "or save it as CSV, and upload that."
        )
    )


def _too_much_text(limit: int) -> _Refused:
    return _Refused(
        InputError(
            f"This workbook holds more than {limit:,} characters of text in the sheet read "
            "and its table of texts. Save only the columns of numbers (and a few of text) "
            "as .xlsx or CSV and upload that."
        )
    )


def _refuse_range(rows: int, width: int, limits: Limits) -> None:
    """Refuse a used range (from A1) wider than the column limit or of too many cells."""
    if width > limits.max_columns:
        raise _Refused(
            InputError(
                f"A sheet of this workbook has a cell in column {column_letters(width)} "
                f"(column {width:,}), beyond the {limits.max_columns:,} columns this app "
                "reads. Delete the empty columns between the data, or copy the table into "
                "a new sheet, and upload that."
            )
        )
    # The header row is not counted: a table of the most cells has one on top.
    if (rows - 1) * width > limits.max_cells:
        raise _Refused(
            InputError(
                f"A sheet of this workbook spans {rows:,} rows by {width:,} columns, more "
                f"than the {limits.max_cells:,} cells this app reads (empty cells between "
                "the data count too). Delete the empty rows and columns, or upload a "
                "sample of the rows."
            )
        )


def _refuse_dtd(*_args: object) -> None:
    raise _Refused(
        InputError(
            "This workbook holds a document type declaration, which spreadsheet "
            "programs never write and which can make a small file expand without end. "
            "Open the table in your spreadsheet program, save it as .xlsx and upload that."
        )
    )


# The elements the scan follows, by local name (calamine ignores prefixes).
_C, _V, _IS, _T, _F, _ROW, _RELATIONSHIP, _SHEET = range(8)
_KINDS = {
    "c": _C,
    "v": _V,
    "is": _IS,
    "t": _T,
    "f": _F,
    "row": _ROW,
    "Relationship": _RELATIONSHIP,
    "sheet": _SHEET,
}


def _kind(name: str) -> int | None:
    """The kind of an element by its name, prefixed or not."""
    kind = _KINDS.get(name)
    if kind is None and ":" in name:
        kind = _KINDS.get(name.rpartition(":")[2])
    return kind


def _handlers(limit: int, what: str, limits: Limits, found: PartScan):
    """expat's callbacks for one part: they count its elements and text into ``found``
    and follow its cells (one closure each, as these run once per element).

    Cells are placed as calamine places them: a cell at its ``r`` reference
    when it has one, else at the next column of the current row; a row at its
    ``r`` number when it has one, else after the previous row. A cell counts
    in the used range when it holds a value (``<v>`` or ``<is>``).
    """
    elements, text = found.elements, found.text
    row = column = cell_row = rows = width = 0  # 0-based positions; range from A1
    cell_type = ""
    in_text = False  # inside <t>: every character is kept
    value_chars = -1  # inside <v> or <f>: characters so far, else -1
    max_text = limits.max_text_chars

    def start(name: str, attributes: dict[str, str]) -> None:
        nonlocal elements, row, column, cell_row, rows, width, cell_type, in_text, value_chars
        elements += 1
        if elements > limit:
            raise _too_many_elements(limit, what)
        kind = _KINDS.get(name)
        if kind is None:
            if ":" not in name:
                return
            kind = _kind(name)
        if kind == _C:
            cell_row, cell_type = row, attributes.get("t", "")
            reference = attributes.get("r")
            if reference:
                # The usual reference first (capitals, a row of up to 7 digits), at a
                # dictionary's cost: this runs for every cell.
                letters = reference.rstrip(_DIGITS)
                number = _COLUMNS.get(letters)
                place = None
                if number is not None and 0 < len(reference) - len(letters) <= 7:
                    place = int(reference[len(letters) :]), number
                if not (place and place[0]):
                    place = _position(reference)
                if place is not None:
                    cell_row, column = place[0] - 1, place[1] - 1
        elif kind == _V or kind == _IS:
            if cell_row >= rows or column >= width:
                rows, width = max(rows, cell_row + 1), max(width, column + 1)
                _refuse_range(rows, width, limits)
            if kind == _V:
                value_chars = 0
        elif kind == _T:
            in_text = True
        elif kind == _F:
            value_chars = 0
        elif kind == _ROW:
            number = attributes.get("r", "")
            if number.isdigit() and int(number):
                row = int(number) - 1
        elif kind == _RELATIONSHIP:
            target, type_ = attributes.get("Target", ""), attributes.get("Type", "")
            found.relationships[attributes.get("Id", "")] = (target, type_)
        elif kind == _SHEET:
            ids = [value for key, value in attributes.items() if key.rpartition(":")[2] == "id"]
            found.sheets.append((attributes.get("name", ""), ids[-1] if ids else ""))

    def end(name: str) -> None:
        nonlocal row, column, in_text, value_chars
        kind = _KINDS.get(name)
        if kind is None:
            if ":" not in name:
                return
            kind = _kind(name)
        if kind == _C:
            column += 1
        elif kind == _ROW:
            row += 1
            column = 0
        elif kind == _T:
            in_text = False
        elif kind == _V or kind == _F:
            value_chars = -1

    def characters(data: str) -> None:
        nonlocal text, value_chars
        if in_text:
            text += len(data)
        elif value_chars >= 0:
            before = value_chars
            value_chars += len(data)
            if cell_type in _TEXT_VALUE_TYPES:
                text += len(data)
            elif value_chars > _FREE_VALUE_CHARS:
                text += value_chars - max(before, _FREE_VALUE_CHARS)
            else:
                return
        else:
            return
        if text > max_text:
            raise _too_much_text(max_text)

    def counts() -> None:
        found.elements, found.text, found.rows, found.width = elements, text, rows, width

    return start, end, characters, counts


def scan_part(
    archive: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    limit: int,
    what: str,
    limits: Limits,
    counted: int = 0,
    text: int = 0,
) -> PartScan:
    """Parse one part as a stream, refusing it at the first limit it passes.

    Parameters
    ----------
    archive, info : the workbook and the part.
    limit : int
        Most XML elements the part may hold.
    what : str
        The part in plain words, for the message ("formatting", "sheet").
    limits : Limits
        Bounds on the used range of any cells it holds and on its text.
    counted, text : int, default 0
        Elements and characters of text counted already against the same limits.

    Returns
    -------
    PartScan
        The counts, with the ``relationships`` and the ``sheets`` the part lists.

    Raises
    ------
    InputError
        When a limit is passed, the part declares a DTD or is not XML.
    """
    found = PartScan(elements=counted, text=text)
    start, end, characters, counts = _handlers(limit, what, limits, found)
    parser = expat.ParserCreate()
    parser.buffer_text = True
    parser.buffer_size = 1 << 16
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = characters
    parser.StartDoctypeDeclHandler = _refuse_dtd
    parser.EntityDeclHandler = _refuse_dtd
    try:
        with archive.open(info) as stream:
            while chunk := stream.read(_CHUNK):
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
    except _Refused as refused:
        raise refused.error from None
    # zipfile raises NotImplementedError for a compression it lacks, RuntimeError for an
    # encrypted part: neither is a workbook this app reads.
    except (expat.ExpatError, zipfile.BadZipFile, OSError, EOFError) as error:
        raise damaged() from error
    except (NotImplementedError, RuntimeError) as error:  # as the previous
        raise damaged() from error
    counts()
    return found


class PartIndex:
    """A workbook's parts by name, looked up as calamine looks them up.

    calamine lowers the case of every name (and turns ``\\`` into ``/``) and
    looks a part up by its lowered name, falling back to the exact name.
    Where several parts share a lowered name, all of them are returned.
    """

    def __init__(self, infos: list[zipfile.ZipInfo]):
        self._lowered: dict[str, list[zipfile.ZipInfo]] = {}
        self._exact = {info.filename: info for info in infos}
        for info in infos:
            key = info.filename.replace("\\", "/").lower()
            self._lowered.setdefault(key, []).append(info)

    def find(self, path: str) -> list[zipfile.ZipInfo]:
        found = self._lowered.get(path.lower())
        if found:
            return found
        return [self._exact[path]] if path in self._exact else []


def workbook_folder(relationships: dict[str, tuple[str, str]]) -> str | None:
    """The folder of the workbook part named by the package's relationships, as calamine
    takes it (the last officeDocument relationship); None when there is none."""
    targets = [t for t, kind in relationships.values() if kind.endswith(_OFFICE_DOCUMENT)]
    if not targets:
        return None
    target = targets[-1]
    folder = target[: target.rfind("/") + 1] if "/" in target else ""
    return folder.removeprefix("/")


def sheet_paths(folder: str, target: str) -> tuple[str, ...]:
    """A sheet's part name from its relationship's target, as calamine builds it: from
    0.36 on, an absolute target as it is and a relative one in the workbook's folder;
    before, ``xl/`` prefixed unless the target starts with ``xl/`` or ``/xl/``."""
    current = target[1:] if target.startswith("/") else folder + target
    if folder != "xl/":
        return (current,)
    if target.startswith("/xl/"):
        return current, target[1:]
    return current, target if target.startswith("xl/") else "xl/" + target
