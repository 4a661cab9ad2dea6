"""kmeans_lib: k-means colour quantization, usable without Streamlit.

Each pixel is a point with three features, R, G and B; k-means groups similar
colours, and each group's centre becomes one colour of a k-colour palette.

>>> from kmeans_lib import load_sample, quantize, redraw, quality
>>> image = load_sample("china")
>>> q = quantize(image, 16, random_state=0)
>>> q.hex_codes()[:2], round(quality(image, q).psnr, 1)  # doctest: +SKIP
(['#f2f5fc', '#dde9f6'], 27.5)
"""

from kmeans_lib.clustering import (
    KMeansFit,
    Quantization,
    WeightedPoints,
    fit_kmeans,
    image_points,
    quantize,
    recolour,
)
from kmeans_lib.colour_space import check_palette, sort_palette
from kmeans_lib.errors import InputError
from kmeans_lib.figures import (
    elbow_figure,
    palette_figure,
    pixel_cloud_3d,
    rgb_scatter_3d,
    silhouette_figure,
    silhouette_knife_figure,
    table_scatter_3d,
)
from kmeans_lib.images import (
    Image,
    encode_png,
    load_image,
    load_sample,
    resize_to_fit,
    sample_names,
)
from kmeans_lib.metrics import Quality, quality
from kmeans_lib.palette_io import (
    code_snippets,
    palette_csv,
    palette_gpl,
    palette_json,
    palette_swatch_png,
)
from kmeans_lib.pixels import ColourCounts, count_colours, pixel_dataframe, summarize
from kmeans_lib.rendering import (
    FileSizes,
    file_sizes,
    full_size_png,
    indexed_png,
    nearest_labels,
    paint,
    painted_png,
    redraw,
    redraw_png,
)
from kmeans_lib.segments import (
    PixelInfo,
    cluster_mask,
    full_resolution_point,
    pixel_at,
    segment_view,
)
from kmeans_lib.selection import (
    ElbowCurve,
    SilhouetteCurve,
    SilhouetteDetail,
    elbow_sweep,
    find_knee,
    silhouette_detail,
    silhouette_sweep,
)
from kmeans_lib.step_figures import kmeans_steps_2d, kmeans_steps_3d
from kmeans_lib.steps import KMeansSteps, record_kmeans, step_sentence
from kmeans_lib.tabular import (
    PreparedTable,
    TableFile,
    load_table_sample,
    read_csv,
    read_table,
    table_points,
)

__all__ = [
    "ColourCounts",
    "ElbowCurve",
    "FileSizes",
    "Image",
    "InputError",
    "KMeansFit",
    "KMeansSteps",
    "PixelInfo",
    "PreparedTable",
    "Quality",
    "Quantization",
    "SilhouetteCurve",
    "SilhouetteDetail",
    "TableFile",
    "WeightedPoints",
    "check_palette",
    "cluster_mask",
    "code_snippets",
    "count_colours",
    "elbow_figure",
    "elbow_sweep",
    "encode_png",
    "file_sizes",
    "find_knee",
    "fit_kmeans",
    "full_resolution_point",
    "full_size_png",
    "image_points",
    "indexed_png",
    "kmeans_steps_2d",
    "kmeans_steps_3d",
    "load_image",
    "load_sample",
    "load_table_sample",
    "nearest_labels",
    "paint",
    "painted_png",
    "palette_csv",
    "palette_figure",
    "palette_gpl",
    "palette_json",
    "palette_swatch_png",
    "pixel_at",
    "pixel_cloud_3d",
    "pixel_dataframe",
    "quality",
    "quantize",
    "read_csv",
    "read_table",
    "recolour",
    "record_kmeans",
    "redraw",
    "redraw_png",
    "resize_to_fit",
    "rgb_scatter_3d",
    "sample_names",
    "segment_view",
    "silhouette_detail",
    "silhouette_figure",
    "silhouette_knife_figure",
    "silhouette_sweep",
    "sort_palette",
    "step_sentence",
    "summarize",
    "table_points",
    "table_scatter_3d",
]
