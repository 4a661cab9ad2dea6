"""The dashboard driven through Streamlit's AppTest: pages, sidebar controls, uploads, URL."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from kmeans_app import cache
from kmeans_app.store import store

APP = Path(__file__).resolve().parents[1] / "streamlit_app.py"
# Generous: the machine that runs these is small and shared.
TIMEOUT = 30
PAGES = [
    "app_pages/redraw.py",
    "app_pages/choose_k.py",
    "app_pages/explore_3d.py",
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
    assert len(at.error) == 1 and "holiday.png" in at.error[0].value
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
