"""Table files the tests make: a European CSV and Excel workbooks, built in memory."""

from __future__ import annotations

import io
import zipfile

import openpyxl


def european_csv() -> bytes:
    """What a European spreadsheet saves: semicolons, decimal commas, Windows-1252."""
    return "ville;température;pluie\nLyon;12,5;0,8\nNice;15,25;0,5\nBrest;11;1,25\n".encode(
        "cp1252"
    )


def workbook_bytes(sheets: dict[str, list[list]]) -> bytes:
    """An .xlsx written by openpyxl, one sheet per entry (rows of cells, header first)."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def zip_bytes(parts: dict[str, bytes | str]) -> bytes:
    """A zip archive holding ``parts`` (name to content)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def with_parts(workbook: bytes, parts: dict[str, bytes | str]) -> bytes:
    """``workbook`` with the given zip parts replaced or added."""
    source = zipfile.ZipFile(io.BytesIO(workbook))
    return zip_bytes({**{name: source.read(name) for name in source.namelist()}, **parts})


PEOPLE = [["name", "height", "weight"], ["ann", 1.62, 55], ["bob", 1.80, 81], ["cy", 1.75, 70]]
TOWNS = [["town", "people", "area"], ["Rome", 2.8, 1285], ["Oslo", 0.7, 454]]


# The first sector of an OLE compound file: old .xls files and password-protected workbooks.
OLE_HEADER = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)


def formula_workbook(calculated: bool = True) -> bytes:
    """A sheet whose "total" column is a formula (=A+B) over two rows, 1+2 and 3+4.

    openpyxl saves a formula without its result; Excel saves the last result, which
    ``calculated`` adds (3 and 7), as a workbook saved by Excel holds it.
    """
    workbook = workbook_bytes({"sums": [["a", "b", "total"], [1, 2, "=A2+B2"], [3, 4, "=A3+B3"]]})
    if not calculated:
        return workbook
    part = "xl/worksheets/sheet1.xml"
    sheet = zipfile.ZipFile(io.BytesIO(workbook)).read(part).decode()
    assert sheet.count("<v />") == 2, "openpyxl wrote the formulas' cells differently"
    sheet = sheet.replace("<v />", "<v>3</v>", 1).replace("<v />", "<v>7</v>", 1)
    return with_parts(workbook, {part: sheet})
