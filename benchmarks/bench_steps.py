"""Step by step: the recording, the animated figure's size and the page's first visit.

Prints, against the targets of the step-by-step issue:

- the recording (:func:`kmeans_lib.steps.record_kmeans`) on china.jpg at k = 8 and on
  the 12-megapixel photo (``workloads.photo_12mp``) at k = 16: with the page's step limit
  (50) and until convergence (limit 1,000), each the best of ``--repeat`` runs;
- the animated figure's JSON size (as ``st.plotly_chart`` sends it) on china.jpg at
  k = 8 in RGB, the page's default, and at the page's largest k, 64, in CIELAB;
- the page's first visit (server time, AppTest) on the default picture: a fresh
  session with empty caches opens the app (the Redraw page), then switches to Step by
  step, which is timed.

Run: ``python benchmarks/bench_steps.py [--repeat 3]`` (exits 1 when a target is missed).
The machine's other work shows in the times: compare runs on a quiet machine.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import plotly.io as pio
import streamlit as st
from streamlit.testing.v1 import AppTest

BENCHMARKS = Path(__file__).resolve().parent
ROOT = BENCHMARKS.parent
sys.path.insert(0, str(BENCHMARKS))
sys.path.insert(0, str(ROOT))

from workloads import china, photo_12mp  # noqa: E402

from kmeans_lib import count_colours, image_points, resize_to_fit  # noqa: E402
from kmeans_lib.images import Image  # noqa: E402
from kmeans_lib.step_figures import kmeans_steps_3d  # noqa: E402
from kmeans_lib.steps import record_kmeans  # noqa: E402

RECORD_TARGETS = {"china.jpg": 1.0, "12 MP photo": 3.0}  # seconds, with the page's limit
FIGURE_TARGET_MB = 3.0
FIRST_VISIT_TARGET_S = 2.0
THUMBNAIL_SIDE = 320


def best_of(repeat: int, work, *args, **kwargs):
    """The fastest of ``repeat`` runs of ``work(*args, **kwargs)``: wall and CPU seconds, result.

    The CPU time (of this process) shows how much of the wall time was the
    machine's other work.
    """
    times = []
    for _ in range(repeat):
        start, cpu = time.perf_counter(), time.process_time()
        result = work(*args, **kwargs)
        times.append((time.perf_counter() - start, time.process_time() - cpu))
    wall, cpu = min(times)
    return wall, cpu, result


def recordings(repeat: int) -> list[str]:
    """Print the recording times; return the missed targets."""
    missed = []
    print(
        f"{'picture':<12} {'k':>3} {'colours':>10} {'limit':>6} {'steps':>6} "
        f"{'converged':>9} {'seconds':>8} {'cpu s':>6} {'target':>7}"
    )
    for name, pixels, k in (("china.jpg", china(), 8), ("12 MP photo", photo_12mp(), 16)):
        points = image_points(count_colours(Image(pixels)), "rgb")
        del pixels
        for limit in (50, 1_000):
            runs = repeat if limit == 50 else 1
            seconds, cpu, steps = best_of(runs, record_kmeans, points, k, max_steps=limit)
            goal = RECORD_TARGETS[name] if limit == 50 else None
            shown = f"{goal:.1f}" if goal else "-"
            print(
                f"{name:<12} {k:>3} {points.n_points:>10,} {limit:>6} {steps.n_steps:>6} "
                f"{str(steps.converged):>9} {seconds:>8.2f} {cpu:>6.2f} {shown:>7}"
            )
            if goal and seconds > goal:
                missed.append(f"recording on {name} took {seconds:.2f} s (target {goal} s)")
    return missed


def figure_sizes(repeat: int) -> list[str]:
    """Print the figure's build time and JSON size; return the missed targets."""
    missed = []
    picture = Image(china())
    thumbnail = resize_to_fit(picture, THUMBNAIL_SIDE)
    print(f"\n{'figure':<24} {'frames':>6} {'build s':>8} {'json s':>7} {'MB':>6} {'target':>7}")
    for space, k in (("rgb", 8), ("lab", 64)):
        points = image_points(count_colours(picture), space)
        steps = record_kmeans(points, k)
        build, _, figure = best_of(repeat, kmeans_steps_3d, steps, points, thumbnail, space)
        encode, _, text = best_of(1, pio.to_json, figure, validate=False)
        size = len(text.encode()) / 1e6
        label = f"china.jpg k={k} {space}"
        print(
            f"{label:<24} {len(figure.frames):>6} {build:>8.2f} {encode:>7.2f} {size:>6.2f} "
            f"{FIGURE_TARGET_MB:>7.1f}"
        )
        if size > FIGURE_TARGET_MB:
            missed.append(f"figure {label} is {size:.2f} MB (target {FIGURE_TARGET_MB} MB)")
    return missed


def first_visit() -> list[str]:
    """Print the page's first-visit server time; return the missed target or failures."""
    app = str(ROOT / "streamlit_app.py")
    # A warm-up session for imports and thread pools, then empty caches.
    AppTest.from_file(app, default_timeout=600).run().switch_page("app_pages/step_by_step.py").run()
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(app, default_timeout=600).run()
    start = time.perf_counter()
    at.switch_page("app_pages/step_by_step.py").run()
    seconds = time.perf_counter() - start
    failures = [str(element.value)[:300] for element in [*at.exception, *at.error]]
    print(
        f"\nStep by step, first visit on the default picture (after Redraw): {seconds:.2f} s "
        f"(target {FIRST_VISIT_TARGET_S:.1f} s)"
    )
    if seconds > FIRST_VISIT_TARGET_S:
        failures.append(f"first visit took {seconds:.2f} s (target {FIRST_VISIT_TARGET_S} s)")
    return failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per timing; the best counts")
    args = parser.parse_args()
    missed = recordings(args.repeat) + figure_sizes(args.repeat) + first_visit()
    for problem in missed:
        print("MISSED:", problem)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
