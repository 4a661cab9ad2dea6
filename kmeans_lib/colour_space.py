"""The colour spaces k-means can work in: plain RGB or CIELAB."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
from skimage.color import lab2rgb, rgb2lab

from kmeans_lib.errors import InputError
from kmeans_lib.pixels import colour_codes

COLOUR_SPACES = ("rgb", "lab")
# The orders a palette can be shown in (see sort_palette).
PALETTE_ORDERS = ("share", "hue", "lightness")
# Below this CIELAB chroma a colour reads as a grey, whose hue angle means nothing.
GREY_CHROMA = 8.0
_HEX = re.compile(r"#[0-9a-fA-F]{6}")


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


def check_palette(colours: Sequence[str] | np.ndarray, n_colours: int | None = None) -> np.ndarray:
    """Check a palette and return it as sRGB values.

    Parameters
    ----------
    colours : sequence of str, or array-like of shape (n, 3)
        Colour codes such as ``"#1f77b4"``, or red, green and blue values from
        0 to 255 (fractions are rounded).
    n_colours : int, optional
        How many colours the palette must have, such as a quantization's k.

    Returns
    -------
    ndarray of uint8, shape (n, 3)

    Raises
    ------
    InputError
        When a code is not ``#`` and six hexadecimal digits, a value is not a
        number from 0 to 255, or the palette has no colour or not ``n_colours``.
    """
    if len(colours) and all(isinstance(code, str) for code in colours):
        for code in colours:
            if not _HEX.fullmatch(code):
                raise InputError(
                    f"“{code}” is not a colour code. Write a colour as # and six "
                    "hexadecimal digits (0-9, a-f), such as #1f77b4."
                )
        values = np.array([[int(code[i : i + 2], 16) for i in (1, 3, 5)] for code in colours])
    else:
        values = np.asarray(colours)
        if values.ndim != 2 or values.shape[1] != 3 or len(values) == 0:
            raise InputError(
                "A palette must list at least one colour as red, green and blue values."
            )
        if not np.issubdtype(values.dtype, np.number) or not np.all(
            (values >= 0) & (values <= 255)
        ):
            raise InputError("Palette colour values must be numbers from 0 to 255.")
    if n_colours is not None and len(values) != n_colours:
        raise InputError(
            f"This palette needs exactly {n_colours} colour{'s' if n_colours != 1 else ''}, "
            f"one for each group of pixels; it has {len(values)}."
        )
    return np.rint(values).astype(np.uint8)


def sort_palette(palette: np.ndarray, shares: np.ndarray, by: str = "share") -> np.ndarray:
    """The order in which to show a palette's colours.

    Parameters
    ----------
    palette : ndarray of uint8, shape (n, 3)
        sRGB colours.
    shares : ndarray of float, shape (n,)
        Each colour's share of the pixels.
    by : {"share", "hue", "lightness"}, default "share"
        ``"share"``: the most used colour first. ``"hue"``: round the colour
        wheel (CIELAB hue angle: reds, yellows, greens, blues, purples), with
        greys (CIELAB chroma below :data:`GREY_CHROMA`) last, dark to light.
        ``"lightness"``: dark to light (CIELAB L*). Ties go to the larger share.

    Returns
    -------
    ndarray of int, shape (n,)
        Indices into ``palette``: ``palette[order]`` is the sorted palette.

    Raises
    ------
    InputError
        For an order not in :data:`PALETTE_ORDERS`, or shares that do not
        match the palette.
    """
    if by not in PALETTE_ORDERS:
        raise InputError(
            f"A palette can be ordered by share, hue or lightness; got {by!r}. Pick one of those."
        )
    colours = check_palette(palette)
    shares = np.asarray(shares, dtype=np.float64)
    if shares.shape != (len(colours),):
        raise InputError("There must be exactly one share per palette colour.")
    lab = to_features(colours, "lab")
    # np.lexsort sorts by the last key first.
    if by == "share":
        keys = (-shares,)
    elif by == "lightness":
        keys = (-shares, lab[:, 0])
    else:
        grey = np.hypot(lab[:, 1], lab[:, 2]) < GREY_CHROMA
        hue = np.where(grey, 0.0, np.degrees(np.arctan2(lab[:, 2], lab[:, 1])) % 360.0)
        keys = (-shares, np.where(grey, lab[:, 0], 0.0), hue, grey)
    return np.lexsort(keys)
