"""Animated figures of a recorded k-means run: play, pause and a step slider in the browser.

Each frame is one half-step: every point joins its nearest centre (points change
colour, centres stay), then every centre moves to its group's average (centres
move, points stay). Frame 0 shows the starting centres. The frames carry only
what changes (``traces=``), so the figure's JSON stays small; each frame holds
the whole state of those traces, so the slider can jump to any frame.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from kmeans_lib.clustering import WeightedPoints
from kmeans_lib.colour_space import check_colour_space, hex_codes, to_srgb
from kmeans_lib.errors import InputError
from kmeans_lib.figures import (
    _EDGE,
    _TRANSPARENT,
    _column_title,
    _stepped_scale,
    _text_colours,
)
from kmeans_lib.images import Image, resize_to_fit
from kmeans_lib.rendering import painted_pngs
from kmeans_lib.selection import check_whole_number
from kmeans_lib.steps import KMeansSteps, step_sentence

DEFAULT_FRAME_MS = 500  # about 2 frames a second
# A trail keeps at most this many positions in all, split between the centres:
# each frame carries its trails, and 64 centres' full trails over 50 steps
# would make the figure several megabytes.
TRAIL_POINTS = 400
# Bytes of all the step pictures, so that the figure stays under 3 MB.
PICTURES_BUDGET = 1_200_000
_GREY = "rgba(150,150,150,0.6)"
_TRAIL = "rgba(128,128,128,0.45)"
_UNSET = "rgba(0,0,0,0)"
_AXES = {"rgb": ("R", "G", "B"), "lab": ("L*", "a*", "b*")}
JOIN = "Every point joins its nearest centre"
MOVE = "Every centre moves to its group's average"


def _trail(centers: np.ndarray, step: int, keep: int) -> list[np.ndarray]:
    """Coordinates (one array per axis) of each centre's last ``keep`` positions, gaps between."""
    path = centers[max(0, step - keep + 1) : step + 1]  # (steps, k, d)
    k, d = path.shape[1], path.shape[2]
    with_gaps = np.full((k, len(path) + 1, d), np.nan, dtype=np.float32)
    with_gaps[:, :-1] = path.transpose(1, 0, 2)
    flat = with_gaps.reshape(-1, d)
    return [flat[:, j] for j in range(d)]


def _axes(values: np.ndarray, names: Sequence[str]) -> dict[str, np.ndarray]:
    """Trace coordinates x, y (and z) from the columns of ``values``."""
    return dict(zip(("x", "y", "z"), (values[:, j] for j in range(len(names))), strict=False))


def _ranges(values: np.ndarray) -> list[list[float]]:
    """A fixed range per column, with a margin, so the axes stay put while the centres move."""
    low, high = np.nanmin(values, axis=0), np.nanmax(values, axis=0)
    margin = np.maximum((high - low) * 0.05, 1e-9)
    return [[float(a), float(b)] for a, b in zip(low - margin, high + margin, strict=True)]


def _frame_states(steps: KMeansSteps, unit: str) -> list[tuple[str, int, int, str]]:
    """(name, centres index, labels index or -1, title) for every frame.

    The frame of step ``i`` is named ``"step i"``: the one where the centres
    have moved. Before it comes ``"join i"``, where the points join the centres
    of step ``i - 1``.
    """
    n = steps.n_steps
    start = step_sentence(steps, 0, unit)
    start = start.removeprefix("Step 0: ")
    states = [("step 0", 0, -1, f"<b>Step 0 of {n}</b>: the starting centres<br>{start}")]
    for step in range(1, n + 1):
        sentence = step_sentence(steps, step, unit)
        first = sentence.split(";")[0] + ("." if ";" in sentence else "")
        title = f"<b>Step {step} of {n}</b>: "
        states.append((f"join {step}", step - 1, step - 1, f"{title}{JOIN.lower()}<br>{first}"))
        states.append((f"step {step}", step, step - 1, f"{title}{MOVE.lower()}<br>{sentence}"))
    return states


def _controls(figure: go.Figure, steps: KMeansSteps, ms: int) -> None:
    """Play and pause buttons and a step slider, all run by plotly in the browser.

    Play runs through every frame, both halves of each step; the slider has one
    stop per step and follows the play at each step's second half.
    """
    animate = dict(mode="immediate", transition=dict(duration=0))
    play = dict(frame=dict(duration=ms, redraw=True), fromcurrent=True, **animate)
    pause = dict(frame=dict(duration=0, redraw=False), **animate)
    stride = max(1, int(np.ceil(steps.n_steps / 10)))
    labels = [
        str(step) if step % stride == 0 or step == steps.n_steps else ""
        for step in range(steps.n_steps + 1)
    ]
    figure.update_layout(
        updatemenus=[
            dict(
                type="buttons",
                direction="left",
                showactive=False,
                x=0,
                y=-0.08,
                xanchor="left",
                yanchor="top",
                pad=dict(t=45, r=10),
                buttons=[
                    dict(label="▶ Play", method="animate", args=[None, play]),
                    dict(label="❚❚ Pause", method="animate", args=[[None], pause]),
                ],
            )
        ],
        sliders=[
            dict(
                active=0,
                x=0.2,
                len=0.8,
                y=-0.08,
                yanchor="top",
                pad=dict(t=30),
                currentvalue=dict(visible=False),
                steps=[
                    dict(
                        method="animate",
                        label=label,
                        args=[
                            [f"step {step}"],
                            dict(frame=dict(duration=0, redraw=True), **animate),
                        ],
                    )
                    for step, label in enumerate(labels)
                ],
            )
        ],
    )


def _inertia_traces(steps: KMeansSteps) -> tuple[go.Scatter, np.ndarray, np.ndarray]:
    """The inertia after every half-step as a line, and its x and y values."""
    x = np.arange(1, 2 * steps.n_steps + 1) / 2
    y = np.column_stack([steps.joined_inertia, steps.inertia]).ravel()
    line = go.Scatter(
        x=x,
        y=y,
        mode="lines+markers",
        name="Inertia",
        marker=dict(size=4),
        hovertemplate="step %{x}: inertia %{y:,.4s}<extra></extra>",
        showlegend=False,
    )
    return line, x, y


def _animate(
    figure: go.Figure,
    steps: KMeansSteps,
    state: Callable[[int, int, int, bool], dict[int, dict]],
    unit: str,
    frame_ms: int,
) -> go.Figure:
    """Add the frames and the controls.

    ``state(frame, centre step, label step, full)`` gives the traces that
    change, by index. A step's frame carries them all (``full``), so the slider
    can jump to it; the join frame before it, reached only by playing on from
    the step before, carries just the points and the inertia marker.
    """
    states = _frame_states(steps, unit)
    frames = []
    for frame, (name, centre_step, label_step, title) in enumerate(states):
        traces = state(frame, centre_step, label_step, not name.startswith("join"))
        # Plain dicts: the figure validates them once (go.Frame objects would be
        # validated, then copied and validated again).
        frames.append(
            dict(
                name=name,
                data=list(traces.values()),
                traces=list(traces),
                layout=dict(title=dict(text=title)),
            )
        )
    figure.frames = frames
    figure.update_layout(
        title=dict(text=states[0][3], font=dict(size=15)),
        margin=dict(l=10, r=10, t=80, b=120),
        showlegend=False,
    )
    _controls(figure, steps, frame_ms)
    return figure


def _marker(x: np.ndarray, y: np.ndarray, frame: int) -> dict:
    """The current half-step's point on the inertia line (none at frame 0)."""
    if frame == 0:
        return dict(x=[], y=[])
    return dict(x=[x[frame - 1]], y=[y[frame - 1]])


def _picture_uris(image: Image, centers: np.ndarray, colour_space: str) -> list[str]:
    """The picture painted with each step's centres, as PNG data URIs.

    Shrunk (once) when they would take more than :data:`PICTURES_BUDGET` bytes:
    many colours and many steps make many large PNGs.
    """
    pngs = painted_pngs(image, centers, colour_space)
    total = sum(map(len, pngs)) * 4 / 3  # base64
    if total > PICTURES_BUDGET:
        side = max(image.width, image.height) * np.sqrt(PICTURES_BUDGET / total)
        pngs = painted_pngs(resize_to_fit(image, int(side)), centers, colour_space)
    return ["data:image/png;base64," + base64.b64encode(png).decode("ascii") for png in pngs]


def _check(steps: KMeansSteps, points: WeightedPoints, frame_ms: int) -> np.ndarray:
    """The sampled points' coordinates, after checking that they belong to ``steps``."""
    if points.X.shape[1] != steps.centers.shape[2] or steps.sample.max() >= points.n_points:
        raise InputError("This k-means recording was made on other points. Record it again.")
    check_whole_number(frame_ms, "The time per frame (ms)", 50, 10_000)
    return points.X[steps.sample].astype(np.float32)


def kmeans_steps_3d(
    steps: KMeansSteps,
    points: WeightedPoints,
    image: Image,
    colour_space: str = "rgb",
    *,
    frame_ms: int = DEFAULT_FRAME_MS,
) -> go.Figure:
    """A picture's k-means run, animated: the colour cube, the picture and the inertia.

    Parameters
    ----------
    steps : KMeansSteps
        Recorded on ``points``.
    points : WeightedPoints
        The picture's colours (:func:`~kmeans_lib.clustering.image_points`).
    image : Image
        A small copy of the picture (about 320 px), redrawn at every step with
        that step's centres.
    colour_space : {"rgb", "lab"}, default "rgb"
        The space of ``points``: the cube's axes are R, G, B or L*, a*, b*.
    frame_ms : int, default 500
        Milliseconds per frame when playing.

    Returns
    -------
    plotly.graph_objects.Figure
        The cube (sampled pixels in their own colours at step 0, then in
        their group's centre's colour; the centres as large outlined markers
        with faint trails), the picture at this step
        and the inertia by step, with one frame per half-step, play and pause
        buttons and a step slider.
    """
    check_colour_space(colour_space)
    xyz = _check(steps, points, frame_ms)
    names = _AXES[colour_space]
    keep = max(2, TRAIL_POINTS // steps.n_clusters)
    # Hex codes: half the bytes of rgb() strings.
    srgb = [np.rint(to_srgb(centres, colour_space)).astype(np.uint8) for centres in steps.centers]
    palettes = [hex_codes(colours) for colours in srgb]
    # Black or white outlines, whichever stands out from each centre's own colour.
    outlines = [_text_colours(colours) for colours in srgb]
    uris = _picture_uris(image, steps.centers, colour_space)
    labels = steps.sample_labels.astype(np.int8 if steps.n_clusters < 128 else np.int16)
    line, x, y = _inertia_traces(steps)

    # Before they join a centre, the pixels show in their own colours.
    own = hex_codes(np.rint(to_srgb(xyz, colour_space)).astype(np.uint8))

    def state(frame: int, centre_step: int, label_step: int, full: bool) -> dict[int, dict]:
        palette = palettes[centre_step]
        points_marker = dict(color=own if label_step < 0 else labels[label_step])
        if full:  # a join frame keeps the colour scale of the step before it
            points_marker.update(_stepped_scale(palette))
        traces = {0: dict(type="scatter3d", marker=points_marker)}
        if full:
            trail = np.column_stack(_trail(steps.centers, centre_step, keep))
            traces[1] = dict(type="scatter3d", **_axes(trail, names))
            traces[2] = dict(
                type="scatter3d",
                **_axes(steps.centers[centre_step], names),
                marker=dict(
                    size=12, color=palette, line=dict(color=outlines[centre_step], width=6)
                ),
            )
            traces[3] = dict(type="image", source=uris[centre_step])
        traces[5] = dict(type="scatter", **_marker(x, y, frame))
        return traces

    figure = make_subplots(
        rows=2,
        cols=2,
        column_widths=[0.64, 0.36],
        row_heights=[0.55, 0.45],
        specs=[[{"type": "scene", "rowspan": 2}, {"type": "xy"}], [None, {"type": "xy"}]],
        horizontal_spacing=0.04,
        vertical_spacing=0.1,
    )
    figure.update_layout(paper_bgcolor=_TRANSPARENT, plot_bgcolor=_TRANSPARENT)
    first = state(0, 0, -1, True)
    hover = f"{names[0]} %{{x:.0f}}, {names[1]} %{{y:.0f}}, {names[2]} %{{z:.0f}}<extra></extra>"
    pixels = dict(
        **_axes(xyz, names),
        mode="markers",
        name="Pixels",
        hovertemplate=hover,
        marker=dict(size=2, **first[0]["marker"]),
    )
    for index, extra, (row, col) in (
        (0, pixels, (1, 1)),
        (1, dict(mode="lines", name="Trails", line=dict(color=_TRAIL, width=4)), (1, 1)),
        (2, dict(mode="markers", name="Centres", hoverinfo="skip"), (1, 1)),
        (3, dict(name="The picture", hoverinfo="skip"), (1, 2)),
        (4, None, (2, 2)),
        (5, dict(mode="markers", marker=dict(size=12, color="crimson"), hoverinfo="skip"), (2, 2)),
    ):
        figure.add_trace(line if extra is None else {**first[index], **extra}, row=row, col=col)
    cube = np.vstack([xyz, steps.centers.reshape(-1, 3)])
    ranges = [[0, 255]] * 3 if colour_space == "rgb" else _ranges(cube)
    figure.update_scenes(
        **{
            f"{axis}axis": dict(title=name, range=span, autorange=False)
            for axis, name, span in zip("xyz", names, ranges, strict=True)
        },
        aspectmode="cube",
    )
    figure.update_xaxes(visible=False, row=1, col=2)
    figure.update_yaxes(visible=False, row=1, col=2)
    figure.update_xaxes(title="Step", row=2, col=2)
    figure.update_yaxes(title="Inertia", row=2, col=2)
    figure.update_layout(height=540)
    return _animate(figure, steps, state, "pixels", frame_ms)


def kmeans_steps_2d(
    steps: KMeansSteps,
    points: WeightedPoints,
    columns: Sequence[str],
    *,
    frame_ms: int = DEFAULT_FRAME_MS,
) -> go.Figure:
    """A table's k-means run on two columns, animated: the classic picture of k-means.

    Parameters
    ----------
    steps : KMeansSteps
        Recorded on ``points``.
    points : WeightedPoints
        The table's rows on two columns (as scaled for clustering).
    columns : sequence of 2 str
        The two columns' names, for the axes.
    frame_ms : int, default 500

    Returns
    -------
    plotly.graph_objects.Figure
        The rows coloured by group, the centres as large outlined crosses with
        faint trails, and the inertia by step, with one frame per half-step,
        play and pause buttons and a step slider.
    """
    columns = [str(name) for name in columns]
    if len(columns) != 2 or points.X.shape[1] != 2:
        raise InputError("Choose two columns for the animation.")
    xy = _check(steps, points, frame_ms)
    keep = max(2, TRAIL_POINTS // steps.n_clusters)
    group_colours = [
        qualitative.Dark24[group % len(qualitative.Dark24)] for group in range(steps.n_clusters)
    ]
    scale = _stepped_scale(group_colours)
    labels = steps.sample_labels.astype(np.int8 if steps.n_clusters < 128 else np.int16)
    groups = np.arange(steps.n_clusters, dtype=labels.dtype)
    line, x, y = _inertia_traces(steps)

    def state(frame: int, centre_step: int, label_step: int, full: bool) -> dict[int, dict]:
        points_marker = dict(color=_GREY if label_step < 0 else labels[label_step], **scale)
        traces = {0: dict(type="scatter", marker=points_marker)}
        if full:
            trail = np.column_stack(_trail(steps.centers, centre_step, keep))
            traces[1] = dict(type="scatter", **_axes(trail, columns))
            traces[2] = dict(type="scatter", **_axes(steps.centers[centre_step], columns))
        traces[4] = dict(type="scatter", **_marker(x, y, frame))
        return traces

    figure = make_subplots(rows=1, cols=2, column_widths=[0.62, 0.38], horizontal_spacing=0.1)
    figure.update_layout(paper_bgcolor=_TRANSPARENT, plot_bgcolor=_TRANSPARENT)
    first = state(0, 0, -1, True)
    across, up = (_column_title(name) for name in columns)
    hover = f"{across} %{{x:.3g}}, {up} %{{y:.3g}}<extra></extra>"
    centres = dict(size=18, symbol="x", color=groups, **scale, line=dict(color=_EDGE, width=2))
    for index, extra, col in (
        (
            0,
            dict(
                **_axes(xy, columns),
                mode="markers",
                name="Rows",
                hovertemplate=hover,
                marker=dict(size=7, **first[0]["marker"]),
            ),
            1,
        ),
        (1, dict(mode="lines", name="Trails", line=dict(color=_TRAIL, width=3)), 1),
        (2, dict(mode="markers", name="Centres", marker=centres, hoverinfo="skip"), 1),
        (3, None, 2),
        (4, dict(mode="markers", marker=dict(size=12, color="crimson"), hoverinfo="skip"), 2),
    ):
        figure.add_trace(line if extra is None else {**first[index], **extra}, row=1, col=col)
    plane = _ranges(np.vstack([xy, steps.centers.reshape(-1, 2)]))
    figure.update_xaxes(title=across, range=plane[0], autorange=False, row=1, col=1)
    figure.update_yaxes(title=up, range=plane[1], autorange=False, row=1, col=1)
    figure.update_xaxes(title="Step", row=1, col=2)
    figure.update_yaxes(title="Inertia", row=1, col=2)
    figure.update_layout(height=520)
    return _animate(figure, steps, state, "rows", frame_ms)
