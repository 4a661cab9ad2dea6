"""The package's public surface."""

import subprocess
import sys

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
