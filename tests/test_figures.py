"""Plotly figures: what they draw, how much, and with which labels."""

import numpy as np
import pandas as pd
import pytest

from kmeans_lib.clustering import quantize
from kmeans_lib.errors import InputError
from kmeans_lib.figures import (
    elbow_figure,
    palette_figure,
    pixel_cloud_3d,
    rgb_scatter_3d,
    silhouette_figure,
    silhouette_knife_figure,
    table_scatter_3d,
)
from kmeans_lib.images import Image
from kmeans_lib.pixels import count_colours
from kmeans_lib.selection import ElbowCurve, SilhouetteCurve, SilhouetteDetail

BLOCKS = np.array([[200, 30, 30], [30, 160, 40], [40, 50, 210]])
MAGENTA = [255, 0, 255]


def css(colours) -> list[str]:
    """The ``rgb(r,g,b)`` strings plotly is given for an (n, 3) array."""
    return [f"rgb({r},{g},{b})" for r, g, b in np.asarray(colours).tolist()]


def shown_colours(trace) -> list[str]:
    """The CSS colour each point is drawn in: its own, or its value's band on the scale."""
    colours = trace.marker.color
    if isinstance(colours[0], str):
        return list(colours)
    marker = trace.marker
    positions = (np.asarray(colours) - marker.cmin) / (marker.cmax - marker.cmin)
    stops = np.array([position for position, _ in marker.colorscale])
    bands = np.searchsorted(stops, positions, side="right") - 1
    return [marker.colorscale[band][1] for band in bands]


@pytest.fixture(scope="module")
def image() -> Image:
    """120 x 100 pixels: three noisy colour bands of 50, 30 and 20 rows."""
    rng = np.random.default_rng(0)
    rows = np.repeat(np.arange(3), [50, 30, 20])
    pixels = BLOCKS[rows][:, None, :] + rng.normal(0, 5, size=(100, 120, 3))
    return Image(np.clip(np.rint(pixels), 0, 255).astype(np.uint8))


@pytest.fixture(scope="module")
def quantization(image):
    return quantize(image, 3)


@pytest.fixture(scope="module")
def transparent_image() -> Image:
    """Red and blue halves with a magenta block that is transparent."""
    pixels = np.zeros((40, 40, 3), dtype=np.uint8)
    pixels[:, :20] = BLOCKS[0]
    pixels[:, 20:] = BLOCKS[2]
    pixels[:10, :10] = MAGENTA
    opaque = np.ones((40, 40), dtype=bool)
    opaque[:10, :10] = False
    return Image(pixels, opaque)


def is_transparent(colour: str) -> bool:
    return colour.replace(" ", "") in ("rgba(0,0,0,0)", "transparent")


# rgb_scatter_3d


def test_scatter_draws_at_most_max_points_and_states_the_true_count(image, quantization):
    figure = rgb_scatter_3d(image, quantization, max_points=500)
    assert len(figure.data) == 2
    pixels, centroids = figure.data
    assert len(pixels.x) == len(pixels.y) == len(pixels.z) == 500
    assert "Showing 500 of 12,000 pixels" in figure.layout.title.text
    assert len(centroids.x) == 3


def test_scatter_axes_are_the_fixed_rgb_cube(image, quantization):
    scene = rgb_scatter_3d(image, quantization, max_points=100).layout.scene
    for axis, title in ((scene.xaxis, "R"), (scene.yaxis, "G"), (scene.zaxis, "B")):
        assert tuple(axis.range) == (0, 255)
        assert axis.title.text == title


def test_scatter_colours_points_by_their_centroid(image, quantization):
    pixels = rgb_scatter_3d(image, quantization, max_points=1000).data[0]
    shown = np.array(shown_colours(pixels))
    assert set(shown) == set(css(quantization.palette))
    # Each point in its own cluster's colour: the nearest palette colour to it.
    xyz = np.column_stack([pixels.x, pixels.y, pixels.z]).astype(float)
    nearest = np.argmin(((xyz[:, None, :] - quantization.centroids) ** 2).sum(axis=2), axis=1)
    assert list(shown) == css(quantization.palette[nearest])


def test_scatter_can_colour_points_by_their_own_colour(image, quantization):
    pixels = rgb_scatter_3d(image, quantization, colour_by="original", max_points=300).data[0]
    own = set(css(np.column_stack([pixels.x, pixels.y, pixels.z])))
    assert set(shown_colours(pixels)) == own
    assert len(own) > len(quantization.palette)


def test_scatter_centroids_are_large_outlined_and_labelled_with_hex(image, quantization):
    centroids = rgb_scatter_3d(image, quantization, max_points=100).data[1]
    assert list(centroids.text) == quantization.hex_codes()
    assert "text" in centroids.mode
    assert centroids.marker.size > rgb_scatter_3d(image, quantization).data[0].marker.size
    assert centroids.marker.line.width > 0
    assert np.allclose(centroids.x, quantization.centroids[:, 0])


def test_scatter_samples_pixels_in_proportion_to_their_counts(image, quantization):
    pixels = rgb_scatter_3d(image, quantization, max_points=6000).data[0]
    drawn = np.array(shown_colours(pixels))
    observed = [np.mean(drawn == colour) for colour in css(quantization.palette)]
    assert np.allclose(observed, quantization.shares, atol=0.03)


def test_scatter_is_reproducible_with_a_seed(image, quantization):
    first = rgb_scatter_3d(image, quantization, max_points=200, random_state=4).data[0]
    again = rgb_scatter_3d(image, quantization, max_points=200, random_state=4).data[0]
    other = rgb_scatter_3d(image, quantization, max_points=200, random_state=5).data[0]
    assert np.array_equal(first.x, again.x) and np.array_equal(first.z, again.z)
    assert not np.array_equal(first.x, other.x)


def test_scatter_can_show_a_subset_of_clusters(image, quantization):
    figure = rgb_scatter_3d(image, quantization, clusters=[1], max_points=400)
    pixels, centroids = figure.data
    assert set(shown_colours(pixels)) == set(css(quantization.palette[[1]]))
    assert list(centroids.text) == [quantization.hex_codes()[1]]
    assert f"of {quantization.counts[1]:,} pixels" in figure.layout.title.text


def test_scatter_of_a_small_image_draws_every_pixel(transparent_image):
    q = quantize(transparent_image, 2)
    figure = rgb_scatter_3d(transparent_image, q)
    assert len(figure.data[0].x) == transparent_image.n_opaque == 1500
    assert "Showing 1,500 of 1,500 pixels" in figure.layout.title.text


def test_scatter_leaves_out_transparent_pixels(transparent_image):
    q = quantize(transparent_image, 2)
    pixels = rgb_scatter_3d(transparent_image, q, colour_by="original").data[0]
    drawn = np.column_stack([pixels.x, pixels.y, pixels.z])
    assert not np.any(np.all(drawn == MAGENTA, axis=1))


@pytest.mark.parametrize(
    "arguments",
    [
        dict(colour_by="cluster"),
        dict(max_points=0),
        dict(max_points=10**9),
        dict(clusters=[3]),
        dict(clusters=[]),
    ],
    ids=["colour-by", "no-points", "too-many-points", "unknown-cluster", "no-clusters"],
)
def test_scatter_refuses_bad_arguments(image, quantization, arguments):
    with pytest.raises(InputError):
        rgb_scatter_3d(image, quantization, **arguments)


def test_scatter_refuses_a_quantization_of_another_image(quantization, transparent_image):
    with pytest.raises(InputError, match="different image"):
        rgb_scatter_3d(transparent_image, quantization)


# elbow_figure


def elbow_curve(knee: int | None) -> ElbowCurve:
    inertia = np.array([100.0, 70.0, 40.0, 10.0, 9.0, 8.0])
    return ElbowCurve(
        ks=np.arange(1, 7),
        inertia=inertia,
        variance_explained=1 - inertia / inertia[0],
        seconds=np.full(6, 0.01),
        knee=knee,
    )


def test_elbow_figure_marks_the_knee():
    figure = elbow_figure(elbow_curve(4))
    assert len(figure.data) == 2
    line, marker = figure.data
    assert list(line.x) == [1, 2, 3, 4, 5, 6]
    assert list(marker.x) == [4] and list(marker.y) == [10.0]
    texts = [annotation.text for annotation in figure.layout.annotations]
    assert "Elbow at k = 4" in texts


def test_elbow_figure_can_show_variance_explained_in_percent():
    figure = elbow_figure(elbow_curve(4), metric="variance_explained")
    line, marker = figure.data
    assert line.y[0] == 0.0 and line.y[3] == pytest.approx(90.0)
    assert marker.y[0] == pytest.approx(90.0)
    assert "%" in figure.layout.yaxis.title.text


def test_elbow_figure_says_when_there_is_no_clear_elbow():
    figure = elbow_figure(elbow_curve(None))
    assert len(figure.data) == 1
    assert [annotation.text for annotation in figure.layout.annotations] == ["No clear elbow"]


def test_elbow_figure_refuses_an_unknown_metric():
    with pytest.raises(InputError):
        elbow_figure(elbow_curve(4), metric="silhouette")


# silhouette_figure


def test_silhouette_figure_has_error_bars_and_marks_the_best_k():
    curve = SilhouetteCurve(
        ks=np.array([2, 3, 4, 5]),
        mean=np.array([0.5, 0.7, np.nan, 0.4]),
        std=np.array([0.01, 0.02, np.nan, 0.03]),
        calinski_harabasz=np.ones(4),
        davies_bouldin=np.ones(4),
        sample_size=5000,
    )
    figure = silhouette_figure(curve)
    assert len(figure.data) == 1
    assert list(figure.data[0].error_y.array)[:2] == [0.01, 0.02]
    assert figure.data[0].error_y.visible
    assert [a.text for a in figure.layout.annotations] == ["Highest at k = 3"]
    assert "5,000 pixels" in figure.layout.title.text
    assert "5,000 rows per sample" in silhouette_figure(curve, unit="rows").layout.title.text


# silhouette_knife_figure


@pytest.fixture
def detail() -> SilhouetteDetail:
    rng = np.random.default_rng(1)
    labels = np.repeat([0, 1, 2], [50, 30, 20])
    values = rng.uniform(-0.2, 0.9, size=100)
    return SilhouetteDetail(values=values, labels=labels, mean=float(values.mean()))


def test_knife_figure_has_one_sorted_filled_band_per_cluster(detail):
    figure = silhouette_knife_figure(detail)
    assert len(figure.data) == 3
    bands = [(min(trace.y), max(trace.y)) for trace in figure.data]
    for trace, size in zip(figure.data, [50, 30, 20], strict=True):
        assert len(trace.x) == size
        assert list(trace.x) == sorted(trace.x)
        assert trace.fill == "tozerox"
    # Bands are stacked with gaps: each starts above the previous one's top.
    assert all(bands[i][1] < bands[i + 1][0] for i in range(2))


def test_knife_figure_draws_the_mean_line(detail):
    shapes = silhouette_knife_figure(detail).layout.shapes
    assert len(shapes) == 1
    assert shapes[0].x0 == shapes[0].x1 == pytest.approx(detail.mean)


def test_knife_figure_uses_the_palette_colours(detail):
    palette = np.array([[255, 0, 0], [0, 255, 0], [0, 0, 255]])
    figure = silhouette_knife_figure(detail, palette)
    assert [trace.fillcolor for trace in figure.data] == css(palette)
    # Outlined in grey, so a white or black band stays visible on either theme.
    assert {trace.line.color for trace in figure.data} == {"rgba(128,128,128,0.8)"}


def test_knife_figure_refuses_a_palette_without_every_cluster(detail):
    with pytest.raises(InputError):
        silhouette_knife_figure(detail, np.array([[255, 0, 0], [0, 255, 0]]))


# palette_figure


def test_palette_figure_stacks_one_bar_per_colour_by_share(quantization):
    figure = palette_figure(quantization)
    assert len(figure.data) == quantization.n_colours
    assert figure.layout.barmode == "stack"
    widths = [trace.x[0] for trace in figure.data]
    assert np.allclose(widths, 100 * quantization.shares)
    assert sum(widths) == pytest.approx(100.0)
    for trace, code in zip(figure.data, quantization.hex_codes(), strict=True):
        assert trace.orientation == "h"
        assert trace.marker.color == code
        assert code in trace.text[0]


# table_scatter_3d


@pytest.fixture
def table() -> pd.DataFrame:
    rng = np.random.default_rng(2)
    frame = pd.DataFrame(rng.normal(size=(300, 3)), columns=["a", "b", "c"])
    frame["kind"] = "x"
    return frame


def test_table_scatter_draws_one_trace_per_cluster(table):
    labels = np.repeat([0, 1, 2], 100)
    figure = table_scatter_3d(table, ["a", "b", "c"], labels)
    assert [trace.name for trace in figure.data] == ["Cluster 1", "Cluster 2", "Cluster 3"]
    assert sum(len(trace.x) for trace in figure.data) == 300
    assert figure.layout.scene.xaxis.title.text == "a"
    assert figure.layout.scene.zaxis.title.text == "c"
    assert "Showing 300 of 300 rows" in figure.layout.title.text


def test_table_scatter_samples_large_tables(table):
    figure = table_scatter_3d(table, ["a", "b", "c"], np.zeros(300, dtype=int), max_points=50)
    assert len(figure.data[0].x) == 50
    assert "Showing 50 of 300 rows" in figure.layout.title.text


@pytest.mark.parametrize(
    ("columns", "labels"),
    [
        (["a", "b"], np.zeros(300, dtype=int)),
        (["a", "a", "b"], np.zeros(300, dtype=int)),
        (["a", "b", "kind"], np.zeros(300, dtype=int)),
        (["a", "b", "c"], np.zeros(299, dtype=int)),
    ],
    ids=["two-columns", "repeated-column", "text-column", "label-count"],
)
def test_table_scatter_refuses_bad_arguments(table, columns, labels):
    with pytest.raises(InputError):
        table_scatter_3d(table, columns, labels)


# themes


def test_no_figure_paints_its_own_background(image, quantization, detail, table):
    figures = [
        rgb_scatter_3d(image, quantization, max_points=50),
        elbow_figure(elbow_curve(4)),
        silhouette_knife_figure(detail),
        palette_figure(quantization),
        table_scatter_3d(table, ["a", "b", "c"], np.zeros(300, dtype=int)),
    ]
    for figure in figures:
        assert is_transparent(figure.layout.paper_bgcolor)
        assert is_transparent(figure.layout.plot_bgcolor)
        # Text colour is left to the theme.
        assert figure.layout.font.color is None


def test_pixel_cloud_draws_sampled_pixels_in_their_own_colours_without_centroids(image):
    colours = count_colours(image)
    figure = pixel_cloud_3d(colours, max_points=400, random_state=1)
    (pixels,) = figure.data
    assert len(pixels.x) == 400
    assert "Showing 400 of 12,000 pixels" in figure.layout.title.text
    assert shown_colours(pixels) == css(np.column_stack([pixels.x, pixels.y, pixels.z]))
    assert tuple(figure.layout.scene.xaxis.range) == (0, 255)
    again = pixel_cloud_3d(colours, max_points=400, random_state=1).data[0]
    assert np.array_equal(pixels.x, again.x)
