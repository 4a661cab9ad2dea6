"""Floyd–Steinberg dithering with a k-means palette: the redraw, its PNG and the full-size file.

The palette stays the same; only the painting changes. Each pixel takes the
palette colour nearest to its own colour plus the error carried over from the
pixels before it, so areas between two palette colours become a fine mix of
both. Pillow does the error diffusion (``quantize(palette=..., dither=...)``).
"""

from __future__ import annotations

import os
from typing import BinaryIO

import numpy as np
from PIL import Image as PILImage

from kmeans_lib.clustering import Quantization
from kmeans_lib.images import (
    DEFAULT_MAX_PIXELS,
    Image,
    encode_png,
    open_untrusted,
    orient_like,
    rows_to_arrays,
    save_png,
)
from kmeans_lib.pixels import take_rows
from kmeans_lib.rendering import (
    DOWNLOAD_BAND_ROWS,
    DOWNLOAD_COMPRESS_LEVEL,
    check_match,
    labels_png,
    stream_palette_png,
)

_PNG_MAX_PALETTE = 256


def _palette_image(palette: np.ndarray) -> PILImage.Image:
    """A Pillow palette image holding exactly ``palette``'s entries."""
    holder = PILImage.new("P", (1, 1))
    holder.putpalette(np.asarray(palette, dtype=np.uint8).tobytes(), rawmode="RGB")
    return holder


def _diffuse(rgb: PILImage.Image, palette: np.ndarray) -> PILImage.Image:
    """Pillow's Floyd–Steinberg dithering of an RGB image to ``palette``: a mode "P" image."""
    return rgb.quantize(palette=_palette_image(palette), dither=PILImage.Dither.FLOYDSTEINBERG)


def dither(image: Image, quantization: Quantization) -> np.ndarray:
    """Every pixel's palette index with Floyd–Steinberg error diffusion.

    Parameters
    ----------
    image : Image
    quantization : Quantization
        Its :func:`~kmeans_lib.clustering.quantize` result: the palette used.

    Returns
    -------
    ndarray of int16, shape (H, W)
        Palette indices, -1 where the pixel is transparent. The colours under
        transparent pixels take part in the diffusion like any other.
    """
    check_match(image, quantization)
    indices = np.asarray(_diffuse(PILImage.fromarray(image.pixels), quantization.palette))
    labels = indices.astype(np.int16)
    if image.opaque is not None:
        labels[~image.opaque] = -1
    return labels


def centre_crop(image: Image, side: int) -> tuple[slice, slice]:
    """Rows and columns of the picture's middle ``side`` × ``side`` pixels (fewer if smaller).

    A crop shown at 100% shows dithering, which shrinking a picture averages away.
    """
    height, width = min(side, image.height), min(side, image.width)
    top, left = (image.height - height) // 2, (image.width - width) // 2
    return slice(top, top + height), slice(left, left + width)


def dithered_png(
    image: Image, quantization: Quantization, labels: np.ndarray, *, compress_level: int = 6
) -> bytes:
    """The dithered redraw as a palette PNG (RGBA when 256 colours leave no room for transparency).

    Parameters
    ----------
    image : Image
    quantization : Quantization
    labels : ndarray of int, shape (H, W)
        From :func:`dither`.
    compress_level : int, default 6
    """
    check_match(image, quantization)
    palette = quantization.palette
    if image.has_transparency and len(palette) >= _PNG_MAX_PALETTE:
        return encode_png(take_rows(palette, labels), image.opaque, compress_level=compress_level)
    return labels_png(labels, palette, image.has_transparency, compress_level)


def full_size_dithered_memory(size: tuple[int, int]) -> int:
    """About the most memory :func:`full_size_dithered_png` takes for a picture of ``size``.

    Pillow's decode (four bytes a pixel), an RGB copy for a picture stored in
    another mode (four), its transparency mask (one) and the dithered indices (one).
    """
    width, height = size
    return 10 * width * height


def full_size_dithered_png(
    source: str | os.PathLike | bytes | BinaryIO,
    quantization: Quantization,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    band_rows: int = DOWNLOAD_BAND_ROWS,
) -> bytes:
    """The full-size picture dithered with a palette, for a picture explored at a working size.

    Floyd–Steinberg carries each pixel's error into the next row, so a band
    cannot be dithered apart from the band above it: Pillow, which does the
    diffusion, starts every call with no error. The picture is therefore
    dithered whole, in one call, into one byte a pixel; only the PNG is
    written a band at a time. Besides Pillow's decode (four bytes a pixel) that
    takes one byte a pixel, plus an RGB copy (four) for a picture not stored as
    RGB and a transparency mask (one) for one with transparency: see
    :func:`full_size_dithered_memory`. Dithered in its stored orientation, then turned
    as its EXIF orientation says.

    Parameters
    ----------
    source : path, bytes or binary file-like object
        The original image file.
    quantization : Quantization
        The result of :func:`~kmeans_lib.clustering.quantize` on the working copy.
    max_pixels : int, default=DEFAULT_MAX_PIXELS
    band_rows : int, default=DOWNLOAD_BAND_ROWS
        Rows converted and written at once.

    Returns
    -------
    bytes
        A palette PNG (8-bit indices, zlib level
        :data:`~kmeans_lib.rendering.DOWNLOAD_COMPRESS_LEVEL`, with a transparent
        entry when the file has transparency), or an RGBA PNG when 256 colours
        leave no entry for transparency.

    Raises
    ------
    InputError
        When the file cannot be used (see :func:`~kmeans_lib.images.open_untrusted`).
    """
    palette = quantization.palette
    with open_untrusted(source, max_pixels=max_pixels) as im:
        transparent = im.has_transparency_data
        if im.mode == "RGB" and not transparent:
            rgb, opaque = im, None
        else:  # converted a band at a time, as load_image converts the picture
            rgb = PILImage.new("RGB", im.size)
            opaque = np.ones((im.height, im.width), dtype=bool) if transparent else None
            for top in range(0, im.height, band_rows):
                pixels, band_opaque = rows_to_arrays(im, top, min(top + band_rows, im.height))
                rgb.paste(PILImage.fromarray(pixels), (0, top))
                if opaque is not None:
                    opaque[top : top + len(pixels)] = band_opaque
        indices = _diffuse(rgb, palette)
        del rgb
        if transparent and len(palette) >= _PNG_MAX_PALETTE:
            # No palette entry left for transparency: RGBA, as redraw_png writes it.
            indices.putpalette(palette.tobytes(), rawmode="RGB")
            rgba = indices.convert("RGB")
            del indices
            rgba.putalpha(PILImage.fromarray(opaque).convert("L"))
            orient_like(rgba, im)
            return save_png(rgba)
        if transparent:
            # The transparent entry after the palette, where the picture is transparent.
            indices.paste(len(palette), mask=PILImage.fromarray(~opaque))
        orient_like(indices, im)
    width, height = indices.size
    bands = (
        np.asarray(indices.crop((0, top, width, min(top + band_rows, height))))
        for top in range(0, height, band_rows)
    )
    return stream_palette_png(bands, (width, height), palette, transparent, DOWNLOAD_COMPRESS_LEVEL)
