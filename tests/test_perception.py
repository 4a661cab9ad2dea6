"""kmeans_lib.perception: FLIP at a viewing distance, through flip-evaluator."""

from __future__ import annotations

import dataclasses

import flip_evaluator
import numpy as np
import pytest

from kmeans_lib import InputError, load_sample, quantize
from kmeans_lib.dithering import dither
from kmeans_lib.images import Image
from kmeans_lib.perception import (
    VIEWINGS,
    Viewing,
    flip_difference,
    flip_map,
    flip_sample,
    heat_map,
    reach,
)
from kmeans_lib.rendering import redraw


@pytest.fixture(scope="module")
def china() -> Image:
    return load_sample("china")


@pytest.fixture(scope="module")
def china_16(china):
    return quantize(china, 16, random_state=0)


def test_identical_pictures_differ_by_nothing(china):
    difference = flip_difference(china, china.pixels.copy())
    assert difference.mean == 0.0
    assert not difference.map.any()


def test_mean_is_flip_evaluators_own_on_the_same_pair_and_ppd(china, china_16):
    drawn = redraw(china, china_16)
    _, expected, _ = flip_evaluator.evaluate(
        china.pixels / 255, drawn / 255, "LDR", parameters={"ppd": VIEWINGS["laptop"].ppd}
    )
    difference = flip_difference(china, drawn, "laptop")
    assert difference.scale == 1.0  # 640 pixels fit a laptop's 1,440
    assert difference.ppd == pytest.approx(41.9, abs=0.05)
    assert difference.mean == pytest.approx(expected, rel=1e-4)


@pytest.mark.parametrize("name", ["china", "flower"])
def test_a_larger_k_is_never_clearly_more_visible(name):
    image = load_sample(name)
    means = [
        flip_difference(image, redraw(image, quantize(image, k, random_state=0))).mean
        for k in (2, 4, 8, 16, 32, 64, 128, 256)
    ]
    rises = [later - earlier for earlier, later in zip(means, means[1:], strict=False)]
    assert max(rises) <= 0.005, means
    assert means[-1] < means[0] / 2


def test_dithering_looks_closer_at_laptop_distance(china, china_16):
    plain = flip_difference(china, redraw(china, china_16), "laptop")
    dithered = flip_difference(china, china_16.palette[dither(china, china_16)], "laptop")
    assert dithered.mean < plain.mean


def test_a_longer_distance_hides_more(china, china_16):
    drawn = redraw(china, china_16)
    near = VIEWINGS["laptop"]
    far = dataclasses.replace(near, distance_m=2 * near.distance_m)
    assert far.ppd == pytest.approx(2 * near.ppd)
    assert flip_difference(china, drawn, far).mean < flip_difference(china, drawn, near).mean


def test_a_picture_wider_than_the_screen_is_shown_at_the_screens_width(china, china_16):
    difference = flip_difference(china, redraw(china, china_16), "phone")
    assert difference.scale == pytest.approx(390 / 640)
    assert difference.map.shape == (round(427 * 390 / 640), 390)


def test_transparent_pixels_do_not_count():
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    opaque = np.ones((60, 80), dtype=bool)
    opaque[:, 40:] = False
    image = Image(pixels, opaque)
    test = pixels.copy()
    test[:, 50:] = 255 - test[:, 50:]  # changed only well inside the transparent half
    difference = flip_difference(image, test)
    assert not difference.map[:, 40:].any()
    # The opaque half sees the change only through the filters' reach across the edge.
    assert difference.mean < 0.05
    inverted = flip_difference(Image(pixels), test)
    assert inverted.mean > 0.2


def test_pictures_of_different_sizes_are_refused(china):
    with pytest.raises(InputError, match="same size"):
        flip_difference(china, china.pixels[:10])


def test_an_unknown_viewing_is_refused_with_the_choices(china):
    with pytest.raises(InputError, match="phone, laptop, monitor, poster"):
        flip_difference(china, china.pixels, "cinema")


def test_a_viewing_that_is_not_positive_is_refused(china):
    with pytest.raises(InputError, match="must all be positive"):
        flip_difference(china, china.pixels, Viewing("nowhere", 0.0, 1440, 0.3))


def test_every_preset_is_a_stated_screen_and_distance():
    assert {name: round(v.ppd, 1) for name, v in VIEWINGS.items()} == {
        "phone": 31.9,
        "laptop": 41.9,
        "monitor": 44.3,
        "poster": 69.8,
    }
    # One metre from a screen of 180 pixels over pi metres: one pixel per degree.
    assert Viewing("x", 1.0, 180, np.pi).ppd == pytest.approx(1.0)


def test_heat_map_runs_from_black_to_light_yellow():
    colours = heat_map(np.array([[0.0, 0.5, 1.0]], dtype=np.float32))
    assert colours.dtype == np.uint8 and colours.shape == (1, 3, 3)
    assert colours[0, 0].tolist() == [0, 0, 4]
    assert colours[0, 2].tolist() == [252, 253, 191]
    assert colours[0, 0].sum() < colours[0, 1].sum() < colours[0, 2].sum()


def test_a_sample_of_a_small_picture_is_the_whole_picture(china, china_16):
    drawn = redraw(china, china_16)
    sample = flip_sample(china, "laptop", 300_000)
    assert sample.pixels.shape == china.pixels.shape and sample.counted.all()
    assert sample.mean(drawn) == pytest.approx(flip_difference(china, drawn).mean, rel=1e-6)


def test_windows_of_a_larger_picture_sample_its_mean(china, china_16):
    drawn = redraw(china, china_16)
    whole = flip_difference(china, drawn, "monitor").mean
    sample = flip_sample(china, "monitor", 60_000)
    test = sample.take(drawn)  # the same windows of the redraw
    assert test.shape == sample.pixels.shape
    assert 50_000 <= sample.counted.sum() <= 70_000
    assert sample.mean(test) == pytest.approx(whole, rel=0.1)


def test_a_windows_margin_covers_flips_reach(china, china_16):
    drawn = redraw(china, china_16)
    ppd = VIEWINGS["poster"].ppd
    full = flip_map(china.pixels, drawn, ppd)
    margin, inner = reach(ppd), (slice(100, 196), slice(200, 296))
    window = (slice(100 - margin, 196 + margin), slice(200 - margin, 296 + margin))
    part = flip_map(china.pixels[window], drawn[window], ppd)
    inside = (slice(margin, margin + 96), slice(margin, margin + 96))
    np.testing.assert_allclose(part[inside], full[inner], atol=1e-6)
