"""Recording k-means step by step: agreement with scikit-learn and the recorded numbers."""

import numpy as np
import pytest
from sklearn.cluster import KMeans

from kmeans_lib import steps as steps_module
from kmeans_lib.clustering import WeightedPoints, image_points
from kmeans_lib.errors import InputError
from kmeans_lib.images import Image, load_sample
from kmeans_lib.pixels import count_colours
from kmeans_lib.steps import palette_gap, record_kmeans, start_centers, step_sentence


@pytest.fixture(scope="module")
def china_points() -> WeightedPoints:
    return image_points(count_colours(load_sample("china")), "rgb")


def blobs(n=600, d=2, seed=0) -> WeightedPoints:
    """Three overlapping clouds of points with whole-number weights 1 to 5."""
    rng = np.random.default_rng(seed)
    X = np.concatenate([rng.normal(centre, 1.2, size=(n // 3, d)) for centre in (0, 3, 6)])
    return WeightedPoints(X=X, weights=rng.integers(1, 6, size=len(X)).astype(np.float64))


def sklearn_centres(points: WeightedPoints, steps) -> np.ndarray:
    model = KMeans(
        steps.n_clusters,
        init=steps.centers[0],
        n_init=1,
        max_iter=steps.n_steps,
        tol=0,
        algorithm="lloyd",
    )
    return model.fit(points.X.astype(np.float64), sample_weight=points.weights).cluster_centers_


@pytest.mark.parametrize("init", ["k-means++", "random"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_last_centres_equal_scikit_learn_from_the_same_start(init, seed):
    points = blobs(seed=seed)
    steps = record_kmeans(points, 4, init=init, random_state=seed)
    np.testing.assert_allclose(steps.centers[-1], sklearn_centres(points, steps), atol=1e-6)


def test_colour_bins_agree_with_scikit_learn_on_a_photo(china_points):
    """china.jpg's 97,000 colours are joined a bin at a time; the result is unchanged."""
    assert china_points.members is not None
    steps = record_kmeans(china_points, 6, random_state=3, max_steps=15)
    np.testing.assert_allclose(steps.centers[-1], sklearn_centres(china_points, steps), atol=1e-6)


def test_joining_in_chunks_and_on_threads_changes_nothing(china_points, monkeypatch):
    whole = record_kmeans(china_points, 6, random_state=3, max_steps=15)
    monkeypatch.setattr(steps_module, "_JOIN_CHUNK", 5_000)
    monkeypatch.setattr(steps_module, "_PARALLEL_SEARCH_ROWS", 1_000)
    chunked = record_kmeans(china_points, 6, random_state=3, max_steps=15)
    np.testing.assert_allclose(chunked.centers, whole.centers, rtol=1e-12, atol=1e-9)
    np.testing.assert_array_equal(chunked.changed, whole.changed)
    np.testing.assert_allclose(chunked.inertia, whole.inertia, rtol=1e-9)


def test_stopping_at_the_limit_agrees_with_scikit_learn_stopped_there():
    points = blobs(seed=4)
    steps = record_kmeans(points, 5, max_steps=2)
    assert steps.n_steps == 2 and not steps.converged
    np.testing.assert_allclose(steps.centers[-1], sklearn_centres(points, steps), atol=1e-6)


def test_inertia_never_rises_from_one_half_step_to_the_next(china_points):
    steps = record_kmeans(china_points, 8, random_state=1)
    sequence = np.column_stack([steps.joined_inertia, steps.inertia]).ravel()
    assert np.all(np.diff(sequence) <= 1e-9 * sequence[0])
    assert steps.inertia[-1] < steps.joined_inertia[0]


def test_a_converged_run_ends_with_a_step_that_changes_nothing():
    points = blobs(seed=6)
    steps = record_kmeans(points, 3)
    assert steps.converged and steps.n_steps < 50
    assert steps.changed[-1] == 0 and np.all(steps.changed[:-1] > 0)
    np.testing.assert_array_equal(steps.centers[-1], steps.centers[-2])
    np.testing.assert_array_equal(steps.sample_labels[-1], steps.sample_labels[-2])
    assert "converged" in step_sentence(steps, steps.n_steps)


def test_changed_counts_and_inertia_add_up_over_every_pixel():
    """With fewer pixels than the sample size every pixel is sampled: counts can be checked."""
    rng = np.random.default_rng(7)
    pixels = rng.integers(0, 256, size=(30, 40, 3), dtype=np.uint8)
    image = Image(pixels[:, :, :] // 32 * 32)  # a few hundred colours, repeated
    points = image_points(count_colours(image), "rgb")
    steps = record_kmeans(points, 5, random_state=2, n_sample=5_000)
    assert len(steps.sample) == image.n_opaque
    assert steps.changed[0] == image.n_opaque
    moves = (steps.sample_labels[1:] != steps.sample_labels[:-1]).sum(axis=1)
    np.testing.assert_array_equal(steps.changed[1:], moves)
    # And the inertia is the sum over every pixel, before and after the centres move.
    X = points.X[steps.sample].astype(np.float64)
    for step, labels in enumerate(steps.sample_labels):
        for centres, recorded in (
            (steps.centers[step], steps.joined_inertia[step]),
            (steps.centers[step + 1], steps.inertia[step]),
        ):
            assert ((X - centres[labels]) ** 2).sum() == pytest.approx(recorded, rel=1e-9)


def test_k_above_the_number_of_colours_gives_one_group_per_colour():
    image = Image(np.array([[[0, 0, 0], [255, 0, 0]], [[0, 0, 255], [0, 0, 255]]], np.uint8))
    steps = record_kmeans(image_points(count_colours(image)), 8)
    assert steps.n_clusters == 3 and steps.converged
    assert steps.inertia[-1] == pytest.approx(0.0, abs=1e-9)


def test_k_of_one_ends_at_the_weighted_mean():
    points = blobs(seed=8)
    steps = record_kmeans(points, 1)
    assert steps.converged and steps.n_steps == 2
    mean = np.average(points.X, axis=0, weights=points.weights)
    np.testing.assert_allclose(steps.centers[-1, 0], mean, atol=1e-9)
    assert steps.inertia[-1] == pytest.approx(steps.total, rel=1e-9)
    assert steps.variance_explained[-1] == pytest.approx(0.0, abs=1e-9)


def test_a_one_colour_picture_converges_at_once():
    image = Image(np.full((20, 30, 3), 90, np.uint8))
    steps = record_kmeans(image_points(count_colours(image), "lab"), 4)
    assert steps.n_clusters == 1 and steps.converged
    assert steps.inertia[-1] == 0 and steps.variance_explained[-1] == 1.0
    assert step_sentence(steps, 0).startswith("Step 0: 1 starting centre")


def test_the_sample_is_the_same_for_every_start(china_points):
    one = record_kmeans(china_points, 4, random_state=0, max_steps=2)
    two = record_kmeans(china_points, 4, random_state=1, init="random", max_steps=2)
    np.testing.assert_array_equal(one.sample, two.sample)
    assert len(one.sample) == 3_000
    assert not np.allclose(one.centers[0], two.centers[0])


def test_kmeans_plus_plus_starts_as_scikit_learn_kmeans_does():
    points = blobs(seed=9)
    centres = start_centers(points, 4, "k-means++", 11)
    model = KMeans(4, n_init=1, max_iter=1, random_state=11).fit(
        points.X, sample_weight=points.weights
    )
    # One scikit-learn step from the same start: its centres after that step.
    steps = record_kmeans(points, 4, random_state=11, max_steps=1)
    np.testing.assert_allclose(steps.centers[0], centres)
    np.testing.assert_allclose(steps.centers[1], model.cluster_centers_, atol=1e-6)


def test_sentences_give_the_numbers_in_plain_words(china_points):
    steps = record_kmeans(china_points, 8, max_steps=3)
    assert (
        step_sentence(steps, 0) == "Step 0: 8 starting centres, picked by k-means++ (spread out)."
    )
    third = step_sentence(steps, 3)
    changed = steps.changed[2]
    assert third.startswith(f"Step 3: {changed:,.0f} pixels ({100 * changed / 273_280:.1f}%)")
    assert "changed group; the centres moved" in third and "Inertia fell" in third
    assert "limit of 3 steps" in third


def test_bad_arguments_are_refused_in_plain_words():
    points = blobs()
    with pytest.raises(InputError, match="start"):
        record_kmeans(points, 3, init="farthest")
    with pytest.raises(InputError, match="step limit"):
        record_kmeans(points, 3, max_steps=0)
    with pytest.raises(InputError, match="nothing to cluster"):
        record_kmeans(WeightedPoints(np.empty((0, 3)), np.empty(0)), 3)


def test_palette_gap_pairs_centres_one_to_one():
    a = np.array([[0.0, 0, 0], [100, 100, 100]])
    b = np.array([[103.0, 104, 100], [0, 0, 0]])
    gap = palette_gap(a, 200.0, b, 190.0)
    assert gap.max_distance == pytest.approx(5.0)
    assert gap.mean_distance == pytest.approx(2.5)
    assert gap.inertia_change == pytest.approx(-0.05)
