"""k-means one step at a time: a recording of a run, for watching it work.

Each step of Lloyd's algorithm has two halves: every point joins its nearest
centre, then every centre moves to the weighted average of its group. The
recording keeps the centres after every step, the groups of a sample of the
pixels, and, over every pixel, how many changed group and the inertia. The
loop is written out here because it is what the page shows; its pieces come
from scikit-learn (the k-means++ start, the nearest-centre search) and it
agrees with :class:`~sklearn.cluster.KMeans` run from the same start.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import kmeans_plusplus

from kmeans_lib.clustering import (
    _ASSIGN_BLOCK,
    _THREADPOOLS,
    WeightedPoints,
    check_k,
    single_cluster,
)
from kmeans_lib.errors import InputError
from kmeans_lib.pixels import map_runs, split_rows
from kmeans_lib.selection import check_whole_number, sample_points

STARTS = ("k-means++", "random")
DEFAULT_MAX_STEPS = 50
DEFAULT_SAMPLE = 3_000
# Points measured against every centre at once: their distances (a few hundred
# kilobytes) stay in the CPU's cache through the several passes over them.
_SEARCH_BLOCK = 4_096
# Searches over more points than this are split between threads.
_PARALLEL_SEARCH_ROWS = 1 << 16
# Points given to their nearest centres at once (see _Lloyd.join).
_JOIN_CHUNK = 1 << 18


@dataclass(frozen=True)
class KMeansSteps:
    """The record of one k-means run made by :func:`record_kmeans`.

    Step ``i`` (from 1) first gives every point to its nearest centre of step
    ``i - 1``, then moves each centre to the weighted average of its group.

    Attributes
    ----------
    centers : ndarray of float64, shape (n_steps + 1, k, d)
        The starting centres, then the centres after each step.
    sample : ndarray of int, shape (n_sample,)
        The point of each sampled pixel (drawn in proportion to the weights,
        so a point appears once per pixel drawn), sorted.
    sample_labels : ndarray of int16, shape (n_steps, n_sample)
        The group each sampled pixel joined in each step.
    changed : ndarray of float64, shape (n_steps,)
        Weight (pixels) that changed group in each step; in step 1 every pixel
        joins a group, so it is the total weight.
    joined_inertia : ndarray of float64, shape (n_steps,)
        Weighted sum of squared distances from each point to the centre it
        joined, before the centres moved.
    inertia : ndarray of float64, shape (n_steps,)
        The same after the centres moved: scikit-learn's ``inertia_`` when the
        run stops there.
    total : float
        Weighted sum of squared distances to the overall mean (the inertia of
        one group), for the share of variance explained.
    converged : bool
        True when the last step changed no group; False when the run stopped at
        ``max_steps``.
    init : str
        ``"k-means++"`` or ``"random"``.
    random_state : int
    seconds : float
        Wall time of the recording.
    """

    centers: np.ndarray
    sample: np.ndarray
    sample_labels: np.ndarray
    changed: np.ndarray
    joined_inertia: np.ndarray
    inertia: np.ndarray
    total: float
    converged: bool
    init: str
    random_state: int
    seconds: float

    @property
    def n_steps(self) -> int:
        """Steps run (each a join and a move)."""
        return len(self.inertia)

    @property
    def n_clusters(self) -> int:
        """Number of centres."""
        return self.centers.shape[1]

    @property
    def n_pixels(self) -> float:
        """Total weight of the points: every one joins a group in step 1."""
        return float(self.changed[0])

    @property
    def moved(self) -> np.ndarray:
        """Mean distance the centres moved in each step, shape (n_steps,)."""
        return np.linalg.norm(np.diff(self.centers, axis=0), axis=2).mean(axis=1)

    @property
    def variance_explained(self) -> np.ndarray:
        """Share (0 to 1) of the total spread explained after each step, shape (n_steps,)."""
        if self.total <= 0:
            return np.ones(self.n_steps)
        return 1.0 - self.inertia / self.total


def start_centers(points: WeightedPoints, k: int, init: str, random_state: int) -> np.ndarray:
    """Starting centres, as :class:`~sklearn.cluster.KMeans` picks its first ones.

    Parameters
    ----------
    points : WeightedPoints
    k : int
        At most ``points.n_points``.
    init : {"k-means++", "random"}
        ``"k-means++"``: scikit-learn's :func:`~sklearn.cluster.kmeans_plusplus`,
        which spreads the centres out; on ``points.coarse`` when it is set, as
        :func:`~kmeans_lib.clustering.fit_kmeans` starts. ``"random"``: ``k``
        different points drawn in proportion to their weights (random pixels).
    random_state : int

    Returns
    -------
    ndarray of float64, shape (k, d)
    """
    if init not in STARTS:
        raise InputError(f"The start must be one of {', '.join(STARTS)}; got {init!r}.")
    if init == "random":
        # scikit-learn's init="random" draws exactly so.
        rng = np.random.RandomState(random_state)
        p = points.weights / points.weights.sum()
        rows = rng.choice(points.n_points, size=k, replace=False, p=p)
        return points.X[rows].astype(np.float64)
    base = points.coarse if points.coarse is not None and points.coarse.n_points > k else points
    centers, _ = kmeans_plusplus(
        base.X.astype(np.float64), k, sample_weight=base.weights, random_state=random_state
    )
    return centers


def _squared_to(X: np.ndarray, centers: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Squared distance from each point to its labelled centre, exactly, a block at a time."""
    squared = np.empty(len(X))
    for begin in range(0, len(X), _ASSIGN_BLOCK):
        block = slice(begin, begin + _ASSIGN_BLOCK)
        residuals = X[block] - centers[labels[block]]
        squared[block] = np.einsum("ij,ij->i", residuals, residuals)
    return squared


def _nearest_two(
    X: np.ndarray, centers: np.ndarray, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For the points ``X[rows]``: the nearest centre, its exact distance, and a lower
    bound on the second nearest's.

    The squared distances come from the dot-product formula, as in scikit-learn's
    :func:`~sklearn.metrics.pairwise.euclidean_distances` and its k-means, a block of
    points at a time; the bound allows for their rounding.
    """
    labels = np.empty(len(rows), dtype=np.intp)
    nearest_distance = np.empty(len(rows))
    second = np.full(len(rows), np.inf)
    norms = (centers**2).sum(axis=1)

    def search(run: slice) -> None:
        for begin in range(run.start, run.stop, _SEARCH_BLOCK):
            done = slice(begin, min(begin + _SEARCH_BLOCK, run.stop))
            block = X[rows[done]].astype(np.float64, copy=False)
            squared = block @ (-2.0 * centers.T)
            squared += norms
            nearest = squared.argmin(axis=1)
            labels[done] = nearest
            residuals = block - centers[nearest]
            nearest_distance[done] = np.sqrt(np.einsum("ij,ij->i", residuals, residuals))
            if len(centers) > 1:
                squared[np.arange(len(block)), nearest] = np.inf
                block_norms = np.einsum("ij,ij->i", block, block)
                # The formula loses about 1e-16 of the squared norms to rounding.
                two = squared.min(axis=1) + block_norms - 1e-9 * (1.0 + block_norms)
                second[done] = np.sqrt(np.maximum(two, 0.0))

    # The early steps search most of a photo's million or more colours: on
    # threads, each with a run of them (numpy lets go of the GIL in each block).
    map_runs(search, split_rows(len(rows), min_rows=_PARALLEL_SEARCH_ROWS))
    return labels, nearest_distance, second


def _weighted_sums(labels: np.ndarray, weights: np.ndarray, X: np.ndarray, k: int) -> np.ndarray:
    """Each group's weighted sum of coordinates, shape (k, d)."""
    return np.column_stack(
        [np.bincount(labels, weights=weights * X[:, j], minlength=k) for j in range(X.shape[1])]
    )


class _Lloyd:
    """Lloyd's steps on weighted points, skipping the points whose group cannot change.

    Hamerly's bounds, folded into one number per point, its ``slack``: a lower
    bound on how much nearer its own centre is than any other. When centres
    move, the slack shrinks by as much as they moved; only points whose slack
    fell below zero are measured again. The groups' weights and sums, and the
    inertia, change only by the points that changed group (the inertia after a
    move by the parallel axis theorem), so late steps, where few points move,
    cost little even on millions of colours. Every group is exactly what a full
    search for the nearest centre gives.
    """

    def __init__(self, points: WeightedPoints, k: int) -> None:
        self.X, self.weights, self.k = points.X, points.weights, k
        self.labels = np.full(points.n_points, -1, dtype=np.intp)
        self.slack = np.full(points.n_points, -np.inf)
        self.weight = np.zeros(k)
        self.sums = np.zeros((k, points.X.shape[1]))
        self.inertia = 0.0

    def join(self, centers: np.ndarray) -> float:
        """Give every point to its nearest centre; return the weight that changed group."""
        to_measure = np.flatnonzero(self.slack < 0)
        # A chunk at a time: the first steps measure every one of a photo's
        # million or more colours, and a dozen arrays of them at once took
        # over 100 MB.
        return sum(
            (
                self._join_rows(to_measure[begin : begin + _JOIN_CHUNK], centers)
                for begin in range(0, len(to_measure), _JOIN_CHUNK)
            ),
            0.0,
        )

    def _join_rows(self, rows: np.ndarray, centers: np.ndarray) -> float:
        """Give the points ``rows`` to their nearest centres; return the weight that moved."""
        new, distance, second = _nearest_two(self.X, centers, rows)
        self.slack[rows] = second - distance
        old = self.labels[rows]
        moved = new != old
        rows, old, new, distance = rows[moved], old[moved], new[moved], distance[moved]
        w, X = self.weights[rows], self.X[rows]
        joined = old >= 0
        before = np.zeros(len(rows))
        before[joined] = _squared_to(X[joined], centers, old[joined])
        self.inertia += float(np.dot(w, distance**2 - before))
        self.labels[rows] = new
        for groups, sign, chosen in ((old, -1.0, joined), (new, 1.0, slice(None))):
            self.weight += sign * np.bincount(groups[chosen], weights=w[chosen], minlength=self.k)
            self.sums += sign * _weighted_sums(groups[chosen], w[chosen], X[chosen], self.k)
        return float(w.sum())

    def move(self, centers: np.ndarray) -> np.ndarray:
        """Move every centre to its group's weighted average; return the new centres."""
        if (self.weight == 0).any():
            self._relocate_empty(centers)
            new = self.sums / self.weight[:, None]
            self.inertia = float(np.dot(self.weights, _squared_to(self.X, new, self.labels)))
            self.slack[:] = -np.inf  # measure every point at the next join
            return new
        new = self.sums / self.weight[:, None]
        shift = np.sqrt(((new - centers) ** 2).sum(axis=1))
        # Each centre moved to its group's mean: the inertia falls by each group's
        # weight times the squared distance its centre moved.
        self.inertia = max(self.inertia - float(np.dot(self.weight, shift**2)), 0.0)
        # A point's own centre moved away by at most its shift, and any other
        # centre came nearer by at most the largest shift of the others.
        order = np.argsort(shift)
        others = np.full(self.k, shift[order[-1]])
        if self.k > 1:
            others[order[-1]] = shift[order[-2]]
        self.slack -= (shift + others)[self.labels]
        return new

    def _relocate_empty(self, centers: np.ndarray) -> None:
        """Give each empty group the point farthest from its centre, as scikit-learn does."""
        empty = np.flatnonzero(self.weight == 0)
        squared = _squared_to(self.X, centers, self.labels)
        far = np.argsort(-squared, kind="stable")[: len(empty)]
        for group, row in zip(empty, far, strict=True):
            w, x, source = self.weights[row], self.X[row], self.labels[row]
            self.sums[source] -= w * x
            self.weight[source] -= w
            self.sums[group], self.weight[group] = w * x, w


def record_kmeans(
    points: WeightedPoints,
    k: int,
    *,
    init: str = "k-means++",
    random_state: int = 0,
    max_steps: int = DEFAULT_MAX_STEPS,
    n_sample: int = DEFAULT_SAMPLE,
    sample_state: int = 0,
) -> KMeansSteps:
    """Run k-means step by step and record every step.

    Parameters
    ----------
    points : WeightedPoints
        Distinct colours weighted by pixel counts, or table rows.
    k : int
        Number of groups, 1 to 256; more than the number of points gives one
        group per point.
    init : {"k-means++", "random"}, default "k-means++"
        How the starting centres are picked (see :func:`start_centers`).
    random_state : int, default 0
        Seed of the start.
    max_steps : int, default 50
        The run stops here even if groups still change (1 to 1,000).
    n_sample : int, default 3,000
        Pixels (or rows) whose groups are recorded at every step, drawn in
        proportion to the weights.
    sample_state : int, default 0
        Seed of that sample: fixed, so that another start shows the same pixels.

    Returns
    -------
    KMeansSteps
        From the same starting centres, the last centres equal those of
        ``KMeans(init=start, n_init=1, max_iter=n_steps, tol=0, algorithm="lloyd")``.
    """
    k = check_k(k)
    max_steps = check_whole_number(max_steps, "The step limit", 1, 1_000)
    n_sample = check_whole_number(n_sample, "The sample size", 1, 200_000)
    if points.n_points == 0:
        raise InputError(
            "There is nothing to cluster: the image has no visible pixels or the "
            "table has no usable rows."
        )
    start = time.perf_counter()
    k = min(k, points.n_points)
    # Colours stay float32 (a float64 copy of a 12 MP photo's would take 36 MB):
    # every sum and distance casts them to float64 first, which is exact.
    centers = [start_centers(points, k, init, random_state)]
    sample = sample_points(points.weights, n_sample, random_state=sample_state)
    lloyd = _Lloyd(points, k)
    sample_labels, changed, joined, inertia = [], [], [], []
    # One BLAS and OpenMP thread: each product is small, and waiting threads made
    # short passes far slower (see PARALLEL_MIN_POINTS in clustering). Long
    # searches are split between threads of our own instead (see _nearest_two).
    with _THREADPOOLS.limit(limits=1):
        while len(centers) <= max_steps:
            changed.append(lloyd.join(centers[-1]))
            joined.append(lloyd.inertia)
            sample_labels.append(lloyd.labels[sample].astype(np.int16))
            centers.append(lloyd.move(centers[-1]))
            inertia.append(lloyd.inertia)
            if changed[-1] == 0:
                break
    _, total = single_cluster(points)
    return KMeansSteps(
        centers=np.stack(centers),
        sample=sample,
        sample_labels=np.stack(sample_labels),
        changed=np.asarray(changed),
        joined_inertia=np.asarray(joined),
        inertia=np.asarray(inertia),
        total=total,
        converged=changed[-1] == 0,
        init=init,
        random_state=random_state,
        seconds=time.perf_counter() - start,
    )


def step_sentence(steps: KMeansSteps, step: int, unit: str = "pixels") -> str:
    """Step ``step`` (0 to ``n_steps``) in one plain sentence with its numbers.

    ``unit`` names what is counted ("pixels" or "rows").
    """
    step = check_whole_number(step, "The step", 0, steps.n_steps)
    if step == 0:
        how = "k-means++ (spread out)" if steps.init == "k-means++" else "random " + unit
        return f"Step 0: {steps.n_clusters} starting centres, picked by {how}."
    changed = steps.changed[step - 1]
    if step > 1 and changed == 0:
        return f"Nothing changed in step {step}: k-means has converged."
    moved = steps.moved[step - 1]
    before = steps.inertia[step - 2] if step > 1 else steps.joined_inertia[0]
    fall = 100 * (before - steps.inertia[step - 1]) / before if before > 0 else 0.0
    if step == 1:
        joined = f"every one of the {changed:,.0f} {unit} joined its nearest centre"
    else:
        joined = f"{changed:,.0f} {unit} ({100 * changed / steps.n_pixels:.1f}%) changed group"
    sentence = (
        f"Step {step}: {joined}; the centres moved {moved:.1f} on average. "
        f"Inertia fell {fall:.1f}%."
    )
    if step == steps.n_steps and not steps.converged:
        sentence += f" The run stops here, at its limit of {steps.n_steps} steps."
    return sentence


@dataclass(frozen=True)
class PaletteGap:
    """How far a recorded run's last centres are from another fit's.

    Attributes
    ----------
    mean_distance, max_distance : float
        Distances between paired centres (each centre paired with one of the
        other fit's so that the pairs are as close as possible), in sRGB 0-255.
    inertia_change : float
        The other fit's inertia relative to the run's last one: -0.01 is 1% lower.
    """

    mean_distance: float
    max_distance: float
    inertia_change: float


def palette_gap(
    centres: np.ndarray, inertia: float, other_centres: np.ndarray, other_inertia: float
) -> PaletteGap:
    """Compare two palettes of centres, paired one to one (Hungarian method).

    Parameters
    ----------
    centres, other_centres : ndarray of shape (k, 3) and (k2, 3)
        sRGB 0-255; when ``k != k2`` only the closest ``min(k, k2)`` pairs count.
    inertia, other_inertia : float
    """
    distances = np.linalg.norm(centres[:, None, :] - other_centres[None, :, :], axis=2)
    rows, columns = linear_sum_assignment(distances)
    paired = distances[rows, columns]
    change = (other_inertia - inertia) / inertia if inertia > 0 else 0.0
    return PaletteGap(float(paired.mean()), float(paired.max()), float(change))
