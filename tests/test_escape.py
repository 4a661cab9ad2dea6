"""Outside text shown as text: the markdown escaper of the app and the Plotly one of the library."""

from __future__ import annotations

import html
import re

import numpy as np
import pandas as pd
import pytest
from hostile_text import HOSTILE, ORDINARY, shown
from markdown_it import MarkdownIt

from kmeans_app.escape import WORD_JOINER, markdown_text
from kmeans_lib.clustering import WeightedPoints
from kmeans_lib.escape import one_line, plotly_text
from kmeans_lib.figures import table_scatter_3d
from kmeans_lib.step_figures import kmeans_steps_2d
from kmeans_lib.steps import record_kmeans

ASCII_PUNCTUATION = re.compile(r"[!-/:-@\[-`{-~]")


def rendered(markdown: str) -> str:
    """``markdown`` as CommonMark HTML, without the paragraph around it."""
    return MarkdownIt("commonmark").enable("table").enable("strikethrough").render(markdown)


@pytest.mark.parametrize("text", HOSTILE + ORDINARY)
def test_markdown_text_shows_the_text_itself(text: str) -> None:
    assert shown(markdown_text(text)) == one_line(text)
    output = rendered(markdown_text(text))
    assert output.startswith("<p>") and output.endswith("</p>\n")
    body = output[len("<p>") : -len("</p>\n")]
    assert "<" not in body, "no element of any kind: link, image, heading, emphasis, code"
    assert html.unescape(body).replace(WORD_JOINER, "") == one_line(text)


@pytest.mark.parametrize("text", HOSTILE)
def test_markdown_text_escapes_every_punctuation_mark(text: str) -> None:
    escaped = markdown_text(text)
    # Read as pairs: every ASCII punctuation mark comes after a backslash.
    plain = re.sub(r"\\[!-/:-@\[-`{-~]", "", escaped)
    assert not ASCII_PUNCTUATION.search(plain)
    assert "\n" not in escaped


@pytest.mark.parametrize("text", HOSTILE)
def test_markdown_text_breaks_what_streamlit_finds_in_plain_text(text: str) -> None:
    # Streamlit's icons, emoji, autolinks and arrows are found in the text after
    # its escapes are resolved: each needs a word joiner to break it.
    seen = shown(markdown_text(text).replace(WORD_JOINER, "|"))
    assert not re.search(r":[\w/+-]", seen), "icon, emoji or directive"
    assert not re.search(r"https?://|www\.|@\w", seen, re.IGNORECASE), "autolink"
    assert not re.search(r"[-<>~=]{2}", seen), "arrow"


def test_markdown_text_shortens_and_keeps_one_line() -> None:
    assert markdown_text("a\n\n  b\tc") == "a b c"
    assert markdown_text("x" * 100, limit=10) == "x" * 9 + "…"
    assert one_line("abc", limit=3) == "abc"
    assert one_line("\u202egpj.exe") == "gpj.exe"


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_text_keeps_its_letters(text: str) -> None:
    assert shown(markdown_text(text)) == text
    assert plotly_text(text) == html.escape(text, quote=False)


@pytest.mark.parametrize("text", HOSTILE + ORDINARY)
def test_plotly_text_shows_the_text_itself(text: str) -> None:
    escaped = plotly_text(text)
    assert not re.search(r"[<>$%]", escaped), "no tag, LaTeX or template field"
    assert not re.search(r"&(?!#\d+;)", escaped), "every & starts a character reference"
    assert html.unescape(escaped) == one_line(text)


def test_column_names_reach_plotly_figures_as_text() -> None:
    names = ["<b>x</b>", '<a href="https://evil.example">y</a>', "%{customdata}"]
    frame = pd.DataFrame(np.arange(30, dtype=float).reshape(10, 3), columns=names)
    cube = table_scatter_3d(frame, names, np.zeros(10, dtype=int)).to_plotly_json()
    scene = cube["layout"]["scene"]
    assert [scene[f"{axis}axis"]["title"]["text"] for axis in "xyz"] == [
        plotly_text(name) for name in names
    ]

    points = WeightedPoints(frame[names[:2]].to_numpy(), np.ones(10))
    plane = kmeans_steps_2d(record_kmeans(points, 2, random_state=0), points, names[:2])
    layout = plane.to_plotly_json()["layout"]
    assert layout["xaxis"]["title"]["text"] == plotly_text(names[0])
    assert layout["yaxis"]["title"]["text"] == plotly_text(names[1])
    hover = plane.data[0].hovertemplate
    assert hover.startswith(f"{plotly_text(names[0])} %{{x:.3g}}, {plotly_text(names[1])} ")
    assert "<a" not in hover and "<b>" not in hover
