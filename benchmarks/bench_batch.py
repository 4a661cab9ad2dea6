"""Benchmark ``kmeans-colours batch`` on a folder of 40 JPEG photos, side by side with Pylette.

Run: ``python benchmarks/bench_batch.py`` (about 3 minutes on 2 cores the first
time, which makes the photos and installs Pylette; ``--repeats 3`` runs every
command in three rounds, one command after the other, and keeps the fastest of
each, for a shared machine). The photos are kept
in ``~/.cache/kmeans-bench/batch-photos`` and Pylette's own virtualenv in
``~/.cache/kmeans-bench/pylette-venv`` (``--folder``, ``--pylette-venv`` put them
elsewhere); Pylette is installed there with ``pip install pylette``, never into
this project's environment.

The folder: 32 photos of 1732 x 1155 (2 MP) and 8 of 4000 x 3000 (12 MP), JPEG
quality 90, made by ``workloads.photo`` from scikit-learn's two sample photos in
turn (upscaled with Lanczos, Gaussian noise of sigma 3, seed = the photo's
number). Each command runs as a subprocess, timed whole (start-up included):

- ``python -m kmeans_lib batch DIR -k 16 --out X.jsonl --jobs 1``, and ``--jobs 2``
  (the same ``main`` as the installed ``kmeans-colours``): the default records,
  which also measure the quality of every picture (PSNR and mean ΔE of the
  full-size picture redrawn with its palette), so they decode every picture whole;
- the same with ``--no-quality``: palettes only (the same work as Pylette's, a
  palette with shares per picture), each JPEG fitted on the copy its decoder
  gives scaled down by the library's measured rule (``palette_draft_factor``:
  here 2 MP at 1/2, 12 MP at 1/4);
- ``pylette FILES... --palette-size 16 --export-json --output X.json``: its
  default settings otherwise (KMeans on the picture resized to 256 x 256, a
  thread pool). Pylette 6 does not take a folder, so it is given the 40 files,
  as a shell glob would;
- when ``dask.distributed`` and ``kmeans_lib.dask_engine`` are importable:
  ``batch ... --no-quality --engine dask --scheduler ADDRESS`` on a
  ``LocalCluster`` of two worker processes with one thread each (the cluster's
  equal of ``--jobs 2``), started (and warmed) before the clock; with Dask's
  default settings (the target's row), and again with workers started without
  the ``MALLOC_TRIM_THRESHOLD_`` that Dask's nannies set (see :func:`dask`): the
  engine's tasks lift that setting while they run, so the two should be level.

Reported: pictures per second (40 / the command's wall time), and, for palettes
only, the start-up (the command on a folder of the first photo alone) and the rate
beyond it ((40 - 1) / (its time - that time)), which is no target; its CPU seconds
(user and system, the command and its workers: steadier than the wall time on a
shared machine, but no target); the peak RSS of each worker process (its
``VmHWM``, read every 20 ms: the CLI process itself for ``--jobs 1`` and
Pylette, the pool's processes for ``--jobs 2``, the cluster's worker processes
for Dask), the largest of them; and each tool's
palettes scored identically from its JSON output: the PSNR of the FULL-SIZE
photo redrawn with the palette, every pixel painted its nearest palette colour
in RGB (``bench_draft.redraw_psnr``), the mean over the 40 photos.

Targets (exit 1 when one is missed), judged on equal work, a palette per
picture: palettes only with ``--jobs 2`` at least 1.5x Pylette's pictures per
second with a mean PSNR at least as high; palettes only with ``--jobs 2`` at
least 1.7x ``--jobs 1``; under 500 MB per worker (every run of ours); Dask at
least 0.8x local palettes only ``--jobs 2``; and, as a check, the same palettes
from ``--jobs 1`` and ``--jobs 2`` in each mode, and from Dask. The default
records' rows are for reference: they do more than Pylette (the quality of every
picture at full size).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import psutil
from PIL import Image as PILImage

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_draft import redraw_psnr  # noqa: E402
from workloads import encode, photo  # noqa: E402

from kmeans_lib.images import Image  # noqa: E402
from kmeans_lib.pixels import count_colours  # noqa: E402

K = 16
PHOTOS = ((32, (1732, 1155)), (8, (4000, 3000)))  # (how many, (width, height))
FOLDER_VERSION = "1"  # change when the photos change, so a kept folder is made again
CACHE = Path.home() / ".cache" / "kmeans-bench"
SAMPLE_SECONDS = 0.02
MB = 1_000_000

# This process's environment as it started: a Dask nanny adds its pre-spawn variables
# to it (MALLOC_TRIM_THRESHOLD_), which the commands timed must not inherit.
ENVIRON = dict(os.environ)

SPEED_VS_PYLETTE = 1.5
JOBS_SCALING = 1.7
MAX_WORKER_MB = 500
DASK_SHARE = 0.8


@dataclass
class Run:
    """One command's figures."""

    name: str
    seconds: float = float("inf")
    cpu_seconds: float = float("inf")
    worker_mb: float = 0.0
    palettes: dict[str, np.ndarray] = field(default_factory=dict)
    psnr: float | None = None
    skipped: str | None = None

    def per_second(self, n_pictures: int) -> float:
        return n_pictures / self.seconds


def make_photos(folder: Path) -> list[Path]:
    """The 40 photos in ``folder``, made unless a complete set of this version is there."""
    marker = folder / f".complete-v{FOLDER_VERSION}"
    names = []
    number = 0
    for count, size in PHOTOS:
        for _ in range(count):
            names.append((folder / f"photo-{number:02d}-{size[0]}x{size[1]}.jpg", size, number))
            number += 1
    if not marker.exists():
        folder.mkdir(parents=True, exist_ok=True)
        for path, size, seed in names:
            pixels = photo(size, seed, ("china", "flower")[seed % 2])
            path.write_bytes(encode(pixels, "JPEG"))
        marker.touch()
    return [path for path, _, _ in names]


def pylette_command(venv: Path) -> Path:
    """Pylette's command in its own virtualenv, made with ``pip install pylette`` if missing."""
    command = venv / "bin" / "pylette"
    if not command.exists():
        print(f"Installing Pylette into {venv} ...", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(venv / "bin" / "pip"), "install", "--quiet", "pylette"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return command


def pylette_version(venv: Path) -> str:
    out = subprocess.run(
        [str(venv / "bin" / "pip"), "show", "pylette"], capture_output=True, text=True
    ).stdout
    return next((line.split()[1] for line in out.splitlines() if line.startswith("Version")), "?")


def peak_rss(pid: int) -> float:
    """A process's peak resident set size (VmHWM) in MB; 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024 / MB
    except OSError:
        pass
    return 0.0


Workers = Callable[[psutil.Process], list[int]]


def itself(process: psutil.Process) -> list[int]:
    return [process.pid]


def its_children(process: psutil.Process) -> list[int]:
    try:
        return [child.pid for child in process.children(recursive=True)]
    except psutil.Error:
        return []


def children_cpu() -> float:
    """User and system CPU seconds of this process's finished (waited-for) descendants."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(command: list[str], workers: Workers) -> tuple[float, float, float]:
    """Run ``command``; its wall seconds, CPU seconds (it and the processes it waited
    for) and the largest peak RSS (MB) among its workers."""
    env = {**ENVIRON, "PYTHONPATH": str(REPO)}
    peaks: dict[int, float] = {}
    cpu = children_cpu()
    started = time.perf_counter()
    child = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    root = psutil.Process(child.pid)
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            for pid in workers(root):
                peaks[pid] = max(peaks.get(pid, 0.0), peak_rss(pid))
            done.wait(SAMPLE_SECONDS)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, stderr = child.communicate()
    seconds = time.perf_counter() - started
    cpu = children_cpu() - cpu
    done.set()
    sampler.join()
    if child.returncode != 0:
        raise RuntimeError(f"{command[:4]}... exited with {child.returncode}:\n{stderr[-2000:]}")
    return seconds, cpu, max(peaks.values(), default=0.0)


@dataclass
class Plan:
    """A command timed once in every round, and what to read once all rounds are done."""

    run: Run
    command: list[str]
    workers: Workers
    palettes: Callable[[], dict[str, np.ndarray]]
    finish: Callable[[int], None] = lambda rounds: None

    def time_once(self) -> None:
        """Time the command into ``run``: the fastest time, the largest peak so far."""
        seconds, cpu, peak = timed(self.command, self.workers)
        self.run.seconds = min(self.run.seconds, seconds)
        self.run.cpu_seconds = min(self.run.cpu_seconds, cpu)
        self.run.worker_mb = max(self.run.worker_mb, peak)
        print(f"  {self.run.name}: {seconds:.1f} s", file=sys.stderr, flush=True)


def our_palettes(jsonl: Path) -> dict[str, np.ndarray]:
    palettes = {}
    for line in jsonl.read_text().splitlines():
        record = json.loads(line)
        if record["error"] is None:
            rgb = [colour["rgb"] for colour in record["palette"]]
            palettes[Path(record["path"]).name] = np.array(rgb, dtype=np.uint8)
    return palettes


def pylette_palettes(out: Path) -> dict[str, np.ndarray]:
    palettes = {}
    for entry in json.loads(out.read_text())["palettes"]:
        rgb = [colour["rgb"][:3] for colour in entry["colors"]]
        source = entry["metadata"]["image_source"]
        palettes[Path(source).name] = np.array(rgb, dtype=np.uint8)
    return palettes


def ours(name: str, folder: Path, work: Path, extra: list[str], workers: Workers) -> Plan:
    out = work / f"{name.replace(' ', '-').replace(',', '')}.jsonl"
    command = [sys.executable, "-m", "kmeans_lib", "batch", str(folder), "-k", str(K)]
    return Plan(
        Run(name), [*command, "--out", str(out), *extra], workers, lambda: our_palettes(out)
    )


def pylette(files: list[Path], work: Path, venv: Path) -> Plan:
    out = work / "pylette.json"
    command = [str(pylette_command(venv)), *map(str, files), "--palette-size", str(K)]
    command += ["--export-json", "--output", str(out)]
    run = Run(f"Pylette {pylette_version(venv)}")
    return Plan(run, command, itself, lambda: pylette_palettes(out))


def dask(stack: ExitStack, folder: Path, work: Path, malloc_trim: bool = True) -> Plan | Run:
    """Palettes only on a two-worker LocalCluster (open until ``stack`` closes), or a
    skipped row saying why.

    ``malloc_trim=False``: the workers start without the ``MALLOC_TRIM_THRESHOLD_=65536``
    that Dask's nannies set by default (``distributed.nanny.pre-spawn-environ``). It
    fixes glibc's mmap threshold at 128 KB, so every larger temporary array would be
    mapped and faulted in afresh (1.4 times the work); the engine's tasks lift it while
    they run (``kmeans_lib.dask_engine._task_heap``), which this row checks.
    """
    run = Run("palettes, dask 2 workers" + ("" if malloc_trim else ", no trim"))
    try:
        import dask as dask_config
        from distributed import Client, LocalCluster
    except ImportError:
        run.skipped = "skipped: dask not installed"
        return run
    if importlib.util.find_spec("kmeans_lib.dask_engine") is None:
        run.skipped = "skipped: engine missing (kmeans_lib.dask_engine)"
        return run
    trim = (
        {} if malloc_trim else {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}
    )
    with dask_config.config.set(trim):
        # The workers' environment is this process's: as it started, for the row without.
        os.environ.clear()
        os.environ.update(ENVIRON)
        cluster = stack.enter_context(
            LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
        )
    client = stack.enter_context(Client(cluster))
    client.run(lambda: __import__("kmeans_lib.batch"))  # warm: the library imported
    pids = list(client.run(os.getpid).values())
    workers = [psutil.Process(pid) for pid in pids]
    cpu = sum(sum(worker.cpu_times()[:2]) for worker in workers)
    extra = ["--no-quality", "--engine", "dask", "--scheduler", cluster.scheduler_address]
    plan = ours(run.name, folder, work, extra, lambda _: pids)

    def finish(rounds: int) -> None:
        # The workers are not the command's children: their CPU time is added here
        # (all rounds together, so shared out), their peak read before they stop.
        plan.run.cpu_seconds += (sum(sum(w.cpu_times()[:2]) for w in workers) - cpu) / rounds
        plan.run.worker_mb = max(peak_rss(pid) for pid in pids)

    plan.finish = finish
    return plan


def score(runs: list[Run], files: list[Path]) -> None:
    """Each run's mean PSNR of the full-size photos redrawn with its palettes."""
    scores: dict[str, list[float]] = {run.name: [] for run in runs}
    for path in files:
        with PILImage.open(path) as im:
            colours = count_colours(Image(np.asarray(im.convert("RGB"))))
        for run in runs:
            if path.name in run.palettes:
                scores[run.name].append(redraw_psnr(colours, run.palettes[path.name]))
    for run in runs:
        missing = len(files) - len(scores[run.name])
        if missing:
            run.skipped = f"{missing} pictures without a palette"
        run.psnr = float(np.mean(scores[run.name])) if scores[run.name] else None


def same_palettes(runs: list[Run]) -> bool:
    """Whether the runs (those not skipped) found the same palette for every picture."""
    runs = [run for run in runs if not run.skipped]
    first = runs[0].palettes
    return all(
        run.palettes.keys() == first.keys()
        and all(np.array_equal(first[name], run.palettes[name]) for name in first)
        for run in runs[1:]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--folder", type=Path, default=CACHE / "batch-photos")
    parser.add_argument("--pylette-venv", type=Path, default=CACHE / "pylette-venv")
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()

    load = os.getloadavg()[0]
    files = make_photos(args.folder)
    n = len(files)
    megapixels = sum(PILImage.open(path).size[0] * PILImage.open(path).size[1] for path in files)
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        work = Path(tmp)

        def local(name: str, extra: list[str], jobs: int) -> Plan:
            workers = itself if jobs == 1 else its_children
            return ours(name, args.folder, work, [*extra, "--jobs", str(jobs)], workers)

        # The same two commands on a folder of the first photo alone: their start-up
        # (mostly scikit-learn's import), for the rate once they are running.
        first = work / "first-photo"
        first.mkdir()
        (first / files[0].name).symlink_to(files[0])
        starts = [
            ours(
                f"one photo, --jobs {jobs}",
                first,
                work,
                ["--no-quality", "--jobs", str(jobs)],
                itself if jobs == 1 else its_children,
            )
            for jobs in (1, 2)
        ]
        plans: list[Plan | Run] = [
            local("quality, --jobs 1", [], 1),
            local("quality, --jobs 2", [], 2),
            local("palettes, --jobs 1", ["--no-quality"], 1),
            local("palettes, --jobs 2", ["--no-quality"], 2),
            pylette(files, work, args.pylette_venv),
        ]
        plans += [dask(stack, args.folder, work, malloc_trim) for malloc_trim in (True, False)]
        timing = [plan for plan in plans if isinstance(plan, Plan)] + starts
        # Round after round, every command once: a burst of other work on the
        # machine slows one round of every command, not every run of one command.
        for _ in range(args.repeats):
            for plan in timing:
                plan.time_once()
        for plan in timing:
            plan.finish(args.repeats)
            plan.run.palettes = plan.palettes()
    runs = [plan.run if isinstance(plan, Plan) else plan for plan in plans]
    quality1, quality2, palettes1, palettes2, theirs, on_dask, untrimmed = runs
    score([run for run in runs if not run.skipped], files)

    print(
        f"{n} JPEG photos in {args.folder} ({megapixels / 1e6:.0f} megapixels), k = {K}, "
        f"{os.cpu_count()} CPUs, fastest of {args.repeats} run(s) each; load average "
        f"{load:.1f} at the start (above 0.5, other work shares the CPUs: rerun)"
    )
    header = (
        f"{'command':<34}{'seconds':>9}{'pictures/s':>12}{'CPU s':>8}{'MB/worker':>11}"
        f"{'mean PSNR':>11}"
    )
    print(header)
    print("-" * len(header))
    for run in runs:
        if run.skipped and run.psnr is None:
            print(f"{run.name:<34}{run.skipped}")
            continue
        psnr = f"{run.psnr:.3f}" if run.psnr is not None else "-"
        print(
            f"{run.name:<34}{run.seconds:>9.1f}{run.per_second(n):>12.2f}"
            f"{run.cpu_seconds:>8.1f}{run.worker_mb:>11.0f}{psnr:>11}"
            + (f"  ({run.skipped})" if run.skipped else "")
        )
    print(
        "quality: ours by default, a palette AND the PSNR and mean ΔE of every picture redrawn "
        "at full size;\npalettes: ours with --no-quality, a palette (with shares) per picture, "
        "as Pylette gives.\nmean PSNR: every tool's palettes scored alike, on the full-size "
        "photos."
    )
    same_quality = same_palettes([quality1, quality2])
    same = same_palettes([palettes1, palettes2, on_dask, untrimmed])
    print(
        f"\nSame palettes from --jobs 1 and --jobs 2: {'yes' if same_quality else 'NO'} (quality), "
        f"{'yes' if same else 'NO'} (palettes, and Dask)"
    )

    speed = palettes2.per_second(n) / theirs.per_second(n)
    scaling = palettes2.per_second(n) / palettes1.per_second(n)
    targets = [
        (
            f"palettes --jobs 2 at least {SPEED_VS_PYLETTE}x Pylette's pictures/s ({speed:.2f}x)",
            speed >= SPEED_VS_PYLETTE,
        ),
        (
            f"its mean PSNR at least Pylette's ({palettes2.psnr:.3f} vs {theirs.psnr:.3f} dB)",
            palettes2.psnr is not None
            and theirs.psnr is not None
            and palettes2.psnr >= theirs.psnr,
        ),
        (
            f"palettes --jobs 2 at least {JOBS_SCALING}x palettes --jobs 1 ({scaling:.2f}x)",
            scaling >= JOBS_SCALING,
        ),
    ]
    ours_runs = [run for run in runs if run is not theirs and not run.skipped]
    worst = max(run.worker_mb for run in ours_runs)
    targets.append((f"under {MAX_WORKER_MB} MB per worker ({worst:.0f} MB)", worst < MAX_WORKER_MB))
    targets.append(("the same palettes from every engine and --jobs", same and same_quality))
    if not on_dask.skipped:
        ratio = on_dask.per_second(n) / palettes2.per_second(n)
        targets.append(
            (
                f"Dask at least {DASK_SHARE}x local palettes --jobs 2 ({ratio:.2f}x)",
                ratio >= DASK_SHARE,
            )
        )
    print("\nTargets:")
    for text, met in targets:
        print(f"  {'met' if met else 'NOT met'}: {text}")
    if not untrimmed.skipped:
        ratio = untrimmed.per_second(n) / palettes2.per_second(n)
        print(
            f"  (not a target) Dask with workers started without "
            f"MALLOC_TRIM_THRESHOLD_: {ratio:.2f}x local palettes --jobs 2"
        )
    if on_dask.skipped:
        print(f"  Dask within 20% of local --jobs 2: {on_dask.skipped}")
    # Pictures per second once running: the time beyond a one-photo run, per further photo.
    rates = [
        (n - 1) / (full.seconds - start.run.seconds)
        for full, start in zip((palettes1, palettes2), starts, strict=True)
    ]
    print(
        f"  (not a target) start-up and one photo: {starts[0].run.seconds:.2f} s (--jobs 1), "
        f"{starts[1].run.seconds:.2f} s (--jobs 2); pictures/s beyond it: {rates[0]:.2f} and "
        f"{rates[1]:.2f}, {rates[1] / rates[0]:.2f}x"
    )
    return 0 if all(met for _, met in targets) else 1


if __name__ == "__main__":
    sys.exit(main())
