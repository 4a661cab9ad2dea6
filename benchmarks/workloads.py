"""Images the benchmarks share: the built-in sample and a 12-megapixel photo-like image."""

from __future__ import annotations

import numpy as np
from PIL import Image as PILImage
from sklearn.datasets import load_sample_image

PHOTO_SIZE = (4000, 3000)  # width, height: 12 megapixels
NOISE_SIGMA = 3.0
_ROWS_PER_BLOCK = 250


def china() -> np.ndarray:
    """scikit-learn's china.jpg as an (H, W, 3) uint8 array (273,280 pixels)."""
    return load_sample_image("china.jpg")


def photo_12mp(seed: int = 0) -> np.ndarray:
    """china.jpg upscaled to 4000x3000 with Lanczos, plus Gaussian noise of sigma 3.

    The noise gives it about 1.5 million distinct colours, like a real photo.
    It is added a block of rows at a time so that making the image never holds a
    full-size float copy.
    """
    upscaled = np.asarray(
        PILImage.fromarray(china()).resize(PHOTO_SIZE, PILImage.Resampling.LANCZOS)
    ).copy()
    rng = np.random.default_rng(seed)
    for top in range(0, upscaled.shape[0], _ROWS_PER_BLOCK):
        block = upscaled[top : top + _ROWS_PER_BLOCK]
        noisy = block + NOISE_SIGMA * rng.standard_normal(block.shape, dtype=np.float32)
        block[...] = np.clip(np.rint(noisy), 0, 255).astype(np.uint8)
    return upscaled
