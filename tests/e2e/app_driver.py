"""Playwright helpers for driving the app: reruns, images, pages, sliders and uploads.

Shared by the browser tests and ``benchmarks/bench_memory.py``; ``benchmarks/bench_load.py``
waits the same way from async code with :class:`RunWatcher`.

A rerun counts as finished once the server has answered the page's request with a
finished script run. The app's ``data-test-script-state`` attribute alone cannot tell:
when a fast rerun's messages reach a busy page together, React renders "running" and
"notRunning" in one go and the attribute never changes (in ``bench_load --case
8xdefault`` a session in eight waited for ever on such a rerun).
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NamedTuple

from playwright.sync_api import Locator, Page, WebSocket, expect
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

RERUN_TIMEOUT_MS = 120_000
# How long an uploaded file may take to show as a chip under the uploader.
CHIP_TIMEOUT_MS = 20_000
# How often a wait looks at the frames seen so far.
POLL_SECONDS = 0.05

# Streamlit's script-finished statuses that end what a request asked for; a run that
# stops early for another rerun (FINISHED_EARLY_FOR_RERUN) is followed by that rerun.
_FINAL_STATUSES = {
    ForwardMsg.FINISHED_SUCCESSFULLY,
    ForwardMsg.FINISHED_WITH_COMPILE_ERROR,
    ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY,
}

# Resolves once the page has rendered what it had received when called: React queues
# its render as a posted message when the frames are handled, so a message posted
# after a timer task runs after that render.
_AFTER_RENDER_JS = """
() => new Promise((resolve) => setTimeout(() => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => resolve();
    channel.port2.postMessage(null);
}))
"""
# What the page shows, for a wait that timed out.
_PAGE_STATE_JS = """
() => {
    const app = document.querySelector('[data-testid="stApp"]');
    const k = document.querySelector('[data-testid="stSidebar"] input[type="range"]');
    return {
        'script state': app?.getAttribute('data-test-script-state') ?? 'no app',
        connection: app?.getAttribute('data-test-connection-state') ?? 'no app',
        url: location.href,
        heading: document.querySelector('[data-testid="stMain"] h2')?.innerText ?? 'none',
        k: k?.value ?? 'no slider',
    };
}
"""
_IMAGES_LOADED_JS = """
() => [...document.querySelectorAll('[data-testid="stImage"] img')]
    .every((img) => img.complete && img.naturalWidth > 0)
"""


class Frame(NamedTuple):
    """One websocket event: a message sent or received, or the socket opening or closing."""

    seconds: float  # time.monotonic()
    direction: str  # "sent", "received" or "socket"
    kind: str  # the message's type, or "opened" / "closed"
    detail: str = ""


class AppWaitTimeout(Exception):
    """A wait on the app timed out; the message says what went over the wire and what
    the page shows."""


class RunWatcher:
    """The app's websocket traffic, as Playwright sees it, for waits and diagnoses.

    Attach it (``page.on("websocket", watcher.on_websocket)``) before the page opens
    the app; it works with the sync and async APIs alike.
    """

    def __init__(self) -> None:
        self.frames: list[Frame] = []
        self.session_id: str | None = None  # the server's name for the session, once known
        self._requested = -1  # index of the last rerun request sent
        self._finished = -1  # index of the last run that finished what was asked

    def on_websocket(self, socket: WebSocket) -> None:
        self._note("socket", "opened", socket.url)
        socket.on("framesent", self._on_sent)
        socket.on("framereceived", self._on_received)
        socket.on("close", lambda _: self._note("socket", "closed"))

    def mark(self) -> int:
        """A point to wait from: call it before the action."""
        return len(self.frames)

    def run_finished_since(self, mark: int) -> bool:
        """Whether a rerun was requested after ``mark`` and the server has since
        finished a run that answers the last request."""
        return mark <= self._requested < self._finished

    def note_timeout(self) -> None:
        """Mark where a wait gave up, before the page is read for :meth:`report`:
        frames that come after it tell a slow run from one that never ends."""
        self._note("--", "the wait gave up here")

    def report(self, mark: int, page_state: dict[str, str]) -> str:
        """The frames since ``mark`` (repeats counted, heartbeats left out) and
        ``page_state`` (from ``_PAGE_STATE_JS``), one line each."""
        frames = self.frames[mark:]
        start = frames[0].seconds
        runs: list[tuple[Frame, int]] = []  # each frame with how often it came in a row
        for frame in frames:
            if runs and runs[-1][0][1:] == frame[1:]:
                runs[-1] = (runs[-1][0], runs[-1][1] + 1)
            else:
                runs.append((frame, 1))
        lines = ["frames since the action:"]
        for frame, count in runs:
            detail = f" ({frame.detail})" if frame.detail else ""
            times = f" ×{count}" if count > 1 else ""
            lines.append(
                f"  +{frame.seconds - start:.2f} s {frame.direction} {frame.kind}{detail}{times}"
            )
        shown = ", ".join(f"{name} {value!r}" for name, value in page_state.items())
        return "\n".join([*lines, f"page shows: {shown}"])

    def _note(self, direction: str, kind: str, detail: str = "") -> int:
        self.frames.append(Frame(time.monotonic(), direction, kind, detail))
        return len(self.frames) - 1

    def _on_sent(self, payload: bytes) -> None:
        message = BackMsg.FromString(payload)
        kind = message.WhichOneof("type")
        if kind == "app_heartbeat":
            return
        if kind != "rerun_script":
            self._note("sent", kind)
            return
        state = message.rerun_script
        # Widget ids end with their key; a button's click is a trigger value.
        triggers = [
            widget.id.rsplit("-", 1)[-1]
            for widget in state.widget_states.widgets
            if widget.WhichOneof("value") == "trigger_value"
        ]
        detail = f"page {state.page_name or state.page_script_hash[:8] or 'default'}"
        detail += f", clicked {', '.join(triggers)}" if triggers else ""
        detail += ", fragment" if state.fragment_id else ""
        self._requested = self._note("sent", kind, detail)

    def _on_received(self, payload: bytes) -> None:
        message = ForwardMsg.FromString(payload)
        kind = message.WhichOneof("type")
        detail = ""
        if kind == "heartbeat_ack":
            return
        if kind == "new_session":
            self.session_id = message.new_session.initialize.session_id
        elif kind == "script_finished":
            detail = ForwardMsg.ScriptFinishedStatus.Name(message.script_finished)
        elif kind == "session_status_changed":
            running = message.session_status_changed.script_is_running
            detail = "running" if running else "not running"
        elif kind == "page_info_changed":
            detail = message.page_info_changed.query_string
        elif kind == "session_event":
            detail = message.session_event.WhichOneof("type")
        index = self._note("received", kind, detail)
        if kind == "script_finished" and message.script_finished in _FINAL_STATUSES:
            self._finished = index


# Each page's watcher, attached by open_app before the page connects.
_watchers: weakref.WeakKeyDictionary[Page, RunWatcher] = weakref.WeakKeyDictionary()


def wait_for_app_idle(page: Page, timeout: float = RERUN_TIMEOUT_MS) -> None:
    """Wait until the app is connected and its script is not running."""
    app = page.get_by_test_id("stApp")
    expect(app).to_have_attribute("data-test-connection-state", "CONNECTED", timeout=timeout)
    expect(app).to_have_attribute("data-test-script-state", "notRunning", timeout=timeout)


def wait_for_run(page: Page, mark: int, timeout: float = RERUN_TIMEOUT_MS) -> None:
    """Wait until a rerun requested after ``mark`` has finished and the page shows it."""
    watcher = _watchers[page]
    deadline = time.monotonic() + timeout / 1000
    while not watcher.run_finished_since(mark):
        if time.monotonic() > deadline:
            watcher.note_timeout()
            raise AppWaitTimeout(
                f"no finished rerun {timeout / 1000:g} s after the action\n"
                + watcher.report(mark, page.evaluate(_PAGE_STATE_JS))
            )
        page.wait_for_timeout(POLL_SECONDS * 1000)  # lets Playwright deliver the frames
    page.evaluate(_AFTER_RENDER_JS)
    wait_for_app_idle(page, timeout)


@contextmanager
def rerun(page: Page, timeout: float = RERUN_TIMEOUT_MS) -> Iterator[None]:
    """Wrap an action that makes the app rerun; on exit, wait for that rerun to finish.

    The page must have been opened with :func:`open_app`, which watches its websocket.
    """
    wait_for_app_idle(page, timeout)
    mark = _watchers[page].mark()
    yield
    wait_for_run(page, mark, timeout)


def wait_for_images(page: Page, timeout: float = RERUN_TIMEOUT_MS) -> None:
    """Wait until every image Streamlit shows has loaded (``naturalWidth > 0``).

    Streamlit replaces its media files between reruns, so an image element can be on
    the page before its current file has loaded.
    """
    wait_for_app_idle(page, timeout)
    page.wait_for_function(_IMAGES_LOADED_JS, timeout=timeout, polling=250)


def open_app(page: Page, path: str = "/", timeout: float = RERUN_TIMEOUT_MS) -> None:
    """Load the app at ``path`` (relative to the base URL) and wait for its first run."""
    if page not in _watchers:
        _watchers[page] = watcher = RunWatcher()
        page.on("websocket", watcher.on_websocket)
    mark = _watchers[page].mark()
    page.goto(path)
    wait_for_run(page, mark, timeout)


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


def swatches(page: Page) -> Locator:
    """The palette swatches on the page.

    Check them with a waiting assertion (``expect(...).to_have_count(n)``): they are
    drawn by ``st.html``, whose component the browser loads and fills in after the
    run's other elements, so right after a finished run the page can still show none
    (a fresh page) or the previous run's (seen in CI: an empty palette right after
    "Redrawn with 8 colours" showed).
    """
    return page.locator(".swatch[data-hex]")


def swatch_hex_codes(page: Page, count: int) -> list[str]:
    """The hex codes of the palette swatches, in order, once there are ``count`` (see
    :func:`swatches`)."""
    shown = swatches(page)
    expect(shown).to_have_count(count)
    return shown.evaluate_all("(chips) => chips.map((chip) => chip.dataset.hex)")


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
