"""Tests of kmeans_lib.rendering: the redrawn array, PNG and palette-PNG bytes, file sizes."""

from __future__ import annotations

import gc
import io
import tracemalloc
import weakref
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image as PILImage

from kmeans_lib import pixels
from kmeans_lib.clustering import quantize, recolour
from kmeans_lib.colour_space import hex_codes, to_features
from kmeans_lib.errors import InputError
from kmeans_lib.images import Image, encode_png, load_image, load_sample
from kmeans_lib.rendering import (
    BandedPngSize,
    FileSizes,
    file_sizes,
    full_size_png,
    indexed_png,
    nearest_labels,
    paint,
    painted_labels_png,
    painted_png,
    png_size,
    redraw,
    redraw_png,
)

RNG = np.random.default_rng(3)
PIXELS = RNG.integers(0, 256, size=(20, 30, 3), dtype=np.uint8)
OPAQUE = RNG.random((20, 30)) > 0.3


def decoded(png: bytes) -> PILImage.Image:
    """The PNG opened and decoded by Pillow."""
    im = PILImage.open(io.BytesIO(png))
    im.load()
    assert im.format == "PNG"
    return im


def png_bit_depth(png: bytes) -> int:
    """The bit depth field of the PNG's IHDR chunk."""
    return png[24]


@pytest.fixture(scope="module")
def opaque_case() -> tuple[Image, object]:
    image = Image(pixels=PIXELS)
    return image, quantize(image, 5)


@pytest.fixture(scope="module")
def transparent_case() -> tuple[Image, object]:
    image = Image(pixels=PIXELS, opaque=OPAQUE)
    return image, quantize(image, 4)


def test_redraw_paints_each_pixel_with_its_palette_colour(transparent_case):
    image, q = transparent_case
    out = redraw(image, q)
    assert out.shape == (20, 30, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out[OPAQUE], q.palette[q.labels[OPAQUE]])
    assert len(np.unique(out[OPAQUE], axis=0)) == q.n_colours


def test_redraw_reproduces_an_image_with_no_more_colours_than_k():
    colours = np.array([[250, 0, 0], [0, 120, 0], [10, 20, 200]], np.uint8)
    image = Image(pixels=colours[RNG.integers(0, 3, (8, 9))])
    np.testing.assert_array_equal(redraw(image, quantize(image, 5)), image.pixels)


def test_redraw_of_a_single_colour_image_with_k_1_is_that_colour():
    image = Image(pixels=np.full((6, 7, 3), (12, 34, 56), np.uint8))
    np.testing.assert_array_equal(redraw(image, quantize(image, 1)), image.pixels)


def test_redraw_of_a_large_image_makes_no_full_size_temporary_but_its_label_map():
    image = Image(pixels=np.tile(PIXELS[:4, :5], (400, 400, 1)))  # 1600 x 2000 = 3.2 MP
    q = quantize(image, 6)
    tracemalloc.start()
    try:
        out = redraw(image, q)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # The result, the label map it is painted from (int16, worked out on the
    # spot: a quantization keeps none), the bitmap of the colours present (a
    # byte per code of all 2**24 while it is built) and one block of 2**20
    # int64 indices per thread; nothing more.
    label_map, present = 2 * image.n_pixels, pixels.N_CODES
    blocks = pixels._N_THREADS * 8 * (1 << 20)
    assert peak < out.nbytes + label_map + present + blocks + 1_000_000
    np.testing.assert_array_equal(out, q.palette[q.labels])


def test_redraw_png_is_rgb_for_an_opaque_image(opaque_case):
    image, q = opaque_case
    im = decoded(redraw_png(image, q))
    assert im.mode == "RGB"
    np.testing.assert_array_equal(np.asarray(im), redraw(image, q))


def test_redraw_png_keeps_transparent_pixels_transparent(transparent_case):
    image, q = transparent_case
    rgba = np.asarray(decoded(redraw_png(image, q)))
    assert rgba.shape == (20, 30, 4)
    np.testing.assert_array_equal(rgba[..., 3], np.where(OPAQUE, 255, 0))
    np.testing.assert_array_equal(rgba[OPAQUE, :3], redraw(image, q)[OPAQUE])


def test_indexed_png_has_exactly_the_palette_and_decodes_to_the_redraw(opaque_case):
    image, q = opaque_case
    png = indexed_png(image, q)
    im = decoded(png)
    assert im.mode == "P" and "transparency" not in im.info
    np.testing.assert_array_equal(np.reshape(im.getpalette(), (-1, 3)), q.palette)
    np.testing.assert_array_equal(np.asarray(im), q.labels)
    assert png_bit_depth(png) == 4  # 5 colours fit in 4 bits per pixel


@pytest.mark.parametrize(("k", "bits"), [(2, 1), (4, 2), (16, 4), (17, 8)])
def test_indexed_png_packs_few_colours_into_few_bits(k, bits):
    image = Image(pixels=PIXELS)
    assert png_bit_depth(indexed_png(image, quantize(image, k))) == bits


def test_indexed_png_adds_one_transparent_entry(transparent_case):
    image, q = transparent_case
    im = decoded(indexed_png(image, q))
    assert im.mode == "P" and im.info["transparency"] == q.n_colours
    palette = np.reshape(im.getpalette(), (-1, 3))
    assert len(palette) == q.n_colours + 1
    np.testing.assert_array_equal(palette[: q.n_colours], q.palette)
    np.testing.assert_array_equal(np.asarray(im), np.where(OPAQUE, q.labels, q.n_colours))


def test_indexed_png_loads_back_as_the_redraw(transparent_case):
    image, q = transparent_case
    back = load_image(indexed_png(image, q))
    np.testing.assert_array_equal(back.opaque, OPAQUE)
    np.testing.assert_array_equal(back.pixels[OPAQUE], redraw(image, q)[OPAQUE])


def test_indexed_png_with_256_colours_and_transparency_is_refused_plainly():
    codes = np.arange(16 * 17)
    pixels = np.stack([codes % 256, codes * 7 % 256, codes // 256 * 100], -1).astype(np.uint8)
    opaque = np.ones(16 * 17, bool)
    opaque[-3:] = False
    image = Image(pixels=pixels.reshape(16, 17, 3), opaque=opaque.reshape(16, 17))
    q = quantize(image, 256)
    assert q.n_colours == 256
    with pytest.raises(InputError, match="255 colours or fewer"):
        indexed_png(image, q)
    with pytest.raises(InputError, match="255 colours or fewer"):
        BandedPngSize.of_redraw(image, q)
    opaque_image = Image(pixels=image.pixels)
    assert decoded(indexed_png(opaque_image, quantize(opaque_image, 256))).mode == "P"


def test_file_sizes_compare_the_original_png_with_the_palette_png(opaque_case):
    image, q = opaque_case
    sizes = file_sizes(image, q)
    assert isinstance(sizes, FileSizes)
    assert sizes.original_png == len(encode_png(image.pixels)) == png_size(image)
    assert sizes.indexed_png == len(indexed_png(image, q))
    assert sizes.ratio == pytest.approx(sizes.original_png / sizes.indexed_png)


def test_file_sizes_use_a_known_original_size_as_given(opaque_case):
    image, q = opaque_case
    sizes = file_sizes(image, q, original_png=1_000_000)
    assert sizes.original_png == 1_000_000
    assert sizes.ratio == pytest.approx(1_000_000 / len(indexed_png(image, q)))


def test_three_colour_photo_file_is_several_times_smaller():
    image = load_sample("flower")
    sizes = file_sizes(image, quantize(image, 3))
    assert sizes.ratio > 3


def test_quantization_of_another_image_is_refused(opaque_case):
    _, q = opaque_case
    other = Image(pixels=PIXELS[:10])
    for function in (redraw, redraw_png, indexed_png, file_sizes):
        with pytest.raises(InputError, match="Run the colour grouping again"):
            function(other, q)


# --- full-size download ------------------------------------------------------


def png_bytes(pixels: np.ndarray, **options) -> bytes:
    """``pixels`` (RGB or RGBA) saved as a PNG file by Pillow."""
    buffer = io.BytesIO()
    PILImage.fromarray(pixels).save(buffer, format="PNG", **options)
    return buffer.getvalue()


def photo(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A smooth picture with noise: a few thousand colours, many lost by shrinking."""
    y, x = np.mgrid[0:height, 0:width] / max(width, height)
    smooth = np.stack([np.sin(6 * x + 2 * y), np.cos(5 * x * y + 3 * y), np.sin(7 * y - x)], -1)
    noise = np.random.default_rng(seed).normal(0, 6, (height, width, 3))
    return np.clip(np.rint(127.5 + 110 * smooth + noise), 0, 255).astype(np.uint8)


def rgba_of(png: bytes) -> np.ndarray:
    """The decoded PNG as an (H, W, 4) RGBA array."""
    return np.asarray(decoded(png).convert("RGBA"))


@pytest.mark.parametrize("space", ["rgb", "lab"])
@pytest.mark.parametrize("transparent", [False, True])
def test_full_size_download_of_an_unreduced_picture_is_the_indexed_png(space, transparent):
    rgba = np.dstack([PIXELS, np.where(OPAQUE, 255, 0).astype(np.uint8)])
    data = png_bytes(rgba if transparent else PIXELS)
    image = load_image(data)
    q = quantize(image, 6, colour_space=space)
    download = full_size_png(data, q, band_rows=3)
    np.testing.assert_array_equal(rgba_of(download), rgba_of(indexed_png(image, q)))
    assert decoded(download).mode == "P"


def test_full_size_download_with_256_colours_and_transparency_is_the_rgba_redraw():
    codes = np.arange(16 * 17)
    pixels = np.stack([codes % 256, codes * 7 % 256, codes // 256 * 100], -1).astype(np.uint8)
    alpha = np.full(16 * 17, 255, np.uint8)
    alpha[-3:] = 0
    data = png_bytes(np.dstack([pixels.reshape(16, 17, 3), alpha.reshape(16, 17)]))
    image = load_image(data)
    q = quantize(image, 256)
    assert q.n_colours == 256
    download = full_size_png(data, q, band_rows=5)
    assert decoded(download).mode == "RGBA"
    np.testing.assert_array_equal(rgba_of(download), rgba_of(redraw_png(image, q)))


@pytest.fixture(scope="module")
def reduced_case() -> tuple[bytes, np.ndarray, object]:
    """A 90 x 70 photo-like PNG explored at 1,500 pixels, and its 8-colour CIELAB fit."""
    pixels = photo(90, 70)
    data = png_bytes(pixels)
    working = load_image(data, working_max_pixels=1_500)
    assert working.original_size == (90, 70)
    return data, pixels, quantize(working, 8, colour_space="lab")


def test_full_size_download_is_full_size_in_palette_colours_only(reduced_case):
    data, _, q = reduced_case
    download = decoded(full_size_png(data, q))
    assert download.mode == "P" and download.size == (90, 70)
    np.testing.assert_array_equal(
        np.frombuffer(download.palette.tobytes(), np.uint8).reshape(-1, 3), q.palette
    )
    assert np.asarray(download).max() < q.n_colours


def test_new_colours_get_the_nearest_centre_in_the_fits_colour_space(reduced_case):
    data, full, q = reduced_case
    indices = np.asarray(decoded(full_size_png(data, q)))
    known = np.isin(pixels.colour_codes(full), pixels.colour_codes(q.colours.colours))
    assert (~known).mean() > 0.5  # most full-size colours were not in the working copy
    features = to_features(full[~known], "lab")
    centres = to_features(q.centroids, "lab")
    distances = ((features[:, None, :] - centres[None]) ** 2).sum(-1)
    nearest = distances[np.arange(len(features)), indices[~known]]
    np.testing.assert_allclose(nearest, distances.min(axis=1), rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(
        indices[known],
        q.colour_labels[
            np.searchsorted(
                pixels.colour_codes(q.colours.colours), pixels.colour_codes(full[known])
            )
        ],
    )


@pytest.mark.parametrize("band_rows", [1, 7, 64])
def test_painting_in_bands_equals_painting_at_once(reduced_case, band_rows):
    data, _, q = reduced_case
    at_once = full_size_png(data, q, band_rows=10_000)
    np.testing.assert_array_equal(
        np.asarray(decoded(full_size_png(data, q, band_rows=band_rows))),
        np.asarray(decoded(at_once)),
    )


def test_full_size_download_is_turned_by_the_exif_orientation():
    exif = PILImage.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    buffer = io.BytesIO()
    PILImage.fromarray(photo(60, 40)).save(buffer, format="JPEG", quality=95, exif=exif)
    data = buffer.getvalue()
    working = load_image(data, working_max_pixels=600)
    assert working.height > working.width and working.original_size == (40, 60)
    download = decoded(full_size_png(data, quantize(working, 4)))
    assert download.size == (40, 60)
    painted = np.asarray(download.convert("RGB")).astype(float)
    full = load_image(data).pixels
    assert np.abs(painted - full).mean() < 0.5 * np.abs(painted - np.rot90(full, 2)).mean()


def test_full_size_download_keeps_the_pixel_limit(reduced_case):
    data, _, q = reduced_case
    with pytest.raises(InputError, match="too large"):
        full_size_png(data, q, max_pixels=6_000)


def test_full_size_download_refuses_a_bad_band_height(reduced_case):
    data, _, q = reduced_case
    with pytest.raises(InputError, match="band height"):
        full_size_png(data, q, band_rows=0)


@pytest.mark.parametrize("space", ["rgb", "lab"])
def test_nearest_labels_of_the_fitted_picture_are_its_labels(space):
    photo = load_sample("china")
    image = Image(photo.pixels[::4, ::4].copy())
    q = quantize(image, 6, colour_space=space)
    # A fit's final labels are its nearest centres (up to exact ties, which a photo lacks).
    assert np.mean(nearest_labels(image, q) == q.labels) > 0.999


def test_painted_png_of_a_shrunk_copy_has_only_palette_colours_and_its_size(transparent_case):
    image, q = transparent_case
    small = Image(image.pixels[::2, ::3].copy(), image.opaque[::2, ::3].copy())
    im = decoded(painted_png(small, q))
    assert im.size == (small.width, small.height)
    rgba = np.asarray(im.convert("RGBA"))
    visible = rgba[..., 3] > 0
    assert np.array_equal(visible, small.opaque)
    shown = {tuple(colour) for colour in rgba[visible][:, :3].tolist()}
    assert shown <= {tuple(colour) for colour in q.palette.tolist()}
    # Each visible pixel shows its nearest palette colour.
    labels = nearest_labels(small, q)
    assert np.array_equal(rgba[visible][:, :3], q.palette[labels[visible]])


def test_painted_png_with_256_colours_and_transparency_is_rgba():
    rng = np.random.default_rng(0)
    image = Image(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8), rng.random((40, 40)) > 0.2)
    q = quantize(image, 256)
    assert q.n_colours == 256
    im = decoded(painted_png(image, q))
    assert im.mode == "RGBA"
    assert np.array_equal(np.asarray(im)[..., 3] > 0, image.opaque)


@pytest.mark.parametrize("space", ["rgb", "lab"])
def test_paint_with_a_fits_centres_is_its_redraw(space):
    photo = load_sample("china")
    image = Image(photo.pixels[::4, ::4].copy())
    q = quantize(image, 5, colour_space=space)
    centres = to_features(q.centroids, space)
    painted = paint(image, centres, space)
    assert painted.shape == image.pixels.shape and painted.dtype == np.uint8
    assert np.mean((painted == redraw(image, q)).all(axis=2)) > 0.999


def test_streamed_download_is_a_valid_png_with_a_transparent_entry(transparent_case):
    image, q = transparent_case
    rgba = np.dstack([image.pixels, np.where(image.opaque, 255, 0).astype(np.uint8)])
    buffer = io.BytesIO()
    PILImage.fromarray(rgba).save(buffer, format="PNG")
    im = decoded(full_size_png(buffer.getvalue(), q, band_rows=3))
    assert im.mode == "P" and im.info["transparency"] == q.n_colours
    shown = np.asarray(im.convert("RGBA"))
    np.testing.assert_array_equal(shown[..., 3] > 0, image.opaque)
    np.testing.assert_array_equal(shown[image.opaque][:, :3], redraw(image, q)[image.opaque])


def test_png_size_in_bands_is_close_to_one_file(transparent_case):
    photo = load_sample("china")
    whole = png_size(photo, compress_level=1)
    banded = png_size(photo, compress_level=1, band_rows=64)
    assert banded == pytest.approx(whole, rel=0.005)
    image, _ = transparent_case
    # A tiny picture in 7-row bands loses more to restarting compression, but stays close.
    assert png_size(image, band_rows=7) == pytest.approx(png_size(image), rel=0.1)


def test_banded_png_size_shared_by_threads_counts_every_band_once():
    photo = load_sample("china")
    one_thread = png_size(photo, compress_level=1, band_rows=16)
    job = BandedPngSize.of_image(photo, compress_level=1, band_rows=16)
    with ThreadPoolExecutor(3) as pool:
        sizes = list(pool.map(lambda _: job.measure(), range(3)))
    # Every caller gets the whole size, the same as one thread's bands.
    assert sizes == [one_thread] * 3
    assert job.measure() == one_thread


def test_banded_palette_png_size_is_close_to_one_file(transparent_case):
    photo = load_sample("china")
    for image, q in ((photo, quantize(photo, 16, random_state=0)), transparent_case):
        whole = len(indexed_png(image, q, compress_level=1))
        banded = BandedPngSize.of_redraw(image, q, compress_level=1, band_rows=64).measure()
        assert banded == pytest.approx(whole, rel=0.01)
    # One band: exactly the file.
    image, q = transparent_case
    one_band = BandedPngSize.of_redraw(image, q, band_rows=image.height).measure()
    assert one_band == len(indexed_png(image, q))


def test_a_measured_banded_png_size_lets_go_of_the_picture():
    photo = Image(pixels=load_sample("china").pixels.copy())
    seen = weakref.ref(photo)
    jobs = [
        BandedPngSize.of_image(photo, band_rows=64),
        BandedPngSize.of_redraw(photo, quantize(photo, 4, random_state=0), band_rows=64),
    ]
    sizes = [job.measure() for job in jobs]
    del photo
    gc.collect()
    assert seen() is None  # the kept jobs no longer hold it
    assert [job.measure() for job in jobs] == sizes  # and still know their sizes


def test_banded_png_size_raises_a_bands_error_in_every_caller(monkeypatch):
    import kmeans_lib.rendering as rendering

    def broken(*args, **kwargs):
        raise OSError("disk full")

    job = BandedPngSize.of_image(load_sample("china"), band_rows=64)
    monkeypatch.setattr(rendering, "encode_png", broken)
    for _ in range(2):  # the thread that hit it, then any later caller
        with pytest.raises(OSError, match="disk full"):
            job.measure()


def test_full_size_memory_covers_pillows_decode_and_the_turned_index():
    from kmeans_lib.rendering import full_size_memory

    # Pillow holds RGB at 4 bytes a pixel; a turned picture's index adds 1.
    assert full_size_memory((7000, 7000)) >= 5 * 49_000_000
    assert full_size_memory((70, 70)) < full_size_memory((7000, 7000))


# A palette that no fit would give: every cluster in a colour of its own choosing.
def reversed_greys(n: int) -> np.ndarray:
    levels = np.linspace(250, 5, n).round().astype(np.uint8)
    return np.repeat(levels[:, None], 3, axis=1)


def test_recolour_equals_redrawing_with_the_new_palette(transparent_case):
    image, q = transparent_case
    new = reversed_greys(q.n_colours)
    recoloured = recolour(q, hex_codes(new))
    np.testing.assert_array_equal(recoloured.labels, q.labels)
    np.testing.assert_array_equal(recoloured.palette, new)
    drawn = redraw(image, recoloured)
    np.testing.assert_array_equal(drawn[image.opaque], new[q.labels[image.opaque]])
    # The palette PNG and the shrunk preview are painted the same way.
    np.testing.assert_array_equal(
        np.asarray(decoded(indexed_png(image, recoloured)).convert("RGB"))[image.opaque],
        drawn[image.opaque],
    )
    preview = nearest_labels(image, q)
    painted = decoded(painted_labels_png(image, preview, new)).convert("RGB")
    np.testing.assert_array_equal(np.asarray(painted)[image.opaque], drawn[image.opaque])


def test_full_size_download_of_a_recoloured_fit_keeps_its_clusters(reduced_case):
    data, _, q = reduced_case
    new = reversed_greys(q.n_colours)
    fitted = decoded(full_size_png(data, q))
    edited = decoded(full_size_png(data, recolour(q, new)))
    np.testing.assert_array_equal(np.asarray(edited), np.asarray(fitted))  # same indices
    np.testing.assert_array_equal(
        np.frombuffer(edited.palette.tobytes(), np.uint8).reshape(-1, 3), new
    )


@pytest.mark.parametrize(
    ("palette", "message"),
    [
        (["#000000"] * 4, "exactly 5 colours"),
        (np.full((6, 3), 10), "exactly 5 colours"),
        (np.array([[0, 0, 0]] * 4 + [[0, 256, 0]]), "numbers from 0 to 255"),
        (np.array([[0, 0, 0]] * 4 + [[0, -1, 0]]), "numbers from 0 to 255"),
        (["#000000"] * 4 + ["red"], "“red” is not a colour code"),
        (["#000000"] * 4 + ["#12345g"], "“#12345g” is not a colour code"),
        ([], "at least one colour"),
    ],
)
def test_bad_palettes_are_refused_plainly(opaque_case, palette, message):
    _, q = opaque_case
    with pytest.raises(InputError, match=message):
        recolour(q, palette)
