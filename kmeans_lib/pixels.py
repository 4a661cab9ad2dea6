"""Pixels as data: colour codes, unique colours with their counts, the pixel table."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import pandas as pd
from joblib import cpu_count

from kmeans_lib.images import Image

N_CODES = 1 << 24
T = TypeVar("T")
# Pixels are coded a block at a time so that no full-size code array is needed:
# on a 12-megapixel photo that saves 48-150 MB at the peak.
_BLOCK_PIXELS = 1 << 20
# numpy releases the GIL in its gathers, scatters and arithmetic, so passes over
# the pixels split across threads: on 2 cores they take about 60% of the time.
# joblib's count respects CPU affinity and container quotas (Community Cloud
# machines can show many more CPUs than the app may use). These passes are
# limited by memory bandwidth, so more than 4 threads would only add scratch.
_N_THREADS = min(4, cpu_count())
# Codes looked up at once by CodeRows.rows.
_ROWS_CHUNK = 1 << 16


def colour_codes(pixels: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Pack RGB triples into one integer each.

    Parameters
    ----------
    pixels : ndarray of uint8, shape (..., 3)
    out : ndarray of int, shape (...), optional
        Where to write the codes (at least 32 bits wide); a new uint32 array
        when not given.

    Returns
    -------
    ndarray of uint32 (or the dtype of ``out``), shape (...)
        ``R << 16 | G << 8 | B``, so sorting codes sorts colours by R, then G, then B.
    """
    if out is None:
        out = np.empty(pixels.shape[:-1], dtype=np.uint32)
    np.copyto(out, pixels[..., 0])
    out <<= 8
    out |= pixels[..., 1]
    out <<= 8
    out |= pixels[..., 2]
    return out


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


def split_rows(n_rows: int, min_rows: int = _BLOCK_PIXELS) -> list[slice]:
    """Split ``range(n_rows)`` into one run of rows per CPU, or fewer.

    No more runs than blocks of ``min_rows`` rows, so a small input is one run.
    """
    n_runs = max(1, min(_N_THREADS, -(-n_rows // min_rows)))
    bounds = [n_rows * i // n_runs for i in range(n_runs + 1)]
    return [slice(start, stop) for start, stop in zip(bounds[:-1], bounds[1:], strict=True)]


def map_runs(work: Callable[..., T], runs: list[slice], *extra: list) -> list[T]:
    """``[work(run, *extra_i) for each run]``, one thread per run, results in run order.

    numpy releases the GIL in most of its work, so the runs overlap; a fixed
    order keeps sums of the results the same from one call to the next.
    """
    if len(runs) == 1:
        return [work(runs[0], *(values[0] for values in extra))]
    with ThreadPoolExecutor(max_workers=len(runs)) as pool:
        # list() waits for every run and raises the first exception of any.
        return list(pool.map(work, runs, *extra))


def _in_parallel(work: Callable[[slice, np.ndarray], T], n_rows: int) -> list[T]:
    """``work(run, scratch)`` on each run of :func:`split_rows`, on threads, results in run order.

    ``scratch`` is an empty intp array of one block, for the codes or indices of
    each block of the run. It is made here, in the calling thread, because glibc
    gives every thread its own heap, which keeps what is freed there: with
    block-sized temporaries made in the workers, quantizing a 12-megapixel photo
    peaked 70 MB higher.
    """
    runs = split_rows(n_rows)
    scratches = [np.empty(min(_BLOCK_PIXELS, run.stop - run.start), np.intp) for run in runs]
    return map_runs(work, runs, scratches)


def _blocks(run: slice) -> Iterator[slice]:
    """Consecutive slices of at most _BLOCK_PIXELS rows covering ``run``."""
    for start in range(run.start, run.stop, _BLOCK_PIXELS):
        yield slice(start, min(start + _BLOCK_PIXELS, run.stop))


def count_colours(image: Image) -> ColourCounts:
    """Count the distinct colours among an image's opaque pixels.

    Parameters
    ----------
    image : Image

    Returns
    -------
    ColourCounts

    Notes
    -----
    Two passes over the pixels, on every core: one marks the colours present,
    one looks up each pixel's colour among them and counts. Nothing is kept
    per pixel, unlike :func:`count_colours_with_index` (4 bytes a pixel, 50 MB
    at 12 megapixels).
    """
    pixels = image.opaque_pixels()
    rows = _distinct_codes(pixels)
    n_colours = rows.n_codes

    def count_run(run: slice, scratch: np.ndarray) -> np.ndarray:
        counts = np.zeros(n_colours, dtype=np.int64)
        for block in _blocks(run):
            codes = colour_codes(pixels[block], out=scratch[: block.stop - block.start])
            rows.rows(codes, out=codes)
            counts += np.bincount(codes, minlength=n_colours)
        return counts

    counts = sum(_in_parallel(count_run, len(pixels)), start=np.zeros(n_colours, dtype=np.int64))
    return ColourCounts(colours=codes_to_colours(rows.codes()), counts=counts)


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
    return _count(image)


class CodeRows:
    """Each colour code's row among a sorted set of distinct codes.

    A table over all 2**24 codes would give a row with one gather, but it takes
    64 MB of int32 while it is used, and several viewers' computations each
    built one. A bitmap of the codes present (2 MB) with the number of codes
    before each 64-bit word (1 MB) gives the row as that count plus the bits set
    below the code in its word: about twice the gather's time, at a twentieth
    of the memory.

    Parameters
    ----------
    present : ndarray of bool, shape (2**24,)
        True at the codes of the set.
    """

    def __init__(self, present: np.ndarray) -> None:
        self._words = np.packbits(present, bitorder="little").view(np.uint64)
        self._before = np.zeros(len(self._words), dtype=np.int32)
        np.cumsum(np.bitwise_count(self._words[:-1]), out=self._before[1:])

    @classmethod
    def of(cls, codes: np.ndarray) -> CodeRows:
        """The rows of the distinct values of ``codes`` (any shape, any order)."""
        present = np.zeros(N_CODES, dtype=bool)
        present[codes] = True
        return cls(present)

    @property
    def n_codes(self) -> int:
        """How many codes the set holds."""
        return int(self._before[-1]) + int(np.bitwise_count(self._words[-1]))

    def codes(self) -> np.ndarray:
        """The distinct codes, sorted: row ``i`` is code ``codes()[i]``."""
        # Only the words with a bit set are unpacked (a photo's colours fill a few
        # of them: 2.6 MB of bits, not 16 MB), and seen as bool, which numpy scans
        # for set bits several times faster than uint8.
        words = np.flatnonzero(self._words)
        bits = np.unpackbits(self._words[words].view(np.uint8), bitorder="little")
        found = np.flatnonzero(bits.view(np.bool_))
        return (words[found >> 6] << 6) | (found & 63)

    def rows(self, codes: np.ndarray, out: np.ndarray) -> None:
        """Write the row of each of ``codes`` (all in the set, 1-D) to ``out``.

        ``out`` may be the memory of ``codes`` itself: each slice is read before
        its rows are written. A slice at a time, so that its four temporaries
        stay in the CPU cache (and at a few megabytes) however many codes are
        looked up.
        """
        for start in range(0, len(codes), _ROWS_CHUNK):
            part = codes[start : start + _ROWS_CHUNK]
            word = part >> 6
            below = (part & 63).astype(np.uint64)
            np.left_shift(np.uint64(1), below, out=below)
            below -= np.uint64(1)
            below &= self._words[word]
            np.add(
                self._before[word],
                np.bitwise_count(below),
                out=out[start : start + _ROWS_CHUNK],
                casting="unsafe",
            )


def _distinct_codes(pixels: np.ndarray, stored_codes: np.ndarray | None = None) -> CodeRows:
    """The distinct codes of ``(n, 3)`` pixels; each pixel's code goes to ``stored_codes``."""
    present = np.zeros(N_CODES, dtype=bool)

    def mark_present(run: slice, scratch: np.ndarray) -> None:
        for rows in _blocks(run):
            codes = colour_codes(pixels[rows], out=scratch[: rows.stop - rows.start])
            if stored_codes is not None:
                stored_codes[rows] = codes
            # Threads may set the same entry at once; they all write True.
            # mode="wrap" never wraps (codes are below N_CODES) but spares np.put
            # the buffered copy of the default bounds check.
            np.put(present, codes, True, mode="wrap")

    _in_parallel(mark_present, len(pixels))
    return CodeRows(present)


def _count_rows(rows: np.ndarray, n_rows: int) -> np.ndarray:
    """How often each of ``n_rows`` rows occurs in ``rows``, a block at a time."""
    # One thread: np.bincount gains little from more, and its 12 MB results
    # (for 1.5 million colours) would stay in the heaps of worker threads.
    counts = np.zeros(n_rows, dtype=np.int64)
    for block in _blocks(slice(0, len(rows))):
        counts += np.bincount(rows[block], minlength=n_rows)
    return counts


def _count(image: Image) -> tuple[ColourCounts, np.ndarray]:
    # Two passes over the pixels: one marks the colours present in a bitmap,
    # one gives each pixel its distinct colour's row (CodeRows), and the rows
    # are counted. Much faster than sorting 12 million codes, and far smaller
    # than a 2**24-bin histogram.
    pixels = image.opaque_pixels()
    pixel_index = np.empty(len(pixels), dtype=np.int32)
    # The index's memory first holds each pixel's code, so the second pass
    # reads the codes back instead of computing them again.
    codes = pixel_index.view(np.uint32)
    rows = _distinct_codes(pixels, codes)

    def look_up(run: slice) -> None:
        for block in _blocks(run):  # each pixel's code is replaced by its row
            rows.rows(codes[block], out=pixel_index[block])

    map_runs(look_up, split_rows(len(pixels)))
    unique = rows.codes()
    counts = _count_rows(pixel_index, len(unique))
    return ColourCounts(colours=codes_to_colours(unique), counts=counts), pixel_index


def take_rows(values: np.ndarray, indices: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``values[indices]`` along the first axis, a block of indices at a time.

    Given a whole index array, numpy would first copy it to int64: blocks keep
    that copy at 8 MB instead of 8 bytes per pixel (96 MB for 12 megapixels).
    ``mode="wrap"`` skips the buffered copy of the default bounds check; it
    also means that index -1 gives the last row.

    Parameters
    ----------
    values : ndarray, shape (m, ...)
    indices : ndarray of int, any shape
    out : C-contiguous ndarray, optional
        Where to write the result. It may be the memory of ``indices`` itself:
        each block of indices is copied before its rows are written.

    Returns
    -------
    ndarray, shape ``indices.shape + values.shape[1:]``, dtype of ``values``
    """
    if out is None:
        out = np.empty(indices.shape + values.shape[1:], dtype=values.dtype)
    flat_indices = indices.reshape(-1)
    flat_out = out.reshape(flat_indices.shape + values.shape[1:])

    def gather(run: slice, scratch: np.ndarray) -> None:
        for rows in _blocks(run):
            block_indices = scratch[: rows.stop - rows.start]
            np.copyto(block_indices, flat_indices[rows])
            np.take(values, block_indices, axis=0, out=flat_out[rows], mode="wrap")

    _in_parallel(gather, flat_indices.size)
    return out


def place_opaque(image: Image, values: np.ndarray, fill: int) -> np.ndarray:
    """Lay out one value per opaque pixel (reading order) as an (H, W) array.

    Transparent pixels get ``fill``; the result has the dtype of ``values``.
    """
    if image.opaque is None:
        return values.reshape(image.pixels.shape[:2])
    result = np.full(image.pixels.shape[:2], fill, dtype=values.dtype)
    result[image.opaque] = values
    return result


class ColourLookup:
    """A value for every pixel of a picture, or of any part of it, from a value per colour.

    Parameters
    ----------
    colours : ndarray of uint8, shape (m, 3)
        Distinct colours that cover every opaque pixel looked up.
    values : ndarray, shape (m,)
        The value of each colour; its dtype is the result's.

    Notes
    -----
    Built once (a 3 MB bitmap of the colours present), it serves any number of
    parts: a picture measured a band at a time does not build it per band.
    """

    def __init__(self, colours: np.ndarray, values: np.ndarray) -> None:
        codes = colour_codes(colours)
        self._rows = CodeRows.of(codes)
        # Row i of the lookup is the i-th smallest code: the values in code order.
        self._values = values[np.argsort(codes, kind="stable")]

    def __call__(self, image: Image, fill: int) -> np.ndarray:
        """The value of each pixel of ``image``, shape (H, W); ``fill`` where transparent."""
        pixels = image.opaque_pixels()
        mapped = np.empty(len(pixels), dtype=self._values.dtype)

        def look_up(run: slice, scratch: np.ndarray) -> None:
            for block in _blocks(run):
                n = block.stop - block.start
                codes = colour_codes(pixels[block], out=scratch[:n])
                self._rows.rows(codes, out=codes)
                np.take(self._values, codes, out=mapped[block], mode="wrap")

        _in_parallel(look_up, len(pixels))
        return place_opaque(image, mapped, fill)


def map_colours(image: Image, colours: np.ndarray, values: np.ndarray, fill: int) -> np.ndarray:
    """Look up a value for every pixel from a value per distinct colour.

    Parameters
    ----------
    image : Image
    colours : ndarray of uint8, shape (m, 3)
        Distinct colours that cover every opaque pixel of ``image``.
    values : ndarray, shape (m,)
        The value of each colour; its dtype is the result's.
    fill : int
        The value given to transparent pixels.

    Returns
    -------
    ndarray, shape (H, W)
    """
    return ColourLookup(colours, values)(image, fill)


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
