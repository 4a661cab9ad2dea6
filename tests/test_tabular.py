"""Numeric tables: reading CSV and Excel files, choosing columns, scaling into k-means points."""

import io
import warnings
import zipfile

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import ConvergenceWarning
from table_files import (
    HOSTILE_TABLES,
    OLE_HEADER,
    PEOPLE,
    SHEET_PART,
    TOWNS,
    european_csv,
    far_right_xlsx,
    formula_workbook,
    lying_dimension_xlsx,
    number_rows,
    sheet_xml,
    with_parts,
    with_sheet,
    workbook_bytes,
    zip_bytes,
)

from kmeans_lib import tabular
from kmeans_lib.clustering import fit_kmeans
from kmeans_lib.errors import InputError
from kmeans_lib.selection import elbow_sweep, silhouette_sweep
from kmeans_lib.tabular import (
    MAX_TABLE_ROWS,
    SCALINGS,
    SUMMARY_ROWS,
    SWEEP_N_INIT,
    constant_columns,
    constant_note,
    load_table_sample,
    numeric_columns,
    read_csv,
    read_table,
    sheet_names,
    sweep_starts,
    table_points,
    table_sample_names,
)
from kmeans_lib.workbook_scan import Limits, scan_part

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
CSV = b"name,height,weight\nann,1.62,55\nbob,1.80,81\ncy,1.75,70\n"


# read_csv


def test_read_csv_from_bytes_file_object_and_path(tmp_path):
    path = tmp_path / "people.csv"
    path.write_bytes(CSV)
    for source in (CSV, io.BytesIO(CSV), path, str(path)):
        frame = read_csv(source)
        assert list(frame.columns) == ["name", "height", "weight"]
        assert frame["weight"].tolist() == [55, 81, 70]


def test_read_csv_recognises_semicolons_and_tabs():
    for separator in (";", "\t"):
        frame = read_csv(CSV.replace(b",", separator.encode()))
        assert list(frame.columns) == ["name", "height", "weight"]


def test_read_csv_reads_windows_1252_text():
    frame = read_csv("café,x\nnoir,1\nlait,2\n".encode("cp1252"))
    assert list(frame.columns) == ["café", "x"]


def test_read_csv_strips_a_utf8_byte_order_mark():
    frame = read_csv(b"\xef\xbb\xbf" + CSV)
    assert frame.columns[0] == "name"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"  \n\n", "empty"),
        (b"a,b\n", "no rows"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a CSV"),
        (bytes(range(256)) * 4, "not a CSV"),
        (b"name,town\nann,rome\nbob,oslo\n", "no column of numbers"),
        (b"a,b\n1,2\n3,4,5,6\n", "could not be read as a CSV"),
        (b'a,b\n1,2\n"3,4\n', "could not be read as a CSV"),
        (np.random.default_rng(0).integers(1, 256, 4000).astype(np.uint8).tobytes(), "UTF-8"),
    ],
    ids=[
        "empty",
        "blank",
        "header-only",
        "png",
        "binary",
        "text-only",
        "ragged",
        "open-quote",
        "random-bytes",
    ],
)
def test_read_csv_refuses_unusable_files_in_plain_words(content, message):
    with pytest.raises(InputError, match=message):
        read_csv(content)


def test_read_csv_refuses_more_rows_than_the_limit():
    content = b"x\n" + b"1\n" * 6
    assert len(read_csv(content, max_rows=6)) == 6
    with pytest.raises(InputError, match="more than 5 rows"):
        read_csv(content, max_rows=5)
    assert MAX_TABLE_ROWS == 200_000


def test_read_csv_refuses_too_many_bytes_before_parsing():
    with pytest.raises(InputError, match="larger than"):
        read_csv(io.BytesIO(CSV), max_bytes=10)


def test_read_csv_explains_a_missing_file(tmp_path):
    with pytest.raises(InputError, match="could not be opened"):
        read_csv(tmp_path / "absent.csv")


# numeric_columns


def test_numeric_columns_skip_text_booleans_and_empty_columns():
    frame = pd.DataFrame(
        {
            "n": [1, 2],
            "x": [0.5, np.nan],
            "text": ["a", "b"],
            "flag": [True, False],
            "blank": [np.nan, np.nan],
        }
    )
    assert numeric_columns(frame) == ["n", "x"]


# table_points


def frame_with_scales() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "small": [0.1, 0.2, 0.3, 0.4],
            "large": [1000.0, 3000.0, 2000.0, 6000.0],
            "constant": [7.0, 7.0, 7.0, 7.0],
            "label": ["a", "b", "c", "d"],
        }
    )


def test_standard_scaling_gives_mean_zero_and_unit_spread():
    prepared = table_points(frame_with_scales(), ["small", "large"], "standard")
    X = prepared.points.X
    assert np.allclose(X.mean(axis=0), 0)
    assert np.allclose(X.std(axis=0), 1)


def test_minmax_scaling_maps_each_column_onto_zero_to_one():
    X = table_points(frame_with_scales(), ["small", "large"], "minmax").points.X
    assert np.allclose(X.min(axis=0), 0) and np.allclose(X.max(axis=0), 1)


def test_no_scaling_keeps_the_values():
    X = table_points(frame_with_scales(), ["large", "small"], "none").points.X
    assert X[:, 0].tolist() == [1000.0, 3000.0, 2000.0, 6000.0]


@pytest.mark.parametrize("scaling", SCALINGS)
def test_constant_column_never_becomes_nan(scaling):
    X = table_points(frame_with_scales(), ["constant", "small"], scaling).points.X
    assert np.all(np.isfinite(X))
    if scaling != "none":
        assert np.all(X[:, 0] == 0)


def test_points_have_weight_one_and_no_coarse_summary():
    prepared = table_points(frame_with_scales(), ["small"])
    assert prepared.points.weights.tolist() == [1.0, 1.0, 1.0, 1.0]
    assert prepared.points.coarse is None
    assert prepared.columns == ("small",)
    assert prepared.scaling == "standard"


def test_rows_with_missing_or_infinite_values_are_dropped_and_counted():
    frame = pd.DataFrame(
        {"a": [1.0, np.nan, 3.0, 4.0, 5.0], "b": [1.0, 2.0, np.inf, 4.0, 5.0], "c": [np.nan] * 5},
        index=[10, 11, 12, 13, 14],
    )
    prepared = table_points(frame, ["a", "b"], "none")
    assert prepared.rows_used == 3
    assert prepared.rows_dropped == 2
    assert prepared.index.tolist() == [10, 13, 14]
    assert prepared.points.X[:, 0].tolist() == [1.0, 4.0, 5.0]


@pytest.mark.parametrize(
    ("columns", "scaling", "message"),
    [
        (["label"], "standard", "does not hold numbers"),
        (["small", "missing"], "standard", "no column named"),
        ([], "standard", "No columns"),
        (["small", "small"], "standard", "twice"),
        (["small"], "log", "Unknown scaling"),
    ],
    ids=["text-column", "absent-column", "no-columns", "repeated", "unknown-scaling"],
)
def test_table_points_refuses_bad_choices(columns, scaling, message):
    with pytest.raises(InputError, match=message):
        table_points(frame_with_scales(), columns, scaling)


def test_table_points_refuses_when_no_complete_row_is_left():
    frame = pd.DataFrame({"a": [1.0, np.nan], "b": [np.nan, 2.0]})
    with pytest.raises(InputError, match="missing value"):
        table_points(frame, ["a", "b"])


# sample tables


def test_sample_tables_are_iris_and_wine():
    assert table_sample_names() == ("iris", "wine")


@pytest.mark.parametrize(
    ("name", "rows", "features", "class_column", "classes"),
    [("iris", 150, 4, "species", 3), ("wine", 178, 13, "cultivar", 3)],
)
def test_sample_table_has_numeric_features_and_a_text_class(
    name, rows, features, class_column, classes
):
    frame = load_table_sample(name)
    assert len(frame) == rows
    assert len(numeric_columns(frame)) == features
    assert class_column not in numeric_columns(frame)
    assert frame[class_column].nunique() == classes


def test_unknown_sample_table_is_refused():
    with pytest.raises(InputError, match="no sample table"):
        load_table_sample("titanic")


def test_iris_clusters_follow_the_species_after_scaling():
    frame = load_table_sample("iris")
    prepared = table_points(frame, numeric_columns(frame), "standard")
    labels = prepared.row_labels(fit_kmeans(prepared.points, 3).labels)
    crosstab = pd.crosstab(labels, frame.loc[prepared.index, "species"])
    # setosa is separated perfectly; k-means mixes versicolor and virginica a little.
    assert (crosstab["setosa"] > 0).sum() == 1
    assert crosstab.max(axis=1).sum() / len(frame) > 0.8


def test_elbow_and_silhouette_work_on_a_table():
    frame = load_table_sample("wine")
    points = table_points(frame, numeric_columns(frame), "standard").points
    elbow = elbow_sweep(points, range(1, 8))
    assert elbow.variance_explained[0] == pytest.approx(0.0, abs=1e-12)
    silhouette = silhouette_sweep(points, range(2, 6), sample_size=500)
    assert silhouette.sample_size == len(frame)
    assert np.all(np.isfinite(silhouette.mean))


# real-world files: encodings, separators, decimal commas, workbooks


def test_decimal_commas_are_read_with_semicolons_and_said():
    table = read_table(european_csv())
    assert numeric_columns(table.frame) == ["température", "pluie"]
    np.testing.assert_allclose(table.frame["température"], [12.5, 15.25, 11.0])
    assert "semicolons" in table.reading and "decimal commas" in table.reading
    assert "Windows-1252" in table.reading


def test_decimal_commas_with_tabs_and_points_with_semicolons():
    tabs = read_table(b"a\tb\n0,123\t1\n2,5\t3\n")
    np.testing.assert_allclose(tabs.frame["a"], [0.123, 2.5])
    assert "tabs and decimal commas" in tabs.reading
    points = read_table(b"a;b\n0.5;1\n2.5;3\n")
    np.testing.assert_allclose(points.frame["a"], [0.5, 2.5])
    assert "decimal commas" not in points.reading


def test_a_plain_csv_keeps_decimal_points():
    table = read_table(CSV)
    assert table.reading == "Read as UTF-8 text with columns separated by commas."
    assert table.frame["height"].tolist() == pytest.approx([1.62, 1.80, 1.75])


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_tab_separated_text_is_read(codec):
    # Spreadsheets save "Unicode text" as UTF-16 with tabs (with a byte order mark).
    text = "name\tlength\twidth\nérable\t1,5\t2\nchêne\t2,25\t3\n"
    table = read_table(text.encode(codec))
    assert list(table.frame.columns) == ["name", "length", "width"]
    assert table.frame["name"].tolist() == ["érable", "chêne"]
    np.testing.assert_allclose(table.frame["length"], [1.5, 2.25])
    assert table.reading.startswith("Read as UTF-16 text with columns separated by tabs")


def test_latin1_and_utf8_with_a_byte_order_mark_are_read():
    assert read_table("né,x\nà,1\n".encode("latin-1")).frame.columns[0] == "né"
    table = read_table("\ufeffné,x\nà,1\n".encode())
    assert table.frame.columns[0] == "né" and "UTF-8" in table.reading


def test_quoted_newlines_stay_inside_their_value():
    content = b'note,x,y\n"two\nlines",1,2\n"one, with comma",3,4\n'
    frame = read_table(content).frame
    assert frame["note"].tolist() == ["two\nlines", "one, with comma"]
    assert frame["y"].tolist() == [2, 4]


def test_very_large_and_infinite_values_are_read_as_numbers():
    frame = read_table(b"a,b\n1e308,1\n1e308,2\n-1e308,3\n5,inf\n1e309,4\n").frame
    assert frame["a"].iloc[0] == pytest.approx(1e308)
    assert np.isinf(frame["b"].iloc[3]) and np.isinf(frame["a"].iloc[4])


def test_the_first_sheet_of_a_workbook_is_read():
    table = read_table(workbook_bytes({"people": PEOPLE}))
    assert list(table.frame.columns) == ["name", "height", "weight"]
    assert table.frame["weight"].tolist() == [55, 81, 70]
    assert table.sheets == ("people",) and table.sheet == "people"
    assert table.reading.startswith("Read as an Excel workbook")


def test_a_two_sheet_workbook_lists_its_sheets_and_reads_either():
    workbook = workbook_bytes({"people": PEOPLE, "towns": TOWNS})
    assert sheet_names(workbook) == ("people", "towns")
    assert sheet_names(CSV) == ()
    assert read_table(workbook).sheet == "people"
    towns = read_table(workbook, sheet="towns")
    assert numeric_columns(towns.frame) == ["people", "area"]
    assert "sheet “towns” of 2" in towns.reading
    with pytest.raises(InputError, match="no sheet named 'lakes'"):
        read_table(workbook, sheet="lakes")


def test_a_formula_cell_gives_its_last_calculated_value():
    frame = read_table(formula_workbook()).frame
    assert frame["total"].tolist() == [3, 7]
    # Never calculated: the formula's cells are empty, and such rows are left out.
    frame = read_table(formula_workbook(calculated=False)).frame
    assert frame["total"].isna().all() and numeric_columns(frame) == ["a", "b"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (OLE_HEADER + b"Workbook".join([bytes(64)] * 2), r"old-style Excel file \(.xls\)"),
        (OLE_HEADER + "EncryptionInfo".encode("utf-16-le"), "protected with a password"),
        (with_parts(workbook_bytes({"p": PEOPLE}), {"xl/vbaProject.bin": b"vba"}), "macros"),
        (zip_bytes({"notes.txt": b"hello"}), "not an Excel workbook"),
        (b"PK\x03\x04" + bytes(100), "damaged"),
        (workbook_bytes({"blank": []}), "The table is empty"),
        (workbook_bytes({"header": [["a", "b"]]}), "no rows"),
        (workbook_bytes({"words": [["a"], ["x"], ["y"]]}), "no column of numbers"),
    ],
    ids=["xls", "encrypted", "xlsm", "other-zip", "broken-zip", "empty", "header", "words"],
)
def test_workbooks_that_cannot_be_used_are_refused_in_plain_words(content, message):
    with pytest.raises(InputError, match=message):
        read_table(content)


def test_workbooks_have_the_csv_size_and_row_limits(monkeypatch):
    workbook = workbook_bytes({"people": PEOPLE})
    assert len(read_table(workbook, max_rows=3).frame) == 3
    with pytest.raises(InputError, match="more than 2 rows"):
        read_table(workbook, max_rows=2)
    with pytest.raises(InputError, match="larger than"):
        read_table(workbook, max_bytes=len(workbook) - 1)
    monkeypatch.setattr(tabular, "MAX_WORKBOOK_UNPACKED_BYTES", 1000)
    with pytest.raises(InputError, match="unpacks to more than"):
        read_table(workbook)


def test_workbooks_with_too_much_text_are_refused(monkeypatch):
    texts = "".join(f"<si><t>name {i}</t></si>" for i in range(200))
    shared = f'<sst xmlns="{MAIN_NS}" count="200" uniqueCount="200">{texts}</sst>'
    workbook = with_parts(workbook_bytes({"people": PEOPLE}), {"xl/sharedStrings.xml": shared})
    assert read_table(workbook).frame.shape == (3, 3)
    # The table of texts and the sheet's inline texts (its header) count together.
    chars = sum(len(f"name {i}") for i in range(200))
    monkeypatch.setattr(tabular, "MAX_SHEET_TEXT_CHARS", chars)
    with pytest.raises(InputError, match=f"more than {chars:,} characters of text"):
        read_table(workbook)


def test_read_csv_refuses_a_workbook_as_not_text():
    with pytest.raises(InputError, match="not a CSV text file"):
        read_csv(workbook_bytes({"people": PEOPLE}))


# extreme values, constant columns, identical rows


def huge_frame() -> pd.DataFrame:
    return pd.DataFrame({"a": [1e308, 1e308, -1e308, 5.0], "b": [1.0, 2.0, 3.0, 4.0]})


@pytest.mark.parametrize("scaling", ["standard", "minmax"])
def test_scaling_values_near_the_float_limit_cannot_overflow(scaling):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's overflow warnings included
        X = table_points(huge_frame(), ["a", "b"], scaling).points.X
    assert np.all(np.isfinite(X))
    if scaling == "standard":
        # Two distinct rows of "a" share 1e308; weighted, the columns are still standardised.
        weights = table_points(huge_frame(), ["a", "b"], scaling).points.weights
        mean = np.average(X, axis=0, weights=weights)
        np.testing.assert_allclose(mean, 0, atol=1e-12)
        np.testing.assert_allclose(np.average((X - mean) ** 2, axis=0, weights=weights), 1)
    else:
        np.testing.assert_allclose(X.min(axis=0), 0, atol=1e-12)
        np.testing.assert_allclose(X.max(axis=0), 1)


def test_unscaled_values_too_large_to_compare_are_refused_naming_the_column():
    with pytest.raises(InputError, match="Values in column “a” are too large to compare"):
        table_points(huge_frame(), ["b", "a"], "none")
    X = table_points(huge_frame().assign(a=[1e149, 1.0, 2.0, 3.0]), ["a", "b"], "none").points.X
    assert np.isfinite(fit_kmeans(table_points_from(X), 2).inertia)


def table_points_from(X: np.ndarray):
    """Points of the rows of ``X``, as the table's own with weight 1 each."""
    return table_points(pd.DataFrame(X, columns=["p", "q"]), ["p", "q"], "none").points


def test_infinities_are_dropped_and_counted_like_missing_values():
    frame = read_table(b"a,b\n1,2\ninf,3\n4,-inf\n5,\n6,7\n").frame
    prepared = table_points(frame, ["a", "b"])
    assert prepared.rows_dropped == 3 and prepared.rows_used == 2


def test_constant_columns_are_found_and_named_in_plain_words():
    frame = pd.DataFrame(
        {
            "a": [1.0, 2.0, 3.0],
            "b": [7.0, 7.0, np.nan],
            "c": [0.0, 0.0, 0.0],
            "d": [np.inf, 4.0, 4.0],
            "name": ["x", "x", "x"],
        }
    )
    assert constant_columns(frame) == ["b", "c", "d"]
    assert constant_columns(frame, ["a", "c"]) == ["c"]
    assert constant_note(["b"]) == (
        "Column “b” has the same value in every row, so it cannot separate groups; "
        "it is left out unless you choose it."
    )
    assert constant_note(["b", "c", "d"]).startswith("Columns “b”, “c” and “d” have the same")


def test_identical_rows_become_one_weighted_point():
    frame = pd.DataFrame({"a": [1.0, 2.0, 1.0, 1.0, -0.0, 0.0], "b": [5, 6, 5, 5, 1, 1]})
    prepared = table_points(frame, ["a", "b"], "none")
    assert prepared.points.n_points == 3
    assert prepared.points.weights.sum() == 6
    X = prepared.points.X
    # Every row's point holds that row's values.
    np.testing.assert_array_equal(X[prepared.row_points], frame.to_numpy(dtype=float))
    labels = np.arange(3)
    assert prepared.row_labels(labels).tolist() == prepared.row_points.tolist()


def test_identical_rows_are_told_apart_exactly_even_when_hashes_collide(monkeypatch):
    frame = pd.DataFrame({"a": [1.0, 2.0, 1.0, 3.0], "b": [0.5, 0.5, 0.5, 0.5]})
    expected = table_points(frame, ["a", "b"], "none")
    monkeypatch.setattr(
        pd.util, "hash_pandas_object", lambda data, index: pd.Series(np.zeros(len(data), "u8"))
    )
    collided = table_points(frame, ["a", "b"], "none")
    assert collided.points.n_points == expected.points.n_points == 3
    np.testing.assert_array_equal(
        collided.points.X[collided.row_points], expected.points.X[expected.row_points]
    )


def test_fewer_distinct_rows_than_k_give_an_honest_note_and_no_warning():
    frame = pd.DataFrame({"a": [1.0, 2.0] * 50, "b": [3.0, 4.0] * 50, "c": [9.0] * 100})
    prepared = table_points(frame, ["a", "b", "c"])
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        fit = fit_kmeans(prepared.points, 3)
        elbow_sweep(prepared.points, range(1, 6))
        silhouette_sweep(prepared.points, range(2, 5), sample_size=50)
        one = table_points(frame, ["c"])
        single = fit_kmeans(one.points, 3)
    assert prepared.groups_note(fit.n_clusters, 3) == (
        "These columns have only 2 distinct rows, so there are 2 groups instead of the 3 asked for."
    )
    assert one.groups_note(single.n_clusters, 3) == (
        "These columns have only 1 distinct row, so there is 1 group instead of the 3 asked for."
    )
    assert prepared.groups_note(2, 2) is None


# large tables: a row sample for the starts and the sweeps


def uniform_table(n_rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(rng.random((n_rows, 4)), columns=["a", "b", "c", "d"])


def test_small_tables_are_fitted_on_every_row():
    prepared = table_points(uniform_table(SUMMARY_ROWS), ["a", "b", "c", "d"])
    assert prepared.points.coarse is None and prepared.sweep_note is None
    assert sweep_starts(prepared.points) == 3


def test_large_tables_are_summarised_by_a_row_sample_and_say_so():
    prepared = table_points(uniform_table(3 * SUMMARY_ROWS), ["a", "b", "c", "d"])
    coarse = prepared.points.coarse
    assert coarse.weights.sum() == SUMMARY_ROWS
    # Every sampled point is one of the table's points.
    assert len(np.unique(coarse.X, axis=0)) == coarse.n_points
    assert np.isin(coarse.X.view("V32"), prepared.points.X.view("V32")).all()
    assert prepared.sweep_note == (
        "The sweeps fit each k on a random sample of 5,000 of the 15,000 rows, then measure "
        "the inertia over all of them; the groups below are refined on every row."
    )
    assert sweep_starts(prepared.points) == SWEEP_N_INIT


def test_a_sweep_on_a_row_sample_measures_inertia_over_every_row():
    points = table_points(uniform_table(2 * SUMMARY_ROWS), ["a", "b", "c", "d"]).points
    curve = elbow_sweep(points, [2, 5, 8], n_init=SWEEP_N_INIT)
    for centres, inertia in zip(curve.centers, curve.inertia, strict=True):
        squared = ((points.X[:, None, :] - centres[None]) ** 2).sum(axis=2).min(axis=1)
        assert inertia == pytest.approx(np.dot(points.weights, squared), rel=1e-9)
    fit = fit_kmeans(points, 5)
    assert len(fit.labels) == points.n_points
    # The polish on every row improves on the sample's centres.
    assert fit.inertia <= curve.inertia[1] * (1 + 1e-9)


# hostile tables: refused before any parser allocates, in one sentence naming the limit

REFUSALS = {
    "styles bomb": "more than 200,000 XML elements in this workbook's formatting",
    "far-right cells": "column ZZZ \\(column 18,278\\), beyond the 1,000 columns",
    "100,000 columns": "longer than 100,000 characters",
    "20 MB line": "longer than 100,000 characters",
    "1,001 columns": "more than 1,000 columns",
    "entity expansion": "document type declaration",
    "3 million elements": "more than 1,500,000 XML elements in this workbook's sheet,",
    "cells without positions": "column ALM \\(column 1,001\\), beyond the 1,000 columns",
    "row gap": "spans 1,048,576 rows by 1,000 columns, more than the 2,000,000 cells",
    "5,000 sheets": "more than 1,000 sheets",
    "no manifest": "column ZZZ \\(column 18,278\\), beyond the 1,000 columns",
    "texts in another case": "more than 1,000,000 XML elements in this workbook's table",
    "prefixed elements": "column ZZZ \\(column 18,278\\), beyond the 1,000 columns",
    "workbook under book/": "column ZZZ \\(column 18,278\\), beyond the 1,000 columns",
    "unmatched end tag": "could not be read \\(it may be damaged\\)",
    "11 MB text cell": "more than 10,000,000 characters of text",
    "tall narrow gap": "spans 1,048,576 rows by 2 columns, more than the 2,000,000 cells",
}
READ = {
    "lying dimension": (3, 2),
    "10 MB cell": (2, 2),
    "200,000 tiny rows": (200_000, 1),
    "renamed shared strings": (2, 1),
    "every limit at once": (2, 1),
}


def test_every_hostile_table_is_either_refused_or_read():
    assert set(REFUSALS) | set(READ) == set(HOSTILE_TABLES)


@pytest.mark.parametrize("name", list(REFUSALS))
def test_hostile_tables_are_refused_naming_the_limit(name):
    data = HOSTILE_TABLES[name][1]()
    with pytest.raises(InputError, match=REFUSALS[name]):
        sheet_names(data)
        read_table(data)


@pytest.mark.parametrize("name", list(READ))
def test_hostile_looking_tables_within_the_limits_are_read(name):
    assert read_table(HOSTILE_TABLES[name][1]()).frame.shape == READ[name]


def test_a_lying_dimension_does_not_stretch_the_table():
    frame = read_table(lying_dimension_xlsx()).frame
    assert frame.to_dict("list") == {"a": [1, 3, 5], "b": [2, 4, 7]}


def test_a_table_at_the_column_and_cell_limits_is_read():
    columns = tabular.MAX_TABLE_COLUMNS
    rows = tabular.MAX_TABLE_CELLS // columns
    line = ",".join(["1"] * columns)
    header = ",".join(f"c{j}" for j in range(columns))
    data = (header + "\n" + (line + "\n") * rows).encode()
    assert read_table(data).frame.shape == (rows, columns)
    with pytest.raises(InputError, match="more than 2,000,000 cells"):
        read_table(data + (line + "\n").encode())


def test_a_line_at_the_limit_is_read():
    cell = "x" * (tabular.MAX_LINE_CHARS - len(",1"))
    assert read_table(f"note,n\n{cell},1\n".encode()).frame.shape == (1, 2)


def test_a_sheet_at_the_column_limit_is_read_and_one_more_is_refused():
    cells = "".join(f"<c><v>{j}</v></c>" for j in range(tabular.MAX_TABLE_COLUMNS))
    rows = "".join(f'<row r="{i}">{cells}</row>' for i in range(1, 5))
    assert read_table(with_sheet(rows)).frame.shape == (3, tabular.MAX_TABLE_COLUMNS)
    wider = with_sheet(f'<row r="1">{cells}<c><v>1</v></c></row>')
    with pytest.raises(InputError, match="beyond the 1,000 columns"):
        read_table(wider)


def test_a_character_reference_cannot_hide_a_far_column():
    # expat decodes "&#90;" to "Z" before the scan sees the position (calamine, which
    # reads the attribute as it is written, fails on it): refused either way.
    data = with_sheet('<row r="1"><c r="&#90;ZZ1"><v>1</v></c></row>')
    with pytest.raises(InputError, match="column ZZZ"):
        read_table(data)


def test_shared_strings_are_bounded_whatever_the_case_of_their_name(monkeypatch):
    texts = "".join(f"<si><t>t{i}</t></si>" for i in range(30))
    strings = f'<sst xmlns="{MAIN_NS}">{texts}</sst>'
    base = with_sheet(number_rows(["a"], [[1]]))
    data = with_parts(base, {"XL/SHAREDSTRINGS.XML": strings})
    assert read_table(data).frame.shape == (1, 1)
    monkeypatch.setattr(tabular, "MAX_TEXT_ELEMENTS", 59)
    with pytest.raises(InputError, match="more than 59 XML elements in this workbook's table"):
        read_table(data)


def test_only_the_sheet_read_is_scanned():
    # calamine parses only the sheet asked for: a far-right second sheet does not stop
    # the first from being read, and is refused when chosen.
    far = zipfile.ZipFile(io.BytesIO(far_right_xlsx())).read("xl/worksheets/sheet1.xml")
    workbook = with_parts(
        workbook_bytes({"people": PEOPLE, "far": [["x"]]}), {"xl/worksheets/sheet2.xml": far}
    )
    assert sheet_names(workbook) == ("people", "far")
    assert read_table(workbook).frame.shape == (3, 3)
    with pytest.raises(InputError, match="column ZZZ"):
        read_table(workbook, sheet="far")


def test_styled_empty_cells_do_not_widen_the_table():
    # Cells without a value (formatting only) are not in the range calamine reads.
    rows = number_rows(["a"], [[1], [2]]).replace("</row>", '<c r="ZZZ1" s="0"/></row>', 1)
    assert read_table(with_sheet(rows)).frame.shape == (2, 1)


@pytest.mark.parametrize(
    "rows",
    [
        number_rows(["a", "b"], [[1, 2], [3, 4]]),
        "<row><c><v>1</v></c><c><v>2</v></c></row><row><c><v>3</v></c></row>",
        '<row r="5"><c><v>1</v></c></row><row><c><v>3</v></c><c><v>3</v></c></row>',
        '<row r="1"><c r="C7"><v>1</v></c><c><v>2</v></c></row>',
        '<row r="1"><c r="A1"><v>1</v></c><c r="Z9" s="1"/></row>',
        "<c><v>1</v></c><row><c><v>2</v></c></row><c><v>5</v></c><c><v>5</v></c>",
        '<row r="1"><c r="A1"><v>1</v></c><c r="E3"><f>1+1</f></c></row>',
    ],
    ids=["plain", "no-r", "r-then-none", "cell-elsewhere", "styled-empty", "between", "formula"],
)
def test_the_scan_places_cells_where_calamine_does(rows):
    # The used range the scan measures is the range calamine reads, from A1.
    data = with_sheet(rows)
    archive = zipfile.ZipFile(io.BytesIO(data))
    unbounded = Limits(max_columns=10**9, max_cells=10**12, max_text_chars=10**9)
    scan = scan_part(archive, archive.getinfo(SHEET_PART), 10**9, "sheet", unbounded)
    frame = pd.read_excel(io.BytesIO(data), engine="calamine", header=None)
    assert (scan.rows, scan.width) == frame.shape


def test_both_workbook_folders_are_scanned_when_they_differ():
    # calamine before 0.36 reads xl/ whatever _rels/.rels names: a far-right sheet there
    # is refused even when the named folder holds a good table.
    moved = HOSTILE_TABLES["workbook under book/"][1]()
    good = zipfile.ZipFile(io.BytesIO(moved))
    parts = {name: good.read(name) for name in good.namelist()}
    parts["book/worksheets/sheet1.xml"] = sheet_xml(number_rows(["a"], [[1], [2]]))
    far = zipfile.ZipFile(io.BytesIO(far_right_xlsx()))
    parts |= {name: far.read(name) for name in far.namelist() if name.startswith("xl/")}
    with pytest.raises(InputError, match="column ZZZ"):
        read_table(zip_bytes(parts))
