"""How close the redrawn image is to the original: MSE, PSNR and mean CIEDE2000."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from skimage.color import deltaE_ciede2000

from kmeans_lib.clustering import Quantization
from kmeans_lib.colour_space import to_features
from kmeans_lib.images import Image
from kmeans_lib.rendering import check_match


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


def quality(image: Image, quantization: Quantization) -> Quality:
    """Measure how far the redraw's colours are from the original's.

    Computed exactly over every opaque pixel, but once per distinct colour
    weighted by its pixel count, so a 12-megapixel photo costs no more than its
    distinct colours.

    Parameters
    ----------
    image : Image
        The original.
    quantization : Quantization
        Its :func:`~kmeans_lib.clustering.quantize` result, which holds the
        distinct colours and their palette labels.

    Returns
    -------
    Quality
    """
    check_match(image, quantization)
    colours = quantization.colours
    weights = colours.counts / colours.n_pixels
    redrawn = quantization.palette[quantization.colour_labels]

    difference = colours.colours.astype(np.float64) - redrawn
    mse = float(weights @ np.einsum("ij,ij->i", difference, difference)) / 3.0
    psnr = math.inf if mse == 0.0 else 10.0 * math.log10(255.0**2 / mse)

    # The redraw has only the palette's colours: convert those k, not every pixel colour.
    palette_lab = to_features(quantization.palette, "lab")[quantization.colour_labels]
    delta_e = deltaE_ciede2000(to_features(colours.colours, "lab"), palette_lab)
    return Quality(mse=mse, psnr=psnr, mean_delta_e=float(weights @ delta_e))
