"""Many pictures: one task per picture, and the engines that run the tasks.

Tasks
-----
Top-level functions of plain, picklable arguments (paths as ``str``, a frozen
:class:`BatchOptions`), so an engine can run them in another process or on
another machine. They never raise for a picture: a broken, hostile or missing
file gives a result that carries its error.

- :func:`palette_record` ``(path, options, redraw_to=None) -> PictureRecord``:
  one picture's palette, the quality of its redraw (unless the options say
  palettes only), and the full-size redraw written to ``redraw_to`` when given.
- :func:`colour_histogram` ``(path, options) -> Histogram``: a picture's
  distinct colours and their pixel counts; :func:`add_histograms` ``(a, b) ->
  Histogram`` sums two (exactly: integer counts, in any order).
- :func:`fit_shared_palette` ``(histogram, k, colour_space, random_state) ->
  SharedPalette``: the weighted k-means of one picture, on the summed histogram.
- :func:`apply_palette` ``(path, palette, options, redraw_to=None) ->
  PictureRecord``: a picture redrawn with a shared palette.

Engines
-------
An engine runs a task function over many argument tuples. Every engine has
these methods (see :class:`Engine`) and is a context manager (``close`` on exit):

- ``map(function, items) -> Iterator[tuple[int, result]]``: ``function(*item)``
  for each tuple of ``items`` (a sequence); yields ``(index in items, result)``
  as each finishes, in any order.
- ``tree_reduce(function, items, combine) -> result``: ``function(*item)`` for
  each item, the results combined two at a time in a tree by ``combine``
  (associative and commutative, such as :func:`add_histograms`), so no more
  than a few partial results are held at once. ``items`` must not be empty.
- ``close()``: let go of workers.

:class:`LocalEngine` ``(jobs)`` runs the tasks in a pool of ``jobs`` processes
on this machine (``jobs=1``: in this process). ``kmeans_lib.dask_engine.DaskEngine
(scheduler_address)`` runs the same tasks on a ``dask.distributed`` cluster.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, replace
from typing import Any, Protocol, TypeVar

import numpy as np
from joblib import cpu_count
from threadpoolctl import threadpool_limits

from kmeans_lib.clustering import (
    Quantization,
    assemble_quantization,
    check_k,
    fit_kmeans,
    image_points,
    one_thread,
    quantize,
)
from kmeans_lib.colour_space import (
    PALETTE_ORDERS,
    check_colour_space,
    sort_palette,
    to_features,
    to_srgb,
)
from kmeans_lib.dithering import full_size_dithered_png
from kmeans_lib.errors import InputError
from kmeans_lib.images import DEFAULT_MAX_PIXELS, Image, jpeg_palette_draft, load_image
from kmeans_lib.metrics import quality
from kmeans_lib.palette_io import palette_colours
from kmeans_lib.pixels import ColourCounts, codes_to_colours, colour_codes, count_colours
from kmeans_lib.rendering import _nearest_centres, full_size_png

R = TypeVar("R")
# What went wrong, in a record's ``error_kind``: the picture itself (it cannot be
# read or used), or writing its redraw (disk full, no permission), which the next
# pictures would most likely run into too.
PICTURE_ERROR = "picture"
OUTPUT_ERROR = "output"


@dataclass(frozen=True)
class BatchOptions:
    """How every picture of a batch is treated.

    Attributes
    ----------
    k : int
        Colours in each palette, 1 to 256.
    colour_space : {"rgb", "lab"}, default "rgb"
        Where k-means measures colour distances.
    random_state : int, default 0
    sort : {"share", "hue", "lightness"}, default "share"
        The order of each record's palette.
    dither : bool, default False
        Redraws are dithered (Floyd–Steinberg); the quality figures are those
        of the plain redraw either way.
    max_pixels : int, default DEFAULT_MAX_PIXELS
        Larger pictures are refused from their header.
    measure_quality : bool, default True
        Give each record the PSNR and mean ΔE of the full-size picture redrawn
        with its palette. False: palettes only; the records' ``psnr`` and
        ``mean_delta_e`` are None, and a JPEG is fitted on the copy its decoder
        gives scaled down where that keeps the palette's PSNR within 0.05 dB
        (:func:`~kmeans_lib.images.jpeg_palette_draft`), several times faster.
    """

    k: int
    colour_space: str = "rgb"
    random_state: int = 0
    sort: str = "share"
    dither: bool = False
    max_pixels: int = DEFAULT_MAX_PIXELS
    measure_quality: bool = True

    def __post_init__(self) -> None:
        check_k(self.k)
        check_colour_space(self.colour_space)
        if self.sort not in PALETTE_ORDERS:
            raise InputError(
                f"A palette can be ordered by {', '.join(PALETTE_ORDERS)}; got {self.sort!r}."
            )


@dataclass(frozen=True)
class PictureRecord:
    """What a batch found for one picture.

    Attributes
    ----------
    path : str
        The picture's file, as it was given or found.
    width, height : int or None
        The picture's full size, upright; None when it could not be read.
    palette : tuple of dict
        ``{"hex", "rgb", "share", "count"}`` per colour, in the options' order;
        shares and counts are of the opaque pixels of the picture as decoded:
        its working copy, for a picture above
        :data:`~kmeans_lib.images.WORKING_MAX_PIXELS`, and the scaled-down
        copy of a JPEG read for its palette only.
    psnr : float or None
        Of the redraw, in dB; ``math.inf`` when the redraw is the picture itself;
        None for palettes only (``BatchOptions.measure_quality`` False).
    mean_delta_e : float or None
        Mean CIEDE2000 difference between the picture and its redraw; None for
        palettes only.
    seconds : float
        Time spent on the picture.
    error : str or None
        Why the picture has no palette (or no redraw), in plain words.
    error_kind : str or None
        ``"picture"`` (it could not be read or used) or ``"output"`` (its redraw
        could not be written).
    redraw : str or None
        Where its redraw was written.
    """

    path: str
    width: int | None = None
    height: int | None = None
    palette: tuple[dict, ...] = ()
    psnr: float | None = None
    mean_delta_e: float | None = None
    seconds: float = 0.0
    error: str | None = None
    error_kind: str | None = None
    redraw: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the picture has a palette and, when asked for, its redraw."""
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        """The record as JSON-ready data (an infinite PSNR becomes ``"inf"``)."""
        psnr = "inf" if self.psnr is not None and math.isinf(self.psnr) else self.psnr
        return {
            "path": self.path,
            "width": self.width,
            "height": self.height,
            "palette": list(self.palette),
            "psnr": psnr,
            "mean_delta_e": self.mean_delta_e,
            "seconds": self.seconds,
            "error": self.error,
            "error_kind": self.error_kind,
            "redraw": self.redraw,
        }


@dataclass(frozen=True)
class Histogram:
    """Distinct colours summed over pictures, with the pictures that could not be read.

    Attributes
    ----------
    colours : ColourCounts
        Every opaque pixel of the pictures read, counted by colour.
    n_pictures : int
        Pictures counted.
    errors : tuple of (str, str)
        ``(path, error)`` of each picture that could not be read.
    """

    colours: ColourCounts
    n_pictures: int = 0
    errors: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class SharedPalette:
    """One palette for a set of pictures, from :func:`fit_shared_palette`.

    Attributes
    ----------
    palette : ndarray of uint8, shape (n, 3)
        Most used colour first.
    centroids : ndarray of float64, shape (n, 3)
        The cluster centres in sRGB 0-255, unrounded: a pixel is painted in the
        colour of its nearest centre, in ``colour_space``.
    counts : ndarray of int64, shape (n,)
        Pixels of all the pictures in each cluster.
    shares : ndarray of float64, shape (n,)
    colour_space : str
    """

    palette: np.ndarray
    centroids: np.ndarray
    counts: np.ndarray
    shares: np.ndarray
    colour_space: str

    @property
    def n_colours(self) -> int:
        """Number of colours in the palette."""
        return len(self.palette)


def read_picture(path: str, options: BatchOptions) -> Image:
    """Decode one picture of a batch as :func:`~kmeans_lib.images.load_image` does."""
    return load_image(path, max_pixels=options.max_pixels)


def read_for_palette(path: str, options: BatchOptions) -> Image:
    """The picture :func:`palette_record` fits: as :func:`read_picture` gives it, or
    for palettes only (``options.measure_quality`` False) a JPEG decoded scaled down
    as :func:`~kmeans_lib.images.jpeg_palette_draft` advises."""
    if options.measure_quality:
        return read_picture(path, options)
    draft = jpeg_palette_draft(path, max_pixels=options.max_pixels)
    return load_image(path, max_pixels=options.max_pixels, draft_factor=draft)


def _failure(path: str, error: BaseException, started: float, kind: str) -> PictureRecord:
    """The record of a picture whose work stopped at ``error``."""
    if isinstance(error, InputError):
        message = str(error)
    elif isinstance(error, OSError) and kind == OUTPUT_ERROR:
        message = f"The redraw could not be written: {error.strerror or error}."
    else:  # a task never raises: anything else is recorded too, named for a bug report
        message = f"Unexpected error ({type(error).__name__}): {error}"
    return PictureRecord(
        path=path, seconds=time.perf_counter() - started, error=message, error_kind=kind
    )


def _record(
    path: str, image: Image, quantization: Quantization, options: BatchOptions, started: float
) -> PictureRecord:
    """The record of a picture and its quantization (sorted as the options say)."""
    order = sort_palette(quantization.palette, quantization.shares, options.sort)
    palette = palette_colours(
        quantization.palette[order],
        quantization.shares[order],
        counts=quantization.counts[order],
    )
    psnr = mean_delta_e = None
    if options.measure_quality:
        figures = quality(image, quantization, random_state=options.random_state)
        psnr, mean_delta_e = figures.psnr, figures.mean_delta_e
    width, height = image.original_size or (image.width, image.height)
    return PictureRecord(
        path=path,
        width=width,
        height=height,
        palette=tuple(palette),
        psnr=psnr,
        mean_delta_e=mean_delta_e,
        seconds=time.perf_counter() - started,
    )


def write_redraw(path: str, quantization: Quantization, out: str, dither: bool = False) -> None:
    """Write the full-size redraw of the picture file ``path`` to ``out`` (PNG).

    Painted a band of rows at a time from the original file (see
    :func:`~kmeans_lib.rendering.full_size_png`); written to a temporary file
    first, so an interrupted run never leaves half a picture under ``out``.
    """
    palette_only = quantization.palette_only()
    if dither:
        png = full_size_dithered_png(path, palette_only)
    else:
        png = full_size_png(path, palette_only)
    temporary = f"{out}.part"
    with open(temporary, "wb") as file:
        file.write(png)
    os.replace(temporary, out)


def _finish(
    path: str,
    image: Image,
    quantization: Quantization,
    options: BatchOptions,
    started: float,
    redraw_to: str | None,
) -> PictureRecord:
    """The record of a fitted picture, after writing its redraw when asked."""
    try:
        record = _record(path, image, quantization, options, started)
    except Exception as error:  # noqa: BLE001 - a task never raises (see the module)
        return _failure(path, error, started, PICTURE_ERROR)
    if redraw_to is None:
        return record
    del image  # the redraw decodes the file again, at full size
    try:
        write_redraw(path, quantization, redraw_to, options.dither)
    except OSError as error:
        failed = _failure(path, error, started, OUTPUT_ERROR)
    except Exception as error:  # noqa: BLE001
        failed = _failure(path, error, started, PICTURE_ERROR)
    else:
        return replace(record, redraw=redraw_to, seconds=time.perf_counter() - started)
    return replace(record, error=failed.error, error_kind=failed.error_kind, seconds=failed.seconds)


def palette_record(path: str, options: BatchOptions, redraw_to: str | None = None) -> PictureRecord:
    """One picture's palette, the quality of its redraw, and its redraw file.

    The palette is ``quantize(load_image(path), options.k, ...)``'s, so the
    same as one picture's in the app or the library; for palettes only
    (``options.measure_quality`` False) ``quantize(load_image(path,
    draft_factor=jpeg_palette_draft(path)), ...)``'s (see
    :func:`read_for_palette`), and the redraw, when asked for, is still painted
    from the full-size file (see :func:`~kmeans_lib.rendering.full_size_png`).
    The k-means runs on one
    thread (:func:`~kmeans_lib.clustering.one_thread`; pictures run side by
    side instead), so a record is the same whatever the engine, ``--jobs`` or
    the machine's number of CPUs: on more threads a fit of over 200,000
    colours can end a rounding away, a palette colour one level apart.

    Parameters
    ----------
    path : str
    options : BatchOptions
    redraw_to : str, optional
        Where to write the full-size redraw (PNG).

    Returns
    -------
    PictureRecord
        Never raises: a picture that cannot be used gives a record with its error.
    """
    started = time.perf_counter()
    try:
        image = read_for_palette(path, options)
        with one_thread():
            quantization = quantize(
                image,
                options.k,
                colour_space=options.colour_space,
                random_state=options.random_state,
            )
    except Exception as error:  # noqa: BLE001
        return _failure(path, error, started, PICTURE_ERROR)
    return _finish(path, image, quantization, options, started, redraw_to)


def _no_colours() -> ColourCounts:
    return ColourCounts(
        colours=np.empty((0, 3), dtype=np.uint8), counts=np.empty(0, dtype=np.int64)
    )


def colour_histogram(path: str, options: BatchOptions) -> Histogram:
    """A picture's distinct opaque colours and how many pixels have each.

    Returns
    -------
    Histogram
        Of one picture; or of none, with the picture's error, when it cannot be read.
    """
    try:
        colours = count_colours(read_picture(path, options))
    except Exception as error:  # noqa: BLE001
        message = _failure(path, error, time.perf_counter(), PICTURE_ERROR).error
        return Histogram(colours=_no_colours(), errors=((path, message),))
    return Histogram(colours=colours, n_pictures=1)


def add_histograms(a: Histogram, b: Histogram) -> Histogram:
    """The sum of two histograms: the counts of every colour added, errors joined."""
    codes = np.concatenate([colour_codes(a.colours.colours), colour_codes(b.colours.colours)])
    counts = np.concatenate([a.colours.counts, b.colours.counts])
    distinct, index = np.unique(codes, return_inverse=True)
    summed = np.bincount(index, weights=counts, minlength=len(distinct))
    colours = ColourCounts(colours=codes_to_colours(distinct), counts=summed.astype(np.int64))
    return Histogram(
        colours=colours, n_pictures=a.n_pictures + b.n_pictures, errors=a.errors + b.errors
    )


def fit_shared_palette(
    histogram: Histogram | ColourCounts, k: int, colour_space: str = "rgb", random_state: int = 0
) -> SharedPalette:
    """One palette for many pictures: k-means on their summed colour histogram.

    The same weighted k-means as :func:`~kmeans_lib.clustering.quantize` runs on
    one picture's colours, so the palette is exactly that of one picture made
    of all the pictures' pixels: every pixel counts, none is sampled.

    Parameters
    ----------
    histogram : Histogram or ColourCounts
    k : int
    colour_space : {"rgb", "lab"}, default "rgb"
    random_state : int, default 0

    Returns
    -------
    SharedPalette
    """
    colours = histogram.colours if isinstance(histogram, Histogram) else histogram
    k = check_k(k)
    check_colour_space(colour_space)
    if colours.n_colours == 0:
        raise InputError(
            "None of the pictures has a visible pixel, so there are no colours to group. "
            "Check that the paths point at pictures that can be read."
        )
    fit = fit_kmeans(image_points(colours, colour_space), k, random_state=random_state)
    counts = np.bincount(fit.labels, weights=colours.counts, minlength=fit.n_clusters)
    order = np.argsort(-counts, kind="stable")
    centroids = to_srgb(fit.centers, colour_space)[order]
    counts = counts[order].astype(np.int64)
    return SharedPalette(
        palette=np.rint(centroids).astype(np.uint8),
        centroids=np.asarray(centroids, dtype=np.float64),
        counts=counts,
        shares=counts / counts.sum(),
        colour_space=colour_space,
    )


def apply_palette(
    path: str, palette: SharedPalette, options: BatchOptions, redraw_to: str | None = None
) -> PictureRecord:
    """A picture redrawn with a shared palette: each colour painted as its nearest centre.

    Parameters
    ----------
    path : str
    palette : SharedPalette
    options : BatchOptions
        Its ``colour_space`` is ignored for the painting: distances are measured
        where the palette was fitted.
    redraw_to : str, optional
        Where to write the full-size redraw (PNG).

    Returns
    -------
    PictureRecord
        With the palette's colours this picture uses, and their shares in it.
    """
    started = time.perf_counter()
    try:
        image = read_picture(path, options)
        colours = count_colours(image)
        space = palette.colour_space
        labels = _nearest_centres(colours.colours, to_features(palette.centroids, space), space)
        quantization = assemble_quantization(
            image,
            palette.n_colours,
            colours,
            labels,
            palette.centroids,
            colour_space=space,
            random_state=options.random_state,
        )
    except Exception as error:  # noqa: BLE001
        return _failure(path, error, started, PICTURE_ERROR)
    return _finish(path, image, quantization, options, started, redraw_to)


class Engine(Protocol):
    """Runs task functions over many argument tuples (see the module's docstring)."""

    def map(self, function: Callable[..., R], items: Sequence[tuple]) -> Iterator[tuple[int, R]]:
        """``(index, function(*items[index]))`` for every item, as each finishes."""
        ...

    def tree_reduce(
        self,
        function: Callable[..., R],
        items: Sequence[tuple],
        combine: Callable[[R, R], R],
    ) -> R:
        """``function(*item)`` for every item, combined two at a time in a tree."""
        ...

    def close(self) -> None:
        """Let go of the engine's workers."""
        ...

    def __enter__(self) -> Engine: ...

    def __exit__(self, *exc_info: object) -> None: ...


def _limit_threads(n_threads: int) -> None:
    """In each worker process: at most ``n_threads`` BLAS and OpenMP threads.

    Without it every worker's k-means would start a thread per core, and
    ``jobs`` workers would share the cores among ``jobs`` times as many threads.
    """
    threadpool_limits(limits=n_threads)


def combine_in_tree(values: Iterable[R], combine: Callable[[R, R], R]) -> R:
    """Combine ``values`` two at a time in a tree, as they come.

    Like the digits of a binary counter: at most one partial result per level,
    about log2(len(values)) of them, is held at once.
    """
    levels: list[Any] = []
    for value in values:
        level = 0
        while level < len(levels) and levels[level] is not None:
            value = combine(levels[level], value)
            levels[level] = None
            level += 1
        if level == len(levels):
            levels.append(value)
        else:
            levels[level] = value
    partials = [value for value in levels if value is not None]
    if not partials:
        raise InputError("There is nothing to combine: no values were given.")
    result = partials[0]
    for value in partials[1:]:
        result = combine(result, value)
    return result


class LocalEngine:
    """Tasks on this machine: a pool of ``jobs`` processes, or this process for ``jobs=1``.

    Parameters
    ----------
    jobs : int, default 1
        Pictures worked on at once. Each worker gets an equal share of the CPUs
        for its k-means threads.
    start_method : {"spawn", "fork", "forkserver"}, default "spawn"
        How worker processes start. "spawn", a fresh interpreter per worker,
        is safe anywhere and the same on every operating system, but each
        worker imports the library again (about 1.2 s of CPU). "fork" starts
        them at once with the library already imported; use it only on Linux,
        from a process that has run no k-means or other threaded work yet and
        before any thread is started (OpenMP and a thread holding a lock do not
        survive a fork), and call :meth:`start` at that point, as the
        ``kmeans-colours`` command does.
    """

    def __init__(self, jobs: int = 1, start_method: str = "spawn") -> None:
        if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
            raise InputError(f"The number of jobs must be a whole number from 1 up; got {jobs!r}.")
        if start_method not in multiprocessing.get_all_start_methods():
            raise InputError(
                f"Worker processes can be started by "
                f"{', '.join(multiprocessing.get_all_start_methods())} here; got {start_method!r}."
            )
        self.jobs = jobs
        self.start_method = start_method
        self._pool: ProcessPoolExecutor | None = None

    def start(self) -> LocalEngine:
        """Start the worker processes now (else they start with the first task); returns self."""
        if self.jobs > 1:
            self._executor()
        return self

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.jobs,
                mp_context=multiprocessing.get_context(self.start_method),
                initializer=_limit_threads,
                initargs=(max(1, cpu_count() // self.jobs),),
            )
            # A pool starts its processes as tasks arrive (with "fork", all at
            # the first): a no-op task each starts them now.
            for _ in range(self.jobs):
                self._pool.submit(os.getpid)
        return self._pool

    def map(self, function: Callable[..., R], items: Sequence[tuple]) -> Iterator[tuple[int, R]]:
        """``(index, function(*items[index]))`` for every item, as each finishes.

        At most two tasks per worker are handed out at once, so a folder of
        100,000 pictures does not queue 100,000 tasks (and their arguments).
        """
        if self.jobs == 1:
            for index, item in enumerate(items):
                yield index, function(*item)
            return
        pool = self._executor()
        pending: dict[Future, int] = {}
        next_index = 0
        while next_index < len(items) or pending:
            while next_index < len(items) and len(pending) < 2 * self.jobs:
                pending[pool.submit(function, *items[next_index])] = next_index
                next_index += 1
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                yield pending.pop(future), future.result()

    def tree_reduce(
        self,
        function: Callable[..., R],
        items: Sequence[tuple],
        combine: Callable[[R, R], R],
    ) -> R:
        """``function(*item)`` for every item, combined two at a time in a tree
        (:func:`combine_in_tree`) as the results arrive."""
        if len(items) == 0:
            raise InputError("There is nothing to combine: no items were given.")
        return combine_in_tree((value for _, value in self.map(function, items)), combine)

    def close(self) -> None:
        """Stop the worker processes (they are started again when needed)."""
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    def __enter__(self) -> LocalEngine:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
