"""Tests of kmeans_lib.eye_test: the smallest k whose redraw is hard to tell from the picture."""

from __future__ import annotations

import numpy as np
import pytest

from kmeans_lib.clustering import image_points, quantize
from kmeans_lib.errors import InputError
from kmeans_lib.eye_test import (
    FLIP_PRECISION,
    HARD_TO_TELL,
    JUST_NOTICEABLE,
    smallest_k,
    smallest_k_seen,
)
from kmeans_lib.images import Image, load_sample, resize_to_fit
from kmeans_lib.metrics import quality
from kmeans_lib.pixels import count_colours

FIVE = np.array(
    [[200, 30, 30], [30, 160, 40], [40, 50, 210], [240, 230, 60], [20, 20, 20]], dtype=np.uint8
)


def flat_colours(colours: np.ndarray, repeat: int = 12) -> Image:
    """Vertical stripes, one per colour, each ``repeat`` pixels wide."""
    stripes = np.repeat(colours[np.newaxis], repeat, axis=1)
    return Image(np.repeat(stripes, repeat, axis=0))


def search(image: Image, space: str = "rgb", **options):
    colours = count_colours(image)
    return smallest_k(image_points(colours, space), colours, colour_space=space, **options)


@pytest.mark.parametrize("space", ["rgb", "lab"])
def test_five_flat_colours_need_exactly_five(space):
    result = search(flat_colours(FIVE), space)
    assert result.k == 5
    assert result.values[5] == pytest.approx(0.0, abs=0.05)
    assert result.values[4] > JUST_NOTICEABLE
    assert result.n_colours == 5


def test_the_answer_is_the_smallest_k_measured_to_meet_the_threshold():
    result = search(resize_to_fit(load_sample("china"), 160), threshold=4.0)
    k = result.k
    assert k is not None and result.values[k] <= 4.0
    # Every k measured below the answer is above the threshold, its two
    # neighbours below included.
    assert all(value > 4.0 for j, value in result.values.items() if j < k)
    assert {k - 1, k - 2} <= set(result.values)


def test_the_answer_holds_for_the_full_fit_too():
    image = resize_to_fit(load_sample("china"), 160)
    result = search(image, threshold=4.0)
    full = quality(image, quantize(image, result.k)).mean_delta_e
    assert full <= 4.0 + 0.1


def test_none_when_no_k_up_to_the_largest_reaches_the_threshold():
    rng = np.random.default_rng(0)
    noise = Image(rng.integers(0, 256, (60, 60, 3), dtype=np.uint8))
    progress = []
    result = search(noise, threshold=1.0, max_k=8, progress=progress.append)
    assert result.k is None
    assert max(result.values) == 8 and result.values[8] > 1.0
    assert progress[-1] == 1.0


def test_a_threshold_outside_1_to_5_is_refused():
    with pytest.raises(InputError, match="from 1 to 5"):
        search(flat_colours(FIVE), threshold=0.5)


# --- the eye test as seen from a viewing distance (FLIP) ------------------------------------


def search_seen(image: Image, space: str = "rgb", **options):
    colours = count_colours(image)
    points = image_points(colours, space)
    return smallest_k_seen(image, points, colours, colour_space=space, **options)


def test_five_flat_colours_are_hard_to_tell_apart_at_exactly_five():
    result = search_seen(flat_colours(FIVE))
    assert result.k == 5 and result.measure == "flip"
    assert result.values[5] == pytest.approx(0.0, abs=1e-6)
    assert result.values[4] > HARD_TO_TELL


def test_the_default_picture_has_an_answer_at_laptop_distance():
    image = load_sample("china")
    result = search_seen(image)
    k = result.k
    assert k is not None and 100 <= k <= 256
    assert result.viewing.label == "laptop at 50 cm"
    assert result.values[k] <= HARD_TO_TELL
    # The answer is bracketed to within the stated precision by a k that fails.
    below = max(j for j in result.values if j < k)
    assert result.values[below] > HARD_TO_TELL
    assert k - below <= max(1, FLIP_PRECISION * k)
    assert len(result.values) <= 8  # far fewer than a bisection over 1-256


def test_a_longer_viewing_distance_needs_fewer_colours():
    image = load_sample("china")
    assert search_seen(image, viewing="poster").k < search_seen(image, viewing="phone").k


def test_none_when_no_k_is_hard_to_tell_apart():
    result = search_seen(load_sample("china"), max_k=8)
    assert result.k is None and max(result.values) == 8


def test_a_flip_threshold_outside_its_range_is_refused():
    with pytest.raises(InputError, match="visible-difference threshold must be a number"):
        search_seen(flat_colours(FIVE), threshold=2.3)
