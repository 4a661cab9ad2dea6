"""Plotly figures for the dashboard, returned and never shown.

No figure sets a background colour or a font colour of its own: backgrounds are
transparent and text follows the template, so the figures read well in light
and dark themes alike.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from kmeans_lib.clustering import Quantization
from kmeans_lib.errors import InputError
from kmeans_lib.escape import plotly_text
from kmeans_lib.images import Image
from kmeans_lib.methods import MethodResult
from kmeans_lib.pixels import ColourCounts
from kmeans_lib.selection import (
    ElbowCurve,
    SilhouetteCurve,
    SilhouetteDetail,
    check_whole_number,
    sample_points,
)
from kmeans_lib.tabular import numeric_columns

COLOUR_BY = ("centroid", "original")
ELBOW_METRICS = ("inertia", "variance_explained")
# More points than this make a 3D scatter sluggish in the browser.
MAX_SCATTER_POINTS = 200_000
_TRANSPARENT = "rgba(0,0,0,0)"
# A mid grey edge stays visible against white, black and the colour itself.
_EDGE = "rgba(128,128,128,0.8)"
_K_AXIS = "Number of clusters (k)"
# Most characters of a table's column name shown as an axis title.
AXIS_TITLE_CHARS = 60


def _figure(title: str) -> go.Figure:
    """An empty figure with a title and transparent backgrounds."""
    figure = go.Figure()
    figure.update_layout(
        title=title,
        paper_bgcolor=_TRANSPARENT,
        plot_bgcolor=_TRANSPARENT,
        margin=dict(l=10, r=10, t=60, b=10),
    )
    return figure


def _column_title(name: object) -> str:
    """A table's column name as an axis title or hover label: shown as written, not as markup."""
    return plotly_text(name, AXIS_TITLE_CHARS)


def _css_colours(colours: np.ndarray) -> list[str]:
    """``rgb(r,g,b)`` strings for an (n, 3) array of 0-255 values."""
    return [f"rgb({r},{g},{b})" for r, g, b in np.rint(colours).astype(int).tolist()]


def _palette_scale(palette: np.ndarray) -> dict:
    """Marker options that draw value ``i`` (0 to n-1) in palette colour ``i``.

    Points coloured by a number on this stepped scale spare plotly checking one
    colour string per point, which took about a second for 20,000 points.
    """
    return _stepped_scale(_css_colours(palette))


def _stepped_scale(colours: Sequence[str]) -> dict:
    """Marker options that draw value ``i`` in CSS colour ``colours[i]``."""
    n = len(colours)
    scale = []
    for i, colour in enumerate(colours):
        scale += [[i / n, colour], [(i + 1) / n, colour]]
    return dict(colorscale=scale, cmin=-0.5, cmax=n - 0.5, showscale=False)


def _text_colours(colours: np.ndarray) -> list[str]:
    """Black or white, whichever reads better on each (n, 3) background colour."""
    # Rec. 709 luma on 0-255 values; the midpoint splits light from dark.
    luma = np.asarray(colours, dtype=np.float64) @ np.array([0.2126, 0.7152, 0.0722])
    return ["black" if value > 140 else "white" for value in luma]


def _xyz(values: np.ndarray) -> dict[str, np.ndarray]:
    """Scatter3d coordinates from the three columns of an (n, 3) array."""
    return dict(x=values[:, 0], y=values[:, 1], z=values[:, 2])


def _showing(n_shown: int, n_total: int, unit: str) -> str:
    return f"Showing {n_shown:,} of {n_total:,} {unit}"


def _check_choice(value: str, choices: tuple[str, ...], what: str) -> None:
    if value not in choices:
        raise InputError(f"Unknown {what} {value!r}. Choose one of: {', '.join(choices)}.")


def rgb_scatter_3d(
    image: Image,
    quantization: Quantization,
    *,
    colour_by: str = "centroid",
    max_points: int = 20_000,
    clusters: Sequence[int] | None = None,
    random_state: int = 0,
) -> go.Figure:
    """Pixels in the RGB cube with the cluster centroids.

    Parameters
    ----------
    image : Image
        The image that ``quantization`` was made from.
    quantization : Quantization
    colour_by : {"centroid", "original"}, default "centroid"
        Colour each pixel by its cluster's palette colour or by its own colour.
    max_points : int, default 20,000
        Most pixels drawn (1 to 200,000), sampled uniformly from the opaque
        pixels, so colours appear in proportion to their pixel counts.
    clusters : sequence of int, optional
        Palette indices of the clusters to show; all when None.
    random_state : int, default 0
        Seed of the pixel sample.

    Returns
    -------
    plotly.graph_objects.Figure
        A pixel trace and a centroid trace (large outlined markers labelled
        with hex codes); the title states how many pixels are drawn out of the
        true total.
    """
    if quantization.size != (image.width, image.height):
        raise InputError(
            "This colour result was made from a different image. Run the quantization again."
        )
    _check_choice(colour_by, COLOUR_BY, "colouring")
    max_points = check_whole_number(max_points, "The number of points", 1, MAX_SCATTER_POINTS)
    colours = quantization.colours
    if clusters is None:
        shown = np.arange(quantization.n_colours)
    else:
        shown = np.unique(np.asarray(list(clusters)))
        if len(shown) == 0 or not np.isin(shown, np.arange(quantization.n_colours)).all():
            raise InputError(
                f"Choose clusters by their numbers, from 0 to {quantization.n_colours - 1}."
            )
    # Pixels outside the chosen clusters get weight 0, so they are never drawn.
    weights = np.where(np.isin(quantization.colour_labels, shown), colours.counts, 0)
    index = sample_points(weights, max_points, random_state=random_state)
    xyz = colours.colours[index]
    labels = quantization.colour_labels[index]
    if colour_by == "original":
        colouring = dict(color=_css_colours(xyz))
    else:
        colouring = dict(color=labels, **_palette_scale(quantization.palette))
    hex_codes = np.asarray(quantization.hex_codes())

    unit = "pixels" if clusters is None else "pixels in the chosen clusters"
    figure = _figure(_showing(len(index), int(weights.sum()), unit))
    figure.add_trace(
        go.Scatter3d(
            **_xyz(xyz),
            mode="markers",
            name="Pixels",
            marker=dict(size=2, **colouring),
            customdata=hex_codes[labels],
            hovertemplate="R %{x}, G %{y}, B %{z}<br>cluster %{customdata}<extra></extra>",
        )
    )
    centroids = quantization.centroids[shown]
    figure.add_trace(
        go.Scatter3d(
            **_xyz(centroids),
            mode="markers+text",
            name="Centroids",
            text=hex_codes[shown],
            textposition="top center",
            marker=dict(
                size=12,
                color=_css_colours(quantization.palette[shown]),
                line=dict(color=_text_colours(quantization.palette[shown]), width=4),
            ),
            hovertemplate="centroid %{text}<extra></extra>",
        )
    )
    return _rgb_cube(figure)


def _rgb_cube(figure: go.Figure) -> go.Figure:
    """Give a 3D figure the fixed RGB cube (0-255 on R, G and B) as its scene."""
    axis = dict(range=[0, 255], autorange=False)
    figure.update_layout(
        scene=dict(
            xaxis=dict(title="R", **axis),
            yaxis=dict(title="G", **axis),
            zaxis=dict(title="B", **axis),
            aspectmode="cube",
        ),
        legend=dict(itemsizing="constant"),
    )
    return figure


def pixel_cloud_3d(
    colours: ColourCounts, *, max_points: int = 5_000, random_state: int = 0
) -> go.Figure:
    """Pixels in the RGB cube in their own colours, before any clustering.

    Parameters
    ----------
    colours : ColourCounts
        The picture's distinct colours and their pixel counts.
    max_points : int, default 5,000
        Most pixels drawn (1 to 200,000), sampled in proportion to the counts.
    random_state : int, default 0
        Seed of the pixel sample.

    Returns
    -------
    plotly.graph_objects.Figure
        One trace of pixels; the title states how many are drawn out of all.
    """
    max_points = check_whole_number(max_points, "The number of points", 1, MAX_SCATTER_POINTS)
    index = sample_points(colours.counts, max_points, random_state=random_state)
    xyz = colours.colours[index]
    figure = _figure(_showing(len(index), colours.n_pixels, "pixels"))
    figure.add_trace(
        go.Scatter3d(
            **_xyz(xyz),
            mode="markers",
            name="Pixels",
            marker=dict(size=2, color=_css_colours(xyz)),
            hovertemplate="R %{x}, G %{y}, B %{z}<extra></extra>",
        )
    )
    return _rgb_cube(figure)


def elbow_figure(curve: ElbowCurve, *, metric: str = "inertia") -> go.Figure:
    """Inertia or variance explained against k, with the knee marked.

    Parameters
    ----------
    curve : ElbowCurve
    metric : {"inertia", "variance_explained"}, default "inertia"

    Returns
    -------
    plotly.graph_objects.Figure
        The curve, plus a marker and an "Elbow at k = N" note at the knee (or
        a "No clear elbow" note).
    """
    _check_choice(metric, ELBOW_METRICS, "metric")
    if metric == "inertia":
        y, label = curve.inertia, "Inertia (sum of squared distances)"
    else:
        y, label = 100.0 * curve.variance_explained, "Variance explained (%)"
    figure = _figure("Elbow method")
    figure.add_trace(go.Scatter(x=curve.ks, y=y, mode="lines+markers", name=label))
    if curve.knee is not None and curve.knee in curve.ks:
        y_knee = float(y[np.flatnonzero(curve.ks == curve.knee)[0]])
        figure.add_trace(
            go.Scatter(
                x=[curve.knee],
                y=[y_knee],
                mode="markers",
                name="Elbow",
                marker=dict(size=18, symbol="circle-open", line=dict(width=3)),
            )
        )
        figure.add_annotation(
            x=curve.knee, y=y_knee, text=f"Elbow at k = {curve.knee}", ax=40, ay=-40
        )
    else:
        figure.add_annotation(
            text="No clear elbow", x=0.98, y=0.95, xref="paper", yref="paper", showarrow=False
        )
    figure.update_layout(xaxis_title=_K_AXIS, yaxis_title=label, showlegend=False)
    return figure


def silhouette_figure(curve: SilhouetteCurve, *, unit: str = "pixels") -> go.Figure:
    """Mean silhouette against k, error bars for its spread over samples.

    The highest mean is marked; k values that could not be scored are gaps.
    ``unit`` names what was sampled in the title: "pixels", or "rows" for a table.
    """
    figure = _figure(f"Silhouette by k ({curve.sample_size:,} {unit} per sample)")
    figure.add_trace(
        go.Scatter(
            x=curve.ks,
            y=curve.mean,
            error_y=dict(type="data", array=curve.std, visible=True),
            mode="lines+markers",
            name="Mean silhouette",
        )
    )
    if np.isfinite(curve.mean).any():
        best = int(np.nanargmax(curve.mean))
        figure.add_annotation(
            x=curve.ks[best],
            y=curve.mean[best],
            text=f"Highest at k = {curve.ks[best]}",
            ax=40,
            ay=-40,
        )
    figure.update_layout(
        xaxis_title=_K_AXIS, yaxis_title="Silhouette (-1 to 1, higher is better)", showlegend=False
    )
    return figure


def silhouette_knife_figure(
    detail: SilhouetteDetail, palette: np.ndarray | None = None
) -> go.Figure:
    """The classic per-cluster silhouette plot.

    Parameters
    ----------
    detail : SilhouetteDetail
    palette : ndarray, shape (n_clusters, 3), optional
        sRGB colour (0-255) of each cluster label; the template's colours when
        None.

    Returns
    -------
    plotly.graph_objects.Figure
        One filled trace per cluster (values sorted within it, stacked
        vertically with gaps) and a dashed line at the mean.
    """
    clusters = np.unique(detail.labels)
    if palette is not None and (np.ndim(palette) != 2 or len(palette) <= clusters.max()):
        raise InputError("The palette needs one colour for every cluster in the silhouette.")
    figure = _figure("Silhouette of each sampled pixel, by cluster")
    gap = max(2, len(detail.values) // 50)
    bottom = 0
    ticks = []
    for cluster in clusters:
        values = np.sort(detail.values[detail.labels == cluster])
        rows = bottom + np.arange(len(values))
        colour = None if palette is None else _css_colours(np.asarray(palette)[[cluster]])[0]
        # A palette colour gets a grey outline: near-white or near-black bands
        # would otherwise vanish into a light or dark theme's background.
        outline = colour if palette is None else _EDGE
        figure.add_trace(
            go.Scatter(
                x=values,
                y=rows,
                mode="lines",
                fill="tozerox",
                name=f"Cluster {cluster + 1}",
                line=dict(width=0.5 if palette is None else 1, color=outline),
                fillcolor=colour,
                hovertemplate=f"Cluster {cluster + 1}: %{{x:.2f}}<extra></extra>",
            )
        )
        ticks.append(bottom + len(values) / 2)
        bottom += len(values) + gap
    figure.add_vline(x=detail.mean, line_dash="dash", annotation_text=f"Mean {detail.mean:.2f}")
    figure.update_layout(
        xaxis=dict(title="Silhouette", range=[min(-0.1, detail.values.min() - 0.05), 1.0]),
        yaxis=dict(
            title="Cluster",
            tickvals=ticks,
            ticktext=[str(cluster + 1) for cluster in clusters],
            showgrid=False,
        ),
        showlegend=False,
    )
    return figure


def palette_figure(quantization: Quantization) -> go.Figure:
    """The palette as one horizontal bar, each colour as wide as its share.

    Returns
    -------
    plotly.graph_objects.Figure
        One bar trace per colour, labelled with its hex code and share.
    """
    hex_codes = quantization.hex_codes()
    text_colours = _text_colours(quantization.palette)
    figure = _figure(f"Palette of {quantization.n_colours} colours by share of pixels")
    for code, share, count, text_colour in zip(
        hex_codes, quantization.shares, quantization.counts, text_colours, strict=True
    ):
        figure.add_trace(
            go.Bar(
                x=[100.0 * share],
                y=["palette"],
                orientation="h",
                name=code,
                marker=dict(color=code, line=dict(color=_EDGE, width=0.5)),
                text=[f"{code}<br>{share:.1%}"],
                textposition="inside",
                insidetextanchor="middle",
                textfont=dict(color=text_colour),
                hovertemplate=f"{code}: {share:.1%} of pixels ({count:,})<extra></extra>",
            )
        )
    figure.update_layout(
        barmode="stack",
        showlegend=False,
        height=200,
        xaxis=dict(title="Share of pixels (%)", range=[0, 100]),
        yaxis=dict(visible=False),
        # Labels of bars too thin to hold them are hidden rather than shrunk.
        uniformtext=dict(minsize=9, mode="hide"),
    )
    return figure


def table_scatter_3d(
    frame: pd.DataFrame,
    columns: Sequence[str],
    labels: np.ndarray,
    *,
    max_points: int = 20_000,
    random_state: int = 0,
) -> go.Figure:
    """Table rows as points on three numeric columns, coloured by cluster.

    Parameters
    ----------
    frame : pandas.DataFrame
        The rows that were clustered (for example ``frame.loc[prepared.index]``).
    columns : sequence of 3 str
        Numeric columns for the x, y and z axes, in their own units.
    labels : ndarray of int, shape (len(frame),)
        Cluster of each row.
    max_points : int, default 20,000
        Most rows drawn (1 to 200,000), sampled uniformly.
    random_state : int, default 0
        Seed of the row sample.

    Returns
    -------
    plotly.graph_objects.Figure
        One trace per cluster.
    """
    columns = list(columns)
    if len(columns) != 3 or len(set(columns)) != 3:
        raise InputError("Choose three different columns for the three axes.")
    not_numeric = [name for name in columns if name not in numeric_columns(frame)]
    if not_numeric:
        raise InputError(f"These columns do not hold numbers: {', '.join(map(str, not_numeric))}.")
    labels = np.asarray(labels)
    if labels.shape != (len(frame),):
        raise InputError("There must be one cluster label per table row. Run the clustering again.")
    max_points = check_whole_number(max_points, "The number of points", 1, MAX_SCATTER_POINTS)
    index = sample_points(np.ones(len(frame)), max_points, random_state=random_state)
    values = frame[columns].to_numpy(dtype=np.float64)[index]
    labels = labels[index]
    figure = _figure(_showing(len(index), len(frame), "rows"))
    for cluster in np.unique(labels):
        rows = values[labels == cluster]
        figure.add_trace(
            go.Scatter3d(
                **_xyz(rows),
                mode="markers",
                name=f"Cluster {cluster + 1}",
                marker=dict(size=3),
            )
        )
    figure.update_layout(
        scene=dict(
            xaxis_title=_column_title(columns[0]),
            yaxis_title=_column_title(columns[1]),
            zaxis_title=_column_title(columns[2]),
        ),
        legend=dict(itemsizing="constant"),
    )
    return figure


def methods_figure(results: Sequence[MethodResult]) -> go.Figure:
    """PSNR against time for each method that ran, one labelled marker each.

    Time is on a log axis: the methods span from hundredths of a second to seconds.
    """
    ran = [result for result in results if result.ok]
    figure = _figure("Quality against time")
    figure.add_trace(
        go.Scatter(
            x=[result.seconds for result in ran],
            y=[result.quality.psnr for result in ran],
            mode="markers+text",
            text=[result.name for result in ran],
            textposition="top center",
            customdata=[[result.quality.mean_delta_e, result.flip] for result in ran],
            marker=dict(size=12, line=dict(width=1, color=_EDGE)),
            hovertemplate="%{text}<br>%{y:.2f} dB, mean ΔE %{customdata[0]:.2f}, "
            "visible difference (FLIP) %{customdata[1]:.3f}, %{x:.2f} s<extra></extra>",
        )
    )
    figure.update_layout(
        xaxis_title="Time to compute (seconds, log scale)",
        yaxis_title="PSNR (dB): higher is closer to the original",
        xaxis_type="log",
        showlegend=False,
    )
    return figure
