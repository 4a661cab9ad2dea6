"""Browser tests of the Redraw page and the shared sidebar: picture, k, uploads, downloads."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
from app_driver import (
    k_slider,
    open_app,
    rerun,
    slider_value,
    step_slider_to,
    swatch_hex_codes,
    swatches,
    upload_picture,
    wait_for_images,
)
from PIL import Image
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

CHINA_CAPTION = "Original: 640 × 427 pixels"
QUADRANT_COLOURS = ["#d62728", "#2ca02c", "#1f77b4", "#ffdd00"]


def loaded_images(page: Page) -> list[list[int]]:
    """(naturalWidth, naturalHeight) of every image in the main area, once all have loaded."""
    wait_for_images(page)
    return (
        page.get_by_test_id("stMain")
        .get_by_test_id("stImage")
        .locator("img")
        .evaluate_all("(imgs) => imgs.map((img) => [img.naturalWidth, img.naturalHeight])")
    )


def quadrant_png() -> bytes:
    """A 160 × 120 PNG of four flat quadrants, one colour each."""
    rgb = [tuple(int(code[i : i + 2], 16) for i in (1, 3, 5)) for code in QUADRANT_COLOURS]
    pixels = np.empty((120, 160, 3), dtype=np.uint8)
    pixels[:60, :80], pixels[:60, 80:], pixels[60:, :80], pixels[60:, 80:] = rgb
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def test_default_page_shows_the_sample_and_its_redraw(page: Page) -> None:
    open_app(page)
    main = page.get_by_test_id("stMain")
    expect(main.get_by_text(CHINA_CAPTION)).to_be_visible()
    expect(main.get_by_text("Redrawn with 8 colours")).to_be_visible()
    images = loaded_images(page)
    assert len(images) == 2
    assert all(width > 0 and height > 0 for width, height in images)
    expect(swatches(page)).to_have_count(8)


def test_preset_3_shows_three_swatches(page: Page) -> None:
    open_app(page)
    with rerun(page):
        page.get_by_test_id("stSidebar").get_by_role("button", name="3 colours").click()
    expect(page.get_by_text("Redrawn with 3 colours")).to_be_visible()
    expect(swatches(page)).to_have_count(3)
    assert slider_value(k_slider(page)) == 3
    assert "k=3" in page.url


def test_k_slider_steps_change_the_palette(page: Page) -> None:
    open_app(page)
    step_slider_to(page, k_slider(page), 10)
    expect(page.get_by_text("Redrawn with 10 colours")).to_be_visible()
    expect(swatches(page)).to_have_count(10)


def test_url_with_k_5_opens_with_k_5(page: Page) -> None:
    open_app(page, "/?k=5")
    expect(page.get_by_text("Redrawn with 5 colours")).to_be_visible()
    assert slider_value(k_slider(page)) == 5
    expect(swatches(page)).to_have_count(5)


def test_uploading_a_png_redraws_it(page: Page) -> None:
    open_app(page)
    upload_picture(page, "quadrants.png", quadrant_png(), "image/png")
    main = page.get_by_test_id("stMain")
    expect(main.get_by_text("Original: 160 × 120 pixels, 4 different colours")).to_be_visible()
    expect(main.get_by_text("Redrawn with 4 colours")).to_be_visible()
    assert sorted(swatch_hex_codes(page, 4)) == sorted(QUADRANT_COLOURS)
    assert loaded_images(page)[0] == [160, 120]


def test_uploading_a_non_image_shows_the_error_and_the_app_keeps_working(page: Page) -> None:
    open_app(page)
    upload_picture(page, "notes.png", b"these are notes, not a picture\n" * 20, "image/png")
    expect(page.get_by_text("“notes.png” cannot be used")).to_be_visible()
    expect(page.get_by_text("The previous picture is still shown.")).to_be_visible()
    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(page.get_by_test_id("stMain").get_by_text(CHINA_CAPTION)).to_be_visible()
    with rerun(page):
        page.get_by_test_id("stSidebar").get_by_role("button", name="3 colours").click()
    expect(page.get_by_text("Redrawn with 3 colours")).to_be_visible()
    expect(swatches(page)).to_have_count(3)


def download(page: Page, key: str) -> bytes:
    """Click the download button with widget key ``key`` and return the file's bytes."""
    with page.expect_download() as info:
        page.locator(f".st-key-{key}").get_by_role("button").click()
    with open(info.value.path(), "rb") as file:
        return file.read()


def test_each_download_is_a_valid_file(page: Page) -> None:
    open_app(page)
    expect(page.get_by_text("Redrawn with 8 colours")).to_be_visible()
    palette = swatch_hex_codes(page, 8)

    png = Image.open(io.BytesIO(download(page, "download_png")))
    assert png.format == "PNG"
    assert png.size == (640, 427)
    assert len(png.convert("RGB").getcolors(maxcolors=256) or []) == 8

    csv = pd.read_csv(io.BytesIO(download(page, "download_csv")))
    assert list(csv["hex"]) == palette

    document = json.loads(download(page, "download_json"))
    assert [colour["hex"] for colour in document["colours"]] == palette

    gpl = download(page, "download_gpl").decode()
    assert gpl.startswith("GIMP Palette\n")
    assert [line.split("\t")[1].split()[0] for line in gpl.splitlines()[4:]] == palette


def test_the_heat_map_of_visible_differences_shows_beside_the_redraw(page: Page) -> None:
    open_app(page)
    main = page.get_by_test_id("stMain")
    expect(main.get_by_text("Redrawn with 8 colours")).to_be_visible()
    assert len(loaded_images(page)) == 2
    with rerun(page):
        main.get_by_text("Where would I see a difference?").click()
    expect(main.get_by_text("Where a difference is visible at laptop at 50 cm")).to_be_visible()
    images = loaded_images(page)
    assert len(images) == 4  # original, redraw, heat map and its colour scale
    heat_map = images[2]
    assert heat_map == [640, 427]  # the China sample fits a laptop's width: shown 1:1
    flip_label = main.get_by_test_id("stMetricLabel").filter(has_text="Visible difference")
    expect(flip_label).to_be_visible()
