"""``pip install`` of the repository into a fresh virtualenv elsewhere, as a new user would.

A plain virtualenv (no system site-packages), so a dependency missing from
pyproject.toml fails the import. pip takes the dependencies from its cache or PyPI.
"""

import json
import subprocess
import venv
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.install
def test_pip_install_gives_the_library_and_the_kmeans_colours_command(tmp_path):
    environment = tmp_path / "venv"
    venv.create(environment, with_pip=True)
    python = environment / "bin" / "python"
    subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(REPO)],
        check=True,
        cwd=tmp_path,
        timeout=1200,
    )
    # From tmp_path, so that the checkout's own kmeans_lib cannot be the one imported.
    imported = subprocess.run(
        [python, "-c", "import kmeans_lib, sys; print(kmeans_lib.__file__)"],
        capture_output=True, text=True, check=True, cwd=tmp_path,
    )  # fmt: skip
    assert imported.stdout.startswith(str(environment))
    command = environment / "bin" / "kmeans-colours"
    helped = subprocess.run([command, "--help"], capture_output=True, text=True, cwd=tmp_path)
    assert helped.returncode == 0 and "shared-palette" in helped.stdout

    photos = tmp_path / "photos"
    photos.mkdir()
    rng = np.random.default_rng(0)
    for name in ("a.png", "b.png"):
        PILImage.fromarray(rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)).save(photos / name)
    batch = subprocess.run(
        [command, "batch", "photos", "-k", "3", "--out", "out.jsonl"],
        capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert batch.returncode == 0, batch.stderr
    records = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [len(record["palette"]) for record in records] == [3, 3]
