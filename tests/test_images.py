"""Tests of kmeans_lib.images: safe decoding, conversions, PNG encoding, previews."""

from __future__ import annotations

import io
import math
import struct
import tracemalloc
import warnings
import zlib

import numpy as np
import pytest
from PIL import ExifTags, ImageFile, ImageOps
from PIL import Image as PILImage

from kmeans_lib.errors import InputError
from kmeans_lib.images import (
    DEFAULT_MAX_PIXELS,
    UPRIGHT_VIEWS,
    WORKING_MAX_PIXELS,
    Image,
    decode_memory,
    encode_png,
    jpeg_palette_draft,
    load_image,
    load_sample,
    palette_draft_factor,
    resize_to_fit,
    sample_names,
)

RNG = np.random.default_rng(0)
# 4 x 3 pixels, every one a different colour.
SMALL = RNG.integers(0, 256, size=(3, 4, 3), dtype=np.uint8)


def saved(im: PILImage.Image, fmt: str, **options) -> bytes:
    """Bytes of ``im`` saved by Pillow in format ``fmt``."""
    buffer = io.BytesIO()
    im.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk with its length and CRC."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def raw_png(width: int, height: int, bit_depth: int, colour_type: int, rows: bytes) -> bytes:
    """A PNG written by hand, so that headers and bit depths Pillow cannot write are possible.

    ``rows`` is the filtered image data (each row prefixed by its filter byte).
    """
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(rows))
        + png_chunk(b"IEND", b"")
    )


def assert_plain_error(
    error: pytest.ExceptionInfo[InputError], *words: str, chained: bool = True
) -> None:
    """The message names the problem in plain words, chained from the library's error."""
    message = str(error.value)
    for word in words:
        assert word.lower() in message.lower()
    assert "Error" not in message and "PIL" not in message
    assert (error.value.__cause__ is not None) == chained


# --- sources -----------------------------------------------------------------


@pytest.mark.parametrize("kind", ["path", "str_path", "bytes", "file_like"])
def test_loads_png_from_path_bytes_and_file_like(tmp_path, kind):
    data = saved(PILImage.fromarray(SMALL), "PNG")
    path = tmp_path / "small.png"
    path.write_bytes(data)
    source = {"path": path, "str_path": str(path), "bytes": data, "file_like": io.BytesIO(data)}
    image = load_image(source[kind])
    np.testing.assert_array_equal(image.pixels, SMALL)
    assert image.opaque is None
    assert image.name == ("image" if kind in ("bytes", "file_like") else "small.png")


def test_name_comes_from_file_object_or_argument(tmp_path):
    path = tmp_path / "photo.png"
    path.write_bytes(saved(PILImage.fromarray(SMALL), "PNG"))
    with open(path, "rb") as file:
        assert load_image(file).name == "photo.png"
    assert load_image(path, name="holiday").name == "holiday"


def test_reads_a_stream_that_cannot_seek():
    class Pipe(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self._data = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def seekable(self) -> bool:
            return False

        def readinto(self, buffer) -> int:
            return self._data.readinto(buffer)

    image = load_image(Pipe(saved(PILImage.fromarray(SMALL), "PNG")))
    np.testing.assert_array_equal(image.pixels, SMALL)


@pytest.mark.parametrize(
    ("fmt", "options"),
    [("PNG", {}), ("BMP", {}), ("TIFF", {}), ("WEBP", {"lossless": True}), ("GIF", {})],
)
def test_lossless_formats_round_trip_exactly(fmt, options):
    pixels = SMALL
    if fmt == "GIF":  # a palette format: use few colours so none are merged
        pixels = np.array([[[255, 0, 0], [0, 0, 255]], [[0, 255, 0], [255, 255, 255]]], np.uint8)
    image = load_image(saved(PILImage.fromarray(pixels), fmt, **options))
    np.testing.assert_array_equal(image.pixels, pixels)


def test_jpeg_is_decoded_close_to_the_original():
    flat = np.full((16, 16, 3), (200, 120, 40), np.uint8)
    image = load_image(saved(PILImage.fromarray(flat), "JPEG", quality=95))
    assert image.pixels.shape == (16, 16, 3) and image.pixels.dtype == np.uint8
    assert np.abs(image.pixels.astype(int) - flat).max() <= 3


# --- JPEG drafts for a palette alone -------------------------------------------


@pytest.mark.parametrize(
    ("size", "factor"),
    [
        ((4000, 3000), 4),  # 12 MP: 750,000 pixels at 1/4; 1/8 keeps only 187,500
        ((1732, 1155), 2),  # 2 MP: 500,548 at 1/2
        ((1600, 1200), 1),  # 1.9 MP: 480,000 at 1/2, under the rule's 500,000
        ((8165, 6124), 8),  # 50 MP: 781,250 at 1/8
        ((640, 427), 1),
        ((2000, 1000), 2),  # exactly 500,000 at 1/2
        ((1999, 1000), 2),  # a partial block rounds up: still 1000 x 500
        ((1998, 1000), 1),  # 999 x 500
        ((1000, 2000), 2),  # upright or turned alike
    ],
)
def test_palette_draft_factor_is_the_largest_keeping_500_000_pixels(size, factor):
    assert palette_draft_factor(*size) == factor


def test_palette_draft_is_for_jpegs_only_and_read_from_the_header():
    pixels = np.zeros((1000, 2000, 3), np.uint8)
    assert jpeg_palette_draft(saved(PILImage.fromarray(pixels), "JPEG")) == 2
    assert jpeg_palette_draft(saved(PILImage.fromarray(pixels), "PNG")) == 1
    assert jpeg_palette_draft(saved(PILImage.fromarray(pixels[:, :1998]), "JPEG")) == 1


def test_load_image_decodes_a_jpeg_at_its_draft_factor_and_others_whole():
    gradient = np.linspace(0, 255, 400, dtype=np.uint8)
    pixels = np.stack(np.broadcast_arrays(gradient[None, :], gradient[:200, None], 128), axis=2)
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    drafted = load_image(saved(PILImage.fromarray(pixels), "JPEG", quality=95), draft_factor=4)
    assert drafted.pixels.shape == (50, 100, 3) and drafted.original_size == (400, 200)
    assert np.abs(drafted.pixels.astype(int) - pixels[2::4, 2::4]).mean() < 3
    whole = load_image(saved(PILImage.fromarray(pixels), "PNG"), draft_factor=4)
    np.testing.assert_array_equal(whole.pixels, pixels)
    with pytest.raises(InputError, match="1/2, 1/4 or 1/8"):
        load_image(saved(PILImage.fromarray(pixels), "PNG"), draft_factor=3)


# --- untrusted input ---------------------------------------------------------


def test_random_bytes_are_refused_in_plain_words():
    with pytest.raises(InputError) as error:
        load_image(RNG.integers(0, 256, 5000, dtype=np.uint8).tobytes())
    assert_plain_error(error, "not an image", "PNG", "JPEG")


@pytest.mark.parametrize("source", [b"", io.BytesIO(b"")])
def test_empty_input_is_refused_as_empty(source):
    with pytest.raises(InputError, match="empty"):
        load_image(source)


def test_empty_file_on_disk_is_refused_as_empty(tmp_path):
    path = tmp_path / "nothing.png"
    path.write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        load_image(path)


def test_truncated_png_is_refused_as_damaged():
    data = saved(PILImage.fromarray(RNG.integers(0, 256, (64, 64, 3), dtype=np.uint8)), "PNG")
    with pytest.raises(InputError) as error:
        load_image(data[: len(data) // 2])
    assert_plain_error(error, "damaged", "again")


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow notes skipped TIFF tags
@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP"])
def test_corrupted_files_raise_only_input_error(fmt):
    pixels = RNG.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    data = np.frombuffer(saved(PILImage.fromarray(pixels), fmt), np.uint8)
    rng = np.random.default_rng(1)
    for _ in range(20):
        broken = data.copy()
        broken[rng.integers(0, len(broken), 8)] = rng.integers(0, 256, 8, dtype=np.uint8)
        try:
            image = load_image(broken.tobytes())
        except InputError:
            continue
        assert image.pixels.dtype == np.uint8 and image.pixels.ndim == 3


def test_header_claiming_60_megapixels_is_refused_without_decoding(monkeypatch):
    # IHDR says 10000 x 6000 RGB; the data is one tiny row.
    data = raw_png(10_000, 6_000, 8, 2, b"\x00" * 31)
    decoded = []
    original_load = ImageFile.ImageFile.load

    def spy_load(self):
        decoded.append(self.size)
        return original_load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", spy_load)
    tracemalloc.start()
    try:
        with pytest.raises(InputError) as error:
            load_image(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert_plain_error(
        error, "too large", "50 megapixels", "10,000 × 6,000", "resize", chained=False
    )
    # Pillow's pixel buffers are C allocations that tracemalloc cannot see, so the
    # spy is what proves the decoder never ran; the peak bounds the Python side.
    assert decoded == []
    assert peak < 1_000_000


def test_header_beyond_pillows_own_bomb_limit_is_refused():
    data = raw_png(20_000, 20_000, 8, 2, b"\x00" * 31)  # 400 MP
    with pytest.raises(InputError) as error:
        load_image(data, max_pixels=10**9)
    assert_plain_error(error, "too large")


def test_pillows_bomb_warning_turned_into_an_error_is_refused():
    data = raw_png(10_000, 10_000, 8, 2, b"\x00" * 31)  # 100 MP: Pillow warns
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(InputError) as error:
            load_image(data, max_pixels=10**9)
    assert_plain_error(error, "too large")


def test_pixel_limit_is_inclusive_and_adjustable():
    data = saved(PILImage.new("RGB", (100, 50)), "PNG")
    assert load_image(data, max_pixels=5000).n_pixels == 5000
    with pytest.raises(InputError, match="too large"):
        load_image(data, max_pixels=4999)
    assert DEFAULT_MAX_PIXELS == 50_000_000


def test_refused_picture_message_gives_its_size_the_limit_and_what_to_do():
    data = raw_png(9_000, 7_000, 8, 2, b"\x00" * 31)
    with pytest.raises(InputError) as error:
        load_image(data)
    assert str(error.value) == (
        "This image (9,000 × 7,000 pixels, 63 megapixels) is too large: the limit is "
        "50 megapixels. Resize it to 50 megapixels or fewer and try again."
    )


@pytest.mark.parametrize("limit", [0, -5, 2.5, True])
def test_bad_pixel_limit_is_refused(limit):
    with pytest.raises(InputError, match="pixel limit"):
        load_image(saved(PILImage.new("RGB", (2, 2)), "PNG"), max_pixels=limit)


def test_unsupported_format_is_refused_with_the_supported_list():
    with pytest.raises(InputError) as error:
        load_image(saved(PILImage.new("RGB", (4, 4)), "PPM"))
    assert_plain_error(error, "PNG, JPEG, WebP, GIF, BMP and TIFF")


def test_missing_file_is_refused_in_plain_words(tmp_path):
    with pytest.raises(InputError) as error:
        load_image(tmp_path / "missing.png")
    assert_plain_error(error, "no file", "missing.png")


def test_folder_instead_of_file_is_refused(tmp_path):
    with pytest.raises(InputError, match="could not be opened"):
        load_image(tmp_path)


def test_source_of_the_wrong_type_is_refused():
    with pytest.raises(InputError, match="file path"):
        load_image(12345)


def test_floating_point_tiff_is_refused_in_plain_words():
    data = saved(PILImage.fromarray(np.ones((4, 4), np.float32)), "TIFF")
    with pytest.raises(InputError, match="decimal numbers"):
        load_image(data)


# --- modes and conversions ---------------------------------------------------


def test_cmyk_jpeg_becomes_rgb():
    cyan = load_image(saved(PILImage.new("CMYK", (8, 8), (255, 0, 0, 0)), "JPEG", quality=100))
    black = load_image(saved(PILImage.new("CMYK", (8, 8), (0, 0, 0, 255)), "JPEG", quality=100))
    assert np.abs(cyan.pixels.astype(int) - (0, 255, 255)).max() <= 2
    assert np.abs(black.pixels.astype(int)).max() <= 2


@pytest.mark.parametrize("fmt", ["PNG", "TIFF"])
def test_16_bit_greyscale_is_scaled_not_clipped(fmt):
    values = np.array([[0, 257, 32896, 65535]], dtype=np.uint16)
    image = load_image(saved(PILImage.fromarray(values), fmt))
    np.testing.assert_array_equal(image.pixels[0, :, 0], [0, 1, 128, 255])
    np.testing.assert_array_equal(image.pixels[..., 0], image.pixels[..., 2])


def test_16_bit_greyscale_png_transparent_value_is_masked():
    values = np.array([0, 1000, 65535], dtype=">u2")
    rows = b"\x00" + values.tobytes()
    png = raw_png(3, 1, 16, 0, rows)
    # tRNS must come before IDAT: insert it after IHDR (8-byte signature + 25-byte IHDR).
    png = png[:33] + png_chunk(b"tRNS", struct.pack(">H", 1000)) + png[33:]
    image = load_image(png)
    np.testing.assert_array_equal(image.opaque, [[True, False, True]])
    np.testing.assert_array_equal(image.pixels[0, [0, 2], 0], [0, 255])


def test_48_bit_rgb_png_is_scaled_not_clipped():
    values = np.array([[65535, 32896, 0], [257, 65535, 4112]], dtype=">u2")
    png = raw_png(2, 1, 16, 2, b"\x00" + values.tobytes())
    image = load_image(png)
    expected = np.rint(values.astype(float) / 257)
    assert np.abs(image.pixels[0].astype(int) - expected).max() <= 1
    assert image.pixels[0, 0].tolist() == [255, 128, 0]


def test_rgba_alpha_below_128_is_transparent():
    rgba = np.zeros((2, 3, 4), np.uint8)
    rgba[..., :3] = SMALL[:2, :3]
    rgba[..., 3] = [[0, 127, 128], [255, 255, 64]]
    image = load_image(saved(PILImage.fromarray(rgba), "PNG"))
    np.testing.assert_array_equal(image.opaque, [[False, False, True], [True, True, False]])
    assert image.has_transparency and image.n_opaque == 3 and image.n_pixels == 6
    np.testing.assert_array_equal(image.pixels, rgba[..., :3])
    np.testing.assert_array_equal(image.opaque_pixels(), rgba[..., :3][rgba[..., 3] >= 128])


def test_fully_opaque_rgba_has_no_mask():
    rgba = np.full((4, 4, 4), 255, np.uint8)
    image = load_image(saved(PILImage.fromarray(rgba), "PNG"))
    assert image.opaque is None and not image.has_transparency and image.n_opaque == 16


def test_palette_png_with_transparent_entry():
    im = PILImage.new("P", (3, 1))
    im.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255])
    im.putdata([0, 1, 2])
    image = load_image(saved(im, "PNG", transparency=1))
    np.testing.assert_array_equal(image.opaque, [[True, False, True]])
    np.testing.assert_array_equal(image.pixels[0, [0, 2]], [[255, 0, 0], [0, 0, 255]])


def test_animated_gif_gives_its_first_frame_with_transparency():
    first = PILImage.new("P", (4, 2))
    first.putpalette([10, 20, 30, 200, 100, 0, 0, 0, 0])
    first.putdata([0, 0, 1, 1, 2, 2, 0, 1])
    second = PILImage.new("P", (4, 2))
    second.putpalette([0, 0, 255])
    data = saved(first, "GIF", save_all=True, append_images=[second], transparency=2, duration=50)
    assert PILImage.open(io.BytesIO(data)).n_frames == 2
    image = load_image(data)
    np.testing.assert_array_equal(
        image.opaque, [[True, True, True, True], [False, False, True, True]]
    )
    np.testing.assert_array_equal(image.pixels[0], [[10, 20, 30]] * 2 + [[200, 100, 0]] * 2)


@pytest.mark.parametrize("mode", ["L", "LA", "1"])
def test_greyscale_modes_become_grey_rgb(mode):
    im = PILImage.new(mode, (2, 1))
    im.putdata([(0, 255), (255, 0)] if mode == "LA" else [0, 255])
    image = load_image(saved(im, "PNG"))
    np.testing.assert_array_equal(image.pixels[0], [[0, 0, 0], [255, 255, 255]])
    if mode == "LA":
        np.testing.assert_array_equal(image.opaque, [[True, False]])
    else:
        assert image.opaque is None


def test_exif_orientation_6_rotates_the_jpeg():
    stored = np.zeros((16, 32, 3), np.uint8)  # 32 wide, 16 high: red left, blue right
    stored[:, :16] = (255, 0, 0)
    stored[:, 16:] = (0, 0, 255)
    exif = PILImage.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    plain = load_image(saved(PILImage.fromarray(stored), "JPEG", quality=95))
    image = load_image(saved(PILImage.fromarray(stored), "JPEG", quality=95, exif=exif))
    assert (plain.height, plain.width) == (16, 32)
    assert (image.height, image.width) == (32, 16)
    # Clockwise: the stored left half ends up on top (JPEG blurs the seam, so skip it).
    np.testing.assert_array_equal(image.pixels, np.rot90(plain.pixels, k=-1))
    assert image.pixels[:12, :, 0].min() > 200 and image.pixels[-12:, :, 2].min() > 200


def test_one_by_one_image():
    image = load_image(saved(PILImage.new("RGB", (1, 1), (9, 8, 7)), "PNG"))
    assert (image.height, image.width, image.n_pixels) == (1, 1, 1)
    np.testing.assert_array_equal(image.opaque_pixels(), [[9, 8, 7]])


def test_single_colour_image():
    image = load_image(saved(PILImage.new("RGB", (20, 10), (1, 2, 3)), "PNG"))
    assert np.unique(image.opaque_pixels(), axis=0).tolist() == [[1, 2, 3]]


# --- the Image type ----------------------------------------------------------


def test_image_drops_an_all_true_mask_and_reports_sizes():
    image = Image(pixels=SMALL, opaque=np.ones((3, 4), bool))
    assert image.opaque is None
    assert (image.height, image.width, image.n_pixels, image.n_opaque) == (3, 4, 12, 12)
    assert image.opaque_pixels().shape == (12, 3)


@pytest.mark.parametrize(
    ("pixels", "opaque"),
    [
        (SMALL.astype(np.float64), None),
        (SMALL[..., :2], None),
        (np.zeros((0, 4, 3), np.uint8), None),
        (SMALL, np.ones((4, 3), bool)),
        (SMALL, np.ones((3, 4), np.uint8)),
    ],
)
def test_image_refuses_malformed_arrays(pixels, opaque):
    with pytest.raises(InputError):
        Image(pixels=pixels, opaque=opaque)


# --- samples -----------------------------------------------------------------


def test_sample_images_load_by_name():
    assert sample_names() == ("china", "flower")
    for name in sample_names():
        image = load_sample(name)
        assert image.pixels.shape == (427, 640, 3) and image.opaque is None
        assert image.name == f"{name}.jpg"


def test_unknown_sample_name_lists_the_choices():
    with pytest.raises(InputError, match="china, flower"):
        load_sample("puppy")


# --- encoding and previews ---------------------------------------------------


def test_encode_png_round_trips_rgb():
    with PILImage.open(io.BytesIO(encode_png(SMALL))) as im:
        assert im.format == "PNG" and im.mode == "RGB"
        np.testing.assert_array_equal(np.asarray(im), SMALL)


def test_encode_png_writes_alpha_zero_where_not_opaque():
    opaque = np.array([[True, False, True, True]] * 3)
    with PILImage.open(io.BytesIO(encode_png(SMALL, opaque))) as im:
        assert im.mode == "RGBA"
        rgba = np.asarray(im)
    np.testing.assert_array_equal(rgba[..., 3], np.where(opaque, 255, 0))
    np.testing.assert_array_equal(rgba[..., :3], SMALL)


def test_encode_png_round_trips_through_load_image():
    opaque = np.array([[True, False, True, True]] * 3)
    image = load_image(encode_png(SMALL, opaque))
    np.testing.assert_array_equal(image.opaque, opaque)
    np.testing.assert_array_equal(image.pixels, SMALL)


def test_resize_to_fit_returns_small_images_unchanged():
    image = Image(pixels=SMALL)
    assert resize_to_fit(image, 4) is image


def test_resize_to_fit_shrinks_keeping_aspect_and_mask():
    pixels = np.zeros((300, 600, 3), np.uint8)
    pixels[:, 300:] = 255
    opaque = np.zeros((300, 600), bool)
    opaque[:150] = True
    preview = resize_to_fit(Image(pixels=pixels, opaque=opaque, name="wide"), 100)
    assert (preview.height, preview.width, preview.name) == (50, 100, "wide")
    assert preview.pixels[:, :45].max() < 10 and preview.pixels[:, 55:].min() > 245
    assert preview.opaque[:24].all() and not preview.opaque[26:].any()


def test_resize_to_fit_refuses_a_bad_size():
    with pytest.raises(InputError, match="preview size"):
        resize_to_fit(Image(pixels=SMALL), 0)


# --- working copy of large pictures ---------------------------------------------


def smooth_picture(width: int, height: int) -> np.ndarray:
    """A photo-like (smoothly varying) RGB picture, so resampling errors stay small."""
    y, x = np.mgrid[0:height, 0:width] / max(width, height)
    channels = [np.sin(7 * x + 3 * y), np.cos(5 * x * y + 4 * y), np.sin(9 * y - 2 * x)]
    return np.rint(127.5 + 120 * np.stack(channels, axis=-1)).astype(np.uint8)


def lanczos(pixels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Pillow's whole-picture Lanczos resize of ``pixels`` to ``size`` (width, height)."""
    return np.asarray(PILImage.fromarray(pixels).resize(size, PILImage.Resampling.LANCZOS))


def mean_difference(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference in levels."""
    return float(np.abs(a.astype(float) - b).mean())


def test_working_size_fits_a_phone_photo_halved_by_the_jpeg_decoder():
    assert 7000 * 7000 // 4 <= WORKING_MAX_PIXELS and 8000 * 6000 // 4 <= WORKING_MAX_PIXELS
    assert WORKING_MAX_PIXELS < DEFAULT_MAX_PIXELS


def test_large_picture_is_explored_at_the_working_size_with_a_notice():
    pixels = smooth_picture(400, 300)
    image = load_image(saved(PILImage.fromarray(pixels), "PNG"), working_max_pixels=30_000)
    assert (image.width, image.height) == (200, 150)
    assert image.original_size == (400, 300)
    assert image.reduction_notice == (
        "Your 0.12-megapixel picture is explored at 0.03 megapixels; downloads are full size."
    )
    assert mean_difference(image.pixels, lanczos(pixels, (200, 150))) < 0.5


def test_working_copy_keeps_the_aspect_and_stays_within_the_working_size():
    pixels = smooth_picture(301, 97)
    image = load_image(saved(PILImage.fromarray(pixels), "PNG"), working_max_pixels=5_000)
    assert image.n_pixels <= 5_000 and image.n_pixels > 4_800
    assert abs(image.width / image.height - 301 / 97) < 0.05
    assert mean_difference(image.pixels, lanczos(pixels, (image.width, image.height))) < 0.5


def test_notice_names_whole_megapixels_for_phone_photos():
    image = Image(pixels=np.zeros((3500, 3500, 3), np.uint8), original_size=(7000, 7000))
    assert image.reduction_notice == (
        "Your 49-megapixel picture is explored at 12 megapixels; downloads are full size."
    )


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_picture_at_the_working_size_is_not_reduced(fmt):
    data = saved(PILImage.fromarray(smooth_picture(60, 40)), fmt)
    image = load_image(data, working_max_pixels=2_400)
    assert image.original_size is None and image.reduction_notice is None
    np.testing.assert_array_equal(image.pixels, load_image(data).pixels)


def test_jpeg_is_reduced_in_the_decoder_like_a_full_decode_then_resize():
    data = saved(PILImage.fromarray(smooth_picture(400, 300)), "JPEG", quality=95)
    full = load_image(data)
    # Half size is 30,000 pixels, 3% under this working size: the decoder's 1/2
    # is taken as is. A resize would give 203 x 152.
    image = load_image(data, working_max_pixels=30_900)
    assert (image.width, image.height) == (200, 150)
    assert image.original_size == (400, 300)
    assert mean_difference(image.pixels, lanczos(full.pixels, (200, 150))) < 3


def test_jpeg_reduced_in_the_decoder_is_then_resized_to_fit():
    data = saved(PILImage.fromarray(smooth_picture(400, 300)), "JPEG", quality=95)
    full = load_image(data)
    image = load_image(data, working_max_pixels=25_000)  # 1/2 gives 30,000: still too many
    assert image.n_pixels <= 25_000 and (image.width, image.height) == (182, 136)
    assert mean_difference(image.pixels, lanczos(full.pixels, (182, 136))) < 3


def test_reduced_jpeg_is_turned_by_its_exif_orientation():
    exif = PILImage.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    stored = smooth_picture(400, 300)
    data = saved(PILImage.fromarray(stored), "JPEG", quality=95, exif=exif)
    for limit in (30_900, 20_000):  # reduced by the decoder alone, then also resized
        image = load_image(data, working_max_pixels=limit)
        assert image.height > image.width and image.original_size == (300, 400)
        expected = np.rot90(lanczos(stored, (image.height, image.width)), k=-1)
        assert mean_difference(image.pixels, expected) < 3


def test_reduced_picture_keeps_its_transparency_mask():
    rgba = np.dstack([smooth_picture(200, 100), np.full((100, 200), 255, np.uint8)])
    rgba[20:60, 30:90, 3] = 0
    image = load_image(saved(PILImage.fromarray(rgba), "PNG"), working_max_pixels=5_000)
    assert (image.width, image.height) == (100, 50)
    opaque = rgba[..., 3] >= 128
    expected = PILImage.fromarray(opaque).resize((100, 50), PILImage.Resampling.NEAREST)
    np.testing.assert_array_equal(image.opaque, np.asarray(expected))


def test_reduced_16_bit_greyscale_is_scaled_not_clipped():
    values = np.full((40, 60), 65535, np.uint16)
    values[:, :30] = 32896
    image = load_image(saved(PILImage.fromarray(values), "PNG"), working_max_pixels=600)
    assert (image.width, image.height) == (30, 20)
    assert image.pixels[:, :12].max() == 128 and image.pixels[:, 18:].min() == 255


@pytest.mark.parametrize("channels", [(), (3,)])
@pytest.mark.parametrize("orientation", range(2, 9))
def test_upright_views_turn_every_exif_orientation_as_pillow_does(orientation, channels):
    stored = np.arange(35 * math.prod(channels), dtype=np.uint8).reshape((5, 7, *channels))
    im = PILImage.fromarray(stored)
    im.getexif()[ExifTags.Base.Orientation] = orientation
    np.testing.assert_array_equal(UPRIGHT_VIEWS[orientation](stored), ImageOps.exif_transpose(im))


@pytest.mark.parametrize("orientation", range(1, 9))
def test_shrunk_picture_is_turned_with_its_mask_as_a_full_decode_would_be(orientation):
    rgba = np.dstack([smooth_picture(200, 100), np.full((100, 200), 255, np.uint8)])
    rgba[20:60, 30:90, 3] = 0  # edges on even rows and columns: exact at half size
    exif = PILImage.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    data = saved(PILImage.fromarray(rgba), "PNG", exif=exif)
    full = load_image(data)
    image = load_image(data, working_max_pixels=5_000)
    assert (image.width, image.height) == (full.width // 2, full.height // 2)
    assert image.original_size == (full.width, full.height)
    assert image.pixels.flags.c_contiguous and image.opaque.flags.c_contiguous
    expected = lanczos(full.pixels, (image.width, image.height))
    assert mean_difference(image.pixels, expected) < 0.5
    half = PILImage.fromarray(full.opaque).resize(image.opaque.shape[::-1], PILImage.NEAREST)
    np.testing.assert_array_equal(image.opaque, np.asarray(half))


def test_reduced_palette_picture_keeps_colours_and_transparent_entry():
    im = PILImage.new("P", (60, 40))
    im.putpalette([255, 0, 0, 0, 255, 0])
    indices = np.zeros((40, 60), np.uint8)
    indices[:, 30:] = 1
    im.putdata(indices.ravel().tolist())
    image = load_image(saved(im, "PNG", transparency=1), working_max_pixels=600)
    assert (image.width, image.height) == (30, 20)
    np.testing.assert_array_equal(image.opaque[:, :15], True)
    assert not image.opaque[:, 15:].any()
    np.testing.assert_array_equal(image.pixels[:, :12], np.full((20, 12, 3), [255, 0, 0]))


@pytest.mark.parametrize("limit", [0, 2.5, True])
def test_bad_working_size_is_refused(limit):
    with pytest.raises(InputError, match="working size"):
        load_image(saved(PILImage.new("RGB", (2, 2)), "PNG"), working_max_pixels=limit)


def test_decode_memory_is_read_from_the_header_at_the_size_decoded():
    photo = PILImage.new("RGB", (400, 300), (10, 120, 200))
    png, jpeg = saved(photo, "PNG"), saved(photo, "JPEG", quality=90)
    # Within the working size: the whole picture, four bytes a pixel.
    assert decode_memory(png) == decode_memory(jpeg) == 4 * 400 * 300
    # Above it a PNG is still decoded whole; a JPEG decoder scales by 1/2 here
    # (200 x 150 keeps the working size of 25,000 pixels), 1/4 would not.
    assert decode_memory(png, working_max_pixels=25_000) == 4 * 400 * 300
    assert decode_memory(jpeg, working_max_pixels=25_000) == 4 * 200 * 150
    with pytest.raises(InputError, match="not an image"):
        decode_memory(b"not a picture at all")
    with pytest.raises(InputError, match="megapixels"):
        decode_memory(png, max_pixels=100_000)


def test_a_part_of_an_image_keeps_its_pixels_and_its_share_of_the_mask():
    pixels = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)
    opaque = np.ones((4, 5), bool)
    opaque[3, 4] = False
    image = Image(pixels=pixels, opaque=opaque, name="photo.png")
    band = image.part(slice(2, 4))
    np.testing.assert_array_equal(band.pixels, pixels[2:4])
    np.testing.assert_array_equal(band.opaque, opaque[2:4])
    assert band.name == "photo.png" and band.original_size is None
    grid = image.part(np.ix_([0, 3], [1, 4]))
    np.testing.assert_array_equal(grid.pixels, pixels[[0, 3]][:, [1, 4]])
    np.testing.assert_array_equal(grid.opaque, [[True, True], [True, False]])
    # A part with every pixel opaque needs no mask.
    assert image.part(slice(0, 3)).opaque is None
