"""Benchmark the JPEG draft rule: how small a JPEG may be decoded for its palette alone.

Run: ``python benchmarks/bench_draft.py`` (about 3 minutes on 2 cores; ``--seeds 0``
for a quicker single-seed run).

A JPEG decoder can scale a picture by 1/2, 1/4 or 1/8 as it decodes (Pillow's
``draft``), which is much quicker than decoding and counting every pixel. For each
picture and k in {4, 8, 16, 32, 64}, the palette is fitted (``quantize``, RGB) on
the full decode and on the decodes at 1/2, 1/4 and 1/8; each palette is scored by
the PSNR of the FULL-SIZE picture redrawn with it (every pixel painted its nearest
palette colour in RGB, as :func:`redraw_psnr` does). The loss is the full fit's
PSNR less the draft fit's, each the mean over the seeds (one seed's k-means can
land in a better or worse minimum on either side).

Pictures: scikit-learn's two sample photos as shipped (real JPEGs of 640 x 427),
and photo-like pictures at 2 MP (1732 x 1155) and 12 MP (4000 x 3000) made from
each of them (``workloads.photo``: upscaled with Lanczos, Gaussian noise of sigma
3), saved as JPEG quality 90.

Target: a rule "decode at the largest scale whose picture keeps at least N pixels"
with a loss of at most 0.05 dB in every measured case. The script prints the N
the measurements support and checks the library's
:data:`kmeans_lib.images.PALETTE_DRAFT_MIN_PIXELS`: every draft that rule
chooses here must have lost at most 0.05 dB at every k (exit 1 otherwise). It
also prints how far the PSNR measured on the draft itself is from the full
picture's: a record's quality measured on the draft would flatter it.

Last, what the draft would save in a batch record, whose PSNR and mean ΔE are of
the full picture: the CPU seconds (one thread, fastest of 3) of the record's work
for the generated photos at k = 16 and 64, fitted on the full decode (as
``palette_record`` does) and fitted on the draft the rule chooses, then the full
picture decoded, counted and painted with that palette to measure its quality.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image as PILImage
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from workloads import encode, photo, sample_jpeg_path  # noqa: E402

from kmeans_lib.clustering import assemble_quantization, quantize  # noqa: E402
from kmeans_lib.images import (  # noqa: E402
    PALETTE_DRAFT_MIN_PIXELS,
    Image,
    jpeg_palette_draft,
    load_image,
)
from kmeans_lib.metrics import quality  # noqa: E402
from kmeans_lib.pixels import ColourCounts, count_colours  # noqa: E402
from kmeans_lib.rendering import _nearest_centres  # noqa: E402

KS = (4, 8, 16, 32, 64)
SCALES = (2, 4, 8)
MAX_LOSS_DB = 0.05
SIZES = {"2 MP": (1732, 1155), "12 MP": (4000, 3000)}
_BLOCK = 1 << 18


def redraw_psnr(colours: ColourCounts, palette: np.ndarray) -> float:
    """PSNR (dB) of a picture redrawn with ``palette``, each pixel its nearest colour in RGB.

    ``colours`` are the picture's distinct colours and pixel counts (exact, over
    every pixel); ``palette`` is an (n, 3) array of 0-255 colours.
    """
    centres = np.asarray(palette, dtype=np.float64)
    squared = 0.0
    for start in range(0, colours.n_colours, _BLOCK):
        block = colours.colours[start : start + _BLOCK].astype(np.float64)
        nearest = _nearest_centres(block, centres, "rgb")
        residuals = block - centres[nearest]
        squared += float(colours.counts[start : start + _BLOCK] @ (residuals**2).sum(axis=1))
    mse = squared / (3.0 * colours.n_pixels)
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0**2 / mse)


def decode(path: str, scale: int = 1) -> np.ndarray:
    """The JPEG at ``path`` decoded at 1/``scale`` by its decoder, as an RGB array."""
    with PILImage.open(path) as im:
        if scale > 1:
            im.draft("RGB", (im.width // scale, im.height // scale))
        return np.asarray(im.convert("RGB"))


def pictures(folder: Path) -> dict[str, str]:
    """Name -> JPEG file of every measured picture (the generated ones written to ``folder``)."""
    files = {f"{name}.jpg": sample_jpeg_path(name) for name in ("china", "flower")}
    for seed, (label, size) in enumerate(SIZES.items()):
        for name in ("china", "flower"):
            path = folder / f"{name}-{label.replace(' ', '')}.jpg"
            path.write_bytes(encode(photo(size, seed, name), "JPEG"))
            files[f"{name} {label}"] = str(path)
    return files


def palette(pixels: np.ndarray, k: int, seed: int) -> np.ndarray:
    return quantize(Image(pixels), k, random_state=seed).palette


def measure(name: str, path: str, seeds: list[int]) -> list[dict]:
    """One row per (scale, k): pixels of the draft and the loss in dB."""
    full = decode(path)
    colours = count_colours(Image(full))
    drafts = {scale: decode(path, scale) for scale in SCALES}
    rows = []
    for k in KS:
        started = time.perf_counter()
        full_psnr = np.mean([redraw_psnr(colours, palette(full, k, s)) for s in seeds])
        full_seconds = (time.perf_counter() - started) / len(seeds)
        for scale, draft in drafts.items():
            started = time.perf_counter()
            fits = [palette(draft, k, s) for s in seeds]
            seconds = (time.perf_counter() - started) / len(seeds)
            draft_psnr = np.mean([redraw_psnr(colours, fit) for fit in fits])
            own = np.mean(  # the draft's PSNR measured on the draft itself
                [redraw_psnr(count_colours(Image(draft)), fit) for fit in fits]
            )
            rows.append(
                {
                    "picture": name,
                    "pixels": full.shape[0] * full.shape[1],
                    "scale": scale,
                    "draft_pixels": draft.shape[0] * draft.shape[1],
                    "k": k,
                    "full_psnr": full_psnr,
                    "loss": full_psnr - draft_psnr,
                    "own_gap": own - draft_psnr,
                    "full_seconds": full_seconds,
                    "seconds": seconds,
                }
            )
    return rows


def print_table(rows: list[dict]) -> None:
    print(
        "Loss (dB) = PSNR of the full picture redrawn with the palette fitted on the full "
        "decode, less with the palette fitted on the draft (positive: the draft is worse)"
    )
    header = f"{'picture':<15}{'k':>4}{'full dB':>9}" + "".join(
        f"{f'1/{s} loss':>10}" for s in SCALES
    )
    print(header)
    print("-" * len(header))
    for name in dict.fromkeys(row["picture"] for row in rows):
        for k in KS:
            cells = {r["scale"]: r for r in rows if r["picture"] == name and r["k"] == k}
            print(
                f"{name:<15}{k:>4}{cells[SCALES[0]]['full_psnr']:>9.2f}"
                + "".join(f"{cells[s]['loss']:>+10.3f}" for s in SCALES)
            )
    print()
    print(
        "Per draft: its pixels, the worst loss over k, the fit's seconds (mean over k) "
        "against the full fit's, and how much higher the PSNR measured on the draft "
        "itself reads than on the full picture (mean over k)"
    )
    header = (
        f"{'picture':<15}{'scale':>6}{'pixels':>11}{'worst dB':>10}{'fit s':>8}"
        f"{'full s':>8}{'own-full dB':>13}"
    )
    print(header)
    print("-" * len(header))
    for name in dict.fromkeys(row["picture"] for row in rows):
        for scale in SCALES:
            cells = [r for r in rows if r["picture"] == name and r["scale"] == scale]
            print(
                f"{name:<15}{'1/' + str(scale):>6}{cells[0]['draft_pixels']:>11,}"
                f"{max(r['loss'] for r in cells):>+10.3f}"
                f"{np.mean([r['seconds'] for r in cells]):>8.3f}"
                f"{np.mean([r['full_seconds'] for r in cells]):>8.3f}"
                f"{np.mean([r['own_gap'] for r in cells]):>+13.3f}"
            )
    print()


def largest_failing_pixels(rows: list[dict]) -> int:
    """Pixels of the largest draft that lost more than MAX_LOSS_DB for some k (0: none did)."""
    return max((r["draft_pixels"] for r in rows if r["loss"] > MAX_LOSS_DB), default=0)


def rule_holds(rows: list[dict], min_pixels: int) -> bool:
    """Whether every draft the rule with ``min_pixels`` would choose kept the loss in bounds.

    The rule chooses the largest scale keeping ``min_pixels``; the smaller
    scales it would pass over (fewer pixels) do not count.
    """
    chosen: dict[str, int] = {}
    for row in rows:
        if row["draft_pixels"] >= min_pixels:
            chosen[row["picture"]] = max(chosen.get(row["picture"], 0), row["scale"])
    return all(
        row["loss"] <= MAX_LOSS_DB for row in rows if row["scale"] == chosen.get(row["picture"], 0)
    )


def record_work(path: str, k: int, draft: bool) -> float:
    """A record's palette and full-size quality figures; returns the PSNR."""
    factor = jpeg_palette_draft(path) if draft else 1
    image = load_image(path, draft_factor=factor)
    fit = quantize(image, k)
    if factor > 1:
        image = load_image(path)
        colours = count_colours(image)
        labels = _nearest_centres(colours.colours, fit.centroids, "rgb")
        fit = assemble_quantization(image, k, colours, labels, fit.centroids)
    return quality(image, fit).psnr


def record_seconds(files: dict[str, str]) -> None:
    print(
        "A batch record's work (palette, then PSNR and mean ΔE of the full picture), "
        "CPU seconds on one thread, fastest of 3"
    )
    header = f"{'picture':<15}{'k':>4}{'full fit s':>12}{'draft fit s':>13}{'draft/full':>12}"
    print(header)
    print("-" * len(header))
    with threadpool_limits(1):
        for name, path in files.items():
            if jpeg_palette_draft(path) == 1:
                continue
            for k in (16, 64):
                seconds = {}
                for draft in (False, True):
                    times = []
                    for _ in range(3):
                        started = time.process_time()
                        record_work(path, k, draft)
                        times.append(time.process_time() - started)
                    seconds[draft] = min(times)
                print(
                    f"{name:<15}{k:>4}{seconds[False]:>12.3f}{seconds[True]:>13.3f}"
                    f"{seconds[True] / seconds[False]:>12.2f}"
                )
    print()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        files = pictures(Path(folder))
        rows = []
        for name, path in files.items():
            rows += measure(name, path, args.seeds)
            print(f"measured {name}", file=sys.stderr, flush=True)
        print(f"seeds: {args.seeds}; loss target: at most {MAX_LOSS_DB} dB in every case\n")
        print_table(rows)
        record_seconds(files)
    failing = largest_failing_pixels(rows)
    passing = sorted(r["draft_pixels"] for r in rows if r["draft_pixels"] > failing)
    met = rule_holds(rows, PALETTE_DRAFT_MIN_PIXELS)
    print(
        "Rule supported by these measurements: decode at the largest scale whose picture "
        f"keeps at least N pixels, for any N above {failing:,} (the largest draft that lost "
        f"more than {MAX_LOSS_DB} dB)"
        + (f"; the smallest passing draft above it has {passing[0]:,}." if passing else ".")
    )
    print(
        f"The library's N = {PALETTE_DRAFT_MIN_PIXELS:,} (PALETTE_DRAFT_MIN_PIXELS): every "
        f"draft it chooses here lost at most {MAX_LOSS_DB} dB: {'met' if met else 'NOT met'}"
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
