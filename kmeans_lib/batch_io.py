"""A batch's files: the pictures named by folders, globs and paths, and the records written out.

Records go to a JSON Lines file (one JSON object a line), a CSV file (one row a
picture) or a folder (one JSON file a picture). Each record is written and
flushed as soon as its picture is done, so an interrupted run keeps its work
and ``--resume`` can go on from it.
"""

from __future__ import annotations

import csv
import glob
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from kmeans_lib.batch import PictureRecord
from kmeans_lib.errors import InputError

# File name endings taken from a folder (any case); a file named on its own is taken whatever
# its name, and one that is not a picture gets a record with its error.
PICTURE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".jpe", ".webp", ".gif", ".bmp", ".tif", ".tiff")
_GLOB_CHARACTERS = "*?["
CSV_COLUMNS = (
    "path",
    "width",
    "height",
    "n_colours",
    "hex",
    "shares",
    "counts",
    "psnr",
    "mean_delta_e",
    "seconds",
    "error",
    "error_kind",
    "redraw",
)


@dataclass(frozen=True)
class FoundPicture:
    """A picture of a batch.

    Attributes
    ----------
    path : str
        As given, or as found in a folder or by a glob.
    name : str
        Its name below the folder it was found in (sub-folders included), or
        its file name: where its outputs go below an output folder.
    """

    path: str
    name: str


def _in_folder(folder: str, recursive: bool) -> list[FoundPicture]:
    """The pictures in ``folder`` (and its sub-folders when ``recursive``), sorted by name."""
    found = []
    for root, folders, files in os.walk(folder):
        folders.sort()
        if not recursive:
            folders.clear()
        for file in sorted(files):
            if file.lower().endswith(PICTURE_EXTENSIONS) and not file.startswith("."):
                path = os.path.join(root, file)
                found.append(FoundPicture(path=path, name=os.path.relpath(path, folder)))
    return found


def find_pictures(
    paths: Iterable[str], recursive: bool = False
) -> tuple[list[FoundPicture], list[str]]:
    """The pictures named by folders, glob patterns and file paths, each once.

    Parameters
    ----------
    paths : iterable of str
        A folder gives the pictures in it (by their file name endings, see
        :data:`PICTURE_EXTENSIONS`); a pattern with ``*``, ``?`` or ``[``
        gives the files it matches (``**`` matches sub-folders with
        ``recursive``); anything else is taken as a picture file, even one that
        does not exist (its record then says so).
    recursive : bool, default False
        Look in sub-folders too.

    Returns
    -------
    pictures : list of FoundPicture
        In the order of ``paths``, sorted by name within a folder or pattern;
        a file named twice is taken once.
    warnings : list of str
        A plain sentence for each folder or pattern that gave no picture.
    """
    pictures, warnings, seen = [], [], set()
    for path in paths:
        if os.path.isdir(path):
            found = _in_folder(path, recursive)
            if not found:
                where = "or its sub-folders " if recursive else ""
                warnings.append(f"The folder '{path}' {where}has no pictures.")
        elif any(character in path for character in _GLOB_CHARACTERS) and not os.path.exists(path):
            found = []
            for match in sorted(glob.glob(path, recursive=recursive)):
                if os.path.isdir(match):
                    found += _in_folder(match, recursive)
                else:
                    found.append(FoundPicture(path=match, name=os.path.basename(match)))
            if not found:
                warnings.append(f"No file matches '{path}'.")
        else:
            found = [FoundPicture(path=path, name=os.path.basename(path) or path)]
        for picture in found:
            key = os.path.abspath(picture.path)
            if key not in seen:
                seen.add(key)
                pictures.append(picture)
    return pictures, warnings


def output_names(pictures: list[FoundPicture], suffix: str) -> list[str]:
    """A distinct relative file name for each picture's output, ending in ``suffix``.

    The picture's name with its ending replaced (``trip/beach.jpg`` gives
    ``trip/beach.png``); two pictures that would share a name get ``-2``,
    ``-3``... on the later ones.
    """
    names, taken = [], set()
    for picture in pictures:
        stem = str(Path(picture.name).with_suffix(""))
        name, number = stem + suffix, 1
        while name.lower() in taken:
            number += 1
            name = f"{stem}-{number}{suffix}"
        taken.add(name.lower())
        names.append(name)
    return names


def _csv_row(record: PictureRecord) -> dict:
    """A record as one CSV row: the palette's hex codes, shares and counts space-separated."""
    data = record.to_dict()
    palette = data.pop("palette")
    data["n_colours"] = len(palette)
    data["hex"] = " ".join(colour["hex"] for colour in palette)
    data["shares"] = " ".join(f"{colour['share']:.6f}" for colour in palette)
    data["counts"] = " ".join(str(colour["count"]) for colour in palette)
    return data


class RecordWriter:
    """Writes a batch's records to a ``.jsonl`` or ``.csv`` file, or a folder of ``.json`` files.

    Parameters
    ----------
    out : str
        A file name ending in ``.jsonl`` or ``.csv``, or a folder (an existing
        one, or a name without an ending, which is made).
    resume : bool, default False
        Add to what ``out`` holds and say which pictures it has
        (:meth:`recorded`); without it a file is started again.
    """

    def __init__(self, out: str, resume: bool = False) -> None:
        suffix = Path(out).suffix.lower()
        if os.path.isdir(out) or not suffix:
            self.kind = "folder"
        elif suffix in (".jsonl", ".csv"):
            self.kind = suffix[1:]
        else:
            raise InputError(
                f"The records go to a file ending in .jsonl or .csv, or to a folder; "
                f"got '{out}'. Choose a name such as palettes.jsonl, palettes.csv or palettes."
            )
        self.out = out
        self.resume = resume
        self._file: TextIO | None = None
        self._csv: csv.DictWriter | None = None

    def recorded(self) -> set[str]:
        """The pictures (absolute paths) that ``out`` already has a record of."""
        if not os.path.exists(self.out):
            return set()
        if self.kind == "folder":
            documents = (
                _read_json(os.path.join(root, file))
                for root, _, files in os.walk(self.out)
                for file in files
                if file.endswith(".json")
            )
            paths = [document.get("path") for document in documents if document]
        elif self.kind == "jsonl":
            with open(self.out, encoding="utf-8") as file:
                paths = [_parse(line).get("path") for line in file]
        else:
            with open(self.out, encoding="utf-8", newline="") as file:
                paths = [row.get("path") for row in csv.DictReader(file)]
        return {os.path.abspath(path) for path in paths if isinstance(path, str) and path}

    def open(self) -> RecordWriter:
        """Make the folder, or open the file (ready to add to it, with ``resume``)."""
        try:
            if self.kind == "folder":
                os.makedirs(self.out, exist_ok=True)
                return self
            if os.path.dirname(self.out):
                os.makedirs(os.path.dirname(self.out), exist_ok=True)
            adding = self.resume and os.path.exists(self.out) and os.path.getsize(self.out) > 0
            self._file = open(self.out, "a" if adding else "w", encoding="utf-8", newline="")
            if adding and not _ends_with_newline(self.out):
                self._file.write("\n")  # after a line cut short when a run was stopped
            if self.kind == "csv":
                self._csv = csv.DictWriter(self._file, fieldnames=CSV_COLUMNS)
                if not adding:
                    self._csv.writeheader()
        except OSError as error:
            raise InputError(
                f"The records cannot be written to '{self.out}' ({error.strerror}). "
                "Check the name and that you may write there."
            ) from error
        return self

    def write(self, record: PictureRecord, name: str) -> None:
        """Write one record now; ``name`` is its ``.json`` file's name in a folder."""
        if self.kind == "folder":
            path = os.path.join(self.out, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as file:
                json.dump(record.to_dict(), file, indent=2)
            return
        if self._csv is not None:
            self._csv.writerow(_csv_row(record))
        else:
            self._file.write(json.dumps(record.to_dict()) + "\n")
        self._file.flush()

    def close(self) -> None:
        """Close the file."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> RecordWriter:
        return self.open()

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _parse(line: str) -> dict:
    """A JSON Lines record, or {} for a line that is not one (cut short, or blank)."""
    try:
        document = json.loads(line)
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


def _read_json(path: str) -> dict:
    """A record file's contents, or {} when it cannot be read as one."""
    try:
        with open(path, encoding="utf-8") as file:
            return _parse(file.read())
    except OSError:
        return {}


def _ends_with_newline(path: str) -> bool:
    with open(path, "rb") as file:
        file.seek(-1, os.SEEK_END)
        return file.read(1) == b"\n"
