"""The package's public surface."""

import subprocess
import sys
import tomllib
from pathlib import Path

import kmeans_lib


def test_every_public_name_is_importable_from_the_package():
    for name in kmeans_lib.__all__:
        assert getattr(kmeans_lib, name) is not None, name


def test_the_library_does_not_import_streamlit():
    # A fresh interpreter, so that the app tests' imports do not count.
    code = "import sys, kmeans_lib; print('streamlit' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_the_package_declares_the_ranges_that_requirements_txt_installs():
    root = Path(__file__).resolve().parents[1]
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    lines = (root / "requirements.txt").read_text().splitlines()
    required = {line.strip() for line in lines if line.strip() and not line.startswith("#")}
    declared = set(project["dependencies"]) | set(project["optional-dependencies"]["app"])
    assert declared == required
    assert project["scripts"] == {"kmeans-colours": "kmeans_lib.__main__:run"}
