"""Benchmark a 49-megapixel phone photo: working-copy decode, palette quality, full-size download.

Run: ``python benchmarks/bench_working_size.py`` (about 10 minutes on 2 cores; add
``--files DIR`` to keep the two 49 MP files there and reuse them next time, since
writing the PNG takes about 40 s).

The photo is china.jpg upscaled to 7000 x 7000 with Gaussian noise (see
``workloads.photo_49mp``), saved as a JPEG (quality 90) and a PNG. For each file:

- decode: time and peak RSS of ``load_image`` in a fresh subprocess, for the
  working copy (the default) and, for comparison, for the whole picture
  (``working_max_pixels=DEFAULT_MAX_PIXELS``, what ``load_image`` did before);
- quality: the MSE (over pixels and channels, against the full-size original) of
  the full-size download redrawn with the palette fitted on the working copy,
  against the MSE of ``quantize`` fitted on every pixel of the full-size picture,
  at k = 16 and 64, for seeds 0, 1 and 2 (target: a ratio within 1.01). One
  seed's k-means can land in a worse minimum on either side, so the ratio of the
  seeds' mean MSEs is the figure to judge;
- download: time and peak RSS of ``full_size_png`` in a fresh subprocess that
  first loads the working copy and quantizes it, as the app does. The peak is
  reset (``/proc/self/clear_refs``) before the download, so it is the process's
  peak during the download alone, with the working copy and its fit held.
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image as PILImage

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_quantize import mse, peak_rss_mb  # noqa: E402
from workloads import photo_49mp  # noqa: E402

from kmeans_lib.clustering import quantize  # noqa: E402
from kmeans_lib.images import DEFAULT_MAX_PIXELS, load_image  # noqa: E402
from kmeans_lib.pixels import count_colours  # noqa: E402
from kmeans_lib.rendering import full_size_png, redraw  # noqa: E402

KS = (16, 64)
SEEDS = (0, 1, 2)
JPEG_QUALITY = 90
MB = 1_000_000


def rss_mb() -> float:
    """This process's current resident set size in MB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def reset_peak_rss() -> None:
    """Start VmHWM afresh from the current RSS (Linux 4.0 and later)."""
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")


def make_files(folder: Path) -> dict[str, Path]:
    """The 49 MP photo as JPEG and PNG in ``folder``, written unless already there."""
    paths = {"JPEG": folder / "phone49mp.jpg", "PNG": folder / "phone49mp.png"}
    if all(path.exists() for path in paths.values()):
        return paths
    im = PILImage.fromarray(photo_49mp())
    im.save(paths["JPEG"], quality=JPEG_QUALITY)
    im.save(paths["PNG"])
    return paths


def child(task: str, path: str, arg: str) -> None:
    """Subprocess entry: one decode or one download; print JSON figures."""
    data = Path(path).read_bytes()
    if task == "decode":
        working_max = DEFAULT_MAX_PIXELS if arg == "whole" else None
        options = {} if working_max is None else {"working_max_pixels": working_max}
        before = rss_mb()
        start = time.perf_counter()
        image = load_image(data, **options)
        seconds = time.perf_counter() - start
        result = {"size": [image.width, image.height], "notice": image.reduction_notice}
    else:
        quantization = quantize(load_image(data), int(arg), random_state=0)
        before = rss_mb()
        reset_peak_rss()
        start = time.perf_counter()
        png = full_size_png(data, quantization)
        seconds = time.perf_counter() - start
        result = {"png_bytes": len(png)}
    result.update(seconds=seconds, before_mb=before, peak_mb=peak_rss_mb())
    print(json.dumps(result))


def in_fresh_process(task: str, path: Path, arg: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", task, str(path), arg],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out)


def bench_decode(name: str, path: Path) -> None:
    print(f"{name}: {path.stat().st_size / MB:.1f} MB file")
    for arg, label in (("working", "working copy"), ("whole", "whole picture")):
        r = in_fresh_process("decode", path, arg)
        width, height = r["size"]
        print(
            f"  decode {label:<14}{width:>6} x {height:<6}{r['seconds']:>7.2f} s  "
            f"peak {r['peak_mb']:>5.0f} MB (after imports and reading the file: "
            f"{r['before_mb']:.0f} MB)"
        )
        if r["notice"]:
            print(f"    notice: {r['notice']}")


def bench_quality(path: Path) -> None:
    full = load_image(path, working_max_pixels=DEFAULT_MAX_PIXELS)
    working = load_image(path)
    colours = count_colours(full)
    print(
        f"  quality: {full.n_pixels:,} pixels, {colours.n_colours:,} distinct colours; "
        f"working copy {working.n_pixels:,} pixels"
    )
    working_colours = count_colours(working)
    for k in KS:
        ours, base = [], []
        for seed in SEEDS:
            every_pixel = quantize(full, k, random_state=seed, colours=colours)
            base.append(mse(full.pixels, redraw(full, every_pixel)))
            fit = quantize(working, k, random_state=seed, colours=working_colours)
            with PILImage.open(io.BytesIO(full_size_png(path, fit))) as im:
                ours.append(mse(full.pixels, np.asarray(im.convert("RGB"))))
        ratios = " ".join(f"{o / b:.4f}" for o, b in zip(ours, base, strict=True))
        print(
            f"    k={k:<3} MSE working-copy palette {np.mean(ours):7.2f}, fit on every pixel "
            f"{np.mean(base):7.2f} (means of seeds {SEEDS}): ratio "
            f"{np.mean(ours) / np.mean(base):.4f}; per seed {ratios}",
            flush=True,
        )


def bench_download(path: Path) -> None:
    for k in KS:
        r = in_fresh_process("download", path, str(k))
        print(
            f"  download k={k:<3}{r['seconds']:>7.2f} s  peak {r['peak_mb']:>5.0f} MB "
            f"(holding the working copy and its fit: {r['before_mb']:.0f} MB), "
            f"PNG {r['png_bytes'] / MB:.1f} MB",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=Path, help="folder to keep and reuse the 49 MP files")
    parser.add_argument("--child", nargs=3, metavar=("TASK", "FILE", "ARG"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return

    with tempfile.TemporaryDirectory() as scratch:
        folder = args.files or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        paths = make_files(folder)
        print(f"49 MP files ready in {time.perf_counter() - start:.0f} s\n")
        for name, path in paths.items():
            bench_decode(name, path)
            bench_download(path)
            bench_quality(path)
            print()


if __name__ == "__main__":
    main()
