"""Colour codes, distinct-colour counts, per-pixel lookups and the pixel table."""

import tracemalloc

import numpy as np
import pytest

from kmeans_lib import pixels
from kmeans_lib.images import Image, load_sample
from kmeans_lib.pixels import (
    CodeRows,
    codes_to_colours,
    colour_codes,
    count_colours,
    count_colours_with_index,
    map_colours,
    pixel_dataframe,
    place_opaque,
    summarize,
    take_rows,
)


def random_image(shape=(40, 50), n_colours=30, seed=0, opaque=None) -> Image:
    rng = np.random.default_rng(seed)
    palette = rng.integers(0, 256, size=(n_colours, 3), dtype=np.uint8)
    return Image(palette[rng.integers(0, n_colours, size=shape)], opaque)


def test_colour_codes_round_trip_and_order():
    colours = np.array([[0, 0, 0], [255, 255, 255], [1, 2, 3], [3, 2, 1]], dtype=np.uint8)
    codes = colour_codes(colours)
    assert codes.dtype == np.uint32
    assert codes.tolist() == [0, 0xFFFFFF, 0x010203, 0x030201]
    np.testing.assert_array_equal(codes_to_colours(codes), colours)


@pytest.mark.parametrize("block_pixels", [7, 1 << 20])
def test_count_colours_matches_numpy_unique(monkeypatch, block_pixels):
    # A tiny block size makes a small image go through many blocks.
    monkeypatch.setattr(pixels, "_BLOCK_PIXELS", block_pixels)
    image = random_image()
    expected, expected_counts = np.unique(image.pixels.reshape(-1, 3), axis=0, return_counts=True)
    counts = count_colours(image)
    np.testing.assert_array_equal(counts.colours, expected)
    np.testing.assert_array_equal(counts.counts, expected_counts)
    assert counts.n_pixels == image.pixels.shape[0] * image.pixels.shape[1]
    assert counts.n_colours == len(expected)


@pytest.mark.parametrize("rows_chunk", [3, 1 << 16])
def test_code_rows_give_each_code_its_rank_among_the_distinct_codes(monkeypatch, rows_chunk):
    monkeypatch.setattr(pixels, "_ROWS_CHUNK", rows_chunk)
    rng = np.random.default_rng(3)
    # Codes at both ends of the range, and many sharing a 64-bit word.
    codes = np.concatenate(
        [[0, pixels.N_CODES - 1], rng.integers(0, 1 << 24, 500), 64 + np.arange(40)]
    )
    rows = CodeRows.of(codes)
    distinct = np.unique(codes)
    np.testing.assert_array_equal(rows.codes(), distinct)
    assert rows.n_codes == len(distinct)
    out = np.empty(len(codes), dtype=np.int32)
    rows.rows(codes.astype(np.uint32), out=out)
    np.testing.assert_array_equal(out, np.searchsorted(distinct, codes))


def test_counting_colours_keeps_nothing_per_pixel():
    image = random_image(shape=(1600, 2000), n_colours=5000)  # 3.2 megapixels
    tracemalloc.start()
    try:
        counts = count_colours(image)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # The bitmap of colours present (1 byte per code while it is built), one
    # block of codes and two count arrays per thread: no table of 2**24 rows
    # (64 MB) and no per-pixel index (13 MB here).
    per_thread = 8 * pixels._BLOCK_PIXELS + 2 * 8 * counts.n_colours
    assert peak < pixels.N_CODES + pixels._N_THREADS * per_thread + 4_000_000
    assert counts.n_pixels == image.n_pixels


def test_count_colours_leaves_out_transparent_pixels():
    pixel_values = np.zeros((2, 3, 3), dtype=np.uint8)
    pixel_values[0, 0] = [255, 0, 0]  # the only transparent pixel has the only red
    opaque = np.ones((2, 3), dtype=bool)
    opaque[0, 0] = False
    counts = count_colours(Image(pixel_values, opaque))
    np.testing.assert_array_equal(counts.colours, [[0, 0, 0]])
    np.testing.assert_array_equal(counts.counts, [5])


@pytest.mark.parametrize("block_pixels", [5, 1 << 20])
def test_map_colours_gives_each_pixel_its_colours_value(monkeypatch, block_pixels):
    monkeypatch.setattr(pixels, "_BLOCK_PIXELS", block_pixels)
    opaque = np.random.default_rng(1).random((40, 50)) > 0.3
    image = random_image(opaque=opaque)
    counts = count_colours(image)
    values = np.arange(counts.n_colours, dtype=np.int16)
    mapped = map_colours(image, counts.colours, values, fill=-1)
    assert mapped.shape == (40, 50)
    assert mapped.dtype == np.int16
    assert (mapped[~opaque] == -1).all()
    np.testing.assert_array_equal(counts.colours[mapped[opaque]], image.pixels[opaque])


def test_pixel_dataframe_has_one_rgb_row_per_opaque_pixel():
    china = load_sample("china")
    frame = pixel_dataframe(china)
    assert list(frame.columns) == ["R", "G", "B"]
    assert frame.shape == (427 * 640, 3)  # the article's "3 columns and N rows"
    assert (frame.dtypes == np.uint8).all()
    np.testing.assert_array_equal(frame.iloc[0].to_numpy(), china.pixels[0, 0])

    opaque = np.zeros((40, 50), dtype=bool)
    opaque[:10] = True
    assert len(pixel_dataframe(random_image(opaque=opaque))) == 500


def test_summarize_counts_pixels_and_distinct_colours():
    summary = summarize(random_image(n_colours=30))
    assert summary.n_pixels == 2000
    assert summary.n_unique == 30  # 2,000 draws from 30 colours hit all of them


@pytest.mark.parametrize("block_pixels", [7, 1 << 20])
def test_pixel_index_points_each_opaque_pixel_at_its_colour(monkeypatch, block_pixels):
    monkeypatch.setattr(pixels, "_BLOCK_PIXELS", block_pixels)
    opaque = np.random.default_rng(2).random((40, 50)) > 0.3
    image = random_image(opaque=opaque)
    counts, index = count_colours_with_index(image)
    assert index.dtype == np.int32 and index.shape == (opaque.sum(),)
    np.testing.assert_array_equal(counts.colours[index], image.pixels[opaque])
    np.testing.assert_array_equal(counts.counts, count_colours(image).counts)
    placed = place_opaque(image, index, fill=-1)
    assert (placed[~opaque] == -1).all()
    np.testing.assert_array_equal(placed[opaque], index)


@pytest.mark.parametrize("block_pixels", [3, 1 << 20])
def test_take_rows_is_a_gather_along_the_first_axis(monkeypatch, block_pixels):
    # Small blocks split the 2,000 indices over every thread.
    monkeypatch.setattr(pixels, "_BLOCK_PIXELS", block_pixels)
    rng = np.random.default_rng(4)
    indices = rng.integers(-1, 7, size=(40, 50)).astype(np.int16)
    palette = rng.integers(0, 256, size=(7, 3), dtype=np.uint8)
    rows = take_rows(palette, indices)
    assert rows.shape == (40, 50, 3) and rows.dtype == np.uint8
    np.testing.assert_array_equal(rows, palette[indices])  # -1 is the last row, as in numpy
    values = rng.random(7)
    np.testing.assert_array_equal(take_rows(values, indices), values[indices])
