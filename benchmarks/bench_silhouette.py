"""Benchmark the silhouette sweep against scikit-learn's silhouette_samples per k.

Run: ``python benchmarks/bench_silhouette.py`` (about 3 minutes on 2 cores, most
of it the baseline and making the 12-megapixel photo).

The sweep is the Choose k page's: k = 2..10, 3 samples of 5,000 pixels. The
baseline is the code the sweep replaced, measured in the same run: for each k the
same sweep fit, then scikit-learn's ``silhouette_samples`` (in 16 MB blocks),
Calinski-Harabasz and Davies-Bouldin on each sample. It casts the samples to
float64 as the new path does, so the printed difference of the mean scores is
the arithmetic's, not float32's. The new path is timed without and with the
elbow curve (k = 1..20) whose fits it then reuses; the elbow sweep's own time is
printed too. Both run on china.jpg and on the 12 MP photo: the samples have the
same size there, so the baseline takes seconds, not minutes, and
``--skip-12mp-baseline`` leaves it out. Each figure is the fastest of 3 runs.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sklearn import config_context
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_samples

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_quantize import print_environment  # noqa: E402
from workloads import china, photo_12mp  # noqa: E402

from kmeans_lib.clustering import WeightedPoints, fit_kmeans, image_points  # noqa: E402
from kmeans_lib.images import Image  # noqa: E402
from kmeans_lib.pixels import count_colours  # noqa: E402
from kmeans_lib.selection import (  # noqa: E402
    elbow_sweep,
    sample_points,
    silhouette_sweep,
)

KS = range(2, 11)
ELBOW_KS = range(1, 21)
SAMPLE_SIZE = 5000
N_REPEATS = 3
REPEATS = 3
TARGET_SECONDS = 0.5


def fastest(run: Callable[[], object]) -> tuple[float, object]:
    """The fastest of REPEATS runs in seconds, and the last run's result."""
    best = float("inf")
    for _ in range(REPEATS):
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
    return best, result


def baseline_means(points: WeightedPoints) -> np.ndarray:
    """Mean silhouette per k the replaced way: scikit-learn per k and per sample."""
    rng = np.random.default_rng(0)
    samples = [
        sample_points(points.weights, SAMPLE_SIZE, random_state=rng) for _ in range(N_REPEATS)
    ]
    means = []
    for k in KS:
        # The sweep's fit (histogram, no polish), with every colour's label.
        labels = fit_kmeans(points, k, random_state=0, polish=False).labels
        scores = []
        for index in samples:
            X, sample_labels = points.X[index].astype(np.float64), labels[index]
            with config_context(working_memory=16):
                scores.append(silhouette_samples(X, sample_labels).mean())
            calinski_harabasz_score(X, sample_labels)
            davies_bouldin_score(X, sample_labels)
        means.append(np.mean(scores))
    return np.array(means)


def verdict(seconds: float) -> str:
    return "met" if seconds < TARGET_SECONDS else "NOT met"


def bench(name: str, pixels: np.ndarray, with_baseline: bool) -> None:
    points = image_points(count_colours(Image(pixels)))
    print(f"{name}: {pixels.shape[0] * pixels.shape[1]:,} pixels, {points.n_points:,} colours")
    elbow_s, curve = fastest(lambda: elbow_sweep(points, ELBOW_KS))
    new_s, new = fastest(lambda: silhouette_sweep(points, KS))
    shared_s, shared = fastest(lambda: silhouette_sweep(points, KS, elbow=curve))
    print(f"  elbow sweep k={ELBOW_KS.start}..{ELBOW_KS.stop - 1}      {elbow_s:8.3f} s")
    print(
        f"  new sweep, with its fits     {new_s:8.3f} s  "
        f"(target {TARGET_SECONDS} s: {verdict(new_s)})"
    )
    print(
        f"  new sweep, elbow's fits      {shared_s:8.3f} s  "
        f"(target {TARGET_SECONDS} s: {verdict(shared_s)})"
    )
    difference = np.abs(new.mean - shared.mean).max()
    print(f"  max |mean difference| with and without the elbow: {difference:.1e}")
    if with_baseline:
        base_s, base = fastest(lambda: baseline_means(points))
        print(f"  baseline (sklearn per k)     {base_s:8.3f} s")
        print(
            f"  speed-up: {base_s / new_s:.1f}x with its fits, "
            f"{base_s / shared_s:.1f}x with the elbow's"
        )
        print(f"  max |mean difference| from the baseline: {np.abs(new.mean - base).max():.1e}")
    else:
        print("  baseline skipped (--skip-12mp-baseline)")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--skip-12mp-baseline", action="store_true", help="time only the new path at 12 MP"
    )
    args = parser.parse_args()
    print_environment()
    print(
        f"Silhouette sweep k={KS.start}..{KS.stop - 1}, {N_REPEATS} samples of "
        f"{SAMPLE_SIZE:,} pixels, fastest of {REPEATS} runs\n"
    )
    silhouette_sweep(image_points(count_colours(Image(china()))), [2], sample_size=100)  # warm-up
    bench("china", china(), with_baseline=True)
    bench("photo12MP", photo_12mp(), with_baseline=not args.skip_12mp_baseline)


if __name__ == "__main__":
    main()
