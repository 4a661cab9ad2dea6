"""k-means on weighted points, and colour quantization of images built on it.

Identical colours are fitted once, weighted by how many pixels have them: with
``sample_weight`` scikit-learn's k-means then minimises exactly the same sum of
squared distances as a fit on every pixel, with far fewer rows. Photos with very
many distinct colours are first fitted on a colour histogram (bin means weighted
by bin counts), then from k = 32 on finer bins, the fit is improved by moving
centres from where they matter least to where they are most needed (see
``_jump_search``), and then polished on the exact distinct colours (unless there
are very many of them: the finer bins' centres then label them directly).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
from joblib import cpu_count
from sklearn.cluster import KMeans
from threadpoolctl import ThreadpoolController

from kmeans_lib.colour_space import (
    check_colour_space,
    check_palette,
    hex_codes,
    to_features,
    to_srgb,
)
from kmeans_lib.errors import InputError
from kmeans_lib.images import Image
from kmeans_lib.pixels import (
    ColourCounts,
    count_colours,
    map_colours,
)

MAX_K = 256
# Above this many distinct colours a histogram pre-fit pays for itself.
COARSE_MIN_POINTS = 20_000
# 5 bits per channel: at most 32**3 = 32,768 bins, each 8 levels wide.
_COARSE_SHIFT = 3
# Bins a sweep labels whole (see _bins_inside): 4 levels wide, so that fewer
# of them straddle a border between two centres' cells than 8-level bins would.
_MEMBER_SHIFT = 2
# Lloyd steps on the exact colours after the histogram fit, from MEMBER_MIN_K:
# POLISH_BUDGET / m for m distinct colours, from POLISH_MIN_ITER to POLISH_MAX_ITER
# (they stop sooner when no label changes). Not fewer at a larger k although each
# step costs more: the histogram's bins are then coarser against the clusters, and
# its centres further from the exact minimum. On china.jpg (97,000 colours) 4 steps
# left the MSE at k=256 0.8% above 40 steps (0.034 dB).
POLISH_MAX_ITER = 40
POLISH_MIN_ITER = 3
POLISH_BUDGET = 4_500_000
# Rounds of the jump search on the histogram before the polish (see _jump_search),
# and the Lloyd steps each round may take there. A Lloyd fit stops in the nearest
# local minimum, where some centres share a dense region while a wide cluster
# has one; moving the former into the latter and fitting again found minima
# 0.9% lower on the 12 MP photo at k=64 and 1.3% on flower.jpg at k=32, where
# scikit-learn's fit on every pixel had been ahead. 8 steps a round rather than
# 20 (where most rounds stopped) saved 0.03 s of the 1.1 s at 12 MP, k=64, and
# changed the polished MSE by +0.04% and -0.3% on the two 12 MP photos.
JUMP_ROUNDS = 4
JUMP_MAX_ITER = 8
# From this k the 8-level histogram bins are as wide as a cluster: the jumps'
# centres are then fitted again on the 4-level member bins, with a jump search
# there too, and the polish takes at least FINE_POLISH_MIN_ITER steps. On the
# 12 MP photos the search on the member bins gained 0.003-0.025 dB at k=128 and
# 256, and 10 polish steps instead of 3 another 0.012-0.023 dB; no time is
# promised there, unlike at k=16 and 64.
FINE_MIN_K = 96
# From this k the member bins' stage follows the histogram fit (see
# MEMBER_MAX_ITER). Below it the histogram fit, its jump search and a short
# polish (SMALL_K_POLISH_*: at most 10 steps, fewer when a step costs more than
# a tenth of the budget in points times clusters) keep a change of k in the app
# quick (china.jpg at k=16: 0.08 s, not 0.2 s). The search there took flower.jpg
# from -0.181 to +0.000 dB against scikit-learn at k=14, and china.jpg from
# -0.068 to +0.009 at k=28, for about 0.01 s.
MEMBER_MIN_K = 32
SMALL_K_POLISH_MAX_ITER = 10
SMALL_K_POLISH_BUDGET = 100_000_000
FINE_MAX_ITER = 100
# From MEMBER_MIN_K to FINE_MIN_K the histogram's centres take up to
# MEMBER_MAX_ITER Lloyd steps on the member bins. Then, on at most
# EXACT_POLISH_MAX_POINTS colours, the jump search runs there (instead of on the
# histogram) before the polish. On more colours, as in a 12 MP photo, there is no
# polish: its three steps on 1.5 million colours took as long as the member bins'
# Lloyd steps and labelling (whose points are exact: only the member bins' fit is
# not), and left the MSE higher. Against scikit-learn's fit on every pixel
# (seed 0) this moved the 12 MP photos from +0.000 and -0.032 dB to +0.007 and
# -0.019 at k=64, and flower 12 MP from -0.053 to -0.018 at k=32, in the same
# time. china.jpg and flower.jpg at k=64, over seeds 0-7: +0.007 and +0.030 dB on
# average (seed 0 of the search on the histogram was -0.027 on china.jpg).
MEMBER_MAX_ITER = 30
EXACT_POLISH_MAX_POINTS = 500_000
FINE_JUMP_MAX_ITER = 20
# From FINE_MIN_K, on at most EXACT_POLISH_MAX_POINTS points, the search on the
# member bins may take this many rounds. Against scikit-learn (seed 0), 8 rounds
# instead of 4 moved china.jpg from +0.053/+0.030/+0.011/+0.008 dB at k = 96, 128,
# 192 and 256 to +0.053/+0.036/+0.035/+0.022, and flower.jpg from -0.004/+0.016/
# +0.005/+0.008 to +0.027/+0.038/+0.021/+0.031, for 0.3 s more at k=256. On the
# 12 MP photos they gained 0.000-0.016 dB for 1.4-2.1 s more at k=256, so there
# the search keeps JUMP_ROUNDS.
FINE_JUMP_ROUNDS = 8
FINE_POLISH_MIN_ITER = 10
# Below this many points k-means runs on one thread: each step is then too short
# for OpenMP and BLAS threads to pay off, and on a busy machine their waiting made a
# k=1..20 sweep on china.jpg 20 times slower (6-20 s instead of 0.25-0.5 s).
PARALLEL_MIN_POINTS = 200_000
# Or above this many points times clusters, in the stages of the polished fit
# whose steps are long enough for two threads to pay off: with them china.jpg's
# fit + redraw at k=256 (25,000 member bins, 97,000 colours) took 2.5 s instead of
# 3.4 s, and the 12 MP photo's at k=256 (56,000 bins) 6.3 s instead of 7.7 s.
PARALLEL_MIN_WORK = 3_000_000
_THREADPOOLS = ThreadpoolController()
_ASSIGN_BLOCK = 1 << 18

T = TypeVar("T")
R = TypeVar("R")
_MEMBERS_LOCK = threading.Lock()


@dataclass(frozen=True)
class BinMembers:
    """Which points each bin of a colour histogram stands for, and how spread they are.

    Attributes
    ----------
    means : ndarray of float64, shape (n_bins, d)
        Weighted mean of each bin's points.
    weights : ndarray of float64, shape (n_bins,)
        Total weight of each bin's points.
    point_bin : ndarray of int32, shape (m,)
        The bin of each point: a row of ``means``.
    scatter : ndarray of float64, shape (n_bins,)
        Weighted sum of squared distances from the bin's points to its mean.
    radius : ndarray of float64, shape (n_bins,)
        Largest distance from the bin's mean to one of its points.
    """

    means: np.ndarray
    weights: np.ndarray
    point_bin: np.ndarray
    scatter: np.ndarray
    radius: np.ndarray


@dataclass(frozen=True)
class WeightedPoints:
    """Points with a weight each: distinct colours with pixel counts, or table rows.

    Attributes
    ----------
    X : ndarray of float32 or float64, shape (m, d)
        Coordinates: float32 for colours, float64 for table rows.
    weights : ndarray of float64, shape (m,)
    coarse : WeightedPoints or None
        A smaller summary of the same points (histogram bin means weighted by bin
        counts) used to find a good start quickly; None for small inputs.
    bin_colours : ndarray of uint8, shape (m, 3), or None
        The sRGB colour of each point, for an image's colours with a ``coarse``
        summary: their colour bins make :attr:`members`.
    """

    X: np.ndarray
    weights: np.ndarray
    coarse: WeightedPoints | None = None
    bin_colours: np.ndarray | None = field(default=None, repr=False)

    @property
    def members(self) -> BinMembers | None:
        """The points grouped in small colour bins, which lets a sweep label whole
        bins at once; None without ``bin_colours``.

        Worked out when a sweep first asks (about 0.05 s for a 12-megapixel photo's
        1.5 million colours), not when the points are made: a redraw never needs it.
        """
        if self.bin_colours is None:
            return None
        with _MEMBERS_LOCK:  # sweep threads ask at the same time
            members = self.__dict__.get("_members")
            if members is None:
                members = _bin_members(self.bin_colours, self.X, self.weights)
                object.__setattr__(self, "_members", members)
        return members

    @property
    def n_points(self) -> int:
        """Number of points (rows of ``X``)."""
        return len(self.X)


@dataclass(frozen=True)
class KMeansFit:
    """The result of :func:`fit_kmeans`.

    Attributes
    ----------
    centers : ndarray of float64, shape (n_clusters, d)
        Every cluster has at least one point of positive weight.
    labels : ndarray of int, shape (m,), or None
        The cluster of each point; None when :func:`fit_kmeans` was asked for
        none.
    inertia : float
        Weighted sum of squared distances from each point to its centre: over
        distinct colours weighted by counts this is scikit-learn's ``inertia_``
        over all pixels.
    n_iter : int
        Lloyd iterations run (histogram pre-fit plus polish).
    seconds : float
        Wall time of the fit.
    """

    centers: np.ndarray
    labels: np.ndarray | None
    inertia: float
    n_iter: int
    seconds: float

    @property
    def n_clusters(self) -> int:
        """Number of clusters found (can be fewer than asked for)."""
        return len(self.centers)


def check_k(k: int) -> int:
    """Return ``k`` as an int if it is a whole number from 1 to :data:`MAX_K`."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= MAX_K:
        raise InputError(
            f"k, the number of groups (colours, for a picture), must be a whole number "
            f"from 1 to {MAX_K}; got {k!r}. Choose a value in that range."
        )
    return int(k)


def check_visible(colours: ColourCounts) -> None:
    """Raise InputError when an image has no opaque pixel, so no colour to group."""
    if colours.n_colours == 0:
        raise InputError(
            "Every pixel of this image is transparent, so there are no colours to "
            "group. Choose an image with visible pixels."
        )


def _bin_codes(colours: np.ndarray, shift: int) -> np.ndarray:
    """Each colour's RGB bin, ``8 - shift`` bits per channel, as one integer."""
    c = colours >> shift
    bits = 8 - shift
    codes = c[:, 0].astype(np.int32)  # int32: half of intp's memory for millions of colours
    codes <<= bits
    codes |= c[:, 1]
    codes <<= bits
    codes |= c[:, 2]
    return codes


def _bin_means(
    bins: np.ndarray, n_bins: int, X: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The occupied bins, their weighted means of ``X`` (float64) and their total weights."""
    totals = np.bincount(bins, weights=weights, minlength=n_bins)
    occupied = np.flatnonzero(totals)
    sums = np.column_stack(
        [np.bincount(bins, weights=weights * X[:, j], minlength=n_bins) for j in range(3)]
    )
    return occupied, sums[occupied] / totals[occupied, None], totals[occupied]


def _colour_histogram(colours: np.ndarray, X: np.ndarray, weights: np.ndarray) -> WeightedPoints:
    """Weighted mean of ``X`` and total weight in each occupied RGB bin."""
    _, means, totals = _bin_means(_bin_codes(colours, _COARSE_SHIFT), 1 << 15, X, weights)
    # float64: scikit-learn's k-means++ seeding is much slower on float32 input.
    return WeightedPoints(X=means, weights=totals)


def _bin_members(colours: np.ndarray, X: np.ndarray, weights: np.ndarray) -> BinMembers:
    """The points grouped in RGB bins of :data:`_MEMBER_SHIFT`, with their spread."""
    n_bins = 1 << (3 * (8 - _MEMBER_SHIFT))
    bins = _bin_codes(colours, _MEMBER_SHIFT)
    occupied, means, totals = _bin_means(bins, n_bins, X, weights)
    row_of_bin = np.zeros(n_bins, dtype=np.int32)
    row_of_bin[occupied] = np.arange(len(occupied))
    # Each step frees what it no longer needs: a sweep on a 12 MP photo makes
    # these for 1.5 million colours while other viewers' pictures are held.
    point_bin = row_of_bin[bins]
    del bins
    squared = np.empty(len(X))
    for begin in range(0, len(X), _ASSIGN_BLOCK):
        block = slice(begin, begin + _ASSIGN_BLOCK)
        residuals = X[block] - means[point_bin[block]]
        squared[block] = np.einsum("ij,ij->i", residuals, residuals)
    radius = np.zeros(len(occupied))
    np.maximum.at(radius, point_bin, squared)
    np.sqrt(radius, out=radius)
    squared *= weights
    return BinMembers(
        means=means,
        weights=totals,
        point_bin=point_bin,
        scatter=np.bincount(point_bin, weights=squared, minlength=len(occupied)),
        radius=radius,
    )


def _two_nearest(X: np.ndarray, centers: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each point's nearest centre, and its squared distances to the nearest and the
    second nearest (infinite with a single centre).

    Dot products, so the distances are a rounding away from exact differences:
    for choosing and comparing centres, not for an inertia.
    """
    nearest = np.empty(len(X), dtype=np.intp)
    first = np.empty(len(X))
    second = np.full(len(X), np.inf)
    centre_norms = (centers**2).sum(axis=1)
    # A block at a time: 56,000 bins by 256 centres would take 115 MB at once, and a
    # sweep thread's blocks of bins with their partitioned copy 30 MB at 20 centres.
    for begin in range(0, len(X), _ASSIGN_BLOCK // 32):
        block = slice(begin, begin + _ASSIGN_BLOCK // 32)
        squared = (X[block] ** 2).sum(axis=1)[:, None] - 2 * X[block] @ centers.T
        squared += centre_norms
        np.maximum(squared, 0.0, out=squared)
        closest = squared.argmin(axis=1)
        nearest[block] = closest
        rows = np.arange(len(closest))
        first[block] = squared[rows, closest]
        if len(centers) > 1:
            # The second smallest is the smallest once the first is masked: a
            # third of np.partition's time on 64 centres.
            squared[rows, closest] = np.inf
            second[block] = squared.min(axis=1)
    return nearest, first, second


def _bins_inside(
    members: BinMembers, centers: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
    """Find the bins that lie wholly in one centre's cell, and their inertia.

    A bin whose mean is nearer its nearest centre than the second nearest by
    more than twice the bin's radius has all its points nearest that centre, and
    their inertia is the bin's weight times the squared distance from its mean,
    plus its scatter (exactly, by the parallel axis theorem). Only the points of
    the other bins, near the cells' borders, need a distance to every centre.

    Returns
    -------
    nearest : ndarray of int, shape (n_bins,)
        Each bin's nearest centre: every point's label in a bin ``inside``.
    inside : ndarray of bool, shape (n_bins,)
    inertia : float
        Of the points in the bins ``inside``.
    rows : ndarray of int
        The other points, sorted.
    """
    means = members.means
    # Dot products for the test (with a margin far above their rounding), exact
    # differences for the inertia.
    nearest, first, second = _two_nearest(means, centers)
    inside = np.sqrt(second) - np.sqrt(first) > 2 * members.radius + 1e-6
    residuals = means[inside] - centers[nearest[inside]]
    inertia = float(np.dot(members.weights[inside], np.einsum("ij,ij->i", residuals, residuals)))
    inertia += float(members.scatter[inside].sum())
    rows = np.flatnonzero(~inside[members.point_bin])
    return nearest, inside, inertia, rows


def image_points(colours: ColourCounts, space: str = "rgb") -> WeightedPoints:
    """The distinct colours of an image as weighted points for :func:`fit_kmeans`.

    Parameters
    ----------
    colours : ColourCounts
    space : {"rgb", "lab"}
        Colour space the distances are measured in.

    Returns
    -------
    WeightedPoints
        One point per distinct colour weighted by its pixel count, with a colour
        histogram as ``coarse`` when there are many distinct colours.
    """
    # float32 is ample for colour coordinates and halves the memory and the
    # memory traffic of every k-means pass over millions of distinct colours.
    X = to_features(colours.colours, space, dtype=np.float32)
    weights = colours.counts.astype(np.float64)
    if colours.n_colours <= COARSE_MIN_POINTS:
        return WeightedPoints(X=X, weights=weights)
    coarse = _colour_histogram(colours.colours, X, weights)
    return WeightedPoints(X=X, weights=weights, coarse=coarse, bin_colours=colours.colours)


def single_cluster(points: WeightedPoints) -> tuple[np.ndarray, float]:
    """The best single cluster: the weighted mean and the weighted sum of squares about it.

    :func:`fit_kmeans` at k = 1 and the total of :func:`~kmeans_lib.selection.elbow_sweep`
    both come from here, so the variance explained at k = 1 is exactly 0.

    Parameters
    ----------
    points : WeightedPoints
        At least one point.

    Returns
    -------
    mean : ndarray of float64, shape (d,)
    total : float
        Weighted sum of squared distances from each point to ``mean``.
    """
    mean = np.average(points.X, axis=0, weights=points.weights)
    total = 0.0
    # A block at a time: a photo's full-size float64 residuals would be 36 MB.
    for begin in range(0, points.n_points, _ASSIGN_BLOCK):
        block = slice(begin, begin + _ASSIGN_BLOCK)
        residuals = points.X[block] - mean
        total += float(np.dot(points.weights[block], np.einsum("ij,ij->i", residuals, residuals)))
    return mean, total


def _lloyd(X: np.ndarray, weights: np.ndarray, centers: np.ndarray, max_iter: int) -> KMeans:
    """scikit-learn's Lloyd steps from ``centers`` until no label changes, at most ``max_iter``."""
    model = KMeans(len(centers), init=centers, n_init=1, max_iter=max_iter, tol=0)
    return model.fit(X, sample_weight=weights)


def _jump_search(
    X: np.ndarray, weights: np.ndarray, model: KMeans, max_iter: int, rounds: int = JUMP_ROUNDS
) -> tuple[KMeans, int]:
    """Improve a fitted k-means by moving centres from where they matter least.

    Each round takes the ``m`` centres whose removal would raise the inertia
    least (their points' extra distance to their second nearest centre) and
    puts them in the ``m`` clusters most spread along one axis (weight times the
    largest variance): each such cluster is split in two along that axis, one
    centre at its mean plus and one at minus ``sqrt(2 / pi)`` standard
    deviations (where the halves of a normal cluster have their means). Lloyd
    steps follow; the round is kept if the inertia fell, else ``m`` is halved,
    and the search ends when even one move fails.
    ``m`` starts at ``k / 8``: many moves at a time cost no more Lloyd steps
    than one. Nothing is random, so the search keeps the fit deterministic.

    Parameters
    ----------
    X : ndarray of float64, shape (n, d)
    weights : ndarray of float64, shape (n,)
    model : KMeans
        Fitted on ``X`` with ``weights``.
    max_iter : int
        Lloyd steps after each round's moves, at most.
    rounds : int, default=JUMP_ROUNDS
        Rounds of moves, at most.

    Returns
    -------
    model : KMeans
        The best fit found: ``model`` itself when no round lowered the inertia.
    n_iter : int
        Lloyd steps run.
    """
    k = len(model.cluster_centers_)
    n_iter = 0
    n_moves = max(1, k // 8)
    # BLAS on one thread: the distance products alternate with scikit-learn's
    # OpenMP steps, and two BLAS threads still spinning after each product slowed
    # those steps by a quarter. The same fit, 6-13% sooner at k=96-256 on the
    # member bins (china.jpg at k=256: 2.1 s instead of 2.4 s).
    with _THREADPOOLS.limit(limits=1, user_api="blas"):
        for _ in range(rounds):
            centers = model.cluster_centers_
            nearest, first, second = _two_nearest(X, centers)
            removal_cost = np.bincount(nearest, weights=weights * (second - first), minlength=k)
            cluster_weight = np.bincount(nearest, weights=weights, minlength=k)
            residuals = X - centers[nearest]
            covariance = np.empty((k, X.shape[1], X.shape[1]))
            for a in range(X.shape[1]):
                for b in range(a, X.shape[1]):
                    moment = weights * residuals[:, a] * residuals[:, b]
                    covariance[:, a, b] = np.bincount(nearest, weights=moment, minlength=k)
                    covariance[:, b, a] = covariance[:, a, b]
            covariance /= np.maximum(cluster_weight, 1e-12)[:, None, None]
            variances, axes = np.linalg.eigh(covariance)
            moved = np.argsort(removal_cost, kind="stable")[:n_moves]
            by_spread = np.argsort(-variances[:, -1] * cluster_weight, kind="stable")
            split = by_spread[~np.isin(by_spread, moved)][:n_moves]
            offsets = np.sqrt(variances[split, -1] * 2 / np.pi)[:, None] * axes[split, :, -1]
            trial = centers.copy()
            trial[split] = centers[split] + offsets
            trial[moved] = centers[split] - offsets
            candidate = _lloyd(X, weights, trial, max_iter)
            n_iter += int(candidate.n_iter_)
            if candidate.inertia_ < model.inertia_:
                model = candidate
            elif n_moves == 1:
                break
            else:
                n_moves //= 2
    return model, n_iter


def _polish_iterations(n_points: int, k: int) -> int:
    """Lloyd steps for polishing ``k`` centres on ``n_points`` points (see POLISH_BUDGET,
    and SMALL_K_POLISH_BUDGET below MEMBER_MIN_K)."""
    if k < MEMBER_MIN_K:
        budget = SMALL_K_POLISH_BUDGET // (n_points * k)
        return min(SMALL_K_POLISH_MAX_ITER, max(POLISH_MIN_ITER, budget))
    least = FINE_POLISH_MIN_ITER if k >= FINE_MIN_K else POLISH_MIN_ITER
    return min(POLISH_MAX_ITER, max(least, POLISH_BUDGET // n_points))


def _threads_for(n_points: int, k: int = 0):
    """One OpenMP and BLAS thread for a k-means pass over fewer than PARALLEL_MIN_POINTS,
    unless its ``k`` clusters make the steps long (PARALLEL_MIN_WORK)."""
    parallel = n_points >= PARALLEL_MIN_POINTS or n_points * k >= PARALLEL_MIN_WORK
    return _THREADPOOLS.limit(limits=None if parallel else 1)


def one_thread():
    """A context in which k-means (OpenMP) and BLAS run on one thread.

    scikit-learn's Lloyd steps add up each thread's part of the sums, so a fit
    on two threads can end a rounding away from one on a single thread, and a
    palette colour one level apart. Within this context a fit is the same
    whatever the number of CPUs or of other jobs beside it.
    """
    return _THREADPOOLS.limit(limits=1)


def check_n_jobs(n_jobs: int | None) -> int:
    """Threads for ``n_jobs`` as scikit-learn reads it: None is 1, -1 every CPU."""
    if n_jobs is None:
        return 1
    if n_jobs == -1:
        return cpu_count()
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int | np.integer) or n_jobs < 1:
        raise InputError(f"n_jobs must be a whole number from 1 up, or -1; got {n_jobs!r}.")
    return int(n_jobs)


def map_in_threads(
    function: Callable[[T], R], items: Iterable[T], n_jobs: int | None = None
) -> Iterator[R]:
    """``function(item)`` for each item, in order, computed on up to ``n_jobs`` threads.

    Each call runs with one OpenMP and one BLAS thread, so the threads share the
    cores instead of multiplying them. The BLAS limit is one setting for the whole
    process, so it is set once around all the calls: limits set and restored by
    calls that overlap would leave it at whatever the last one restored. The
    results are yielded in the calling thread, where a progress bar can be moved.
    """
    n_threads = check_n_jobs(n_jobs)
    if n_threads == 1:
        yield from map(function, items)
        return

    def single_threaded(item: T) -> R:
        with _THREADPOOLS.limit(limits=1):
            return function(item)

    with _THREADPOOLS.limit(limits=1), ThreadPoolExecutor(n_threads) as pool:
        yield from pool.map(single_threaded, items)


def fit_kmeans(
    points: WeightedPoints,
    k: int,
    *,
    random_state: int = 0,
    n_init: int = 3,
    polish: bool = True,
    with_labels: bool = True,
) -> KMeansFit:
    """Weighted k-means with scikit-learn's :class:`~sklearn.cluster.KMeans`.

    Parameters
    ----------
    points : WeightedPoints
    k : int
        Number of clusters, 1 to 256. When the points have fewer distinct
        positions than ``k``, every point becomes its own cluster.
    random_state : int, default=0
        Seed of the k-means++ initialisation; the same seed gives the same fit.
    n_init : int, default=3
        Number of k-means++ starts, keeping the best: on the histogram when
        ``points.coarse`` is set (where extra starts are cheap), else on the points.
    polish : bool, default=True
        When ``points.coarse`` is set: improve the histogram fit by moving
        centres (see :func:`_jump_search`), and from k = :data:`MEMBER_MIN_K`
        refit it on the finer member bins. Below k = :data:`FINE_MIN_K` with
        more than :data:`EXACT_POLISH_MAX_POINTS` points, the member bins'
        centres then label the points without a polish. Otherwise the search
        runs on the member bins (instead of the histogram below
        k = :data:`FINE_MIN_K`, as well from it) and Lloyd steps on the exact
        points polish the fit: 3 to 10 below :data:`MEMBER_MIN_K`, 3 to 40
        from it (fewer when there are more points, see :data:`POLISH_BUDGET`;
        at least 10 from k = :data:`FINE_MIN_K`). Without ``polish`` the
        histogram centres are only assigned (the labels and inertia are still
        exact for those centres).
    with_labels : bool, default=True
        Without labels (``KMeansFit.labels`` is None) a fit without the polish
        only measures its inertia: most points of ``points.members`` are then
        measured a whole bin at a time, as a sweep over k needs.

    Returns
    -------
    KMeansFit
        At k = 1 no k-means runs: the centre is the weighted mean, the inertia
        is :func:`single_cluster`'s total and ``n_iter`` is 0.
    """
    k = check_k(k)
    start = time.perf_counter()
    if points.n_points <= k:
        centers = points.X.copy()
        labels = np.arange(points.n_points)
        return KMeansFit(centers, labels, 0.0, 0, time.perf_counter() - start)
    if k == 1:
        mean, total = single_cluster(points)
        labels = np.zeros(points.n_points, dtype=np.intp)
        return KMeansFit(mean[None, :], labels, total, 0, time.perf_counter() - start)

    X, coarse = points.X, points.coarse
    fitted_on_points = True
    if coarse is not None and coarse.n_points > k:
        with _threads_for(coarse.n_points):
            model = KMeans(k, n_init=n_init, random_state=random_state)
            model.fit(coarse.X, sample_weight=coarse.weights)
        n_iter = int(model.n_iter_)
        fitted_on_points = polish
        # Only the polished fit searches further: a sweep without the polish
        # measures many k, and its speed is what it is for.
        members = points.members if polish and k >= MEMBER_MIN_K else None
        fine = k >= FINE_MIN_K
        few = points.n_points <= EXACT_POLISH_MAX_POINTS
        # The exact polish follows the member bins' fit from FINE_MIN_K, and below
        # it on points few enough for its steps to be quick; without it the
        # member bins' fit labels the points directly. The member bins are
        # searched when the polish follows; below FINE_MIN_K that search
        # replaces the one on the histogram, which is quick enough for a 12 MP
        # photo.
        search_members = members is not None and (fine or few)
        if members is not None:
            fitted_on_points = search_members
        if polish and (fine or not search_members):
            with _threads_for(coarse.n_points):
                model, steps = _jump_search(coarse.X, coarse.weights, model, JUMP_MAX_ITER)
            n_iter += steps
        if members is not None:
            with _threads_for(len(members.means), k):
                model = _lloyd(
                    members.means,
                    members.weights,
                    model.cluster_centers_,
                    FINE_MAX_ITER if fine else MEMBER_MAX_ITER,
                )
                n_iter += int(model.n_iter_)
                if search_members:
                    model, steps = _jump_search(
                        members.means,
                        members.weights,
                        model,
                        FINE_JUMP_MAX_ITER if fine else JUMP_MAX_ITER,
                        FINE_JUMP_ROUNDS if fine and few else JUMP_ROUNDS,
                    )
                    n_iter += steps
        if fitted_on_points:
            with _threads_for(points.n_points, k):
                # tol=0 stops only at max_iter or when no label changes: any other
                # tolerance makes scikit-learn compute the variance of all the
                # points first, which takes as long as two steps.
                model = _lloyd(
                    X,
                    points.weights,
                    model.cluster_centers_,
                    _polish_iterations(points.n_points, k),
                )
            n_iter += int(model.n_iter_)
    else:
        with _threads_for(points.n_points):
            model = KMeans(k, n_init=n_init, random_state=random_state)
            model.fit(X, sample_weight=points.weights)
        n_iter = int(model.n_iter_)

    # Labels and inertia must match the returned centres. A fit on the points
    # ends with that assignment (scikit-learn's labels_); the histogram's centres
    # still have to label the points. Both go a block at a time: a photo's
    # float32 colours are cast for the float64 histogram fit, and full-size cast
    # and residual arrays would be the peak of a sweep on a large photo.
    centers = model.cluster_centers_.astype(np.float64)
    inertia = 0.0
    rows = None  # the points still to label or to measure: all, or these indices
    if not fitted_on_points and points.members is not None:
        bin_labels, inside, inertia, rows = _bins_inside(points.members, centers)
    n_rows = points.n_points if rows is None else len(rows)
    found = model.labels_ if fitted_on_points else np.empty(n_rows, dtype=np.intp)
    residuals = np.empty((min(_ASSIGN_BLOCK, n_rows), X.shape[1]))
    squared = np.empty(len(residuals))
    with _threads_for(n_rows):
        for begin in range(0, n_rows, _ASSIGN_BLOCK):
            stop = min(begin + _ASSIGN_BLOCK, n_rows)
            block = slice(begin, stop) if rows is None else rows[begin:stop]
            block_X = X[block]
            if not fitted_on_points:
                found[begin:stop] = model.predict(block_X.astype(centers.dtype, copy=False))
            n = stop - begin
            np.take(centers, found[begin:stop], axis=0, out=residuals[:n])
            residuals[:n] -= block_X
            np.einsum("ij,ij->i", residuals[:n], residuals[:n], out=squared[:n])
            inertia += float(np.dot(points.weights[block], squared[:n]))
    # Centres that no point is nearest to are dropped (no label changes).
    row_weights = points.weights if rows is None else points.weights[rows]
    weight_of = np.bincount(found, weights=row_weights, minlength=k)
    labels = found if with_labels else None
    if rows is not None:
        members = points.members
        weight_of += np.bincount(bin_labels[inside], weights=members.weights[inside], minlength=k)
        if with_labels:
            labels = bin_labels[members.point_bin]
            labels[rows] = found
    used = weight_of > 0
    if not used.all():
        centers = centers[used]
        if labels is not None:
            labels = (np.cumsum(used) - 1)[labels]
    return KMeansFit(centers, labels, inertia, n_iter, time.perf_counter() - start)


@dataclass(frozen=True)
class Quantization:
    """An image reduced to a few colours by :func:`quantize`.

    Attributes
    ----------
    k_requested : int
        The number of colours asked for.
    colour_space : str
        ``"rgb"`` or ``"lab"``: where distances were measured.
    random_state : int
    palette : ndarray of uint8, shape (n_colours, 3)
        sRGB colour each cluster is painted in, most used cluster first: its
        rounded centroid, or a colour of one's own choosing after :func:`recolour`.
    centroids : ndarray of float64, shape (n_colours, 3)
        The cluster centres in sRGB 0-255, unrounded. A pixel belongs to the
        cluster of its nearest centre, whatever colour that cluster is painted.
    counts : ndarray of int64, shape (n_colours,)
        Opaque pixels in each cluster.
    shares : ndarray of float64, shape (n_colours,)
        Fraction of opaque pixels in each cluster; sums to 1.
    colours : ColourCounts
        The image's distinct colours.
    colour_labels : ndarray of int16, shape (m,)
        Palette index of each distinct colour.
    inertia : float
        Sum over opaque pixels of the squared distance to their centroid, in the
        fit's colour space (scikit-learn's ``inertia_``).
    n_iter : int
    fit_seconds : float
        Wall time of counting colours, fitting and labelling the distinct colours.
    note : str or None
        A plain sentence when fewer colours than asked for were possible.
    size : tuple of int
        (width, height) of the picture that was quantized.
    image : Image or None
        That picture, from which :attr:`labels` is worked
        out; None in a copy that keeps only the palette (see
        :meth:`palette_only`).
    """

    k_requested: int
    colour_space: str
    random_state: int
    palette: np.ndarray
    centroids: np.ndarray
    counts: np.ndarray
    shares: np.ndarray
    colours: ColourCounts
    colour_labels: np.ndarray
    inertia: float
    n_iter: int
    fit_seconds: float
    note: str | None
    size: tuple[int, int]
    image: Image | None = field(repr=False, compare=False)

    @property
    def labels(self) -> np.ndarray:
        """Palette index of every pixel, shape (H, W), int16, -1 where transparent.

        Worked out from the distinct colours' labels on every access, never
        kept: at 12 megapixels it takes 24 MB and about 0.2 s, and a kept label
        map for every k a viewer tried would fill the server's memory.
        """
        if self.image is None:
            raise InputError(
                "This copy of the colour grouping keeps only its palette. "
                "Use the grouping it was copied from."
            )
        return self.labels_in(self.image)

    def labels_in(self, part: Image) -> np.ndarray:
        """Palette index of every pixel of ``part``, -1 where transparent.

        ``part`` holds pixels of the quantized picture (a crop, a grid, a
        sample): each is looked up by its colour, as :attr:`labels` is, at a
        cost that grows with ``part`` alone.
        """
        return map_colours(part, self.colours.colours, self.colour_labels, fill=-1)

    def palette_only(self) -> Quantization:
        """A copy without the picture: the palette and each colour's label, for
        painting another copy of the picture (such as the full-size original)
        without keeping this one alive."""
        return dataclasses.replace(self, image=None)

    @property
    def n_colours(self) -> int:
        """Number of colours in the palette."""
        return len(self.palette)

    def hex_codes(self) -> list[str]:
        """The palette as ``#rrggbb`` strings, in palette order."""
        return hex_codes(self.palette)


def recolour(quantization: Quantization, palette: Sequence[str] | np.ndarray) -> Quantization:
    """The same clusters painted in other colours: no pixel changes cluster, nothing is refitted.

    Every function that paints or measures a quantization (the redraw, the
    full-size download, the palette files, the quality figures) then uses the
    new colours, while each pixel's cluster still comes from the fitted centres.

    Parameters
    ----------
    quantization : Quantization
    palette : sequence of colour codes, or array-like of shape (n_colours, 3)
        One colour per cluster, in palette order: codes such as ``"#1f77b4"``
        or red, green and blue values from 0 to 255.

    Returns
    -------
    Quantization
        Sharing every array with ``quantization`` but the palette.

    Raises
    ------
    InputError
        When the palette does not have one valid colour per cluster (see
        :func:`~kmeans_lib.colour_space.check_palette`).
    """
    colours = check_palette(palette, quantization.n_colours)
    return dataclasses.replace(quantization, palette=colours)


def quantize(
    image: Image,
    k: int,
    *,
    colour_space: str = "rgb",
    random_state: int = 0,
    colours: ColourCounts | None = None,
    points: WeightedPoints | None = None,
) -> Quantization:
    """Reduce an image to ``k`` colours with k-means.

    Parameters
    ----------
    image : Image
    k : int
        Number of colours, 1 to 256.
    colour_space : {"rgb", "lab"}, default="rgb"
        Measure colour distances in RGB (as the pixels are stored) or in CIELAB
        (closer to what people see). The palette is sRGB either way.
    random_state : int, default=0
    colours : ColourCounts, optional
        ``count_colours(image)`` when already computed: fits at several k can
        then share one count (16 MB and a quarter of a second on 12 megapixels).
    points : WeightedPoints, optional
        ``image_points(colours, colour_space)`` when already computed (with
        ``colours``): a 12 MP photo's take 70 ms to build for every k.

    Returns
    -------
    Quantization
    """
    k = check_k(k)
    check_colour_space(colour_space)
    start = time.perf_counter()
    if colours is None:
        colours = count_colours(image)
    elif colours.n_pixels != image.n_opaque:
        raise InputError(
            "These colour counts belong to another picture. Count this picture's colours again."
        )
    check_visible(colours)
    if points is None:
        points = image_points(colours, colour_space)
    elif points.n_points != colours.n_colours:
        raise InputError(
            "These points belong to another picture or colour count. Build them again."
        )
    fit = fit_kmeans(points, k, random_state=random_state)
    return assemble_quantization(
        image,
        k,
        colours,
        fit.labels,
        to_srgb(fit.centers, colour_space),
        colour_space=colour_space,
        random_state=random_state,
        inertia=fit.inertia,
        n_iter=fit.n_iter,
        started=start,
    )


def assemble_quantization(
    image: Image,
    k: int,
    colours: ColourCounts,
    colour_labels: np.ndarray,
    centroids: np.ndarray,
    *,
    colour_space: str = "rgb",
    random_state: int = 0,
    inertia: float | None = None,
    n_iter: int = 0,
    started: float | None = None,
    method: str = "k-means",
) -> Quantization:
    """A :class:`Quantization` from a palette and the palette index of each distinct colour.

    Shared by :func:`quantize` and the other methods of :mod:`kmeans_lib.methods`:
    palette entries no colour uses are dropped and the rest ordered by use.

    Parameters
    ----------
    image : Image
    k : int
        The number of colours asked for.
    colours : ColourCounts
        The image's distinct colours.
    colour_labels : ndarray of int, shape (m,)
        Index into ``centroids`` of each distinct colour.
    centroids : ndarray of float, shape (n, 3)
        The palette in sRGB 0-255, unrounded.
    colour_space : {"rgb", "lab"}, default="rgb"
        Where the method measured distances.
    random_state : int, default=0
    inertia : float, optional
        In ``colour_space``; measured in RGB against the rounded palette when not given.
    n_iter : int, default=0
    started : float, optional
        ``time.perf_counter()`` when the work began: ``fit_seconds`` runs from there.
    method : str, default="k-means"
        Names the method in the note when it gave fewer colours than asked for.

    Returns
    -------
    Quantization
    """
    started = time.perf_counter() if started is None else started
    n_entries = len(centroids)
    counts = np.bincount(colour_labels, weights=colours.counts, minlength=n_entries)
    counts = counts.astype(np.int64)
    order = np.argsort(-counts, kind="stable")
    order = order[counts[order] > 0]  # unused entries sort last
    rank = np.full(n_entries, -1, dtype=np.intp)
    rank[order] = np.arange(len(order))
    colour_labels = rank[colour_labels].astype(np.int16)
    centroids = np.asarray(centroids, dtype=np.float64)[order]
    palette = np.rint(centroids).astype(np.uint8)
    if inertia is None:
        residuals = colours.colours - palette[colour_labels].astype(np.float64)
        inertia = float(colours.counts @ np.einsum("ij,ij->i", residuals, residuals))

    n_used = len(order)
    note = None
    if colours.n_colours < k:
        note = (
            f"This image has only {colours.n_colours:,} distinct colour"
            f"{'s' if colours.n_colours != 1 else ''}, so the palette has "
            f"{n_used} instead of the {k} asked for."
        )
    elif n_used < k:
        note = (
            f"{method} could only separate {n_used} groups of colours in this "
            f"image, so the palette has {n_used} instead of the {k} asked for."
        )
    return Quantization(
        k_requested=k,
        colour_space=colour_space,
        random_state=random_state,
        palette=palette,
        centroids=centroids,
        counts=counts[order],
        shares=counts[order] / counts.sum(),
        colours=colours,
        colour_labels=colour_labels,
        inertia=inertia,
        n_iter=n_iter,
        fit_seconds=time.perf_counter() - started,
        note=note,
        size=(image.width, image.height),
        image=image,
    )
