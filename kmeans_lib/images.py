"""Images in and out: decode untrusted files safely, encode PNGs, make previews."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image as PILImage
from PIL import ImageOps
from sklearn.datasets import load_sample_image

from kmeans_lib.errors import InputError

DEFAULT_MAX_PIXELS = 50_000_000
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
    """

    pixels: np.ndarray
    opaque: np.ndarray | None = None
    name: str = "image"

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
    def has_transparency(self) -> bool:
        """Whether some pixels are transparent."""
        return self.opaque is not None

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


def _too_large(max_pixels: int, size: tuple[int, int] | None = None) -> InputError:
    """The error for an image over the pixel limit, with its size when known."""
    what = "This image" if size is None else f"This image ({size[0]:,} × {size[1]:,} pixels)"
    return InputError(
        f"{what} is too large to open safely: the limit is "
        f"{max_pixels / 1e6:g} megapixels. Resize it to fewer pixels and try again."
    )


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


def load_image(
    source: str | os.PathLike | bytes | BinaryIO,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    name: str | None = None,
) -> Image:
    """Decode a PNG, JPEG, WebP, GIF (first frame), BMP or TIFF image.

    The EXIF orientation is applied; palette, greyscale, CMYK and 16-bit images
    become 8-bit sRGB (16-bit values are scaled, not clipped). Pixels with
    alpha < 128 are marked transparent.

    Parameters
    ----------
    source : path, bytes or binary file-like object
        The image file. It is treated as untrusted.
    max_pixels : int, default=DEFAULT_MAX_PIXELS
        Larger images are refused from their header, before any decoding.
    name : str, optional
        A label for the image; by default the file name when there is one.

    Returns
    -------
    Image

    Raises
    ------
    InputError
        When the input is empty, not an image, damaged, in an unsupported
        format or larger than ``max_pixels``.
    """
    if isinstance(max_pixels, bool) or not isinstance(max_pixels, int) or max_pixels < 1:
        raise InputError(f"The pixel limit must be a positive whole number; got {max_pixels!r}.")
    if name is None:
        file_name = (
            source if isinstance(source, (str, os.PathLike)) else getattr(source, "name", None)
        )
        name = Path(file_name).name if isinstance(file_name, (str, os.PathLike)) else "image"

    with _binary_stream(source) as stream:
        if _is_empty(stream):
            raise InputError("The file is empty (0 bytes). Choose the image file again.")
        try:
            # Image.open only reads the header, so the size is known before decoding.
            with PILImage.open(stream, formats=_FORMATS) as im:
                if im.width * im.height > max_pixels:
                    raise _too_large(max_pixels, im.size)
                ImageOps.exif_transpose(im, in_place=True)  # decodes the first frame
                pixels, opaque = _to_arrays(im)
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
    return Image(pixels=pixels, opaque=opaque, name=name)


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
    buffer = io.BytesIO()
    im.save(buffer, format="PNG", compress_level=compress_level)
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
    # reducing_gap lets Pillow shrink big photos by whole factors first: much faster,
    # and indistinguishable at preview size.
    pixels = PILImage.fromarray(image.pixels).resize(
        size, PILImage.Resampling.LANCZOS, reducing_gap=3.0
    )
    opaque = None
    if image.opaque is not None:
        mask = PILImage.fromarray(image.opaque).resize(size, PILImage.Resampling.NEAREST)
        opaque = np.asarray(mask, dtype=bool)
    return Image(pixels=np.asarray(pixels), opaque=opaque, name=image.name)
