"""Palette export: CSV, JSON, GIMP palette (.gpl), CSS and hex text, a swatch picture and code.

The file functions take either a :class:`Quantization` or a palette array with
its shares, so a palette can be exported without keeping the whole fit.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from PIL import Image as PILImage
from PIL import ImageDraw, ImageFont

from kmeans_lib.clustering import Quantization
from kmeans_lib.colour_space import check_palette, hex_codes, to_features
from kmeans_lib.errors import InputError
from kmeans_lib.images import save_png

# The swatch picture: chips of this size (pixels), this many to a row at most.
SWATCH_SIZE = (120, 90)
SWATCH_COLUMNS = 8
# Labels are dark on chips lighter than this CIELAB L*, white on darker ones.
_LIGHT_CHIP = 60.0
# The code snippets, by key: what each is for, as a tab title would name it.
SNIPPET_NAMES = {
    "matplotlib": "matplotlib",
    "plotly": "Plotly",
    "seaborn": "seaborn",
    "css": "CSS",
}
# The text formats of palette_text, by the name (and file extension) that picks one.
PALETTE_FORMATS = ("json", "csv", "gpl", "css", "hex")


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
    colours = check_palette(palette)
    shares = np.asarray(shares, dtype=np.float64)
    if shares.shape != (len(colours),):
        raise InputError("There must be exactly one share per palette colour.")
    if not np.all(np.isfinite(shares) & (shares >= 0)):
        raise InputError("Shares must be numbers of 0 or more.")
    return colours, shares


def _checked_counts(counts: np.ndarray | None, n_colours: int) -> np.ndarray | None:
    """``counts`` as int64, one per colour, or None."""
    if counts is None:
        return None
    counts = np.asarray(counts)
    if counts.shape != (n_colours,) or not np.all(counts >= 0):
        raise InputError("There must be exactly one pixel count (0 or more) per palette colour.")
    return counts.astype(np.int64)


def palette_frame(
    palette: Quantization | np.ndarray,
    shares: np.ndarray | None = None,
    *,
    counts: np.ndarray | None = None,
) -> pd.DataFrame:
    """The palette as a table with columns hex, r, g, b and share (and count).

    Parameters
    ----------
    palette : Quantization or array of shape (n, 3)
        A quantization result, or palette colours as sRGB values 0-255.
    shares : array of shape (n,), optional
        Each colour's share of the pixels; required with a bare palette.
    counts : array of int, shape (n,), optional
        Each colour's number of pixels: a last column ``count`` when given.

    Returns
    -------
    pandas.DataFrame
        One row per colour, in the palette's order.
    """
    colours, shares = _palette_and_shares(palette, shares)
    counts = _checked_counts(counts, len(colours))
    r, g, b = colours.T.astype(int)
    columns = {"hex": hex_codes(colours), "r": r, "g": g, "b": b, "share": shares}
    if counts is not None:
        columns["count"] = counts
    return pd.DataFrame(columns)


def palette_csv(
    palette: Quantization | np.ndarray,
    shares: np.ndarray | None = None,
    *,
    counts: np.ndarray | None = None,
) -> str:
    """The palette as CSV text with a header ``hex,r,g,b,share`` (``,count`` with counts).

    Arguments are as for :func:`palette_frame`; shares are fractions (0-1).
    """
    return palette_frame(palette, shares, counts=counts).to_csv(index=False, lineterminator="\n")


def palette_colours(
    palette: Quantization | np.ndarray,
    shares: np.ndarray | None = None,
    *,
    counts: np.ndarray | None = None,
) -> list[dict]:
    """The palette as plain data: ``[{"hex", "rgb": [r, g, b], "share"(, "count")}, ...]``.

    Arguments are as for :func:`palette_frame`; ready for ``json.dumps``.
    """
    frame = palette_frame(palette, shares, counts=counts)
    colours = []
    for row in frame.itertuples(index=False):
        colour = {"hex": row.hex, "rgb": [int(row.r), int(row.g), int(row.b)]}
        colour["share"] = float(row.share)
        if counts is not None:
            colour["count"] = int(row.count)
        colours.append(colour)
    return colours


def palette_json(
    palette: Quantization | np.ndarray,
    shares: np.ndarray | None = None,
    *,
    counts: np.ndarray | None = None,
) -> str:
    """The palette as JSON: ``{"colours": [{"hex", "rgb": [r, g, b], "share"}, ...]}``.

    Arguments are as for :func:`palette_frame`; shares are fractions (0-1). With
    ``counts`` each colour also has its ``count`` of pixels.
    """
    return json.dumps({"colours": palette_colours(palette, shares, counts=counts)}, indent=2)


def palette_text(
    format: str,
    palette: Quantization | np.ndarray,
    shares: np.ndarray | None = None,
    *,
    counts: np.ndarray | None = None,
    name: str = "K-Means palette",
) -> str:
    """The palette as the text of a file in one of :data:`PALETTE_FORMATS`.

    Parameters
    ----------
    format : {"json", "csv", "gpl", "css", "hex"}
        ``"css"``: custom properties ``--palette-1`` and so on (as
        :func:`code_snippets` writes them); ``"hex"``: one ``#rrggbb`` code a line.
    palette, shares, counts
        As for :func:`palette_frame`; counts go into JSON and CSV.
    name : str, default "K-Means palette"
        The palette's name in a GIMP palette.

    Returns
    -------
    str
    """
    if format not in PALETTE_FORMATS:
        raise InputError(
            f"A palette can be written as {', '.join(PALETTE_FORMATS)}; got {format!r}. "
            "Pick one of those."
        )
    if format == "json":
        return palette_json(palette, shares, counts=counts) + "\n"
    if format == "csv":
        return palette_csv(palette, shares, counts=counts)
    if format == "gpl":
        return palette_gpl(palette, shares, name=name)
    colours, _ = _palette_and_shares(palette, shares)
    if format == "css":
        return code_snippets(colours)["css"]
    return "".join(code + "\n" for code in hex_codes(colours))


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


def palette_swatch_png(palette: np.ndarray | list[str]) -> bytes:
    """The palette as a picture: one chip per colour, labelled with its hex code.

    Parameters
    ----------
    palette : array of shape (n, 3), or list of colour codes
        In the order to show, at most :data:`SWATCH_COLUMNS` chips to a row.

    Returns
    -------
    bytes
        A PNG of chips of :data:`SWATCH_SIZE` pixels each.
    """
    colours = check_palette(palette)
    width, height = SWATCH_SIZE
    n_columns = min(len(colours), SWATCH_COLUMNS)
    n_rows = -(-len(colours) // n_columns)
    picture = PILImage.new("RGB", (n_columns * width, n_rows * height), "white")
    draw = ImageDraw.Draw(picture)
    font = ImageFont.load_default(size=16)
    lightness = to_features(colours, "lab")[:, 0]
    for index, (colour, code) in enumerate(zip(colours, hex_codes(colours), strict=True)):
        left, top = (index % n_columns) * width, (index // n_columns) * height
        draw.rectangle((left, top, left + width - 1, top + height - 1), fill=tuple(colour))
        ink = (20, 20, 20) if lightness[index] > _LIGHT_CHIP else (250, 250, 250)
        draw.text((left + width / 2, top + height - 8), code, fill=ink, font=font, anchor="md")
    return save_png(picture)


def code_snippets(palette: np.ndarray | list[str]) -> dict[str, str]:
    """Ready-to-run code that makes a palette the colours of a chart library or a web page.

    Parameters
    ----------
    palette : array of shape (n, 3), or list of colour codes
        In the order the colours should be used.

    Returns
    -------
    dict of str to str
        By the keys of :data:`SNIPPET_NAMES`: ``"matplotlib"`` (a
        ``ListedColormap`` and the property cycle of every new plot), ``"plotly"``
        (Plotly Express's ``color_discrete_sequence``), ``"seaborn"``
        (``set_palette``) and ``"css"`` (custom properties ``--palette-1`` and so on).
    """
    codes = hex_codes(check_palette(palette))
    listed = "palette = [" + ", ".join(f'"{code}"' for code in codes) + "]"
    css_lines = "\n".join(f"  --palette-{i}: {code};" for i, code in enumerate(codes, start=1))
    return {
        "matplotlib": f"""import matplotlib as mpl
from cycler import cycler
from matplotlib.colors import ListedColormap

{listed}
# A colormap for images and heat maps: plt.imshow(data, cmap=palette_cmap)
palette_cmap = ListedColormap(palette, name="k-means palette")
# The colours, in turn, of the lines, bars and points of every new plot
mpl.rcParams["axes.prop_cycle"] = cycler(color=palette)
""",
        "plotly": f"""import plotly.express as px

{listed}
# Every Plotly Express chart from now on; or pass color_discrete_sequence=palette to one chart
px.defaults.color_discrete_sequence = palette
""",
        "seaborn": f"""import seaborn as sns

{listed}
# The colours of every seaborn (and matplotlib) plot from now on
sns.set_palette(palette)
""",
        "css": f""":root {{
{css_lines}
}}
/* Use them as: color: var(--palette-1); */
""",
    }
