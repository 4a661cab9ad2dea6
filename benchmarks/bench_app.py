"""How long the app's server takes to rerun when k changes on the default picture.

Drives ``streamlit_app.py`` with Streamlit's AppTest (no browser): one first run,
then one rerun per new k on the Redraw page, each a cache miss (a new fit, redraw,
quality and file sizes). Target: every rerun after the first under 0.3 s.

Run: ``python benchmarks/bench_app.py``
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parents[1] / "streamlit_app.py"
KS = (9, 10, 11, 12, 13, 14, 15, 16, 3, 5)
TARGET_SECONDS = 0.3


def timed_run(at: AppTest) -> float:
    """Run the app once and return the wall time of the script run."""
    start = time.perf_counter()
    at.run()
    seconds = time.perf_counter() - start
    if at.exception or at.error:
        raise RuntimeError([element.value for element in [*at.exception, *at.error]])
    return seconds


def main() -> None:
    """Print the first run and each k-change rerun, then a summary against the target."""
    at = AppTest.from_file(str(APP), default_timeout=120)
    print(f"CPUs: {os.cpu_count()}  picture: default sample  page: Redraw")
    print(f"first run (imports, decoding, k=8): {timed_run(at):.3f} s")
    seconds = []
    for k in KS:
        at.slider(key="k").set_value(k)
        seconds.append(timed_run(at))
        print(f"k -> {k:>2}: {seconds[-1]:.3f} s")
    median, worst = statistics.median(seconds), max(seconds)
    verdict = "met" if worst < TARGET_SECONDS else "NOT met"
    print(
        f"reruns after the first: median {median:.3f} s, max {worst:.3f} s "
        f"(target < {TARGET_SECONDS} s: {verdict})"
    )


if __name__ == "__main__":
    main()
