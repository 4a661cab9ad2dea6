"""The README's Python example runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PIL import Image

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)
    assert len(blocks) == 1
    monkeypatch.chdir(tmp_path)
    exec(compile(blocks[0], str(README), "exec"), {"__name__": "readme_example"})
    with Image.open(tmp_path / "china-16.png") as redrawn:
        assert len(redrawn.convert("RGB").getcolors(maxcolors=256) or []) == 16
    assert (tmp_path / "china-16.gpl").read_text().startswith("GIMP Palette\n")
