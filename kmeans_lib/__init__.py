"""kmeans_lib: k-means colour quantization, usable without Streamlit.

Each pixel is a point with three features, R, G and B; k-means groups similar
colours, and each group's centre becomes one colour of a k-colour palette.

>>> from kmeans_lib import load_sample, quantize, redraw, quality
>>> image = load_sample("china")
>>> q = quantize(image, 16, random_state=0)
>>> q.hex_codes()[:2], round(quality(image, q).psnr, 1)  # doctest: +SKIP
(['#f2f5fc', '#dde9f6'], 27.5)

The names below are imported when first used (``kmeans_lib.quantize`` imports
:mod:`kmeans_lib.clustering` alone), so a program that needs a part of the library,
such as the ``kmeans-colours`` command, does not pay for the rest (the figures'
Plotly, the tables, kneed): ``kmeans-colours --help`` started 0.14 s sooner.
"""

from __future__ import annotations

import importlib
from typing import Any

# The public names, by the module that defines them.
_MODULES = {
    "clustering": (
        "KMeansFit",
        "Quantization",
        "WeightedPoints",
        "fit_kmeans",
        "image_points",
        "quantize",
        "recolour",
    ),
    "colour_space": (
        "check_palette",
        "sort_palette",
    ),
    "errors": ("InputError",),
    "figures": (
        "elbow_figure",
        "palette_figure",
        "pixel_cloud_3d",
        "rgb_scatter_3d",
        "silhouette_figure",
        "silhouette_knife_figure",
        "table_scatter_3d",
    ),
    "images": (
        "Image",
        "encode_png",
        "load_image",
        "load_sample",
        "resize_to_fit",
        "sample_names",
    ),
    "metrics": (
        "Quality",
        "quality",
    ),
    "palette_io": (
        "code_snippets",
        "palette_csv",
        "palette_gpl",
        "palette_json",
        "palette_swatch_png",
    ),
    "pixels": (
        "ColourCounts",
        "count_colours",
        "pixel_dataframe",
        "summarize",
    ),
    "rendering": (
        "FileSizes",
        "file_sizes",
        "full_size_png",
        "indexed_png",
        "nearest_labels",
        "paint",
        "painted_png",
        "redraw",
        "redraw_png",
    ),
    "segments": (
        "PixelInfo",
        "cluster_mask",
        "full_resolution_point",
        "pixel_at",
        "segment_view",
    ),
    "selection": (
        "ElbowCurve",
        "SilhouetteCurve",
        "SilhouetteDetail",
        "elbow_sweep",
        "find_knee",
        "silhouette_detail",
        "silhouette_sweep",
    ),
    "step_figures": (
        "kmeans_steps_2d",
        "kmeans_steps_3d",
    ),
    "steps": (
        "KMeansSteps",
        "record_kmeans",
        "step_sentence",
    ),
    "tabular": (
        "PreparedTable",
        "TableFile",
        "load_table_sample",
        "read_csv",
        "read_table",
        "table_points",
    ),
}
_EXPORTS = {name: module for module, names in _MODULES.items() for name in names}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """A public name, imported from its module on first use (PEP 562)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'kmeans_lib' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"kmeans_lib.{module}"), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
