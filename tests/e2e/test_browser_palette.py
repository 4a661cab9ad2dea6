"""Browser tests of Palette & segments: the colour pickers, the clickable picture, the code."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from app_driver import open_app, rerun, wait_for_images
from playwright.sync_api import Locator, Page, expect

from kmeans_lib.colour_space import hex_codes
from kmeans_lib.images import load_sample
from kmeans_lib.segments import full_resolution_point

pytestmark = pytest.mark.e2e

MAGENTA = "#ff00ff"
# Counts an image's pixels of one exact colour (drawn on a canvas: the image is same-origin).
_COUNT_COLOUR_JS = """
([img, rgb]) => {
    const canvas = document.createElement('canvas');
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    const context = canvas.getContext('2d');
    context.drawImage(img, 0, 0);
    const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
    let count = 0;
    for (let i = 0; i < data.length; i += 4) {
        if (data[i] === rgb[0] && data[i + 1] === rgb[1] && data[i + 2] === rgb[2]) count++;
    }
    return count;
}
"""


def redraw_image(page: Page) -> Locator:
    """The studio's redraw (the second image of the main area, beside the original)."""
    return page.get_by_test_id("stMain").get_by_test_id("stImage").nth(1).locator("img")


def pixels_of_colour(image: Locator, code: str) -> int:
    rgb = [int(code[i : i + 2], 16) for i in (1, 3, 5)]
    handle = image.element_handle()
    return image.page.evaluate(_COUNT_COLOUR_JS, [handle, rgb])


def test_picking_a_colour_changes_the_redraw(page: Page) -> None:
    open_app(page, "/palette?k=5")
    wait_for_images(page)
    redraw = redraw_image(page)
    assert pixels_of_colour(redraw, MAGENTA) == 0
    picker = page.get_by_test_id("stColorPicker").first
    # Dispatched to the swatch itself: a click at its position once landed on
    # another picker's, as the page settled around it.
    picker.get_by_role("button").last.dispatch_event("click")
    popover = page.get_by_test_id("stColorPickerPopover")
    expect(popover).to_be_visible()
    field = popover.locator("input")
    with rerun(page):
        field.fill(MAGENTA)
        field.press("Enter")
        page.keyboard.press("Escape")  # closing the popover sends the colour
    expect(page.get_by_text("Redrawn with your edited palette")).to_be_visible()
    expect(picker.get_by_text("edited")).to_be_visible()
    wait_for_images(page)
    # The most used colour (the sky) is now magenta: about a quarter of the picture.
    magenta = pixels_of_colour(redraw_image(page), MAGENTA)
    width, height = redraw_image(page).evaluate("(img) => [img.naturalWidth, img.naturalHeight]")
    assert 0.1 < magenta / (width * height) < 0.5
    expect(page.get_by_text("PSNR (edited palette)")).to_be_visible()


def test_clicking_the_picture_shows_the_pixel_and_selects_its_group(
    page: Page, screenshot_dir: Path
) -> None:
    open_app(page, "/palette?k=6")
    wait_for_images(page)
    frame = page.locator("iframe[title*='streamlit_image_coordinates']")
    image = frame.content_frame.locator("#image")
    expect(image).to_be_visible()
    shown = image.evaluate("(img) => [img.width, img.height, img.naturalWidth]")
    china = load_sample("china")
    assert shown[2] == china.width
    x, y = round(shown[0] * 0.3), round(shown[1] * 0.2)
    with rerun(page):
        image.click(position={"x": x, "y": y})
    panel = page.locator(".st-key-pixel_panel")
    column, row = full_resolution_point(x, y, shown[:2], (china.width, china.height))
    expect(panel.get_by_text(f"Pixel {column + 1} across, {row + 1} down")).to_be_visible()
    own = hex_codes(china.pixels[row, column][np.newaxis])[0]
    expect(panel.get_by_text(f"Its own colour is {own}")).to_be_visible()
    expect(panel.get_by_text("CIEDE2000")).to_be_visible()
    # Its group is chosen: the picture shows that region and says how much of it there is.
    expect(page.get_by_text("Shown: ")).to_be_visible()
    expect(page.get_by_text("of the picture; the rest is faded")).to_be_visible()
    panel.scroll_into_view_if_needed()
    page.screenshot(path=screenshot_dir / "palette-segments.png")


def test_every_code_snippet_has_a_copy_button(page: Page) -> None:
    open_app(page, "/palette?k=4")
    tabs = page.get_by_role("tab")
    names = ["matplotlib", "Plotly", "seaborn", "CSS"]
    expect(tabs).to_have_count(len(names))
    for name in names:
        page.get_by_role("tab", name=name).click()
        code = page.get_by_role("tabpanel").filter(has=page.get_by_test_id("stCode"))
        block = code.get_by_test_id("stCode")
        expect(block).to_be_visible()
        block.hover()
        expect(code.get_by_role("button", name="Copy to clipboard")).to_be_visible()
    # The CSS runs in the browser: its custom properties hold the palette.
    css = page.get_by_test_id("stCode").last.inner_text()
    page.add_style_tag(content=css)
    first = page.evaluate(
        "() => getComputedStyle(document.documentElement).getPropertyValue('--palette-1')"
    )
    assert first.strip() == css.split("--palette-1:")[1].split(";")[0].strip()
