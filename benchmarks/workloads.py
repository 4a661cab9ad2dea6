"""Images the benchmarks share: the built-in sample and 12- and 49-megapixel photo-like images."""

from __future__ import annotations

import numpy as np
from PIL import Image as PILImage
from sklearn.datasets import load_sample_image

PHOTO_SIZE = (4000, 3000)  # width, height: 12 megapixels
PHONE_SIZE = (7000, 7000)  # 49 megapixels, a phone camera's full resolution
NOISE_SIGMA = 3.0
_ROWS_PER_BLOCK = 250


def china() -> np.ndarray:
    """scikit-learn's china.jpg as an (H, W, 3) uint8 array (273,280 pixels)."""
    return load_sample_image("china.jpg")


def photo_12mp(seed: int = 0) -> np.ndarray:
    """china.jpg upscaled to 4000x3000 with Lanczos, plus Gaussian noise of sigma 3.

    The noise gives it about 1.5 million distinct colours, like a real photo.
    """
    upscaled = np.asarray(
        PILImage.fromarray(china()).resize(PHOTO_SIZE, PILImage.Resampling.LANCZOS)
    ).copy()
    return _add_noise(upscaled, seed)


def photo_49mp(seed: int = 0) -> np.ndarray:
    """china.jpg upscaled to 7000x7000 with Lanczos, plus Gaussian noise of sigma 3.

    :func:`photo_12mp` at a phone camera's size (147 MB). The vertical pass of
    the upscale goes a block of rows at a time (Pillow's ``box`` picks the
    source rows), so no full-size Pillow copy is made.
    """
    width, height = PHONE_SIZE
    source = PILImage.fromarray(china())
    wide = source.resize((width, source.height), PILImage.Resampling.LANCZOS)
    scale = source.height / height
    photo = np.empty((height, width, 3), dtype=np.uint8)
    for top in range(0, height, _ROWS_PER_BLOCK):
        bottom = min(top + _ROWS_PER_BLOCK, height)
        box = (0, top * scale, width, bottom * scale)
        photo[top:bottom] = wide.resize((width, bottom - top), PILImage.Resampling.LANCZOS, box=box)
    return _add_noise(photo, seed)


def _add_noise(pixels: np.ndarray, seed: int) -> np.ndarray:
    """Add Gaussian noise of NOISE_SIGMA in place, a block of rows at a time, and return ``pixels``.

    Blocks keep the float copy small; the noise gives about 1.5 million distinct
    colours per 12 megapixels, like a real photo.
    """
    rng = np.random.default_rng(seed)
    for top in range(0, pixels.shape[0], _ROWS_PER_BLOCK):
        block = pixels[top : top + _ROWS_PER_BLOCK]
        noisy = block + NOISE_SIGMA * rng.standard_normal(block.shape, dtype=np.float32)
        block[...] = np.clip(np.rint(noisy), 0, 255).astype(np.uint8)
    return pixels
