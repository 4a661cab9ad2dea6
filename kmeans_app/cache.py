"""Cached calls into kmeans_lib, keyed by content hash and parameters.

Everything computed from a picture or a table lives in the server's byte-bounded
:mod:`~kmeans_app.store`, shared by every session and never copied: images,
quantizations, points, fits, previews, files, sweeps and figures. Only the small
charts drawn from a finished sweep use ``st.cache_data``.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from typing import TypeVar

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from kmeans_app.sources import PicturePoints, Source, TablePoints
from kmeans_app.store import current_session, heavy_work, share, shared, store
from kmeans_lib import (
    dithering,
    eye_test,
    figures,
    images,
    methods,
    metrics,
    palette_io,
    perception,
    selection,
    step_figures,
    tabular,
)
from kmeans_lib.clustering import (
    KMeansFit,
    Quantization,
    WeightedPoints,
    fit_kmeans,
    image_points,
    recolour,
)
from kmeans_lib.clustering import quantize as quantize_image
from kmeans_lib.colour_space import check_palette, hex_codes, sort_palette
from kmeans_lib.errors import InputError
from kmeans_lib.images import (
    Image,
    decode_memory,
    encode_png,
    encode_preview,
    load_image,
    load_sample,
    resize_to_fit,
)
from kmeans_lib.pixels import ColourCounts, count_colours, pixel_dataframe, take_rows

# By name: the package re-exports the function ``redraw``, which hides the module.
from kmeans_lib.rendering import (
    BandedPngSize,
    FileSizes,
    full_size_memory,
    full_size_png,
    indexed_png,
    nearest_labels,
    painted_labels_png,
    painted_pngs,
    redraw,
    redraw_png,
)
from kmeans_lib.segments import PixelInfo, full_resolution_point, pixel_at, segment_view
from kmeans_lib.steps import KMeansSteps, record_kmeans

# Streamlit's image element re-encodes anything wider than 1,460 px on every rerun,
# so previews stay below that (and below the 1,600 px the design allows).
PREVIEW_MAX_SIDE = 1400
THUMBNAIL_MAX_SIDE = 320
# The side of the crops that show dithering at 100%.
CROP_SIDE = 400
STRIP_KS = (2, 3, 4, 8, 16, 32)
PIXEL_TABLE_MAX_ROWS = 300_000
# Larger uploads are explored at this size; their downloads stay full size.
WORKING_MAX_PIXELS = images.WORKING_MAX_PIXELS
# zlib level of the two PNGs whose sizes are compared: level 1 encodes a
# 12-megapixel photo in about 2 s, level 6 in over 4 s.
FILE_SIZE_LEVEL = 1
# Size jobs kept: a measured one holds only its size, so a page drawn again (a
# widget changed, another viewer) finds it instead of measuring again.
MAX_SIZE_JOBS = 64
# A sweep holds the server's computation lock, so it may use every core: its
# values of k (or samples) are computed on one thread per CPU.
SWEEP_JOBS = -1
# What one method of the comparison adds at most, per pixel of the picture compared.
COMPARISON_BYTES_PER_PIXEL = 22
# Methods are compared on a copy no larger than this on a side (2.6 megapixels
# at most): every method counts, labels and measures every pixel on its own,
# under the server's computation lock, which on a 12.5-megapixel working copy
# took 19-23 s (everyone else's work waited) and up to 270 MB more memory.
COMPARE_MAX_SIDE = 1600
# The size is measured a band of rows at a time: the background job then holds
# a few megabytes besides the picture, not a second full-size copy.
SIZE_BAND_ROWS = 256
# One thread for the file sizes measured in the background, for every viewer.
_SIZE_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="png-size")
_size_jobs: dict[str, BandedPngSize] = {}
_redraw_size_jobs: dict[tuple[str, int, str, int], BandedPngSize] = {}

Points = PicturePoints | TablePoints
T = TypeVar("T")


def _with_progress(text: str, work: Callable[[selection.Progress], T]) -> T:
    """Run ``work(progress)`` under a progress bar that disappears when it is done.

    Called while a stored result is computed, so a result found stored shows no bar.
    Each step of the work is also a point where a lighter session waiting for the
    computation lock goes first (:func:`~kmeans_app.store.share`): a sweep or a
    comparison takes seconds on a large picture.
    """
    bar = st.progress(0.0, text=text)

    def progress(fraction: float) -> None:
        bar.progress(fraction, text=text)
        share()

    result = work(progress)
    bar.empty()
    return result


# --- pictures -----------------------------------------------------------------------------


@shared("Reading the picture…")
def image(source: Source) -> Image:
    """The decoded picture (raises InputError for a file that is not a usable image).

    Also starts measuring its PNG size in the background (see :func:`original_png_size`).
    """
    if source.data is None:
        picture = load_sample(source.name)
    else:
        # Pillow decodes a large PNG whole before it is shrunk (196 MB at 49 MP):
        # other pictures' stored results make room for that first.
        store().make_room(decode_memory(source.data, working_max_pixels=WORKING_MAX_PIXELS))
        # No file name: the stored picture is shared by every viewer of these bytes,
        # whatever each of them called the file.
        picture = load_image(source.data, working_max_pixels=WORKING_MAX_PIXELS)
    job = _original_size_job(picture)
    _SIZE_THREAD.submit(job.measure)
    _remember(_size_jobs, source.cache_key, job)
    return picture


def _remember(jobs: dict, key: Hashable, job: object) -> None:
    """Keep a background size job, and at most :data:`MAX_SIZE_JOBS` of them (oldest out first)."""
    jobs[key] = job
    while len(jobs) > MAX_SIZE_JOBS:
        jobs.pop(next(iter(jobs)))


@shared("Counting colours…")
def colours(source: Source) -> ColourCounts:
    """The picture's distinct colours, counted once and shared by every fit and sweep."""
    return count_colours(image(source))


@shared("Grouping the colours…")
def quantization(source: Source, k: int, space: str, seed: int) -> Quantization:
    """The picture reduced to ``k`` colours."""
    return quantize_image(
        image(source),
        k,
        colour_space=space,
        random_state=seed,
        colours=colours(source),
        points=points(PicturePoints(source, space)),
    )


@shared()
def small_image(source: Source) -> Image:
    """The picture shrunk to fit :data:`PREVIEW_MAX_SIDE`, for previews and thumbnails."""
    return resize_to_fit(image(source), PREVIEW_MAX_SIDE)


@shared()
def original_preview(source: Source) -> bytes:
    """The picture as a JPEG (PNG if transparent) no larger than :data:`PREVIEW_MAX_SIDE`."""
    return encode_preview(small_image(source))


@shared()
def palette_png(source: Source, k: int, space: str, seed: int) -> bytes:
    """The full-resolution redraw as a palette (indexed) PNG, as the file sizes compare it."""
    return indexed_png(
        image(source), quantization(source, k, space, seed), compress_level=FILE_SIZE_LEVEL
    )


def _fits_preview(source: Source) -> bool:
    """Whether the picture is its own preview (no side above :data:`PREVIEW_MAX_SIDE`)."""
    picture = image(source)
    return max(picture.width, picture.height) <= PREVIEW_MAX_SIDE


@shared()
def preview_labels(source: Source, k: int, space: str, seed: int) -> np.ndarray:
    """Each pixel's palette index in :func:`small_image`: the fit's own for a small
    picture, else the shrunk picture's nearest centre.

    Redrawing the preview in other colours, or showing some clusters only, is
    then a lookup in these labels: nothing is fitted or measured again. Stored,
    as a quantization works its label map out anew each time it is asked.
    """
    if _fits_preview(source):
        return quantization(source, k, space, seed).labels
    return nearest_labels(small_image(source), quantization(source, k, space, seed))


@shared()
def redraw_preview(source: Source, k: int, space: str, seed: int) -> bytes:
    """The redraw as a PNG no larger than :data:`PREVIEW_MAX_SIDE`.

    A picture already that small shows its palette PNG, which the file-size
    comparison needs anyway: one encoding instead of two on every change of k.
    """
    if _fits_preview(source):
        with suppress(InputError):  # no palette PNG holds 256 colours plus transparency
            return palette_png(source, k, space, seed)
    # The shrunk picture painted with the palette: the redraw at preview size,
    # in exactly the palette's colours (and a PNG: a JPEG would blur them).
    return recoloured_preview(
        source, k, space, seed, tuple(quantization(source, k, space, seed).hex_codes())
    )


@shared()
def recoloured_preview(
    source: Source, k: int, space: str, seed: int, palette: tuple[str, ...]
) -> bytes:
    """The redraw at preview size painted with ``palette``, one colour code per cluster."""
    colours = check_palette(palette, quantization(source, k, space, seed).n_colours)
    return painted_labels_png(
        small_image(source), preview_labels(source, k, space, seed), colours, compress_level=1
    )


def shown_preview(
    source: Source, k: int, space: str, seed: int, palette: tuple[str, ...] | None
) -> bytes:
    """The redraw preview in the fitted colours (``palette`` None) or in ``palette``."""
    if palette is None:
        return redraw_preview(source, k, space, seed)
    return recoloured_preview(source, k, space, seed, palette)


@shared()
def segment_preview(
    source: Source, k: int, space: str, seed: int, clusters: tuple[int, ...]
) -> bytes:
    """The preview with the pixels of ``clusters`` in their own colours and the rest faded."""
    small = small_image(source)
    view = segment_view(small, preview_labels(source, k, space, seed), clusters)
    return encode_preview(Image(view, small.opaque))


def clicked_pixel(
    source: Source,
    k: int,
    space: str,
    seed: int,
    palette: tuple[str, ...] | None,
    click: dict[str, float],
) -> PixelInfo:
    """The pixel under a click on the preview, mapped back to the picture the fit is of.

    ``click`` holds the point (``x``, ``y``) and the size the preview was shown
    at (``width``, ``height``), as the image-coordinates component gives them.
    """
    picture, fit = image(source), quantization(source, k, space, seed)
    column, row = full_resolution_point(
        click["x"], click["y"], (click["width"], click["height"]), (picture.width, picture.height)
    )
    return pixel_at(picture, fit if palette is None else recolour(fit, palette), column, row)


def redraw_png_on_click(
    source: Source,
    k: int,
    space: str,
    seed: int,
    dither: bool = False,
    palette: tuple[str, ...] | None = None,
) -> Callable[[], bytes]:
    """A callable that builds the full-size redraw PNG when a download is clicked.

    Not cached: Streamlit runs it in a thread without a script context, and a
    full-size PNG is not worth keeping in memory after it was sent. It holds
    only the keys, so a page left open pins no picture. A picture explored at a
    working size is decoded again at full size and painted with the palette
    (dithered whole with ``dither``); the store first makes room for that
    (:func:`~kmeans_lib.rendering.full_size_memory`). With ``palette`` (one colour
    code per cluster) the same clusters are painted in those colours.
    """

    # The click's work counts to this viewer, though Streamlit builds it in a
    # thread of its own.
    session = current_session()

    def build() -> bytes:
        with heavy_work("redraw_png_on_click", session):
            picture, result = image(source), quantization(source, k, space, seed)
            if palette is not None:
                result = recolour(result, palette)
            if picture.original_size is None:
                if dither:
                    labels = dithered_labels(source, k, space, seed)
                    return dithering.dithered_png(picture, result, labels)
                try:
                    return indexed_png(picture, result)
                except InputError:  # 256 colours plus transparency: no palette PNG
                    return redraw_png(picture, result)
            size = picture.original_size
            # Painting needs the palette and each colour's label, not the working
            # copy (37 MB at 12.5 MP): this copy lets it go with the store's
            # entries, which make_room drops.
            palette_only = result.palette_only()
            del picture, result
            if dither:
                store().make_room(dithering.full_size_dithered_memory(size))
                return dithering.full_size_dithered_png(source.data, palette_only)
            store().make_room(full_size_memory(size))
            return full_size_png(source.data, palette_only)

    return build


@shared("Dithering…")
def dithered_labels(source: Source, k: int, space: str, seed: int) -> np.ndarray:
    """Every pixel's palette index with Floyd–Steinberg dithering (-1 where transparent)."""
    return dithering.dither(image(source), quantization(source, k, space, seed))


@shared()
def dithered_quality(source: Source, k: int, space: str, seed: int) -> metrics.Quality:
    """MSE, PSNR and mean ΔE between the picture and its dithered redraw."""
    palette = quantization(source, k, space, seed).palette
    return metrics.quality_of_labels(
        image(source), palette, dithered_labels(source, k, space, seed)
    )


@shared()
def dithered_png_size(source: Source, k: int, space: str, seed: int) -> int:
    """Bytes of the dithered redraw as a palette PNG, at the file-size comparison's level."""
    picture, result = image(source), quantization(source, k, space, seed)
    labels = dithered_labels(source, k, space, seed)
    return len(dithering.dithered_png(picture, result, labels, compress_level=FILE_SIZE_LEVEL))


@shared()
def dither_crops(source: Source, k: int, space: str, seed: int) -> tuple[bytes, bytes]:
    """The middle of the plain and of the dithered redraw at 100%, as PNGs."""
    picture, result = image(source), quantization(source, k, space, seed)
    window = dithering.centre_crop(picture, CROP_SIDE)
    crop = picture.part(window)
    plain = result.labels_in(crop)
    dithered = dithered_labels(source, k, space, seed)[window]
    return tuple(
        encode_png(take_rows(result.palette, labels), crop.opaque) for labels in (plain, dithered)
    )


@shared("Measuring how visible the difference is…")
def flip(source: Source, k: int, space: str, seed: int, viewing: str) -> perception.FlipDifference:
    """How visible the redraw's difference is at ``viewing`` (FLIP, at the size it is seen)."""
    picture = image(source)
    return perception.flip_difference(
        picture, redraw(picture, quantization(source, k, space, seed)), viewing
    )


@shared()
def flip_sample(source: Source, viewing: str) -> perception.FlipSample:
    """The picture as shown at ``viewing``, where :func:`flip_figure` measures: whole up
    to the eye test's 300,000 pixels (every built-in picture), else windows spread over it."""
    return perception.flip_sample(image(source), viewing, eye_test.EYE_TEST_FLIP_PIXELS)


@shared("Measuring how visible the difference is…")
def flip_figure(source: Source, k: int, space: str, seed: int, viewing: str) -> float:
    """The mean FLIP of the redraw at ``viewing``, measured as the eye test measures.

    :func:`flip`'s mean on a picture of up to 300,000 pixels as shown (so the map,
    and the dithering table's plain redraw, reuse that one FLIP); on a larger
    one, exact FLIP on windows spread over it: at laptop distance a 12-megapixel
    photo is shown at 1.6 megapixels, and FLIP on all of them would add 1.2 s to
    every change of k.
    """
    sample = flip_sample(source, viewing)
    if not sample.tops:  # measured whole: the map's mean, one FLIP for the figure and the map
        return flip(source, k, space, seed, viewing).mean
    redrawn = redraw(image(source), quantization(source, k, space, seed))
    return sample.mean(sample.take(redrawn))


@shared()
def dithered_flip(
    source: Source, k: int, space: str, seed: int, viewing: str
) -> perception.FlipDifference:
    """How visible the dithered redraw's difference is at ``viewing``."""
    palette = quantization(source, k, space, seed).palette
    dithered = take_rows(palette, dithered_labels(source, k, space, seed))
    return perception.flip_difference(image(source), dithered, viewing)


@shared()
def flip_heat_map(source: Source, k: int, space: str, seed: int, viewing: str) -> bytes:
    """The FLIP map of the redraw at ``viewing`` as a PNG heat map (see
    :func:`kmeans_lib.perception.heat_map`)."""
    return encode_png(perception.heat_map(flip(source, k, space, seed, viewing).map))


@shared()
def cluster_errors(source: Source, k: int, space: str, seed: int) -> metrics.ClusterErrors:
    """What each cluster adds to the redraw's MSE and mean ΔE."""
    return metrics.cluster_errors(image(source), quantization(source, k, space, seed))


def quality(source: Source, k: int, space: str, seed: int) -> metrics.Quality:
    """MSE, PSNR and mean ΔE between the picture and its redraw."""
    return cluster_errors(source, k, space, seed).quality()


@shared("Measuring the edited palette…")
def edited_quality(
    source: Source, k: int, space: str, seed: int, palette: tuple[str, ...]
) -> metrics.Quality:
    """MSE, PSNR and mean ΔE between the picture and its redraw in the colours ``palette``.

    Only the clusters whose colour was changed are measured again.
    """
    return metrics.recoloured_quality(
        image(source),
        quantization(source, k, space, seed),
        palette,
        errors=cluster_errors(source, k, space, seed),
    )


@shared("Measuring the original's file size…")
def original_png_size(source: Source) -> int:
    """Bytes of the picture saved as a full-colour PNG.

    A 12-megapixel photo takes 1-2 s to encode, so :func:`image` starts it on a
    thread of its own (Pillow's encoder releases the GIL). When the page asks
    for it, this thread encodes the bands still left beside that one.
    """
    return _measured(_size_jobs, source.cache_key, lambda: _original_size_job(image(source)))


def _original_size_job(picture: Image) -> BandedPngSize:
    return BandedPngSize.of_image(picture, compress_level=FILE_SIZE_LEVEL, band_rows=SIZE_BAND_ROWS)


def _measured(jobs: dict, key: Hashable, new_job: Callable[[], BandedPngSize]) -> int:
    """The size measured by the job kept under ``key``, or by a new one; a job that
    failed is dropped, so that the next page to ask measures again."""
    job = jobs.get(key) or new_job()
    try:
        return job.measure()
    except BaseException:
        jobs.pop(key, None)
        raise


def start_file_sizes(source: Source, k: int, space: str, seed: int) -> None:
    """Start measuring the redraw's palette PNG on the background thread, so that
    :func:`file_sizes` finds it done, or nearly, when the page asks for it last.

    For a picture larger than its preview, where the PNG is wanted for its size
    alone: 0.3 s at 12 megapixels, on the other core while the page draws.
    """
    key = (source.cache_key, k, space, seed)
    if _fits_preview(source) or key in _redraw_size_jobs:
        return
    try:
        job = _redraw_size_job(source, k, space, seed)
    except InputError:  # no palette PNG for this redraw: file_sizes says why
        return
    _SIZE_THREAD.submit(job.measure)
    _remember(_redraw_size_jobs, key, job)


@shared()
def redraw_png_size(source: Source, k: int, space: str, seed: int) -> int:
    """Bytes of the full-resolution redraw as a palette PNG, at :data:`FILE_SIZE_LEVEL`.

    A picture larger than its preview is measured in bands (see
    :func:`start_file_sizes`), this thread encoding the bands still left.
    """
    if _fits_preview(source):
        return len(palette_png(source, k, space, seed))
    return _measured(
        _redraw_size_jobs,
        (source.cache_key, k, space, seed),
        lambda: _redraw_size_job(source, k, space, seed),
    )


def _redraw_size_job(source: Source, k: int, space: str, seed: int) -> BandedPngSize:
    return BandedPngSize.of_redraw(
        image(source),
        quantization(source, k, space, seed),
        compress_level=FILE_SIZE_LEVEL,
        band_rows=SIZE_BAND_ROWS,
    )


def file_sizes(source: Source, k: int, space: str, seed: int) -> FileSizes:
    """PNG size of the original against the k-colour (indexed) PNG.

    Both at zlib level :data:`FILE_SIZE_LEVEL`. The original's size is measured
    once per picture, and a small picture's palette PNG is its redraw preview too.
    """
    return FileSizes(
        original_png=original_png_size(source),
        indexed_png=redraw_png_size(source, k, space, seed),
    )


def shown_palette(
    source: Source, k: int, space: str, seed: int, order: str, palette: tuple[str, ...] | None
) -> tuple[np.ndarray, np.ndarray]:
    """The palette indices in the order shown, and each cluster's colour (fitted or ``palette``).

    Returns ``(order, colours)``: ``colours[order]`` is the palette as shown.
    """
    fit = quantization(source, k, space, seed)
    colours = fit.palette if palette is None else check_palette(palette, fit.n_colours)
    return sort_palette(colours, fit.shares, order), colours


def palette_files(
    source: Source,
    k: int,
    space: str,
    seed: int,
    order: str = "share",
    palette: tuple[str, ...] | None = None,
) -> dict[str, str]:
    """The palette as CSV, JSON and GIMP palette text, by file extension.

    In the ``order`` shown, in the fitted colours or in ``palette``. Not stored:
    the GIMP palette is named after this viewer's file, and the store keys an
    upload by its bytes alone, so another viewer's copy would carry another
    name. Writing a few lines per colour on a click costs next to nothing.
    """
    shares = quantization(source, k, space, seed).shares
    index, colours = shown_palette(source, k, space, seed, order, palette)
    colours, shares = colours[index], shares[index]
    name = f"{source.name}, {len(colours)} colours{', edited' if palette else ''}"
    return {
        "csv": palette_io.palette_csv(colours, shares),
        "json": palette_io.palette_json(colours, shares),
        "gpl": palette_io.palette_gpl(colours, shares, name=name),
    }


@shared()
def palette_swatches(
    source: Source, k: int, space: str, seed: int, order: str, palette: tuple[str, ...] | None
) -> bytes:
    """The palette as shown, as a PNG of labelled colour chips."""
    index, colours = shown_palette(source, k, space, seed, order, palette)
    return palette_io.palette_swatch_png(colours[index])


@st.cache_data(max_entries=16, show_spinner=False)
def code_snippets(codes: tuple[str, ...]) -> dict[str, str]:
    """Code that uses the palette ``codes`` in matplotlib, Plotly, seaborn and CSS."""
    return palette_io.code_snippets(list(codes))


@shared("Redrawing small previews…")
def redraw_strip(source: Source, space: str, seed: int) -> list[tuple[int, bytes]]:
    """Small redraws at each k of :data:`STRIP_KS`, with centres fitted on the whole picture.

    A k the elbow sweep covers takes that sweep's centres; a larger k is fitted
    on the picture's colour histogram alone (its inertia is not shown, so the
    fit skips measuring it over every colour).
    """
    spec = PicturePoints(source, space)
    curve = elbow(spec, seed)
    swept = dict(zip(curve.ks.tolist(), curve.centers, strict=True))
    colours = points(spec)
    colours_or_bins = colours if colours.coarse is None else colours.coarse
    centres = [
        swept[k] if k in swept else fit_kmeans(colours_or_bins, k, random_state=seed).centers
        for k in STRIP_KS
    ]
    small = resize_to_fit(small_image(source), THUMBNAIL_MAX_SIDE)
    return list(zip(STRIP_KS, painted_pngs(small, centres, space), strict=True))


@shared("Building the pixel table…")
def pixel_sample(source: Source, seed: int) -> pd.DataFrame:
    """The rows of the pixel table that do not depend on k: R, G, B and hex code.

    Pictures with more than :data:`PIXEL_TABLE_MAX_ROWS` pixels give a random
    sample of that many rows, in reading order, so the table and its CSV stay a
    manageable size.
    """
    pixels = image(source).opaque_pixels()
    if len(pixels) > PIXEL_TABLE_MAX_ROWS:
        # shuffle=False draws without a permutation of every pixel (100 MB at 12 megapixels).
        rng = np.random.default_rng(seed)
        rows = np.sort(rng.choice(len(pixels), PIXEL_TABLE_MAX_ROWS, replace=False, shuffle=False))
    else:
        rows = np.arange(len(pixels))
    chosen = pixels[rows]
    # The library's pixel table, of the chosen pixels laid out as a one-row image.
    frame = pixel_dataframe(Image(chosen[np.newaxis]))
    frame["hex"] = hex_codes(chosen)
    return frame


@shared()
def pixel_table(source: Source, k: int, space: str, seed: int) -> tuple[pd.DataFrame, int]:
    """The pixel table (R, G, B, cluster, hex), each pixel's cluster numbered from 1.

    Returns the table and the picture's number of opaque pixels. The hex codes
    (a third of a second for 300,000 rows) are formatted once per picture.
    """
    frame = pixel_sample(source, seed)
    # The sampled pixels as a one-row picture: only they are looked up.
    sampled = Image(frame[["R", "G", "B"]].to_numpy()[np.newaxis])
    labels = quantization(source, k, space, seed).labels_in(sampled)[0]
    table = frame.copy(deep=False)
    table.insert(3, "cluster", labels + 1)
    return table, image(source).n_opaque


@shared()
def first_pixels(source: Source, n: int) -> pd.DataFrame:
    """The first ``n`` rows of the picture's pixel dataframe (R, G, B)."""
    return pixel_dataframe(Image(image(source).opaque_pixels()[:n][np.newaxis]))


# --- other methods ------------------------------------------------------------------------


@shared()
def comparison_image(source: Source) -> Image:
    """The picture the methods are compared on: no side longer than :data:`COMPARE_MAX_SIDE`."""
    return resize_to_fit(image(source), COMPARE_MAX_SIDE)


@shared()
def comparison(source: Source, k: int, seed: int, viewing: str) -> list[methods.MethodResult]:
    """Every method of :data:`~kmeans_lib.methods.METHODS` on the picture at ``k``, measured.

    Only the small previews are kept: at 12 MP each method's full label map
    would take 24 MB.
    """
    picture = comparison_image(source)
    # Each method counts, labels and measures every pixel on its own: up to
    # COMPARISON_BYTES_PER_PIXEL more per pixel, so the store makes room first.
    store().make_room(COMPARISON_BYTES_PER_PIXEL * picture.n_pixels)
    return _with_progress(
        "Redrawing the picture with every method…",
        lambda progress: methods.compare_methods(
            picture,
            k,
            random_state=seed,
            compress_level=FILE_SIZE_LEVEL,
            progress=progress,
            # The colours the other pages counted, when the methods see the same picture.
            colours=colours(source) if picture is image(source) else None,
            viewing=viewing,
        ),
    )


@shared()
def comparison_previews(source: Source, k: int, seed: int, viewing: str) -> list[bytes | None]:
    """Each method's small redraw as a PNG (None for a method that did not run)."""
    return [
        None if result.preview is None else encode_png(result.preview.pixels, result.preview.opaque)
        for result in comparison(source, k, seed, viewing)
    ]


@shared()
def comparison_table(source: Source, k: int, seed: int, viewing: str) -> pd.DataFrame:
    """The measured methods as a sortable table."""
    return methods.comparison_frame(comparison(source, k, seed, viewing))


@shared()
def comparison_figure(source: Source, k: int, seed: int, viewing: str) -> go.Figure:
    """PSNR against time for every method that ran."""
    return figures.methods_figure(comparison(source, k, seed, viewing))


# --- points: a picture's colours or a table's rows ----------------------------------------


class _Refusal(str):
    """The message of a file's refusal, stored in place of a result.

    A refused upload stays on the page through every rerun (each widget change):
    storing its refusal, as a result is stored, keeps it from being read and
    scanned again each time. Only the message is kept, never the exception,
    whose traceback would hold the file's bytes.
    """


def _refusal_or(read: Callable[[], T]) -> T | _Refusal:
    """``read()``, or the refusal it raised."""
    try:
        return read()
    except InputError as error:
        return _Refusal(str(error))


def _unless_refused(result: T | _Refusal) -> T:
    """The stored result, or its refusal raised anew."""
    if isinstance(result, _Refusal):
        raise InputError(str(result))
    return result


@shared(reading=True)
def _table_sheets(source: Source) -> tuple[str, ...] | _Refusal:
    return () if source.data is None else _refusal_or(lambda: tabular.sheet_names(source.data))


def table_sheets(source: Source) -> tuple[str, ...]:
    """An uploaded workbook's sheet names; empty for a sample or a text file.

    Raises InputError for a workbook that cannot be used (the refusal is stored).
    """
    return _unless_refused(_table_sheets(source))


@shared("Reading the table…", reading=True)
def _table(source: Source, sheet: str | None = None) -> tabular.TableFile | _Refusal:
    if source.data is None:
        frame = tabular.load_table_sample(source.name)
        return tabular.TableFile(frame, f"The {source.name} sample table from scikit-learn.")
    return _refusal_or(lambda: tabular.read_table(source.data, sheet=sheet))


def table(source: Source, sheet: str | None = None) -> tabular.TableFile:
    """A built-in sample table or an uploaded CSV or workbook sheet.

    Raises InputError for a file that cannot be used (the refusal is stored).
    """
    return _unless_refused(_table(source, sheet))


@shared(reading=True)
def table_columns(source: Source, sheet: str | None = None) -> tuple[list[str], list[str]]:
    """The table's numeric columns, and those of them that hold one value in every row."""
    frame = table(source, sheet).frame
    return tabular.numeric_columns(frame), tabular.constant_columns(frame)


@shared()
def prepared_table(spec: TablePoints) -> tabular.PreparedTable:
    """The chosen columns of a table, scaled, with the rows that were used."""
    return tabular.table_points(table(spec.source, spec.sheet).frame, spec.columns, spec.scaling)


@shared()
def points(spec: Points) -> WeightedPoints:
    """The weighted points k-means works on for a picture or a table."""
    if isinstance(spec, PicturePoints):
        return image_points(colours(spec.source), spec.space)
    return prepared_table(spec).points


@shared("Grouping…")
def fit(spec: Points, k: int, seed: int) -> KMeansFit:
    """k-means with ``k`` clusters on the points."""
    return fit_kmeans(points(spec), k, random_state=seed)


def _sweep_starts(spec: Points) -> int:
    """k-means++ starts of each sweep fit: fewer on a table's row sample (see tabular)."""
    return tabular.sweep_starts(points(spec)) if isinstance(spec, TablePoints) else 3


@shared()
def elbow(spec: Points, seed: int) -> selection.ElbowCurve:
    """Inertia and variance explained for k = 1 to 20, with its knee."""
    return _with_progress(
        "Trying k = 1 to 20…",
        lambda progress: selection.elbow_sweep(
            points(spec),
            random_state=seed,
            n_init=_sweep_starts(spec),
            progress=progress,
            n_jobs=SWEEP_JOBS,
        ),
    )


@shared()
def silhouettes(spec: Points, seed: int) -> selection.SilhouetteCurve:
    """Silhouette (with its spread), Calinski–Harabasz and Davies–Bouldin for k = 2 to 10.

    Scored on the elbow sweep's fits, which the page has just made.
    """
    return _with_progress(
        "Scoring k = 2 to 10 on samples…",
        lambda progress: selection.silhouette_sweep(
            points(spec),
            random_state=seed,
            n_init=_sweep_starts(spec),
            progress=progress,
            elbow=elbow(spec, seed),
            n_jobs=SWEEP_JOBS,
        ),
    )


@shared()
def smallest_unnoticeable_k(
    source: Source, space: str, seed: int, threshold: float
) -> eye_test.EyeTest:
    """The smallest k whose redraw differs from the picture by at most ``threshold`` mean ΔE."""
    return _with_progress(
        "Searching for the smallest k that passes the eye test…",
        lambda progress: eye_test.smallest_k(
            points(PicturePoints(source, space)),
            colours(source),
            threshold=threshold,
            colour_space=space,
            random_state=seed,
            progress=progress,
        ),
    )


@shared()
def smallest_k_seen(
    source: Source, space: str, seed: int, viewing: str, threshold: float
) -> eye_test.EyeTest:
    """The smallest k whose redraw is hard to tell from the picture at ``viewing`` (mean FLIP
    at most ``threshold``)."""
    return _with_progress(
        "Searching for the smallest k that is hard to tell apart…",
        lambda progress: eye_test.smallest_k_seen(
            image(source),
            points(PicturePoints(source, space)),
            colours(source),
            threshold=threshold,
            viewing=viewing,
            colour_space=space,
            random_state=seed,
            progress=progress,
        ),
    )


@shared("Scoring each point…")
def silhouette_knife(spec: Points, k: int, seed: int) -> go.Figure:
    """The per-cluster silhouette plot for ``k``.

    A picture's clusters are its palette, from the fit the other pages show; a
    table's are drawn in the template's colours.
    """
    if isinstance(spec, PicturePoints):
        result = quantization(spec.source, k, spec.space, seed)
        palette = result.palette
    else:
        result, palette = fit(spec, k, seed), None
    detail = selection.silhouette_detail(points(spec), result, random_state=seed)
    return figures.silhouette_knife_figure(detail, palette)


@st.cache_data(max_entries=8, show_spinner=False)
def elbow_figure(curve: selection.ElbowCurve, metric: str) -> go.Figure:
    """The elbow chart of ``curve`` showing ``metric``."""
    return figures.elbow_figure(curve, metric=metric)


@st.cache_data(max_entries=8, show_spinner=False)
def silhouette_figure(curve: selection.SilhouetteCurve, unit: str) -> go.Figure:
    """Silhouette by k with its spread; ``unit`` is what was sampled (pixels or rows)."""
    return figures.silhouette_figure(curve, unit=unit)


@shared()
def cluster_sizes(spec: TablePoints, k: int, seed: int) -> pd.DataFrame:
    """Rows per cluster (numbered from 1), split by the table's class column if it has one.

    A class column is a non-numeric column with at most 20 distinct values, such as
    iris's species: the split shows how well the clusters recover the known classes.
    """
    prepared = prepared_table(spec)
    rows = table(spec.source, spec.sheet).frame.loc[prepared.index]
    labels = prepared.row_labels(fit(spec, k, seed).labels)
    clusters = pd.Series(labels + 1, index=rows.index, name="cluster")
    numeric = set(tabular.numeric_columns(rows))
    classes = [name for name in rows.columns if name not in numeric and rows[name].nunique() <= 20]
    if classes:
        return pd.crosstab(clusters, rows[classes[0]])
    return clusters.value_counts().sort_index().rename("rows").to_frame()


# --- 3D views ---------------------------------------------------------------------------


@shared("Drawing the colour cube…")
def pixel_cloud(source: Source, max_points: int, seed: int) -> go.Figure:
    """A sample of the picture's pixels in the RGB cube, in their own colours."""
    return figures.pixel_cloud_3d(colours(source), max_points=max_points, random_state=seed)


@shared("Drawing the colour cube…")
def colour_cube(
    source: Source,
    k: int,
    space: str,
    seed: int,
    colour_by: str,
    max_points: int,
    clusters: tuple[int, ...] | None,
) -> go.Figure:
    """The picture's pixels in the RGB cube, coloured by cluster or by their own colour."""
    return figures.rgb_scatter_3d(
        image(source),
        quantization(source, k, space, seed),
        colour_by=colour_by,
        max_points=max_points,
        random_state=seed,
        clusters=None if clusters is None else list(clusters),
    )


@shared()
def table_cube(spec: TablePoints, axes: tuple[str, str, str], k: int, seed: int) -> go.Figure:
    """Three columns of the table's used rows, coloured by cluster."""
    prepared = prepared_table(spec)
    rows = table(spec.source, spec.sheet).frame.loc[prepared.index]
    labels = prepared.row_labels(fit(spec, k, seed).labels)
    return figures.table_scatter_3d(rows, list(axes), labels, random_state=seed)


# --- k-means step by step -----------------------------------------------------------------


@shared("Running k-means step by step…")
def kmeans_steps(spec: Points, k: int, init: str, seed: int) -> KMeansSteps:
    """k-means from one start, every step recorded (see :func:`~kmeans_lib.steps.record_kmeans`)."""
    return record_kmeans(points(spec), k, init=init, random_state=seed)


@shared("Drawing every step…")
def steps_cube(source: Source, k: int, space: str, init: str, seed: int) -> go.Figure:
    """The animated colour cube, picture and inertia of a picture's k-means run."""
    spec = PicturePoints(source, space)
    thumbnail = resize_to_fit(small_image(source), THUMBNAIL_MAX_SIDE)
    return step_figures.kmeans_steps_3d(
        kmeans_steps(spec, k, init, seed), points(spec), thumbnail, space
    )


@shared("Drawing every step…")
def steps_plane(spec: TablePoints, k: int, init: str, seed: int) -> go.Figure:
    """The animated 2D scatter of a table's k-means run on its two chosen columns."""
    return step_figures.kmeans_steps_2d(
        kmeans_steps(spec, k, init, seed), points(spec), spec.columns
    )
