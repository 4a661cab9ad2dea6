"""Browser test of Step by step: the animation plays in the browser, without the server."""

from __future__ import annotations

import io

import numpy as np
import pytest
from app_driver import open_app
from PIL import Image
from playwright.sync_api import Locator, Page, expect

pytestmark = pytest.mark.e2e

# Plotly's graph element, which holds the figure's current state.
_ACTIVE_STEP_JS = "(graph) => graph._fullLayout.sliders[0].active"
_LAST_STEP_JS = "(graph) => graph._fullLayout.sliders[0].steps.length - 1"


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)


def picture_source(chart: Locator) -> str:
    """The data URI of the picture the chart shows now (plotly's SVG <image>)."""
    return chart.locator("g.imagelayer image").first.get_attribute("href")


def test_play_advances_the_steps_and_redraws_the_cube_and_picture(page: Page) -> None:
    open_app(page, "/step-by-step?k=4")
    chart = page.locator(".st-key-steps_chart")
    graph = chart.locator(".js-plotly-plot")
    cube = chart.locator("canvas").first
    expect(cube).to_be_visible()
    expect(chart.get_by_text("Step 0 of")).to_be_visible()
    assert graph.evaluate(_ACTIVE_STEP_JS) == 0
    page.wait_for_timeout(1_000)  # WebGL's first drawing
    start_cube, start_picture = cube.screenshot(), picture_source(chart)

    chart.locator(".updatemenu-button").filter(has_text="Play").click()
    # About two frames a second, two frames per step: step 2 within a few seconds.
    page.wait_for_function(
        f"() => ({_ACTIVE_STEP_JS})(document.querySelector('.st-key-steps_chart .js-plotly-plot'))"
        " >= 2",
        timeout=30_000,
    )
    chart.locator(".updatemenu-button").filter(has_text="Pause").click()
    paused = graph.evaluate(_ACTIVE_STEP_JS)
    assert paused >= 2
    page.wait_for_timeout(1_000)
    assert graph.evaluate(_ACTIVE_STEP_JS) == paused, "Pause stops the animation"
    later_cube = cube.screenshot()
    changed = np.abs(pixels(start_cube) - pixels(later_cube)).max(axis=2) > 16
    assert changed.mean() > 0.001, "the points took their centres' colours and the centres moved"

    # The slider's last stop: the picture redrawn with the last step's centres.
    last = graph.evaluate(_LAST_STEP_JS)
    rail = chart.locator(".slider-rail-touch-rect").bounding_box()
    page.mouse.click(rail["x"] + rail["width"] - 2, rail["y"] + rail["height"] / 2)
    expect(chart.get_by_text(f"Step {last} of {last}")).to_be_visible()
    assert graph.evaluate(_ACTIVE_STEP_JS) == last
    assert picture_source(chart) != start_picture
