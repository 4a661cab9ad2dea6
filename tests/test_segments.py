"""Tests of kmeans_lib.segments: the clusters as regions, and one pixel with its cluster."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.color import deltaE_ciede2000

from kmeans_lib.clustering import quantize, recolour
from kmeans_lib.colour_space import to_features
from kmeans_lib.errors import InputError
from kmeans_lib.images import Image, resize_to_fit
from kmeans_lib.rendering import nearest_labels
from kmeans_lib.segments import (
    FADE,
    cluster_mask,
    delta_e_words,
    full_resolution_point,
    pixel_at,
    segment_view,
)

RNG = np.random.default_rng(7)
PIXELS = RNG.integers(0, 256, size=(30, 40, 3), dtype=np.uint8)
OPAQUE = RNG.random((30, 40)) > 0.2


@pytest.fixture(scope="module")
def case() -> tuple[Image, object]:
    image = Image(pixels=PIXELS, opaque=OPAQUE)
    return image, quantize(image, 6)


@pytest.mark.parametrize("chosen", [[0], [1, 4], [0, 1, 2, 3, 4, 5], []])
def test_a_mask_covers_exactly_the_chosen_clusters_pixels(case, chosen):
    _, q = case
    mask = cluster_mask(q.labels, chosen)
    for cluster in range(q.n_colours):
        assert np.all(mask[q.labels == cluster] == (cluster in chosen))
    assert not mask[q.labels < 0].any()  # transparent pixels belong to no cluster
    assert mask.sum() == q.counts[chosen].sum()


def test_segment_view_keeps_the_chosen_pixels_and_fades_the_rest(case):
    image, q = case
    view = segment_view(image, q.labels, [2])
    chosen = q.labels == 2
    np.testing.assert_array_equal(view[chosen], image.pixels[chosen])
    others = view[~chosen].astype(int)
    assert np.all(others >= round(255 * FADE))  # light
    assert np.all(others.max(axis=1) == others.min(axis=1))  # grey


def test_segment_view_of_a_shrunk_copy_uses_its_own_labels(case):
    image, q = case
    small = resize_to_fit(image, 20)
    labels = nearest_labels(small, q)
    view = segment_view(small, labels, [0, 1])
    assert view.shape == (small.height, small.width, 3)
    with pytest.raises(InputError, match="another size"):
        segment_view(small, q.labels, [0])


def test_chosen_clusters_must_be_whole_numbers(case):
    _, q = case
    with pytest.raises(InputError, match="whole numbers"):
        cluster_mask(q.labels, [-1])
    with pytest.raises(InputError, match="whole numbers"):
        cluster_mask(q.labels, [0.5])


@pytest.mark.parametrize(
    ("shown", "full", "point", "expected"),
    [
        # A 4000 x 3000 picture shown at 700 x 525: a shown pixel covers 5.7 full ones.
        ((700, 525), (4000, 3000), (0, 0), (2, 2)),
        ((700, 525), (4000, 3000), (350, 262), (2002, 1500)),
        ((700, 525), (4000, 3000), (699, 524), (3997, 2997)),
        ((700, 525), (4000, 3000), (700, 525), (3999, 2999)),  # the far edge stays inside
        # Shown at full size: the same pixel.
        ((40, 30), (40, 30), (17, 9), (17, 9)),
        # Shown larger than it is (a small picture stretched to the column).
        ((400, 300), (40, 30), (175, 94), (17, 9)),
    ],
)
def test_a_click_maps_to_the_full_resolution_pixel(shown, full, point, expected):
    assert full_resolution_point(*point, shown, full) == expected


def test_a_click_on_a_scaled_preview_finds_the_pixel_of_the_full_picture():
    # Blocks of 4 x 4 full pixels, each shown as one preview pixel: the click on
    # preview pixel (x, y) must land in block (x, y) of the full picture.
    blocks = RNG.integers(0, 256, size=(12, 16, 3), dtype=np.uint8)
    full = Image(np.repeat(np.repeat(blocks, 4, axis=0), 4, axis=1))
    q = quantize(full, 5)
    for x, y in [(0, 0), (15, 11), (7, 3), (10, 8)]:
        column, row = full_resolution_point(x, y, (16, 12), (full.width, full.height))
        assert (column // 4, row // 4) == (x, y)
        pixel = pixel_at(full, q, column, row)
        np.testing.assert_array_equal(pixel.colour, blocks[y, x])
        assert pixel.cluster == q.labels[row, column]


def test_clicks_outside_the_shown_picture_are_refused():
    with pytest.raises(InputError, match="outside"):
        full_resolution_point(701, 10, (700, 525), (4000, 3000))
    with pytest.raises(InputError, match="above 0"):
        full_resolution_point(1, 1, (0, 525), (4000, 3000))


def test_a_pixel_has_its_cluster_palette_colour_and_delta_e(case):
    image, q = case
    y, x = np.argwhere(OPAQUE)[5]
    pixel = pixel_at(image, q, int(x), int(y))
    assert pixel.cluster == q.labels[y, x]
    np.testing.assert_array_equal(pixel.colour, PIXELS[y, x])
    np.testing.assert_array_equal(pixel.palette_colour, q.palette[pixel.cluster])
    lab = to_features(np.stack([PIXELS[y, x], q.palette[pixel.cluster]]), "lab")
    assert pixel.delta_e == pytest.approx(deltaE_ciede2000(lab[0], lab[1]), abs=1e-9)
    assert pixel.delta_e_words == delta_e_words(pixel.delta_e)


def test_a_pixel_of_a_recoloured_fit_is_measured_against_the_shown_colour(case):
    image, q = case
    y, x = np.argwhere(OPAQUE)[0]
    white = recolour(q, ["#ffffff"] * q.n_colours)
    pixel = pixel_at(image, white, int(x), int(y))
    np.testing.assert_array_equal(pixel.palette_colour, [255, 255, 255])
    assert pixel.cluster == q.labels[y, x]


def test_transparent_or_outside_pixels_are_refused_plainly(case):
    image, q = case
    y, x = np.argwhere(~OPAQUE)[0]
    with pytest.raises(InputError, match="transparent"):
        pixel_at(image, q, int(x), int(y))
    with pytest.raises(InputError, match="outside this 40 × 30 picture"):
        pixel_at(image, q, 40, 0)


@pytest.mark.parametrize(
    ("delta_e", "words"),
    [
        (0.0, "too small to see"),
        (1.5, "visible only when you look closely"),
        (2.3, "visible at a glance"),
        (25.0, "clearly a different colour"),
        (80.0, "a very different colour"),
    ],
)
def test_delta_e_in_plain_words(delta_e, words):
    assert delta_e_words(delta_e) == words
