"""k-means against the colour reductions people use instead, on one picture and k.

Each method gives a palette and the palette index of every pixel, as a
:class:`~kmeans_lib.clustering.Quantization`, so that quality, file size and the
redraw are measured in exactly the same way for all of them:

- this library's k-means, in RGB and in CIELAB;
- k-means fitted on 1,000 random pixels, as scikit-learn's colour-quantization
  example does, then applied to every pixel;
- scikit-learn's :class:`~sklearn.cluster.BisectingKMeans`, weighted by colour counts;
- Pillow's ``Image.quantize`` methods: median cut, maximum coverage, fast octree,
  and libimagequant when Pillow was built with it.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from PIL import Image as PILImage
from PIL import features
from sklearn.cluster import BisectingKMeans, KMeans
from sklearn.metrics import pairwise_distances_argmin

from kmeans_lib.clustering import (
    Quantization,
    _threads_for,
    assemble_quantization,
    check_k,
    check_visible,
    quantize,
)
from kmeans_lib.errors import InputError
from kmeans_lib.images import Image
from kmeans_lib.metrics import Quality, quality
from kmeans_lib.perception import DEFAULT_VIEWING, FlipSample, Viewing, flip_sample
from kmeans_lib.pixels import ColourCounts, count_colours, count_colours_with_index, take_rows
from kmeans_lib.rendering import indexed_png, redraw
from kmeans_lib.selection import sample_points

# The pixels scikit-learn's colour-quantization example fits k-means on.
EXAMPLE_SAMPLE = 1_000
# A method that takes longer on a picture is left out, as is one expected to (_EXPECTED_RATE).
MAX_SECONDS = 10.0
PREVIEW_MAX_SIDE = 360
FRAME_COLUMNS = (
    "Method",
    "PSNR (dB)",
    "Mean ΔE",
    "Visible difference (FLIP)",
    "Time (s)",
    "Palette PNG (kB)",
    "Colours",
)
# Pixels of the picture as shown that each method's FLIP is measured on (see
# perception.flip_sample; the same windows for every method, so they compare
# pair by pair): about 0.1 s per method, against 0.3 s for all of china.jpg.
COMPARE_FLIP_PIXELS = 100_000


@dataclass(frozen=True)
class Method:
    """One way of reducing a picture to k colours.

    Attributes
    ----------
    key : str
        Short identifier, such as ``"median_cut"``.
    name : str
        Plain-words name shown to people.
    """

    key: str
    name: str


METHODS = (
    Method("kmeans_rgb", "k-means in RGB (this app)"),
    Method("kmeans_lab", "k-means in CIELAB (this app)"),
    Method("kmeans_sample", f"k-means on {EXAMPLE_SAMPLE:,} random pixels"),
    Method("bisecting", "Bisecting k-means (scikit-learn)"),
    Method("median_cut", "Median cut (Pillow)"),
    Method("max_coverage", "Maximum coverage (Pillow)"),
    Method("octree", "Fast octree (Pillow)"),
    Method("libimagequant", "libimagequant (Pillow)"),
)
_BY_KEY = {method.key: method for method in METHODS}
_PILLOW_METHODS = {
    "median_cut": PILImage.Quantize.MEDIANCUT,
    "max_coverage": PILImage.Quantize.MAXCOVERAGE,
    "octree": PILImage.Quantize.FASTOCTREE,
    "libimagequant": PILImage.Quantize.LIBIMAGEQUANT,
}
# Seconds per distinct colour (times k for maximum coverage), measured with a
# margin on two shared cores: Pillow's maximum coverage took 0.56-6.9 s on
# china.jpg's 96,615 colours at k = 16-256 and 11 s on the 12 MP benchmark
# photo's 1.5 million at k = 16 (61 s at k = 256); median cut 0.15 s on china.jpg
# and 18 s on the 12 MP photo at any k. Such a method is not even started where
# it would clearly take too long: left to run past the limit, it kept its
# full-size copies in memory while the next methods ran (962 MB peak at 12 MP).
# The others run against the clock (see _measure).
_EXPECTED_RATE = {"max_coverage": 5e-7, "median_cut": 1.2e-5}
_RATE_PER_K = {"max_coverage"}


def libimagequant_available() -> bool:
    """Whether the installed Pillow was built with libimagequant."""
    return bool(features.check_feature("libimagequant"))


def method_keys() -> tuple[str, ...]:
    """The keys of every method in :data:`METHODS`, in order."""
    return tuple(method.key for method in METHODS)


def expected_seconds(key: str, colours: ColourCounts, k: int) -> float | None:
    """Rough time of method ``key`` on a picture with ``colours`` at ``k``; None if unbounded.

    Only methods that can exceed :data:`MAX_SECONDS` on a 12.5-megapixel
    picture have an estimate.
    """
    rate = _EXPECTED_RATE.get(key)
    if rate is None:
        return None
    return rate * colours.n_colours * (k if key in _RATE_PER_K else 1)


def _pillow(
    key: str, image: Image, k: int, colours: ColourCounts, pixel_index: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float]:
    """Pillow's quantize on the opaque pixels: its palette, each distinct colour's index
    and the seconds Pillow took.

    Without dithering Pillow maps every pixel by its colour alone, so the
    pixels' layout does not matter and each distinct colour has one index.
    """
    if key == "libimagequant" and not libimagequant_available():
        raise InputError(
            "The installed Pillow was built without libimagequant, so this method is not available."
        )
    pixels = image.pixels if image.opaque is None else image.opaque_pixels()[np.newaxis]
    started = time.perf_counter()
    result = PILImage.fromarray(pixels).quantize(
        k, method=_PILLOW_METHODS[key], dither=PILImage.Dither.NONE
    )
    seconds = time.perf_counter() - started
    palette = np.array(result.getpalette(), dtype=np.float64).reshape(-1, 3)
    colour_labels = np.empty(colours.n_colours, dtype=np.intp)
    colour_labels[pixel_index] = np.asarray(result).reshape(-1)
    return palette, colour_labels, seconds


def _kmeans_on_sample(
    colours: ColourCounts, k: int, random_state: int
) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's example: k-means on :data:`EXAMPLE_SAMPLE` random pixels, then all colours."""
    drawn = sample_points(colours.counts, EXAMPLE_SAMPLE, random_state=random_state)
    sample = colours.colours[drawn].astype(np.float64)
    n_clusters = min(k, len(np.unique(drawn)))
    with _threads_for(len(sample)):
        model = KMeans(n_clusters, random_state=random_state).fit(sample)
    centres = model.cluster_centers_
    return centres, pairwise_distances_argmin(colours.colours.astype(np.float64), centres)


def _bisecting(colours: ColourCounts, k: int, random_state: int) -> tuple[np.ndarray, np.ndarray]:
    """Bisecting k-means on the distinct colours weighted by their pixel counts."""
    X = colours.colours.astype(np.float64)
    n_clusters = min(k, colours.n_colours)
    with _threads_for(len(X)):
        model = BisectingKMeans(n_clusters, random_state=random_state)
        labels = model.fit_predict(X, sample_weight=colours.counts.astype(np.float64))
    return model.cluster_centers_, labels


def quantize_with(
    image: Image,
    k: int,
    method: str,
    *,
    random_state: int = 0,
) -> Quantization:
    """Reduce an image to ``k`` colours with one of the :data:`METHODS`.

    Parameters
    ----------
    image : Image
    k : int
        Number of colours, 1 to 256.
    method : str
        A key of :data:`METHODS`, such as ``"median_cut"``.
    random_state : int, default=0
        Seed of the methods that draw at random (the k-means ones).

    Returns
    -------
    Quantization
        ``fit_seconds`` is the method's own time: the palette and every pixel's
        index, counting the colours included for the methods that work on them
        (this library's and scikit-learn's); for Pillow's, the ``quantize`` call.

    Raises
    ------
    InputError
        For an unknown method, a bad k, a picture with no visible pixels, or
        libimagequant when Pillow lacks it.
    """
    k = check_k(k)
    if method not in _BY_KEY:
        raise InputError(
            f"There is no colour-reduction method called {method!r}. "
            f"Choose one of: {', '.join(method_keys())}."
        )
    if method in ("kmeans_rgb", "kmeans_lab"):
        return quantize(image, k, colour_space=method[-3:], random_state=random_state)
    started = time.perf_counter()
    # The scikit-learn methods work on the distinct colours: counting them is
    # part of their time. Pillow counts its own; here they only label its result.
    if method in ("kmeans_sample", "bisecting"):
        colours = count_colours(image)
        check_visible(colours)
        fit = _kmeans_on_sample if method == "kmeans_sample" else _bisecting
        centroids, colour_labels = fit(colours, k, random_state)
    else:
        colours, pixel_index = count_colours_with_index(image)
        check_visible(colours)
        centroids, colour_labels, seconds = _pillow(method, image, k, colours, pixel_index)
        started = time.perf_counter() - seconds
    return assemble_quantization(
        image,
        k,
        colours,
        colour_labels,
        centroids,
        random_state=random_state,
        started=started,
        method=_BY_KEY[method].name,
    )


@dataclass(frozen=True)
class MethodResult:
    """One method's redraw of a picture, measured, from :func:`compare_methods`.

    Attributes
    ----------
    key, name : str
        The method (see :class:`Method`).
    seconds : float or None
        Wall time to compute the palette and every pixel's colour; None when the
        method did not run.
    quality : Quality or None
        PSNR and mean CIEDE2000 of the redraw against the picture.
    png_size : int or None
        Bytes of the redraw as a palette PNG (None if it has no palette PNG).
    n_colours : int
        Colours in its palette; 0 when the method did not run.
    palette : ndarray of uint8, shape (n_colours, 3)
    preview : Image or None
        The redraw, no larger than ``preview_max_side``, in exactly its
        palette's colours (nearest pixel, not blended).
    note : str or None
        A plain sentence: why the method did not run, or what to know about its result.
    flip : float or None
        The mean FLIP of the redraw at the comparison's viewing distance (on
        :data:`COMPARE_FLIP_PIXELS` of the picture as shown).
    """

    key: str
    name: str
    seconds: float | None
    quality: Quality | None
    png_size: int | None
    n_colours: int
    palette: np.ndarray
    preview: Image | None
    note: str | None
    flip: float | None = None

    @property
    def ok(self) -> bool:
        """Whether the method ran and was measured."""
        return self.quality is not None


def small_redraw(image: Image, quantization: Quantization, max_side: int) -> Image:
    """The redraw shrunk to fit ``max_side`` by taking the nearest pixel: only palette colours."""
    scale = min(1.0, max_side / max(image.height, image.width))
    rows = np.linspace(0, image.height - 1, max(1, round(image.height * scale))).round()
    cols = np.linspace(0, image.width - 1, max(1, round(image.width * scale))).round()
    grid = np.ix_(rows.astype(np.intp), cols.astype(np.intp))
    part = image.part(grid)
    labels = quantization.labels_in(part)
    return Image(take_rows(quantization.palette, labels), part.opaque, image.name)


def _skipped(method: Method, note: str) -> MethodResult:
    return MethodResult(
        method.key, method.name, None, None, None, 0, np.empty((0, 3), np.uint8), None, note
    )


def compare_methods(
    image: Image,
    k: int,
    *,
    methods: Sequence[str] | None = None,
    random_state: int = 0,
    max_seconds: float = MAX_SECONDS,
    preview_max_side: int = PREVIEW_MAX_SIDE,
    compress_level: int = 6,
    progress: Callable[[float], None] | None = None,
    colours: ColourCounts | None = None,
    viewing: str | Viewing = DEFAULT_VIEWING,
) -> list[MethodResult]:
    """Run several methods on one picture and k, and measure each redraw.

    Each method is timed on its own (counting the picture's colours included),
    then measured with :func:`~kmeans_lib.metrics.quality`, FLIP (see
    :mod:`kmeans_lib.perception`) and :func:`~kmeans_lib.rendering.indexed_png`.
    A method that fails, is not available, or takes (or is expected to take) over
    ``max_seconds`` on this picture gets a note instead of numbers; the others
    still run. Only the small previews are
    kept, never a full-size redraw.

    Parameters
    ----------
    image : Image
    k : int
        Number of colours, 1 to 256.
    methods : sequence of str, optional
        Keys of :data:`METHODS`; all of them by default.
    random_state : int, default=0
    max_seconds : float, default=MAX_SECONDS
        Methods that take longer on this picture, or are expected to, are left
        out; ``math.inf`` waits for every method.
    preview_max_side : int, default=PREVIEW_MAX_SIDE
    compress_level : int, default=6
        zlib's level for the palette PNGs whose sizes are compared.
    progress : callable, optional
        Called with the fraction done (0-1) after each method.
    colours : ColourCounts, optional
        The image's colours (:func:`~kmeans_lib.pixels.count_colours`) where
        already counted: the time estimates need them.
    viewing : {"phone", "laptop", "monitor", "poster"} or Viewing, default "laptop"
        Where the redraws are seen, for their FLIP.

    Returns
    -------
    list of MethodResult
        In the order of ``methods``.
    """
    k = check_k(k)
    keys = method_keys() if methods is None else list(methods)
    unknown = [key for key in keys if key not in _BY_KEY]
    if unknown:
        raise InputError(
            f"There is no colour-reduction method called {unknown[0]!r}. "
            f"Choose among: {', '.join(method_keys())}."
        )
    if colours is None and any(key in _EXPECTED_RATE for key in keys):
        colours = count_colours(image)
    sample = flip_sample(image, viewing, COMPARE_FLIP_PIXELS)
    results = []
    for done, key in enumerate(keys, start=1):
        method = _BY_KEY[key]
        expected = None if colours is None else expected_seconds(key, colours, k)
        if expected is not None and expected > max_seconds:
            results.append(
                _skipped(
                    method,
                    f"Left out: on a picture with this many colours it would take about "
                    f"{expected:.0f} s, over the {max_seconds:g} s limit.",
                )
            )
        else:
            results.append(
                _measure(
                    method,
                    image,
                    k,
                    random_state,
                    max_seconds,
                    preview_max_side,
                    compress_level,
                    sample,
                )
            )
        if progress is not None:
            progress(done / len(keys))
    return results


def _measure(
    method: Method,
    image: Image,
    k: int,
    random_state: int,
    max_seconds: float,
    preview_max_side: int,
    compress_level: int,
    sample: FlipSample,
) -> MethodResult:
    """One method's result and its measurements, or a note saying why there are none.

    The method runs on a thread of its own, waited for at most ``max_seconds``:
    neither Pillow nor scikit-learn can be interrupted, so one that takes longer
    is left to finish in the background, its result unused, and the comparison
    goes on without it.
    """
    outcome: list[Quantization | BaseException] = []

    def run() -> None:
        try:
            outcome.append(quantize_with(image, k, method.key, random_state=random_state))
        except Exception as error:  # noqa: BLE001 - reported below, never raised on a thread
            outcome.append(error)

    worker = threading.Thread(target=run, name=f"method-{method.key}", daemon=True)
    worker.start()
    worker.join(None if math.isinf(max_seconds) else max_seconds)
    if not outcome:
        return _skipped(
            method,
            f"Left out: it took longer than {max_seconds:g} s on this picture.",
        )
    result = outcome[0]
    if isinstance(result, InputError):
        return _skipped(method, str(result))
    if isinstance(result, BaseException):  # one broken method must not hide the others
        return _skipped(
            method, f"This method failed on this picture ({type(result).__name__}: {result})."
        )
    try:
        png_size = len(indexed_png(image, result, compress_level=compress_level))
    except InputError:  # 256 colours plus transparency: no palette PNG
        png_size = None
    return MethodResult(
        key=method.key,
        name=method.name,
        seconds=result.fit_seconds,
        quality=quality(image, result, random_state=random_state),
        png_size=png_size,
        n_colours=result.n_colours,
        palette=result.palette,
        preview=small_redraw(image, result, preview_max_side),
        note=result.note,
        flip=sample.mean(sample.take(redraw(image, result))),
    )


def comparison_frame(results: Sequence[MethodResult]) -> pd.DataFrame:
    """The measured methods as a table, one row each; methods that did not run are left out.

    Columns: Method, PSNR (dB), Mean ΔE, Visible difference (FLIP), Time (s),
    Palette PNG (kB), Colours.
    """
    rows = [
        {
            "Method": result.name,
            "PSNR (dB)": result.quality.psnr,
            "Mean ΔE": result.quality.mean_delta_e,
            "Visible difference (FLIP)": result.flip,
            "Time (s)": result.seconds,
            "Palette PNG (kB)": None if result.png_size is None else result.png_size / 1e3,
            "Colours": result.n_colours,
        }
        for result in results
        if result.ok
    ]
    return pd.DataFrame(rows, columns=list(FRAME_COLUMNS))
