"""How close the redrawn image is to the original: MSE, PSNR and mean CIEDE2000."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from skimage.color import deltaE_ciede2000

from kmeans_lib.clustering import Quantization
from kmeans_lib.colour_space import to_features
from kmeans_lib.errors import InputError
from kmeans_lib.images import Image
from kmeans_lib.pixels import map_runs, split_rows
from kmeans_lib.rendering import check_match
from kmeans_lib.selection import sample_points

_BLOCK_COLOURS = 1 << 17
# Above this many distinct colours, the mean ΔE is measured on this many pixels.
DELTA_E_SAMPLE = 300_000


@dataclass(frozen=True)
class Quality:
    """Differences between an image and its redraw, over the opaque pixels.

    Attributes
    ----------
    mse : float
        Mean squared error in RGB on the 0-255 scale, averaged over pixels and
        the three channels.
    psnr : float
        Peak signal-to-noise ratio in decibels, ``10 log10(255² / mse)``;
        infinite when the redraw is identical.
    mean_delta_e : float
        Mean CIEDE2000 colour difference (about 1 is just noticeable, above 10
        is clearly a different colour).
    """

    mse: float
    psnr: float
    mean_delta_e: float


def quality(
    image: Image,
    quantization: Quantization,
    *,
    delta_e_sample: int | None = DELTA_E_SAMPLE,
    random_state: int = 0,
) -> Quality:
    """Measure how far the redraw's colours are from the original's.

    MSE and PSNR are exact over every opaque pixel, computed once per distinct
    colour weighted by its pixel count. So is the mean CIEDE2000 (in float32,
    within 1e-6 of float64) for a picture with at most ``delta_e_sample``
    distinct colours. Above that it is the mean over ``delta_e_sample`` pixels
    drawn at random: on the 12-megapixel benchmark photo (1.5 million colours)
    it was within 0.02 of the exact mean at k = 3, 16 and 64, in a fifth of the
    time, and the app shows one decimal.

    Parameters
    ----------
    image : Image
        The original.
    quantization : Quantization
        Its :func:`~kmeans_lib.clustering.quantize` result, which holds the
        distinct colours and their palette labels.
    delta_e_sample : int or None, default DELTA_E_SAMPLE
        Pixels to measure the mean CIEDE2000 on when there are more distinct
        colours than this; None measures every colour.
    random_state : int, default 0
        Seed of that sample.

    Returns
    -------
    Quality
    """
    check_match(image, quantization)
    colours = quantization.colours
    return _measure(
        colours.colours,
        quantization.colour_labels,
        quantization.palette,
        colours.counts,
        delta_e_sample,
        random_state,
    )


def quality_of_labels(
    image: Image,
    palette: np.ndarray,
    labels: np.ndarray,
    *,
    delta_e_sample: int | None = DELTA_E_SAMPLE,
    random_state: int = 0,
) -> Quality:
    """Measure a redraw given as a palette and every pixel's index, such as a dithered one.

    For a redraw where a pixel's palette colour does not follow from its colour
    alone. MSE and PSNR are exact over every opaque pixel; the mean CIEDE2000
    is too for a picture of at most ``delta_e_sample`` opaque pixels, and
    measured on that many pixels drawn at random above that.

    Parameters
    ----------
    image : Image
    palette : ndarray of uint8, shape (n, 3)
    labels : ndarray of int, shape (H, W)
        Index into ``palette`` of every pixel; transparent pixels are ignored.
    delta_e_sample : int or None, default DELTA_E_SAMPLE
    random_state : int, default 0

    Returns
    -------
    Quality
    """
    if labels.shape != (image.height, image.width):
        raise InputError(
            "These palette indices were computed for a picture of another size. "
            "Paint this picture again."
        )
    if image.opaque is None:
        pixels, pixel_labels = image.pixels.reshape(-1, 3), labels.reshape(-1)
    else:
        pixels, pixel_labels = image.pixels[image.opaque], labels[image.opaque]
    return _measure(pixels, pixel_labels, palette, None, delta_e_sample, random_state)


def _measure(
    colours: np.ndarray,
    labels: np.ndarray,
    palette: np.ndarray,
    counts: np.ndarray | None,
    delta_e_sample: int | None,
    random_state: int,
) -> Quality:
    """Quality of painting each row of ``colours`` as ``palette[labels]``.

    ``counts`` is each row's number of pixels; None means one pixel a row.
    """
    n_rows = len(colours)
    total = n_rows if counts is None else int(counts.sum())
    # The redraw has only the palette's colours: convert those k to CIELAB once.
    palette_lab = to_features(palette, "lab", dtype=np.float32)

    def squared_error(rows: slice) -> float:
        difference = colours[rows].astype(np.float64)
        difference -= palette[labels[rows]]
        squared = np.einsum("ij,ij->i", difference, difference)
        return float(squared.sum() if counts is None else counts[rows] @ squared)

    if delta_e_sample is None or n_rows <= delta_e_sample:
        measured = np.arange(n_rows)
        measured_weights = np.full(n_rows, 1 / n_rows) if counts is None else counts / total
    elif counts is None:
        rng = np.random.default_rng(random_state)
        measured = np.sort(rng.choice(n_rows, size=delta_e_sample, replace=False, shuffle=False))
        measured_weights = np.full(delta_e_sample, 1 / delta_e_sample)
    else:
        drawn = sample_points(counts, delta_e_sample, random_state=random_state)
        measured, repeats = np.unique(drawn, return_counts=True)
        measured_weights = repeats / len(drawn)

    def delta_e(rows: slice) -> float:
        chosen = measured[rows]
        lab = to_features(colours[chosen], "lab", dtype=np.float32)
        values = deltaE_ciede2000(lab, palette_lab[labels[chosen]])
        return float(measured_weights[rows] @ values)

    mse = _blockwise_sum(squared_error, n_rows) / (3.0 * total)
    psnr = math.inf if mse == 0.0 else 10.0 * math.log10(255.0**2 / mse)
    return Quality(mse=mse, psnr=psnr, mean_delta_e=_blockwise_sum(delta_e, len(measured)))


def _blockwise_sum(term: Callable[[slice], float], n_rows: int) -> float:
    """``sum(term(block))`` over blocks of rows, in runs on threads of their own.

    A block at a time: CIEDE2000 keeps a dozen temporaries per colour, which for
    the 1.5 million colours of a 12 MP photo took about 450 MB at once. numpy
    releases the GIL, so the runs overlap; they are summed in a fixed order.
    """

    def run_sum(run: slice) -> float:
        return sum(
            term(slice(start, min(start + _BLOCK_COLOURS, run.stop)))
            for start in range(run.start, run.stop, _BLOCK_COLOURS)
        )

    return sum(map_runs(run_sum, split_rows(n_rows, _BLOCK_COLOURS)))
