"""Numeric tables: read a CSV or Excel file, pick numeric columns, scale them into points.

The same k-means, elbow and silhouette code that works on colours works on a
table once its chosen columns become :class:`WeightedPoints`: identical rows
become one point weighted by how many rows share it, as identical colours do.
Columns measured on different scales are scaled first, as the article
recommends; colours already share one 0-255 scale and need no scaling.

Missing values: a row with a missing (empty, NaN) or infinite value in any of
the chosen columns is dropped, and :class:`PreparedTable` reports how many.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import os
import zipfile
from collections.abc import Sequence
from typing import BinaryIO

import numpy as np
import pandas as pd
from sklearn import datasets
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MaxAbsScaler, MinMaxScaler, StandardScaler

from kmeans_lib.clustering import WeightedPoints
from kmeans_lib.errors import InputError
from kmeans_lib.selection import sample_points
from kmeans_lib.workbook_scan import (
    Limits,
    PartIndex,
    damaged,
    scan_part,
    sheet_paths,
    workbook_folder,
)

SCALINGS = ("none", "standard", "minmax")
MAX_TABLE_ROWS = 200_000
MAX_TABLE_BYTES = 50_000_000
# An Excel workbook is a zip archive: its unpacked parts are bounded too (a 200,000 x 10
# sheet of full-precision numbers unpacks to about 90 MB), so a small "zip bomb" cannot
# make the server unpack gigabytes.
MAX_WORKBOOK_UNPACKED_BYTES = 150_000_000
# Columns: no table of measurements that people cluster by picking columns from a list
# comes near a thousand (iris has 4, wine 13; LibreOffice Calc stopped at 1,024 columns
# until 2022). A 1 MB CSV of 100,000 columns made pandas allocate 467 MB.
MAX_TABLE_COLUMNS = 1_000
# Cells, rows x columns of the table as read: the 200,000-row limit times 10 columns,
# 16 MB of numbers. It bounds wide tables' rows (2,000 rows at 1,000 columns). In a
# workbook it bounds the sheet's used range, from A1 to the last row and column that hold
# a value, header row aside: calamine allocates that whole range (32 bytes a cell) however
# few cells hold values, and pandas pads every row to its width, so one cell far to the
# right or far down must not multiply the table.
MAX_TABLE_CELLS = 2_000_000
# Characters on one line of text: 1,000 columns of 100 characters. A longer line is no
# table row (a 20 MB line of "1," would be ten million columns); checked before the
# separator is guessed. Text in quotes may span lines, and each line counts on its own.
MAX_LINE_CHARS = 100_000
# A workbook's sheets: calamine lists them all on opening, and each is a choice in a list.
MAX_WORKBOOK_SHEETS = 1_000
# Characters of text in the sheet read and in the workbook's table of texts (its shared
# strings), which calamine holds whole as Rust strings from the moment the workbook is
# opened, and pandas again as Python strings: a text cell of 10 million characters costs
# about 30 MB, as the same cell in a CSV does. Ten million characters are 500,000 cells
# of 20 characters, far more text than a table of numbers holds. Numbers do not count
# (the first 64 characters of each value or formula are free).
MAX_SHEET_TEXT_CHARS = 10_000_000
# XML elements of each workbook part that calamine parses, found as calamine finds them
# (see kmeans_lib.workbook_scan). Each part is read as a stream with expat and given up
# at its limit, before calamine sees the workbook; any DTD is refused, so no entity can
# expand. calamine parses quickly (about a microsecond an element) but keeps a record
# of each format in the styles part and a string of each text of the shared strings:
# Excel's own limit is 64,000 formats and a workbook rarely has a few hundred, and
# 1,000,000 elements of texts hold a text in each cell of a 50,000 x 10 table. A sheet of
# numbers is about two elements per cell: 1.5 million hold a 50,000 x 10 table (1.05
# million elements, which calamine and pandas read in about 1 s) with room to spare,
# and the scan stops there in under half a second. Only the sheet read is scanned, as
# calamine parses only that one; parts calamine does not parse (charts, drawings,
# images, the manifest) are bounded by MAX_WORKBOOK_UNPACKED_BYTES alone.
MAX_STYLE_ELEMENTS = 200_000
MAX_TEXT_ELEMENTS = 1_000_000
MAX_SHEET_ELEMENTS = 1_500_000
MAX_PART_ELEMENTS = 200_000
# Unscaled values beyond this make squared distances overflow (1e150 squared is 1e300,
# and a sum over 200,000 rows of 10 columns stays below the float64 limit of 1.8e308).
MAX_UNSCALED = 1e150
# Tables with more distinct rows than this are summarised by a random sample of this
# many rows for k-means's starts and the sweeps' fits (see table_points).
SUMMARY_ROWS = 5_000
# k-means++ starts of each sweep fit on a table's row sample. On 120,000 x 10 uniform
# random numbers (no groups: the slowest case to converge) one start on the 5,000-row
# sample gave inertias within 0.1% of three starts' at k = 3, 6, 10 and 20, in a third
# of the time (the k = 1 to 20 sweep took 0.8 s of CPU), and lower than three starts on
# a 3,000-row sample.
SWEEP_N_INIT = 1

# Every scaling first divides each column by its largest absolute value (exact
# up to rounding, and the result is the same), so no sum of values or of their
# squares can overflow, whatever the numbers.
_SCALERS = {"standard": StandardScaler, "minmax": MinMaxScaler}
# Tried in order on text without a byte order mark; Windows-1252 also reads
# Latin-1 text (they differ only in control characters no table holds).
_ENCODINGS = (("utf-8", "UTF-8"), ("cp1252", "Windows-1252 (Latin-1)"))
_BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig", "UTF-8"),
    (b"\xff\xfe", "utf-16", "UTF-16"),
    (b"\xfe\xff", "utf-16", "UTF-16"),
)
_DELIMITERS = ",;\t|"
_SEPARATOR_NAMES = {",": "commas", ";": "semicolons", "\t": "tabs", "|": "vertical bars"}
# Rows parsed to choose between the readings of the text (separator, decimal mark).
_TRIAL_ROWS = 1_000
_ZIP_MAGIC = b"PK\x03\x04"
# Old Excel (.xls) files and password-protected workbooks are OLE compound files.
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTION_STREAM = "EncryptionInfo".encode("utf-16-le")
# load function and the name of the column that holds the known class
_SAMPLES = {
    "iris": (datasets.load_iris, "species"),
    "wine": (datasets.load_wine, "cultivar"),
}


@dataclasses.dataclass(frozen=True)
class TableFile:
    """A table read from a file, and how it was read.

    Attributes
    ----------
    frame : pandas.DataFrame
        The table, with its header row as column names (always text).
    reading : str
        A plain sentence saying how the file was read, for example "Read as
        UTF-16 text with columns separated by tabs and decimal commas."
    sheets : tuple of str
        The workbook's sheet names; empty for a text file.
    sheet : str or None
        The sheet read, None for a text file.
    """

    frame: pd.DataFrame
    reading: str
    sheets: tuple[str, ...] = ()
    sheet: str | None = None


@dataclasses.dataclass(frozen=True)
class PreparedTable:
    """The chosen columns of a table, scaled and ready for k-means.

    Attributes
    ----------
    points : WeightedPoints
        One point per distinct row used, weighted by the rows that share it;
        with more than :data:`SUMMARY_ROWS` of them, ``points.coarse`` is a
        random sample of rows that k-means starts from and sweeps fit on.
    index : pandas.Index
        Labels of the rows used, to line results up with the original table.
    row_points : ndarray of int, shape (len(index),)
        The point each used row became.
    rows_dropped : int
        Rows left out because a chosen column was missing or infinite there.
    columns : tuple of str
        The chosen columns, in the order of the point coordinates.
    scaling : str
        One of :data:`SCALINGS`.
    """

    points: WeightedPoints
    index: pd.Index
    row_points: np.ndarray
    rows_dropped: int
    columns: tuple[str, ...]
    scaling: str

    @property
    def rows_used(self) -> int:
        """Number of rows that became points."""
        return len(self.index)

    @property
    def sweep_note(self) -> str | None:
        """A plain sentence when the sweeps fit each k on a sample of the rows, else None."""
        coarse = self.points.coarse
        if coarse is None:
            return None
        sampled = int(np.rint(coarse.weights.sum()))
        return (
            f"The sweeps fit each k on a random sample of {sampled:,} of the "
            f"{self.rows_used:,} rows, then measure the inertia over all of them; "
            "the groups below are refined on every row."
        )

    def row_labels(self, labels: np.ndarray) -> np.ndarray:
        """Each used row's cluster, from a fit's labels of the points."""
        return np.asarray(labels)[self.row_points]

    def groups_note(self, n_clusters: int, k: int) -> str | None:
        """A plain sentence when a fit found fewer than the ``k`` groups asked for."""
        distinct = self.points.n_points
        if distinct < k:
            rows = f"{distinct:,} distinct row{'s' * (distinct != 1)}"
            return (
                f"These columns have only {rows}, so there "
                f"{'are' if n_clusters != 1 else 'is'} {n_clusters} group"
                f"{'s' * (n_clusters != 1)} instead of the {k} asked for."
            )
        if n_clusters < k:
            return (
                f"k-means could only separate {n_clusters} groups of rows in this table, "
                f"so there are {n_clusters} instead of the {k} asked for."
            )
        return None


def _read_bytes(source: bytes | BinaryIO | str | os.PathLike, max_bytes: int) -> bytes:
    """Return the raw content of ``source``, refusing more than ``max_bytes``."""
    if isinstance(source, (bytes, bytearray)):
        data = bytes(source)
    elif isinstance(source, (str, os.PathLike)):
        try:
            with open(source, "rb") as handle:
                data = handle.read(max_bytes + 1)
        except OSError as error:
            raise InputError(
                f"The file {os.fspath(source)!r} could not be opened ({error.strerror}). "
                "Check the name and try again."
            ) from error
    else:
        data = source.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise InputError(
            f"The file is larger than {max_bytes / 1e6:,.0f} MB. "
            "Upload a smaller table, for example a sample of its rows."
        )
    return data


def _utf16_without_bom(data: bytes) -> str | None:
    """The codec of UTF-16 text without a byte order mark, judged by where its NULs are.

    Text in Latin letters and digits has a NUL as every other byte: the odd
    ones in little-endian UTF-16, the even ones in big-endian. (Spreadsheets
    write a byte order mark; without one, text mostly in other scripts is
    not recognised.)
    """
    head = data[:4096]
    half = len(head) // 2
    if half == 0:
        return None
    for codec, nuls in (("utf-16-le", head[1::2]), ("utf-16-be", head[0::2])):
        if nuls.count(0) > 0.9 * half:
            return codec
    return None


def _decode(data: bytes) -> tuple[str, str, str]:
    """The text, its codec (for Python and pandas) and the codec's name for people.

    Raises InputError when the bytes are not text in a supported encoding.
    """
    for bom, codec, label in _BOMS:
        if data.startswith(bom):
            candidates = [(codec, label)]
            break
    else:
        if b"\x00" not in data:
            candidates = list(_ENCODINGS)
        elif utf16 := _utf16_without_bom(data):
            candidates = [(utf16, "UTF-16")]
        else:
            # A NUL byte never occurs in 8-bit text but does in images and archives.
            raise InputError(
                "This file is not a CSV text file (it looks like a binary file such as "
                "an image or a program). Save the table as CSV or as an Excel workbook "
                "(.xlsx) and upload that."
            )
    for codec, label in candidates:
        try:
            return data.decode(codec), codec, label
        except UnicodeDecodeError:
            continue
    raise InputError(
        "The file's text could not be read. "
        "Save the table as CSV with UTF-8 encoding and try again."
    )


def _delimiter(text: str) -> str:
    """Guess the column separator from the start of the text (comma when unsure)."""
    try:
        return csv.Sniffer().sniff(text[:20_000], delimiters=_DELIMITERS).delimiter
    except csv.Error:
        return ","


def _readings(text: str) -> list[tuple[str, str]]:
    """The two (separator, decimal mark) pairs worth trying, the likeliest first.

    A decimal comma is possible whenever commas do not separate the columns;
    and where the sniffer settled on commas, semicolons with decimal commas
    are tried too, as European spreadsheets write them.
    """
    separator = _delimiter(text)
    if separator == ",":
        return [(",", "."), (";", ",")]
    return [(separator, "."), (separator, ",")]


def _parse(data: bytes, codec: str, separator: str, decimal: str, nrows: int) -> pd.DataFrame:
    """``pd.read_csv`` of the bytes, refusing text that is not a table in plain words."""
    try:
        return pd.read_csv(
            io.BytesIO(data), sep=separator, decimal=decimal, encoding=codec, nrows=nrows
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as error:
        raise InputError(
            "The file could not be read as a CSV table (rows must have the same "
            "number of separated values). Check that it is a CSV file."
        ) from error


def _check_lines(text: str) -> None:
    """Refuse text with a line longer than :data:`MAX_LINE_CHARS`, before anything parses it."""
    start = 0
    while start < len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        if end - start > MAX_LINE_CHARS:
            raise InputError(
                f"A line of this file is longer than {MAX_LINE_CHARS:,} characters, which no "
                "row of a table needs. Check that it is a CSV file with one row per line."
            )
        start = end + 1


def _header_columns(text: str, separator: str) -> int:
    """The number of fields on the first line of ``text`` split at ``separator``."""
    first_line = text[: text.find("\n")] if "\n" in text[: MAX_LINE_CHARS + 1] else text
    return len(next(csv.reader([first_line], delimiter=separator), []))


def _too_many_columns() -> InputError:
    return InputError(
        f"The table has more than {MAX_TABLE_COLUMNS:,} columns. Upload at most "
        f"{MAX_TABLE_COLUMNS:,} columns: the ones of numbers to cluster on."
    )


def _read_text(data: bytes, max_rows: int) -> TableFile:
    """Read CSV or tab-separated text, choosing the separator and the decimal mark."""
    text, codec, label = _decode(data)
    if not text.strip():
        raise InputError(
            "The file is empty. Upload a CSV file with a header row and rows of numbers."
        )
    _check_lines(text)
    # A header of too many columns under any reading is refused before pandas allocates.
    readings = [
        (separator, decimal, _header_columns(text, separator))
        for separator, decimal in _readings(text)
    ]
    del text
    if max(columns for *_, columns in readings) > MAX_TABLE_COLUMNS:
        raise _too_many_columns()
    # Keep the reading that finds the most numeric columns in the first rows (the
    # likeliest on a tie); when none finds any, the likeliest says what is wrong.
    scores = []
    for separator, decimal, _ in readings:
        try:
            trial = _parse(data, codec, separator, decimal, _TRIAL_ROWS)
        except InputError:
            scores.append(-1)
        else:
            scores.append(len(numeric_columns(trial)))
    separator, decimal, columns = readings[int(np.argmax(scores)) if max(scores) > 0 else 0]
    # One row beyond a limit is enough to know the table is too long (pandas makes a
    # value more than the header has into row labels, so the columns stay as counted).
    rows = min(max_rows, MAX_TABLE_CELLS // max(columns, 1))
    frame = _checked(_parse(data, codec, separator, decimal, rows + 1), max_rows)
    marks = " and decimal commas" if decimal == "," else ""
    reading = (
        f"Read as {label} text with columns separated by {_SEPARATOR_NAMES[separator]}{marks}."
    )
    return TableFile(frame=frame, reading=reading)


def _checked(frame: pd.DataFrame, max_rows: int) -> pd.DataFrame:
    """The frame with text column names, after the checks every table must pass."""
    if frame.empty:
        if len(frame.columns) == 0:
            raise InputError("The table is empty. Upload a table with a header row and data.")
        raise InputError("The table has column names but no rows. Upload a table with data.")
    if len(frame) > max_rows:
        raise InputError(
            f"The table has more than {max_rows:,} rows. Upload at most {max_rows:,} rows, "
            "for example a random sample of the table."
        )
    if len(frame.columns) > MAX_TABLE_COLUMNS:
        raise _too_many_columns()
    if frame.size > MAX_TABLE_CELLS:
        raise InputError(
            f"The table has more than {MAX_TABLE_CELLS:,} cells (rows times columns). "
            "Upload fewer rows or only the columns to cluster on."
        )
    frame.columns = [str(name) for name in frame.columns]
    if not numeric_columns(frame):
        raise InputError(
            "The table has no column of numbers. k-means needs numeric columns; "
            "check the separator and that the columns hold numbers."
        )
    return frame


@dataclasses.dataclass
class _Workbook:
    """A workbook's parts as calamine finds them, after the checks of those it reads on opening."""

    archive: zipfile.ZipFile
    parts: PartIndex
    relationships: dict[str, dict[str, tuple[str, str]]]  # by folder: Id -> (Target, Type)
    sheets: list[tuple[str, str, str]]  # (name, folder, relationship Id)
    text: int


def _scan_workbook(data: bytes) -> _Workbook:
    """Refuse what this app cannot read, then check every part calamine reads on opening.

    Those are the package's relationships, the table of texts (shared strings), the
    formatting (styles), the workbook's relationships and the workbook part with its
    list of sheets; each sheet is checked only when it is read (:func:`_scan_sheet`),
    as calamine parses only the sheet asked for.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError) as error:
        raise InputError(
            "This file looks like an Excel workbook but is damaged. Open it in your "
            "spreadsheet program, save it again as .xlsx and upload that."
        ) from error
    parts = PartIndex(infos)
    if any(info.filename.lower().endswith("vbaproject.bin") for info in infos):
        raise InputError(
            "This workbook contains macros (.xlsm), which this app does not open. "
            "Save it as an Excel workbook without macros (.xlsx) or as CSV and upload that."
        )
    if sum(info.file_size for info in infos) > MAX_WORKBOOK_UNPACKED_BYTES:
        raise InputError(
            f"This workbook unpacks to more than {MAX_WORKBOOK_UNPACKED_BYTES / 1e6:,.0f} MB. "
            "Upload a smaller table, for example one sheet or a sample of its rows."
        )
    package: dict[str, tuple[str, str]] = {}
    for info in parts.find("_rels/.rels"):
        package.update(_scan(archive, info, *_OTHER_PART).relationships)
    # calamine 0.36 and later take the workbook's folder from _rels/.rels; earlier ones
    # read xl/ whatever it says: both are checked when they differ.
    folders = [
        folder
        for folder in dict.fromkeys([workbook_folder(package), "xl/"])
        if folder is not None and parts.find(folder + "workbook.xml")
    ]
    if not folders:
        raise InputError(
            "This file is a zip archive but not an Excel workbook (.xlsx). Save the table "
            "as .xlsx or as CSV and upload that."
        )
    text = 0
    relationships: dict[str, dict[str, tuple[str, str]]] = {}
    sheets: list[tuple[str, str, str]] = []
    for folder in folders:
        for info in parts.find(folder + "sharedStrings.xml"):
            text = _scan(archive, info, MAX_TEXT_ELEMENTS, "table of texts", text=text).text
        for info in parts.find(folder + "styles.xml"):
            _scan(archive, info, MAX_STYLE_ELEMENTS, "formatting")
        relationships[folder] = {}
        for info in parts.find(folder + "_rels/workbook.xml.rels"):
            relationships[folder].update(_scan(archive, info, *_OTHER_PART).relationships)
        for info in parts.find(folder + "workbook.xml"):
            found = _scan(archive, info, *_OTHER_PART).sheets
            sheets += [(name, folder, rid) for name, rid in found]
    if len(sheets) > MAX_WORKBOOK_SHEETS:
        raise InputError(
            f"This workbook has more than {MAX_WORKBOOK_SHEETS:,} sheets. Copy the sheet "
            "with the table into a new workbook, or save it as CSV, and upload that."
        )
    return _Workbook(archive, parts, relationships, sheets, text)


def _scan_sheet(book: _Workbook, sheet: str) -> None:
    """Check the part of the sheet named ``sheet`` (the first of that name, as calamine
    takes it) before calamine reads it: its elements, its cells' used range and its text
    with the table of texts'. Where calamine versions build the part's name differently,
    each name is checked."""
    for folder, links in book.relationships.items():
        ids = [rid for name, where, rid in book.sheets if name == sheet and where == folder]
        if not ids or ids[0] not in links:
            continue  # calamine finds no such sheet either, and fails
        for path in dict.fromkeys(sheet_paths(folder, links[ids[0]][0])):
            for info in book.parts.find(path):
                _scan(book.archive, info, MAX_SHEET_ELEMENTS, "sheet", text=book.text)


# Element limit and plain name of a workbook part other than sheets, texts and formatting.
_OTHER_PART = (MAX_PART_ELEMENTS, "structure")


def _scan(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int, what: str, text=0):
    """:func:`scan_part` with this module's column, cell and text limits.

    The limits are read at each call, so that tests can lower them.
    """
    limits = Limits(
        max_columns=MAX_TABLE_COLUMNS,
        max_cells=MAX_TABLE_CELLS,
        max_text_chars=MAX_SHEET_TEXT_CHARS,
    )
    return scan_part(archive, info, limit, what, limits, text=text)


def _refuse_ole(data: bytes) -> None:
    """Explain why an OLE file (old .xls, or a password-protected workbook) is refused."""
    if _ENCRYPTION_STREAM in data:
        raise InputError(
            "This workbook is protected with a password, so it cannot be read. Open it in "
            "Excel, remove the password (File > Info > Protect Workbook), save it and "
            "upload it again."
        )
    raise InputError(
        "This is an old-style Excel file (.xls), which this app does not open. Open it in "
        "your spreadsheet program, save it as an Excel workbook (.xlsx) or as CSV and "
        "upload that."
    )


def _open_workbook(data: bytes) -> tuple[_Workbook, pd.ExcelFile]:
    """The workbook, checked and opened with calamine (values as last calculated)."""
    book = _scan_workbook(data)
    try:
        return book, pd.ExcelFile(io.BytesIO(data), engine="calamine")
    # calamine raises its own errors for damaged parts; all mean the same here.
    except Exception as error:
        raise damaged() from error


def _read_workbook(data: bytes, sheet: str | None, max_rows: int) -> TableFile:
    """Read one sheet of an Excel workbook (the first when ``sheet`` is None)."""
    book, excel = _open_workbook(data)
    with excel:
        sheets = tuple(str(name) for name in excel.sheet_names)
        if not sheets:
            raise damaged()
        if sheet is None:
            sheet = sheets[0]
        elif sheet not in sheets:
            raise InputError(
                f"The workbook has no sheet named {sheet!r}. Choose one of: {', '.join(sheets)}."
            )
        _scan_sheet(book, sheet)
        try:
            frame = pd.read_excel(excel, sheet_name=sheet, nrows=max_rows + 1)
        except Exception as error:  # as in _open_workbook
            raise InputError(
                f"The sheet {sheet!r} could not be read (the workbook may be damaged). "
                "Save it again as .xlsx and upload that."
            ) from error
    frame = _checked(frame, max_rows)
    where = f" (sheet “{sheet}” of {len(sheets)})" if len(sheets) > 1 else ""
    reading = f"Read as an Excel workbook{where}, with each formula's last calculated value."
    return TableFile(frame=frame, reading=reading, sheets=sheets, sheet=sheet)


def sheet_names(
    source: bytes | BinaryIO | str | os.PathLike, *, max_bytes: int = MAX_TABLE_BYTES
) -> tuple[str, ...]:
    """The sheet names of an Excel workbook, in order; empty for any other file.

    Raises
    ------
    InputError
        For a workbook this app cannot read (see :func:`read_table`).
    """
    data = _read_bytes(source, max_bytes)
    if not data.startswith(_ZIP_MAGIC):
        return ()
    _, excel = _open_workbook(data)
    with excel:
        return tuple(str(name) for name in excel.sheet_names)


def read_table(
    source: bytes | BinaryIO | str | os.PathLike,
    *,
    sheet: str | None = None,
    max_rows: int = MAX_TABLE_ROWS,
    max_bytes: int = MAX_TABLE_BYTES,
) -> TableFile:
    """Read a table of numbers from CSV or tab-separated text or an Excel workbook.

    Parameters
    ----------
    source : bytes, binary file-like object or path
        The file's content. Text may be UTF-8 (with or without a byte order
        mark), UTF-16 or Windows-1252/Latin-1, with columns separated by
        commas, semicolons, tabs or ``|``, and numbers with decimal points or
        decimal commas: both readings are tried and the one that finds more
        numeric columns is kept. An Excel workbook (``.xlsx``) is recognised
        by its content, whatever the file's name.
    sheet : str, optional
        The workbook's sheet to read; the first when not given. Ignored for text.
    max_rows : int, default MAX_TABLE_ROWS
        More data rows than this raise :class:`InputError`.
    max_bytes : int, default MAX_TABLE_BYTES
        Larger content raises :class:`InputError` before it is parsed.

    Returns
    -------
    TableFile
        The table and a sentence saying how it was read.

    Raises
    ------
    InputError
        When the content is not a table this can read (old ``.xls`` files,
        workbooks with macros or a password are refused), is empty, has too
        many rows or has no numeric column.
    """
    data = _read_bytes(source, max_bytes)
    if data.startswith(_ZIP_MAGIC):
        return _read_workbook(data, sheet, max_rows)
    if data.startswith(_OLE_MAGIC):
        _refuse_ole(data)
    return _read_text(data, max_rows)


def read_csv(
    source: bytes | BinaryIO | str | os.PathLike,
    *,
    max_rows: int = MAX_TABLE_ROWS,
    max_bytes: int = MAX_TABLE_BYTES,
) -> pd.DataFrame:
    """Read a CSV table that has at least one numeric column.

    The text reading of :func:`read_table`, for which see the parameters;
    anything that is not text is refused.

    Returns
    -------
    pandas.DataFrame
        The table, with a header row taken from the first line.
    """
    return _read_text(_read_bytes(source, max_bytes), max_rows).frame


def numeric_columns(frame: pd.DataFrame) -> list[str]:
    """Names of the columns that hold numbers and at least one value.

    Yes/no (boolean) columns are not counted as numbers.
    """
    return [
        name
        for name in frame.columns
        if pd.api.types.is_numeric_dtype(frame[name])
        and not pd.api.types.is_bool_dtype(frame[name])
        and frame[name].notna().any()
    ]


def constant_columns(frame: pd.DataFrame, columns: Sequence[str] | None = None) -> list[str]:
    """Numeric columns (of ``columns``, all by default) with one value in every row.

    Missing and infinite values are not counted. Such a column cannot separate
    groups: the page leaves it out of the fit unless it is chosen.
    """
    names = numeric_columns(frame) if columns is None else list(columns)
    values = frame.loc[:, names].to_numpy(dtype=np.float64)
    constant = []
    for j, name in enumerate(names):
        finite = values[np.isfinite(values[:, j]), j]
        if len(finite) and finite.min() == finite.max():
            constant.append(name)
    return constant


def constant_note(columns: Sequence[str]) -> str:
    """A plain sentence naming constant columns and what that means for the fit."""
    names = [f"“{name}”" for name in columns]
    if len(names) == 1:
        return (
            f"Column {names[0]} has the same value in every row, so it cannot separate "
            "groups; it is left out unless you choose it."
        )
    listed = ", ".join(names[:-1]) + f" and {names[-1]}"
    return (
        f"Columns {listed} have the same value in every row, so they cannot separate "
        "groups; they are left out unless you choose them."
    )


def _scale(values: np.ndarray, columns: tuple[str, ...], scaling: str) -> np.ndarray:
    """The values scaled, or refused when unscaled values are too large to compare."""
    if scaling == "none":
        too_large = np.abs(values).max(axis=0) > MAX_UNSCALED
        if too_large.any():
            name = columns[int(np.argmax(too_large))]
            raise InputError(
                f"Values in column “{name}” are too large to compare (their squares do not "
                "fit in a computer number). Choose a scaling, or rescale them."
            )
        return values
    return make_pipeline(MaxAbsScaler(), _SCALERS[scaling]()).fit_transform(values)


def _distinct_rows(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct rows of ``X``: their first positions, each row's one and their counts.

    Rows are told apart by a 64-bit hash of their values (pandas), checked
    against the values: a 120,000 x 10 table takes a twentieth of a second,
    against half a second for sorting the rows; ``np.unique`` decides on the
    (astronomically rare) hash collision.
    """
    hashes = pd.util.hash_pandas_object(pd.DataFrame(X), index=False).to_numpy()
    inverse, distinct = pd.factorize(hashes)
    first = np.empty(len(distinct), dtype=np.intp)
    first[inverse[::-1]] = np.arange(len(X) - 1, -1, -1)
    if not np.array_equal(X, X[first[inverse]]):
        _, first, inverse = np.unique(X, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    return first, inverse, np.bincount(inverse, minlength=len(first))


def _summary(points: WeightedPoints, random_state: int) -> WeightedPoints | None:
    """A random sample of :data:`SUMMARY_ROWS` rows, each point weighted by its draws.

    None for points with no more distinct rows than that, which are fitted whole.
    The weights add up to the number of rows the sample stands for, as a
    colour histogram's add up to the pixels.
    """
    if points.n_points <= SUMMARY_ROWS:
        return None
    draws = sample_points(points.weights, SUMMARY_ROWS, random_state=random_state)
    rows, counts = np.unique(draws, return_counts=True)
    return WeightedPoints(X=points.X[rows], weights=counts.astype(np.float64))


def table_points(
    frame: pd.DataFrame,
    columns: Sequence[str],
    scaling: str = "standard",
    *,
    random_state: int = 0,
) -> PreparedTable:
    """Turn chosen numeric columns into k-means points.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table.
    columns : sequence of str
        Columns to cluster on; each must be numeric.
    scaling : {"none", "standard", "minmax"}, default "standard"
        "standard" gives every column mean 0 and standard deviation 1,
        "minmax" maps every column onto 0-1, "none" keeps the values.
        A constant column becomes all zeros under either scaling. Scaling
        cannot overflow, however large the numbers.
    random_state : int, default 0
        Seed of the row sample that summarises more than :data:`SUMMARY_ROWS`
        distinct rows.

    Returns
    -------
    PreparedTable
        The points (rows with a missing or infinite value in a chosen column
        are dropped and counted; identical rows become one point), with the
        rows and columns used.

    Raises
    ------
    InputError
        For an unknown scaling, no columns, a column that is absent or not
        numeric, unscaled values too large to compare, or when no complete
        row is left.
    """
    if scaling not in SCALINGS:
        raise InputError(f"Unknown scaling {scaling!r}. Choose one of: {', '.join(SCALINGS)}.")
    columns = tuple(columns)
    if not columns:
        raise InputError("No columns were chosen. Choose at least one numeric column.")
    if len(set(columns)) != len(columns):
        raise InputError("A column was chosen twice. Choose each column once.")
    numeric = set(numeric_columns(frame))
    for name in columns:
        if name not in frame.columns:
            raise InputError(f"The table has no column named {name!r}.")
        if name not in numeric:
            raise InputError(f"Column {name!r} does not hold numbers. Choose numeric columns only.")
    values = frame.loc[:, list(columns)].to_numpy(dtype=np.float64)
    complete = np.isfinite(values).all(axis=1)
    if not complete.any():
        raise InputError(
            "Every row has a missing value in the chosen columns, so nothing is left "
            "to cluster. Choose other columns."
        )
    # + 0.0 turns -0.0 into 0.0, which would otherwise be another distinct row.
    values = _scale(values[complete], columns, scaling) + 0.0
    first, row_points, counts = _distinct_rows(values)
    points = WeightedPoints(
        X=np.ascontiguousarray(values[first]), weights=counts.astype(np.float64)
    )
    points = dataclasses.replace(points, coarse=_summary(points, random_state))
    return PreparedTable(
        points=points,
        index=frame.index[complete],
        row_points=row_points,
        rows_dropped=int((~complete).sum()),
        columns=columns,
        scaling=scaling,
    )


def sweep_starts(points: WeightedPoints) -> int:
    """k-means++ starts for each sweep fit on a table's points.

    :data:`SWEEP_N_INIT` when the sweeps fit on a row sample (``points.coarse``),
    else scikit-learn's usual three.
    """
    return 3 if points.coarse is None else SWEEP_N_INIT


def table_sample_names() -> tuple[str, ...]:
    """Names of the built-in sample tables, for :func:`load_table_sample`."""
    return tuple(_SAMPLES)


def load_table_sample(name: str) -> pd.DataFrame:
    """Load a scikit-learn sample table by name ("iris" or "wine").

    The numeric feature columns come with one text column holding each row's
    known class ("species" for iris, "cultivar" for wine). Being text, it is
    not a numeric column, so it stays out of clustering but can be compared
    with the clusters.
    """
    if name not in _SAMPLES:
        raise InputError(
            f"There is no sample table named {name!r}. Choose one of: {', '.join(_SAMPLES)}."
        )
    load, class_column = _SAMPLES[name]
    bunch = load(as_frame=True)
    frame = bunch.data.copy()
    frame[class_column] = np.asarray(bunch.target_names)[bunch.target.to_numpy()]
    return frame
