"""The quantized image: redraw, PNG and indexed-PNG bytes, full-size download, file sizes."""

from __future__ import annotations

import functools
import io
import os
import struct
import threading
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
from PIL import Image as PILImage
from sklearn.metrics import pairwise_distances_argmin

from kmeans_lib.clustering import Quantization, _threads_for
from kmeans_lib.colour_space import to_features, to_srgb
from kmeans_lib.errors import InputError
from kmeans_lib.images import (
    DEFAULT_MAX_PIXELS,
    UPRIGHT_VIEWS,
    Image,
    check_whole_number,
    encode_png,
    exif_orientation,
    open_untrusted,
    orient_like,
    rows_to_arrays,
    save_png,
)
from kmeans_lib.pixels import (
    N_CODES,
    ColourLookup,
    codes_to_colours,
    colour_codes,
    count_colours_with_index,
    place_opaque,
    take_rows,
)

_PNG_MAX_PALETTE = 256
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Rows painted at once by full_size_png: 1.8 million pixels of a 7000-wide photo.
DOWNLOAD_BAND_ROWS = 256
# zlib level of the full-size download: 6 is zlib's and Pillow's default.
DOWNLOAD_COMPRESS_LEVEL = 6
# The most that full_size_png's table from every colour to its palette index takes.
_DOWNLOAD_TABLE_BYTES = 2 * N_CODES


def check_match(image: Image, quantization: Quantization) -> None:
    """Raise InputError when ``quantization`` was computed for an image of another size."""
    if quantization.size != (image.width, image.height):
        width, height = quantization.size
        raise InputError(
            f"These colours were computed for a {width} × {height} image, not for this "
            f"{image.width} × {image.height} one. Run the colour grouping again on this image."
        )


def redraw(image: Image, quantization: Quantization) -> np.ndarray:
    """Paint every pixel with its cluster's palette colour.

    Parameters
    ----------
    image : Image
    quantization : Quantization
        The result of :func:`~kmeans_lib.clustering.quantize` for ``image``.

    Returns
    -------
    ndarray of uint8, shape (H, W, 3)
        Transparent pixels get an arbitrary palette colour; ``image.opaque``
        says which pixels they are.
    """
    check_match(image, quantization)
    # take_rows sends the -1 of transparent pixels to the last palette colour.
    return take_rows(quantization.palette, quantization.labels)


def redraw_png(image: Image, quantization: Quantization) -> bytes:
    """The redrawn image as PNG bytes (RGBA when the image has transparent pixels)."""
    return encode_png(redraw(image, quantization), image.opaque)


def indexed_png(image: Image, quantization: Quantization, *, compress_level: int = 6) -> bytes:
    """The redrawn image as a palette PNG: one byte or less per pixel.

    Parameters
    ----------
    image : Image
    quantization : Quantization
    compress_level : int, default 6
        zlib's level, 0 to 9 (see :func:`~kmeans_lib.images.encode_png`).

    Returns
    -------
    bytes
        A mode "P" PNG whose palette is ``quantization.palette``, plus one fully
        transparent entry after it when the image has transparent pixels.
        Written without Pillow's ``optimize=True``, which made the file at most
        2% smaller and took eight times as long (4 s on 12 megapixels).

    Raises
    ------
    InputError
        When the image has transparent pixels and the palette already has 256
        colours, leaving no entry for transparency.
    """
    _check_palette_png(image, quantization)
    return labels_png(
        quantization.labels, quantization.palette, image.has_transparency, compress_level
    )


def _check_palette_png(image: Image, quantization: Quantization) -> None:
    """Raise InputError unless ``quantization``'s palette PNG of ``image`` can be written."""
    check_match(image, quantization)
    if image.has_transparency and quantization.n_colours >= _PNG_MAX_PALETTE:
        raise InputError(
            "A palette PNG holds at most 256 entries, and this image needs all of "
            "them for colours plus one for its transparent pixels. Choose 255 "
            "colours or fewer to save it as a palette PNG."
        )


def labels_png(
    labels: np.ndarray, palette: np.ndarray, transparent: bool, compress_level: int
) -> bytes:
    """Palette indices (int, -1 where transparent) as a palette PNG of ``palette``.

    With ``transparent``, the entry after ``palette`` is fully transparent.
    """
    # int -> uint8 turns -1 (transparent) into 255; it is then set to the extra entry.
    indices = labels.astype(np.uint8)
    if transparent:
        indices[labels < 0] = len(palette)
    return _palette_png(
        PILImage.fromarray(indices), palette, transparent, compress_level=compress_level
    )


def nearest_labels(image: Image, quantization: Quantization) -> np.ndarray:
    """The palette index of each pixel's nearest centre, in the fit's colour space.

    For an image other than the one ``quantization`` was fitted on, such as a
    shrunk copy of it.

    Returns
    -------
    ndarray of int16, shape (H, W)
        -1 where the pixel is transparent.
    """
    space = quantization.colour_space
    # The unrounded centroids, back in the fit's space: the centres it measured from.
    return _nearest(image, to_features(quantization.centroids, space), space)


def paint(image: Image, centres: np.ndarray, colour_space: str) -> np.ndarray:
    """Paint every pixel with the colour of its nearest centre.

    Parameters
    ----------
    image : Image
    centres : ndarray of shape (k, 3)
        Cluster centres in ``colour_space`` coordinates, as a fit returns them
        (for example :attr:`~kmeans_lib.selection.ElbowCurve.centers`).
    colour_space : {"rgb", "lab"}

    Returns
    -------
    ndarray of uint8, shape (H, W, 3)
        Transparent pixels get an arbitrary centre's colour.
    """
    palette = np.rint(to_srgb(centres, colour_space)).astype(np.uint8)
    return take_rows(palette, _nearest(image, centres, colour_space))


def _nearest(image: Image, centres: np.ndarray, space: str) -> np.ndarray:
    """Index of each opaque pixel's nearest centre, worked out once per distinct colour."""
    colours, index = count_colours_with_index(image)
    labels = _nearest_centres(colours.colours, centres, space).astype(np.int16)
    return place_opaque(image, take_rows(labels, index), fill=-1)


def painted_png(image: Image, quantization: Quantization, *, compress_level: int = 6) -> bytes:
    """Any image painted with a quantization's palette (:func:`nearest_labels`), as PNG.

    For a shrunk copy of the fitted picture this is the redraw at that size with
    exactly the palette's colours, where shrinking the full-size redraw would
    blend them. A palette PNG, or RGBA when 256 colours leave no entry for
    transparency.
    """
    labels = nearest_labels(image, quantization)
    return painted_labels_png(image, labels, quantization.palette, compress_level)


def painted_labels_png(
    image: Image, labels: np.ndarray, palette: np.ndarray, compress_level: int = 6
) -> bytes:
    """``image`` with each pixel in ``palette[labels]``, as PNG.

    Parameters
    ----------
    image : Image
        Only its size and transparency are used.
    labels : ndarray of int, shape (H, W)
        Palette index of every pixel, -1 where transparent.
    palette : ndarray of uint8, shape (n, 3)
    compress_level : int, default 6

    Returns
    -------
    bytes
        A palette PNG, or RGBA when 256 colours leave no entry for transparency.
        Painting stored labels with a new palette is a lookup: nothing is refitted.
    """
    if image.has_transparency and len(palette) >= _PNG_MAX_PALETTE:
        return encode_png(take_rows(palette, labels), image.opaque, compress_level=compress_level)
    return labels_png(labels, palette, image.has_transparency, compress_level)


def painted_pngs(
    image: Image, centres: Iterable[np.ndarray], colour_space: str, *, compress_level: int = 6
) -> list[bytes]:
    """The image painted with each set of centres in turn, every pixel in its nearest one's colour.

    Parameters
    ----------
    image : Image
        A small picture: a thumbnail for each step of a k-means run.
    centres : iterable of ndarray of shape (k, 3)
        Centres in ``colour_space`` coordinates, at most 256 of them.
    colour_space : {"rgb", "lab"}
    compress_level : int, default 6

    Returns
    -------
    list of bytes
        One PNG per set of centres. The picture's colours are counted and
        converted once for all of them.
    """
    colours, index = count_colours_with_index(image)
    features = to_features(colours.colours, colour_space)
    pngs = []
    for step_centres in centres:
        with _threads_for(len(features)):
            nearest = pairwise_distances_argmin(features, step_centres).astype(np.int16)
        labels = place_opaque(image, take_rows(nearest, index), fill=-1)
        palette = np.rint(to_srgb(step_centres, colour_space)).astype(np.uint8)
        pngs.append(painted_labels_png(image, labels, palette, compress_level))
    return pngs


def _nearest_centres(colours: np.ndarray, centres: np.ndarray, space: str) -> np.ndarray:
    """Index of the nearest of ``centres`` (in ``space``) to each (m, 3) sRGB colour."""
    return pairwise_distances_argmin(to_features(colours, space), centres)


def _palette_png(
    indices: PILImage.Image, palette: np.ndarray, transparent: bool, *, compress_level: int = 6
) -> bytes:
    """Palette indices (mode "L") as a palette PNG, with a transparent entry after ``palette``."""
    options = {}
    if transparent:
        options["transparency"] = len(palette)
        palette = np.vstack([palette, np.zeros((1, 3), np.uint8)])
    # A palette of exactly the used entries lets Pillow pack 2, 4 or 16 colours
    # into 1, 2 or 4 bits per pixel.
    indices.putpalette(palette.tobytes(), rawmode="RGB")
    return save_png(indices, compress_level=compress_level, **options)


def _palette_indexer(quantization: Quantization) -> Callable[[np.ndarray], np.ndarray]:
    """A function giving each pixel of an ``(h, w, 3)`` band its palette index (uint8).

    A colour of the picture ``quantization`` was fitted on keeps the index it
    has there, so the download agrees with the on-screen redraw. Any other
    colour gets its nearest centre in the fit's colour space; it is worked out
    once per distinct colour (CIELAB conversion included) and kept in a table
    over all 2**24 colours: 16 MB of uint8 below 255 colours, else 32 MB of int16.
    """
    space = quantization.colour_space
    centres = to_features(quantization.centroids, space)
    dtype = np.uint8 if quantization.n_colours < 255 else np.int16
    unknown = np.iinfo(dtype).max  # never a palette index
    table = np.full(N_CODES, unknown, dtype=dtype)  # at most _DOWNLOAD_TABLE_BYTES
    table[colour_codes(quantization.colours.colours)] = quantization.colour_labels

    def palette_index(pixels: np.ndarray) -> np.ndarray:
        codes = colour_codes(pixels)
        # mode="wrap" never wraps (codes are below N_CODES); it skips a bounds-check copy.
        labels = np.take(table, codes, mode="wrap")
        new = labels == unknown
        if new.any():
            new_codes = np.unique(codes[new])
            table[new_codes] = _nearest_centres(codes_to_colours(new_codes), centres, space)
            labels[new] = table[codes[new]]
        return labels.astype(np.uint8, copy=False)

    return palette_index


def full_size_memory(size: tuple[int, int]) -> int:
    """About the most memory :func:`full_size_png` takes for a picture of ``size`` (W, H).

    Pillow's full-size decode (four bytes a pixel), the index of a picture that
    EXIF turns (one byte a pixel) and the colour table; bands and the PNG itself
    are small beside them.
    """
    width, height = size
    return 5 * width * height + _DOWNLOAD_TABLE_BYTES


def full_size_png(
    source: str | os.PathLike | bytes | BinaryIO,
    quantization: Quantization,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    band_rows: int = DOWNLOAD_BAND_ROWS,
) -> bytes:
    """The full-size picture redrawn with a palette, painted a band of rows at a time.

    For a picture explored at a reduced working size (see
    :func:`~kmeans_lib.images.load_image`): the original file is decoded once at
    full size, with the same safety checks and orientation. A pixel whose colour
    is in the working copy gets the palette colour it has there; any other gets
    the nearest centre in the fit's colour space. Besides the decoded picture
    (which Pillow holds at four bytes a pixel), memory stays at a band of rows
    for a picture stored upright, which is written to the PNG as it is painted,
    and one byte a pixel for one that EXIF turns. For a picture explored at full
    size the pixels are those of :func:`indexed_png`.

    Parameters
    ----------
    source : path, bytes or binary file-like object
        The original image file, as given to :func:`~kmeans_lib.images.load_image`.
    quantization : Quantization
        The result of :func:`~kmeans_lib.clustering.quantize` on the working copy.
    max_pixels : int, default=DEFAULT_MAX_PIXELS
        Larger images are refused before decoding, as by ``load_image``.
    band_rows : int, default=DOWNLOAD_BAND_ROWS
        Rows painted at once.

    Returns
    -------
    bytes
        A palette PNG (8-bit indices, zlib level :data:`DOWNLOAD_COMPRESS_LEVEL`,
        with a transparent entry when the file has transparency), or, when 256
        colours leave no entry
        for transparency, an RGBA PNG as :func:`redraw_png` writes it.

    Raises
    ------
    InputError
        When the file cannot be used (see :func:`~kmeans_lib.images.open_untrusted`).
    """
    check_whole_number(band_rows, "band height")
    n_colours = quantization.n_colours
    palette_index = _palette_indexer(quantization)
    with open_untrusted(source, max_pixels=max_pixels) as im:
        transparent = im.has_transparency_data
        if transparent and n_colours >= _PNG_MAX_PALETTE:
            return _full_size_rgba(im, quantization, palette_index, band_rows)

        def paint_rows(top: int, bottom: int) -> np.ndarray:
            pixels, opaque = rows_to_arrays(im, top, bottom)
            band = palette_index(pixels)
            if opaque is not None:
                band[~opaque] = n_colours  # the transparent entry after the palette
            return band

        upright = UPRIGHT_VIEWS.get(exif_orientation(im))
        if upright is None:
            # Stored as shown: each band goes to the PNG as it is painted.
            bands = (
                paint_rows(top, min(top + band_rows, im.height))
                for top in range(0, im.height, band_rows)
            )
            return stream_palette_png(
                bands, im.size, quantization.palette, transparent, DOWNLOAD_COMPRESS_LEVEL
            )
        # Turned by its EXIF orientation: painted whole (a byte a pixel), then
        # read out turned, a band at a time, from a numpy view.
        indices = np.empty((im.height, im.width), dtype=np.uint8)
        for top in range(0, im.height, band_rows):
            bottom = min(top + band_rows, im.height)
            indices[top:bottom] = paint_rows(top, bottom)
    shown = upright(indices)
    bands = (shown[top : top + band_rows] for top in range(0, shown.shape[0], band_rows))
    size = (shown.shape[1], shown.shape[0])
    return stream_palette_png(
        bands, size, quantization.palette, transparent, DOWNLOAD_COMPRESS_LEVEL
    )


def stream_palette_png(
    bands: Iterable[np.ndarray],
    size: tuple[int, int],
    palette: np.ndarray,
    transparent: bool,
    compress_level: int,
) -> bytes:
    """A palette PNG written a band of rows at a time, never holding the whole picture.

    Pillow only writes a PNG from a whole image in memory, so this writes the
    format's few chunks itself: IHDR, PLTE, tRNS (entry ``len(palette)`` fully
    transparent when ``transparent``), the rows (8-bit indices, filter "none",
    the usual choice for palette images) as one zlib stream in IDAT chunks, IEND.
    """
    out = io.BytesIO()

    def chunk(kind: bytes, data: bytes) -> None:
        out.write(struct.pack(">I", len(data)) + kind + data)
        out.write(struct.pack(">I", zlib.crc32(kind + data)))

    width, height = size
    entries = palette.astype(np.uint8).tobytes()
    out.write(_PNG_SIGNATURE)
    chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 3, 0, 0, 0))
    chunk(b"PLTE", entries + (b"\0\0\0" if transparent else b""))
    if transparent:
        chunk(b"tRNS", b"\xff" * len(palette) + b"\0")
    packer = zlib.compressobj(compress_level)
    for band in bands:
        rows = np.zeros((band.shape[0], width + 1), dtype=np.uint8)  # column 0: filter type
        rows[:, 1:] = band
        if data := packer.compress(rows.tobytes()):
            chunk(b"IDAT", data)
    chunk(b"IDAT", packer.flush())
    chunk(b"IEND", b"")
    return out.getvalue()


def _full_size_rgba(
    im: PILImage.Image,
    quantization: Quantization,
    palette_index: Callable[[np.ndarray], np.ndarray],
    band_rows: int,
) -> bytes:
    """256 colours leave no palette entry for transparency: RGBA, as redraw_png writes."""
    indices = PILImage.new("L", im.size)
    alpha = PILImage.new("L", im.size, 255)
    for top in range(0, im.height, band_rows):
        pixels, opaque = rows_to_arrays(im, top, min(top + band_rows, im.height))
        band = palette_index(pixels)
        if opaque is not None:
            band[~opaque] = _PNG_MAX_PALETTE - 1  # the last colour, as redraw paints them
            alpha.paste(PILImage.fromarray(opaque).convert("L"), (0, top))
        indices.paste(PILImage.fromarray(band), (0, top))
    for layer in (indices, alpha):
        orient_like(layer, im)
    indices.putpalette(quantization.palette.tobytes(), rawmode="RGB")
    rgba = indices.convert("RGB")
    rgba.putalpha(alpha)
    return save_png(rgba)


@dataclass(frozen=True)
class FileSizes:
    """PNG sizes of the original image and of its palette version.

    Attributes
    ----------
    original_png : int
        Bytes of the original image as PNG (:func:`~kmeans_lib.images.encode_png`).
    indexed_png : int
        Bytes of :func:`indexed_png`.
    """

    original_png: int
    indexed_png: int

    @property
    def ratio(self) -> float:
        """``original_png / indexed_png``: how many times smaller the palette file is."""
        return self.original_png / self.indexed_png


def png_size(image: Image, *, compress_level: int = 6, band_rows: int | None = None) -> int:
    """Bytes of the image saved as a full-colour PNG (:func:`~kmeans_lib.images.encode_png`).

    Parameters
    ----------
    image : Image
    compress_level : int, default 6
        zlib's level, 0 to 9.
    band_rows : int, optional
        Encode bands of this many rows one at a time and add up their sizes
        (see :class:`BandedPngSize`), so that no full-size copy is made: Pillow
        holds an RGB picture at four bytes a pixel, plus the file. None encodes
        the whole picture at once.
    """
    if band_rows is None:
        return len(encode_png(image.pixels, image.opaque, compress_level=compress_level))
    return BandedPngSize.of_image(
        image, compress_level=compress_level, band_rows=band_rows
    ).measure()


def _png_parts(png: bytes) -> tuple[int, int]:
    """A PNG file's bytes outside its image data (signature, header, palette, end),
    and in it (its IDAT chunks)."""
    image_data, at = 0, len(_PNG_SIGNATURE)
    while at < len(png):
        (length,) = struct.unpack(">I", png[at : at + 4])
        if png[at + 4 : at + 8] == b"IDAT":
            image_data += length + 12  # length, type and CRC around the data
        at += length + 12
    return len(png) - image_data, image_data


class BandedPngSize:
    """A PNG's size measured a band of rows at a time, by every thread that asks.

    Each band is encoded as a PNG of its own: the size is one band's bytes
    outside the image data plus every band's image data. On the 12 MP benchmark
    photo, bands of 256 rows came to 0.03% more than one file, and no band
    holds more than a few megabytes. A background thread can start
    :meth:`measure`; the thread that needs the size calls it too and encodes
    the bands still left instead of waiting for them.

    Parameters
    ----------
    height : int
        Rows of the picture.
    encode_band : callable
        ``encode_band(rows)`` gives the rows ``rows`` (a slice) as PNG bytes.
    band_rows : int, default 256

    See Also
    --------
    BandedPngSize.of_image, BandedPngSize.of_redraw
    """

    def __init__(
        self, height: int, encode_band: Callable[[slice], bytes], *, band_rows: int = 256
    ) -> None:
        check_whole_number(band_rows, "band height")
        self._encode_band = encode_band
        self._tops = iter(range(0, height, band_rows))
        self._band_rows = band_rows
        self._left = -(-height // band_rows)  # bands not yet measured
        self._outside: int | None = None
        self._image_data = 0
        self._error: BaseException | None = None
        self._lock = threading.Lock()
        self._done = threading.Event()

    @classmethod
    def of_image(
        cls, image: Image, *, compress_level: int = 6, band_rows: int = 256
    ) -> BandedPngSize:
        """The image as a full-colour PNG (:func:`~kmeans_lib.images.encode_png`)."""

        def encode_band(rows: slice) -> bytes:
            band = image.part(rows)
            return encode_png(band.pixels, band.opaque, compress_level=compress_level)

        return cls(image.height, encode_band, band_rows=band_rows)

    @classmethod
    def of_redraw(
        cls,
        image: Image,
        quantization: Quantization,
        *,
        compress_level: int = 6,
        band_rows: int = 256,
    ) -> BandedPngSize:
        """The redrawn image as a palette PNG (:func:`indexed_png`).

        Raises
        ------
        InputError
            As :func:`indexed_png` does, when no palette PNG can hold the redraw.
        """
        _check_palette_png(image, quantization)

        # Made by the first band, so that a job still waiting holds nothing of its own.
        @functools.cache
        def lookup() -> ColourLookup:
            return ColourLookup(quantization.colours.colours, quantization.colour_labels)

        def encode_band(rows: slice) -> bytes:
            labels = lookup()(image.part(rows), fill=-1)
            return labels_png(labels, quantization.palette, image.has_transparency, compress_level)

        return cls(image.height, encode_band, band_rows=band_rows)

    def measure(self) -> int:
        """Encode bands until none is left, wait for the others' bands, return the size.

        Once every band is measured, the job holds only the size: the picture
        is let go, and any later call returns the size at once.

        Raises what encoding a band raised, in whichever thread encoded it.
        """
        while True:
            with self._lock:
                # After a band failed, none is handed out; the encoder is taken with
                # the band, as the failure lets go of it.
                top = None if self._error is not None else next(self._tops, None)
                encode_band = self._encode_band
            if top is None:
                break
            try:
                outside, image_data = _png_parts(encode_band(slice(top, top + self._band_rows)))
            except BaseException as error:
                with self._lock:
                    if self._error is None:  # the first failure is the one reported
                        self._error = error
                self._finish()
                raise
            with self._lock:
                self._outside = outside
                self._image_data += image_data
                self._left -= 1
                if not self._left:
                    self._finish()
        self._done.wait()
        if self._error is not None:
            raise self._error
        return self._outside + self._image_data

    def _finish(self) -> None:
        """Let go of the picture (held by the band encoder): a measured job keeps its size."""
        self._encode_band = None
        self._done.set()


def file_sizes(
    image: Image,
    quantization: Quantization,
    *,
    original_png: int | None = None,
    compress_level: int = 6,
) -> FileSizes:
    """Compare the original image's PNG size with the palette PNG's size.

    Parameters
    ----------
    image : Image
    quantization : Quantization
    original_png : int, optional
        The original's PNG size when already known (it does not depend on k and
        takes seconds to encode for a large photo), saved at ``compress_level``;
        measured when not given.
    compress_level : int, default 6
        zlib's level for both files, so that they compare fairly.

    Returns
    -------
    FileSizes
    """
    if original_png is None:
        original_png = png_size(image, compress_level=compress_level)
    palette_file = indexed_png(image, quantization, compress_level=compress_level)
    return FileSizes(original_png=original_png, indexed_png=len(palette_file))
