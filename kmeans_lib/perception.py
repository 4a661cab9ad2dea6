"""How visible the difference between a picture and its redraw is, at a viewing distance.

Per-pixel measures (PSNR, mean ΔE) treat every pixel on its own; the eye blurs
fine detail at a distance, so a dithered redraw that mixes two colours in a
fine pattern looks closer than it measures, and small pictures seen from afar
hide differences that are plain up close. FLIP (Andersson et al., "FLIP: A
Difference Evaluator for Alternating Images", HPG 2020) models that: it filters
both pictures by the eye's contrast sensitivity at a given number of pixels per
degree of visual angle (ppd), compares colours in a perceptual space, adds edge
and point differences, and gives each pixel a value from 0 (no visible
difference when flipping between the two) to 1. This module runs NVIDIA's own
implementation (the ``flip-evaluator`` package) on the pictures at the size
they would be seen.

Viewings
--------
Each preset is a screen, given in the CSS pixels a web browser lays pages out
in, its width in metres, and a distance. Its ppd is FLIP's own formula,
``distance * pixels_per_metre * pi / 180``. The picture is shown fitted to the
screen's width, never enlarged (at most 1:1): a picture wider than the screen
is shrunk (Lanczos, both pictures alike) to the screen's width before FLIP
runs, which also keeps a 12-megapixel photo's map to the size of a screen.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import flip_evaluator
import numpy as np
from PIL import Image as PILImage

from kmeans_lib.errors import InputError
from kmeans_lib.images import Image


@dataclass(frozen=True)
class Viewing:
    """A screen seen from a distance.

    Attributes
    ----------
    label : str
        How people say it, such as "laptop at 50 cm".
    distance_m : float
        From the eye to the screen, in metres.
    screen_px : int
        The screen's width in CSS pixels (what a browser fits a picture to).
    screen_m : float
        The screen's width in metres.
    """

    label: str
    distance_m: float
    screen_px: int
    screen_m: float

    @property
    def ppd(self) -> float:
        """Pixels per degree of visual angle, by FLIP's formula."""
        return self.distance_m * (self.screen_px / self.screen_m) * math.pi / 180

    def scale(self, width: int) -> float:
        """The size a picture ``width`` pixels wide is shown at: fitted to the
        screen's width, at most 1:1."""
        return min(1.0, self.screen_px / width)


VIEWINGS = {
    # A 6.1-inch phone held upright: 390 CSS pixels over 6.4 cm.
    "phone": Viewing("phone at 30 cm", 0.30, 390, 0.064),
    # A 14-inch laptop: 1,440 CSS pixels over 30 cm.
    "laptop": Viewing("laptop at 50 cm", 0.50, 1440, 0.30),
    # A 24-inch Full HD monitor: 1,920 pixels over 53 cm.
    "monitor": Viewing("monitor at 70 cm", 0.70, 1920, 0.53),
    # A poster 1 m wide printed from 2,000 pixels across, seen across a room.
    "poster": Viewing("poster across a room (2 m)", 2.0, 2000, 1.0),
}
DEFAULT_VIEWING = "laptop"


@dataclass(frozen=True)
class FlipDifference:
    """The result of :func:`flip_difference`.

    Attributes
    ----------
    mean : float
        The mean FLIP value over the opaque pixels: 0 = no visible difference,
        1 = as different as can be.
    map : ndarray of float32, shape (h, w)
        FLIP per pixel of the pictures as shown (0 where transparent).
    ppd : float
        Pixels per degree the map was computed at.
    scale : float
        The size the pictures were shown at (1 = every pixel).
    viewing : Viewing
        The screen and distance.
    """

    mean: float
    map: np.ndarray
    ppd: float
    scale: float
    viewing: Viewing


def check_viewing(viewing: str | Viewing) -> Viewing:
    """``viewing`` itself, or the preset it names; an :class:`InputError` naming the choices."""
    if isinstance(viewing, Viewing):
        # flip-evaluator ends the process on a ppd that is not positive.
        if not min(viewing.distance_m, viewing.screen_px, viewing.screen_m) > 0:
            raise InputError(
                "A viewing's distance, screen width in pixels and screen width in metres "
                f"must all be positive; got {viewing.distance_m}, {viewing.screen_px} and "
                f"{viewing.screen_m}."
            )
        return viewing
    if not isinstance(viewing, str) or viewing not in VIEWINGS:
        names = ", ".join(VIEWINGS)
        raise InputError(f"The viewing distance must be one of {names}; got {viewing!r}.")
    return VIEWINGS[viewing]


def _as_shown(pixels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Pixels (or a mask's 0/255) resized (Lanczos) to ``size`` = (width, height), as floats 0-1."""
    if (pixels.shape[1], pixels.shape[0]) != size:
        pixels = np.asarray(PILImage.fromarray(pixels).resize(size, PILImage.Resampling.LANCZOS))
    return pixels.astype(np.float32) / 255


def flip_difference(
    reference: Image, test: np.ndarray | Image, viewing: str | Viewing = DEFAULT_VIEWING
) -> FlipDifference:
    """The FLIP difference between a picture and another of the same size, as seen.

    Parameters
    ----------
    reference : Image
        The original picture; its transparent pixels do not count.
    test : ndarray of uint8, shape (H, W, 3), or Image
        The redraw (for example :func:`~kmeans_lib.rendering.redraw`), the same
        size as ``reference``.
    viewing : {"phone", "laptop", "monitor", "poster"} or Viewing, default "laptop"
        The screen and distance: a preset of :data:`VIEWINGS` or one of your own.

    Returns
    -------
    FlipDifference
    """
    setting = check_viewing(viewing)
    test_pixels = test.pixels if isinstance(test, Image) else test
    if not (
        isinstance(test_pixels, np.ndarray)
        and test_pixels.dtype == np.uint8
        and test_pixels.shape == reference.pixels.shape
    ):
        raise InputError(
            "The two pictures must have the same size to be compared: "
            f"{reference.pixels.shape[:2]} and {getattr(test_pixels, 'shape', None)}."
        )
    scale = setting.scale(reference.width)
    size = (
        max(1, round(reference.width * scale)),
        max(1, round(reference.height * scale)),
    )
    error_map, _, _ = flip_evaluator.evaluate(
        _as_shown(reference.pixels, size),
        _as_shown(test_pixels, size),
        "LDR",
        applyMagma=False,
        computeMeanError=False,
        parameters={"ppd": setting.ppd},
    )
    error_map = np.asarray(error_map, dtype=np.float32).reshape(size[1], size[0])
    if reference.opaque is not None:
        # A shown pixel counts when most of what it was shrunk from is opaque.
        opaque = _as_shown(reference.opaque.astype(np.uint8) * 255, size) >= 0.5
        error_map[~opaque] = 0
        n_counted = int(np.count_nonzero(opaque))
    else:
        n_counted = error_map.size
    mean = float(error_map.sum(dtype=np.float64) / n_counted) if n_counted else 0.0
    return FlipDifference(mean, error_map, setting.ppd, scale, setting)


# Plotly's Magma (FLIP's own colour map), from black through purple and orange
# to light yellow: a scale that reads as "more" in grey print too.
_MAGMA = ("#000004", "#180f3d", "#440f76", "#721f81", "#9e2f7f",
          "#cd4071", "#f1605d", "#fd9668", "#feca8d", "#fcfdbf")  # fmt: skip


def heat_map(values: np.ndarray) -> np.ndarray:
    """FLIP values as an RGB picture: black = no visible difference, light yellow = 1.

    Parameters
    ----------
    values : ndarray of float, shape (h, w)
        Such as :attr:`FlipDifference.map`; values outside 0-1 are clipped.

    Returns
    -------
    ndarray of uint8, shape (h, w, 3)
    """
    stops = np.array([[int(c[i : i + 2], 16) for i in (1, 3, 5)] for c in _MAGMA], dtype=float)
    positions = np.linspace(0, 1, len(stops))
    levels = np.linspace(0, 1, 256)
    table = np.stack([np.interp(levels, positions, stops[:, i]) for i in range(3)], axis=1)
    table = np.round(table).astype(np.uint8)
    index = np.clip(np.round(np.asarray(values) * 255), 0, 255).astype(np.uint8)
    return table[index]
