"""The animated step-by-step figures: frames, controls and size."""

import numpy as np
import plotly.io as pio
import pytest

from kmeans_lib import step_figures
from kmeans_lib.clustering import WeightedPoints, image_points
from kmeans_lib.errors import InputError
from kmeans_lib.images import load_sample, resize_to_fit
from kmeans_lib.pixels import count_colours
from kmeans_lib.step_figures import kmeans_steps_2d, kmeans_steps_3d
from kmeans_lib.steps import record_kmeans

MAX_FIGURE_BYTES = 3_000_000


@pytest.fixture(scope="module")
def china():
    return load_sample("china")


def cube(china, space="rgb", k=8, **options):
    points = image_points(count_colours(china), space)
    steps = record_kmeans(points, k, **options)
    return steps, kmeans_steps_3d(steps, points, resize_to_fit(china, 320), space)


def test_one_frame_per_half_step_and_a_slider_stop_per_step(china):
    steps, figure = cube(china, max_steps=6)
    names = [frame.name for frame in figure.frames]
    assert names[0] == "step 0" and len(names) == 2 * steps.n_steps + 1
    assert names[1:3] == ["join 1", "step 1"]
    # A step's frame carries every changing trace; a join frame only the points and marker.
    assert figure.frames[2].traces == (0, 1, 2, 3, 5)
    assert figure.frames[1].traces == (0, 5)
    slider = figure.layout.sliders[0]
    assert [stop.args[0][0] for stop in slider.steps] == [f"step {i}" for i in range(7)]
    play, pause = figure.layout.updatemenus[0].buttons
    assert play.label == "▶ Play" and play.args[1]["frame"]["duration"] == 500
    assert list(pause.args[0]) == [None]


def test_frames_show_each_steps_centres_groups_and_picture(china):
    steps, figure = cube(china, max_steps=6)
    last = figure.frames[-1]
    centres = np.column_stack([last.data[2].x, last.data[2].y, last.data[2].z])
    np.testing.assert_allclose(centres, steps.centers[-1])
    np.testing.assert_array_equal(figure.frames[1].data[0].marker.color, steps.sample_labels[0])
    assert figure.frames[0].data[3].source != last.data[3].source
    assert last.layout.title.text.startswith("<b>Step 6 of 6</b>")
    # The inertia marker sits on the line at the frame's half-step.
    join = figure.frames[3]  # "join 2": the points and the marker
    assert (join.data[1].x[0], join.data[1].y[0]) == pytest.approx((1.5, steps.joined_inertia[1]))


@pytest.mark.parametrize(("space", "k"), [("rgb", 8), ("lab", 64)])
def test_figure_stays_under_3_mb(china, space, k):
    steps, figure = cube(china, space, k)
    assert steps.n_steps == 50  # the page's limit: the most frames
    assert len(pio.to_json(figure, validate=False).encode()) < MAX_FIGURE_BYTES


def test_lab_axes_are_l_a_b(china):
    _, figure = cube(china, "lab", 3, max_steps=2)
    assert [figure.layout.scene[f"{axis}axis"].title.text for axis in "xyz"] == ["L*", "a*", "b*"]


def test_pictures_shrink_to_their_budget(china, monkeypatch):
    steps, figure = cube(china, max_steps=3)
    monkeypatch.setattr(step_figures, "PICTURES_BUDGET", 20_000)
    small = step_figures._picture_uris(resize_to_fit(china, 320), steps.centers, "rgb")
    assert sum(map(len, small)) < sum(len(frame.data[3].source) for frame in figure.frames[::2])


def test_table_in_two_dimensions():
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(centre, 0.5, size=(50, 2)) for centre in (0, 4)])
    points = WeightedPoints(X=X, weights=np.ones(len(X)))
    steps = record_kmeans(points, 2, random_state=1)
    figure = kmeans_steps_2d(steps, points, ["width", "height"])
    assert (figure.layout.xaxis.title.text, figure.layout.yaxis.title.text) == ("width", "height")
    assert len(figure.frames) == 2 * steps.n_steps + 1
    assert "rows" in figure.frames[2].layout.title.text
    with pytest.raises(InputError, match="two columns"):
        kmeans_steps_2d(steps, points, ["width"])
