"""The eye test, measured: the smallest k whose redraw a person can hardly tell from the original.

Two measures of "hardly tell":

- :func:`smallest_k_seen`: the mean FLIP difference at a viewing distance (see
  :mod:`kmeans_lib.perception`) at or below :data:`HARD_TO_TELL`. FLIP blurs
  what the eye cannot resolve from there, as the eye does.
- :func:`smallest_k`: the mean CIEDE2000 difference, pixel by pixel, at or
  below a threshold: 2.3 is often quoted as a just-noticeable difference. It
  is much stricter: no k up to 256 reaches 2.3 on the China sample in RGB.

The mean ΔE falls almost monotonically as k grows, so k is found by doubling
until the threshold is met and then bisecting, after which the two k just below
the answer are checked too. FLIP costs a tenth of a second or more per k, but
falls almost linearly in log k: its search interpolates in log k instead.

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
from kmeans_lib.images import Image
from kmeans_lib.perception import (
    DEFAULT_VIEWING,
    Viewing,
    check_viewing,
    flip_sample,
)
from kmeans_lib.pixels import ColourCounts, count_colours_with_index
from kmeans_lib.selection import sample_points

JUST_NOTICEABLE = 2.3
MIN_THRESHOLD, MAX_THRESHOLD = 1.0, 5.0
# Pixels the mean ΔE of each k is measured on: its standard error is then about
# 0.01-0.02 on a photo, far below the steps between neighbouring k.
EYE_TEST_SAMPLE = 50_000
# Neighbours below the answer that are checked after the bisection.
CHECKED_BELOW = 2
# "Hard to tell apart" in mean FLIP, chosen by our own measurement at laptop
# distance (41.9 ppd) on the built-in samples, against what JPEG compression
# leaves, which people judge by eye every day: quality 75 (the default of
# libjpeg and Pillow, widely taken to look the same as the original) gives
# 0.081 on china.jpg and 0.059 on flower.jpg; quality 50, where blocks begin to
# show on inspection, gives 0.104 and 0.074. 0.09 lies between the two on the
# default picture: a redraw this close is about as hard to tell from the
# original as an everyday JPEG. China then needs 166 colours in RGB at laptop
# distance (k = 256 gives 0.079, k = 128 gives 0.097), flower 95.
HARD_TO_TELL = 0.09
MIN_FLIP_THRESHOLD, MAX_FLIP_THRESHOLD = 0.02, 0.3
# Pixels of the picture as shown that FLIP measures for each k: all of a picture
# up to this size (china.jpg has 273,280), else windows evenly spread over it
# that cover about this many (exact FLIP values on them; see perception.flip_sample).
EYE_TEST_FLIP_PIXELS = 300_000
# The FLIP search stops once the answer is known to within this share of itself
# (at k = 170, within 8): neighbouring k differ by less than one k-means start
# from another there.
FLIP_PRECISION = 0.05
# The FLIP search's first k below the largest: photos need more colours than this
# to be hard to tell apart, and below it FLIP falls too steeply to interpolate.
FIRST_GUESS = 16


@dataclass(frozen=True)
class EyeTest:
    """The result of :func:`smallest_k` or :func:`smallest_k_seen`.

    Attributes
    ----------
    threshold : float
        The mean ΔE or mean FLIP a redraw must reach.
    k : int or None
        The smallest k whose redraw reaches it; None when no k up to ``max_k`` does.
    max_k : int
    values : dict of int to float
        The mean ΔE or FLIP of every k measured, by k.
    n_colours : int
        Distinct colours of the original.
    sample_size : int
        Pixels each value was measured on.
    seconds : float
        Wall time of the search.
    measure : {"delta_e", "flip"}
    viewing : Viewing or None
        The viewing distance of a FLIP search.
    """

    threshold: float
    k: int | None
    max_k: int
    values: dict[int, float]
    n_colours: int
    sample_size: int
    seconds: float
    measure: str = "delta_e"
    viewing: Viewing | None = None


def check_threshold(
    threshold: float,
    low: float = MIN_THRESHOLD,
    high: float = MAX_THRESHOLD,
    what: str = "just-noticeable difference",
) -> float:
    """Return ``threshold`` as a float if it is a number from ``low`` to ``high``
    (by default 1 to 5, the ΔE thresholds), else raise InputError."""
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, (int, float, np.integer, np.floating))
        or not low <= threshold <= high
    ):
        raise InputError(
            f"The {what} must be a number from {low:g} to {high:g}; got {threshold!r}. "
            "Choose a value in that range."
        )
    return float(threshold)


def _check_match(points: WeightedPoints, colours: ColourCounts) -> None:
    if colours.n_colours == 0 or points.n_points != colours.n_colours:
        raise InputError(
            "These points and colour counts do not belong to the same visible picture. "
            "Count the picture's colours and build its points again."
        )


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


class _Measured:
    """A measure of k taken once per k, reporting progress against an expected count."""

    def __init__(
        self,
        measure: Callable[[int], float],
        budget: int,
        progress: Callable[[float], None] | None,
    ) -> None:
        self._measure, self._budget, self._progress = measure, budget, progress
        self.values: dict[int, float] = {}

    def __call__(self, k: int) -> float:
        if k not in self.values:
            self.values[k] = self._measure(k)
            if self._progress is not None:
                self._progress(min(1.0, len(self.values) / self._budget))
        return self.values[k]

    def result(
        self,
        threshold: float,
        k: int | None,
        max_k: int,
        n_colours: int,
        sample_size: int,
        started: float,
        measure: str,
        viewing: Viewing | None = None,
    ) -> EyeTest:
        """The search's outcome (``started``: its ``time.perf_counter()``); progress ends at 1."""
        if self._progress is not None:
            self._progress(1.0)
        return EyeTest(
            threshold,
            k,
            max_k,
            dict(sorted(self.values.items())),
            n_colours,
            sample_size,
            time.perf_counter() - started,
            measure,
            viewing,
        )


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
    _check_match(points, colours)
    mean_delta_e, sample_size = _mean_delta_e_by_k(
        points, colours, colour_space, sample, random_state
    )
    # Doubling and then bisecting measures at most twice log2(max_k) k, plus the check.
    budget = 2 * int(np.ceil(np.log2(max_k))) + CHECKED_BELOW + 1
    measure = _Measured(mean_delta_e, budget, progress)

    def meets(k: int) -> bool:
        return measure(k) <= threshold

    def result(k: int | None) -> EyeTest:
        return measure.result(
            threshold, k, max_k, colours.n_colours, sample_size, started, "delta_e"
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


def _flip_by_k(
    image: Image,
    points: WeightedPoints,
    space: str,
    viewing: Viewing,
    random_state: int,
) -> tuple[Callable[[int], float], int]:
    """A function from k to the mean FLIP of that k's redraw as seen, and the pixels it counts.

    Each k's palette (one quick start, see :func:`_quick_centres`) paints the
    picture as shown, shrunk once: FLIP then runs at display size, on every
    pixel of it or on windows spread over it (see
    :func:`~kmeans_lib.perception.flip_sample`). Only those pixels are painted,
    looking the palette up once per distinct colour.
    """
    sample = flip_sample(image, viewing, EYE_TEST_FLIP_PIXELS)
    shown = Image(sample.pixels, sample.opaque)
    seen, index = count_colours_with_index(shown)
    features = to_features(seen.colours, space)

    def mean_flip(k: int) -> float:
        centres = _quick_centres(points, k, random_state)
        palette = np.rint(to_srgb(centres, space)).astype(np.uint8)
        with _threads_for(len(features)):
            labels = pairwise_distances_argmin(features, centres)
        # Transparent pixels keep their colour: they do not count.
        painted = shown.pixels.copy()
        if shown.opaque is None:
            painted.reshape(-1, 3)[:] = palette[labels[index]]
        else:
            painted[shown.opaque] = palette[labels[index]]
        return sample.mean(painted)

    return mean_flip, int(np.count_nonzero(sample.counted))


def _interpolated_search(
    measure: Callable[[int], float], threshold: float, max_k: int, precision: float
) -> int | None:
    """The smallest k (to within ``precision`` of itself) whose value is at most ``threshold``.

    ``measure`` falls almost linearly in log k from a few dozen colours on, and
    steeply below: the search brackets the answer between :data:`FIRST_GUESS`
    (or 1) and ``max_k``, then measures where the line through the bracket's
    ends crosses the threshold (regula falsi in log k, with the Illinois rule:
    an end kept twice has its distance to the threshold halved, so both ends
    move). A guess closer to an end than the precision is moved to that
    distance, so that a guess that lands near the answer also closes the bracket.
    """
    under = measure(max_k) - threshold
    if under > 0:
        return None
    low, high = min(FIRST_GUESS, max_k), max_k
    over = measure(low) - threshold
    if over <= 0:  # the answer is below the first guess: bracket it from 1
        if low == 1:
            return 1
        high, under = low, over
        low, over = 1, measure(1) - threshold
        if over <= 0:
            return 1
    # over > 0 >= under: low is above the threshold, high at or below it
    kept = 0  # +1: high was kept last time, -1: low was
    while high - low > max(1, precision * high):
        a, b = np.log(low), np.log(high)
        guess = int(np.rint(np.exp(a + over * (b - a) / (over - under))))
        step = max(1, int(precision * high))
        k = min(max(guess, low + step), high - step) if high - low > 2 * step else low + step
        value = measure(k) - threshold
        if value <= 0:
            high, under = k, value
            over, kept = (over / 2 if kept == -1 else over), -1
        else:
            low, over = k, value
            under, kept = (under / 2 if kept == 1 else under), 1
    return high


def smallest_k_seen(
    image: Image,
    points: WeightedPoints,
    colours: ColourCounts,
    *,
    threshold: float = HARD_TO_TELL,
    viewing: str | Viewing = DEFAULT_VIEWING,
    max_k: int = MAX_K,
    colour_space: str = "rgb",
    random_state: int = 0,
    progress: Callable[[float], None] | None = None,
) -> EyeTest:
    """Find the smallest k whose redraw is hard to tell from the picture at a viewing distance.

    Parameters
    ----------
    image : Image
        The picture.
    points : WeightedPoints
        ``image_points(colours, colour_space)``.
    colours : ColourCounts
        ``count_colours(image)``.
    threshold : float, default=HARD_TO_TELL
        Mean FLIP to reach, 0.02 to 0.3.
    viewing : {"phone", "laptop", "monitor", "poster"} or Viewing, default "laptop"
        Where the picture is seen (see :mod:`kmeans_lib.perception`).
    max_k : int, default=MAX_K
        The largest k tried.
    colour_space : {"rgb", "lab"}, default="rgb"
        The space ``points`` are in.
    random_state : int, default=0
        Seed of the fits.
    progress : callable, optional
        Called with a fraction (0-1) after each k measured.

    Returns
    -------
    EyeTest
        With ``measure="flip"``; ``k`` is the smallest k measured to reach the
        threshold, known to within :data:`FLIP_PRECISION` of itself.
    """
    started = time.perf_counter()
    threshold = check_threshold(
        threshold, MIN_FLIP_THRESHOLD, MAX_FLIP_THRESHOLD, "visible-difference threshold"
    )
    max_k = check_k(max_k)
    check_colour_space(colour_space)
    setting = check_viewing(viewing)
    _check_match(points, colours)
    mean_flip, n_pixels = _flip_by_k(image, points, colour_space, setting, random_state)
    # Two ends, then about three steps of the interpolation.
    measure = _Measured(mean_flip, 5, progress)
    k = _interpolated_search(measure, threshold, max_k, FLIP_PRECISION)
    return measure.result(
        threshold, k, max_k, colours.n_colours, n_pixels, started, "flip", setting
    )
