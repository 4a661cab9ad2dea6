"""Table files the tests make: a European CSV and Excel workbooks, built in memory."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable

import openpyxl

from kmeans_lib.workbook_scan import column_letters


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


# --- hostile tables: small files that would make a careless reader allocate without bound ---

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
SHEET_PART = "xl/worksheets/sheet1.xml"
SHARED_STRINGS_TYPE = (
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
)


def sheet_xml(rows: str, dimension: str = "A1") -> str:
    """A worksheet part holding the ``<row>`` elements ``rows``."""
    return (
        f'<worksheet xmlns="{MAIN_NS}"><dimension ref="{dimension}"/>'
        f"<sheetData>{rows}</sheetData></worksheet>"
    )


def number_rows(header: list[str], rows: list[list[float]]) -> str:
    """``<row>`` elements of a header (inline text) and rows of numbers, from column A."""
    letters = [chr(ord("A") + j) for j in range(len(header))]
    cells = "".join(
        f'<c r="{letter}1" t="inlineStr"><is><t>{name}</t></is></c>'
        for letter, name in zip(letters, header, strict=True)
    )
    out = [f'<row r="1">{cells}</row>']
    for i, row in enumerate(rows, start=2):
        cells = "".join(
            f'<c r="{letter}{i}"><v>{value}</v></c>'
            for letter, value in zip(letters, row, strict=True)
        )
        out.append(f'<row r="{i}">{cells}</row>')
    return "".join(out)


def with_sheet(rows: str, dimension: str = "A1", **parts: bytes | str) -> bytes:
    """A one-sheet workbook whose sheet holds ``rows``, with other parts replaced or added."""
    base = workbook_bytes({"data": [["x"]]})
    return with_parts(base, {SHEET_PART: sheet_xml(rows, dimension), **parts})


def styles_bomb_xlsx() -> bytes:
    """28 KB: a styles part of 3.5 million empty cell formats (17 MB of ``<xf/>``)."""
    styles = (
        f'<styleSheet xmlns="{MAIN_NS}"><cellXfs count="3500000">'
        + "<xf/>" * 3_500_000
        + "</cellXfs></styleSheet>"
    )
    return with_sheet(number_rows(["a"], [[1], [2]]), "A1:A3", **{"xl/styles.xml": styles})


def far_right_xlsx() -> bytes:
    """About 50 KB: 3,000 rows with one number each, all in column ZZZ (column 18,278)."""
    rows = "".join(
        f'<row r="{i}"><c r="ZZZ{i}" t="n"><v>{i * 0.7071:.4f}</v></c></row>'
        for i in range(1, 3001)
    )
    return with_sheet(rows, "ZZZ1:ZZZ3000")


def wide_csv() -> bytes:
    """About 1 MB: a header of 100,000 column names and two rows of numbers."""
    header = ",".join(f"c{j}" for j in range(100_000))
    row = ",".join(["1"] * 100_000)
    return f"{header}\n{row}\n{row}\n".encode()


def long_line_csv() -> bytes:
    """20 MB: a first line of ``1,`` ten million times."""
    return b"1," * 10_000_000


def with_shared_strings(workbook: bytes, part: str, strings: str) -> bytes:
    """``workbook`` with a shared-strings part named ``part``, declared in its manifest."""
    manifest = (
        zipfile.ZipFile(io.BytesIO(workbook))
        .read("[Content_Types].xml")
        .decode()
        .replace(
            "</Types>",
            f'<Override PartName="/{part}" ContentType="{SHARED_STRINGS_TYPE}"/></Types>',
        )
    )
    return with_parts(workbook, {part: strings, "[Content_Types].xml": manifest})


def renamed_strings_xlsx() -> bytes:
    """Three million empty texts (15 MB) in a shared-strings part named ``xl/texts.xml``.

    The manifest declares it as the shared strings, but calamine reads them only from
    ``sharedStrings.xml`` beside the workbook part: this part is never parsed, and the
    table is read.
    """
    strings = f'<sst xmlns="{MAIN_NS}" count="3000000">' + "<si/>" * 3_000_000 + "</sst>"
    return with_shared_strings(
        with_sheet(number_rows(["a"], [[1], [2]]), "A1:A3"), "xl/texts.xml", strings
    )


def undimensioned_xlsx() -> bytes:
    """A sheet that does not state its size, with 3 million empty elements before its data.

    The scan counts every element of the sheet read, whatever it is.
    """
    sheet = f'<worksheet xmlns="{MAIN_NS}"><sheetPr>' + "<x/>" * 3_000_000
    sheet += "</sheetPr><sheetData/></worksheet>"
    return with_parts(workbook_bytes({"data": [["x"]]}), {SHEET_PART: sheet})


def entity_bomb_xlsx() -> bytes:
    """A worksheet whose DOCTYPE defines "billion laughs": ten levels of ten entities each."""
    entities = ['<!ENTITY e0 "<c><v>1</v></c>">'] + [
        f'<!ENTITY e{level} "{f"&e{level - 1};" * 10}">' for level in range(1, 10)
    ]
    sheet = (
        f"<!DOCTYPE worksheet [{''.join(entities)}]>"
        f'<worksheet xmlns="{MAIN_NS}"><sheetData><row>&e9;</row></sheetData></worksheet>'
    )
    return with_parts(workbook_bytes({"data": [["x"]]}), {SHEET_PART: sheet})


def lying_dimension_xlsx() -> bytes:
    """A small table whose sheet claims to span A1:XFD1048576 (every cell of Excel)."""
    rows = number_rows(["a", "b"], [[1, 2], [3, 4], [5, 7]])
    return with_sheet(rows, "A1:XFD1048576")


def cells_without_positions_xlsx() -> bytes:
    """One row of 100,000 numbers whose cells give no position (allowed: they follow on)."""
    return with_sheet("<row>" + "<c><v>1</v></c>" * 100_000 + "</row>")


def tall_gap_xlsx() -> bytes:
    """A header of 1,000 columns and one number in the last row Excel has (1,048,576)."""
    header = "".join(f'<c r="{column_letters(j)}1"><v>{j}</v></c>' for j in range(1, 1001))
    return with_sheet(
        f'<row r="1">{header}</row><row r="1048576"><c r="A1048576"><v>1</v></c></row>'
    )


def many_sheets_xlsx(n_sheets: int = 5_000) -> bytes:
    """A workbook of ``n_sheets`` sheets of one column, written part by part (openpyxl
    takes seconds per thousand sheets to write them)."""
    base = zipfile.ZipFile(io.BytesIO(workbook_bytes({"data": [["x"]]})))
    numbers = range(1, n_sheets + 1)
    sheet_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
    relationship = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    manifest = (
        base.read("[Content_Types].xml")
        .decode()
        .replace(f'<Override PartName="/{SHEET_PART}" ContentType="{sheet_type}" />', "")
        .replace(
            "</Types>",
            "".join(
                f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{sheet_type}"/>'
                for i in numbers
            )
            + "</Types>",
        )
    )
    workbook = (
        f'<workbook xmlns="{MAIN_NS}" xmlns:r="{relationship}"><sheets>'
        + "".join(f'<sheet name="s{i}" sheetId="{i}" r:id="rId{i}"/>' for i in numbers)
        + "</sheets></workbook>"
    )
    links = (
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        + "".join(
            f'<Relationship Id="rId{i}" Target="worksheets/sheet{i}.xml" '
            f'Type="{relationship}/worksheet"/>'
            for i in numbers
        )
        + "</Relationships>"
    )
    sheets = {
        f"xl/worksheets/sheet{i}.xml": sheet_xml(number_rows(["a"], [[i]]), "A1:A2")
        for i in numbers
    }
    return with_parts(
        workbook_bytes({"data": [["x"]]}),
        {
            "[Content_Types].xml": manifest,
            "xl/workbook.xml": workbook,
            "xl/_rels/workbook.xml.rels": links,
            **sheets,
        },
    )


def long_cell_csv() -> bytes:
    """A table of two rows whose one text cell holds 10 MB over 100,000 quoted lines."""
    cell = "\n".join(["x" * 99] * 100_000)
    return f'note,value\n"{cell}",1\nshort,2\n'.encode()


def many_columns_csv() -> bytes:
    """Short lines of 1,001 columns: one more than a table may have."""
    header = ",".join(f"c{j}" for j in range(1_001))
    return f"{header}\n{','.join(['1'] * 1_001)}\n".encode()


def many_rows_csv() -> bytes:
    """200,000 rows of one small number: the row limit, in 400 KB."""
    return b"n\n" + b"1\n2\n" * 100_000


def without_parts(workbook: bytes, *names: str, **renamed: str) -> bytes:
    """``workbook`` without the parts ``names``, and with parts renamed (old=new, where
    old is given with ``/`` as ``__``: ``xl__sharedStrings_xml``)."""
    source = zipfile.ZipFile(io.BytesIO(workbook))
    moves = {old.replace("__", "/").replace("_xml", ".xml"): new for old, new in renamed.items()}
    return zip_bytes(
        {
            moves.get(name, name): source.read(name)
            for name in source.namelist()
            if name not in names
        }
    )


def no_manifest_xlsx() -> bytes:
    """The far-right sheet in a workbook without ``[Content_Types].xml``.

    calamine never reads the manifest; it finds the parts through their relationships.
    """
    return without_parts(far_right_xlsx(), "[Content_Types].xml")


def strings_in_other_case_xlsx() -> bytes:
    """Three million empty texts in ``XL/SharedStrings.XML``, with no manifest entry.

    calamine looks a part up whatever the case of its name.
    """
    strings = f'<sst xmlns="{MAIN_NS}" count="3000000">' + "<si/>" * 3_000_000 + "</sst>"
    workbook = with_sheet(number_rows(["a"], [[1], [2]]), "A1:A3")
    return with_parts(
        without_parts(workbook, "xl/sharedStrings.xml"), {"XL/SharedStrings.XML": strings}
    )


def prefixed_far_right_xlsx() -> bytes:
    """The far-right sheet written with a namespace prefix (``<x:row>``, ``<x:c>``).

    calamine matches elements by their local names, whatever their prefix.
    """
    rows = "".join(
        f'<x:row r="{i}"><x:c r="ZZZ{i}"><x:v>{i}</x:v></x:c></x:row>' for i in range(1, 3001)
    )
    sheet = f'<x:worksheet xmlns:x="{MAIN_NS}"><x:sheetData>{rows}</x:sheetData></x:worksheet>'
    return with_parts(workbook_bytes({"data": [["x"]]}), {SHEET_PART: sheet})


def moved_workbook_xlsx() -> bytes:
    """The far-right sheet in a workbook whose parts are under ``book/``, not ``xl/``.

    calamine takes the workbook's folder from ``_rels/.rels``.
    """
    source = zipfile.ZipFile(io.BytesIO(far_right_xlsx()))
    parts = {
        name.replace("xl/", "book/", 1): source.read(name)
        for name in source.namelist()
        if name != "[Content_Types].xml"
    }
    parts["_rels/.rels"] = parts["_rels/.rels"].replace(b"xl/workbook.xml", b"book/workbook.xml")
    links = parts["book/_rels/workbook.xml.rels"]
    parts["book/_rels/workbook.xml.rels"] = links.replace(b"/xl/", b"/book/")
    return zip_bytes(parts)


def unmatched_tags_xlsx() -> bytes:
    """A sheet whose XML closes an element it never opened, before a far-right cell.

    calamine does not check that end tags match; expat stops there, so the file is
    refused as damaged rather than let through unscanned.
    """
    rows = '<row r="1"><c r="A1"><v>1</v></c></rowx>'
    rows += '<row r="2"><c r="ZZZ2"><v>2</v></c></row>'
    return with_sheet(rows)


def long_text_cell_xlsx() -> bytes:
    """A sheet of two numbers and one inline text cell of 11 million characters (20 KB)."""
    text = "x" * 11_000_000
    rows = number_rows(["a"], [[1], [2]]).replace(
        "</row>", f'<c r="B1" t="inlineStr"><is><t>{text}</t></is></c></row>', 1
    )
    return with_sheet(rows)


def tall_narrow_xlsx() -> bytes:
    """A header of two columns and one number in the last row Excel has (1,048,576)."""
    return with_sheet(
        '<row r="1"><c r="A1"><v>1</v></c><c r="B1"><v>2</v></c></row>'
        '<row r="1048576"><c r="A1048576"><v>1</v></c></row>'
    )


def every_limit_xlsx() -> bytes:
    """19 KB just within every element limit at once: a table of texts, a styles part and
    a sheet of empty elements, each a little under its limit (the slowest workbook read)."""
    strings = f'<sst xmlns="{MAIN_NS}">' + "<si/>" * 999_000 + "</sst>"
    sheet = f'<worksheet xmlns="{MAIN_NS}"><sheetPr>' + "<x/>" * 1_490_000
    sheet += f"</sheetPr><sheetData>{number_rows(['a'], [[1], [2]])}</sheetData></worksheet>"
    styles = f'<styleSheet xmlns="{MAIN_NS}"><cellXfs>' + "<xf/>" * 199_000
    styles += "</cellXfs></styleSheet>"
    return with_parts(
        workbook_bytes({"data": [["x"]]}),
        {SHEET_PART: sheet, "xl/sharedStrings.xml": strings, "xl/styles.xml": styles},
    )


# name -> (file name, generator): every class of hostile table, for the tests and
# benchmarks/bench_hostile.py. Each file is refused or read in a bounded time and memory.
HOSTILE_TABLES: dict[str, tuple[str, Callable[[], bytes]]] = {
    "styles bomb": ("styles.xlsx", styles_bomb_xlsx),
    "far-right cells": ("far_right.xlsx", far_right_xlsx),
    "100,000 columns": ("wide.csv", wide_csv),
    "20 MB line": ("long_line.csv", long_line_csv),
    "1,001 columns": ("columns.csv", many_columns_csv),
    "renamed shared strings": ("texts.xlsx", renamed_strings_xlsx),
    "entity expansion": ("laughs.xlsx", entity_bomb_xlsx),
    "3 million elements": ("undimensioned.xlsx", undimensioned_xlsx),
    "lying dimension": ("dimension.xlsx", lying_dimension_xlsx),
    "cells without positions": ("unplaced.xlsx", cells_without_positions_xlsx),
    "row gap": ("tall_gap.xlsx", tall_gap_xlsx),
    "5,000 sheets": ("sheets.xlsx", many_sheets_xlsx),
    "10 MB cell": ("long_cell.csv", long_cell_csv),
    "200,000 tiny rows": ("rows.csv", many_rows_csv),
    "no manifest": ("no_manifest.xlsx", no_manifest_xlsx),
    "texts in another case": ("case.xlsx", strings_in_other_case_xlsx),
    "prefixed elements": ("prefixed.xlsx", prefixed_far_right_xlsx),
    "workbook under book/": ("moved.xlsx", moved_workbook_xlsx),
    "unmatched end tag": ("unmatched.xlsx", unmatched_tags_xlsx),
    "11 MB text cell": ("long_text.xlsx", long_text_cell_xlsx),
    "tall narrow gap": ("tall_narrow.xlsx", tall_narrow_xlsx),
    "every limit at once": ("every_limit.xlsx", every_limit_xlsx),
}
