"""Weighted k-means and image quantization."""

import dataclasses
import tracemalloc
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from sklearn.cluster import KMeans

from kmeans_lib import clustering
from kmeans_lib.clustering import (
    COARSE_MIN_POINTS,
    WeightedPoints,
    fit_kmeans,
    image_points,
    quantize,
)
from kmeans_lib.colour_space import to_features
from kmeans_lib.errors import InputError
from kmeans_lib.images import Image, load_sample
from kmeans_lib.pixels import colour_codes, count_colours


@pytest.fixture(scope="module")
def china() -> Image:
    return load_sample("china")


def few_colour_image(n_colours: int, shape=(30, 40), seed=0) -> Image:
    rng = np.random.default_rng(seed)
    palette = rng.choice(256, size=(n_colours, 3), replace=False).astype(np.uint8)
    labels = np.arange(shape[0] * shape[1]) % n_colours
    return Image(palette[rng.permutation(labels)].reshape(*shape, 3))


def inertia_over_every_pixel(image: Image, centroids: np.ndarray, space: str) -> float:
    """The k-means objective computed the slow way: every pixel to its nearest centre."""
    X = to_features(image.opaque_pixels(), space)
    squared = ((X[:, None, :] - centroids[None, :, :]) ** 2).sum(axis=2)
    return float(squared.min(axis=1).sum())


@pytest.mark.parametrize("space", ["rgb", "lab"])
def test_weighted_fit_has_the_same_objective_as_a_fit_on_every_pixel(china, space):
    # china.jpg has far more than COARSE_MIN_POINTS distinct colours, so this
    # also covers the histogram pre-fit and polish path.
    points = image_points(count_colours(china), space)
    assert points.coarse is not None
    fit = fit_kmeans(points, 8, random_state=0)
    assert fit.inertia == pytest.approx(
        inertia_over_every_pixel(china, fit.centers, space), rel=1e-9
    )
    assert points.weights.sum() == china.n_pixels


def test_unpolished_fit_is_exact_for_its_histogram_centres(china):
    points = image_points(count_colours(china))
    rough = fit_kmeans(points, 8, random_state=0, polish=False)
    polished = fit_kmeans(points, 8, random_state=0)
    assert rough.inertia == pytest.approx(
        inertia_over_every_pixel(china, rough.centers, "rgb"), rel=1e-9
    )
    assert polished.inertia <= rough.inertia


def test_small_input_is_fitted_directly_with_the_same_objective():
    image = few_colour_image(50)
    points = image_points(count_colours(image))
    assert points.coarse is None
    fit = fit_kmeans(points, 5, random_state=0)
    assert fit.inertia == pytest.approx(
        inertia_over_every_pixel(image, fit.centers, "rgb"), rel=1e-9
    )


def test_colour_histogram_summarises_the_colours(china):
    colours = count_colours(china)
    assert colours.n_colours > COARSE_MIN_POINTS
    coarse = image_points(colours).coarse
    assert coarse.n_points <= 32**3
    assert coarse.weights.sum() == china.n_pixels
    # The weighted mean of the bin means is the image's mean colour.
    np.testing.assert_allclose(
        np.average(coarse.X, axis=0, weights=coarse.weights),
        china.opaque_pixels().mean(axis=0),
    )


@pytest.mark.parametrize("k", [16, 64, 256])
def test_quality_matches_scikit_learn_fitted_on_every_pixel(china, k):
    X = china.opaque_pixels().astype(np.float64)
    baseline = KMeans(n_clusters=k, n_init=1, random_state=0).fit(X)
    ours = quantize(china, k, random_state=0)
    assert ours.inertia <= 1.01 * baseline.inertia_


def test_many_colours_are_labelled_by_the_member_bins_fit_without_a_polish(monkeypatch):
    # china's 96,615 colours stand in for a 12 MP photo's 1.5 million.
    monkeypatch.setattr(clustering, "EXACT_POLISH_MAX_POINTS", 50_000)
    points = image_points(count_colours(load_sample("china")))
    fitted_on = []
    real_lloyd = clustering._lloyd

    def spy(X, weights, centers, max_iter):
        fitted_on.append(len(X))
        return real_lloyd(X, weights, centers, max_iter)

    monkeypatch.setattr(clustering, "_lloyd", spy)
    fit = fit_kmeans(points, 40, random_state=0)
    assert points.n_points not in fitted_on  # no step on the exact colours
    assert len(points.members.means) in fitted_on
    X = points.X.astype(np.float64)
    squared = ((X[:, None, :] - fit.centers[None]) ** 2).sum(axis=2)
    np.testing.assert_array_equal(fit.labels, squared.argmin(axis=1))
    assert fit.inertia == pytest.approx(float(points.weights @ squared.min(axis=1)), rel=1e-9)
    assert fit.inertia < fit_kmeans(points, 40, random_state=0, polish=False).inertia


def test_quantize_returns_a_consistent_result(china):
    q = quantize(china, 6)
    assert q.n_colours == 6
    assert q.palette.dtype == np.uint8 and q.palette.shape == (6, 3)
    assert q.labels.shape == (427, 640) and q.labels.dtype == np.int16
    assert q.shares.sum() == pytest.approx(1.0)
    assert (np.diff(q.shares) <= 0).all()  # most used colour first
    np.testing.assert_array_equal(np.bincount(q.labels.ravel(), minlength=6), q.counts)
    np.testing.assert_array_equal(q.palette, np.rint(q.centroids))
    assert q.hex_codes()[0] == "#{:02x}{:02x}{:02x}".format(*q.palette[0])
    assert q.n_iter >= 1 and q.fit_seconds > 0
    assert q.note is None
    # Each pixel carries the label of its colour.
    index = np.searchsorted(colour_codes(q.colours.colours), colour_codes(china.pixels))
    np.testing.assert_array_equal(q.colour_labels[index], q.labels)


def test_same_seed_gives_the_same_palette(china):
    first = quantize(china, 12, random_state=7)
    again = quantize(china, 12, random_state=7)
    np.testing.assert_array_equal(first.palette, again.palette)
    np.testing.assert_array_equal(first.labels, again.labels)


def test_k_equal_to_one_gives_the_mean_colour_and_the_total_variance():
    image = few_colour_image(40)
    X = image.opaque_pixels().astype(np.float64)
    q = quantize(image, 1)
    np.testing.assert_allclose(q.centroids[0], X.mean(axis=0))
    assert q.inertia == pytest.approx(((X - X.mean(axis=0)) ** 2).sum())
    assert (q.labels == 0).all()


def test_k_above_the_number_of_distinct_colours_returns_those_colours():
    image = few_colour_image(5)
    q = quantize(image, 16)
    assert q.n_colours == 5
    assert (q.counts > 0).all()
    np.testing.assert_array_equal(
        np.unique(q.palette, axis=0), np.unique(image.opaque_pixels(), axis=0)
    )
    assert q.inertia == 0.0
    assert "only 5 distinct colours" in q.note and "16" in q.note


def test_single_colour_image_gives_one_colour():
    image = Image(np.full((8, 8, 3), [10, 20, 30], dtype=np.uint8))
    q = quantize(image, 3)
    np.testing.assert_array_equal(q.palette, [[10, 20, 30]])
    assert "only 1 distinct colour," in q.note


def test_transparent_pixels_get_no_label_and_do_not_count():
    pixel_values = np.zeros((4, 4, 3), dtype=np.uint8)
    pixel_values[:2] = [250, 0, 0]
    pixel_values[2:] = [0, 0, 250]
    opaque = np.ones((4, 4), dtype=bool)
    opaque[0] = False  # half of the red is transparent
    q = quantize(Image(pixel_values, opaque), 2)
    assert (q.labels[0] == -1).all()
    assert (q.labels[1:] >= 0).all()
    np.testing.assert_array_equal(q.palette, [[0, 0, 250], [250, 0, 0]])
    np.testing.assert_array_equal(q.counts, [8, 4])


def test_fully_transparent_image_is_refused():
    image = Image(np.zeros((3, 3, 3), dtype=np.uint8), np.zeros((3, 3), dtype=bool))
    with pytest.raises(InputError, match="transparent"):
        quantize(image, 3)


def test_lab_quantization_returns_an_srgb_palette(china):
    q = quantize(china, 8, colour_space="lab")
    assert q.colour_space == "lab"
    assert q.palette.dtype == np.uint8
    # The palette colours are drawn from the image: each is close to some pixel.
    colours = count_colours(china).colours.astype(float)
    nearest = np.sqrt(((q.centroids[:, None] - colours[None]) ** 2).sum(axis=2)).min(axis=1)
    assert (nearest < 20).all()


@pytest.mark.parametrize("k", [0, 257, 2.5, True, "3", None])
def test_invalid_k_is_a_plain_error(k):
    with pytest.raises(InputError, match="whole number from 1 to 256"):
        quantize(few_colour_image(3), k)


def test_fit_on_table_like_points_without_weights_variation():
    rng = np.random.default_rng(0)
    blobs = np.concatenate([rng.normal(c, 0.1, size=(50, 2)) for c in (0, 5, 10)])
    fit = fit_kmeans(WeightedPoints(blobs, np.ones(len(blobs))), 3, random_state=0)
    assert fit.n_clusters == 3
    assert sorted(np.bincount(fit.labels).tolist()) == [50, 50, 50]


def test_quantize_can_reuse_a_colour_count(china):
    colours = count_colours(china)
    shared = quantize(china, 5, colours=colours)
    assert shared.colours is colours
    counted_here = quantize(china, 5)
    np.testing.assert_array_equal(shared.palette, counted_here.palette)
    # Labels come from a colour-code lookup here and from the count's pixel index there.
    np.testing.assert_array_equal(shared.labels, counted_here.labels)
    with pytest.raises(InputError, match="another picture"):
        quantize(few_colour_image(4), 3, colours=colours)


def test_polish_steps_shrink_with_the_points_within_3_to_40_and_10_from_k_96():
    from kmeans_lib.clustering import _polish_iterations

    # Below k = 32, as before the search: 3 to 10, fewer as points times k grow.
    assert _polish_iterations(96_615, 16) == 10
    assert _polish_iterations(1_512_063, 16) == 4
    assert _polish_iterations(96_615, 64) == 40  # china.jpg: cheap steps, all forty
    assert _polish_iterations(500_000, 64) == 9
    assert _polish_iterations(1_512_063, 64) == 3
    assert _polish_iterations(1_512_063, 96) == 10
    assert _polish_iterations(50_000_000, 64) == 3
    assert _polish_iterations(50_000_000, 256) == 10


def test_quantize_with_points_already_built_gives_the_same_result():
    image = load_sample("china")
    colours = count_colours(image)
    points = image_points(colours, "lab")
    given = quantize(image, 6, colour_space="lab", colours=colours, points=points)
    built = quantize(image, 6, colour_space="lab", colours=colours)
    np.testing.assert_array_equal(given.labels, built.labels)
    np.testing.assert_array_equal(given.palette, built.palette)
    other = image_points(count_colours(Image(image.pixels[:50])), "lab")
    with pytest.raises(InputError, match="another picture"):
        quantize(image, 6, colour_space="lab", colours=colours, points=other)


@pytest.mark.parametrize("space", ["rgb", "lab"])
@pytest.mark.parametrize("k", [2, 7, 20])
@pytest.mark.parametrize("block", [None, 8_000], ids=["one-block", "many-blocks"])
def test_histogram_fit_labels_whole_bins_exactly_as_point_by_point(space, k, block, monkeypatch):
    if block is not None:  # china's 25,000 bins and 97,000 colours in many blocks
        monkeypatch.setattr(clustering, "_ASSIGN_BLOCK", block)
    # china has 96,615 colours: fits go through the histogram and its bins.
    points = image_points(count_colours(load_sample("china")), space)
    assert points.members is not None
    fit = fit_kmeans(points, k, polish=False)
    X = points.X.astype(np.float64)
    squared = ((X[:, None, :] - fit.centers[None]) ** 2).sum(axis=2)
    np.testing.assert_array_equal(fit.labels, squared.argmin(axis=1))
    assert fit.inertia == pytest.approx(float(points.weights @ squared.min(axis=1)), rel=1e-9)
    unlabelled = fit_kmeans(points, k, polish=False, with_labels=False)
    assert unlabelled.labels is None
    np.testing.assert_array_equal(unlabelled.centers, fit.centers)
    assert unlabelled.inertia == pytest.approx(fit.inertia, rel=1e-12)


def test_a_quantization_keeps_no_label_map_but_works_it_out_on_request():
    rng = np.random.default_rng(3)
    image = Image(pixels=rng.integers(0, 256, (300, 400, 3), dtype=np.uint8))
    q = quantize(image, 8)
    kept = [
        getattr(q, f.name)
        for f in dataclasses.fields(q)
        if isinstance(getattr(q, f.name), np.ndarray)
    ]
    # Palette, centres, counts, shares and one label per distinct colour: no
    # array as large as a label map per pixel.
    assert all(array.size < image.n_pixels for array in kept)
    labels = q.labels
    assert labels.shape == (300, 400) and labels.dtype == np.int16
    colour_rows = {tuple(c): i for i, c in enumerate(q.colours.colours.tolist())}
    for y, x in [(0, 0), (150, 200), (299, 399)]:
        row = colour_rows[tuple(image.pixels[y, x].tolist())]
        assert labels[y, x] == q.colour_labels[row]
    window = (slice(100, 140), slice(10, 390, 7))
    np.testing.assert_array_equal(q.labels_in(Image(image.pixels[window])), labels[window])
    copy = q.palette_only()
    assert copy.size == q.size == (400, 300) and copy.image is None
    np.testing.assert_array_equal(copy.palette, q.palette)
    with pytest.raises(InputError, match="keeps only its palette"):
        _ = copy.labels


def test_bin_members_take_little_memory_beside_the_points():
    rng = np.random.default_rng(4)
    n = 1_000_000
    colours = rng.integers(0, 256, (n, 3), dtype=np.uint8)
    X, weights = colours.astype(np.float32), rng.integers(1, 50, n).astype(np.float64)
    tracemalloc.start()
    try:
        members = clustering._bin_members(colours, X, weights)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Per point: its 18-bit code and its bin (int32 each), its squared distance
    # and one column of weighted coordinates, about 24 bytes; per bin of the
    # 2**18, a few float64 sums (25.5 bytes a point measured; with a sort order
    # by bin, 31.9).
    assert peak < 26 * n + 8 * 8 * (1 << 18)
    assert np.bincount(members.point_bin).sum() == n
    assert len(members.means) == members.point_bin.max() + 1


def test_bin_members_are_worked_out_once_when_first_asked_for(monkeypatch):
    calls = []
    real = clustering._bin_members

    def counting(*args):
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(clustering, "_bin_members", counting)
    points = image_points(count_colours(load_sample("china")), "rgb")
    assert calls == []  # a redraw never needs them
    with ThreadPoolExecutor(4) as pool:
        found = list(pool.map(lambda _: points.members, range(8)))
    assert calls == [1]
    assert all(members is found[0] for members in found)
    assert len(found[0].point_bin) == points.n_points
