"""Palette export: CSV, JSON and GIMP palette (.gpl) text.

Every function takes either a :class:`Quantization` or a palette array with
its shares, so a palette can be exported without keeping the whole fit.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from kmeans_lib.clustering import Quantization
from kmeans_lib.colour_space import hex_codes
from kmeans_lib.errors import InputError


def _palette_and_shares(
    palette: Quantization | np.ndarray, shares: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Return a validated ``(palette (n, 3) uint8, shares (n,) float64)`` pair."""
    if isinstance(palette, Quantization):
        if shares is not None:
            raise InputError(
                "Give the shares only with a bare palette, not with a quantization result."
            )
        return palette.palette, palette.shares
    if shares is None:
        raise InputError("A bare palette needs its shares: one share per colour.")
    colours = np.asarray(palette)
    shares = np.asarray(shares, dtype=np.float64)
    if colours.ndim != 2 or colours.shape[1] != 3 or len(colours) == 0:
        raise InputError("A palette must list at least one colour as red, green and blue values.")
    if not np.issubdtype(colours.dtype, np.number) or np.any((colours < 0) | (colours > 255)):
        raise InputError("Palette colour values must be numbers from 0 to 255.")
    if shares.shape != (len(colours),):
        raise InputError("There must be exactly one share per palette colour.")
    if not np.all(np.isfinite(shares) & (shares >= 0)):
        raise InputError("Shares must be numbers of 0 or more.")
    return np.rint(colours).astype(np.uint8), shares


def palette_frame(
    palette: Quantization | np.ndarray, shares: np.ndarray | None = None
) -> pd.DataFrame:
    """The palette as a table with columns hex, r, g, b and share.

    Parameters
    ----------
    palette : Quantization or array of shape (n, 3)
        A quantization result, or palette colours as sRGB values 0-255.
    shares : array of shape (n,), optional
        Each colour's share of the pixels; required with a bare palette.

    Returns
    -------
    pandas.DataFrame
        One row per colour, in the palette's order.
    """
    colours, shares = _palette_and_shares(palette, shares)
    r, g, b = colours.T.astype(int)
    return pd.DataFrame(
        {
            "hex": hex_codes(colours),
            "r": r,
            "g": g,
            "b": b,
            "share": shares,
        }
    )


def palette_csv(palette: Quantization | np.ndarray, shares: np.ndarray | None = None) -> str:
    """The palette as CSV text with a header ``hex,r,g,b,share``.

    Arguments are as for :func:`palette_frame`; shares are fractions (0-1).
    """
    return palette_frame(palette, shares).to_csv(index=False, lineterminator="\n")


def palette_json(palette: Quantization | np.ndarray, shares: np.ndarray | None = None) -> str:
    """The palette as JSON: ``{"colours": [{"hex", "rgb": [r, g, b], "share"}, ...]}``.

    Arguments are as for :func:`palette_frame`; shares are fractions (0-1).
    """
    frame = palette_frame(palette, shares)
    colours = [
        {"hex": row.hex, "rgb": [int(row.r), int(row.g), int(row.b)], "share": float(row.share)}
        for row in frame.itertuples(index=False)
    ]
    return json.dumps({"colours": colours}, indent=2)


def palette_gpl(
    palette: Quantization | np.ndarray,
    shares: np.ndarray | None = None,
    *,
    name: str = "K-Means palette",
) -> str:
    """The palette as a GIMP palette (.gpl), also read by Inkscape and Krita.

    Each colour is named by its hex code and its share in percent.
    Other arguments are as for :func:`palette_frame`.
    """
    frame = palette_frame(palette, shares)
    # The format is line based: a name with a line break would corrupt the file.
    title = " ".join(str(name).split()) or "K-Means palette"
    lines = ["GIMP Palette", f"Name: {title}", "Columns: 0", "#"]
    lines += [
        f"{row.r:3d} {row.g:3d} {row.b:3d}\t{row.hex} ({row.share:.1%})"
        for row in frame.itertuples(index=False)
    ]
    return "\n".join(lines) + "\n"
