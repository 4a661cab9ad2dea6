"""Text from outside (file, sheet and column names, cell values) made safe to show as text.

Plotly draws titles, axis titles, legend entries, hover labels and annotations
from a small HTML subset: ``<b>``, ``<i>``, ``<br>``, ``<sup>``, ``<sub>``,
``<span style>``, links (``<a href>``, which open another site), character
entities, and LaTeX between ``$`` signs where MathJax is loaded; hover
templates also substitute ``%{...}`` fields. :func:`plotly_text` turns a name
into text that Plotly shows letter for letter. The dashboard's markdown
counterpart is ``kmeans_app.escape``.
"""

from __future__ import annotations

import re

# Characters that change the direction text is drawn in (a name "\u202egpj.exe" shows
# as "exe.jpg") and the other control characters: never shown.
_INVISIBLE = re.compile(
    r"[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)
# Line breaks, tabs and other white space: one space, so a name stays on its line.
_SPACES = re.compile(r"\s+")
# What Plotly reads as markup or as a template field, as numeric character
# references it shows as the character itself.
_PLOTLY_MARKUP = str.maketrans({char: f"&#{ord(char)};" for char in "&<>$%"})


def one_line(text: object, limit: int | None = None) -> str:
    """``text`` as one line of visible characters, at most ``limit`` of them.

    Runs of white space (line breaks included) become one space, control and
    text-direction characters are dropped, and a longer text is cut with "…".

    Parameters
    ----------
    text : object
        Anything; it is shown as ``str(text)``.
    limit : int, optional
        Most characters kept, the "…" included; None keeps them all.

    Returns
    -------
    str
    """
    line = _SPACES.sub(" ", _INVISIBLE.sub("", str(text))).strip()
    if limit is not None and len(line) > limit:
        line = line[: max(limit - 1, 0)].rstrip() + "…"
    return line


def plotly_text(text: object, limit: int | None = None) -> str:
    """``text`` for a Plotly title, axis title, legend entry, hover label or template.

    Shown exactly as written (on one line, see :func:`one_line`): no tag, link,
    entity, LaTeX or template field in it takes effect.

    Parameters
    ----------
    text : object
        Anything; it is shown as ``str(text)``.
    limit : int, optional
        Most characters kept, as for :func:`one_line`.

    Returns
    -------
    str
        The text with ``& < > $ %`` written as character references.
    """
    return one_line(text, limit).translate(_PLOTLY_MARKUP)
