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
    scale : float
        The size the pictures were shown at (1 = every pixel).
    viewing : Viewing
        The screen and distance.
    """

    mean: float
    map: np.ndarray
    scale: float
    viewing: Viewing

    @property
    def ppd(self) -> float:
        """Pixels per degree the map was computed at."""
        return self.viewing.ppd


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


def _resized(pixels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """uint8 pixels (or a mask's 0/255) resized with Lanczos to ``size`` = (width, height)."""
    if (pixels.shape[1], pixels.shape[0]) == size:
        return pixels
    return np.asarray(PILImage.fromarray(pixels).resize(size, PILImage.Resampling.LANCZOS))


def as_shown(image: Image, viewing: str | Viewing = DEFAULT_VIEWING) -> Image:
    """The picture at the size it is shown at ``viewing`` (see :meth:`Viewing.scale`).

    A shown pixel is opaque when most of what it was shrunk from is.
    """
    setting = check_viewing(viewing)
    scale = setting.scale(image.width)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    opaque = None
    if image.opaque is not None:
        opaque = _resized(image.opaque.astype(np.uint8) * np.uint8(255), size) >= 128
    return Image(_resized(image.pixels, size), opaque, name=image.name)


def flip_map(reference: np.ndarray, test: np.ndarray, ppd: float) -> np.ndarray:
    """FLIP per pixel between two sRGB pictures (uint8, same shape), as flip-evaluator gives it.

    Returns
    -------
    ndarray of float32, shape (H, W)
    """
    error_map, _, _ = flip_evaluator.evaluate(
        reference.astype(np.float32) / 255,
        test.astype(np.float32) / 255,
        "LDR",
        applyMagma=False,
        computeMeanError=False,
        parameters={"ppd": ppd},
    )
    return np.asarray(error_map, dtype=np.float32).reshape(reference.shape[:2])


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
    sample = flip_sample(reference, setting)
    error_map = flip_map(sample.pixels, sample.take(test_pixels), setting.ppd)
    error_map[~sample.counted] = 0
    scale = sample.shown_size[0] / reference.width
    return FlipDifference(sample.counted_mean(error_map), error_map, scale, setting)


def reach(ppd: float) -> int:
    """Pixels beyond which a change no longer moves a pixel's FLIP value.

    FLIP's widest filters are its contrast sensitivity filter (radius
    ``3 * sqrt(0.04 / (2 pi^2)) * ppd``, about 0.135 ppd, for the blue-yellow
    channel) and its edge and point detectors (three standard deviations of
    ``0.5 * 0.082 * ppd``, 0.123 ppd); they are applied side by side, not one
    after the other. Two pixels more for rounding.
    """
    return math.ceil(0.135 * ppd) + 2


@dataclass(frozen=True)
class FlipSample:
    """The part of a picture as shown that a mean FLIP is measured on, as one picture.

    Made by :func:`flip_sample`: the whole picture, or square windows of it laid
    side by side in a grid (a mosaic), each an inner square with a margin around it.

    Attributes
    ----------
    pixels : ndarray of uint8, shape (h, w, 3)
    opaque : ndarray of bool, shape (h, w), or None
        The picture's own transparency (None: every pixel is opaque).
    counted : ndarray of bool, shape (h, w)
        The pixels the mean is taken over: opaque, and inside a window's inner square.
    ppd : float
    shown_size : tuple of (int, int)
        (width, height) of the picture as shown.
    tops, lefts : tuple of int
        Where the windows start in the picture as shown (empty: the whole picture).
    window : int
        The windows' side, margins included.
    """

    pixels: np.ndarray
    opaque: np.ndarray | None
    counted: np.ndarray
    ppd: float
    shown_size: tuple[int, int]
    tops: tuple[int, ...] = ()
    lefts: tuple[int, ...] = ()
    window: int = 0

    def take(self, picture: np.ndarray) -> np.ndarray:
        """The same pixels of another picture of the original's size (such as its redraw),
        shown at the same size."""
        shown = _resized(picture, self.shown_size)
        return _mosaic(shown, self.tops, self.lefts, self.window) if self.tops else shown

    def mean(self, test: np.ndarray) -> float:
        """The mean FLIP between this sample and ``test``, the same pixels of another
        picture (see :meth:`take`)."""
        return self.counted_mean(flip_map(self.pixels, test, self.ppd))

    def counted_mean(self, values: np.ndarray) -> float:
        """The mean of per-pixel ``values`` over the :attr:`counted` pixels (0 if none)."""
        n_counted = int(np.count_nonzero(self.counted))
        return float(values[self.counted].sum(dtype=np.float64)) / n_counted if n_counted else 0.0


# Inner squares of the windows of a flip_sample, in shown pixels.
_WINDOW_SIDE = 96


def _mosaic(values: np.ndarray, tops: tuple[int, ...], lefts: tuple[int, ...], side: int):
    """The ``side``-square windows of ``values`` at ``tops`` x ``lefts``, as one grid."""
    rows = [np.concatenate([values[t : t + side, c : c + side] for c in lefts], 1) for t in tops]
    return np.concatenate(rows)


def flip_sample(image: Image, viewing: str | Viewing, n_pixels: int | None = None) -> FlipSample:
    """Where to measure the mean FLIP of ``image`` as shown at ``viewing``, in about ``n_pixels``.

    Without ``n_pixels``, or for a picture of at most ``n_pixels`` when shown
    (or narrower than a window), the picture is measured whole. A larger one on
    a grid of windows evenly spread over it whose inner squares cover about
    ``n_pixels``, each with a margin of :func:`reach` pixels: FLIP on the mosaic
    of windows is then exactly FLIP on the whole picture at the inner squares,
    in one call of flip-evaluator (it costs tens of milliseconds per call beyond
    its pixels). The picture's outermost margin is left out of such a sample.
    """
    setting = check_viewing(viewing)
    shown = as_shown(image, setting)
    shown_size = (shown.width, shown.height)
    margin = reach(setting.ppd)
    size = _WINDOW_SIDE + 2 * margin
    if n_pixels is None or shown.n_pixels <= n_pixels or min(shown.width, shown.height) < size:
        counted = np.ones(shown.pixels.shape[:2], dtype=bool)
        if shown.opaque is not None:
            counted &= shown.opaque
        return FlipSample(shown.pixels, shown.opaque, counted, setting.ppd, shown_size)
    n_windows = max(1, round(n_pixels / _WINDOW_SIDE**2))
    across = max(1, round(math.sqrt(n_windows * shown.width / shown.height)))
    across = min(across, shown.width // size)
    down = min(max(1, round(n_windows / across)), shown.height // size)
    tops = tuple(int(t) for t in np.linspace(0, shown.height - size, down).round())
    lefts = tuple(int(c) for c in np.linspace(0, shown.width - size, across).round())
    inner = np.zeros((size, size), dtype=bool)
    inner[margin : margin + _WINDOW_SIDE, margin : margin + _WINDOW_SIDE] = True
    counted = np.tile(inner, (down, across))
    opaque = None if shown.opaque is None else _mosaic(shown.opaque, tops, lefts, size)
    if opaque is not None:
        counted &= opaque
    pixels = _mosaic(shown.pixels, tops, lefts, size)
    return FlipSample(pixels, opaque, counted, setting.ppd, shown_size, tops, lefts, size)


# Plotly's Magma (FLIP's own colour map), from black through purple and orange
# to light yellow: a scale that reads as "more" in grey print too.
_MAGMA = ("#000004", "#180f3d", "#440f76", "#721f81", "#9e2f7f",
          "#cd4071", "#f1605d", "#fd9668", "#feca8d", "#fcfdbf")  # fmt: skip


def _heat_table() -> np.ndarray:
    """The 256 colours of :func:`heat_map`, Magma's stops interpolated linearly."""
    stops = np.array([[int(c[i : i + 2], 16) for i in (1, 3, 5)] for c in _MAGMA], dtype=float)
    positions = np.linspace(0, 1, len(stops))
    levels = np.linspace(0, 1, 256)
    table = np.stack([np.interp(levels, positions, stops[:, i]) for i in range(3)], axis=1)
    return np.round(table).astype(np.uint8)


_HEAT_TABLE = _heat_table()


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
    index = np.clip(np.round(np.asarray(values) * 255), 0, 255).astype(np.uint8)
    return _HEAT_TABLE[index]
