"""The eye test, measured: the smallest k whose redraw a person can hardly tell from the original.

"Hardly tell" is a mean CIEDE2000 difference at or below a threshold: 2.3 is
often quoted as a just-noticeable difference. The mean ΔE falls almost
monotonically as k grows, so k is found by doubling until the threshold is met
and then bisecting, after which the two k just below the answer are checked too.

Each k is measured quickly: one k-means start on the picture's colour
histogram (the start :func:`~kmeans_lib.clustering.fit_kmeans` polishes on
every colour), and the mean ΔE on a random sample of pixels. The redraw at the
answer, polished, is usually a little closer still.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from skimage.color import deltaE_ciede2000
from sklearn.cluster import KMeans
from sklearn.metrics import pairwise_distances_argmin

from kmeans_lib.clustering import MAX_K, WeightedPoints, _threads_for, check_k
from kmeans_lib.colour_space import check_colour_space, to_features, to_srgb
from kmeans_lib.errors import InputError
from kmeans_lib.pixels import ColourCounts
from kmeans_lib.selection import sample_points

JUST_NOTICEABLE = 2.3
MIN_THRESHOLD, MAX_THRESHOLD = 1.0, 5.0
# Pixels the mean ΔE of each k is measured on: its standard error is then about
# 0.01-0.02 on a photo, far below the steps between neighbouring k.
EYE_TEST_SAMPLE = 50_000
# Neighbours below the answer that are checked after the bisection.
CHECKED_BELOW = 2


@dataclass(frozen=True)
class EyeTest:
    """The result of :func:`smallest_k`.

    Attributes
    ----------
    threshold : float
        The mean ΔE a redraw must reach.
    k : int or None
        The smallest k whose redraw reaches it; None when no k up to ``max_k`` does.
    max_k : int
    delta_e : dict of int to float
        The mean ΔE of every k measured, by k.
    n_colours : int
        Distinct colours of the original.
    sample_size : int
        Pixels the mean ΔE was measured on.
    seconds : float
        Wall time of the search.
    """

    threshold: float
    k: int | None
    max_k: int
    delta_e: dict[int, float]
    n_colours: int
    sample_size: int
    seconds: float


def check_threshold(threshold: float) -> float:
    """Return ``threshold`` as a float if it is a number from 1 to 5, else raise InputError."""
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, (int, float, np.integer, np.floating))
        or not MIN_THRESHOLD <= threshold <= MAX_THRESHOLD
    ):
        raise InputError(
            f"The just-noticeable difference must be a number from {MIN_THRESHOLD:g} to "
            f"{MAX_THRESHOLD:g}; got {threshold!r}. Choose a value in that range."
        )
    return float(threshold)


def _quick_centres(points: WeightedPoints, k: int, random_state: int) -> np.ndarray:
    """k centres from one k-means start on the colour histogram, when there is one.

    Only the centres are needed, so unlike :func:`~kmeans_lib.clustering.fit_kmeans`
    nothing is assigned or measured on every colour. One start instead of three
    (a tenth to a quarter less time, on a busy machine) moved the answer on
    china.jpg by 1 to 7 (of about 90 to 210): near the answer the mean ΔE changes
    by a few hundredths per k, less than one start differs from another.
    """
    summary = points.coarse if points.coarse is not None and points.coarse.n_points > k else points
    if summary.n_points <= k:
        return summary.X.astype(np.float64)
    with _threads_for(summary.n_points):
        model = KMeans(k, n_init=1, random_state=random_state)
        return model.fit(summary.X, sample_weight=summary.weights).cluster_centers_


def _mean_delta_e_by_k(
    points: WeightedPoints, colours: ColourCounts, space: str, sample: int, random_state: int
) -> tuple[Callable[[int], float], int]:
    """A function from k to the mean ΔE of that k's redraw, on a sample of pixels."""
    drawn = sample_points(colours.counts, sample, random_state=random_state)
    rows, repeats = np.unique(drawn, return_counts=True)
    weights = repeats / len(drawn)
    features = points.X[rows].astype(np.float64)
    original_lab = to_features(colours.colours[rows], "lab", dtype=np.float32)

    def mean_delta_e(k: int) -> float:
        centres = _quick_centres(points, k, random_state)
        palette = np.rint(to_srgb(centres, space)).astype(np.uint8)
        with _threads_for(len(features)):
            labels = pairwise_distances_argmin(features, centres)
        palette_lab = to_features(palette, "lab", dtype=np.float32)
        return float(weights @ deltaE_ciede2000(original_lab, palette_lab[labels]))

    return mean_delta_e, len(drawn)


def smallest_k(
    points: WeightedPoints,
    colours: ColourCounts,
    *,
    threshold: float = JUST_NOTICEABLE,
    max_k: int = MAX_K,
    colour_space: str = "rgb",
    random_state: int = 0,
    sample: int = EYE_TEST_SAMPLE,
    progress: Callable[[float], None] | None = None,
) -> EyeTest:
    """Find the smallest k whose redraw differs from the original by at most ``threshold``.

    Parameters
    ----------
    points : WeightedPoints
        ``image_points(colours, colour_space)``.
    colours : ColourCounts
        The picture's distinct colours.
    threshold : float, default=JUST_NOTICEABLE
        Mean CIEDE2000 to reach, 1 to 5.
    max_k : int, default=MAX_K
        The largest k tried.
    colour_space : {"rgb", "lab"}, default="rgb"
        The space ``points`` are in.
    random_state : int, default=0
        Seed of the fits and of the pixel sample.
    sample : int, default=EYE_TEST_SAMPLE
        Pixels the mean ΔE is measured on (every pixel of a smaller picture).
    progress : callable, optional
        Called with a fraction (0-1) after each k measured.

    Returns
    -------
    EyeTest
    """
    started = time.perf_counter()
    threshold = check_threshold(threshold)
    max_k = check_k(max_k)
    check_colour_space(colour_space)
    if colours.n_colours == 0 or points.n_points != colours.n_colours:
        raise InputError(
            "These points and colour counts do not belong to the same visible picture. "
            "Count the picture's colours and build its points again."
        )
    measure, sample_size = _mean_delta_e_by_k(points, colours, colour_space, sample, random_state)
    measured: dict[int, float] = {}
    # Doubling and then bisecting measures at most twice log2(max_k) k, plus the check.
    budget = 2 * int(np.ceil(np.log2(max_k))) + CHECKED_BELOW + 1

    def meets(k: int) -> bool:
        if k not in measured:
            measured[k] = measure(k)
            if progress is not None:
                progress(min(1.0, len(measured) / budget))
        return measured[k] <= threshold

    def result(k: int | None) -> EyeTest:
        if progress is not None:
            progress(1.0)
        return EyeTest(
            threshold,
            k,
            max_k,
            dict(sorted(measured.items())),
            colours.n_colours,
            sample_size,
            time.perf_counter() - started,
        )

    below, k = 0, 1  # invariant: every k measured up to `below` is above the threshold
    while not meets(k):
        if k == max_k:
            return result(None)
        below, k = k, min(2 * k, max_k)
    while True:
        while k - below > 1:
            middle = (below + k) // 2
            below, k = (below, middle) if meets(middle) else (middle, k)
        # ΔE falls only almost monotonically: a k just below the answer may
        # still reach the threshold.
        lower = [j for j in range(k - 1, max(0, k - 1 - CHECKED_BELOW), -1) if meets(j)]
        if not lower:
            return result(k)
        k = below = lower[-1]
        below -= 1
