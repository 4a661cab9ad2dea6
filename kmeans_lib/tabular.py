"""Numeric tables: read a CSV, pick numeric columns, scale them into points.

The same k-means, elbow and silhouette code that works on colours works on a
table once its chosen columns become :class:`WeightedPoints` (every row with
weight 1). Columns measured on different scales are scaled first, as the
article recommends; colours already share one 0-255 scale and need no scaling.

Missing values: a row with a missing (empty, NaN) or infinite value in any of
the chosen columns is dropped, and :class:`PreparedTable` reports how many.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
import pandas as pd
from sklearn import datasets
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from kmeans_lib.clustering import WeightedPoints
from kmeans_lib.errors import InputError

SCALINGS = ("none", "standard", "minmax")
MAX_TABLE_ROWS = 200_000
MAX_TABLE_BYTES = 50_000_000

_SCALERS = {"standard": StandardScaler, "minmax": MinMaxScaler}
# Excel on Windows often writes cp1252; anything else that is not UTF-8 is refused.
_ENCODINGS = ("utf-8-sig", "cp1252")
_DELIMITERS = ",;\t|"
# load function and the name of the column that holds the known class
_SAMPLES = {
    "iris": (datasets.load_iris, "species"),
    "wine": (datasets.load_wine, "cultivar"),
}


@dataclass(frozen=True)
class PreparedTable:
    """The chosen columns of a table, scaled and ready for k-means.

    Attributes
    ----------
    points : WeightedPoints
        One point per row used, weight 1 each, no coarse summary.
    index : pandas.Index
        Labels of the rows used, to line results up with the original table.
    rows_dropped : int
        Rows left out because a chosen column was missing or infinite there.
    columns : tuple of str
        The chosen columns, in the order of the point coordinates.
    scaling : str
        One of :data:`SCALINGS`.
    """

    points: WeightedPoints
    index: pd.Index
    rows_dropped: int
    columns: tuple[str, ...]
    scaling: str

    @property
    def rows_used(self) -> int:
        """Number of rows that became points."""
        return len(self.index)


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


def _decode(data: bytes) -> str:
    """Decode CSV bytes as text, or explain that the file is not a text table."""
    # A NUL byte never occurs in a text CSV but does in images, spreadsheets and archives.
    if b"\x00" in data:
        raise InputError(
            "This file is not a CSV text file (it looks like a binary file such as "
            "an image or a spreadsheet). Save the table as CSV and upload that."
        )
    for encoding in _ENCODINGS:
        try:
            return data.decode(encoding)
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


def read_csv(
    source: bytes | BinaryIO | str | os.PathLike,
    *,
    max_rows: int = MAX_TABLE_ROWS,
    max_bytes: int = MAX_TABLE_BYTES,
) -> pd.DataFrame:
    """Read a CSV table that has at least one numeric column.

    Parameters
    ----------
    source : bytes, binary file-like object or path
        The CSV content. Comma, semicolon, tab and ``|`` separators are
        recognised; the text may be UTF-8 or Windows-1252.
    max_rows : int, default MAX_TABLE_ROWS
        More data rows than this raise :class:`InputError`.
    max_bytes : int, default MAX_TABLE_BYTES
        Larger content raises :class:`InputError` before it is parsed.

    Returns
    -------
    pandas.DataFrame
        The table, with a header row taken from the first line.

    Raises
    ------
    InputError
        When the content is not a CSV text table, is empty, has too many rows
        or has no numeric column.
    """
    text = _decode(_read_bytes(source, max_bytes))
    if not text.strip():
        raise InputError(
            "The file is empty. Upload a CSV file with a header row and rows of numbers."
        )
    try:
        # One row beyond the limit is enough to know the table is too long.
        frame = pd.read_csv(io.StringIO(text), sep=_delimiter(text), nrows=max_rows + 1)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as error:
        raise InputError(
            "The file could not be read as a CSV table (rows must have the same "
            "number of separated values). Check that it is a CSV file."
        ) from error
    if frame.empty:
        raise InputError("The table has column names but no rows. Upload a table with data.")
    if len(frame) > max_rows:
        raise InputError(
            f"The table has more than {max_rows:,} rows. Upload at most {max_rows:,} rows, "
            "for example a random sample of the table."
        )
    if not numeric_columns(frame):
        raise InputError(
            "The table has no column of numbers. k-means needs numeric columns; "
            "check the separator and that numbers use a dot as the decimal mark."
        )
    return frame


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


def table_points(
    frame: pd.DataFrame, columns: Sequence[str], scaling: str = "standard"
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
        A constant column becomes all zeros under either scaling.

    Returns
    -------
    PreparedTable
        The points (rows with a missing or infinite value in a chosen column
        are dropped and counted), with the rows and columns used.

    Raises
    ------
    InputError
        For an unknown scaling, no columns, a column that is absent or not
        numeric, or when no complete row is left.
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
    values = values[complete]
    if scaling != "none":
        values = _SCALERS[scaling]().fit_transform(values)
    points = WeightedPoints(X=np.ascontiguousarray(values), weights=np.ones(len(values)))
    return PreparedTable(
        points=points,
        index=frame.index[complete],
        rows_dropped=int((~complete).sum()),
        columns=columns,
        scaling=scaling,
    )


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
