"""Numeric tables: reading CSV, choosing columns, scaling into k-means points."""

import io

import numpy as np
import pandas as pd
import pytest

from kmeans_lib.clustering import fit_kmeans
from kmeans_lib.errors import InputError
from kmeans_lib.selection import elbow_sweep, silhouette_sweep
from kmeans_lib.tabular import (
    MAX_TABLE_ROWS,
    SCALINGS,
    load_table_sample,
    numeric_columns,
    read_csv,
    table_points,
    table_sample_names,
)

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
