"""Tests of kmeans_lib.dithering: Floyd–Steinberg with the k-means palette, its PNGs."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import ExifTags
from PIL import Image as PILImage

from kmeans_lib.clustering import quantize
from kmeans_lib.dithering import dither, dithered_png, full_size_dithered_png
from kmeans_lib.images import Image, load_image
from kmeans_lib.metrics import quality, quality_of_labels
from kmeans_lib.pixels import take_rows
from kmeans_lib.rendering import redraw


def gradient(height: int = 40, width: int = 90) -> np.ndarray:
    """A smooth left-to-right ramp from dark blue to orange: what dithering is for."""
    ramp = np.linspace(0.0, 1.0, width)[None, :, None]
    left, right = np.array([20, 30, 120]), np.array([240, 160, 40])
    pixels = left + ramp * (right - left) + np.zeros((height, 1, 1))
    return np.rint(pixels).astype(np.uint8)


def png_file(pixels: np.ndarray, mode: str = "RGB", orientation: int | None = None) -> bytes:
    buffer = io.BytesIO()
    im = PILImage.fromarray(pixels).convert(mode)
    exif = PILImage.Exif()
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    im.save(buffer, format="PNG", exif=exif)
    return buffer.getvalue()


def colours_of(pixels: np.ndarray) -> set[tuple[int, int, int]]:
    return {tuple(colour) for colour in pixels.reshape(-1, 3).tolist()}


@pytest.fixture(scope="module")
def ramp() -> tuple[Image, object]:
    image = Image(gradient())
    return image, quantize(image, 4)


def test_dithered_redraw_uses_only_palette_colours(ramp):
    image, result = ramp
    labels = dither(image, result)
    assert labels.shape == (image.height, image.width) and labels.dtype == np.int16
    assert labels.min() >= 0 and labels.max() < result.n_colours
    painted = take_rows(result.palette, labels)
    assert colours_of(painted) <= colours_of(result.palette)


def test_dithering_mixes_neighbouring_colours_to_keep_the_average(ramp):
    image, result = ramp
    plain = redraw(image, result).astype(float)
    dithered = take_rows(result.palette, dither(image, result)).astype(float)
    assert not np.array_equal(plain, dithered)

    # Averaged over 8 × 8 blocks the dithered ramp is closer to the original.
    def blocks(a):
        return a[:40, :88].reshape(5, 8, 11, 8, 3).mean(axis=(1, 3))

    original = blocks(image.pixels.astype(float))
    assert (
        np.abs(blocks(dithered) - original).mean() < 0.5 * np.abs(blocks(plain) - original).mean()
    )
    # Pixel by pixel it is further away: the PSNR falls.
    plain_psnr = quality(image, result).psnr
    dithered_psnr = quality_of_labels(image, result.palette, dither(image, result)).psnr
    assert dithered_psnr < plain_psnr


def test_transparent_pixels_stay_transparent():
    opaque = np.ones((40, 90), dtype=bool)
    opaque[5:15, 10:30] = False
    image = Image(gradient(), opaque)
    result = quantize(image, 3)
    labels = dither(image, result)
    assert (labels[~opaque] == -1).all() and (labels[opaque] >= 0).all()
    decoded = PILImage.open(io.BytesIO(dithered_png(image, result, labels))).convert("RGBA")
    rgba = np.asarray(decoded)
    assert (rgba[~opaque, 3] == 0).all() and (rgba[opaque, 3] == 255).all()
    np.testing.assert_array_equal(rgba[opaque, :3], result.palette[labels[opaque]])


def test_dithered_png_holds_the_dithered_pixels(ramp):
    image, result = ramp
    labels = dither(image, result)
    decoded = PILImage.open(io.BytesIO(dithered_png(image, result, labels)))
    assert decoded.mode == "P"
    np.testing.assert_array_equal(
        np.asarray(decoded.convert("RGB")), take_rows(result.palette, labels)
    )


@pytest.mark.parametrize("band_rows", [7, 256])
def test_full_size_dithered_png_is_the_whole_picture_dithered_across_bands(band_rows):
    data = png_file(gradient(60, 90))
    image = load_image(data)
    result = quantize(image, 5)
    full = PILImage.open(io.BytesIO(full_size_dithered_png(data, result, band_rows=band_rows)))
    expected = take_rows(result.palette, dither(image, result))
    np.testing.assert_array_equal(np.asarray(full.convert("RGB")), expected)


def test_full_size_dithered_png_of_a_picture_with_transparency():
    pixels = gradient(30, 50)
    alpha = np.full((30, 50), 255, dtype=np.uint8)
    alpha[:10, :10] = 0
    buffer = io.BytesIO()
    PILImage.fromarray(np.dstack([pixels, alpha])).save(buffer, format="PNG")
    data = buffer.getvalue()
    image = load_image(data)
    result = quantize(image, 4)
    full = np.asarray(
        PILImage.open(io.BytesIO(full_size_dithered_png(data, result))).convert("RGBA")
    )
    assert (full[:10, :10, 3] == 0).all() and (full[10:, :, 3] == 255).all()
    labels = dither(image, result)
    np.testing.assert_array_equal(full[10:, :, :3], result.palette[labels[10:]])


def test_full_size_dithered_png_is_turned_as_the_exif_says():
    data = png_file(gradient(30, 50), orientation=6)  # shown turned a quarter clockwise
    image = load_image(data)
    assert (image.width, image.height) == (30, 50)
    full = PILImage.open(io.BytesIO(full_size_dithered_png(data, quantize(image, 3))))
    assert full.size == (30, 50)
