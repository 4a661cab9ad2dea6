"""Image segmentation: each cluster of a quantization is a region of the picture.

The regions come from the clusters' labels alone, so looking at them, or at one
pixel and its cluster, never refits anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image as PILImage
from skimage.color import deltaE_ciede2000

from kmeans_lib.clustering import Quantization
from kmeans_lib.colour_space import to_features
from kmeans_lib.errors import InputError
from kmeans_lib.images import Image
from kmeans_lib.rendering import check_match

# How far the pixels of clusters that are not chosen go from grey towards white.
FADE = 0.75
# Upper bounds of CIEDE2000 differences and how they look (the usual reading
# of the scale: about 1 is the smallest difference people notice).
DELTA_E_WORDS = (
    (1.0, "too small to see"),
    (2.0, "visible only when you look closely"),
    (10.0, "visible at a glance"),
    (50.0, "clearly a different colour"),
    (np.inf, "a very different colour"),
)


@dataclass(frozen=True)
class PixelInfo:
    """One pixel of a quantized picture and the palette colour it was given.

    Attributes
    ----------
    x, y : int
        Column and row in the picture the quantization was fitted on.
    colour : ndarray of uint8, shape (3,)
        The pixel's own sRGB colour.
    cluster : int
        Its palette index.
    palette_colour : ndarray of uint8, shape (3,)
        The colour its cluster is painted in.
    delta_e : float
        CIEDE2000 difference between ``colour`` and ``palette_colour``.
    """

    x: int
    y: int
    colour: np.ndarray
    cluster: int
    palette_colour: np.ndarray
    delta_e: float

    @property
    def delta_e_words(self) -> str:
        """How large ``delta_e`` looks, in a few plain words (see :func:`delta_e_words`)."""
        return delta_e_words(self.delta_e)


def delta_e_words(delta_e: float) -> str:
    """A CIEDE2000 difference in plain words, such as "visible at a glance"."""
    return next(words for bound, words in DELTA_E_WORDS if delta_e < bound)


def _check_chosen(chosen: Sequence[int]) -> np.ndarray:
    values = np.asarray(list(chosen))
    if values.size and (not np.issubdtype(values.dtype, np.integer) or values.min() < 0):
        raise InputError("Choose groups by their numbers in the palette: whole numbers from 0 up.")
    return values.astype(np.intp)


def cluster_mask(labels: np.ndarray, chosen: Sequence[int]) -> np.ndarray:
    """Where the pixels of the chosen clusters are.

    Parameters
    ----------
    labels : ndarray of int, shape (H, W)
        Each pixel's palette index, -1 where transparent (as
        :attr:`~kmeans_lib.clustering.Quantization.labels`).
    chosen : sequence of int
        Palette indices.

    Returns
    -------
    ndarray of bool, shape (H, W)
        True exactly at the pixels whose cluster is chosen.
    """
    return np.isin(labels, _check_chosen(chosen))


def segment_view(
    image: Image, labels: np.ndarray, chosen: Sequence[int], *, fade: float = FADE
) -> np.ndarray:
    """The chosen clusters' pixels in their own colours, every other pixel faded.

    Parameters
    ----------
    image : Image
        The picture, or a shrunk copy of it with ``labels`` of its own (such as
        :func:`~kmeans_lib.rendering.nearest_labels` gives).
    labels : ndarray of int, shape (H, W)
        Each pixel's palette index.
    chosen : sequence of int
        Palette indices of the clusters to show.
    fade : float, default FADE
        From 0 (the others in grey) to 1 (the others white).

    Returns
    -------
    ndarray of uint8, shape (H, W, 3)
    """
    if labels.shape != (image.height, image.width):
        raise InputError(
            "These groups were worked out for a picture of another size. Group this picture again."
        )
    if not 0.0 <= fade <= 1.0:
        raise InputError(f"The fading must be between 0 and 1; got {fade!r}.")
    grey = np.asarray(PILImage.fromarray(image.pixels).convert("L"))
    lut = np.rint(np.arange(256) * (1.0 - fade) + 255.0 * fade).astype(np.uint8)
    view = np.repeat(lut[grey][:, :, None], 3, axis=2)
    mask = cluster_mask(labels, chosen)
    view[mask] = image.pixels[mask]
    return view


def full_resolution_point(
    x: float, y: float, shown_size: tuple[float, float], full_size: tuple[int, int]
) -> tuple[int, int]:
    """The pixel of the full picture under a point of a scaled copy of it.

    Parameters
    ----------
    x, y : float
        The point on the shown copy, from its top left corner.
    shown_size : (float, float)
        Width and height the copy is shown at.
    full_size : (int, int)
        Width and height of the full picture.

    Returns
    -------
    (int, int)
        Column and row in the full picture: the pixel under the middle of the
        shown pixel at ``(x, y)``.

    Raises
    ------
    InputError
        When a size is not positive or the point lies outside the shown copy.
    """
    shown_width, shown_height = shown_size
    width, height = full_size
    if min(shown_width, shown_height, width, height) <= 0:
        raise InputError("The picture must be shown with a width and height above 0.")
    if not (0 <= x <= shown_width and 0 <= y <= shown_height):
        raise InputError(
            f"The point ({x:g}, {y:g}) is outside the {shown_width:g} × {shown_height:g} picture "
            "shown. Click on the picture itself."
        )
    column = min(int((x + 0.5) * width / shown_width), width - 1)
    row = min(int((y + 0.5) * height / shown_height), height - 1)
    return column, row


def pixel_at(image: Image, quantization: Quantization, x: int, y: int) -> PixelInfo:
    """The pixel at column ``x``, row ``y``, its cluster and how far its palette colour is.

    Parameters
    ----------
    image : Image
        The picture ``quantization`` was fitted on.
    quantization : Quantization
        Its palette may be recoloured (:func:`~kmeans_lib.clustering.recolour`):
        the palette colour is the one shown.
    x, y : int

    Returns
    -------
    PixelInfo

    Raises
    ------
    InputError
        When the point is outside the picture or the pixel is transparent.
    """
    check_match(image, quantization)
    if not (0 <= x < image.width and 0 <= y < image.height):
        raise InputError(
            f"The pixel ({x}, {y}) is outside this {image.width} × {image.height} picture."
        )
    if image.opaque is not None and not image.opaque[y, x]:
        raise InputError(
            "This pixel is transparent, so it belongs to no group. "
            "Click a visible part of the picture."
        )
    colour = image.pixels[y, x]
    # The pixel's colour among the distinct ones gives its cluster: the whole
    # label map would be worked out for one pixel.
    row = np.flatnonzero((quantization.colours.colours == colour).all(axis=1))[0]
    cluster = int(quantization.colour_labels[row])
    palette_colour = quantization.palette[cluster]
    lab = to_features(np.stack([colour, palette_colour]), "lab")
    return PixelInfo(
        x=x,
        y=y,
        colour=colour.copy(),
        cluster=cluster,
        palette_colour=palette_colour.copy(),
        delta_e=float(deltaE_ciede2000(lab[0], lab[1])),
    )
