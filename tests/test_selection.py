"""Choosing k: elbow sweep, knee, silhouette sweep and per-sample silhouette."""

import subprocess
import sys

import numpy as np
import pytest
from scipy.spatial.distance import cdist
from sklearn.metrics import silhouette_samples
from threadpoolctl import threadpool_info

from kmeans_lib import selection
from kmeans_lib.clustering import WeightedPoints, fit_kmeans, image_points, quantize
from kmeans_lib.errors import InputError
from kmeans_lib.images import Image
from kmeans_lib.pixels import count_colours
from kmeans_lib.selection import (
    elbow_sweep,
    find_knee,
    sample_points,
    silhouette_detail,
    silhouette_sweep,
)

CENTRES = np.array([[30, 30, 30], [220, 40, 40], [40, 200, 60], [50, 60, 220]], dtype=float)


def blobs(n_per_blob: int = 60, seed: int = 0) -> WeightedPoints:
    """Distinct colours in four tight, far-apart groups, with random pixel counts."""
    rng = np.random.default_rng(seed)
    X = np.concatenate([centre + rng.normal(0, 6, size=(n_per_blob, 3)) for centre in CENTRES])
    weights = rng.integers(1, 50, size=len(X)).astype(float)
    return WeightedPoints(X=X, weights=weights)


def pixels_of(points: WeightedPoints) -> np.ndarray:
    """Every pixel the weighted points stand for."""
    return np.repeat(points.X, points.weights.astype(int), axis=0)


def test_the_library_loads_without_matplotlib_even_where_it_is_installed():
    pytest.importorskip("matplotlib")
    code = "import sys, kmeans_lib.selection; print('matplotlib' in sys.modules)"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert loaded.stdout.strip() == "False"


# find_knee


def test_find_knee_of_l_shaped_curve_is_at_the_corner():
    ks = range(1, 11)
    assert find_knee(ks, [100, 70, 40, 10, 9, 8, 7, 6, 5, 4]) == 4


def test_find_knee_of_increasing_concave_curve():
    ks = range(1, 11)
    values = [0, 30, 60, 90, 91, 92, 93, 94, 95, 96]
    assert find_knee(ks, values, curve="concave", direction="increasing") == 4


def test_find_knee_ignores_the_order_of_the_points():
    ks = [4, 1, 10, 2, 3, 5, 6, 7, 8, 9]
    curve = dict(zip(range(1, 11), [100, 70, 40, 10, 9, 8, 7, 6, 5, 4], strict=True))
    assert find_knee(ks, [curve[k] for k in ks]) == 4


@pytest.mark.parametrize(
    ("ks", "values"),
    [
        (range(1, 11), [100 - 10 * k for k in range(1, 11)]),  # straight line
        ([1, 2], [10, 1]),  # fewer than three points
        (range(1, 8), [5.0] * 7),  # flat
        ([1, 2, 3], [np.nan, 4.0, np.nan]),  # one finite point
    ],
    ids=["straight-line", "two-points", "flat", "mostly-nan"],
)
def test_find_knee_is_none_without_a_clear_knee(ks, values):
    assert find_knee(ks, values) is None


def test_find_knee_refuses_mismatched_lengths():
    with pytest.raises(InputError):
        find_knee([1, 2, 3], [3, 2])


# sample_points


def test_sample_points_draws_in_proportion_to_weights():
    index = sample_points(np.array([1.0, 0.0, 999.0]), 200, random_state=0)
    assert len(index) == 200
    assert 1 not in index
    assert np.count_nonzero(index == 2) >= 195


def test_sample_points_draws_pixels_without_replacement():
    index = sample_points(np.ones(100), 30, random_state=1)
    assert len(np.unique(index)) == 30


def test_sample_points_takes_every_pixel_once_when_there_are_few():
    assert sample_points(np.array([2.0, 3.0]), 10).tolist() == [0, 0, 1, 1, 1]


def test_sample_points_is_reproducible_with_a_seed():
    weights = np.arange(1.0, 500.0)
    first = sample_points(weights, 50, random_state=7)
    assert np.array_equal(first, sample_points(weights, 50, random_state=7))
    assert not np.array_equal(first, sample_points(weights, 50, random_state=8))


# elbow_sweep


def test_elbow_sweep_finds_the_number_of_blobs():
    curve = elbow_sweep(blobs(), range(1, 11))
    assert curve.ks.tolist() == list(range(1, 11))
    assert curve.knee == len(CENTRES)


def test_elbow_sweep_inertia_is_the_all_pixel_inertia_of_each_fit():
    points = blobs()
    curve = elbow_sweep(points, [1, 3, 5])
    for k, inertia in zip(curve.ks, curve.inertia, strict=True):
        fit = fit_kmeans(points, int(k))
        assert inertia == pytest.approx(fit.inertia)
        pixels = pixels_of(points)
        labels = np.repeat(fit.labels, points.weights.astype(int))
        direct = ((pixels - fit.centers[labels]) ** 2).sum()
        assert inertia == pytest.approx(direct, rel=1e-9)


def test_variance_explained_is_zero_at_k1_against_total_sum_of_squares():
    points = blobs()
    curve = elbow_sweep(points, [1, 2, 4])
    pixels = pixels_of(points)
    total = ((pixels - pixels.mean(axis=0)) ** 2).sum()
    assert curve.inertia[0] == pytest.approx(total, rel=1e-9)
    assert curve.variance_explained[0] == pytest.approx(0.0, abs=1e-12)
    expected = 1 - curve.inertia / total
    assert np.allclose(curve.variance_explained, expected)
    assert np.all(np.diff(curve.variance_explained) > 0)


def test_variance_explained_is_full_when_every_colour_is_its_own_cluster():
    points = WeightedPoints(X=CENTRES.copy(), weights=np.array([5.0, 1.0, 2.0, 9.0]))
    curve = elbow_sweep(points, [1, 4, 6])
    assert curve.variance_explained.tolist() == [0.0, 1.0, 1.0]


def test_elbow_sweep_of_a_single_colour_is_fully_explained_without_knee():
    points = WeightedPoints(X=np.array([[10.0, 20.0, 30.0]]), weights=np.array([100.0]))
    curve = elbow_sweep(points, range(1, 6))
    assert np.all(curve.inertia == 0)
    assert np.all(curve.variance_explained == 1.0)
    assert curve.knee is None


def test_elbow_sweep_reports_progress_after_each_k():
    reported = []
    elbow_sweep(blobs(), range(1, 6), progress=reported.append)
    assert reported == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0])


def test_elbow_sweep_sorts_and_deduplicates_ks():
    curve = elbow_sweep(blobs(), [3, 1, 3, 2])
    assert curve.ks.tolist() == [1, 2, 3]
    assert len(curve.inertia) == len(curve.seconds) == len(curve.variance_explained) == 3
    assert np.all(curve.seconds >= 0)


def test_elbow_curve_to_frame_has_readable_columns():
    frame = elbow_sweep(blobs(), range(1, 4)).to_frame()
    assert list(frame.columns) == ["k", "Inertia", "Variance explained (%)", "Fit time (s)"]
    assert frame["Variance explained (%)"].iloc[0] == pytest.approx(0.0, abs=1e-9)
    assert len(frame) == 3


@pytest.mark.parametrize("ks", [[], [0], [2.5], [True], [257], ["3"]])
def test_elbow_sweep_refuses_bad_ks(ks):
    with pytest.raises(InputError):
        elbow_sweep(blobs(), ks)


def test_elbow_sweep_refuses_empty_points():
    empty = WeightedPoints(X=np.empty((0, 3)), weights=np.empty(0))
    with pytest.raises(InputError, match="nothing to cluster"):
        elbow_sweep(empty, [1, 2])


# silhouette_sweep


def test_silhouette_sweep_scores_the_blobs_best_at_their_number():
    curve = silhouette_sweep(blobs(), range(2, 7), sample_size=1000)
    assert curve.ks.tolist() == [2, 3, 4, 5, 6]
    assert curve.ks[np.argmax(curve.mean)] == len(CENTRES)
    assert curve.ks[np.argmax(curve.calinski_harabasz)] == len(CENTRES)
    assert curve.ks[np.argmin(curve.davies_bouldin)] == len(CENTRES)
    assert np.all((curve.mean > -1) & (curve.mean <= 1))
    assert np.all(curve.std >= 0)


def test_silhouette_sweep_never_scores_more_than_the_sample(monkeypatch):
    # 240 colours standing for 24 million pixels: only the sample may be scored.
    points = blobs()
    points = WeightedPoints(X=points.X, weights=np.full(points.n_points, 100_000.0))
    calls = []
    real = selection._silhouettes

    def recording(X, repeats, labellings):
        calls.append((int(repeats.sum()), len(labellings)))
        return real(X, repeats, labellings)

    monkeypatch.setattr(selection, "_silhouettes", recording)
    curve = silhouette_sweep(points, [2, 4], sample_size=500, n_repeats=2)
    # One pass per sample of 500 pixels scores both k.
    assert calls == [(500, 2)] * 2
    assert curve.sample_size == 500


def test_silhouette_sweep_spread_comes_from_repeated_samples():
    points = blobs()
    single = silhouette_sweep(points, [3], sample_size=200, n_repeats=1)
    repeated = silhouette_sweep(points, [3], sample_size=200, n_repeats=4)
    assert single.std[0] == 0.0
    assert repeated.std[0] > 0.0


def test_silhouette_sweep_reports_nan_where_k_reaches_the_distinct_points():
    points = WeightedPoints(X=CENTRES.copy(), weights=np.array([50.0, 40.0, 30.0, 20.0]))
    curve = silhouette_sweep(points, [2, 3, 4, 5], sample_size=100)
    assert np.all(np.isfinite(curve.mean[:2]))
    assert np.all(np.isnan(curve.mean[2:]))
    assert np.all(np.isnan(curve.calinski_harabasz[2:]))
    assert np.all(np.isnan(curve.davies_bouldin[2:]))


def test_silhouette_sweep_is_reproducible_and_reports_progress():
    reported = []
    first = silhouette_sweep(blobs(), [2, 3], sample_size=300, progress=reported.append)
    second = silhouette_sweep(blobs(), [2, 3], sample_size=300)
    assert np.array_equal(first.mean, second.mean)
    # After each of the 2 fits and each of the 3 samples.
    assert reported == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0])


def test_sweeps_on_threads_give_the_same_curves_and_leave_the_thread_limits_alone():
    points = blobs()
    before = threadpool_info()
    reported = []
    on_threads = elbow_sweep(points, range(1, 8), n_jobs=2, progress=reported.append)
    one_by_one = elbow_sweep(points, range(1, 8))
    np.testing.assert_allclose(on_threads.inertia, one_by_one.inertia, rtol=1e-12)
    assert on_threads.knee == one_by_one.knee
    # Reported in the calling thread, in order, after each k.
    assert reported == pytest.approx([i / 7 for i in range(1, 8)])
    scored = silhouette_sweep(points, [2, 3, 4], sample_size=300, elbow=on_threads, n_jobs=2)
    alone = silhouette_sweep(points, [2, 3, 4], sample_size=300, elbow=on_threads)
    np.testing.assert_allclose(scored.mean, alone.mean, rtol=1e-12)
    np.testing.assert_allclose(scored.davies_bouldin, alone.davies_bouldin, rtol=1e-12)
    assert [pool["num_threads"] for pool in threadpool_info()] == [
        pool["num_threads"] for pool in before
    ]


@pytest.mark.parametrize("n_jobs", [0, -2, 1.5, True])
def test_sweeps_refuse_a_bad_number_of_jobs(n_jobs):
    with pytest.raises(InputError, match="n_jobs"):
        elbow_sweep(blobs(), range(1, 3), n_jobs=n_jobs)


def test_silhouette_curve_to_frame_has_readable_columns():
    frame = silhouette_sweep(blobs(), [2, 3], sample_size=200).to_frame()
    assert list(frame.columns) == [
        "k",
        "Silhouette (mean)",
        "Silhouette (std)",
        "Calinski-Harabasz",
        "Davies-Bouldin",
    ]


def exact_silhouettes(X: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """scikit-learn's silhouette on distances computed without cancellation.

    Its own distances put two pixels of one colour up to about 1e-6 apart when the
    coordinates are not whole numbers; these put them exactly 0 apart.
    """
    return silhouette_samples(cdist(X, X), labels, metric="precomputed")


def sklearn_sweep_means(points: WeightedPoints, ks, score=silhouette_samples) -> np.ndarray:
    """Mean silhouettes the slow way: a fit per k, ``score`` on each float64 sample."""
    rng = np.random.default_rng(0)
    samples = [sample_points(points.weights, 700, random_state=rng) for _ in range(2)]
    means = []
    for k in ks:
        labels = fit_kmeans(points, k, random_state=0, polish=False).labels
        per_sample = [score(points.X[index].astype(np.float64), labels[index]) for index in samples]
        means.append(np.mean([values.mean() for values in per_sample]))
    return np.array(means)


def table_points() -> WeightedPoints:
    """Rows of a table: weight 1 each."""
    points = blobs()
    return WeightedPoints(X=points.X, weights=np.ones(points.n_points))


def colour_points() -> WeightedPoints:
    """float32 colours of a noisy four-colour picture, many pixels to a colour."""
    rng = np.random.default_rng(4)
    pixels = CENTRES[rng.integers(0, 4, size=(60, 80))] + rng.normal(0, 2, size=(60, 80, 3))
    image = Image(np.clip(np.rint(pixels), 0, 255).astype(np.uint8))
    return image_points(count_colours(image), "rgb")


@pytest.mark.parametrize(
    ("make_points", "ks", "score"),
    [
        (table_points, [2, 3, 4, 7], silhouette_samples),
        (colour_points, [2, 5, 10], silhouette_samples),
        # Repeated pixels off the integer grid: scikit-learn's own distances add
        # rounding noise of nearly 1e-9 (7e-10 at k=7) to the mean.
        (blobs, [2, 4, 7], exact_silhouettes),
    ],
    ids=["table", "picture", "repeated-fractional-points"],
)
def test_silhouette_sweep_means_equal_scikit_learns(make_points, ks, score):
    points = make_points()
    curve = silhouette_sweep(points, ks, sample_size=700, n_repeats=2)
    expected = sklearn_sweep_means(points, ks, score)
    np.testing.assert_allclose(curve.mean, expected, rtol=0, atol=1e-9)


def test_silhouette_sweep_in_several_passes_scores_the_same(monkeypatch):
    points = blobs()
    one_pass = silhouette_sweep(points, range(2, 9), sample_size=400)
    # Samples have about 175 distinct points: room for about 20 of the 35 clusters
    # of k = 2..8 at a time.
    monkeypatch.setattr(selection, "_SUMS_BYTES", 16 * 175 * 20)
    several = silhouette_sweep(points, range(2, 9), sample_size=400)
    np.testing.assert_allclose(several.mean, one_pass.mean, rtol=0, atol=1e-12)


def test_silhouette_sweep_reuses_the_elbow_curves_fits(monkeypatch):
    points = blobs()
    curve = elbow_sweep(points, range(1, 6))
    without = silhouette_sweep(points, range(2, 8), sample_size=500)
    fitted = []
    real = selection._sweep_fit

    def recording(points, k, random_state, n_init):
        fitted.append(k)
        return real(points, k, random_state, n_init)

    monkeypatch.setattr(selection, "_sweep_fit", recording)
    shared = silhouette_sweep(points, range(2, 8), sample_size=500, elbow=curve)
    assert fitted == [6, 7]  # only the ks the curve does not cover
    for name in ("mean", "std", "calinski_harabasz", "davies_bouldin"):
        np.testing.assert_allclose(getattr(shared, name), getattr(without, name), rtol=1e-12)


def big_colour_points() -> WeightedPoints:
    """More distinct colours than COARSE_MIN_POINTS, so fits go through the histogram."""
    rng = np.random.default_rng(6)
    image = Image(rng.integers(0, 256, size=(150, 200, 3), dtype=np.uint8))
    return image_points(count_colours(image), "rgb")


@pytest.mark.parametrize("make_points", [table_points, big_colour_points])
def test_nearest_centres_are_the_sweep_fits_labels(make_points):
    points = make_points()
    X = points.X.astype(np.float64)
    for k in (2, 5, 9):
        sweep = selection._sweep_fit(points, k, 0, 3)
        assert sweep.labels is None  # a sweep needs no labels
        fit = fit_kmeans(points, k, random_state=0, polish=False)
        np.testing.assert_array_equal(sweep.centers, fit.centers)
        assert np.array_equal(selection._nearest_centre(X, sweep.centers), fit.labels)


def test_silhouette_sweep_refuses_an_elbow_curve_of_other_points():
    colours = count_colours(Image(CENTRES[np.arange(24).reshape(4, 6) % 4].astype(np.uint8)))
    rgb_curve = elbow_sweep(image_points(colours, "rgb"), range(1, 4))
    with pytest.raises(InputError, match="other data"):
        silhouette_sweep(image_points(colours, "lab"), [2, 3], elbow=rgb_curve)
    with pytest.raises(InputError, match="other data"):
        silhouette_sweep(blobs(seed=1), [2, 3], elbow=elbow_sweep(blobs(), [2, 3]))


@pytest.mark.parametrize(
    "arguments",
    [
        dict(ks=[1, 2]),
        dict(sample_size=20_001),
        dict(sample_size=0),
        dict(sample_size=5000.0),
        dict(n_repeats=0),
    ],
    ids=["k=1", "sample-too-large", "sample-zero", "sample-float", "no-repeats"],
)
def test_silhouette_sweep_refuses_bad_arguments(arguments):
    with pytest.raises(InputError):
        silhouette_sweep(blobs(), **arguments)


# silhouette_detail


def test_silhouette_detail_gives_one_value_per_sampled_pixel():
    points = blobs()
    fit = fit_kmeans(points, 4)
    detail = silhouette_detail(points, fit, sample_size=800)
    assert detail.values.shape == detail.labels.shape == (800,)
    assert set(detail.labels.tolist()) == {0, 1, 2, 3}
    assert detail.mean == pytest.approx(detail.values.mean())
    assert np.all((detail.values >= -1) & (detail.values <= 1))


def test_silhouette_detail_accepts_a_quantization_with_palette_labels():
    rng = np.random.default_rng(3)
    pixels = CENTRES[rng.integers(0, 4, size=(40, 50))] + rng.normal(0, 4, size=(40, 50, 3))
    image = Image(np.clip(np.rint(pixels), 0, 255).astype(np.uint8))
    q = quantize(image, 4)
    points = image_points(q.colours, q.colour_space)
    detail = silhouette_detail(points, q, sample_size=500)
    assert set(detail.labels.tolist()) == {0, 1, 2, 3}
    assert detail.mean > 0.7


def test_silhouette_detail_refuses_one_cluster():
    points = blobs()
    with pytest.raises(InputError, match="at least two clusters"):
        silhouette_detail(points, fit_kmeans(points, 1))


def test_silhouette_detail_refuses_a_fit_of_other_points():
    with pytest.raises(InputError, match="different data"):
        silhouette_detail(blobs(n_per_blob=10), fit_kmeans(blobs(), 3))


def test_silhouette_detail_uses_every_pixel_of_a_small_input():
    points = WeightedPoints(X=CENTRES[:2].copy(), weights=np.array([3.0, 4.0]))
    detail = silhouette_detail(points, fit_kmeans(points, 2), sample_size=100)
    assert detail.labels.size == 7
    assert np.allclose(detail.values, 1.0)


def test_silhouette_detail_equals_scikit_learn_with_a_one_pixel_cluster():
    # A lone far row is a cluster of its own; its silhouette is 0.
    X = np.vstack([table_points().X, [[250.0, 250.0, 250.0]]])
    points = WeightedPoints(X=X, weights=np.ones(len(X)))
    fit = fit_kmeans(points, 5)
    assert np.count_nonzero(fit.labels == fit.labels[-1]) == 1
    detail = silhouette_detail(points, fit, sample_size=1000)
    assert detail.labels.size == points.n_points  # every row
    expected = silhouette_samples(X, detail.labels)
    np.testing.assert_allclose(detail.values, expected, rtol=0, atol=1e-9)
    assert detail.values[-1] == 0.0
    assert detail.mean == pytest.approx(expected.mean(), rel=0, abs=1e-9)


def test_count_colours_points_feed_the_sweep():
    rng = np.random.default_rng(5)
    pixels = CENTRES[rng.integers(0, 4, size=(30, 30))].astype(np.uint8)
    points = image_points(count_colours(Image(pixels)), "rgb")
    curve = elbow_sweep(points, range(1, 7))
    assert curve.variance_explained[3:].tolist() == [1.0, 1.0, 1.0]


def test_fit_at_k1_is_the_mean_and_explains_exactly_nothing():
    # float32 colours with uneven counts: a k-means fit here lands a rounding error
    # away from the total, so only a construction gives exactly 0.
    rng = np.random.default_rng(2)
    X = rng.uniform(0, 255, size=(500, 3)).astype(np.float32)
    points = WeightedPoints(X=X, weights=rng.integers(1, 100, size=500).astype(float))
    fit = fit_kmeans(points, 1)
    assert fit.labels.tolist() == [0] * 500 and fit.n_iter == 0
    np.testing.assert_allclose(fit.centers[0], np.average(X, axis=0, weights=points.weights))
    curve = elbow_sweep(points, [1, 2])
    assert curve.inertia[0] == fit.inertia
    assert curve.variance_explained[0] == 0.0


@pytest.mark.parametrize("seed", range(4))
def test_cluster_scores_equal_scikit_learns_on_the_pixels_they_stand_for(seed):
    from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score

    rng = np.random.default_rng(seed)
    X = rng.normal(0, 30, size=(300, 3)) + rng.integers(0, 3, size=(300, 1)) * 80
    repeats = rng.integers(1, 5, size=300)
    labels = rng.integers(0, 2 + seed, size=300) * 3  # gaps in the label numbers
    ch, db = selection._cluster_scores(X, repeats, labels)
    pixels, pixel_labels = np.repeat(X, repeats, axis=0), np.repeat(labels, repeats)
    assert ch == pytest.approx(calinski_harabasz_score(pixels, pixel_labels), rel=1e-9)
    assert db == pytest.approx(davies_bouldin_score(pixels, pixel_labels), rel=1e-9)
