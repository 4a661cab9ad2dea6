"""Tests of kmeans_lib.metrics: MSE, PSNR and mean CIEDE2000 of a redraw."""

from __future__ import annotations

import math

import numpy as np
import pytest
from skimage.color import deltaE_ciede2000, rgb2lab

from kmeans_lib.clustering import quantize, recolour
from kmeans_lib.errors import InputError
from kmeans_lib.images import Image, load_sample, resize_to_fit
from kmeans_lib.metrics import (
    Quality,
    cluster_errors,
    quality,
    quality_of_labels,
    recoloured_quality,
)
from kmeans_lib.rendering import redraw

RNG = np.random.default_rng(5)


def per_pixel_quality(image: Image, redrawn: np.ndarray) -> tuple[float, float]:
    """MSE and mean CIEDE2000 computed directly, pixel by pixel, over opaque pixels."""
    mask = np.ones((image.height, image.width), bool) if image.opaque is None else image.opaque
    original = image.pixels[mask].astype(np.float64)
    drawn = redrawn[mask].astype(np.float64)
    mse = float(np.mean((original - drawn) ** 2))
    delta_e = deltaE_ciede2000(rgb2lab(image.pixels[mask] / 255.0), rgb2lab(drawn / 255.0))
    return mse, float(np.mean(delta_e))


@pytest.mark.parametrize("space", ["rgb", "lab"])
@pytest.mark.parametrize("transparent", [False, True])
def test_colour_weighted_quality_equals_per_pixel_computation(space, transparent):
    # Few levels per channel so that colours repeat and their weights matter.
    pixels = (RNG.integers(0, 6, (24, 32, 3)) * 51).astype(np.uint8)
    opaque = RNG.random((24, 32)) > 0.25 if transparent else None
    image = Image(pixels=pixels, opaque=opaque)
    q = quantize(image, 7, colour_space=space)
    result = quality(image, q)
    mse, mean_delta_e = per_pixel_quality(image, redraw(image, q))
    assert result.mse == pytest.approx(mse, rel=1e-12)
    assert result.psnr == pytest.approx(10 * math.log10(255**2 / mse), rel=1e-12)
    # CIEDE2000 runs in float32 (documented): well within 1e-6 of float64 here.
    assert result.mean_delta_e == pytest.approx(mean_delta_e, rel=1e-6)


def grey_lightness(value: int) -> float:
    """CIELAB L* of the sRGB grey (value, value, value), from the sRGB and CIELAB formulas."""
    c = value / 255
    y = c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    f = y ** (1 / 3) if y > (6 / 29) ** 3 else y / (3 * (6 / 29) ** 2) + 4 / 29
    return 116 * f - 16


def grey_delta_e(l1: float, l2: float) -> float:
    """CIEDE2000 between two neutral greys: only its lightness term is non-zero."""
    mid = (l1 + l2) / 2 - 50
    return abs(l1 - l2) / (1 + 0.015 * mid**2 / math.sqrt(20 + mid**2))


def test_black_and_white_with_one_colour_has_the_known_error():
    pixels = np.zeros((2, 2, 3), np.uint8)
    pixels[1] = 255
    q = quantize(Image(pixels=pixels), 1)
    assert q.palette.tolist() == [[128, 128, 128]]
    result = quality(Image(pixels=pixels), q)
    assert isinstance(result, Quality)
    assert result.mse == pytest.approx((128**2 + 127**2) / 2)
    assert result.psnr == pytest.approx(10 * math.log10(255**2 / result.mse))
    grey = grey_lightness(128)
    expected = (grey_delta_e(0.0, grey) + grey_delta_e(100.0, grey)) / 2
    assert result.mean_delta_e == pytest.approx(expected, abs=1e-3)


def test_exact_redraw_has_zero_error_and_infinite_psnr():
    colours = np.array([[9, 9, 9], [200, 10, 60], [0, 255, 128]], np.uint8)
    image = Image(pixels=colours[RNG.integers(0, 3, (5, 6))])
    result = quality(image, quantize(image, 3))
    assert result == Quality(mse=0.0, psnr=math.inf, mean_delta_e=0.0)


def test_transparent_pixels_do_not_count():
    pixels = (RNG.integers(0, 4, (10, 12, 3)) * 80).astype(np.uint8)
    opaque = np.zeros((10, 12), bool)
    opaque[:, :6] = True
    repainted = pixels.copy()
    repainted[:, 6:] = RNG.integers(0, 256, (10, 6, 3), dtype=np.uint8)
    results = []
    for p in (pixels, repainted):
        image = Image(pixels=p, opaque=opaque)
        results.append(quality(image, quantize(image, 3)))
    assert results[0] == results[1]


def test_quantization_of_another_image_is_refused():
    image = Image(pixels=RNG.integers(0, 256, (4, 5, 3), dtype=np.uint8))
    q = quantize(image, 2)
    with pytest.raises(InputError):
        quality(Image(pixels=image.pixels[:3]), q)


def test_mean_delta_e_of_many_colours_is_measured_on_a_sample_close_to_the_exact_mean():
    image = Image(pixels=RNG.integers(0, 256, (120, 150, 3), dtype=np.uint8))
    q = quantize(image, 6)
    assert q.colours.n_colours > 5_000
    exact = quality(image, q, delta_e_sample=None)
    sampled = quality(image, q, delta_e_sample=5_000, random_state=1)
    assert sampled.mse == pytest.approx(exact.mse, rel=1e-12)  # MSE stays exact
    assert sampled.mean_delta_e != exact.mean_delta_e
    assert sampled.mean_delta_e == pytest.approx(exact.mean_delta_e, rel=0.02)
    assert quality(image, q, delta_e_sample=5_000, random_state=1) == sampled
    assert quality(image, q, delta_e_sample=q.colours.n_colours) == exact


def test_quality_of_labels_agrees_with_quality_for_the_plain_redraw():
    image = resize_to_fit(load_sample("china"), 200)
    result = quantize(image, 8)
    plain = quality(image, result)
    per_pixel = quality_of_labels(image, result.palette, result.labels)
    assert per_pixel.mse == pytest.approx(plain.mse, rel=1e-9)
    assert per_pixel.mean_delta_e == pytest.approx(plain.mean_delta_e, rel=1e-5)
    sampled = quality_of_labels(image, result.palette, result.labels, delta_e_sample=5_000)
    assert sampled.mse == pytest.approx(plain.mse, rel=1e-9)
    assert sampled.mean_delta_e == pytest.approx(plain.mean_delta_e, rel=0.05)


@pytest.mark.parametrize("sample", [None, 500])
def test_recoloured_quality_measures_only_what_changed_and_equals_a_full_measure(sample):
    pixels = RNG.integers(0, 256, (40, 50, 3), dtype=np.uint8)
    image = Image(pixels=pixels, opaque=RNG.random((40, 50)) > 0.1)
    q = quantize(image, 6)
    palette = q.hex_codes()
    palette[2], palette[4] = "#ff00ff", "#00ff00"
    options = {"delta_e_sample": sample, "random_state": 3}
    expected = quality(image, recolour(q, palette), **options)
    errors = cluster_errors(image, q, **options)
    result = recoloured_quality(image, q, palette, errors=errors, **options)
    assert result.mse == pytest.approx(expected.mse, rel=1e-12)
    assert result.psnr == pytest.approx(expected.psnr, rel=1e-12)
    assert result.mean_delta_e == pytest.approx(expected.mean_delta_e, rel=1e-9)
    assert recoloured_quality(image, q, palette, **options) == result
    # Unchanged, it is the fitted quality; the clusters' parts add up to it.
    assert recoloured_quality(image, q, q.palette, **options) == errors.quality()
    assert errors.quality().mse == pytest.approx(quality(image, q, **options).mse, rel=1e-12)
    only = cluster_errors(image, q, clusters=[2], **options)
    assert np.all(only.squared[[0, 1, 3, 4, 5]] == 0) and only.squared[2] == errors.squared[2]
    assert only.delta_e[2] == pytest.approx(errors.delta_e[2], rel=1e-12)
