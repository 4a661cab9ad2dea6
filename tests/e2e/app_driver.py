"""Playwright helpers for driving the app: reruns, images, pages, sliders and uploads.

Shared by the browser tests and ``benchmarks/bench_memory.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import NamedTuple

from playwright.sync_api import Locator, Page, expect

RERUN_TIMEOUT_MS = 120_000
# How long an uploaded file may take to show as a chip under the uploader.
CHIP_TIMEOUT_MS = 20_000

# Counts changes of the app's script-run state from now on, so that a rerun which
# starts and ends between two polls is still seen. The whole document is watched,
# and a new app element counts as a change, so a wait does not hang on the element
# it started with: in bench_load, sessions waited ten minutes for reruns while the
# server ran no script at all (cause not found yet; a replaced element is one).
_WATCH_RUNS_JS = """
() => {
    window.__e2eRunStateChanges = 0;
    window.__e2eApp = document.querySelector('[data-testid="stApp"]');
    window.__e2eRunObserver?.disconnect();
    window.__e2eRunObserver = new MutationObserver((records) => {
        window.__e2eRunStateChanges += records.length;
    });
    window.__e2eRunObserver.observe(document.body, {
        subtree: true, attributeFilter: ['data-test-script-state'],
    });
}
"""
_RERUN_FINISHED_JS = """
() => {
    const app = document.querySelector('[data-testid="stApp"]');
    const changed = window.__e2eRunStateChanges > 0 || app !== window.__e2eApp;
    return changed && app?.getAttribute('data-test-script-state') === 'notRunning';
}
"""
_IMAGES_LOADED_JS = """
() => [...document.querySelectorAll('[data-testid="stImage"] img')]
    .every((img) => img.complete && img.naturalWidth > 0)
"""


def wait_for_app_idle(page: Page, timeout: float = RERUN_TIMEOUT_MS) -> None:
    """Wait until the app is connected and its script is not running."""
    app = page.get_by_test_id("stApp")
    expect(app).to_have_attribute("data-test-connection-state", "CONNECTED", timeout=timeout)
    expect(app).to_have_attribute("data-test-script-state", "notRunning", timeout=timeout)


@contextmanager
def rerun(page: Page, timeout: float = RERUN_TIMEOUT_MS) -> Iterator[None]:
    """Wrap an action that makes the app rerun; on exit, wait for that rerun to finish."""
    wait_for_app_idle(page, timeout)
    page.evaluate(_WATCH_RUNS_JS)
    yield
    page.wait_for_function(_RERUN_FINISHED_JS, timeout=timeout, polling=100)


def wait_for_images(page: Page, timeout: float = RERUN_TIMEOUT_MS) -> None:
    """Wait until every image Streamlit shows has loaded (``naturalWidth > 0``).

    Streamlit replaces its media files between reruns, so an image element can be on
    the page before its current file has loaded.
    """
    wait_for_app_idle(page, timeout)
    page.wait_for_function(_IMAGES_LOADED_JS, timeout=timeout, polling=250)


def open_app(page: Page, path: str = "/", timeout: float = RERUN_TIMEOUT_MS) -> None:
    """Load the app at ``path`` (relative to the base URL) and wait for its first run."""
    page.goto(path)
    wait_for_app_idle(page, timeout)


def go_to_page(page: Page, title: str, timeout: float = RERUN_TIMEOUT_MS) -> None:
    """Switch page with the sidebar navigation (keeps the session, unlike ``goto``)."""
    with rerun(page, timeout):
        page.get_by_test_id("stSidebarNav").get_by_role("link", name=title).click()


def slider_value(slider: Locator) -> int:
    """The integer value of a Streamlit slider (its ``<input type="range">``)."""
    return int(slider.get_by_role("slider").input_value())


def step_slider_to(page: Page, slider: Locator, value: int) -> None:
    """Move a Streamlit slider to ``value`` one arrow-key step at a time.

    Each step waits for the rerun it causes, so no keystroke lands on a widget that
    is being replaced.
    """
    thumb = slider.get_by_role("slider")
    while (current := slider_value(slider)) != value:
        with rerun(page):
            thumb.press("ArrowRight" if value > current else "ArrowLeft")


# The K-Means Colour Explorer's own pages and controls.


class AppPage(NamedTuple):
    """One page of the app: its navigation title, URL path and a file-name slug."""

    title: str
    path: str
    slug: str


# In navigation order. Redraw, the default page, is served at "/" and its own
# address leads there.
PAGES = (
    AppPage("Redraw", "/redraw", "redraw"),
    AppPage("Palette & segments", "/palette", "palette"),
    AppPage("Choose k", "/choose-k", "choose-k"),
    AppPage("Explore in 3D", "/explore-3d", "explore-3d"),
    AppPage("Compare methods", "/compare", "compare"),
    AppPage("Step by step", "/step-by-step", "step-by-step"),
    AppPage("Your data", "/your-data", "your-data"),
    AppPage("How it works", "/how-it-works", "how-it-works"),
)


def k_slider(page: Page) -> Locator:
    """The sidebar's "Number of colours (k)" slider."""
    return (
        page.get_by_test_id("stSidebar")
        .get_by_test_id("stSlider")
        .filter(has_text="Number of colours (k)")
    )


def swatch_hex_codes(page: Page) -> list[str]:
    """The hex codes of the palette swatches on the page, in order."""
    return page.locator(".swatch[data-hex]").evaluate_all(
        "(chips) => chips.map((chip) => chip.dataset.hex)"
    )


def upload_picture(
    page: Page, name: str, data: bytes, mime: str, timeout: float = RERUN_TIMEOUT_MS
) -> None:
    """Pick "Upload my own" in the sidebar and upload ``data`` as the file ``name``."""
    sidebar = page.get_by_test_id("stSidebar")
    uploader = sidebar.get_by_test_id("stFileUploader")
    if not uploader.is_visible():
        with rerun(page, timeout):
            sidebar.get_by_text("Upload my own").click()
    file_input = uploader.get_by_test_id("stFileUploaderDropzoneInput")
    files = [{"name": name, "mimeType": mime, "buffer": data}]
    with rerun(page, timeout):
        file_input.set_input_files(files=files)
        # In one CI run the upload's rerun never came (not reproduced in 40 runs
        # since). If the chip does not show, the browser did not take the file:
        # a person would choose it again, and so does the test.
        chip = uploader.get_by_test_id("stFileChipName").filter(has_text=name)
        try:
            expect(chip).to_be_visible(timeout=CHIP_TIMEOUT_MS)
        except AssertionError:
            file_input.set_input_files(files=files)
