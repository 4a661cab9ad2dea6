"""``kmeans-colours``: palettes, redraws and shared palettes of pictures, from a terminal.

Built on :mod:`argparse` (standard library): it gives full control of the exit
codes (argparse's and Click's own 2 for a mistyped command would read as "some
pictures failed" here) and needs nothing beyond the library's dependencies but
Rich, which draws the palette table and the progress bar.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from kmeans_lib.batch import (
    OUTPUT_ERROR,
    BatchOptions,
    Engine,
    LocalEngine,
    PictureRecord,
    SharedPalette,
    add_histograms,
    apply_palette,
    colour_histogram,
    fit_shared_palette,
    palette_record,
)
from kmeans_lib.batch_io import FoundPicture, RecordWriter, find_pictures, output_names
from kmeans_lib.clustering import MAX_K
from kmeans_lib.colour_space import COLOUR_SPACES, PALETTE_ORDERS, sort_palette
from kmeans_lib.errors import InputError
from kmeans_lib.palette_io import PALETTE_FORMATS, palette_text

EXIT_OK = 0
EXIT_ALL_FAILED = 1
EXIT_SOME_FAILED = 2
EXIT_BAD_COMMAND = 3
EXIT_INTERRUPTED = 130
FORMATS = ("table", *PALETTE_FORMATS)
# File endings for --palette-out, and the format each one picks.
PALETTE_FILE_FORMATS = {".json": "json", ".csv": "csv", ".gpl": "gpl", ".css": "css"}
PALETTE_FILE_FORMATS |= {".hex": "hex", ".txt": "hex"}

EXIT_CODES_HELP = """exit codes:
  0  every picture has its palette (and redraw)
  1  no picture could be done (or the one picture, for palette and redraw),
     or the run stopped (a redraw could not be written)
  2  some pictures could be done, some not (each failure is in the output)
  3  the command itself is wrong: a misspelt option, k out of range, no pictures found"""


class CommandError(Exception):
    """A mistake in the command line: its message is shown, with exit code 3."""


class RunStopped(Exception):
    """A batch stopped before its end: its message is shown, with exit code 1."""


class _Parser(argparse.ArgumentParser):
    """argparse, exiting with :data:`EXIT_BAD_COMMAND` instead of 2 for a mistyped command."""

    def error(self, message: str) -> None:
        self.print_usage(sys.stderr)
        self.exit(EXIT_BAD_COMMAND, f"{self.prog}: error: {message}\n")


def _k(text: str) -> int:
    """-k as a whole number of colours from 1 to MAX_K."""
    try:
        k = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"k must be a whole number; got {text!r}") from None
    if not 1 <= k <= MAX_K:
        raise argparse.ArgumentTypeError(f"k must be from 1 to {MAX_K}; got {k}")
    return k


def _jobs(text: str) -> int:
    """--jobs as a whole number from 1 up."""
    try:
        jobs = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number; got {text!r}") from None
    if jobs < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more; got {jobs}")
    return jobs


def _add_fit_options(parser: argparse.ArgumentParser) -> None:
    """-k, --space, --seed and --sort, shared by every command."""
    parser.add_argument(
        "-k",
        "--colours",
        dest="k",
        type=_k,
        required=True,
        metavar="K",
        help=f"how many colours the palette has (1 to {MAX_K})",
    )
    parser.add_argument(
        "--space",
        choices=COLOUR_SPACES,
        default="rgb",
        help="where colours are compared: rgb (as stored, the default) or lab "
        "(closer to how people see differences; a little slower)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="start of the random choices (default 0): the same seed gives the same palette",
    )
    parser.add_argument(
        "--sort",
        choices=PALETTE_ORDERS,
        default="share",
        help="order of the colours: share (most used first, the default), hue (round the "
        "colour wheel, greys last) or lightness (dark to light)",
    )


def _add_many_options(parser: argparse.ArgumentParser) -> None:
    """The options of the commands that take many pictures."""
    parser.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="pictures: folders (every PNG, JPEG, WebP, GIF, BMP and TIFF file in them), "
        "patterns such as 'photos/*.jpg' (quote them) and single files",
    )
    parser.add_argument(
        "-r", "--recursive", action="store_true", help="look in sub-folders of the folders too"
    )
    parser.add_argument(
        "-j",
        "--jobs",
        type=_jobs,
        default=1,
        metavar="N",
        help="pictures worked on at once on this computer (default 1); up to the number of "
        "CPU cores is faster, and each job needs up to about 500 MB for a 12-megapixel photo",
    )
    parser.add_argument(
        "--dither",
        action="store_true",
        help="dither the redraws (mixes palette colours in fine dots, which hides bands "
        "in smooth gradients)",
    )
    parser.add_argument(
        "--engine",
        choices=("local", "dask"),
        default="local",
        help="local: this computer (the default); dask: a running Dask cluster "
        "(needs --scheduler and Dask: pip install 'dask[distributed]')",
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="with --engine dask: the cluster's scheduler, such as tcp://10.0.0.5:8786",
    )


def _command(
    commands: argparse._SubParsersAction, name: str, help: str, description: str, examples: str
) -> argparse.ArgumentParser:
    """A command's parser, its help ending with ``examples`` and the exit codes."""
    return commands.add_parser(
        name,
        help=help,
        description=description,
        epilog=examples + EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def build_parser() -> argparse.ArgumentParser:
    """The ``kmeans-colours`` command line with its four commands."""
    parser = _Parser(
        prog="kmeans-colours",
        description="Find the main colours of pictures (their palette) with k-means, and "
        "redraw pictures with only those colours.",
        epilog="Run 'kmeans-colours COMMAND --help' for a command's options.\n\n" + EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    palette = _command(
        commands,
        "palette",
        help="show the palette of one picture",
        description="Show the palette of one picture: each colour's hex code, red, green "
        "and blue values, its share of the picture and its number of pixels.",
        examples="example:\n  kmeans-colours palette photo.jpg -k 8\n"
        "  kmeans-colours palette photo.jpg -k 8 --format gpl > photo.gpl\n\n",
    )
    palette.add_argument("image", metavar="IMAGE", help="the picture file")
    _add_fit_options(palette)
    palette.add_argument(
        "-f",
        "--format",
        choices=FORMATS,
        help="how to print it: table (the default in a terminal), json (the default when the "
        "output goes to a file or program), csv, gpl (GIMP, Inkscape and Krita palette), "
        "css (custom properties) or hex (one code a line)",
    )

    redraw = _command(
        commands,
        "redraw",
        help="redraw one picture with only its palette's colours",
        description="Redraw one picture at full size using only its k palette colours, "
        "as a PNG. Pictures up to 50 megapixels are painted a band of rows at a time.",
        examples="example:\n  kmeans-colours redraw photo.jpg -k 16 -o photo-16.png "
        "--palette-out photo-16.gpl\n\n",
    )
    redraw.add_argument("image", metavar="IMAGE", help="the picture file")
    _add_fit_options(redraw)
    redraw.add_argument(
        "-o", "--output", required=True, metavar="OUT.png", help="where to write the redraw (PNG)"
    )
    redraw.add_argument(
        "--dither",
        action="store_true",
        help="mix palette colours in fine dots, which hides bands in smooth gradients",
    )
    redraw.add_argument(
        "--palette-out",
        action="append",
        default=[],
        metavar="FILE",
        help="also write the palette to FILE, in the format its ending names: .json, .csv, "
        ".gpl, .css, .hex or .txt (repeat the option for several files)",
    )

    batch = _command(
        commands,
        "batch",
        help="the palette of every picture in folders or lists",
        description="Find the palette of every picture and write one record per picture: "
        "its path, width and height, palette (hex, RGB, share and pixel count of each colour), "
        "how close the redraw is (PSNR in dB, higher is closer; mean colour difference ΔE, "
        "about 1 is just noticeable; left empty with --no-quality), the seconds it took, "
        "and its error if it failed. "
        "A picture that cannot be read is a record with its error; the run goes on.",
        examples="examples:\n"
        "  kmeans-colours batch photos/ -k 8 --out palettes.jsonl\n"
        "  kmeans-colours batch photos/ -k 16 --out palettes.csv --jobs 4 --no-quality\n"
        "  kmeans-colours batch photos/ -r -k 8 --out palettes.csv --jobs 4 "
        "--redraw-dir redrawn/\n"
        "  kmeans-colours batch 'shop/*.jpg' -k 6 --out palettes.jsonl --resume\n\n",
    )
    _add_many_options(batch)
    _add_fit_options(batch)
    batch.add_argument(
        "-o",
        "--out",
        required=True,
        metavar="OUT",
        help="where the records go: FILE.jsonl (one JSON record a line), FILE.csv (one row "
        "a picture) or a FOLDER (one .json file a picture)",
    )
    batch.add_argument(
        "--redraw-dir",
        metavar="DIR",
        help="also write each picture's full-size redraw (PNG) into DIR, keeping sub-folders",
    )
    batch.add_argument(
        "--no-quality",
        dest="measure_quality",
        action="store_false",
        help="palettes only: skip measuring PSNR and ΔE of each redraw; JPEGs are then read "
        "scaled down where that keeps the palette's quality (within 0.05 dB), which is "
        "several times faster",
    )
    batch.add_argument(
        "--resume",
        action="store_true",
        help="skip the pictures OUT already has a record of (done or failed) and add the "
        "others' records to it: to go on after a stopped run. Without it OUT is started again.",
    )
    batch.add_argument(
        "--keep-going",
        action="store_true",
        help="a picture that cannot be read never stops the run. Without this option the run "
        "stops when a redraw cannot be written (disk full, no permission), since the next "
        "ones would fail the same way; with it that picture gets a record with the error "
        "and the run goes on.",
    )

    shared = _command(
        commands,
        "shared-palette",
        help="one palette for a whole set of pictures",
        description="Find one palette for all the pictures together: k-means on the colours "
        "of every pixel of every picture (their summed colour counts, so nothing is sampled). "
        "The palette is printed; with --apply every picture is redrawn with it.",
        examples="example:\n  kmeans-colours shared-palette sprites/ -k 16 --format gpl "
        "--apply sprites-16/ > sprites.gpl\n\n",
    )
    _add_many_options(shared)
    _add_fit_options(shared)
    shared.add_argument(
        "-f", "--format", choices=FORMATS, help="how to print the palette (as for 'palette')"
    )
    shared.add_argument(
        "--apply",
        metavar="DIR",
        help="redraw every picture with the shared palette into DIR (PNG, keeping sub-folders)",
    )
    return parser


def _stderr() -> Console:
    return Console(stderr=True, highlight=False)


def _say(label: str, style: str, message: str) -> None:
    """``label message`` on stderr; the message (with file names) printed as text, never markup."""
    _stderr().print(Text.assemble((label, style), " ", message), soft_wrap=True)


def _options(args: argparse.Namespace) -> BatchOptions:
    return BatchOptions(
        k=args.k,
        colour_space=args.space,
        random_state=args.seed,
        sort=args.sort,
        dither=getattr(args, "dither", False),
        measure_quality=getattr(args, "measure_quality", True),
    )


def _palette_arrays(record: PictureRecord) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A record's palette as (colours, shares, counts) arrays."""
    colours = np.array([colour["rgb"] for colour in record.palette], dtype=np.uint8)
    shares = np.array([colour["share"] for colour in record.palette])
    counts = np.array([colour["count"] for colour in record.palette], dtype=np.int64)
    return colours, shares, counts


def _print_palette(
    colours: np.ndarray, shares: np.ndarray, counts: np.ndarray, fmt: str | None, caption: str
) -> None:
    """The palette on stdout: a table in a terminal unless another format is asked for."""
    console = Console(highlight=False)
    if fmt is None:
        fmt = "table" if console.is_terminal else "json"
    if fmt != "table":
        sys.stdout.write(palette_text(fmt, colours, shares, counts=counts))
        return
    table = Table()
    for name, justify in (("", "left"), ("hex", "left"), ("R", "right"), ("G", "right")):
        table.add_column(name, justify=justify)
    for name in ("B", "share", "pixels"):
        table.add_column(name, justify="right")
    for (r, g, b), share, count in zip(colours.tolist(), shares, counts, strict=True):
        code = f"#{r:02x}{g:02x}{b:02x}"
        swatch = Text("      ", style=f"on {code}")
        table.add_row(swatch, code, str(r), str(g), str(b), f"{share:.1%}", f"{count:,}")
    console.print(table)
    console.print(Text(caption), soft_wrap=True)  # as text: it holds a file name


def _quality_words(record: PictureRecord) -> str:
    psnr = "identical" if math.isinf(record.psnr) else f"PSNR {record.psnr:.1f} dB"
    return f"{psnr}, mean ΔE {record.mean_delta_e:.1f}"


def _run_palette(args: argparse.Namespace) -> int:
    record = palette_record(args.image, _options(args))
    if not record.ok:
        _say("Error:", "bold red", record.error)
        return EXIT_ALL_FAILED
    caption = (
        f"{args.image}: {record.width} × {record.height}, {len(record.palette)} colours, "
        f"{_quality_words(record)}"
    )
    _print_palette(*_palette_arrays(record), args.format, caption)
    return EXIT_OK


def _palette_file_format(path: str) -> str:
    ending = os.path.splitext(path)[1].lower()
    if ending not in PALETTE_FILE_FORMATS:
        raise CommandError(
            f"--palette-out: '{path}' should end in one of "
            f"{', '.join(PALETTE_FILE_FORMATS)}, which names the palette file's format."
        )
    return PALETTE_FILE_FORMATS[ending]


def _run_redraw(args: argparse.Namespace) -> int:
    if not args.output.lower().endswith(".png"):
        raise CommandError(
            f"The redraw is a PNG: give -o a name ending in .png; got '{args.output}'."
        )
    formats = [_palette_file_format(path) for path in args.palette_out]
    record = palette_record(args.image, _options(args), redraw_to=args.output)
    if not record.ok:
        _say("Error:", "bold red", record.error)
        return EXIT_ALL_FAILED
    colours, shares, counts = _palette_arrays(record)
    name = os.path.basename(args.image)
    for path, fmt in zip(args.palette_out, formats, strict=True):
        with open(path, "w", encoding="utf-8") as file:
            file.write(palette_text(fmt, colours, shares, counts=counts, name=name))
    written = ", ".join([args.output, *args.palette_out])
    _say(
        "Wrote",
        "green",
        f"{written}: {record.width} × {record.height}, {len(record.palette)} colours, "
        f"{_quality_words(record)}.",
    )
    return EXIT_OK


def _engine(args: argparse.Namespace) -> Engine:
    """The engine the options ask for; the Dask one only imported when asked for."""
    if args.engine == "local":
        if args.scheduler:
            raise CommandError("--scheduler goes with --engine dask.")
        # Linux: fork the workers, before any thread or k-means runs in this
        # process, so that they start with the library imported (see LocalEngine).
        method = "fork" if sys.platform == "linux" else "spawn"
        return LocalEngine(args.jobs, start_method=method).start()
    if not args.scheduler:
        raise CommandError(
            "--engine dask needs --scheduler ADDRESS: the address of a running Dask "
            "scheduler, such as tcp://10.0.0.5:8786."
        )
    try:
        from kmeans_lib.dask_engine import DaskEngine
    except ImportError as error:
        raise CommandError(
            "--engine dask needs Dask, which is not installed here. Install it with "
            "pip install 'dask[distributed]' (or install this package with its dask extra, "
            f"pip install '<its folder>[dask]'), then run the command again. ({error})"
        ) from error
    return DaskEngine(args.scheduler)


def _find(args: argparse.Namespace) -> list[FoundPicture]:
    pictures, warnings = find_pictures(args.paths, recursive=args.recursive)
    for warning in warnings:
        _say("Warning:", "yellow", warning)
    if not pictures:
        raise CommandError("No pictures found. Check the folders and patterns given.")
    return pictures


def _progress(description: str) -> Progress:
    """A progress bar on stderr, drawn only when stderr is a terminal."""
    console = _stderr()
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not console.is_terminal,
        transient=False,
    )


def _exit_code(n_ok: int, n_failed: int) -> int:
    if n_failed == 0:
        return EXIT_OK
    return EXIT_ALL_FAILED if n_ok == 0 else EXIT_SOME_FAILED


def _redraw_paths(pictures: list[FoundPicture], folder: str | None) -> list[str | None]:
    if folder is None:
        return [None] * len(pictures)
    paths = [os.path.join(folder, name) for name in output_names(pictures, ".png")]
    for path in paths:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    return paths


def _task_path(path: str | None) -> str | None:
    """A path as the tasks get it: absolute, so that on a Dask worker started in another
    folder it names the same file (on a shared disk). The local engine gets the same paths,
    so both engines' records, errors included, are the same."""
    return None if path is None else os.path.abspath(path)


def _as_given(record: PictureRecord, picture: FoundPicture, redraw: str | None) -> PictureRecord:
    """A task's record with the picture's path, and its redraw's, as given or found."""
    return replace(record, path=picture.path, redraw=redraw if record.redraw else None)


def _run_tasks(
    engine: Engine,
    function: Callable[..., PictureRecord],
    pictures: list[FoundPicture],
    arguments: tuple,
    redraws: list[str | None],
    description: str,
    on_record: Callable[[int, PictureRecord], None],
    keep_going: bool = True,
) -> tuple[int, int]:
    """``function(picture, *arguments, redraw)`` for every picture under a progress bar;
    (pictures done, pictures failed). ``on_record`` gets each record with the paths as given.

    Raises RunStopped for a redraw that cannot be written unless ``keep_going``.
    """
    items = [
        (_task_path(p.path), *arguments, _task_path(redraw))
        for p, redraw in zip(pictures, redraws, strict=True)
    ]
    n_ok = n_failed = 0
    with _progress(description) as progress:
        task = progress.add_task(description, total=len(items))
        for index, record in engine.map(function, items):
            record = _as_given(record, pictures[index], redraws[index])
            on_record(index, record)
            if record.ok:
                n_ok += 1
            else:
                n_failed += 1
            progress.advance(task)
            if record.error_kind == OUTPUT_ERROR and not keep_going:
                raise RunStopped(
                    f"Stopped at '{record.path}': {record.error} Fix this (for example, free "
                    "some disk space) and run the command again with --resume; with "
                    "--keep-going such pictures are recorded as failed and the run goes on."
                )
    return n_ok, n_failed


def _report(n_ok: int, n_failed: int, where: str, extra: str = "") -> None:
    failed = f", {n_failed} failed (their errors are in {where})" if n_failed else ""
    _say("Done:", "green", f"{n_ok} picture{'s' * (n_ok != 1)}{failed}.{extra}")


def _run_batch(args: argparse.Namespace) -> int:
    options = _options(args)
    pictures = _find(args)
    writer = RecordWriter(args.out, resume=args.resume)
    skipped = 0
    if args.resume:
        recorded = writer.recorded()
        todo = [p for p in pictures if os.path.abspath(p.path) not in recorded]
        skipped = len(pictures) - len(todo)
        pictures = todo
    redraws = _redraw_paths(pictures, args.redraw_dir)
    names = output_names(pictures, ".json")
    # The engine first: a scheduler that cannot be reached leaves OUT as it was.
    with _engine(args) as engine, writer:
        n_ok, n_failed = _run_tasks(
            engine,
            palette_record,
            pictures,
            (options,),
            redraws,
            "Palettes",
            lambda index, record: writer.write(record, names[index]),
            keep_going=args.keep_going,
        )
    extra = f" {skipped} already in {args.out} were skipped." if skipped else ""
    _report(n_ok, n_failed, args.out, extra)
    return _exit_code(n_ok, n_failed)


def _run_shared_palette(args: argparse.Namespace) -> int:
    options = _options(args)
    pictures = _find(args)
    err = _stderr()
    with _engine(args) as engine:
        with err.status(f"Counting the colours of {len(pictures)} pictures…"):
            histogram = engine.tree_reduce(
                colour_histogram, [(_task_path(p.path), options) for p in pictures], add_histograms
            )
        given = {_task_path(p.path): p.path for p in pictures}
        # Sorted: the errors come in the order the pictures were counted, which varies.
        for path, error in sorted(histogram.errors):
            _say("Skipped", "yellow", f"{given[path]}: {error}")
        if histogram.n_pictures == 0:
            return EXIT_ALL_FAILED
        shared = fit_shared_palette(histogram, args.k, args.space, args.seed)
        n_failed = len(histogram.errors)
        if args.apply:
            failed = {path for path, _ in histogram.errors}
            pictures = [p for p in pictures if _task_path(p.path) not in failed]
            n_ok, n_applied_failed = _apply(engine, pictures, shared, options, args.apply)
            n_failed += n_applied_failed
        else:
            n_ok = histogram.n_pictures
    order = sort_palette(shared.palette, shared.shares, args.sort)
    caption = (
        f"{histogram.n_pictures} pictures, {shared.n_colours} colours, "
        f"{int(shared.counts.sum()):,} pixels"
    )
    _print_palette(
        shared.palette[order], shared.shares[order], shared.counts[order], args.format, caption
    )
    _report(n_ok, n_failed, "the messages above")
    return _exit_code(n_ok, n_failed)


def _apply(
    engine: Engine,
    pictures: list[FoundPicture],
    shared: SharedPalette,
    options: BatchOptions,
    folder: str,
) -> tuple[int, int]:
    """Redraw every picture with the shared palette into ``folder``; (done, failed)."""
    redraws = _redraw_paths(pictures, folder)

    def on_record(_: int, record: PictureRecord) -> None:
        if not record.ok:
            _say("Failed", "yellow", f"{record.path}: {record.error}")

    return _run_tasks(
        engine, apply_palette, pictures, (shared, options), redraws, "Redraws", on_record
    )


_COMMANDS = {
    "palette": _run_palette,
    "redraw": _run_redraw,
    "batch": _run_batch,
    "shared-palette": _run_shared_palette,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``kmeans-colours`` with ``argv`` (the command line when None); the exit code.

    The installed command and ``python -m kmeans_lib`` run it through
    :func:`kmeans_lib.__main__.run`, which imports it with less garbage collection.
    """
    args = build_parser().parse_args(argv)
    try:
        return _COMMANDS[args.command](args)
    except (CommandError, InputError) as error:
        _say("Error:", "bold red", str(error))
        return EXIT_BAD_COMMAND
    except RunStopped as error:
        _say("Error:", "bold red", str(error))
        return EXIT_ALL_FAILED
    except KeyboardInterrupt:
        _stderr().print("Stopped. With batch, --resume goes on from where it stopped.")
        return EXIT_INTERRUPTED
