"""Choosing k: elbow sweep with its knee, silhouette sweep and per-sample silhouette.

Inertia is exact over all pixels (weighted distinct colours). Silhouette is
O(n^2) in the number of points it is computed on, so it is only ever computed
on a random sample of pixels, drawn in proportion to the pixel counts.
"""

from __future__ import annotations

import functools
import hashlib
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.spatial.distance import cdist

from kmeans_lib.clustering import (
    KMeansFit,
    Quantization,
    WeightedPoints,
    _threads_for,
    check_k,
    fit_kmeans,
    map_in_threads,
    single_cluster,
)
from kmeans_lib.errors import InputError


@functools.cache
def _knee_locator() -> type:
    """kneed's KneeLocator, imported on first use without matplotlib's pyplot.

    kneed imports pyplot whenever matplotlib is installed, for plots this
    library never draws: about 30 MB more in every server process. A None in
    ``sys.modules`` makes that import fail as if matplotlib were absent. On
    first use: kneed brings scipy.signal (50 ms), which a batch of palettes,
    importing this module for :func:`sample_points`, never needs.
    """
    blocked = sys.modules.setdefault("matplotlib.pyplot", None) is None
    try:
        from kneed import KneeLocator
    finally:
        if blocked and sys.modules.get("matplotlib.pyplot", ...) is None:
            del sys.modules["matplotlib.pyplot"]
    return KneeLocator


# Silhouette time grows with the square of the sample: 20,000 pixels take 16 times
# as long as the default 5,000.
MAX_SILHOUETTE_SAMPLE = 20_000
# Silhouette distances are computed this many bytes at a time: small enough for
# the passes that turn a product into distances to stay in the CPU cache.
_DISTANCE_BLOCK_BYTES = 2 << 20
# The cluster indicators and distance sums take 16 bytes per point and cluster;
# labellings with more clusters than fit in this are scored in several passes
# (only sweeps up to k = 256 on large samples need that).
_SUMS_BYTES = 64 << 20
MAX_REPEATS = 20

Progress = Callable[[float], None]


@dataclass(frozen=True)
class ElbowCurve:
    """Inertia for each k, from :func:`elbow_sweep`.

    Attributes
    ----------
    ks : ndarray of int
    inertia : ndarray of float
        Weighted sum of squared distances to the nearest centre, over all pixels.
    variance_explained : ndarray of float
        ``1 - inertia / total``, where ``total`` is the sum of squares about the
        weighted mean (the inertia of k=1): 0 at k=1, 1 when every distinct
        point is its own cluster.
    seconds : ndarray of float
        Fit time of each k.
    knee : int or None
        The elbow of the inertia curve, None when there is no clear one.
    centers : tuple of ndarray of float64, shape (n_clusters, d)
        Each k's cluster centres, in the coordinates of the points' ``X``;
        :func:`silhouette_sweep` reuses them instead of fitting again.
    points_digest : str
        A fingerprint of the points the curve was fitted on, so that its centres
        are never used for other points.
    """

    ks: np.ndarray
    inertia: np.ndarray
    variance_explained: np.ndarray
    seconds: np.ndarray
    knee: int | None
    centers: tuple[np.ndarray, ...] = ()
    points_digest: str = ""

    def to_frame(self) -> pd.DataFrame:
        """The curve as a table with readable column names."""
        return pd.DataFrame(
            {
                "k": self.ks,
                "Inertia": self.inertia,
                "Variance explained (%)": 100.0 * self.variance_explained,
                "Fit time (s)": self.seconds,
            }
        )


@dataclass(frozen=True)
class SilhouetteCurve:
    """Cluster-quality scores for each k, from :func:`silhouette_sweep`.

    All scores are computed on pixel samples; NaN where a k cannot be scored.

    Attributes
    ----------
    ks : ndarray of int
    mean, std : ndarray of float
        Mean silhouette (-1 to 1, higher is better) and its standard deviation
        over the repeated samples.
    calinski_harabasz : ndarray of float
        Mean Calinski-Harabasz index over the samples (higher is better).
    davies_bouldin : ndarray of float
        Mean Davies-Bouldin index over the samples (lower is better).
    sample_size : int
        Pixels in each sample.
    """

    ks: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    calinski_harabasz: np.ndarray
    davies_bouldin: np.ndarray
    sample_size: int

    def to_frame(self) -> pd.DataFrame:
        """The scores as a table with readable column names."""
        return pd.DataFrame(
            {
                "k": self.ks,
                "Silhouette (mean)": self.mean,
                "Silhouette (std)": self.std,
                "Calinski-Harabasz": self.calinski_harabasz,
                "Davies-Bouldin": self.davies_bouldin,
            }
        )


@dataclass(frozen=True)
class SilhouetteDetail:
    """Per-sample silhouette values of one fit, for a silhouette ("knife") plot.

    Attributes
    ----------
    values : ndarray of float, shape (n,)
        Silhouette of each sampled pixel.
    labels : ndarray of int, shape (n,)
        Cluster of each sampled pixel (the fit's labels).
    mean : float
        Mean of ``values``: the silhouette score of the sample.
    """

    values: np.ndarray
    labels: np.ndarray
    mean: float


def sample_points(
    weights: np.ndarray, n: int, *, random_state: int | np.random.Generator = 0
) -> np.ndarray:
    """Draw ``n`` pixels at random and return the point each one belongs to.

    Parameters
    ----------
    weights : ndarray, shape (m,)
        Pixel count of each point (1 per row for tables).
    n : int
        Pixels to draw, without replacement; when there are no more pixels
        than ``n``, every pixel is taken once.
    random_state : int or numpy.random.Generator, default 0

    Returns
    -------
    ndarray of int, shape (min(n, total pixels),)
        Point indices, sorted; a point appears once per pixel drawn, so points
        are chosen in proportion to their weights.
    """
    ends = np.cumsum(np.rint(weights).astype(np.int64))
    total = int(ends[-1]) if len(ends) else 0
    if total <= n:
        picks = np.arange(total)
    else:
        rng = np.random.default_rng(random_state)
        # Sorted next, so the draw need not be shuffled (which cost 0.14 s here).
        picks = np.sort(rng.choice(total, size=n, replace=False, shuffle=False))
    # Pixel p belongs to the point whose range of pixels [ends[i-1], ends[i]) holds p.
    return np.searchsorted(ends, picks, side="right")


def _check_ks(ks: Iterable[int]) -> np.ndarray:
    """Return the k values sorted and de-duplicated, or raise InputError."""
    values = [check_k(k) for k in ks]
    if not values:
        raise InputError("No values of k were given. Choose at least one number of clusters.")
    return np.unique(values)


def _check_points(points: WeightedPoints) -> None:
    if points.n_points == 0:
        raise InputError(
            "There is nothing to cluster: the image has no visible pixels or the "
            "table has no usable rows."
        )


def check_whole_number(value: int, name: str, low: int, high: int) -> int:
    """Return ``value`` as an int if it is a whole number from ``low`` to ``high``.

    ``name`` starts the error message, for example "The sample size".
    """
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, np.integer))
        or not low <= value <= high
    ):
        raise InputError(
            f"{name} must be a whole number from {low:,} to {high:,}; got {value!r}. "
            "Choose a value in that range."
        )
    return int(value)


def find_knee(
    ks: Iterable[float],
    values: Iterable[float],
    *,
    curve: str = "convex",
    direction: str = "decreasing",
    sensitivity: float = 1.0,
) -> int | None:
    """The knee (elbow) of a curve by the Kneedle method (``kneed``).

    Parameters
    ----------
    ks, values : sequences of the same length
        The curve; points with a non-finite value are ignored.
    curve : {"convex", "concave"}, default "convex"
        "convex" with "decreasing" suits inertia against k.
    direction : {"decreasing", "increasing"}, default "decreasing"
    sensitivity : float, default 1.0
        Kneedle's S: larger values ask for a more pronounced knee.

    Returns
    -------
    int or None
        The k at the knee; None with fewer than 3 points, a flat curve or no
        clear knee (for example a straight line).
    """
    x = np.asarray(list(ks), dtype=np.float64)
    y = np.asarray(list(values), dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise InputError("The curve needs exactly one value per k.")
    finite = np.isfinite(x) & np.isfinite(y)
    x, y = x[finite], y[finite]
    order = np.argsort(x)
    x, y = x[order], y[order]
    # Kneedle normalises by the range, which is undefined for a flat curve.
    if len(x) < 3 or np.ptp(y) == 0 or np.ptp(x) == 0:
        return None
    knee = _knee_locator()(x, y, S=sensitivity, curve=curve, direction=direction).knee
    return None if knee is None else int(round(knee))


def _points_digest(points: WeightedPoints) -> str:
    """A fingerprint of the points' coordinates and weights.

    A table scaled to mean 0 and standard deviation 1 has the same size, mean
    and spread as any other table of that many rows, so the digest covers every
    value; hashing a 12-megapixel photo's 1.5 million colours takes about 50 ms.
    """
    digest = hashlib.blake2b(digest_size=16)
    for array in (points.X, points.weights):
        digest.update(f"{array.dtype}{array.shape}".encode())
        digest.update(np.ascontiguousarray(array))
    return digest.hexdigest()


def _sweep_fit(points: WeightedPoints, k: int, random_state: int, n_init: int) -> KMeansFit:
    """The fit a sweep makes for one k: the colour histogram's (or the row sample's),
    without the polish.

    Its inertia is still exact over every point for its centres (it has no
    labels: a sweep needs only the centres and the inertia), and
    measured on china.jpg at k=2..20 its inertia is within 3% of the polished
    fit's, at about a quarter of the cost, which keeps a k=1..20 sweep interactive.
    """
    return fit_kmeans(
        points, k, random_state=random_state, n_init=n_init, polish=False, with_labels=False
    )


def elbow_sweep(
    points: WeightedPoints,
    ks: Iterable[int] = range(1, 21),
    *,
    random_state: int = 0,
    n_init: int = 3,
    progress: Progress | None = None,
    n_jobs: int | None = None,
) -> ElbowCurve:
    """Fit k-means for each k and collect inertia, variance explained and time.

    Parameters
    ----------
    points : WeightedPoints
        Distinct colours weighted by pixel counts, or table rows.
    ks : iterable of int, default 1 to 20
        Numbers of clusters, each 1 to 256 (sorted, duplicates dropped).
    random_state : int, default 0
        Seed for every fit.
    n_init : int, default 3
        k-means++ starts of each fit (see :func:`~kmeans_lib.clustering.fit_kmeans`).
    progress : callable, optional
        Called after each k with the fraction of the sweep done (0 to 1).
    n_jobs : int, optional
        Values of k fitted at once, on threads (-1: one per CPU; None: 1). The
        result does not depend on it.

    Returns
    -------
    ElbowCurve
    """
    _check_points(points)
    ks = _check_ks(ks)
    total = single_cluster(points)[1]
    inertia = np.empty(len(ks))
    seconds = np.empty(len(ks))
    centers = []
    fits = map_in_threads(
        lambda k: _sweep_fit(points, int(k), random_state, n_init), ks, n_jobs=n_jobs
    )
    for i, fit in enumerate(fits):
        inertia[i], seconds[i] = fit.inertia, fit.seconds
        centers.append(fit.centers)
        if progress is not None:
            progress((i + 1) / len(ks))
    if total > 0:
        # The fit at k=1 is ``total`` exactly; clipped because a histogram fit without
        # the polish is not bound to beat one centre at the mean.
        explained = np.clip(1.0 - inertia / total, 0.0, 1.0)
    else:
        # All points coincide: one cluster already leaves nothing unexplained.
        explained = np.ones(len(ks))
    return ElbowCurve(
        ks=ks,
        inertia=inertia,
        variance_explained=explained,
        seconds=seconds,
        knee=find_knee(ks, inertia),
        centers=tuple(centers),
        points_digest=_points_digest(points),
    )


def _draw_sample(
    points: WeightedPoints, sample_size: int, rng: int | np.random.Generator
) -> np.ndarray:
    """Sample indices after checking the size; shared by both silhouette entry points."""
    _check_points(points)
    sample_size = check_whole_number(sample_size, "The sample size", 10, MAX_SILHOUETTE_SAMPLE)
    return sample_points(points.weights, sample_size, random_state=rng)


def _nearest_centre(X: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """Index of the centre nearest to each row of ``X``: a sweep fit's labels."""
    return cdist(X, centers, "sqeuclidean").argmin(axis=1)


def _reusable_centres(points: WeightedPoints, elbow: ElbowCurve | None) -> dict[int, np.ndarray]:
    """The centres of an elbow curve by k, after checking it was fitted on ``points``."""
    if elbow is None:
        return {}
    if elbow.points_digest != _points_digest(points):
        raise InputError(
            "This elbow curve was made from other data (another picture, table, colour "
            "space or choice of columns). Run the elbow sweep on this data again."
        )
    return dict(zip(elbow.ks.tolist(), elbow.centers, strict=True))


def _scorable(labels: np.ndarray) -> bool:
    """Silhouette needs 2 <= number of labels <= number of samples - 1."""
    return 2 <= len(np.unique(labels)) <= len(labels) - 1


def _distinct(points: WeightedPoints, index: np.ndarray) -> tuple[np.ndarray, ...]:
    """The distinct points of a pixel sample, and how the pixels map onto them.

    Returns
    -------
    rows : ndarray of int
        The distinct points, as indices into ``points``.
    X : ndarray of float64
        Their coordinates.
    repeats : ndarray of int
        Pixels drawn of each.
    inverse : ndarray of int
        Each pixel's position in ``rows``.
    """
    rows, inverse, repeats = np.unique(index, return_inverse=True, return_counts=True)
    return rows, points.X[rows].astype(np.float64), repeats, inverse


def _silhouettes(
    X: np.ndarray, repeats: np.ndarray, labellings: list[np.ndarray]
) -> list[np.ndarray]:
    """Silhouette of each point under each labelling, as scikit-learn defines it.

    Row ``i`` stands for ``repeats[i]`` identical pixels, and the result equals
    ``silhouette_samples`` of those pixels. The distances between points do not
    depend on the labelling, so they are computed once, a block of rows at a
    time, and one matrix product with the cluster indicators of every labelling
    side by side gives each point's sum of distances to every cluster.

    Parameters
    ----------
    X : ndarray of float64, shape (n, d)
        Distinct points.
    repeats : ndarray of int, shape (n,)
        Pixels that each point stands for.
    labellings : list of ndarray of int, shape (n,)
        Cluster of each point; each must give the pixels from 2 clusters to one
        cluster fewer than there are pixels (see :func:`_scorable`).

    Returns
    -------
    list of ndarray of float64, shape (n,)
        One per labelling: ``(b - a) / max(a, b)``, with ``a`` the mean distance
        to the other pixels of the point's own cluster and ``b`` the smallest
        mean distance to the pixels of another cluster; 0 in a one-pixel cluster.
    """
    n = len(X)
    n_clusters = sum(len(np.unique(labels)) for labels in labellings)
    if len(labellings) > 1 and 16 * n * n_clusters > _SUMS_BYTES:
        half = len(labellings) // 2
        return _silhouettes(X, repeats, labellings[:half]) + _silhouettes(
            X, repeats, labellings[half:]
        )
    points = np.arange(n)
    # Each labelling owns a block of indicator columns, one per cluster present.
    columns, starts = [], [0]
    for labels in labellings:
        codes = np.unique(labels, return_inverse=True)[1]
        columns.append(starts[-1] + codes)
        starts.append(starts[-1] + int(codes.max()) + 1)
    indicators = np.zeros((n, starts[-1]))
    for column in columns:
        indicators[points, column] = repeats
    sizes = indicators.sum(axis=0)
    # Centred, because the expanded formula below loses digits in proportion to
    # the squared norms; it is scikit-learn's euclidean_distances otherwise.
    centred = X - X.mean(axis=0)
    norms = np.einsum("ij,ij->i", centred, centred)
    sums = np.zeros((n, starts[-1]))
    step = max(1, _DISTANCE_BLOCK_BYTES // (8 * n))
    for begin in range(0, n, step):
        end = min(begin + step, n)
        # Distances are symmetric, so each block of rows is measured only against
        # the points from its own first row on; the product of the part right of
        # the block with the block's indicators stands in for the part below it.
        distances = centred[begin:end] @ centred[begin:].T
        distances *= -2.0
        distances += norms[begin:end, None]
        distances += norms[begin:]
        # A point is at 0 from itself, not a rounding error away; rounding can
        # also leave a tiny negative square between two close points.
        diagonal = np.arange(end - begin)
        distances[diagonal, diagonal] = 0.0
        np.maximum(distances, 0.0, out=distances)
        np.sqrt(distances, out=distances)
        sums[begin:end] += distances @ indicators[begin:]
        sums[end:] += distances[:, end - begin :].T @ indicators[begin:end]
    values = []
    for column, start, stop in zip(columns, starts[:-1], starts[1:], strict=True):
        own = sums[points, column]
        means = sums[:, start:stop] / sizes[start:stop]
        means[points, column - start] = np.inf
        nearest = means.min(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            within = own / (sizes[column] - 1)
            value = (nearest - within) / np.maximum(within, nearest)
        # 0 / 0 for a pixel alone in its cluster: scikit-learn's silhouette is then 0.
        values.append(np.nan_to_num(value, nan=0.0))
    return values


def _cluster_scores(X: np.ndarray, repeats: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Calinski-Harabasz and Davies-Bouldin of pixels given as distinct points with counts.

    The formulas of scikit-learn's ``calinski_harabasz_score`` and
    ``davies_bouldin_score``, applied to ``repeats[i]`` copies of ``X[i]`` (a test
    checks that they agree). Written out because scikit-learn's input checks cost
    about 5 ms a call, most of a sweep's 27 calls, and it takes no counts.
    """
    clusters, codes = np.unique(labels, return_inverse=True)
    n_clusters, n_pixels = len(clusters), repeats.sum()
    sizes = np.bincount(codes, weights=repeats)
    centroids = (
        np.column_stack([np.bincount(codes, weights=repeats * X[:, j]) for j in range(X.shape[1])])
        / sizes[:, None]
    )
    residuals = X - centroids[codes]
    squared = np.einsum("ij,ij->i", residuals, residuals)
    within = float(repeats @ squared)
    offsets = centroids - (repeats @ X) / n_pixels
    between = float(sizes @ np.einsum("ij,ij->i", offsets, offsets))
    ch = 1.0 if within == 0 else between * (n_pixels - n_clusters) / (within * (n_clusters - 1))
    spread = np.bincount(codes, weights=repeats * np.sqrt(squared)) / sizes
    apart = np.sqrt(((centroids[:, None, :] - centroids[None, :, :]) ** 2).sum(axis=2))
    if np.allclose(spread, 0) or np.allclose(apart, 0):
        return ch, 0.0
    apart[apart == 0] = np.inf
    db = float(np.mean(np.max((spread[:, None] + spread) / apart, axis=1)))
    return ch, db


def silhouette_sweep(
    points: WeightedPoints,
    ks: Iterable[int] = range(2, 11),
    *,
    sample_size: int = 5000,
    n_repeats: int = 3,
    random_state: int = 0,
    n_init: int = 3,
    progress: Progress | None = None,
    elbow: ElbowCurve | None = None,
    n_jobs: int | None = None,
) -> SilhouetteCurve:
    """Silhouette, Calinski-Harabasz and Davies-Bouldin scores for each k.

    Each k is fitted on all points as :func:`elbow_sweep` fits it, and each
    sampled pixel takes the label of its nearest centre, which is the fit's
    label. The scores are computed on ``n_repeats`` random pixel samples (the
    same samples for every k, so differences between k are not sampling noise)
    and averaged. The silhouettes of every k come from one pass over each
    sample's pairwise distances and equal scikit-learn's ``silhouette_samples``
    of the sample in float64.

    Parameters
    ----------
    points : WeightedPoints
    ks : iterable of int, default 2 to 10
        Numbers of clusters, each 2 to 256. A k that is not below the number of
        distinct points is reported as NaN: every point would be its own
        cluster, which the silhouette cannot judge.
    sample_size : int, default 5000
        Pixels per sample, 10 to 20,000 (silhouette cost grows with its square).
    n_repeats : int, default 3
        Number of samples, 1 to 20.
    random_state : int, default 0
        Seed of the fits and of the samples.
    n_init : int, default 3
        k-means++ starts of each fit the elbow curve does not provide.
    progress : callable, optional
        Called after each fit and after each sample is scored, with the fraction
        of the sweep done (0 to 1).
    elbow : ElbowCurve, optional
        :func:`elbow_sweep` of the same points: the ks it covers are not fitted
        again, their centres label the samples (with the curve's seed).
    n_jobs : int, optional
        Samples scored at once, on threads (-1: one per CPU; None: 1). The
        result does not depend on it.

    Returns
    -------
    SilhouetteCurve
    """
    ks = _check_ks(ks)
    if ks[0] < 2:
        raise InputError(
            "The silhouette compares clusters with each other, so every k must be 2 or more."
        )
    n_repeats = check_whole_number(n_repeats, "The number of repeats", 1, MAX_REPEATS)
    rng = np.random.default_rng(random_state)
    samples = [_draw_sample(points, sample_size, rng) for _ in range(n_repeats)]
    steps = len(ks) + n_repeats

    reused = _reusable_centres(points, elbow)
    centres = {}
    for i, k in enumerate(ks.tolist()):
        if k < points.n_points:
            if k in reused:
                centres[i] = reused[k]
            else:
                centres[i] = _sweep_fit(points, k, random_state, n_init).centers
        if progress is not None:
            progress((i + 1) / steps)

    def score(index: np.ndarray) -> np.ndarray:
        """Silhouette, Calinski-Harabasz and Davies-Bouldin of each k on one sample."""
        sample_scores = np.full((len(ks), 3), np.nan)
        rows, X, repeats, inverse = _distinct(points, index)
        # What the fit labels each point, only for the sampled points.
        labels = {i: _nearest_centre(X, c) for i, c in centres.items()}
        scorable = [i for i in labels if _scorable(labels[i][inverse])]
        if scorable:
            # A sample is too small for BLAS threads: on a busy 2-core machine
            # two threads made the silhouettes 5 times slower than one.
            with _threads_for(len(index)):
                values = _silhouettes(X, repeats, [labels[i] for i in scorable])
            for i, value in zip(scorable, values, strict=True):
                sample_scores[i] = (
                    np.dot(repeats, value) / len(index),
                    *_cluster_scores(X, repeats, labels[i]),
                )
        return sample_scores

    scores = np.full((len(ks), n_repeats, 3), np.nan)
    for r, sample_scores in enumerate(map_in_threads(score, samples, n_jobs=n_jobs)):
        scores[:, r] = sample_scores
        if progress is not None:
            progress((len(ks) + r + 1) / steps)
    scored = np.isfinite(scores[:, :, 0]).any(axis=1)
    # Rows without any score stay NaN; averaging them would only warn.
    mean, std, ch, db = (np.full(len(ks), np.nan) for _ in range(4))
    mean[scored] = np.nanmean(scores[scored, :, 0], axis=1)
    std[scored] = np.nanstd(scores[scored, :, 0], axis=1)
    ch[scored] = np.nanmean(scores[scored, :, 1], axis=1)
    db[scored] = np.nanmean(scores[scored, :, 2], axis=1)
    return SilhouetteCurve(
        ks=ks,
        mean=mean,
        std=std,
        calinski_harabasz=ch,
        davies_bouldin=db,
        sample_size=len(samples[0]),
    )


def silhouette_detail(
    points: WeightedPoints,
    fit: KMeansFit | Quantization,
    *,
    sample_size: int = 5000,
    random_state: int = 0,
) -> SilhouetteDetail:
    """Silhouette of each pixel in a random sample, for a silhouette plot.

    Parameters
    ----------
    points : WeightedPoints
        The points ``fit`` was fitted on; for a quantization, the points of its
        distinct colours: ``image_points(q.colours, q.colour_space)``.
    fit : KMeansFit or Quantization
        Its labels (``colour_labels`` for a quantization, which are palette
        indices) say which cluster each point is in.
    sample_size : int, default 5000
        Pixels to sample, 10 to 20,000.
    random_state : int, default 0
        Seed of the sample.

    Returns
    -------
    SilhouetteDetail

    Raises
    ------
    InputError
        When the fit does not belong to the points, or the sample has fewer
        than two clusters (for example k = 1).
    """
    labels = fit.colour_labels if isinstance(fit, Quantization) else fit.labels
    if len(labels) != points.n_points:
        raise InputError(
            "This clustering result belongs to different data. Run the clustering again."
        )
    index = _draw_sample(points, sample_size, random_state)
    if not _scorable(labels[index]):
        raise InputError(
            "The silhouette compares clusters with each other, so it needs at least two "
            "clusters with more than one point. Choose k of 2 or more."
        )
    rows, X, repeats, inverse = _distinct(points, index)
    with _threads_for(len(index)):
        values = _silhouettes(X, repeats, [labels[rows]])[0][inverse]
    return SilhouetteDetail(values=values, labels=labels[index], mean=float(values.mean()))
