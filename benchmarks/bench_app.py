"""How long the app's server takes on every page: first visit and rerun after a change of k.

Drives ``streamlit_app.py`` with Streamlit's AppTest (no browser, no network). Each
picture is one case: a fresh AppTest session, with Streamlit's caches cleared first so
no case warms the next (a warm-up session runs every page once beforehand, so module
imports are not counted). In each case the session visits every page in navigation
order (each page compiled once, as a server compiles it; AppTest alone compiles
on every run); on each it times the first visit, then one rerun after a change of
k to a value not used before (the sidebar slider "k"; on Your data, the page's own
slider "table_k"). On Palette & segments it then times two more reruns, neither of
which may refit: a colour changed with the first colour picker (the redraw,
downloads and quality in the edited palette) and a segment chosen (the picture
showing one group's pixels). Uploads go through AppTest's own file-uploader API
(``at.file_uploader(key="upload").set_value(...)``): the bytes reach the app the way a
browser upload does, without the HTTP transfer.

Pictures (``--pictures``, comma-separated; all by default):
  default    the built-in sample, no upload
  12mp       4000 x 3000 noisy PNG (workloads.photo_12mp_png)
  49mp-jpeg  7000 x 7000 noisy JPEG (workloads.photo_49mp_jpeg)
  49mp-png   7000 x 7000 PNG (workloads.photo_49mp_png); its upload target is checked
             without the decode, which is timed on its own (kmeans_lib.images.load_image)

Tables (``--tables``, comma-separated; all by default): the Your data page from the
upload of a CSV to the finished page (elbow, silhouettes, groups and 3D view), then one
rerun after a change of its k, in a fresh session that opened Your data on the sample:
  120k       120,000 x 10 uniform random numbers, 23 MB (workloads.table_csv)
  200k       200,000 x 6 (the row limit), 23.5 MB
Naming only ``--tables`` runs no picture, and naming only ``--pictures`` no table.

``--compare REV`` also measures git revision REV (exported with ``git archive`` to a
temporary folder) in the same run, picture by picture, alternating the two sides in
fresh processes, and prints the ratio REV / this tree beside each number.

Any ``at.exception`` or ``at.error`` is printed and counts as a failure.
Run: ``python benchmarks/bench_app.py [--pictures default,12mp] [--tables 120k]
[--compare main]``
(exits 1 when a target is missed or a run failed).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import NamedTuple

import streamlit as st
from streamlit.runtime.scriptrunner.script_cache import ScriptCache
from streamlit.testing.v1 import AppTest, app_test, local_script_runner

BENCHMARKS = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCHMARKS))

from server_probe import add_list_option  # noqa: E402
from workloads import (  # noqa: E402
    photo_12mp_png,
    photo_49mp_jpeg,
    photo_49mp_png,
    table_csv,
)

ROOT = BENCHMARKS.parent
# Page file, navigation title and the key of the slider that sets k on that page.
PAGES = (
    ("app_pages/redraw.py", "Redraw", "k"),
    ("app_pages/palette_segments.py", "Palette & segments", "k"),
    ("app_pages/choose_k.py", "Choose k", "k"),
    ("app_pages/explore_3d.py", "Explore in 3D", "k"),
    ("app_pages/compare.py", "Compare methods", "k"),
    ("app_pages/step_by_step.py", "Step by step", "k"),
    ("app_pages/your_data.py", "Your data", "table_k"),
    ("app_pages/how_it_works.py", "How it works", "k"),
)
RUN_TIMEOUT_S = 900


class Picture(NamedTuple):
    """A case: its label, and the upload (file name, MIME type, maker) or None."""

    label: str
    upload: tuple[str, str, Callable[[], bytes]] | None


PICTURES = {
    "default": Picture("default picture", None),
    "12mp": Picture("12 MP PNG", ("photo-12mp.png", "image/png", photo_12mp_png)),
    "49mp-jpeg": Picture("49 MP JPEG", ("photo-49mp.jpg", "image/jpeg", photo_49mp_jpeg)),
    "49mp-png": Picture("49 MP PNG", ("photo-49mp.png", "image/png", photo_49mp_png)),
}


class Table(NamedTuple):
    """A table case: its label, file name and size (a CSV of workloads.table_csv)."""

    label: str
    name: str
    n_rows: int
    n_columns: int


TABLES = {
    "120k": Table("120,000 x 10 CSV", "table-120k.csv", 120_000, 10),
    "200k": Table("200,000 x 6 CSV (row limit)", "table-200k.csv", 200_000, 6),
}
YOUR_DATA = "app_pages/your_data.py"
UPLOAD_STEP = "upload to finished Redraw"
PALETTE_PAGE = "Palette & segments"
RECOLOUR_STEP = "  a colour edited"
SEGMENT_STEP = "  a segment chosen"
# The edit: an unlikely palette colour, so it is never the fitted one.
EDITED_COLOUR = "#ff00fe"
TABLE_STEP = "upload to finished Your data"
FIRST, RERUN = "first visit", "rerun after k"
# Each method under 10 s on the working copy; no limit on the whole Compare page.
_NO_COMPARE_LIMIT = {("Compare methods", FIRST): None, ("Compare methods", RERUN): None}
# Step by step records a new run over every colour for each k: its own issue gives
# the recording 3 s on a 12 MP photo (checked by bench_steps.py), not the page 1.5 s.
_NO_STEPS_LIMIT = {("Step by step", FIRST): None, ("Step by step", RERUN): None}
# Recolouring and segments never refit: under 0.2 s on the sample, 1 s on a 12 MP photo.
_EDITS = {(RECOLOUR_STEP, RERUN): 0.2, (SEGMENT_STEP, RERUN): 0.2}
_LARGE_EDITS = {(RECOLOUR_STEP, RERUN): 1.0, (SEGMENT_STEP, RERUN): 1.0}
_LARGE = {
    ("*", RERUN): 1.5,
    ("Choose k", FIRST): 4.0,
    **_NO_COMPARE_LIMIT,
    **_NO_STEPS_LIMIT,
    **_LARGE_EDITS,
}
# Upper limits in seconds per picture: (page or UPLOAD_STEP, FIRST or RERUN) -> limit.
# "*" stands for every page.
TARGETS: dict[str, dict[tuple[str, str], float | None]] = {
    "default": {
        ("*", FIRST): 1.5,
        ("*", RERUN): 0.3,
        # Issue 23 puts the FLIP figure on Redraw, measured on every change of k
        # (0.11 s here, on both cores), and restates only the first visit's 1.5 s.
        ("Redraw", RERUN): 0.4,
        **_EDITS,
        # Every method runs again for each k.
        ("Compare methods", FIRST): 3.0,
        ("Compare methods", RERUN): 3.0,
        # Step by step records a new run and builds a new animation for every k.
        ("Step by step", FIRST): 2.0,
        ("Step by step", RERUN): 2.0,
    },
    "12mp": {(UPLOAD_STEP, FIRST): 3.0, ("Explore in 3D", FIRST): 1.5, **_LARGE},
    "49mp-jpeg": {(UPLOAD_STEP, FIRST): 5.0, **_LARGE},
    # The PNG's upload target is checked on the upload time minus the decode time.
    "49mp-png": {(UPLOAD_STEP, FIRST): 5.0, **_LARGE},
    "120k": {(TABLE_STEP, FIRST): 3.0},
    "200k": {(TABLE_STEP, FIRST): 5.0},
}


@dataclass
class Row:
    """One page (or the upload) of one picture: its times and any failures."""

    page: str
    first: float | None = None
    rerun: float | None = None
    failures: list[str] | None = None


def target(picture: str, page: str, kind: str) -> float | None:
    limits = TARGETS[picture]
    if page in (UPLOAD_STEP, TABLE_STEP, RECOLOUR_STEP, SEGMENT_STEP):
        return limits.get((page, kind))
    return limits.get((page, kind), limits.get(("*", kind)))


def timed_run(at: AppTest, failures: list[str]) -> float:
    """Run the app once; return the wall time and note any exception or error shown."""
    start = time.perf_counter()
    at.run(timeout=RUN_TIMEOUT_S)
    seconds = time.perf_counter() - start
    for element in [*at.exception, *at.error]:
        failures.append(f"{type(element).__name__}: {str(element.value)[:300]}")
    return seconds


def share_compiled_scripts() -> None:
    """Compile each page once, as the server does, instead of on every AppTest run.

    A server's sessions share one ScriptCache; AppTest makes a new one for every
    run and compiles the entry point and the page again each time (about 30 ms
    for Your data), which no viewer of a real server waits for.
    """
    shared_cache = ScriptCache()
    for module in (app_test, local_script_runner):
        module.ScriptCache = lambda: shared_cache


def clear_caches() -> None:
    st.cache_data.clear()
    st.cache_resource.clear()


def warm_up(app: Path) -> float:
    """Run every page once on the default picture (imports, thread pools, compiled pages),
    then clear caches."""
    share_compiled_scripts()
    start = time.perf_counter()
    at = AppTest.from_file(str(app), default_timeout=RUN_TIMEOUT_S).run()
    for path, _, _ in PAGES[1:]:
        at.switch_page(path).run()
    clear_caches()
    return time.perf_counter() - start


def decode_seconds(data: bytes, name: str) -> float:
    """Time to decode the file with the library alone (the app's first step on an upload)."""
    from kmeans_lib.images import load_image

    start = time.perf_counter()
    load_image(data, name=name)
    return time.perf_counter() - start


def measure(app: Path, key: str) -> tuple[list[Row], float | None]:
    """Walk every page for picture ``key`` in a fresh session; return rows and decode time."""
    picture = PICTURES[key]
    clear_caches()
    at = AppTest.from_file(str(app), default_timeout=RUN_TIMEOUT_S)
    rows, decode = [], None
    # Each change of k goes to a value this session has not used yet: a cache miss.
    ks = iter(range(9, 64))
    table_ks = iter(range(4, 21))
    try:
        if picture.upload is not None:
            name, mime, make = picture.upload
            data = make()
            decode = decode_seconds(data, name)
            print(f"  {picture.label}: {len(data) / 1e6:.1f} MB, decode {decode:.2f} s", flush=True)
            row = Row(UPLOAD_STEP, failures=[])
            rows.append(row)
            timed_run(at, row.failures)  # the default picture, untimed
            at.radio(key="image_source").set_value("upload")
            timed_run(at, row.failures)
            at.file_uploader(key="upload").set_value((name, data, mime))
            del data
            row.first = timed_run(at, row.failures)
            if at.session_state["picture"].name != name:
                row.failures.append(f"{name} did not become the current picture")
        for index, (path, title, slider) in enumerate(PAGES):
            row = Row(title, failures=[])
            rows.append(row)
            if index or picture.upload is None:  # after an upload, Redraw is already shown
                at.switch_page(path)
                row.first = timed_run(at, row.failures)
            at.slider(key=slider).set_value(next(table_ks if slider == "table_k" else ks))
            row.rerun = timed_run(at, row.failures)
            first = "-" if row.first is None else f"{row.first:.3f} s"
            print(f"  {title}: first visit {first}, rerun {row.rerun:.3f} s", flush=True)
            if title == PALETTE_PAGE:
                rows += palette_updates(at)
    except Exception as error:  # a timeout or a crash ends this picture, not the run
        rows.append(Row("(run stopped)", failures=[f"{type(error).__name__}: {error}"]))
    return rows, decode


def palette_updates(at: AppTest) -> list[Row]:
    """Time Palette & segments' rerun after a colour edit, then after a segment choice."""
    recolour, segment = Row(RECOLOUR_STEP, failures=[]), Row(SEGMENT_STEP, failures=[])
    at.color_picker[0].pick(EDITED_COLOUR)
    recolour.rerun = timed_run(at, recolour.failures)
    if not any("(edited palette)" in metric.label for metric in at.metric):
        recolour.failures.append("the quality figures do not say “edited palette”")
    # The least used group: its pixels, and only they, keep their own colours.
    at.button_group[0].set_value([len(at.color_picker) - 1])
    segment.rerun = timed_run(at, segment.failures)
    if not any(caption.value.startswith("Shown:") for caption in at.caption):
        segment.failures.append("the page does not show the chosen segment")
    print(
        f"  {PALETTE_PAGE}: colour edited {recolour.rerun:.3f} s, "
        f"segment chosen {segment.rerun:.3f} s",
        flush=True,
    )
    return [recolour, segment]


def measure_table(app: Path, key: str) -> tuple[list[Row], None]:
    """Upload table ``key`` on Your data in a fresh session; time it and a change of k."""
    table = TABLES[key]
    clear_caches()
    at = AppTest.from_file(str(app), default_timeout=RUN_TIMEOUT_S)
    row = Row(TABLE_STEP, failures=[])
    try:
        data = table_csv(table.n_rows, table.n_columns)
        print(f"  {table.label}: {len(data) / 1e6:.1f} MB", flush=True)
        untimed: list[str] = []
        timed_run(at, untimed)
        at.switch_page(YOUR_DATA)
        timed_run(at, untimed)
        at.radio(key="table_source").set_value("upload")
        timed_run(at, untimed)
        at.file_uploader(key="table_upload").set_value((table.name, data, "text/csv"))
        del data
        # The process's CPU time too: on a busy shared machine it says what the wall
        # time would be on a quiet one (the work is mostly on one thread).
        cpu = time.process_time()
        row.first = timed_run(at, row.failures)
        cpu = time.process_time() - cpu
        clustering = f"Clustering {table.n_rows:,} rows"
        if not any(clustering in caption.value for caption in at.caption):
            row.failures.append(f"the page does not say “{clustering}”")
        at.slider(key="table_k").set_value(4)
        row.rerun = timed_run(at, row.failures)
        print(
            f"  first visit {row.first:.3f} s (CPU {cpu:.3f} s), rerun {row.rerun:.3f} s",
            flush=True,
        )
    except Exception as error:  # a timeout or a crash ends this table, not the run
        row.failures.append(f"{type(error).__name__}: {error}")
    return [row], None


def measure_case(app: Path, key: str) -> tuple[list[Row], float | None]:
    """Measure picture or table ``key``."""
    return measure_table(app, key) if key in TABLES else measure(app, key)


def label(key: str) -> str:
    return TABLES[key].label if key in TABLES else PICTURES[key].label


def print_table(key: str, rows: list[Row], decode: float | None, ratios: dict | None) -> bool:
    """Print one case's rows with targets and verdicts; True when all are met."""
    ok = True
    print(f"\n{label(key)}")
    header = f"{'page':<30}{'first visit':>12}{'target':>9}  {'verdict':<8}"
    header += f"{'rerun after k':>14}{'target':>9}  {'verdict':<8}"
    print((header + ("  ratio REV/this (first, rerun)" if ratios else "")).rstrip())
    for row in rows:
        line = f"{row.page:<30}"
        for kind, value in ((FIRST, row.first), (RERUN, row.rerun)):
            limit = target(key, row.page, kind)
            checked = value
            if value is not None and row.page == UPLOAD_STEP and key == "49mp-png":
                checked = value - (decode or 0.0)
            if value is None:
                line += f"{'-':>12}{'':>9}  {'':<8}" if kind == FIRST else f"{'-':>14}{'':>9}"
                continue
            verdict = "" if limit is None else ("met" if checked < limit else "NOT met")
            ok &= verdict != "NOT met"
            width = 12 if kind == FIRST else 14
            line += f"{value:>{width}.3f}{'' if limit is None else f'< {limit:g}':>9}  "
            line += f"{verdict:<8}"
        if ratios and row.page in ratios:
            line += "  " + ", ".join("-" if r is None else f"{r:.2f}x" for r in ratios[row.page])
        print(line.rstrip())
        for failure in row.failures or []:
            ok = False
            print(f"    FAILURE: {failure}")
    if key == "49mp-png" and decode is not None:
        print(f"  (upload target checked on upload minus the {decode:.2f} s decode)")
    return ok


def child(app: Path, key: str, out: Path) -> None:
    """Subprocess entry for --compare: measure one picture and write the rows as JSON."""
    warm_up(app)
    rows, decode = measure_case(app, key)
    out.write_text(json.dumps({"rows": [asdict(row) for row in rows], "decode": decode}))


def export(rev: str, folder: Path) -> Path:
    """Write git revision ``rev`` of this repository into ``folder``; return its app file."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", rev],
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder / "streamlit_app.py"


def measure_in_child(app: Path, key: str) -> tuple[list[Row], float | None]:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run(
            [sys.executable, __file__, "--child", str(app), key, out.name],
            check=True,
            cwd=app.parent,
        )
        result = json.loads(Path(out.name).read_text())
    return [Row(**row) for row in result["rows"]], result["decode"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_list_option(parser, "--pictures", PICTURES)
    add_list_option(parser, "--tables", TABLES)
    parser.add_argument("--compare", metavar="REV", help="also measure this git revision")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        app, key, out = args.child
        sys.path.insert(0, str(Path(app).parent))
        child(Path(app), key, Path(out))
        return 0
    named = {argument.split("=")[0] for argument in sys.argv[1:]}
    pictures = [] if "--tables" in named and "--pictures" not in named else args.pictures
    tables = [] if "--pictures" in named and "--tables" not in named else args.tables
    keys = [*pictures, *tables]
    app = ROOT / "streamlit_app.py"
    print(
        f"CPUs: {os.cpu_count()}  pictures: {', '.join(pictures) or '-'}  "
        f"tables: {', '.join(tables) or '-'}",
        flush=True,
    )
    ok = True
    if args.compare is None:
        sys.path.insert(0, str(ROOT))
        print(f"warm-up (imports, every page once): {warm_up(app):.1f} s", flush=True)
        for key in keys:
            rows, decode = measure_case(app, key)
            ok &= print_table(key, rows, decode, None)
    else:
        with tempfile.TemporaryDirectory(prefix="bench-app-") as folder:
            other = export(args.compare, Path(folder))
            print(f"comparing with {args.compare} (exported to {folder})", flush=True)
            for key in keys:
                print(f"- {label(key)}: {args.compare}", flush=True)
                theirs, _ = measure_in_child(other, key)
                print(f"- {label(key)}: this tree", flush=True)
                rows, decode = measure_in_child(app, key)
                by_page = {row.page: row for row in theirs}
                ratios = {}
                for row in rows:
                    if (their := by_page.get(row.page)) is not None:
                        ratios[row.page] = tuple(
                            None if None in (a, b) or not b else a / b
                            for a, b in ((their.first, row.first), (their.rerun, row.rerun))
                        )
                ok &= print_table(key, rows, decode, ratios)
    print(f"\nAll targets met, no failures: {'yes' if ok else 'NO'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
