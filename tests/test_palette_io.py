"""Palette export as CSV, JSON and GIMP palette text."""

import io
import json
import re

import matplotlib as mpl
import numpy as np
import pandas as pd
import plotly.express as px
import pytest
import seaborn as sns
from PIL import Image

from kmeans_lib.clustering import quantize
from kmeans_lib.colour_space import hex_codes
from kmeans_lib.errors import InputError
from kmeans_lib.images import Image as Picture
from kmeans_lib.palette_io import (
    SNIPPET_NAMES,
    SWATCH_COLUMNS,
    SWATCH_SIZE,
    code_snippets,
    palette_csv,
    palette_frame,
    palette_gpl,
    palette_json,
    palette_swatch_png,
)

PALETTE = np.array([[255, 0, 0], [0, 128, 255], [12, 34, 56]], dtype=np.uint8)
SHARES = np.array([0.5, 0.3, 0.2])


@pytest.fixture(scope="module")
def quantization():
    # Three flat colours covering 6, 3 and 1 rows of a 10-row image.
    pixels = np.zeros((10, 4, 3), dtype=np.uint8)
    pixels[:6] = PALETTE[0]
    pixels[6:9] = PALETTE[1]
    pixels[9:] = PALETTE[2]
    return quantize(Picture(pixels), 3)


def test_csv_has_hex_rgb_and_share_of_each_colour():
    table = pd.read_csv(io.StringIO(palette_csv(PALETTE, SHARES)))
    assert list(table.columns) == ["hex", "r", "g", "b", "share"]
    assert table["hex"].tolist() == ["#ff0000", "#0080ff", "#0c2238"]
    assert table[["r", "g", "b"]].to_numpy().tolist() == PALETTE.tolist()
    assert np.allclose(table["share"], SHARES)


def test_csv_of_a_quantization_lists_its_palette_by_share(quantization):
    table = pd.read_csv(io.StringIO(palette_csv(quantization)))
    assert table["hex"].tolist() == quantization.hex_codes()
    assert np.allclose(table["share"], [0.6, 0.3, 0.1])


def test_json_lists_colours_with_hex_rgb_and_share(quantization):
    document = json.loads(palette_json(quantization))
    assert [colour["hex"] for colour in document["colours"]] == quantization.hex_codes()
    assert document["colours"][0]["rgb"] == [255, 0, 0]
    assert document["colours"][2]["share"] == pytest.approx(0.1)


def test_gpl_is_a_gimp_palette_with_one_line_per_colour():
    lines = palette_gpl(PALETTE, SHARES, name="Sunset").splitlines()
    assert lines[:4] == ["GIMP Palette", "Name: Sunset", "Columns: 0", "#"]
    colour_lines = lines[4:]
    assert len(colour_lines) == 3
    values, label = colour_lines[2].split("\t")
    assert [int(v) for v in values.split()] == [12, 34, 56]
    assert label == "#0c2238 (20.0%)"


def test_gpl_name_cannot_break_the_line_format():
    text = palette_gpl(PALETTE, SHARES, name="two\nlines\tname")
    assert text.splitlines()[1] == "Name: two lines name"


def test_palette_frame_accepts_float_palettes_and_rounds():
    frame = palette_frame(np.array([[0.4, 127.6, 255.0]]), np.array([1.0]))
    assert frame.loc[0, ["r", "g", "b"]].tolist() == [0, 128, 255]
    assert frame.loc[0, "hex"] == "#0080ff"


@pytest.mark.parametrize(
    ("palette", "shares"),
    [
        (PALETTE, None),
        (PALETTE, SHARES[:2]),
        (PALETTE[:, :2], SHARES),
        (np.empty((0, 3)), np.empty(0)),
        (np.array([[0, 0, 300]]), np.array([1.0])),
        (np.array([["a", "b", "c"]]), np.array([1.0])),
        (PALETTE, np.array([0.5, -0.1, 0.6])),
        (PALETTE, np.array([0.5, np.nan, 0.5])),
    ],
    ids=[
        "no-shares",
        "too-few-shares",
        "two-channels",
        "empty",
        "out-of-range",
        "text",
        "negative-share",
        "nan-share",
    ],
)
def test_bad_palettes_are_refused(palette, shares):
    with pytest.raises(InputError):
        palette_csv(palette, shares)


def test_shares_are_not_taken_alongside_a_quantization(quantization):
    with pytest.raises(InputError):
        palette_json(quantization, SHARES)


def test_swatch_picture_shows_each_colour_in_order():
    colours = np.vstack([PALETTE] * 3)  # 9 chips: two rows of SWATCH_COLUMNS at most
    picture = Image.open(io.BytesIO(palette_swatch_png(hex_codes(colours))))
    width, height = SWATCH_SIZE
    assert picture.size == (SWATCH_COLUMNS * width, 2 * height)
    rgb = np.asarray(picture.convert("RGB"))
    for index, colour in enumerate(colours):
        top, left = (index // SWATCH_COLUMNS) * height, (index % SWATCH_COLUMNS) * width
        # The chip's top half has no label: all of it is the colour.
        chip = rgb[top : top + height // 2, left : left + width]
        assert np.all(chip == colour), index
        # The label is drawn in the bottom half, in a colour that is not the chip's.
        label = rgb[top + height // 2 : top + height, left : left + width]
        assert np.any(np.abs(label.astype(int) - colour).sum(axis=2) > 200), index


def test_matplotlib_snippet_runs_and_sets_the_colormap_and_the_cycle():
    snippet = code_snippets(PALETTE)["matplotlib"]
    namespace: dict = {}
    with mpl.rc_context():
        exec(snippet, namespace)
        cycle = [entry["color"] for entry in mpl.rcParams["axes.prop_cycle"]]
    assert cycle == hex_codes(PALETTE)
    cmap = namespace["palette_cmap"]
    assert cmap.N == len(PALETTE)
    np.testing.assert_allclose(cmap(np.arange(len(PALETTE)))[:, :3] * 255, PALETTE, atol=1e-6)


def test_plotly_snippet_runs_and_colours_each_category():
    snippet = code_snippets(PALETTE)["plotly"]
    before = px.defaults.color_discrete_sequence
    try:
        exec(snippet, {})
        figure = px.bar(x=["a", "b", "c"], y=[1, 2, 3], color=["a", "b", "c"])
    finally:
        px.defaults.color_discrete_sequence = before
    assert [trace.marker.color for trace in figure.data] == hex_codes(PALETTE)


def test_seaborn_snippet_runs_and_sets_the_palette():
    snippet = code_snippets(PALETTE)["seaborn"]
    with mpl.rc_context():
        exec(snippet, {})
        current = sns.color_palette()
    np.testing.assert_allclose(np.array(current) * 255, PALETTE, atol=1e-6)


def test_css_snippet_names_every_colour_as_a_custom_property():
    css = code_snippets(hex_codes(PALETTE))["css"]
    properties = re.findall(r"^\s*--palette-(\d+):\s*(#[0-9a-f]{6});$", css, re.MULTILINE)
    assert properties == [(str(i), code) for i, code in enumerate(hex_codes(PALETTE), start=1)]
    assert css.startswith(":root {") and css.count("{") == css.count("}") == 1


def test_every_snippet_is_named():
    assert set(code_snippets(PALETTE)) == set(SNIPPET_NAMES)
