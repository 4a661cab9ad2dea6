"""Browser tests of the other pages: Choose k, Explore in 3D, and every page rendering."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from app_driver import PAGES, AppPage, k_slider, open_app, rerun, slider_value, wait_for_images
from PIL import Image
from playwright.sync_api import Locator, Page, expect

from kmeans_lib.methods import libimagequant_available, method_keys

pytestmark = pytest.mark.e2e

# The share of the 3D plot's pixels that must differ from its background. Drawn by WebGL,
# the china sample's plot (points, axes, grid and tick labels) has about 3.4%; a blank
# scene, with only the title and legend, has well under 1%.
MIN_DRAWN_SHARE = 0.02


def drawn_share(png: bytes) -> float:
    """The share of a screenshot's pixels that differ from its most common colour."""
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).reshape(-1, 3).astype(int)
    colours, counts = np.unique(pixels, axis=0, return_counts=True)
    background = colours[np.argmax(counts)]
    return float(np.mean(np.abs(pixels - background).max(axis=1) > 16))


def settled_drawn_share(chart: Locator, attempts: int = 20) -> float:
    """:func:`drawn_share` of the chart, retried (twice a second) until WebGL has drawn."""
    share = 0.0
    for _ in range(attempts):
        share = drawn_share(chart.screenshot())
        if share > MIN_DRAWN_SHARE:
            break
        chart.page.wait_for_timeout(500)
    return share


def test_3d_page_draws_a_webgl_scatter(page: Page) -> None:
    open_app(page, "/explore-3d")
    chart = page.locator(".st-key-cube_chart")
    expect(chart.locator("canvas").first).to_be_visible()
    expect(chart.get_by_text("Showing 20,000 of 273,280 pixels")).to_be_visible()
    expect(page.get_by_text("WebGL is not supported")).to_have_count(0)
    has_webgl = chart.locator("canvas").first.evaluate(
        "(canvas) => !!(canvas.getContext('webgl2') || canvas.getContext('webgl'))"
    )
    assert has_webgl
    assert settled_drawn_share(chart) > MIN_DRAWN_SHARE


def test_choose_k_draws_the_elbow_and_use_k_sets_k(page: Page) -> None:
    # k = 1 can never be the elbow (Kneedle's knee lies inside the range), so "Use k" must change k.
    open_app(page, "/choose-k?k=1")
    elbow = page.locator(".st-key-elbow_chart")
    expect(elbow.locator(".scatterlayer .trace").first).to_be_attached()
    # The elbow's button (the eye test may show a "Use k" button of its own).
    use_k = page.locator(".st-key-use_knee").get_by_role(
        "button", name=re.compile(r"^Use k = \d+$")
    )
    expect(use_k).to_be_visible()
    knee = int(use_k.inner_text().rsplit("=", 1)[1])
    expect(elbow.get_by_text(f"Elbow at k = {knee}")).to_be_attached()
    with rerun(page):
        use_k.click()
    expect(page).to_have_url(re.compile(rf"[?&]k={knee}(&|$)"))
    assert slider_value(k_slider(page)) == knee


def test_compare_page_shows_every_methods_redraw(page: Page) -> None:
    open_app(page, "/compare?k=6")
    wait_for_images(page)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    cards = page.locator("[class*='st-key-method_']")
    expect(cards).to_have_count(len(method_keys()))
    for key in method_keys():
        card = page.locator(f".st-key-method_{key}")
        if key == "libimagequant" and not libimagequant_available():
            expect(card.get_by_text("without libimagequant")).to_be_visible()
            continue
        image = card.get_by_test_id("stImage").locator("img")
        expect(image).to_be_visible()
        assert image.evaluate("(img) => img.naturalWidth") > 100
        expect(card.get_by_text(re.compile(r"^PSNR \d+\.\d\d dB"))).to_be_visible()
    table = page.get_by_test_id("stDataFrame")
    expect(table).to_be_visible()
    expect(page.locator(".st-key-methods_chart .scatterlayer .trace")).to_have_count(1)


def test_pixel_table_download_is_a_csv(page: Page) -> None:
    open_app(page, "/explore-3d")
    with page.expect_download() as info:
        page.locator(".st-key-download_pixels").get_by_role("button").click()
    table = pd.read_csv(info.value.path())
    assert {"R", "G", "B"} <= set(table.columns)
    assert len(table) > 1_000


@pytest.mark.parametrize("app_page", PAGES, ids=[app_page.slug for app_page in PAGES])
def test_every_page_renders_without_error(
    page: Page, app_page: AppPage, screenshot_dir: Path
) -> None:
    open_app(page, app_page.path)
    if app_page.path == "/redraw":
        # The address switches to "/" and runs again: wait for that run's redraw.
        expect(page).to_have_url(re.compile(r"/\?"))
        expect(page.get_by_text("Redrawn with 8 colours")).to_be_visible()
    wait_for_images(page)
    nav_link = page.get_by_test_id("stSidebarNav").get_by_role("link", name=app_page.title)
    expect(nav_link).to_have_attribute("aria-current", "page")
    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(page.get_by_test_id("stAlertContentError")).to_have_count(0)
    expect(page.get_by_role("dialog")).to_have_count(0)  # such as "Page not found"
    expect(page.get_by_role("button", name="Deploy")).to_have_count(0)
    # Widgets whose code the browser is still loading show as grey skeletons.
    expect(page.get_by_test_id("stSkeleton")).to_have_count(0)
    page.screenshot(path=screenshot_dir / f"{app_page.slug}.png")
