"""Pixels as data: colour codes, unique colours with their counts, the pixel table."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from kmeans_lib.images import Image

N_CODES = 1 << 24
# Pixels are coded a block at a time so that no full-size code array is needed:
# on a 12-megapixel photo that saves 48-150 MB at the peak.
_BLOCK_PIXELS = 1 << 20


def colour_codes(pixels: np.ndarray) -> np.ndarray:
    """Pack RGB triples into one integer each.

    Parameters
    ----------
    pixels : ndarray of uint8, shape (..., 3)

    Returns
    -------
    ndarray of uint32, shape (...)
        ``R << 16 | G << 8 | B``, so sorting codes sorts colours by R, then G, then B.
    """
    codes = pixels[..., 0].astype(np.uint32)
    codes <<= 8
    codes |= pixels[..., 1]
    codes <<= 8
    codes |= pixels[..., 2]
    return codes


def codes_to_colours(codes: np.ndarray) -> np.ndarray:
    """Unpack :func:`colour_codes` back into an ``(n, 3)`` uint8 array."""
    codes = np.asarray(codes, dtype=np.uint32)
    return np.stack([(codes >> 16) & 255, (codes >> 8) & 255, codes & 255], axis=-1).astype(
        np.uint8
    )


@dataclass(frozen=True)
class ColourCounts:
    """The distinct opaque colours of an image and how many pixels have each.

    Attributes
    ----------
    colours : ndarray of uint8, shape (m, 3)
        Distinct colours, sorted by their code (R, then G, then B).
    counts : ndarray of int64, shape (m,)
        Number of opaque pixels of each colour.
    """

    colours: np.ndarray
    counts: np.ndarray

    @property
    def n_colours(self) -> int:
        """Number of distinct colours."""
        return len(self.colours)

    @property
    def n_pixels(self) -> int:
        """Number of opaque pixels."""
        return int(self.counts.sum())


def _pixel_blocks(image: Image) -> Iterator[np.ndarray]:
    """The opaque pixels as consecutive ``(n, 3)`` blocks of at most _BLOCK_PIXELS."""
    flat = image.pixels.reshape(-1, 3) if image.opaque is None else image.opaque_pixels()
    for start in range(0, len(flat), _BLOCK_PIXELS):
        yield flat[start : start + _BLOCK_PIXELS]


def count_colours(image: Image) -> ColourCounts:
    """Count the distinct colours among an image's opaque pixels.

    Parameters
    ----------
    image : Image

    Returns
    -------
    ColourCounts
    """
    return _count(image, keep_index=False)[0]


def count_colours_with_index(image: Image) -> tuple[ColourCounts, np.ndarray]:
    """Count the distinct colours and say which one each opaque pixel has.

    Parameters
    ----------
    image : Image

    Returns
    -------
    colours : ColourCounts
    index : ndarray of int32, shape (n_opaque,)
        For each opaque pixel, in reading order, its colour's row in ``colours``:
        any value per colour then reaches every pixel with one gather.
    """
    return _count(image, keep_index=True)


def _count(image: Image, keep_index: bool) -> tuple[ColourCounts, np.ndarray | None]:
    # Two passes over the pixels with tables indexed by colour code: one marks
    # the colours present, one counts pixels per distinct colour. Both are plain
    # gathers and scatters, much faster than sorting 12 million codes and far
    # smaller than a 2**24-bin int64 histogram.
    present = np.zeros(N_CODES, dtype=bool)
    for block in _pixel_blocks(image):
        present[colour_codes(block)] = True
    unique = np.flatnonzero(present)
    del present
    index = np.zeros(N_CODES, dtype=np.int32)
    index[unique] = np.arange(len(unique), dtype=np.int32)
    counts = np.zeros(len(unique), dtype=np.int64)
    pixel_index = np.empty(image.n_opaque, dtype=np.int32) if keep_index else None
    done = 0
    for block in _pixel_blocks(image):
        block_index = index[colour_codes(block)]
        counts += np.bincount(block_index, minlength=len(unique))
        if pixel_index is not None:
            pixel_index[done : done + len(block)] = block_index
        done += len(block)
    return ColourCounts(colours=codes_to_colours(unique), counts=counts), pixel_index


def place_opaque(image: Image, values: np.ndarray, fill: int) -> np.ndarray:
    """Lay out one value per opaque pixel (reading order) as an (H, W) array.

    Transparent pixels get ``fill``; the result has the dtype of ``values``.
    """
    if image.opaque is None:
        return values.reshape(image.pixels.shape[:2])
    result = np.full(image.pixels.shape[:2], fill, dtype=values.dtype)
    result[image.opaque] = values
    return result


def map_colours(image: Image, colours: np.ndarray, values: np.ndarray, fill: int) -> np.ndarray:
    """Look up a value for every pixel from a value per distinct colour.

    Parameters
    ----------
    image : Image
    colours : ndarray of uint8, shape (m, 3)
        Colours that cover every opaque pixel of ``image``.
    values : ndarray, shape (m,)
        The value of each colour; its dtype is the result's.
    fill : int
        The value given to transparent pixels.

    Returns
    -------
    ndarray, shape (H, W)
    """
    table = np.zeros(N_CODES, dtype=values.dtype)
    table[colour_codes(colours)] = values
    mapped = np.concatenate([table[colour_codes(block)] for block in _pixel_blocks(image)])
    return place_opaque(image, mapped, fill)


def pixel_dataframe(image: Image) -> pd.DataFrame:
    """One row per opaque pixel with columns ``R``, ``G`` and ``B`` (uint8).

    Parameters
    ----------
    image : Image

    Returns
    -------
    pandas.DataFrame
    """
    return pd.DataFrame(image.opaque_pixels(), columns=["R", "G", "B"])


@dataclass(frozen=True)
class PixelSummary:
    """How many opaque pixels an image has, and how many distinct colours among them."""

    n_pixels: int
    n_unique: int


def summarize(image: Image) -> PixelSummary:
    """Count an image's opaque pixels and distinct colours."""
    counts = count_colours(image)
    return PixelSummary(n_pixels=counts.n_pixels, n_unique=counts.n_colours)
