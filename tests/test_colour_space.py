"""RGB and CIELAB coordinates for k-means."""

import numpy as np
import pytest

from kmeans_lib.colour_space import check_palette, hex_codes, sort_palette, to_features, to_srgb
from kmeans_lib.errors import InputError

COLOURS = np.array(
    [[0, 0, 0], [255, 255, 255], [255, 0, 0], [12, 200, 77], [128, 128, 128]], dtype=np.uint8
)


def test_rgb_features_are_the_0_to_255_values():
    features = to_features(COLOURS, "rgb")
    assert features.dtype == np.float64
    np.testing.assert_array_equal(features, COLOURS)


def test_lab_features_match_known_values():
    lab = to_features(COLOURS, "lab")
    np.testing.assert_allclose(lab[0], [0, 0, 0], atol=1e-6)
    np.testing.assert_allclose(lab[1], [100, 0, 0], atol=0.01)
    # sRGB red in CIELAB (D65): L 53.24, a 80.09, b 67.20
    np.testing.assert_allclose(lab[2], [53.24, 80.09, 67.20], atol=0.05)


@pytest.mark.parametrize("space", ["rgb", "lab"])
def test_to_srgb_undoes_to_features(space):
    np.testing.assert_allclose(to_srgb(to_features(COLOURS, space), space), COLOURS, atol=1e-6)


def test_to_srgb_clips_to_the_cube():
    out = to_srgb(np.array([[-10.0, 300.0, 20.0]]), "rgb")
    np.testing.assert_array_equal(out, [[0.0, 255.0, 20.0]])


def test_unknown_colour_space_is_a_plain_error():
    with pytest.raises(InputError, match="colour space must be 'rgb' or 'lab'"):
        to_features(COLOURS, "hsv")


def test_hex_codes_are_lowercase_rrggbb():
    assert hex_codes(COLOURS[:3]) == ["#000000", "#ffffff", "#ff0000"]


@pytest.mark.parametrize("space", ["rgb", "lab"])
def test_to_features_in_float32_rounds_the_float64_features(space):
    features = to_features(COLOURS, space, dtype=np.float32)
    assert features.dtype == np.float32
    np.testing.assert_array_equal(features, to_features(COLOURS, space).astype(np.float32))


def test_float_srgb_colours_give_the_same_features_as_uint8():
    colours = np.array([[0, 0, 0], [255, 128, 7], [12, 200, 255]], dtype=np.uint8)
    for space in ("rgb", "lab"):
        np.testing.assert_allclose(
            to_features(colours.astype(np.float64), space),
            to_features(colours, space),
            rtol=1e-12,
            atol=1e-9,
        )


# Blue (most used), light grey, red, dark green, yellow: hue, lightness and share differ.
PALETTE = np.array(
    [[30, 60, 200], [220, 220, 220], [200, 30, 30], [20, 90, 30], [240, 220, 40]], dtype=np.uint8
)
SHARES = np.array([0.4, 0.25, 0.15, 0.12, 0.08])


def test_palette_by_share_puts_the_most_used_colour_first():
    shares = np.array([0.1, 0.4, 0.2, 0.2, 0.1])
    assert sort_palette(PALETTE, shares, "share").tolist() == [1, 2, 3, 0, 4]


def test_palette_by_hue_goes_round_the_colour_wheel_with_greys_last():
    # Red, yellow, green, blue, then the grey.
    assert sort_palette(PALETTE, SHARES, "hue").tolist() == [2, 4, 3, 0, 1]


def test_palette_by_lightness_goes_from_dark_to_light():
    order = sort_palette(PALETTE, SHARES, "lightness")
    lightness = to_features(PALETTE[order], "lab")[:, 0]
    assert np.all(np.diff(lightness) > 0)
    assert order.tolist() == [3, 0, 2, 4, 1]


def test_greys_are_ordered_dark_to_light_after_the_colours():
    greys = np.array([[200, 200, 200], [255, 0, 0], [40, 40, 40]], dtype=np.uint8)
    assert sort_palette(greys, np.array([0.5, 0.2, 0.3]), "hue").tolist() == [1, 2, 0]


def test_an_unknown_order_is_a_plain_error():
    with pytest.raises(InputError, match="share, hue or lightness"):
        sort_palette(PALETTE, SHARES, "name")


def test_check_palette_reads_codes_and_values_alike():
    codes = ["#1E3CC8", "#dcdcdc"]
    np.testing.assert_array_equal(check_palette(codes), PALETTE[:2])
    np.testing.assert_array_equal(check_palette(PALETTE[:2].astype(float) + 0.2), PALETTE[:2])
