"""The kmeans-colours command line, run as a separate process on small generated pictures.

``python -m kmeans_lib`` runs the same ``main`` as the installed ``kmeans-colours``
script (tests/test_install.py runs that one from a fresh virtualenv).
"""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from kmeans_lib import cli, load_image, quantize
from kmeans_lib.batch import BatchOptions, palette_record

REPO = Path(__file__).resolve().parents[1]


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """``kmeans-colours args`` in a fresh interpreter; stdout and stderr are pipes."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "kmeans_lib", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def write_picture(path: Path, seed: int, size=(48, 32)) -> Path:
    """Four noisy colour blocks: a picture with a clear four-colour palette."""
    rng = np.random.default_rng(seed)
    width, height = size
    centres = rng.integers(30, 225, size=(4, 3))
    blocks = np.repeat(np.arange(4), width * height // 4).reshape(height, width)
    noise = rng.integers(-20, 21, size=(height, width, 3))
    pixels = np.clip(centres[blocks] + noise, 0, 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    PILImage.fromarray(pixels).save(path)
    return path


def quantize_file(path: Path, k: int, space: str = "rgb", seed: int = 0):
    return quantize(load_image(path), k, colour_space=space, random_state=seed)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """photos/: a.png, b.jpg, sub/c.png, a broken broken.png and a notes.txt."""
    photos = tmp_path / "photos"
    write_picture(photos / "a.png", 1)
    write_picture(photos / "b.jpg", 2)
    write_picture(photos / "sub" / "c.png", 3)
    (photos / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n this is not a picture")
    (photos / "notes.txt").write_text("not a picture, and not picked from the folder")
    return photos


def read_jsonl(path: Path) -> dict[str, dict]:
    records = [json.loads(line) for line in path.read_text().splitlines()]
    return {Path(record["path"]).name: record for record in records}


def test_palette_json_is_quantize_palette_with_shares_and_counts(tmp_path):
    picture = write_picture(tmp_path / "p.png", 7)
    result = run("palette", "p.png", "-k", "4", "--space", "lab", "--seed", "3", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    colours = json.loads(result.stdout)["colours"]  # JSON by default when not a terminal
    expected = quantize_file(picture, 4, "lab", 3)
    assert [colour["hex"] for colour in colours] == expected.hex_codes()
    assert [colour["rgb"] for colour in colours] == expected.palette.tolist()
    assert [colour["count"] for colour in colours] == expected.counts.tolist()
    assert np.allclose([colour["share"] for colour in colours], expected.shares)
    assert result.stderr == ""


@pytest.mark.parametrize(
    ("fmt", "check"),
    [
        ("csv", lambda text: text.splitlines()[0] == "hex,r,g,b,share,count"),
        ("gpl", lambda text: text.startswith("GIMP Palette\n")),
        ("css", lambda text: "--palette-1: #" in text),
        ("hex", lambda text: all(line.startswith("#") for line in text.splitlines())),
        ("table", lambda text: "share" in text and "pixels" in text),
    ],
)
def test_palette_formats(tmp_path, capsys, fmt, check):
    picture = write_picture(tmp_path / "p.png", 7)
    assert cli.main(["palette", str(picture), "-k", "4", "--format", fmt]) == 0
    text = capsys.readouterr().out
    assert check(text), text
    for code in quantize_file(picture, 4).hex_codes():
        assert code in text


def test_palette_sorted_by_lightness(tmp_path, capsys):
    picture = write_picture(tmp_path / "p.png", 7)
    assert cli.main(["palette", str(picture), "-k", "4", "-f", "json", "--sort", "lightness"]) == 0
    colours = json.loads(capsys.readouterr().out)["colours"]
    grey = [0.299 * r + 0.587 * g + 0.114 * b for r, g, b in (c["rgb"] for c in colours)]
    assert grey == sorted(grey)  # distinct enough blocks: luma follows L*


def test_a_broken_picture_is_a_plain_error_with_exit_code_1(tmp_path):
    (tmp_path / "broken.png").write_bytes(b"not a picture at all")
    result = run("palette", "broken.png", "-k", "4", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    assert "not an image that can be read" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["palette", "p.png", "-k", "0"],
        ["palette", "p.png", "-k", "four"],
        ["palette", "p.png"],
        ["palette", "p.png", "-k", "3", "--format", "pdf"],
        ["redraw", "p.png", "-k", "3", "-o", "out.jpg"],
        ["redraw", "p.png", "-k", "3", "-o", "out.png", "--palette-out", "pal.doc"],
        ["batch", "nothing-here/*.png", "-k", "3", "--out", "out.jsonl"],
        ["batch", "p.png", "-k", "3", "--out", "out.json"],
        ["batch", "p.png", "-k", "3", "--out", "o.jsonl", "--engine", "dask"],
        ["batch", "p.png", "-k", "3", "--out", "o.jsonl", "--scheduler", "tcp://x:8786"],
        ["frobnicate"],
    ],
)
def test_a_wrong_command_exits_with_3_and_no_traceback(tmp_path, capsys, monkeypatch, args):
    write_picture(tmp_path / "p.png", 1)
    monkeypatch.chdir(tmp_path)
    try:
        code = cli.main(args)
    except SystemExit as exited:  # argparse's own checks
        code = exited.code
    assert code == 3
    assert "Traceback" not in capsys.readouterr().err


def test_help_of_every_command_explains_the_options(capsys):
    for command in ("palette", "redraw", "batch", "shared-palette"):
        with pytest.raises(SystemExit) as exited:
            cli.main([command, "--help"])
        assert exited.value.code == 0
        text = capsys.readouterr().out
        assert "exit codes:" in text and "example" in text
        assert "-k K, --colours K" in text and "how many colours" in text


def test_dask_engine_without_dask_says_how_to_install_it(tmp_path, capsys, monkeypatch):
    write_picture(tmp_path / "p.png", 1)
    monkeypatch.setitem(sys.modules, "kmeans_lib.dask_engine", None)  # import fails
    code = cli.main(
        ["batch", str(tmp_path / "p.png"), "-k", "3", "--out", str(tmp_path / "o.jsonl")]
        + ["--engine", "dask", "--scheduler", "tcp://127.0.0.1:8786"]
    )
    assert code == 3
    assert "pip install 'dask[distributed]'" in capsys.readouterr().err


def test_redraw_writes_the_full_size_picture_in_palette_colours(tmp_path):
    picture = write_picture(tmp_path / "p.png", 5, size=(64, 40))
    result = run(
        "redraw", "p.png", "-k", "4", "-o", "out.png", "--palette-out", "out.gpl",
        "--palette-out", "out.json", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    expected = quantize_file(picture, 4)
    with PILImage.open(tmp_path / "out.png") as redrawn:
        assert redrawn.size == (64, 40)
        colours = {tuple(c) for c in np.asarray(redrawn.convert("RGB")).reshape(-1, 3).tolist()}
    assert colours == {tuple(c) for c in expected.palette.tolist()}
    assert (tmp_path / "out.gpl").read_text().startswith("GIMP Palette")
    saved = json.loads((tmp_path / "out.json").read_text())["colours"]
    assert [colour["hex"] for colour in saved] == expected.hex_codes()
    assert "PSNR" in result.stderr


def test_batch_records_every_picture_and_a_broken_one_with_its_error(tmp_path, folder):
    result = run(
        "batch", "photos", "-r", "-k", "4", "--out", "out.jsonl", "--redraw-dir", "redrawn",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr  # some failed
    records = read_jsonl(tmp_path / "out.jsonl")
    assert sorted(records) == ["a.png", "b.jpg", "broken.png", "c.png"]
    broken = records["broken.png"]
    assert broken["palette"] == [] and broken["error_kind"] == "picture"
    assert "not an image" in broken["error"]
    for name, path in (("a.png", "a.png"), ("b.jpg", "b.jpg"), ("c.png", "sub/c.png")):
        record = records[name]
        assert record["error"] is None
        expected = quantize_file(folder / path, 4)
        assert [colour["hex"] for colour in record["palette"]] == expected.hex_codes()
        assert [colour["count"] for colour in record["palette"]] == expected.counts.tolist()
        assert (record["width"], record["height"]) == (48, 32)
        assert record["psnr"] > 20 and record["mean_delta_e"] > 0 and record["seconds"] > 0
        assert (tmp_path / record["redraw"]).is_file()
    assert (tmp_path / "redrawn" / "sub" / "c.png").is_file()
    # stderr is not a terminal: no progress bar, only the summary.
    assert result.stderr.strip() == "Done: 3 pictures, 1 failed (their errors are in out.jsonl)."


def test_batch_exit_codes_all_ok_and_all_failed(tmp_path, folder):
    ok = run("batch", "photos/[ab].*", "-k", "3", "--out", "ok.csv", cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    rows = list(csv.DictReader((tmp_path / "ok.csv").open()))
    assert [row["path"] for row in rows] == ["photos/a.png", "photos/b.jpg"]
    failed = run("batch", "photos/broken.png", "-k", "3", "--out", "bad", cwd=tmp_path)
    assert failed.returncode == 1
    document = json.loads((tmp_path / "bad" / "broken.json").read_text())
    assert document["error"] and document["path"] == "photos/broken.png"


def test_batch_resume_does_only_the_pictures_not_yet_recorded(tmp_path, folder):
    (folder / "broken.png").unlink()
    first = run("batch", "photos", "-k", "4", "--out", "out.csv", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    write_picture(folder / "d.png", 4)
    again = run("batch", "photos", "-k", "4", "--out", "out.csv", "--resume", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "2 already in out.csv were skipped" in again.stderr
    rows = list(csv.DictReader((tmp_path / "out.csv").open()))
    assert [Path(row["path"]).name for row in rows] == ["a.png", "b.jpg", "d.png"]
    expected = quantize_file(folder / "d.png", 4)
    assert rows[2]["hex"].split() == expected.hex_codes()
    assert [int(n) for n in rows[2]["counts"].split()] == expected.counts.tolist()


def test_batch_with_two_jobs_gives_the_records_of_one_job(tmp_path, folder):
    one = run("batch", "photos", "-r", "-k", "4", "--out", "one.jsonl", cwd=tmp_path)
    two = run("batch", "photos", "-r", "-k", "4", "--out", "two.jsonl", "-j", "2", cwd=tmp_path)
    assert (one.returncode, two.returncode) == (2, 2)

    def without_time(records):
        return {name: {**record, "seconds": None} for name, record in records.items()}

    assert without_time(read_jsonl(tmp_path / "one.jsonl")) == without_time(
        read_jsonl(tmp_path / "two.jsonl")
    )


def test_batch_palettes_only_leaves_the_quality_empty_in_jsonl_and_csv(tmp_path, folder):
    (folder / "broken.png").unlink()
    # A JPEG large enough to be decoded at 1/2 for its palette: 730 x 690 = 503,700 pixels.
    big = PILImage.fromarray(np.asarray(PILImage.open(folder / "b.jpg")).repeat(46, axis=0)[:1380])
    big.resize((1460, 1380)).save(folder / "big.jpg", quality=90)
    result = run("batch", "photos", "-k", "4", "--out", "out.jsonl", "--no-quality", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    records = read_jsonl(tmp_path / "out.jsonl")
    assert sorted(records) == ["a.png", "b.jpg", "big.jpg"]
    for record in records.values():
        assert record["psnr"] is None and record["mean_delta_e"] is None
    expected = quantize(load_image(folder / "big.jpg", draft_factor=2), 4)
    assert [colour["hex"] for colour in records["big.jpg"]["palette"]] == expected.hex_codes()
    assert sum(colour["count"] for colour in records["big.jpg"]["palette"]) == 730 * 690
    assert (records["big.jpg"]["width"], records["big.jpg"]["height"]) == (1460, 1380)
    # Small pictures and other formats: the palette of the whole picture, as by default.
    for name in ("a.png", "b.jpg"):
        palette = records[name]["palette"]
        assert [colour["hex"] for colour in palette] == quantize_file(folder / name, 4).hex_codes()

    (folder / "big.jpg").unlink()
    first = run("batch", "photos", "-k", "4", "--out", "out.csv", "--no-quality", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    write_picture(folder / "d.png", 4)
    again = run(
        "batch", "photos", "-k", "4", "--out", "out.csv", "--no-quality", "--resume", cwd=tmp_path
    )  # fmt: skip
    assert again.returncode == 0 and "2 already in out.csv were skipped" in again.stderr
    rows = list(csv.DictReader((tmp_path / "out.csv").open()))
    assert [Path(row["path"]).name for row in rows] == ["a.png", "b.jpg", "d.png"]
    assert all(row["psnr"] == "" and row["mean_delta_e"] == "" for row in rows)
    assert rows[2]["hex"].split() == quantize_file(folder / "d.png", 4).hex_codes()


def test_shared_palette_is_the_palette_of_all_pictures_together(tmp_path, folder):
    result = run(
        "shared-palette", "photos", "-r", "-k", "5", "--seed", "2", "--apply", "shared",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr  # broken.png could not be read
    assert "broken.png" in result.stderr
    colours = json.loads(result.stdout)["colours"]
    # Every pixel of every picture: the same as one picture made of the three stacked.
    stacked = np.vstack(
        [np.asarray(load_image(folder / name).pixels) for name in ("a.png", "b.jpg", "sub/c.png")]
    )
    stacked_path = tmp_path / "stacked.png"
    PILImage.fromarray(stacked).save(stacked_path)
    expected = quantize_file(stacked_path, 5, seed=2)
    assert [colour["hex"] for colour in colours] == expected.hex_codes()
    assert [colour["count"] for colour in colours] == expected.counts.tolist()
    palette = {colour["hex"] for colour in colours}
    for name in ("a.png", "b.png", "sub/c.png"):
        with PILImage.open(tmp_path / "shared" / name) as redrawn:
            pixels = np.asarray(redrawn.convert("RGB")).reshape(-1, 3)
        assert {"#{:02x}{:02x}{:02x}".format(*p) for p in np.unique(pixels, axis=0)} <= palette


def test_a_hostile_file_name_is_printed_as_text(tmp_path, capsys):
    (tmp_path / "[bold red]x[blink].png").write_bytes(b"broken")
    assert cli.main(["shared-palette", str(tmp_path), "-k", "2"]) == 1
    assert "[bold red]x[blink].png: This file is not an image" in capsys.readouterr().err


def test_a_redraw_that_cannot_be_written_stops_the_run_unless_keep_going(tmp_path, folder):
    (folder / "broken.png").unlink()
    (tmp_path / "redrawn").mkdir()
    (tmp_path / "redrawn" / "a.png.part").mkdir()  # the redraw's temporary file cannot be made
    options = BatchOptions(k=3)
    record = palette_record(str(folder / "a.png"), options, str(tmp_path / "redrawn" / "a.png"))
    assert record.error_kind == "output" and record.palette  # the palette is still recorded
    stopped = run(
        "batch", "photos", "-k", "3", "--out", "o.jsonl", "--redraw-dir", "redrawn", cwd=tmp_path
    )
    assert stopped.returncode == 1
    assert "Stopped at" in stopped.stderr and "--resume" in stopped.stderr
    assert len(read_jsonl(tmp_path / "o.jsonl")) == 1
    going = run(
        "batch", "photos", "-k", "3", "--out", "o.jsonl", "--redraw-dir", "redrawn",
        "--keep-going", cwd=tmp_path,
    )  # fmt: skip
    assert going.returncode == 2
    assert len(read_jsonl(tmp_path / "o.jsonl")) == 2
