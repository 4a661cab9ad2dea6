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

Run: ``python benchmarks/bench_hostile.py [--part files|all]`` (exits 1 when a target is
missed). Each part is a function of ``PARTS`` that prints its table and returns whether
every target was met; ``all`` runs every part.
"""

from __future__ import annotations

import argparse
import json
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
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from table_files import HOSTILE_TABLES, number_rows, with_sheet  # noqa: E402

HOSTILE_SECONDS, HOSTILE_MB = 2.0, 50.0


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


PARTS: dict[str, Callable[[], bool]] = {"files": run_files}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=[*PARTS, "all"], default="all")
    parser.add_argument("--read-once", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.read_once:
        print(json.dumps(read_once(args.read_once)))
        return 0
    parts = PARTS.values() if args.part == "all" else [PARTS[args.part]]
    results = [part() for part in parts]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
