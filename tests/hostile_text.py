"""Names a link, a file, a sheet or a column could carry to take over what the app shows."""

from __future__ import annotations

import re

from kmeans_app.escape import WORD_JOINER

# The two links of issue 21: a notice with a heading and a sign-in link, and a tracking pixel.
SPOOFED_LINK = "x\n\n## Session expired\n[Sign in](https://evil.example)"
TRACKING_PIXEL = "![x](https://evil.example/t.png)"
SIGN_IN = "[Sign in](https://evil.example)"

HOSTILE = [
    SPOOFED_LINK,
    TRACKING_PIXEL,
    "<b>x</b><img src=https://evil.example/t.png>",
    "<https://evil.example>",
    "https://evil.example/sign-in",
    "www.evil.example",
    "help@evil.example",
    "[Sign in][1]\n\n[1]: https://evil.example",
    "**bold** _italic_ ~~gone~~ `code`",
    "> quoted\n- item\n1. first\n---",
    "| a | b |\n|---|---|\n| 1 | 2 |",
    ":red[alarm] :blue-background[x] :green-badge[ok] :small[x] :shimmer[x]",
    ':color[x]{foreground="red"}',
    ":material/warning: :streamlit: :smile: :+1:",
    "$\\href{https://evil.example}{x}$ and $$x^2$$",
    "a -> b <- c <-> d -- e >= f <= g ~= h",
    "&lt;b&gt; &#60; &amp;",
    "\\[escaped\\] \\",
    "%{x} %{customdata[0]}",
    "left\u202eright\u2066\x00\x1b[31m",
]
ORDINARY = ["sepal length (cm)", "data_2024.csv", "Größe", "Preis in €", "height", "北京"]


def shown(markdown: str) -> str:
    """What a viewer reads of ``markdown`` whose only markup is backslash escapes."""
    return re.sub(r"\\(.)", r"\1", markdown).replace(WORD_JOINER, "")
