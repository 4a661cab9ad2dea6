"""The dashboard driven through Streamlit's AppTest: pages, sidebar controls, uploads, URL."""

from __future__ import annotations

import gc
import io
import json
import re
import warnings
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hostile_text import SIGN_IN, SPOOFED_LINK, TRACKING_PIXEL, shown
from PIL import Image
from sklearn.exceptions import ConvergenceWarning
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.runtime.uploaded_file_manager import UploadedFile
from streamlit.testing.v1 import AppTest
from table_files import (
    HOSTILE_TABLES,
    OLE_HEADER,
    PEOPLE,
    TOWNS,
    european_csv,
    formula_workbook,
    with_parts,
    workbook_bytes,
)

from kmeans_app import cache, state, widgets
from kmeans_app.escape import markdown_text
from kmeans_app.store import store
from kmeans_lib import images, tabular
from kmeans_lib.colour_space import to_features
from kmeans_lib.rendering import FileSizes, indexed_png, png_size

APP = Path(__file__).resolve().parents[1] / "streamlit_app.py"
# Generous: the machine that runs these is small and shared.
TIMEOUT = 30
PAGES = [
    "app_pages/redraw.py",
    "app_pages/palette_segments.py",
    "app_pages/choose_k.py",
    "app_pages/explore_3d.py",
    "app_pages/compare.py",
    "app_pages/step_by_step.py",
    "app_pages/your_data.py",
    "app_pages/how_it_works.py",
]


def open_app(query: dict[str, str] | None = None) -> AppTest:
    """A fresh session of the app after its first run, opened with ``query`` in the URL."""
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.query_params.update(query or {})
    return at.run()


def assert_no_problem(at: AppTest) -> None:
    """Neither an exception nor an error message on screen."""
    assert not at.exception, [element.value for element in at.exception]
    assert not at.error, [element.value for element in at.error]


def swatch_count(at: AppTest) -> int:
    """Palette swatches on the current page."""
    return sum(element.value.count('class="swatch"') for element in at.html)


def png_bytes(colours: list[tuple[int, int, int]]) -> bytes:
    """A small PNG whose pixels use exactly ``colours``."""
    pixels = np.repeat(np.array(colours, dtype=np.uint8)[:, None, :], 8, axis=1)
    buffer = io.BytesIO()
    Image.fromarray(np.repeat(pixels, 8, axis=0)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_the_default_sample(page: str) -> None:
    at = open_app()
    at.switch_page(page).run()
    assert_no_problem(at)
    assert at.session_state["picture"].name == "china"
    assert at.header, "every page has a heading"


def test_moving_k_changes_the_number_of_swatches() -> None:
    at = open_app()
    before = swatch_count(at)
    at.slider(key="k").set_value(5).run()
    assert_no_problem(at)
    assert before == 8
    assert swatch_count(at) == 5
    assert at.number_input(key="k_number").value == 5


def test_presets_set_k() -> None:
    at = open_app()
    at.button(key="preset_3").click().run()
    assert (at.slider(key="k").value, at.number_input(key="k_number").value) == (3, 3)
    assert swatch_count(at) == 3
    at.button(key="preset_16").click().run()
    assert (at.slider(key="k").value, at.number_input(key="k_number").value) == (16, 16)
    assert swatch_count(at) == 16


def test_typed_k_above_the_slider_range_is_used() -> None:
    at = open_app()
    at.number_input(key="k_number").set_value(100).run()
    assert_no_problem(at)
    assert at.slider(key="k").value == 64
    assert swatch_count(at) == 100
    assert at.query_params["k"] == "100"


def test_bad_upload_shows_an_error_and_keeps_the_previous_image() -> None:
    at = open_app({"image": "flower"})
    at.radio(key="image_source").set_value("upload").run()
    at.file_uploader(key="upload").set_value(("holiday.png", b"not a picture", "image/png")).run()
    assert not at.exception
    assert len(at.error) == 1 and "holiday.png" in shown(at.error[0].value)
    assert at.session_state["picture"].name == "flower"
    assert swatch_count(at) == 8


def test_good_upload_replaces_the_image() -> None:
    at = open_app()
    at.radio(key="image_source").set_value("upload").run()
    colours = [(255, 0, 0), (0, 0, 255), (250, 250, 250)]
    at.file_uploader(key="upload").set_value(("flag.png", png_bytes(colours), "image/png")).run()
    assert_no_problem(at)
    assert at.session_state["picture"].name == "flag.png"
    # Three distinct colours cannot make the default eight palette colours.
    assert swatch_count(at) == 3
    assert "image" not in at.query_params


def test_an_upload_is_kept_once_not_copied() -> None:
    # Streamlit keeps the uploaded bytes for the session; the picture must use
    # those very bytes, not the copy the uploader hands the script.
    data = png_bytes([(255, 0, 0), (0, 0, 255)])
    at = open_app()
    at.radio(key="image_source").set_value("upload").run()
    at.file_uploader(key="upload").set_value(("flag.png", data, "image/png")).run()
    assert_no_problem(at)
    assert at.session_state["picture"].data is data


def test_the_uploaders_copy_is_let_go_before_the_picture_is_decoded(monkeypatch) -> None:
    # Each run gets its own copy of the file from the uploader; alive during the
    # decode, it would add the whole file to a large picture's peak memory.
    data = png_bytes([(3, 1, 4), (1, 5, 9)])
    copies_alive = []

    def load_image(source, **options):
        gc.collect()
        copies_alive.extend(
            f
            for f in gc.get_objects()
            if isinstance(f, UploadedFile) and f.name == "pi.png" and f.getvalue() is not data
        )
        return images.load_image(source, **options)

    monkeypatch.setattr(cache, "load_image", load_image)
    at = open_app()
    at.radio(key="image_source").set_value("upload").run()
    at.file_uploader(key="upload").set_value(("pi.png", data, "image/png")).run()
    assert_no_problem(at)
    assert at.session_state["picture"].name == "pi.png"
    assert copies_alive == []


def test_query_parameters_round_trip() -> None:
    at = open_app({"image": "flower", "k": "5", "space": "lab", "seed": "7"})
    assert_no_problem(at)
    assert at.radio(key="image_source").value == "flower"
    assert at.slider(key="k").value == 5
    assert at.radio(key="colour_space").value == "lab"
    assert at.number_input(key="seed").value == 7
    assert swatch_count(at) == 5
    at.slider(key="k").set_value(12).run()
    assert at.query_params == {"image": "flower", "k": "12", "space": "lab", "seed": "7"}


def test_invalid_query_parameters_fall_back_to_defaults_with_a_notice() -> None:
    at = open_app({"image": "moon", "k": "999", "space": "hsv", "seed": "-1"})
    assert_no_problem(at)
    assert len(at.warning) == 4
    assert at.radio(key="image_source").value == "china"
    assert at.slider(key="k").value == 8
    assert at.radio(key="colour_space").value == "rgb"
    assert at.query_params == {"image": "china", "k": "8", "space": "rgb"}


def test_use_k_button_sets_k() -> None:
    at = open_app({"k": "20"})
    at.switch_page("app_pages/choose_k.py").run()
    button = at.button(key="use_knee")
    knee = int(re.fullmatch(r"Use k = (\d+)", button.label).group(1))
    assert knee != 20
    button.click().run()
    assert_no_problem(at)
    assert at.number_input(key="k_number").value == knee
    assert at.slider(key="k").value == knee
    assert at.query_params["k"] == str(knee)


def test_your_data_clusters_iris_with_and_without_scaling() -> None:
    at = open_app()
    at.switch_page("app_pages/your_data.py").run()
    assert at.radio(key="table_source").value == "iris"
    tables = {}
    for scaling in ("standard", "none"):
        at.radio(key="scaling").set_value(scaling).run()
        assert_no_problem(at)
        # The cluster-by-species table (dataframes expose no key to AppTest).
        tables[scaling] = next(d.value for d in at.dataframe if d.value.columns.name == "species")
    for table in tables.values():
        assert table.shape == (3, 3)  # 3 clusters by 3 species
        assert table.to_numpy().sum() == 150
    assert not tables["standard"].equals(tables["none"])


def test_your_data_rejects_a_broken_csv() -> None:
    at = open_app()
    at.switch_page("app_pages/your_data.py").run()
    at.radio(key="table_source").set_value("upload").run()
    broken = ("table.csv", b"\x89PNG\r\n\x1a\n\x00\x00binary", "text/csv")
    at.file_uploader(key="table_upload").set_value(broken).run()
    assert not at.exception
    assert len(at.error) == 1 and "CSV" in at.error[0].value


def test_your_data_sidebar_has_only_the_seed_and_keeps_the_picture_settings() -> None:
    at = open_app({"k": "5", "space": "lab"})
    assert [radio.key for radio in at.sidebar.radio] == ["image_source", "colour_space"]
    at.switch_page("app_pages/your_data.py").run()
    assert_no_problem(at)
    assert not at.sidebar.radio and not at.sidebar.slider and not at.sidebar.button
    assert [box.key for box in at.sidebar.number_input] == ["seed"]
    at.switch_page("app_pages/redraw.py").run()
    assert at.slider(key="k").value == 5
    assert at.number_input(key="k_number").value == 5
    assert at.radio(key="colour_space").value == "lab"
    assert swatch_count(at) == 5


def upload_table(data: bytes, name: str = "table.csv") -> AppTest:
    """A session on Your data after uploading ``data`` as the file ``name``."""
    at = open_app()
    at.switch_page("app_pages/your_data.py").run()
    at.radio(key="table_source").set_value("upload").run()
    return at.file_uploader(key="table_upload").set_value((name, data, "text/csv")).run()


def captions(at: AppTest) -> str:
    return "\n".join(shown(caption.value) for caption in at.caption)


def test_your_data_reads_decimal_commas_and_says_so() -> None:
    at = upload_table(european_csv())
    assert_no_problem(at)
    assert "semicolons and decimal commas" in captions(at)
    assert at.multiselect(key="table_columns").value == ["température", "pluie"]
    assert "Clustering 3 rows on 2 columns." in captions(at)
    # The page speaks of rows, not of the pixels of a picture.
    assert "over every row, the squared distance from the row" in captions(at)
    assert "pixel" not in captions(at)


@pytest.mark.parametrize(
    ("data", "name", "reading"),
    [
        ("a\tb\tc\n1,5\t2\t7\n2,5\t4\t1\n3\t1\t5\n".encode("utf-16"), "t.txt", "UTF-16"),
        (b'note,a,b\n"two\nlines",1,2\n"x",3,4\n"y",5,1\n', "q.csv", "UTF-8"),
        (formula_workbook(), "sums.xlsx", "Excel workbook"),
    ],
    ids=["utf16-tabs", "quoted-newlines", "formula-workbook"],
)
def test_your_data_clusters_everyday_files(data: bytes, name: str, reading: str) -> None:
    at = upload_table(data, name)
    assert_no_problem(at)
    assert reading in captions(at)
    # Rows per group (split by the text column where there is one): every row is used.
    sizes = next(d.value for d in at.dataframe if d.value.index.name == "cluster")
    assert sizes.to_numpy().sum() == (2 if name.endswith(".xlsx") else 3)


def test_your_data_offers_each_sheet_of_a_workbook() -> None:
    at = upload_table(workbook_bytes({"people": PEOPLE, "towns": TOWNS}), "book.xlsx")
    assert_no_problem(at)
    sheet = at.selectbox(key="table_sheet")
    assert sheet.options == ["people", "towns"] and sheet.value == "people"
    assert at.multiselect(key="table_columns").value == ["height", "weight"]
    sheet.set_value("towns").run()
    assert_no_problem(at)
    assert at.multiselect(key="table_columns").value == ["people", "area"]
    assert "sheet “towns” of 2" in captions(at)


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (OLE_HEADER + bytes(512), "old.xls", "old-style Excel file"),
        (OLE_HEADER + "EncryptionInfo".encode("utf-16-le"), "secret.xlsx", "password"),
        (with_parts(workbook_bytes({"p": PEOPLE}), {"xl/vbaProject.bin": b""}), "m.xlsm", "macros"),
    ],
    ids=["xls", "encrypted", "xlsm"],
)
def test_your_data_refuses_workbooks_it_cannot_open_in_plain_words(
    data: bytes, name: str, message: str
) -> None:
    at = upload_table(data, name)
    assert not at.exception
    assert len(at.error) == 1 and message in shown(at.error[0].value)


@pytest.mark.parametrize(
    "name",
    [
        "styles bomb",
        "far-right cells",
        "20 MB line",
        "1,001 columns",
        "no manifest",
        "11 MB text cell",
    ],
)
def test_your_data_refuses_a_hostile_table_and_keeps_working(name: str) -> None:
    file_name, generate = HOSTILE_TABLES[name]
    at = upload_table(generate(), file_name)
    assert not at.exception
    assert len(at.error) == 1 and re.search("more than|longer than|beyond", at.error[0].value)
    at.radio(key="table_source").set_value("iris").run()
    assert_no_problem(at)
    assert at.multiselect(key="table_columns").value


def test_a_refused_table_is_not_read_again_on_a_rerun(monkeypatch: pytest.MonkeyPatch) -> None:
    reads = []

    def counted(function):
        def read(*args, **kwargs):
            reads.append(function.__name__)
            return function(*args, **kwargs)

        return read

    monkeypatch.setattr(tabular, "sheet_names", counted(tabular.sheet_names))
    monkeypatch.setattr(tabular, "read_table", counted(tabular.read_table))
    # Bytes of this test's own, so that no other test's stored result is found.
    data = with_parts(HOSTILE_TABLES["far-right cells"][1](), {"docProps/rerun.txt": "rerun"})
    at = upload_table(data, "far.xlsx")
    assert len(at.error) == 1 and "column ZZZ" in at.error[0].value
    assert reads == ["sheet_names", "read_table"]
    at.run()
    assert len(at.error) == 1 and "column ZZZ" in at.error[0].value
    assert reads == ["sheet_names", "read_table"]


def test_your_data_offers_every_column_of_a_table_at_the_column_limit() -> None:
    # Streamlit finds each chosen column by a linear search of the options: the choice
    # is bounded so that a rerun stays linear in the number of columns.
    width = tabular.MAX_TABLE_COLUMNS
    frame = pd.DataFrame(
        np.arange(3 * width).reshape(3, width) % 7, columns=[f"c{j}" for j in range(width)]
    )
    at = upload_table(frame.to_csv(index=False).encode())
    assert_no_problem(at)
    columns = at.multiselect(key="table_columns")
    assert len(columns.options) == width
    assert columns.max_selections == your_data_max_chosen()
    assert columns.value == [f"c{j}" for j in range(your_data_max_chosen())]
    at.multiselect(key="table_columns").set_value(["c5", "c999", "c7"]).run()
    assert_no_problem(at)
    assert at.multiselect(key="table_columns").value == ["c5", "c999", "c7"]


def your_data_max_chosen() -> int:
    """The page's bound on chosen columns, read from its source (a page is no module)."""
    source = (APP.parent / "app_pages" / "your_data.py").read_text()
    return int(re.search(r"^MAX_CHOSEN_COLUMNS = ([\d_]+)$", source, re.M).group(1))


HUGE = b"a,b,c\n1e308,1,5\n1e308,2,3\n-1e308,3,4\n5,4,1\n"


def test_your_data_scales_values_near_the_float_limit_or_names_the_column() -> None:
    at = upload_table(HUGE)
    assert_no_problem(at)  # standard scaling cannot overflow
    at.radio(key="scaling").set_value("minmax").run()
    assert_no_problem(at)
    at.radio(key="scaling").set_value("none").run()
    assert not at.exception
    assert [error.value for error in at.error] == [
        markdown_text(
            "Values in column “a” are too large to compare (their squares do not fit in a "
            "computer number). Choose a scaling, or rescale them."
        )
    ]


def test_your_data_drops_and_counts_rows_with_infinities() -> None:
    at = upload_table(b"a,b\n1,2\ninf,3\n4,-inf\n5,1\n6,7\n2,2\n")
    assert_no_problem(at)
    assert "Clustering 4 rows on 2 columns (2 rows with missing or infinite values left out)." in (
        captions(at)
    )


def test_your_data_leaves_constant_columns_out_and_says_why() -> None:
    at = upload_table(b"a,b,c\n1,7,2\n2,7,9\n3,7,4\n8,7,1\n")
    assert_no_problem(at)
    assert [info.value for info in at.info][0] == markdown_text(
        "Column “b” has the same value in every row, so it cannot separate groups; "
        "it is left out unless you choose it."
    )
    assert at.multiselect(key="table_columns").value == ["a", "c"]
    # Chosen anyway, alone: one distinct row, one group, and the page says so.
    at.multiselect(key="table_columns").set_value(["b"]).run()
    assert_no_problem(at)
    assert (
        "These columns have only 1 distinct row, so there is 1 group instead of the 3 asked for."
        in [info.value for info in at.info]
    )


def test_your_data_with_fewer_distinct_rows_than_k_says_so_without_a_warning() -> None:
    at = upload_table(b"a,b\n1,1\n1,1\n2,5\n2,5\n1,1\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        at.slider(key="table_k").set_value(4).run()
    assert_no_problem(at)
    assert (
        "These columns have only 2 distinct rows, so there are 2 groups instead of the 4 "
        "asked for." in [info.value for info in at.info]
    )


def test_your_data_says_when_the_sweeps_fit_on_a_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tabular, "SUMMARY_ROWS", 50)
    rng = np.random.default_rng(3)
    at = upload_table(pd.DataFrame(rng.random((400, 3))).to_csv(index=False).encode())
    assert_no_problem(at)
    assert "a random sample of 50 of the 400 rows" in captions(at)


def test_a_failure_on_your_data_speaks_of_the_table(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug")

    at = upload_table(b"a,b\n1,2\n3,4\n5,9\n")
    assert_no_problem(at)
    monkeypatch.setattr(widgets, "choose_k_panel", fail)
    at.run()
    assert not at.exception
    assert [error.value for error in at.error] == [
        "Something went wrong while working on this table. Try other columns or another file."
    ]


@pytest.mark.parametrize("page", [page for page in PAGES if not page.endswith("your_data.py")])
def test_picture_pages_show_the_picture_controls(page: str) -> None:
    at = open_app()
    at.switch_page(page).run()
    assert {radio.key for radio in at.sidebar.radio} == {"image_source", "colour_space"}
    assert [slider.key for slider in at.sidebar.slider] == ["k"]


def upload(at: AppTest, name: str, data: bytes, mime: str = "image/png") -> AppTest:
    """Choose "Upload my own" and upload ``data`` as the file ``name``."""
    at.radio(key="image_source").set_value("upload").run()
    return at.file_uploader(key="upload").set_value((name, data, mime)).run()


def test_a_picture_above_the_working_size_is_explored_smaller_and_downloads_full_size(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The working size scaled down from 12.5 megapixels, so a small picture is "large".
    monkeypatch.setattr(cache, "WORKING_MAX_PIXELS", 1_000)
    rng = np.random.default_rng(0)
    big = np.repeat(np.repeat(rng.integers(0, 256, (20, 25, 3), dtype=np.uint8), 4, 0), 4, 1)
    buffer = io.BytesIO()
    Image.fromarray(big).save(buffer, format="PNG")
    at = upload(open_app(), "big.png", buffer.getvalue())
    assert_no_problem(at)
    picture = at.session_state["picture"]
    working = cache.image(picture)
    assert working.n_pixels <= 1_000 and working.original_size == (100, 80)
    assert [info.value for info in at.info] == [working.reduction_notice]
    assert "downloads are full size" in working.reduction_notice
    k = at.slider(key="k").value
    download = cache.redraw_png_on_click(picture, k, "rgb", 0)
    store().make_room(10**12)  # everything evicted: the download computes what it needs again
    assert len(store()) == 0
    full = Image.open(io.BytesIO(download()))
    assert full.size == (100, 80)
    palette = {tuple(c) for c in cache.quantization(picture, k, "rgb", 0).palette.tolist()}
    assert {colour for _, colour in full.convert("RGB").getcolors(maxcolors=256)} <= palette
    dithered_file = cache.redraw_png_on_click(picture, k, "rgb", 0, dither=True)()
    dithered = Image.open(io.BytesIO(dithered_file))
    assert dithered.size == (100, 80)
    assert {colour for _, colour in dithered.convert("RGB").getcolors(maxcolors=256)} <= palette


def test_compare_page_measures_every_method_on_the_default_picture() -> None:
    at = open_app({"k": "6"})
    at.switch_page("app_pages/compare.py").run()
    assert_no_problem(at)
    table = at.dataframe[0].value
    assert "k-means in RGB (this app)" in set(table["Method"])
    assert "Median cut (Pillow)" in set(table["Method"])
    assert (table["Colours"] <= 6).all()
    results = cache.comparison(at.session_state["picture"], 6, 0, "laptop")
    assert len(table) == sum(result.ok for result in results) >= 7
    captions = [caption.value for caption in at.caption]
    assert sum(caption.startswith("PSNR ") for caption in captions) == len(table)


def test_compare_page_works_on_an_upload() -> None:
    at = upload(open_app(), "flag.png", png_bytes([(255, 0, 0), (0, 0, 255), (250, 250, 250)]))
    at.switch_page("app_pages/compare.py").run()
    assert_no_problem(at)
    table = at.dataframe[0].value
    assert len(table) >= 7
    # Three colours: every method finds them exactly.
    assert (table["Colours"] == 3).all()
    assert np.isinf(table["PSNR (dB)"]).all()


def test_compare_page_compares_a_large_picture_on_a_smaller_copy(monkeypatch) -> None:
    monkeypatch.setattr(cache, "COMPARE_MAX_SIDE", 60)
    # Colours of its own, so no other test has compared this picture.
    colours = [(17 * i % 256, 101 * i % 256, 53 * i % 256) for i in range(15)]
    at = upload(open_app({"k": "4"}), "stripes.png", png_bytes(colours))
    at.switch_page("app_pages/compare.py").run()
    assert_no_problem(at)
    text = " ".join(caption.value for caption in at.caption)
    assert "Compared on a 4 × 60 copy of the picture" in text
    assert "the other pages use it at 8 × 120" in text
    assert len(at.dataframe[0].value) >= 7


def downloaded(at: AppTest, key: str, deferred: dict[str, object]) -> bytes | str:
    """What the download button ``key`` sends when clicked, bytes or text (its deferred call)."""
    button = next(b for b in at.get("download_button") if b.proto.id.endswith(key))
    return deferred[button.proto.deferred_file_id]()


def record_deferred(monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """Deferred download callables by file id, recorded as the app adds them from now on."""
    deferred: dict[str, object] = {}
    add_deferred = MediaFileManager.add_deferred

    def recording(self, data_callable, *args, **kwargs):
        file_id = add_deferred(self, data_callable, *args, **kwargs)
        deferred[file_id] = data_callable
        return file_id

    monkeypatch.setattr(MediaFileManager, "add_deferred", recording)
    return deferred


def test_dither_toggle_changes_the_downloaded_png(monkeypatch: pytest.MonkeyPatch) -> None:
    deferred = record_deferred(monkeypatch)
    at = open_app({"k": "4"})
    plain = Image.open(io.BytesIO(downloaded(at, "download_png", deferred)))
    at.toggle(key="dither").set_value(True).run()
    assert_no_problem(at)
    assert "dithered" in next(b for b in at.get("download_button")).label
    dithered = Image.open(io.BytesIO(downloaded(at, "download_png", deferred)))
    assert plain.size == dithered.size == (640, 427)
    plain_rgb, dithered_rgb = np.asarray(plain.convert("RGB")), np.asarray(dithered.convert("RGB"))
    assert not np.array_equal(plain_rgb, dithered_rgb)
    palette = {
        tuple(c)
        for c in cache.quantization(at.session_state["picture"], 4, "rgb", 0).palette.tolist()
    }
    assert {tuple(c) for c in dithered_rgb.reshape(-1, 3).tolist()} <= palette
    assert any("Measured here: dithering" in m.value for m in at.markdown)


def test_eye_test_use_k_sets_k() -> None:
    colours = [(200, 30, 30), (30, 160, 40), (40, 50, 210), (240, 230, 60), (20, 20, 20)]
    at = upload(open_app({"k": "12"}), "five.png", png_bytes(colours))
    at.switch_page("app_pages/choose_k.py").run()
    assert_no_problem(at)
    # The search waits until it is asked for.
    assert not any("From k =" in message.value for message in at.success)
    at.button(key="run_eye_test").click().run()
    assert any("From k = 5 on" in message.value for message in at.success)
    at.button(key="use_eye_k").click().run()
    assert_no_problem(at)
    assert at.number_input(key="k_number").value == 5
    assert at.slider(key="k").value == 5


def test_eye_test_says_so_when_no_k_is_enough() -> None:
    at = open_app()
    at.switch_page("app_pages/choose_k.py").run()
    at.button(key="run_eye_test").click().run()
    at.radio(key="eye_measure").set_value("delta_e").run()
    at.slider(key="eye_threshold").set_value(1.0).run()
    assert_no_problem(at)
    assert any("No k up to 256" in message.value for message in at.info)
    assert not [button for button in at.button if button.key == "use_eye_k"]


def test_eye_test_measures_what_the_eye_sees_at_the_viewing_distance() -> None:
    at = open_app()
    at.switch_page("app_pages/choose_k.py").run()
    assert at.radio(key="eye_measure").value == "flip"
    at.button(key="run_eye_test").click().run()
    assert_no_problem(at)
    found = cache.smallest_k_seen(at.session_state["picture"], "rgb", 0, "laptop", 0.09)
    assert found.k is not None and 100 <= found.k <= 256
    assert [m.value for m in at.success if m.value.startswith("From k")] == [
        f"From k = {found.k} on, the redraw is hard to tell from the original (within a "
        f"visible difference (mean FLIP) of 0.09 at laptop at 50 cm): {found.k} colours "
        f"instead of {found.n_colours:,}."
    ]
    captions = [image.proto.imgs[0].caption for image in at.get("image")[-2:]]
    assert captions == ["Original", f"Redrawn with k = {found.k}"]
    assert any("as seen at laptop at 50 cm" in c.value for c in at.caption)
    # The mean ΔE, pixel by pixel, is one click away and far stricter on this photo.
    at.radio(key="eye_measure").set_value("delta_e").run()
    assert_no_problem(at)
    no_k = "No k up to 256 brings the redraw within a mean ΔE of 2.3"
    assert any(no_k in message.value for message in at.info)


STEPS_PAGE = "app_pages/step_by_step.py"


def animated_figure(at: AppTest, key: str) -> dict:
    """The plotly figure (as JSON) of the chart with widget key ``key``."""
    charts = [chart for chart in at.get("plotly_chart") if key in chart.proto.id]
    assert len(charts) == 1
    return json.loads(charts[0].proto.spec)


def test_step_by_step_animates_the_default_picture() -> None:
    at = open_app()
    at.switch_page(STEPS_PAGE).run()
    assert_no_problem(at)
    figure = animated_figure(at, "steps_chart")
    steps = len(figure["layout"]["sliders"][0]["steps"]) - 1
    # One frame per half-step, and step 0.
    assert len(figure["frames"]) == 2 * steps + 1
    assert [button["label"] for button in figure["layout"]["updatemenus"][0]["buttons"]] == [
        "▶ Play",
        "❚❚ Pause",
    ]
    words = at.expander[0].markdown[0].value
    assert words.startswith("- Step 0: 8 starting centres, picked by k-means++ (spread out).")
    assert "Compared with the Redraw page" in " ".join(m.value for m in at.markdown)


def test_step_by_step_after_an_upload_converges() -> None:
    at = upload(open_app(), "flag.png", png_bytes([(255, 0, 0), (0, 0, 255), (250, 250, 250)]))
    at.switch_page(STEPS_PAGE).run()
    assert_no_problem(at)
    words = at.expander[0].markdown[0].value
    assert "Step 0: 3 starting centres" in words
    assert words.splitlines()[-1] == "- Nothing changed in step 2: k-means has converged."


def tried_seeds(at: AppTest) -> list[int]:
    """The seeds in the "Every start tried" table (the page's only table)."""
    assert len(at.dataframe) == 1
    return at.dataframe[0].value["Seed"].tolist()


def test_try_another_start_adds_a_result() -> None:
    at = open_app({"k": "4"})
    at.switch_page(STEPS_PAGE).run()
    assert tried_seeds(at) == [0]
    at.button(key="another_start").click().run()
    assert_no_problem(at)
    assert tried_seeds(at) == [0, 1]
    at.radio(key="steps_start").set_value("random").run()
    assert_no_problem(at)
    # Each kind of start keeps its own list.
    assert tried_seeds(at) == [1]
    at.button(key="first_start").click().run()
    assert tried_seeds(at) == [0, 1]


def test_how_it_works_links_to_step_by_step() -> None:
    at = open_app()
    at.switch_page("app_pages/how_it_works.py").run()
    links = [link.proto.page for link in at.get("page_link")]
    assert any("step_by_step" in page or "step-by-step" in page for page in links), links


def test_your_data_animates_k_means_on_two_columns() -> None:
    at = open_app()
    at.switch_page("app_pages/your_data.py").run()
    assert_no_problem(at)
    figure = animated_figure(at, "table_steps_chart")
    assert figure["layout"]["xaxis"]["title"]["text"] == "sepal length (cm)"
    assert figure["layout"]["yaxis"]["title"]["text"] == "sepal width (cm)"
    assert figure["frames"][0]["layout"]["title"]["text"].startswith("<b>Step 0 of")
    at.selectbox(key="steps_y").set_value("petal width (cm)").run()
    assert_no_problem(at)
    figure = animated_figure(at, "table_steps_chart")
    assert figure["layout"]["yaxis"]["title"]["text"] == "petal width (cm)"


def test_a_large_tables_animation_waits_until_asked_for() -> None:
    rows = "\n".join(f"{i % 97},{(i * 7) % 89},{(i * 13) % 83}" for i in range(6_000))
    at = open_app()
    at.switch_page("app_pages/your_data.py").run()
    at.radio(key="table_source").set_value("upload").run()
    at.file_uploader(key="table_upload").set_value(
        ("big.csv", f"a,b,c\n{rows}".encode(), "text/csv")
    )
    at.run()
    assert_no_problem(at)
    switch = next(toggle for toggle in at.toggle if toggle.label == "Show the animation")
    assert switch.value is False
    assert not [chart for chart in at.get("plotly_chart") if "table_steps" in str(chart.proto.id)]
    switch.set_value(True).run()
    assert_no_problem(at)
    assert animated_figure(at, "table_steps_chart")["frames"]


PALETTE_PAGE = "app_pages/palette_segments.py"


def open_palette_page(monkeypatch: pytest.MonkeyPatch, query: dict[str, str] | None = None):
    """Palette & segments in a fresh session, recording its downloads' deferred callables."""
    deferred = record_deferred(monkeypatch)
    at = open_app(query)
    at.switch_page(PALETTE_PAGE).run()
    assert_no_problem(at)
    return at, deferred


def png_colours(data: bytes) -> set[tuple[int, int, int]]:
    """The distinct colours of a PNG."""
    with Image.open(io.BytesIO(data)) as picture:
        return {colour for _, colour in picture.convert("RGB").getcolors(maxcolors=256)}


def test_palette_page_is_linked_from_redraw() -> None:
    at = open_app()
    links = [link.proto.page for link in at.get("page_link")]
    assert any("palette" in page for page in links), links


def test_editing_a_colour_changes_the_downloads_and_the_quality_label(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    at, deferred = open_palette_page(monkeypatch, {"k": "4"})
    picture = at.session_state["picture"]
    fit = cache.quantization(picture, 4, "rgb", 0)
    fitted = {tuple(c) for c in fit.palette.tolist()}
    assert png_colours(downloaded(at, "studio_png", deferred)) == fitted
    assert [metric.label for metric in at.metric] == [
        "PSNR (fitted palette)",
        "Mean ΔE (fitted palette)",
    ]
    fitted_psnr = at.metric[0].value

    at.color_picker[0].pick("#FF00FF").run()
    assert_no_problem(at)
    edited = (fitted - {tuple(fit.palette[0].tolist())}) | {(255, 0, 255)}
    assert png_colours(downloaded(at, "studio_png", deferred)) == edited
    assert [metric.label for metric in at.metric] == [
        "PSNR (edited palette)",
        "Mean ΔE (edited palette)",
    ]
    assert at.metric[0].value != fitted_psnr
    assert "edited" in at.color_picker[0].label
    # Every pixel keeps its group: the edited cluster's pixels, and only they, turn magenta.
    full = np.asarray(Image.open(io.BytesIO(downloaded(at, "studio_png", deferred))).convert("RGB"))
    np.testing.assert_array_equal(np.all(full == (255, 0, 255), axis=2), fit.labels == 0)
    # The palette picture and files and the code use the edited colour.
    palette = ["#ff00ff", *fit.hex_codes()[1:]]
    swatch_png = downloaded(at, "studio_swatches", deferred)
    with Image.open(io.BytesIO(swatch_png)) as swatch:
        assert swatch.convert("RGB").getpixel((5, 5)) == (255, 0, 255)  # the first chip
    csv = downloaded(at, "studio_csv", deferred)
    assert pd.read_csv(io.StringIO(csv))["hex"].tolist() == palette
    assert "#ff00ff" in downloaded(at, "studio_gpl", deferred)
    assert "#ff00ff" in downloaded(at, "studio_json", deferred)
    assert all("#ff00ff" in box.value for box in at.code)
    assert len(at.code) == 4
    # Redraw keeps the fitted colours, and says where the edited palette is.
    at.switch_page("app_pages/redraw.py").run()
    assert any("your edited palette is on" in caption.value for caption in at.caption)


def test_reset_restores_the_fitted_colours(monkeypatch: pytest.MonkeyPatch) -> None:
    at, deferred = open_palette_page(monkeypatch, {"k": "4"})
    fitted = [picker.value for picker in at.color_picker]
    assert at.button(key="reset_palette").disabled
    at.color_picker[1].pick("#00ff00").run()
    at.color_picker[2].pick("#0000ff").run()
    assert [picker.value for picker in at.color_picker] == [
        fitted[0],
        "#00ff00",
        "#0000ff",
        fitted[3],
    ]
    at.button(key="reset_palette").click().run()
    assert_no_problem(at)
    assert [picker.value for picker in at.color_picker] == fitted
    assert at.button(key="reset_palette").disabled
    assert at.metric[0].label == "PSNR (fitted palette)"
    fit = cache.quantization(at.session_state["picture"], 4, "rgb", 0)
    assert png_colours(downloaded(at, "studio_png", deferred)) == {
        tuple(c) for c in fit.palette.tolist()
    }


def test_edits_start_again_when_k_changes_and_the_page_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    at, _ = open_palette_page(monkeypatch, {"k": "4"})
    at.color_picker[0].pick("#123456").run()
    at.slider(key="k").set_value(5).run()
    assert_no_problem(at)
    assert len(at.color_picker) == 5
    assert "#123456" not in [picker.value for picker in at.color_picker]
    assert any("starts again from the fitted colours" in info.value for info in at.info)
    assert at.metric[0].label == "PSNR (fitted palette)"
    at.run()
    assert not any("starts again" in info.value for info in at.info)  # said once


def test_sorting_orders_the_pickers_files_and_code(monkeypatch: pytest.MonkeyPatch) -> None:
    at, deferred = open_palette_page(monkeypatch, {"k": "6"})
    picture = at.session_state["picture"]
    fit = cache.quantization(picture, 6, "rgb", 0)
    by_share = [picker.value for picker in at.color_picker]
    assert by_share == fit.hex_codes()
    at.radio(key="palette_order").set_value("lightness").run()
    assert_no_problem(at)
    by_lightness = [picker.value for picker in at.color_picker]
    assert sorted(by_lightness) == sorted(by_share) and by_lightness != by_share
    lightness = to_features(fit.palette, "lab")[:, 0]
    expected = [fit.hex_codes()[i] for i in np.argsort(lightness)]
    assert by_lightness == expected
    # Each picker still edits its own group, wherever it stands.
    shares = [picker.label for picker in at.color_picker]
    assert shares == [widgets.percent(fit.shares[i]) for i in np.argsort(lightness)]
    python = at.code[0].value
    assert python.index(expected[0]) < python.index(expected[-1])
    csv = downloaded(at, "studio_csv", deferred)
    assert pd.read_csv(io.StringIO(csv))["hex"].tolist() == expected
    at.radio(key="palette_order").set_value("hue").run()
    assert_no_problem(at)
    assert sorted(picker.value for picker in at.color_picker) == sorted(by_share)


def test_a_segment_choice_shows_its_share_and_all_returns(monkeypatch: pytest.MonkeyPatch) -> None:
    at, _ = open_palette_page(monkeypatch, {"k": "5"})
    fit = cache.quantization(at.session_state["picture"], 5, "rgb", 0)
    pills = at.button_group[0]
    assert pills.value == []
    pills.set_value([1, 3]).run()
    assert_no_problem(at)
    total = widgets.percent(fit.shares[1] + fit.shares[3])
    caption_text = next(
        caption.value for caption in at.caption if caption.value.startswith("Shown:")
    )
    assert f"{fit.hex_codes()[1]} {widgets.percent(fit.shares[1])}" in caption_text
    assert f"{fit.hex_codes()[3]} {widgets.percent(fit.shares[3])}" in caption_text
    assert f"Together {total} of the picture" in caption_text
    # Explore in 3D draws the same groups.
    at.switch_page("app_pages/explore_3d.py").run()
    assert_no_problem(at)
    assert at.button_group[0].value == [1, 3]
    at.button_group[0].set_value([3]).run()
    at.switch_page(PALETTE_PAGE).run()
    assert at.button_group[0].value == [3]
    at.button(key="all_segments").click().run()
    assert_no_problem(at)
    assert at.button_group[0].value == []
    assert not any(caption.value.startswith("Shown:") for caption in at.caption)


def test_palette_page_says_when_the_picture_has_fewer_colours_than_k() -> None:
    flag = png_bytes([(255, 0, 0), (0, 0, 255), (250, 250, 250)])
    at = upload(open_app({"k": "8"}), "flag.png", flag)
    at.switch_page(PALETTE_PAGE).run()
    assert_no_problem(at)
    assert len(at.color_picker) == 3
    assert any("only 3 distinct colours" in info.value for info in at.info)
    assert sorted(picker.value for picker in at.color_picker) == ["#0000ff", "#fafafa", "#ff0000"]


class RecordingExecutor(ThreadPoolExecutor):
    """A one-thread executor that notes the name of every function given to it."""

    def __init__(self) -> None:
        super().__init__(max_workers=1)
        self.submitted: list[str] = []

    def submit(self, fn, /, *args, **kwargs):
        self.submitted.append(getattr(fn, "__name__", repr(fn)))
        return super().submit(fn, *args, **kwargs)


def file_size_line(at: AppTest) -> str:
    (line,) = [md.value for md in at.markdown if md.value.startswith("- **File size**")]
    return line


@pytest.mark.parametrize("width", [300, 1500], ids=["its own preview", "larger than its preview"])
def test_redraw_states_both_png_sizes_measured_in_the_background(
    monkeypatch: pytest.MonkeyPatch, width: int
) -> None:
    executor = RecordingExecutor()
    monkeypatch.setattr(cache, "_SIZE_THREAD", executor)
    rng = np.random.default_rng(width)
    blocks = rng.integers(0, 256, (12, width // 10, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(np.repeat(np.repeat(blocks, 10, 0), 10, 1)).save(buffer, format="PNG")
    at = open_app({"k": "5"})
    executor.submitted.clear()  # the sample's own size, when it was not stored yet
    at = upload(at, f"blocks-{width}.png", buffer.getvalue())
    for k in (5, 7):
        if k != 5:
            at.slider(key="k").set_value(k).run()
        assert_no_problem(at)
        picture = at.session_state["picture"]
        image = cache.image(picture)
        assert image.width == width
        fit = cache.quantization(picture, k, "rgb", 0)
        original = png_size(
            image, compress_level=cache.FILE_SIZE_LEVEL, band_rows=cache.SIZE_BAND_ROWS
        )
        indexed = len(indexed_png(image, fit, compress_level=cache.FILE_SIZE_LEVEL))
        assert cache.file_sizes(picture, k, "rgb", 0) == FileSizes(original, indexed)
        line = file_size_line(at)
        assert widgets.file_size(original) in line and widgets.file_size(indexed) in line
    # Drawn again with nothing changed (the dithering toggled on and off): the sizes
    # are found, not measured again.
    at.toggle(key="dither").set_value(True).run()
    at.toggle(key="dither").set_value(False).run()
    assert_no_problem(at)
    # The original's size is measured once, from the decode on; a redraw larger than
    # its preview is measured once for each k, while the page draws.
    assert executor.submitted == ["measure"] * (3 if width > cache.PREVIEW_MAX_SIDE else 1)
    executor.shutdown()


# --- text from outside is shown as text (issue 21) -----------------------------------------


def test_a_link_cannot_put_a_heading_or_a_link_into_a_notice() -> None:
    at = open_app({"space": SPOOFED_LINK, "image": TRACKING_PIXEL})
    assert_no_problem(at)
    assert [warning.value for warning in at.warning] == [
        markdown_text(f"There is no sample picture called “{TRACKING_PIXEL}”.")
        + " The default is used instead.",
        markdown_text(
            f"The colour space “{state.quoted(SPOOFED_LINK)}” is unknown; use rgb or lab."
        )
        + " The default is used instead.",
    ]
    # Quoted on one line and shortened: no heading, link or image survives.
    assert state.quoted(SPOOFED_LINK) == "x ## Session expired [Sign in](https://…"
    for warning in at.warning:
        assert "\n" not in warning.value
        assert not re.search(r"(?<!\\)[#\[\]()!]", warning.value)


def test_a_refused_upload_shows_its_file_name_as_text() -> None:
    name = f"{SIGN_IN}.png"
    at = upload(open_app(), name, b"not a picture")
    assert not at.exception
    assert len(at.error) == 1
    assert at.error[0].value.startswith(markdown_text(f"“{name}” cannot be used: "))
    assert "](" not in at.error[0].value


def test_an_uploaded_file_name_is_shown_as_text() -> None:
    name = "<b>x</b> ![x](https://evil.example/t.png).png"
    at = upload(open_app(), name, png_bytes([(255, 0, 0), (0, 0, 255)]))
    assert_no_problem(at)
    at.switch_page("app_pages/how_it_works.py").run()
    assert_no_problem(at)
    first = next(m.value for m in at.markdown if m.value.startswith("The picture"))
    assert first.startswith(f"The picture “{markdown_text(name)}” is 8 pixels wide")
    assert name not in first


def test_sheet_and_column_names_are_shown_as_text() -> None:
    bold, pixel = "<b>x</b>", TRACKING_PIXEL
    rows = [[bold, "y", "z", pixel], *([i, i * i % 7, i % 3, 1] for i in range(12))]
    book = workbook_bytes({"first": rows, "second": TOWNS})
    # Excel forbids brackets in sheet names; a made-up file need not obey.
    part = "xl/workbook.xml"
    workbook_xml = zipfile.ZipFile(io.BytesIO(book)).read(part).decode()
    hostile = with_parts(book, {part: workbook_xml.replace('name="first"', f'name="{SIGN_IN}"')})
    at = upload_table(hostile, "book.xlsx")
    assert_no_problem(at)
    assert at.selectbox(key="table_sheet").options == [SIGN_IN, "second"]  # plain text there
    reading = markdown_text(f"Read as an Excel workbook (sheet “{SIGN_IN}” of 2), with")
    assert any(caption.value.startswith(reading) for caption in at.caption)
    assert markdown_text(f"Column “{pixel}” has the same value") in at.info[0].value
    assert at.multiselect(key="table_columns").value == [bold, "y", "z"]
    charts = {
        chart.proto.id.rsplit("-", 1)[-1]: json.loads(chart.proto.spec)
        for chart in at.get("plotly_chart")
    }
    cube, plane = charts["table_cube_chart"], charts["table_steps_chart"]
    assert cube["layout"]["scene"]["xaxis"]["title"]["text"] == "&#60;b&#62;x&#60;/b&#62;"
    assert plane["layout"]["xaxis"]["title"]["text"] == "&#60;b&#62;x&#60;/b&#62;"
    assert plane["data"][0]["hovertemplate"].startswith("&#60;b&#62;x&#60;/b&#62; %{x:.3g}")
    every_text = json.dumps(list(charts.values()))
    assert "<b>x" not in every_text and "evil.example" not in every_text


def test_each_viewer_downloads_the_palette_under_their_own_file_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The store keys an upload by its bytes: the second viewer's palette must not
    # come back named after the first viewer's file.
    deferred = record_deferred(monkeypatch)
    data = png_bytes([(255, 0, 0), (0, 0, 255), (250, 250, 250)])
    names = {}
    for name in ("mine.png", "theirs.png"):
        at = upload(open_app({"k": "3"}), name, data)
        assert_no_problem(at)
        gpl = downloaded(at, "download_gpl", deferred)
        names[name] = next(line for line in gpl.splitlines() if line.startswith("Name:"))
    assert names == {
        "mine.png": "Name: mine.png, 3 colours",
        "theirs.png": "Name: theirs.png, 3 colours",
    }


# --- what the eye sees at a viewing distance (issue 23) --------------------------------------


def metric(at: AppTest, label: str):
    return next(m for m in at.metric if m.label == label)


def test_redraw_shows_the_visible_difference_at_the_chosen_viewing_and_its_map_when_asked() -> None:
    at = open_app({"k": "16"})
    assert_no_problem(at)
    assert at.selectbox(key="viewing").value == "laptop"
    # The figure is there from the start; the map only once the switch is on.
    assert not [i for i in at.get("image") if "Where a difference is visible" in str(i.proto)]
    flip = metric(at, "Visible difference (FLIP)")
    expected = cache.flip_figure(at.session_state["picture"], 16, "rgb", 0, "laptop")
    # The default picture is measured whole: the figure is the full map's mean.
    assert expected == pytest.approx(
        cache.flip(at.session_state["picture"], 16, "rgb", 0, "laptop").mean
    )
    assert flip.value == f"{expected:.2f}"
    assert 0.05 < expected < 0.5
    assert "laptop at 50 cm" in flip.help
    assert any("at laptop at 50 cm, how visible" in m.value for m in at.markdown)
    at.selectbox(key="viewing").set_value("poster").run()
    assert_no_problem(at)
    assert at.query_params["viewing"] == "poster"
    farther = cache.flip_figure(at.session_state["picture"], 16, "rgb", 0, "poster")
    assert metric(at, "Visible difference (FLIP)").value == f"{farther:.2f}"
    assert farther < expected
    at.toggle(key="flip_map").set_value(True).run()
    assert_no_problem(at)
    assert [i for i in at.get("image") if "Where a difference is visible at poster" in str(i.proto)]
    assert metric(at, "Visible difference (FLIP)").value == f"{farther:.2f}"


def test_the_viewing_distance_comes_from_the_link_and_stays_in_it() -> None:
    at = open_app({"viewing": "phone", "k": "5"})
    assert_no_problem(at)
    assert at.selectbox(key="viewing").value == "phone"
    at.slider(key="k").set_value(6).run()
    assert at.query_params == {"image": "china", "k": "6", "space": "rgb", "viewing": "phone"}
    at.selectbox(key="viewing").set_value("laptop").run()
    assert "viewing" not in at.query_params  # the default is left out, like the seed


def test_an_unknown_viewing_in_the_link_is_quoted_as_text_and_ignored() -> None:
    at = open_app({"viewing": SPOOFED_LINK})
    assert_no_problem(at)
    assert at.selectbox(key="viewing").value == "laptop"
    assert [warning.value for warning in at.warning] == [
        markdown_text(
            f"The viewing distance “{state.quoted(SPOOFED_LINK)}” is unknown; "
            "use phone, laptop, monitor, poster."
        )
        + " The default is used instead."
    ]


def test_the_heat_map_shows_beside_the_redraw_when_asked() -> None:
    at = open_app()
    shown = len(at.get("image"))
    assert not any("Where a difference is visible" in c.value for c in at.caption)
    at.toggle(key="flip_map").set_value(True).run()
    assert_no_problem(at)
    assert len(at.get("image")) == shown + 2  # the heat map and its colour scale
    assert any("black = no visible difference" in c.value for c in at.caption)


def test_dithering_table_adds_the_visible_difference() -> None:
    at = open_app({"k": "16"})
    at.toggle(key="dither").set_value(True).run()
    assert_no_problem(at)
    table = next(d.value for d in at.dataframe if "Visible difference (FLIP)" in d.value.columns)
    plain, dithered = table["Visible difference (FLIP)"].tolist()
    assert dithered < plain  # the mix looks closer from a laptop's distance
    assert any("FLIP blurs what the eye cannot resolve" in m.value for m in at.markdown)


def _settling_script() -> None:
    import time

    import streamlit as st

    from kmeans_app import state

    start = time.monotonic()
    state.settle()
    st.session_state.waited = time.monotonic() - start
    if st.session_state.finish:
        state.run_finished()


def test_a_run_right_after_one_it_cut_short_waits_a_moment_before_computing():
    from kmeans_app.state import SETTLE_SECONDS

    app = AppTest.from_function(_settling_script)
    app.session_state.finish = False  # as if the next request cut this run short
    app.run()
    assert app.session_state.waited < SETTLE_SECONDS  # a session's first run
    app.session_state.finish = True
    app.run()
    assert app.session_state.waited >= SETTLE_SECONDS
    app.run()  # after a run that finished: no wait
    assert app.session_state.waited < SETTLE_SECONDS


def test_an_upload_met_by_a_busy_server_is_not_remembered_as_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from kmeans_app.store import Busy

    real_image = cache.image

    def busy_for_uploads(source):
        if source.data is not None:
            raise Busy("The server is busy.")
        return real_image(source)

    monkeypatch.setattr(cache, "image", busy_for_uploads)
    at = upload(open_app(), "flag.png", png_bytes([(255, 0, 0), (0, 0, 255)]))
    assert [shown(error.value) for error in at.error] == ["The server is busy."]
    assert "refused_upload" not in at.session_state
    monkeypatch.setattr(cache, "image", real_image)
    at.run()  # the next run tries the file again
    assert_no_problem(at)
    assert at.session_state["picture"].name == "flag.png"
