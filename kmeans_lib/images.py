"""Images in and out: decode untrusted files safely, encode PNGs, make previews."""

from __future__ import annotations

import io
import math
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import ExifTags, ImageOps
from PIL import Image as PILImage

from kmeans_lib.errors import InputError

DEFAULT_MAX_PIXELS = 50_000_000
# Larger pictures are explored at this size (downloads stay full size). Phones take
# 48-50 MP photos, and a JPEG decoder can scale by 1/2 as it decodes: 8000 x 6000
# then gives 12.0 MP and 7000 x 7000 gives 12.25 MP, both at or under this size,
# so the common case needs no further resize and never holds the full picture.
WORKING_MAX_PIXELS = 12_500_000
# A JPEG is reduced by a factor while decoding when the result keeps at least this
# share of the working size: whole factors land where they land (7000 x 7000 at
# 1/2 is 2% under), and decoding 4 times the pixels to keep 2% more is not worth it.
_DRAFT_MIN_SHARE = 0.95
_DRAFT_FACTORS = (8, 4, 2)  # the reductions JPEG decoders offer, largest first
# A JPEG read for its palette alone is decoded at the largest of those reductions
# that keeps at least this many pixels (measured: see palette_draft_factor).
PALETTE_DRAFT_MIN_PIXELS = 500_000
# Rows of the working copy made at once when shrinking: memory for the band
# (about 2 x 128 source rows) instead of a second full-size copy.
_SHRINK_BAND_ROWS = 128
# Lanczos reaches 3 source pixels either side, times the shrink factor.
_LANCZOS_RADIUS = 3
# Pillow's names for the formats it may try to open (its JPEG opener also reads
# camera MPO files); anything else is refused before a decoder sees it.
_FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF")
_SUPPORTED = "PNG, JPEG, WebP, GIF, BMP and TIFF"
_SAMPLES = ("china", "flower")
# Greyscale modes whose values span 0-65535 ("I" is how Pillow widens 16-bit data).
_WIDE_GREY_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")
# round(v / 257) for every 16-bit value: one table gather instead of float maths.
_SCALE_16_TO_8 = ((np.arange(65536, dtype=np.uint32) * 255 + 32767) // 65535).astype(np.uint8)


@dataclass(frozen=True, eq=False)
class Image:
    """An sRGB image with an optional mask of opaque pixels.

    Attributes
    ----------
    pixels : ndarray of uint8, shape (H, W, 3)
        sRGB values.
    opaque : ndarray of bool, shape (H, W), or None
        True where alpha >= 128. None when every pixel is opaque (an all-True
        mask given here is dropped to save memory).
    name : str
        A label for the image, such as its file name.
    original_size : tuple of (int, int) or None
        ``(width, height)`` of the picture this one was reduced from (see
        :func:`load_image`); None when it is the picture at full size.
    """

    pixels: np.ndarray
    opaque: np.ndarray | None = None
    name: str = "image"
    original_size: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        pixels = self.pixels
        if not (
            isinstance(pixels, np.ndarray)
            and pixels.dtype == np.uint8
            and pixels.ndim == 3
            and pixels.shape[2] == 3
            and pixels.shape[0] > 0
            and pixels.shape[1] > 0
        ):
            raise InputError(
                "The image data must be a non-empty array of shape (height, width, 3) "
                "with values 0-255 (uint8); got "
                f"{getattr(pixels, 'shape', None)} {getattr(pixels, 'dtype', type(pixels))}."
            )
        opaque = self.opaque
        if opaque is not None:
            if not (
                isinstance(opaque, np.ndarray)
                and opaque.dtype == np.bool_
                and opaque.shape == pixels.shape[:2]
            ):
                raise InputError(
                    "The transparency mask must be a true/false array with one value "
                    f"per pixel, shape {pixels.shape[:2]}; got "
                    f"{getattr(opaque, 'shape', None)} {getattr(opaque, 'dtype', type(opaque))}."
                )
            if opaque.all():
                object.__setattr__(self, "opaque", None)

    @property
    def height(self) -> int:
        """Number of pixel rows."""
        return self.pixels.shape[0]

    @property
    def width(self) -> int:
        """Number of pixel columns."""
        return self.pixels.shape[1]

    @property
    def n_pixels(self) -> int:
        """All pixels, opaque or not (height times width)."""
        return self.height * self.width

    @property
    def n_opaque(self) -> int:
        """Pixels with alpha >= 128: the ones that take part in clustering."""
        return self.n_pixels if self.opaque is None else int(np.count_nonzero(self.opaque))

    @property
    def reduction_notice(self) -> str | None:
        """One plain sentence saying the picture is explored smaller; None when it is not."""
        if self.original_size is None:
            return None
        width, height = self.original_size
        return (
            f"Your {megapixels(width * height)}-megapixel picture is explored at "
            f"{megapixels(self.n_pixels)} megapixels; downloads are full size."
        )

    @property
    def has_transparency(self) -> bool:
        """Whether some pixels are transparent."""
        return self.opaque is not None

    def part(self, index: object) -> Image:
        """The pixels at ``index`` (a band of rows, a crop window, a grid of
        ``np.ix_``) as an image of their own, with their part of the mask."""
        opaque = None if self.opaque is None else self.opaque[index]
        return Image(pixels=self.pixels[index], opaque=opaque, name=self.name)

    def opaque_pixels(self) -> np.ndarray:
        """The opaque pixels in row-major order.

        Returns
        -------
        ndarray of uint8, shape (n_opaque, 3)
            A view of ``pixels`` when every pixel is opaque, else a copy.
        """
        if self.opaque is None:
            return self.pixels.reshape(-1, 3)
        return self.pixels[self.opaque]


@contextmanager
def _binary_stream(source: str | os.PathLike | bytes | BinaryIO) -> Iterator[BinaryIO]:
    """Yield a seekable binary stream over ``source``, closing files opened here."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        yield io.BytesIO(source)
    elif isinstance(source, (str, os.PathLike)):
        try:
            stream = open(source, "rb")  # closed by the with below
        except FileNotFoundError as error:
            raise InputError(
                f"There is no file at '{source}'. Check the file name and folder."
            ) from error
        except OSError as error:
            raise InputError(
                f"The file '{source}' could not be opened ({error.strerror}). "
                "Check that it is a file you are allowed to read."
            ) from error
        with stream:
            yield stream
    elif hasattr(source, "read"):
        seekable = getattr(source, "seekable", None)
        # Pillow seeks while identifying the format, so a pipe or socket is read whole.
        yield source if seekable is not None and seekable() else io.BytesIO(source.read())
    else:
        raise InputError(
            f"An image cannot be read from a {type(source).__name__}. "
            "Give a file path, the file's bytes, or an open file."
        )


def _is_empty(stream: BinaryIO) -> bool:
    """Whether nothing is left to read, leaving the position unchanged."""
    position = stream.tell()
    empty = not stream.read(1)
    stream.seek(position)
    return empty


def megapixels(n_pixels: int) -> str:
    """A pixel count in megapixels as people say it: "49", "12", "0.3"."""
    value = n_pixels / 1e6
    return f"{value:.0f}" if value >= 9.5 else f"{value:.2g}"


def _too_large(max_pixels: int, size: tuple[int, int] | None = None) -> InputError:
    """The error for an image over the pixel limit, with its size when known."""
    what = "This image"
    if size is not None:
        what += f" ({size[0]:,} × {size[1]:,} pixels, {megapixels(size[0] * size[1])} megapixels)"
    limit = f"{megapixels(max_pixels)} megapixels"
    return InputError(
        f"{what} is too large: the limit is {limit}. Resize it to {limit} or fewer and try again."
    )


def check_whole_number(value: int, what: str) -> None:
    """Raise InputError unless ``value`` (described as ``what``) is a positive whole number."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(f"The {what} must be a positive whole number; got {value!r}.")


def _to_arrays(im: PILImage.Image) -> tuple[np.ndarray, np.ndarray | None]:
    """Decoded Pillow image -> (RGB uint8 pixels, opaque mask or None)."""
    if im.mode in _WIDE_GREY_MODES:
        # Pillow's own conversion to 8 bits clips 16-bit values at 255; scale instead.
        raw = np.asarray(im)
        key = im.info.get("transparency")
        opaque = raw != key if isinstance(key, int) else None
        if raw.dtype != np.uint16:  # big-endian or 32-bit storage
            raw = np.clip(raw, 0, 65535).astype(np.uint16)
        grey = _SCALE_16_TO_8[raw]
        return np.repeat(grey[:, :, None], 3, axis=2), opaque
    if im.mode == "F":
        raise InputError(
            "This image stores measurements as decimal numbers (a scientific image), "
            "not colours. Save it as an ordinary 8- or 16-bit PNG or TIFF."
        )
    if not im.has_transparency_data:
        return np.asarray(im if im.mode == "RGB" else im.convert("RGB")), None
    # Covers RGBA, LA, palettes with transparent entries and transparent-colour keys.
    rgba = np.asarray(im.convert("RGBA"))
    return np.ascontiguousarray(rgba[:, :, :3]), rgba[:, :, 3] >= 128


def rows_to_arrays(
    im: PILImage.Image, top: int, bottom: int
) -> tuple[np.ndarray, np.ndarray | None]:
    """Rows ``top`` to ``bottom`` (excluded) of a decoded Pillow image as arrays.

    Parameters
    ----------
    im : PIL.Image.Image
        An image from :func:`open_untrusted`, in its stored orientation.
    top, bottom : int

    Returns
    -------
    pixels : ndarray of uint8, shape (bottom - top, W, 3)
        sRGB values, converted as :func:`load_image` converts a whole picture.
    opaque : ndarray of bool, shape (bottom - top, W), or None
        True where alpha >= 128; None when the picture has no transparency data.
    """
    # A crop keeps the mode, palette and transparency key the conversion needs.
    return _to_arrays(im.crop((0, top, im.width, bottom)))


# EXIF orientation -> the numpy view that shows a stored (H, W, ...) array upright,
# as Pillow's exif_transpose turns a picture (1, upright already, is not listed).
UPRIGHT_VIEWS: dict[int, Callable[[np.ndarray], np.ndarray]] = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.swapaxes(0, 1),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: a[::-1, ::-1].swapaxes(0, 1),
    8: lambda a: np.rot90(a, 1),
}


def exif_orientation(im: PILImage.Image) -> int:
    """The EXIF orientation of a picture (1, upright as stored, when it has none)."""
    return im.getexif().get(ExifTags.Base.Orientation, 1)


def orient_like(target: PILImage.Image, source: PILImage.Image) -> None:
    """Turn ``target`` in place as the EXIF orientation of ``source`` says.

    Lets a picture be processed in its stored orientation and only the (smaller)
    result be turned; Pillow's ``exif_transpose`` then applies the orientation.
    """
    orientation = exif_orientation(source)
    if orientation in UPRIGHT_VIEWS:
        target.getexif()[ExifTags.Base.Orientation] = orientation
        ImageOps.exif_transpose(target, in_place=True)


@contextmanager
def open_untrusted(
    source: str | os.PathLike | bytes | BinaryIO, *, max_pixels: int = DEFAULT_MAX_PIXELS
) -> Iterator[PILImage.Image]:
    """Open an untrusted image file, refusing it from its header when it is too large.

    Use it as ``with open_untrusted(data) as im:``. Pillow decodes the pixels
    when they are first needed, inside the ``with`` block; any failure there,
    or in the block's own use of them, becomes an :class:`InputError` whose
    message can be shown as is.

    Parameters
    ----------
    source : path, bytes or binary file-like object
    max_pixels : int, default=DEFAULT_MAX_PIXELS
        Larger images are refused before any decoding.

    Yields
    ------
    PIL.Image.Image
        The undecoded picture in its stored orientation (see :func:`orient_like`).

    Raises
    ------
    InputError
        When the input is empty, not an image, damaged, in an unsupported
        format or larger than ``max_pixels``.
    """
    check_whole_number(max_pixels, "pixel limit")
    with _binary_stream(source) as stream:
        if _is_empty(stream):
            raise InputError("The file is empty (0 bytes). Choose the image file again.")
        try:
            # Image.open only reads the header, so the size is known before decoding.
            with PILImage.open(stream, formats=_FORMATS) as im:
                if im.width * im.height > max_pixels:
                    raise _too_large(max_pixels, im.size)
                try:
                    yield im
                finally:
                    # Frees the decoded pixels at the end of the block; leaving the
                    # with statement only closes the file.
                    im.close()
        except InputError:
            raise
        except PILImage.UnidentifiedImageError as error:
            raise InputError(
                "This file is not an image that can be read here. Supported formats are "
                f"{_SUPPORTED}; if the file is one of these, it may be damaged."
            ) from error
        except (PILImage.DecompressionBombError, PILImage.DecompressionBombWarning) as error:
            # Pillow's own guard (its limit, or warnings turned into errors by the caller).
            raise _too_large(max_pixels) from error
        except MemoryError as error:
            raise InputError(
                "There is not enough memory to open this image. Try a smaller image."
            ) from error
        except Exception as error:
            # Decoders of untrusted files fail in many ways (OSError, SyntaxError,
            # struct.error, ValueError...); all mean the file cannot be used.
            raise InputError(
                "This image could not be decoded: the file seems damaged or incomplete "
                "(for example, an interrupted download) or uses a variant of its format "
                "that is not supported. Try saving or downloading it again, as PNG or JPEG."
            ) from error


def _draft_pixels(width: int, height: int, factor: int) -> int:
    """Pixels of a ``width`` x ``height`` JPEG decoded at 1/``factor`` (partial blocks round up)."""
    return -(-width // factor) * -(-height // factor)


def palette_draft_factor(
    width: int, height: int, min_pixels: int = PALETTE_DRAFT_MIN_PIXELS
) -> int:
    """The reduction at which a JPEG of ``width`` x ``height`` is decoded for its palette alone.

    The rule: the largest of 8, 4 and 2 whose decoded picture keeps at least
    ``min_pixels`` pixels (:data:`PALETTE_DRAFT_MIN_PIXELS`, 500,000); 1 (no
    reduction) when even 1/2 keeps fewer. So a 12 MP photo (4000 x 3000) is
    decoded at 1/4 (750,000 pixels), a 2 MP one (1732 x 1155) at 1/2 (500,548),
    a 50 MP one at 1/8 (781,250), and a 1.9 MP one (1600 x 1200) whole.

    Measured by ``benchmarks/bench_draft.py``: palettes fitted on the draft and on
    the full decode, each scored by the PSNR of the FULL picture redrawn with it
    (nearest colour), mean of seeds 0-2, k = 4, 8, 16, 32 and 64, on scikit-learn's
    two sample photos and on 2 MP and 12 MP photo-like pictures made from them (JPEG
    quality 90). Every draft of 500,000 pixels or more lost at most 0.05 dB (the
    draft this rule chooses: 2 MP at 1/2 at most 0.028 dB, 12 MP at 1/4 at most
    0.010 dB), its fit (``quantize`` alone) taking a fifth to two fifths of the full
    decode's. Smaller drafts lost more: up to 0.15 dB at 125,137 pixels (2 MP at
    1/4) and 0.087 dB at 187,500 (12 MP at 1/8); a real 640 x 427 photo lost 0.28 dB
    already at 1/2 (68,480 pixels). What a draft loses is fine detail, so the
    threshold is a pixel count, not a factor. The generated pictures are upscaled,
    with less fine detail than a camera's: a real 12 MP photo may lose more at 1/4
    than they did.

    It saves time only where the palette alone is wanted. A batch record
    (:func:`kmeans_lib.batch.palette_record`) also gives the PSNR and mean ΔE
    of the full picture, which then has to be decoded and counted anyway, and
    the fit runs on a histogram of colours whose cost hardly grows with the
    pixels: fitted on the draft and measured on the full picture, a record of
    the 2 MP and 12 MP pictures took 1.05 to 1.23 times the CPU time of one
    fitted on the full decode (``bench_draft.py``'s last table, k = 16 and 64).
    So records fit on the full decode, and only a batch of palettes alone
    (``kmeans-colours batch --no-quality``, ``BatchOptions(measure_quality=False)``)
    fits on the draft this rule chooses.
    """
    for factor in _DRAFT_FACTORS:
        if _draft_pixels(width, height, factor) >= min_pixels:
            return factor
    return 1


def jpeg_palette_draft(
    source: str | os.PathLike | bytes | BinaryIO, *, max_pixels: int = DEFAULT_MAX_PIXELS
) -> int:
    """The ``draft_factor`` for :func:`load_image` when only a palette is wanted, from the
    file's header (nothing is decoded): :func:`palette_draft_factor` of a JPEG's size,
    1 for any other format. As in
    ``quantize(load_image(path, draft_factor=jpeg_palette_draft(path)), k).palette``.

    Raises
    ------
    InputError
        As :func:`open_untrusted` does.
    """
    with open_untrusted(source, max_pixels=max_pixels) as im:
        return palette_draft_factor(*im.size) if im.format == "JPEG" else 1


def _draft(im: PILImage.Image, working_max_pixels: int) -> None:
    """Let a JPEG decoder scale by the largest of 1/8, 1/4, 1/2 that keeps the working size.

    "Keeps" allows :data:`_DRAFT_MIN_SHARE`; other formats are left alone.
    """
    if im.format != "JPEG":
        return
    width, height = im.size
    for factor in _DRAFT_FACTORS:
        # The decoder rounds partial blocks up.
        if _draft_pixels(width, height, factor) >= _DRAFT_MIN_SHARE * working_max_pixels:
            # Pillow picks the largest factor whose result covers the requested size.
            im.draft("RGB", (width // factor, height // factor))
            return


def _shrink(
    im: PILImage.Image, max_pixels: int, band_rows: int
) -> tuple[np.ndarray, np.ndarray | None]:
    """Lanczos-shrink a picture to at most ``max_pixels``, converting a band of rows at a time.

    Returns the RGB pixels and the opaque mask (resized with nearest neighbour
    as :func:`resize_to_fit` does; None without transparency data), both in the
    stored orientation. Each band converts only the source rows its filter
    reaches and goes straight into the arrays, so no second full-size copy is
    made and the result takes three bytes a pixel, not Pillow's four. The two
    passes are explicit because Pillow's own order differs between a band and
    a whole picture, which changes values by a few levels.
    """
    width, height = im.size
    scale = math.sqrt(max_pixels / (width * height))
    size = (max(1, int(width * scale)), max(1, int(height * scale)))
    y_scale = height / size[1]
    reach = _LANCZOS_RADIUS * max(y_scale, 1.0) + 1
    pixels = np.empty((size[1], size[0], 3), dtype=np.uint8)
    mask = None
    for top in range(0, size[1], band_rows):
        bottom = min(top + band_rows, size[1])
        y0, y1 = top * y_scale, bottom * y_scale
        first, last = max(0, math.floor(y0 - reach)), min(height, math.ceil(y1 + reach))
        rows = im.crop((0, first, width, last))
        opaque = None
        if rows.mode != "RGB" or rows.has_transparency_data:
            band, opaque = _to_arrays(rows)
            rows = PILImage.fromarray(band)
        band_size = (size[0], bottom - top)
        box = (0, y0 - first, size[0], y1 - first)
        wide = rows.resize((size[0], last - first), PILImage.Resampling.LANCZOS)
        pixels[top:bottom] = wide.resize(band_size, PILImage.Resampling.LANCZOS, box=box)
        if opaque is not None:
            if mask is None:
                mask = np.ones((size[1], size[0]), dtype=bool)
            mask_box = (0, y0 - first, width, y1 - first)
            mask[top:bottom] = PILImage.fromarray(opaque).resize(
                band_size, PILImage.Resampling.NEAREST, box=mask_box
            )
    return pixels, mask


def decode_memory(
    source: str | os.PathLike | bytes | BinaryIO,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    working_max_pixels: int = WORKING_MAX_PIXELS,
) -> int:
    """About the most memory :func:`load_image` holds while decoding this file, from its
    header alone (nothing is decoded).

    Pillow keeps a decoded picture at four bytes a pixel, at the reduced size a
    JPEG decoder can scale to (see :func:`load_image`); a picture above the
    working size is decoded whole before it is shrunk.

    Parameters
    ----------
    source : path, bytes or binary file-like object
    max_pixels, working_max_pixels : int
        As for :func:`load_image`.

    Returns
    -------
    int
        Bytes.

    Raises
    ------
    InputError
        As :func:`open_untrusted` does.
    """
    with open_untrusted(source, max_pixels=max_pixels) as im:
        if im.width * im.height > working_max_pixels:
            _draft(im, working_max_pixels)  # only sets the size the decoder will give
        return 4 * im.width * im.height


def load_image(
    source: str | os.PathLike | bytes | BinaryIO,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    working_max_pixels: int = WORKING_MAX_PIXELS,
    name: str | None = None,
    draft_factor: int = 1,
) -> Image:
    """Decode a PNG, JPEG, WebP, GIF (first frame), BMP or TIFF image.

    The EXIF orientation is applied; palette, greyscale, CMYK and 16-bit images
    become 8-bit sRGB (16-bit values are scaled, not clipped). Pixels with
    alpha < 128 are marked transparent. A picture of more than
    ``working_max_pixels`` is reduced to a working copy of at most that many
    while it is decoded, never holding two full-size copies: a JPEG is scaled
    by 1/2, 1/4 or 1/8 in its decoder, then (if still larger) any picture is
    shrunk with Lanczos a band of rows at a time.

    Parameters
    ----------
    source : path, bytes or binary file-like object
        The image file. It is treated as untrusted.
    max_pixels : int, default=DEFAULT_MAX_PIXELS
        Larger images are refused from their header, before any decoding.
    working_max_pixels : int, default=WORKING_MAX_PIXELS
        Larger images are reduced to a working copy of at most this many pixels.
    name : str, optional
        A label for the image; by default the file name when there is one.
    draft_factor : {1, 2, 4, 8}, default 1
        Decode a JPEG at (at most) 1/``draft_factor`` of its size, as
        :func:`jpeg_palette_draft` advises when only a palette is wanted;
        other formats are decoded as without it.

    Returns
    -------
    Image
        With ``original_size`` set (and a ``reduction_notice``) when it is a
        reduced working copy.

    Raises
    ------
    InputError
        When the input is empty, not an image, damaged, in an unsupported
        format or larger than ``max_pixels``.
    """
    check_whole_number(working_max_pixels, "working size")
    if name is None:
        file_name = (
            source if isinstance(source, (str, os.PathLike)) else getattr(source, "name", None)
        )
        name = Path(file_name).name if isinstance(file_name, (str, os.PathLike)) else "image"

    upright = None
    with open_untrusted(source, max_pixels=max_pixels) as im:
        stored_size = im.size
        if draft_factor not in (1, *_DRAFT_FACTORS):
            raise InputError(f"A JPEG can be decoded at 1/2, 1/4 or 1/8; got 1/{draft_factor!r}.")
        if draft_factor > 1 and im.format == "JPEG":
            # A later draft (for the working size) is then left alone by Pillow,
            # and would never reduce more than the palette's rule.
            im.draft("RGB", (im.width // draft_factor, im.height // draft_factor))
        if im.width * im.height > working_max_pixels:
            _draft(im, working_max_pixels)
        unturned_size = im.size
        if im.width * im.height > working_max_pixels:
            # Shrink first: turning the picture copies it.
            pixels, opaque = _shrink(im, working_max_pixels, _SHRINK_BAND_ROWS)
            unturned_size = (pixels.shape[1], pixels.shape[0])
            upright = UPRIGHT_VIEWS.get(exif_orientation(im))
        else:
            ImageOps.exif_transpose(im, in_place=True)  # decodes the first frame
            pixels, opaque = _to_arrays(im)
    if upright is not None:  # turned once the full-size picture is closed
        pixels = np.ascontiguousarray(upright(pixels))
        opaque = None if opaque is None else np.ascontiguousarray(upright(opaque))
    original_size = None
    if pixels.shape[0] * pixels.shape[1] < stored_size[0] * stored_size[1]:
        turned = (pixels.shape[1], pixels.shape[0]) != unturned_size
        original_size = stored_size[::-1] if turned else stored_size
    return Image(pixels=pixels, opaque=opaque, name=name, original_size=original_size)


def sample_names() -> tuple[str, ...]:
    """Names of the built-in sample images; the first is the default."""
    return _SAMPLES


def load_sample(name: str) -> Image:
    """Load a sample image shipped with scikit-learn (no network needed).

    Parameters
    ----------
    name : str
        One of :func:`sample_names`.

    Returns
    -------
    Image
    """
    if name not in _SAMPLES:
        raise InputError(
            f"There is no sample image called {name!r}. Choose one of: {', '.join(_SAMPLES)}."
        )
    # Imported here: reading pictures does not wait for scikit-learn to load.
    from sklearn.datasets import load_sample_image

    return Image(pixels=load_sample_image(f"{name}.jpg"), name=f"{name}.jpg")


def encode_png(
    pixels: np.ndarray, opaque: np.ndarray | None = None, *, compress_level: int = 6
) -> bytes:
    """Encode pixels as a PNG file.

    Parameters
    ----------
    pixels : ndarray of uint8, shape (H, W, 3)
    opaque : ndarray of bool, shape (H, W), optional
        When given and not all True, the PNG is RGBA with alpha 0 where False.
    compress_level : int, default 6
        zlib's level, 0 to 9: 1 takes about half the time of 6 on a photo.

    Returns
    -------
    bytes
        An RGB or RGBA PNG.
    """
    image = Image(pixels=pixels, opaque=opaque)  # validates shapes, drops all-True masks
    im = PILImage.fromarray(image.pixels)
    if image.opaque is not None:
        im.putalpha(PILImage.fromarray(image.opaque.astype(np.uint8) * np.uint8(255)))
    return save_png(im, compress_level=compress_level)


def save_png(im: PILImage.Image, **options) -> bytes:
    """A Pillow image as PNG bytes; ``options`` go to Pillow's PNG writer."""
    buffer = io.BytesIO()
    im.save(buffer, format="PNG", **options)
    return buffer.getvalue()


def encode_preview(image: Image) -> bytes:
    """Encode an image for display: JPEG (quality 90) when opaque, else a quick PNG.

    A JPEG of a 1,400-pixel photo takes about 1% of the time of a PNG and a
    fifth of its size; only PNG keeps transparency.
    """
    if image.opaque is not None:
        return encode_png(image.pixels, image.opaque, compress_level=1)
    buffer = io.BytesIO()
    PILImage.fromarray(image.pixels).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def resize_to_fit(image: Image, max_side: int) -> Image:
    """Shrink an image for display so that neither side exceeds ``max_side``.

    Parameters
    ----------
    image : Image
    max_side : int
        Largest allowed width or height, in pixels.

    Returns
    -------
    Image
        ``image`` itself when it already fits; otherwise a Lanczos-filtered
        copy (the transparency mask is resized with nearest neighbour).
    """
    if isinstance(max_side, bool) or not isinstance(max_side, int) or max_side < 1:
        raise InputError(f"The preview size must be a positive whole number; got {max_side!r}.")
    longest = max(image.height, image.width)
    if longest <= max_side:
        return image
    scale = max_side / longest
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    # reducing_gap lets Pillow shrink big photos by whole factors first (a box
    # average), then finish with Lanczos: a 12 MP photo's 1,400-pixel preview in
    # 0.07 s instead of 0.16 s, within 0.5 levels on average (4 at most).
    pixels = PILImage.fromarray(image.pixels).resize(
        size, PILImage.Resampling.LANCZOS, reducing_gap=1.0
    )
    opaque = None
    if image.opaque is not None:
        mask = PILImage.fromarray(image.opaque).resize(size, PILImage.Resampling.NEAREST)
        opaque = np.asarray(mask, dtype=bool)
    return Image(pixels=np.asarray(pixels), opaque=opaque, name=image.name)
