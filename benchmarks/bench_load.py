"""Several viewers at once: real browsers against one server, and the server's peak RSS.

Starts ``streamlit run streamlit_app.py`` (as the browser tests do) for each case and
drives N Chromium sessions at the same time with Playwright's async API (one browser,
one context per session, ``asyncio.gather``). Each session opens the app, optionally
uploads its own picture (no two sessions share content, so none shares a cache entry),
then clicks "16 colours" on Redraw, goes to Choose k and then to Explore in 3D. After
each step it waits until the server has finished the script run the step asked for,
the page shows it and every image has loaded (and, on Choose k and Explore in 3D,
until their Plotly charts are drawn), then notes what the page shows going wrong:
exceptions, error alerts and dialogs such as "Page not found". A step that does not
get there within ``--step-timeout`` seconds is a problem, reported with the websocket
frames sent and received since the step began and what the page shows. A thread
samples the server's RSS, with its children, throughout.

Chromium runs under Linux's idle scheduling policy (``chrt --idle``): each viewer's
browser runs on a machine of its own, not on the server's, so here the server's work
comes first and the pages draw with what CPU is left. (``nice 19`` does not hold:
run as root, Chromium raises its browser and GPU processes back to -8.) The server
itself logs when each session's rerun requests arrive and its runs end
(``server_log/sitecustomize.py``): a step's *server answer* is the time from request
received to run finished, measured there.
*Until shown* adds the drawing of every session's page by one browser on the same
two cores (a bare one-line Streamlit page already takes about 2.5 CPU-seconds of
Chromium to open; a Plotly 3D scatter 6-9 in software WebGL).

Cases (``--case``, comma-separated; all by default), each in a fresh server:
  3x12mp     3 sessions, each uploading its own 12 MP PNG (photo_12mp(seed=i))
  8xdefault  8 sessions on the default picture, no upload
  mixed      one 49 MP JPEG upload and two 12 MP PNG uploads
Targets: no error or exception on any page and a peak RSS under 690 MB in every case;
for 8xdefault also every step under 10 s (both columns are checked). A session that
does not finish within ``--timeout`` seconds fails the case.

Run: ``python benchmarks/bench_load.py [--case 8xdefault] [--timeout 900] [--step-timeout 600]``
(exits 1 when a target is missed).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import stat
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from playwright.async_api import Browser, Page, async_playwright, expect
from playwright.async_api import TimeoutError as PlaywrightTimeout

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

# The waiting logic of the browser tests' (sync) driver, reused here from async code.
from app_driver import (  # noqa: E402
    _AFTER_RENDER_JS,
    _IMAGES_LOADED_JS,
    _PAGE_STATE_JS,
    POLL_SECONDS,
    AppWaitTimeout,
    RunWatcher,
)
from server_probe import (  # noqa: E402
    CLOUD_MEMORY_MB,
    MB,
    PAGE_PROBLEMS_JS,
    Check,
    RssSampler,
    add_list_option,
    print_checks,
)
from streamlit_server import chromium_launch_args, chromium_missing_reason, run_streamlit  # noqa: E402
from workloads import MAX_UPLOAD_BYTES, encode, photo_12mp, photo_49mp  # noqa: E402

MAX_STEP_SECONDS_DEFAULT = 10.0
SERVER_LOG_HOOK = Path(__file__).resolve().parent / "server_log"
# The Plotly charts each page must show once its run has finished.
CHARTS = {"Choose k": ("elbow_chart", "silhouette_chart"), "Explore in 3D": ("cube_chart",)}


class Upload(NamedTuple):
    """A picture written to a file: Playwright hands a local browser the path, while a
    ``buffer`` payload crosses the DevTools connection base64-encoded, which took 45 s
    for three 20 MB PNGs at once (with the server idle) and looked like a slow app."""

    name: str
    path: Path


class Case(NamedTuple):
    """How many sessions, what each uploads (None: the default picture), step limit."""

    description: str
    uploads: list[str | None]  # per session: "12mp", "49mp-jpeg" or None
    max_step_seconds: float | None


CASES = {
    "3x12mp": Case("3 sessions, each its own 12 MP PNG", ["12mp"] * 3, None),
    "8xdefault": Case("8 sessions, default picture", [None] * 8, MAX_STEP_SECONDS_DEFAULT),
    "mixed": Case("one 49 MP JPEG and two 12 MP PNGs", ["49mp-jpeg", "12mp", "12mp"], None),
}


def make_upload(kind: str | None, seed: int, folder: Path) -> Upload | None:
    """Session ``seed``'s picture in ``folder``: its own noise, so no two sessions share
    a cache key."""
    if kind is None:
        return None
    if kind == "12mp":
        name, data = f"photo-12mp-{seed}.png", encode(photo_12mp(seed), "PNG")
    else:
        name, data = f"photo-49mp-{seed}.jpg", encode(photo_49mp(seed), "JPEG")
    if len(data) > MAX_UPLOAD_BYTES:
        raise ValueError(f"{name} is {len(data) / MB:.1f} MB: over the upload limit")
    (folder / name).write_bytes(data)
    return Upload(name, folder / name)


@dataclass
class Session:
    """One viewer: what it uploads, how long each step took and what went wrong."""

    number: int
    upload: Upload | None
    steps: dict[str, float] = field(default_factory=dict)
    windows: dict[str, tuple[float, float]] = field(default_factory=dict)  # time.time()
    answers: dict[str, float] = field(default_factory=dict)  # the server's share of each
    problems: list[str] = field(default_factory=list)
    server_id: str | None = None  # the server's session id

    @property
    def label(self) -> str:
        return f"#{self.number} " + (self.upload.name if self.upload else "default picture")


# --- an async port of tests/e2e/app_driver.py's waits ----------------------------------


@dataclass
class Viewer:
    """A session's page, its websocket traffic and how long each wait may take."""

    page: Page
    watcher: RunWatcher
    timeout_ms: float

    async def wait_for_app_idle(self) -> None:
        app = self.page.get_by_test_id("stApp")
        await expect(app).to_have_attribute(
            "data-test-connection-state", "CONNECTED", timeout=self.timeout_ms
        )
        await expect(app).to_have_attribute(
            "data-test-script-state", "notRunning", timeout=self.timeout_ms
        )

    async def wait_for_run(self, mark: int) -> None:
        """Wait until a rerun requested after ``mark`` has finished and the page shows it."""
        deadline = time.monotonic() + self.timeout_ms / 1000
        while not self.watcher.run_finished_since(mark):
            if time.monotonic() > deadline:
                raise AppWaitTimeout(
                    f"no finished rerun {self.timeout_ms / 1000:g} s after the action\n"
                    + await self.diagnosis(mark)
                )
            await asyncio.sleep(POLL_SECONDS)
        await self.page.evaluate(_AFTER_RENDER_JS)
        await self.wait_for_app_idle()

    async def open_app(self) -> None:
        """Load the app and wait for its first run."""
        mark = self.watcher.mark()
        await self.page.goto("/")
        await self.wait_for_run(mark)

    async def rerun(self, action) -> None:
        """Do ``action`` (a coroutine function) and wait for the rerun it causes to finish."""
        await self.wait_for_app_idle()
        mark = self.watcher.mark()
        await action()
        await self.wait_for_run(mark)

    async def wait_until_shown(self, title: str) -> None:
        """Wait for the run to end, every image to load and the page's Plotly charts to draw."""
        await self.wait_for_app_idle()
        await self.page.wait_for_function(_IMAGES_LOADED_JS, timeout=self.timeout_ms, polling=250)
        for key in CHARTS.get(title, ()):
            chart = self.page.locator(f".st-key-{key} .js-plotly-plot").first
            await chart.wait_for(state="attached", timeout=self.timeout_ms)

    async def diagnosis(self, mark: int) -> str:
        """For a wait that timed out: the frames since ``mark`` and what the page shows."""
        self.watcher.note_timeout()
        return self.watcher.report(mark, await self.page.evaluate(_PAGE_STATE_JS))


# --- one viewer ------------------------------------------------------------------------


async def step(session: Session, viewer: Viewer, name: str, title: str, work) -> None:
    """Time ``work`` plus the wait until ``title`` is shown, then note the page's problems.

    A wait that times out raises :class:`AppWaitTimeout` naming the step, with the frames
    since it began.
    """
    mark = viewer.watcher.mark()
    start, wall_start = time.perf_counter(), time.time()
    try:
        await work()
        await viewer.wait_until_shown(title)
    except AppWaitTimeout as error:
        raise AppWaitTimeout(f"{name}: {error}") from error
    except PlaywrightTimeout as error:
        raise AppWaitTimeout(
            f"{name}: {str(error).splitlines()[0]}\n{await viewer.diagnosis(mark)}"
        ) from error
    session.steps[name] = time.perf_counter() - start
    session.windows[name] = (wall_start, time.time())
    for problem in await viewer.page.evaluate(PAGE_PROBLEMS_JS):
        session.problems.append(f"{name}: {problem}")
    print(f"  {session.label}: {name} {session.steps[name]:.1f} s", flush=True)


async def walk(session: Session, browser: Browser, url: str, step_timeout_ms: float) -> None:
    context = await browser.new_context(base_url=url, viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(step_timeout_ms)
    page = await context.new_page()
    viewer = Viewer(page, RunWatcher(), step_timeout_ms)
    page.on("websocket", viewer.watcher.on_websocket)
    sidebar = page.get_by_test_id("stSidebar")
    nav = page.get_by_test_id("stSidebarNav")
    try:
        await step(session, viewer, "open", "Redraw", viewer.open_app)
        if (upload := session.upload) is not None:

            async def upload_picture() -> None:
                await viewer.rerun(lambda: sidebar.get_by_text("Upload my own").click())
                uploader = sidebar.get_by_test_id("stFileUploader")
                files = uploader.locator("input[type=file]")
                try:
                    await viewer.rerun(lambda: files.set_input_files(files=[upload.path]))
                except AppWaitTimeout as error:
                    # Whether the browser took the file (its chip).
                    chips = await uploader.get_by_test_id("stFileChip").all_inner_texts()
                    raise AppWaitTimeout(f"{error}\nfile chips: {chips or 'none'}") from error

            await step(session, viewer, "upload", "Redraw", upload_picture)
        preset = sidebar.locator(".st-key-preset_16").get_by_role("button")
        await step(session, viewer, "16 colours", "Redraw", lambda: viewer.rerun(preset.click))
        for title in ("Choose k", "Explore in 3D"):
            link = nav.get_by_role("link", name=title)
            await step(session, viewer, title, title, lambda link=link: viewer.rerun(link.click))
    finally:
        session.server_id = viewer.watcher.session_id
        await context.close()


def idle_chromium(folder: Path) -> dict:
    """Playwright's launch arguments for Chromium under the idle scheduling policy,
    through a wrapper script in ``folder`` (every process and thread inherits it)."""
    arguments = chromium_launch_args()
    wrapper = folder / "chromium-idle"
    wrapper.write_text(f'#!/bin/sh\nexec chrt --idle 0 "{arguments["executable_path"]}" "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    return {**arguments, "executable_path": str(wrapper)}


async def run_sessions(
    sessions: list[Session], url: str, timeout: float, step_timeout: float, folder: Path
) -> None:
    """Walk every session at once; a session past ``timeout`` seconds is stopped and noted."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(**idle_chromium(folder))
        try:

            async def bounded(session: Session) -> None:
                try:
                    await asyncio.wait_for(
                        walk(session, browser, url, step_timeout * 1000), timeout
                    )
                except TimeoutError:
                    session.problems.append(f"session did not finish within {timeout:g} s")
                except AppWaitTimeout as error:
                    session.problems.append(str(error))
                except Exception as error:  # a crashed page
                    session.problems.append(f"{type(error).__name__}: {str(error)[:300]}")

            await asyncio.gather(*(bounded(session) for session in sessions))
        finally:
            await browser.close()


def run_case(name: str, timeout: float, step_timeout: float) -> list[Check]:
    case = CASES[name]
    print(f"\n== {name}: {case.description}", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        sessions = [
            Session(number, make_upload(kind, seed=number, folder=Path(folder)))
            for number, kind in enumerate(case.uploads, start=1)
        ]
        for session in sessions:
            if session.upload is not None:
                size = session.upload.path.stat().st_size
                print(f"  {session.label}: {size / MB:.1f} MB", flush=True)
        wall, peak = _walk_all(name, sessions, timeout, step_timeout, Path(folder))
    return _report(name, case, sessions, wall, peak)


def _walk_all(
    name: str, sessions: list[Session], timeout: float, step_timeout: float, folder: Path
) -> tuple[float, float]:
    """Run every session against a fresh server: wall-clock seconds and peak RSS (MB).

    Also fills in each session's server answers from the server's log.
    """
    log = folder / "runs.log"
    python_path = os.pathsep.join(filter(None, [str(SERVER_LOG_HOOK), os.getenv("PYTHONPATH")]))
    with run_streamlit(env={"KMEANS_RUN_LOG": str(log), "PYTHONPATH": python_path}) as server:
        sampler = RssSampler(server.process.pid)
        sampler.start()
        sampler.start_phase(name)
        start = time.perf_counter()
        try:
            asyncio.run(run_sessions(sessions, server.url, timeout, step_timeout, folder))
        finally:
            sampler.stop()
        wall = time.perf_counter() - start
    server_answers(log.read_text(), sessions)
    return wall, sampler.peak_mb


def server_answers(log: str, sessions: list[Session]) -> None:
    """Each session's server answer per step, from the server's log (see the module doc).

    A step's answer adds up, for each request the server received during the step,
    the time until the run that answers it finished; a request that arrives while a
    run is going on is answered by the run after it.
    """
    events = defaultdict(list)
    for line in log.splitlines():
        event, session_id, seconds = line.split()[:3]
        if event in ("request", "finished"):  # not the lock's holds
            events[session_id].append((float(seconds), event))
    for session in sessions:
        for name, (start, end) in session.windows.items():
            total, asked, again = 0.0, None, False
            for seconds, event in events.get(session.server_id, []):
                if not start <= seconds <= end:
                    continue
                if event == "request":
                    again = asked is not None
                    asked = seconds if asked is None else asked
                elif asked is not None:  # a run finished
                    total += seconds - asked
                    asked, again = (seconds if again else None), False
            session.answers[name] = total


def _print_times(sessions: list[Session], names: list[str], times_of) -> None:
    """One row per session, one column per step, from ``times_of(session)``."""
    width = max(len(session.label) for session in sessions)
    print(f"{'session':<{width}}" + "".join(f"{step:>15}" for step in names))
    for session in sessions:
        times = (times_of(session).get(step) for step in names)
        print(
            f"{session.label:<{width}}"
            + "".join(f"{'-' if t is None else f'{t:.1f}':>15}" for t in times)
        )


def _report(
    name: str, case: Case, sessions: list[Session], wall: float, peak: float
) -> list[Check]:
    names = ["open", "upload", "16 colours", "Choose k", "Explore in 3D"]
    names = [step for step in names if any(step in session.steps for session in sessions)]
    print(f"\n{name}: seconds per step, until shown (all sessions at once; {wall:.1f} s in all)")
    _print_times(sessions, names, lambda session: session.steps)
    print(f"\n{name}: of which the server's answer (request received to run finished)")
    _print_times(sessions, names, lambda session: session.answers)
    problems = [f"{s.label}: {problem}" for s in sessions for problem in s.problems]
    for problem in problems:
        print(f"  PROBLEM {problem}")
    print(f"server peak RSS: {peak:.0f} MB")
    checks = [
        Check(f"{name}: problems (errors, exceptions, hangs)", len(problems), 1, ""),
        Check(f"{name}: peak server RSS", peak, CLOUD_MEMORY_MB, "MB"),
    ]
    if case.max_step_seconds is not None:
        slowest = max((t for s in sessions for t in s.steps.values()), default=float("inf"))
        checks.append(Check(f"{name}: slowest step", slowest, case.max_step_seconds))
        # The same steps without the drawing of eight pages by one browser on the
        # server's own CPUs (each viewer has a machine of their own).
        answer = max((t for s in sessions for t in s.answers.values()), default=float("inf"))
        checks.append(Check(f"{name}: slowest server answer", answer, case.max_step_seconds))
    return checks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_list_option(parser, "--case", CASES)
    parser.add_argument(
        "--timeout", type=float, default=900, help="seconds a session may take (default 900)"
    )
    parser.add_argument(
        "--step-timeout",
        type=float,
        default=600,
        help="seconds any one wait may take (default 600)",
    )
    args = parser.parse_args()
    names = args.case
    if (reason := chromium_missing_reason()) is not None:
        print(reason, file=sys.stderr)
        return 2
    print(f"CPUs: {os.cpu_count()}  cases: {', '.join(names)}", flush=True)
    checks = []
    for name in names:
        checks += run_case(name, args.timeout, args.step_timeout)
    return 0 if print_checks(checks) else 1


if __name__ == "__main__":
    sys.exit(main())
