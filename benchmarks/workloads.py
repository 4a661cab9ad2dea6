"""Images the benchmarks share: the built-in sample and photo-like 12 and 49 megapixel images,
and tables of random numbers as CSV files.

The large images are china.jpg upscaled with Lanczos; noise, added a band of rows at a
time, gives them the millions of distinct colours of a real photo. The ``*_bytes``
helpers encode them the way a viewer would upload them; the app's server refuses
uploads over 25 MB (``maxUploadSize`` in ``.streamlit/config.toml``).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import sklearn.datasets
from PIL import Image as PILImage
from sklearn.datasets import load_sample_image

PHOTO_SIZE = (4000, 3000)  # width, height: 12 megapixels
PHOTO_49MP_SIZE = (7000, 7000)  # 49 megapixels, under the library's 50-megapixel limit
NOISE_SIGMA = 3.0
JPEG_QUALITY = 90
MAX_UPLOAD_BYTES = 25 * 1024 * 1024
_ROWS_PER_BLOCK = 250


def china() -> np.ndarray:
    """scikit-learn's china.jpg as an (H, W, 3) uint8 array (273,280 pixels)."""
    return load_sample_image("china.jpg")


def sample_jpeg_path(name: str) -> str:
    """The file of scikit-learn's sample photo ``name`` ("china" or "flower"): a real JPEG."""
    return str(Path(sklearn.datasets.__file__).parent / "images" / f"{name}.jpg")


def photo(size: tuple[int, int], seed: int | None = 0, sample: str = "china") -> np.ndarray:
    """A photo-like picture: scikit-learn's ``sample``.jpg resized to ``size`` (width,
    height) with Lanczos, plus Gaussian noise (sigma :data:`NOISE_SIGMA`) unless seed
    is None.

    The noise is added a block of rows at a time, so making the image never holds a
    full-size float copy.
    """
    upscaled = np.asarray(
        PILImage.fromarray(load_sample_image(f"{sample}.jpg")).resize(
            size, PILImage.Resampling.LANCZOS
        )
    ).copy()
    if seed is None:
        return upscaled
    rng = np.random.default_rng(seed)
    for top in range(0, upscaled.shape[0], _ROWS_PER_BLOCK):
        block = upscaled[top : top + _ROWS_PER_BLOCK]
        noisy = block + NOISE_SIGMA * rng.standard_normal(block.shape, dtype=np.float32)
        block[...] = np.clip(np.rint(noisy), 0, 255).astype(np.uint8)
    return upscaled


def _upscaled_china(size: tuple[int, int], seed: int | None) -> np.ndarray:
    """china.jpg resized to ``size`` (width, height), plus noise unless seed is None."""
    return photo(size, seed, "china")


def photo_12mp(seed: int = 0) -> np.ndarray:
    """china.jpg upscaled to 4000x3000 with Lanczos, plus Gaussian noise of sigma 3.

    The noise gives it about 1.5 million distinct colours, like a real photo.
    """
    return _upscaled_china(PHOTO_SIZE, seed)


def photo_49mp(seed: int = 0) -> np.ndarray:
    """china.jpg upscaled to 7000x7000 with Lanczos, plus Gaussian noise of sigma 3 (147 MB)."""
    return _upscaled_china(PHOTO_49MP_SIZE, seed)


def encode(pixels: np.ndarray, image_format: str) -> bytes:
    """``pixels`` as a PNG or a JPEG (quality :data:`JPEG_QUALITY`) file's bytes."""
    buffer = io.BytesIO()
    options = {"quality": JPEG_QUALITY} if image_format == "JPEG" else {}
    PILImage.fromarray(pixels).save(buffer, format=image_format, **options)
    return buffer.getvalue()


def photo_12mp_png(seed: int = 0) -> bytes:
    """The 12-megapixel photo as PNG bytes (about 20 MB, under the upload limit)."""
    return encode(photo_12mp(seed), "PNG")


def photo_49mp_jpeg(seed: int = 0) -> bytes:
    """The 49-megapixel photo as a JPEG of quality 90 (about 7 MB)."""
    return encode(photo_49mp(seed), "JPEG")


def photo_49mp_png() -> bytes:
    """A 49-megapixel photo-like PNG that fits the 25 MB upload limit (about 20 MB).

    With noise the PNG would be about 80 MB, which no viewer can upload, so this one
    is the plain Lanczos upscale with every channel rounded down to an even value:
    about 370,000 colours in smooth gradients, which PNG compresses well enough.
    """
    pixels = _upscaled_china(PHOTO_49MP_SIZE, seed=None)
    pixels &= 0xFE
    return encode(pixels, "PNG")


def table_csv(n_rows: int, n_columns: int, seed: int = 0) -> bytes:
    """A CSV of uniform random numbers in full precision, columns ``x1`` to ``xN``.

    Uniform noise has no groups to find, the slowest case for k-means to settle:
    120,000 x 10 makes a 23 MB file, 200,000 x 6 (the row limit) 23.5 MB, both
    under the 25 MB upload limit.
    """
    rng = np.random.default_rng(seed)
    columns = [f"x{j + 1}" for j in range(n_columns)]
    frame = pd.DataFrame(rng.random((n_rows, n_columns)), columns=columns)
    return frame.to_csv(index=False).encode()
