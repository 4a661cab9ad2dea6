"""Hostile tables: each file refused or read within its time and memory, one fresh process each.

Part ``files``: every entry of ``tests/table_files.HOSTILE_TABLES`` and the legitimate
sizes the Your data page has always read (a 200,000 x 6 CSV, a 120,000 x 10 CSV and a
50,000 x 10 workbook). Each file is written to a temporary file, then read in a fresh
Python process the way Your data reads an upload: ``sheet_names`` (cache.table_sheets),
``read_table`` of the first sheet (cache.table), then ``numeric_columns`` and
``constant_columns`` (cache.table_columns). The process measures the time of those calls
and its memory growth: the peak RSS, sampled every 5 ms by a thread, less the RSS once
the file's bytes are in memory and the libraries imported.

Targets: a hostile file refused or read within 2 s and +50 MB; the 200,000 x 6 CSV
within 5 s and the 120,000 x 10 CSV within 3 s; the 50,000 x 10 workbook read (no
time target: its time is printed).

Part ``fairness``: a real server (``streamlit run``, as ``bench_load.py`` starts it) and
two Chromium sessions at once. Session A, hostile, uploads each of the hostile tables on
Your data, then goes to Redraw and changes the seed 20 times (the Advanced expander's
step-up button), waiting for each answer, so that every one of its computations runs;
last, five quick changes without waiting (how many of them are computed is printed).
Session B, on the default picture, meanwhile changes k (one step of the slider at a time,
each a new computation) until A is done. B's *server answer* to each change is timed in
the server, from the rerun request received to the run finished (``server_log``, as in
``bench_load.py``). With ``--hostile-picture 12mp`` A reseeds a 12-megapixel photo it
uploads instead of the default picture. Target: B's slowest answer under 2 s. The
longest holds of the locks (the function and session each served) are listed: they are
what B waits for.

Run: ``python benchmarks/bench_hostile.py [--part files|fairness|all]
[--hostile-picture default|12mp]`` (exits 1 when a target is missed). Each part is a
function of ``PARTS`` that prints its table and returns whether every target was met;
``all`` runs every part.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
# The tables, the browser tests' server and driver, and bench_load's sessions.
sys.path[:0] = [str(ROOT), *(str(ROOT / folder) for folder in ("tests", "tests/e2e", "benchmarks"))]

from table_files import HOSTILE_TABLES, number_rows, with_sheet  # noqa: E402

HOSTILE_SECONDS, HOSTILE_MB = 2.0, 50.0
# Fairness: B's server answer to a change of k while A works, and A's workload.
FAIR_ANSWER_SECONDS = 2.0
SEED_CHANGES = 20
# Then A changes the seed this many times, one click right after the other, without
# waiting for answers: a run already computing finishes its result, but those the
# next click supersedes while they wait are skipped.
QUICK_CHANGES = 5
# Any one wait of a session (a page run, a chart) may take this long before it fails.
WAIT_SECONDS = 300.0


def numbers_csv(rows: int, columns: int) -> bytes:
    """A CSV of uniform random numbers with six decimals, as a spreadsheet exports them."""
    values = np.random.default_rng(0).random((rows, columns)).round(6)
    return (
        pd.DataFrame(values, columns=[f"x{j}" for j in range(columns)]).to_csv(index=False).encode()
    )


def numbers_workbook(rows: int, columns: int) -> bytes:
    """A one-sheet workbook of uniform random numbers under a header row."""
    values = np.random.default_rng(0).random((rows, columns)).round(6).tolist()
    return with_sheet(number_rows([f"x{j}" for j in range(columns)], values))


# name -> (file name, generator, seconds allowed or None for no time target)
LEGITIMATE = {
    "200,000 x 6 CSV": ("rows6.csv", lambda: numbers_csv(200_000, 6), 5.0),
    "120,000 x 10 CSV": ("rows10.csv", lambda: numbers_csv(120_000, 10), 3.0),
    "50,000 x 10 workbook": ("rows10.xlsx", lambda: numbers_workbook(50_000, 10), None),
}


def read_once(path: str) -> dict:
    """In this (fresh) process: read the file as Your data does; time, memory, verdict."""
    import psutil

    from kmeans_lib import tabular
    from kmeans_lib.errors import InputError

    data = Path(path).read_bytes()
    process = psutil.Process()
    base = peak = process.memory_info().rss
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.wait(0.005):
            peak = max(peak, process.memory_info().rss)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.perf_counter()
    try:
        sheets = tabular.sheet_names(data)
        frame = tabular.read_table(data, sheet=sheets[0] if sheets else None).frame
        tabular.numeric_columns(frame), tabular.constant_columns(frame)
        verdict = f"read: {frame.shape[0]:,} x {frame.shape[1]:,}"
    except InputError as error:
        verdict = f"refused: {error}"
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    peak = max(peak, process.memory_info().rss)
    return {"seconds": seconds, "mb": (peak - base) / 1e6, "verdict": verdict}


def measure(name: str, file_name: str, generate: Callable[[], bytes]) -> dict:
    """Write the file, read it in a fresh process, return the child's figures and the size."""
    data = generate()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / file_name
        path.write_bytes(data)
        child = subprocess.run(
            [sys.executable, __file__, "--read-once", str(path)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=False,
        )
    if child.returncode:
        return {
            "seconds": float("nan"),
            "mb": float("nan"),
            "verdict": "crashed: " + child.stderr.strip().splitlines()[-1],
            "size": len(data),
        }
    return {**json.loads(child.stdout), "size": len(data)}


def run_files() -> bool:
    """Part ``files``: every hostile table and the legitimate sizes, a fresh process each."""
    cases = [(n, f, g, HOSTILE_SECONDS, HOSTILE_MB) for n, (f, g) in HOSTILE_TABLES.items()]
    cases += [(n, f, g, s, None) for n, (f, g, s) in LEGITIMATE.items()]
    print("Part files: each file read as Your data reads an upload, in a fresh process")
    print(f"{'file':26} {'size':>10} {'time':>7} {'memory':>9}  {'target':14} {'met':4} verdict")
    all_met = True
    for name, file_name, generate, seconds, mb in cases:
        row = measure(name, file_name, generate)
        met = not row["verdict"].startswith("crashed") and (
            (seconds is None or row["seconds"] <= seconds) and (mb is None or row["mb"] <= mb)
        )
        all_met &= met
        target = (
            " ".join(part for part in (seconds and f"{seconds:g} s", mb and f"+{mb:g} MB") if part)
            or "read"
        )
        if seconds is None and not row["verdict"].startswith("read"):
            met = all_met = False
        size = f"{row['size'] / 1e3:,.0f} KB"
        verdict = row["verdict"] if len(row["verdict"]) <= 110 else row["verdict"][:107] + "..."
        print(
            f"{name:26} {size:>10} {row['seconds']:6.2f}s {row['mb']:+7.1f}MB  "
            f"{target:14} {'yes' if met else 'NO':4} {verdict}",
            flush=True,
        )
    return all_met


# --- part fairness ---------------------------------------------------------------------


async def _timed(viewer, answers: dict, name: str, action) -> None:
    """Do ``action`` and wait for the rerun it asks for; note the step's wall-clock window."""
    start = time.time()
    await viewer.rerun(action)
    answers[name] = (start, time.time())


async def _hostile_session(
    session, viewer, files: list[tuple[str, Path]], picture: Path | None
) -> None:
    """A: each hostile table uploaded on Your data, then 20 seed changes on Redraw
    (of ``picture`` uploaded there, or of the default picture)."""
    page, windows = viewer.page, session.windows
    await viewer.open_app()
    nav, main = page.get_by_test_id("stSidebarNav"), page.get_by_test_id("stMain")
    await _timed(viewer, windows, "Your data", nav.get_by_role("link", name="Your data").click)
    await _timed(viewer, windows, "choose upload", main.get_by_text("Upload a table").click)
    files_input = main.get_by_test_id("stFileUploaderDropzoneInput")
    for name, path in files:
        await _timed(
            viewer, windows, f"upload {name}", lambda path=path: files_input.set_input_files(path)
        )
        print(f"  A: {name} answered", flush=True)
    await _timed(viewer, windows, "Redraw", nav.get_by_role("link", name="Redraw").click)
    sidebar = page.get_by_test_id("stSidebar")
    if picture is not None:
        await _timed(viewer, windows, "choose picture", sidebar.get_by_text("Upload my own").click)
        picture_input = sidebar.get_by_test_id("stFileUploaderDropzoneInput")
        await _timed(
            viewer, windows, "upload picture", lambda: picture_input.set_input_files(picture)
        )
        print(f"  A: {picture.name} answered", flush=True)
    await sidebar.get_by_text("Advanced").click()
    step_up = (
        sidebar.get_by_test_id("stNumberInput")
        .filter(has_text="Random seed")
        .get_by_test_id("stNumberInputStepUp")
    )
    for seed in range(1, SEED_CHANGES + 1):
        await _timed(viewer, windows, f"seed {seed}", step_up.click)
    print("  A: seeds answered", flush=True)

    async def quick_changes() -> None:
        for _ in range(QUICK_CHANGES):
            await step_up.click()

    await _timed(viewer, windows, "quick seeds", quick_changes)


async def _light_session(session, viewer, hostile_done: asyncio.Event) -> None:
    """B: the default picture, k one step up (then down) at a time until A is done."""
    await viewer.open_app()
    slider = (
        viewer.page.get_by_test_id("stSidebar")
        .get_by_test_id("stSlider")
        .filter(has_text="Number of colours (k)")
    )
    thumb = slider.get_by_role("slider")
    change, key = 0, "ArrowRight"
    while not hostile_done.is_set():
        change += 1
        k = int(await thumb.input_value())
        key = "ArrowLeft" if k >= 64 else "ArrowRight" if k <= 2 else key
        press = functools.partial(thumb.press, key)
        await _timed(viewer, session.windows, f"k change {change}", press)


async def _run_fairness(
    url: str, files: list[tuple[str, Path]], picture: Path | None, folder: Path
):
    from bench_load import RunWatcher, Session, Viewer, idle_chromium
    from playwright.async_api import async_playwright

    hostile, light = Session(1, None), Session(2, None)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(**idle_chromium(folder))
        try:
            viewers = []
            for _ in (hostile, light):
                context = await browser.new_context(
                    base_url=url, viewport={"width": 1400, "height": 1000}
                )
                context.set_default_timeout(WAIT_SECONDS * 1000)
                page = await context.new_page()
                viewer = Viewer(page, RunWatcher(), WAIT_SECONDS * 1000)
                page.on("websocket", viewer.watcher.on_websocket)
                viewers.append(viewer)
            done = asyncio.Event()

            async def hostile_then_done() -> None:
                try:
                    await _hostile_session(hostile, viewers[0], files, picture)
                finally:
                    done.set()

            await asyncio.gather(hostile_then_done(), _light_session(light, viewers[1], done))
        finally:
            for session, viewer in zip((hostile, light), viewers, strict=False):
                session.server_id = viewer.watcher.session_id
            await browser.close()
    return hostile, light


def _holds(log: str, names: dict[str, str]) -> list[tuple[float, float, str, str]]:
    """Each hold of a lock in the server's log: seconds, end (epoch), what, whose."""
    holds = []
    for line in log.splitlines():
        event, session_id, end, seconds, name = (line.split() + ["", ""])[:5]
        if event == "hold":
            holds.append((float(seconds), float(end), name, names.get(session_id, session_id)))
    return holds


def _print_slowest_answers(light, holds: list, most: int = 5) -> None:
    """B's slowest changes of k, with the lock time each session had during them."""
    changes = [name for name in light.windows if name.startswith("k change")]
    print(f"\nB's {most} slowest changes: answer, lock seconds of A and of B in its window")
    for name in sorted(changes, key=light.answers.get, reverse=True)[:most]:
        start, end = light.windows[name]
        held = {"A": 0.0, "B": 0.0}
        for seconds, hold_end, _, who in holds:
            overlap = min(end, hold_end) - max(start, hold_end - seconds)
            if who in held and overlap > 0:
                held[who] += overlap
        answer = light.answers[name]
        print(f"  {name:14} {answer:5.2f} s   A {held['A']:5.2f} s   B {held['B']:5.2f} s")


def _print_holds(holds: list, most: int = 12) -> None:
    """The longest holds of the locks, with what and whom each served ("[reading]": the
    lock for reading tables, held beside the computations)."""
    holds = sorted(holds, reverse=True)
    total = {who: sum(hold[0] for hold in holds if hold[3] == who) for who in ("A", "B")}
    print(
        f"\nlock holds: {len(holds)}; seconds held per session: "
        + ", ".join(f"{who} {seconds:.1f}" for who, seconds in sorted(total.items()))
    )
    print(f"the {most} longest:")
    for seconds, _, name, who in holds[:most]:
        print(f"  {seconds:6.2f} s  {who:2}  {name}")


def run_fairness(picture: str = "default") -> bool:
    """Part ``fairness``: B's answers to changes of k while A uploads and reseeds.

    With ``picture="12mp"``, A reseeds a 12-megapixel photo it uploads on Redraw.
    """
    from bench_load import SERVER_LOG_HOOK, make_upload, server_answers
    from streamlit_server import chromium_missing_reason, run_streamlit

    print(
        f"\nPart fairness: B changes k while A uploads {len(HOSTILE_TABLES)} hostile tables "
        f"and changes the seed {SEED_CHANGES} times",
        flush=True,
    )
    if (reason := chromium_missing_reason()) is not None:
        print(reason)
        return False
    with tempfile.TemporaryDirectory() as folder:
        files = []
        for name, (file_name, generate) in HOSTILE_TABLES.items():
            path = Path(folder) / file_name
            path.write_bytes(generate())
            files.append((name, path))
        upload = make_upload(None if picture == "default" else picture, 7, Path(folder))
        log = Path(folder) / "runs.log"
        python_path = os.pathsep.join(filter(None, [str(SERVER_LOG_HOOK), os.getenv("PYTHONPATH")]))
        with run_streamlit(env={"KMEANS_RUN_LOG": str(log), "PYTHONPATH": python_path}) as server:
            hostile, light = asyncio.run(
                _run_fairness(server.url, files, upload and upload.path, Path(folder))
            )
        text = log.read_text()
    server_answers(text, [hostile, light])
    answers = [light.answers[name] for name in light.windows if name.startswith("k change")]
    seeds = [hostile.answers[name] for name in hostile.windows if name.startswith("seed")]
    uploads = {n: hostile.answers[n] for n in hostile.windows if n.startswith("upload ")}
    print("\nA's server answers:")
    for name, seconds in uploads.items():
        print(f"  {name:40} {seconds:6.2f} s")
    if seeds:
        print(
            f"  {len(seeds)} seed changes: median {statistics.median(seeds):.2f} s, "
            f"max {max(seeds):.2f} s"
        )
    start, end = hostile.windows["quick seeds"]
    computed = sum(
        line.split()[1] == hostile.server_id
        and line.split()[-1] == "quantization"
        and start <= float(line.split()[2]) <= end
        for line in text.splitlines()
        if line.startswith("computed ")
    )
    print(
        f"  {QUICK_CHANGES} quick seed changes (clicks back to back): {computed} of them "
        f"computed, answered in {hostile.answers['quick seeds']:.2f} s"
    )
    print(f"\nB's server answer per change of k ({len(answers)} changes):")
    print("  " + " ".join(f"{seconds:.2f}" for seconds in answers))
    holds = _holds(text, {hostile.server_id: "A", light.server_id: "B"})
    _print_holds(holds)
    _print_slowest_answers(light, holds)
    if not answers:
        print("B made no change of k: NOT met")
        return False
    median, slowest = statistics.median(answers), max(answers)
    met = slowest < FAIR_ANSWER_SECONDS
    print(
        f"\nB's server answer: median {median:.2f} s, max {slowest:.2f} s; "
        f"target max < {FAIR_ANSWER_SECONDS:g} s: {'met' if met else 'NOT met'}"
    )
    return met


PARTS: dict[str, Callable[[], bool]] = {"files": run_files, "fairness": run_fairness}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=[*PARTS, "all"], default="all")
    parser.add_argument(
        "--hostile-picture",
        choices=["default", "12mp"],
        default="default",
        help="the picture A reseeds in part fairness: the default one, or a 12 MP photo "
        "it uploads (default: default)",
    )
    parser.add_argument("--read-once", help=argparse.SUPPRESS)
    args = parser.parse_args()
    PARTS["fairness"] = functools.partial(run_fairness, picture=args.hostile_picture)
    if args.read_once:
        print(json.dumps(read_once(args.read_once)))
        return 0
    parts = PARTS.values() if args.part == "all" else [PARTS[args.part]]
    results = [part() for part in parts]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
