"""Text from outside (URL parameters, file, sheet and column names, cell values, and error
messages that quote them) made safe to show in Streamlit as text.

What renders markdown in Streamlit 1.67 (checked in its source and docstrings):

- in full, with the directives below: ``st.markdown``, ``st.caption``, ``st.title``,
  ``st.header``, ``st.subheader``, the bodies of ``st.info``, ``st.warning``,
  ``st.error``, ``st.success`` and ``st.toast``, ``st.image`` captions, ``st.table``
  cells, ``st.spinner`` texts, every ``help`` tooltip, and the options
  (``format_func`` output) of ``st.pills`` and ``st.segmented_control``;
- as a label (bold, italics, strikethrough, code, links and images, with the same
  directives; other blocks are unwrapped to their text): the label of every widget
  (buttons, download buttons, page links, sliders, inputs, radio, selectbox,
  multiselect, toggle, file uploader, colour picker), ``st.metric`` labels, values and
  deltas, ``st.progress`` texts, tab, expander and popover labels, and the options of
  ``st.radio`` and ``st.select_slider``;
- plain text: the options of ``st.selectbox`` and ``st.multiselect``, ``st.dataframe``
  cells and headers, ``st.code``, ``st.text`` and download file names.

Besides CommonMark and GitHub's extensions (tables, strikethrough and bare
``https://``, ``www.`` and e-mail addresses turned into links), Streamlit's markdown
reads ``:color[...]``, ``:color-background[...]``, ``:color-badge[...]``,
``:small[...]`` and ``:shimmer[...]`` directives, ``:material/icon:`` and
``:streamlit:`` icons, emoji shortcodes such as ``:smile:``, LaTeX between ``$``
signs, HTML (dropped unless allowed) and arrows made of ``-><=~``. The links,
autolinks and icon and emoji replacements work on the text *after* backslash
escapes are resolved, so escaping alone does not stop them: a word joiner (an
invisible U+2060) also breaks each of those patterns. No registry package escapes
for Streamlit's own directives, hence this module.
"""

from __future__ import annotations

import re

from kmeans_lib.escape import one_line

WORD_JOINER = "\u2060"
# Every ASCII punctuation character: CommonMark shows any of them literally after "\".
_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
# Where an invisible word joiner breaks what Streamlit finds in the text itself: after
# ":" (icons, emoji, directives, "https:"), after "@" (e-mail links), between "www"
# and "." (web links) and inside arrows such as "->" and ">=".
_BREAKS = re.compile(r"(?<=[:@])|(?<=[-<>~=])(?=[-<>~=])|(?i:(?<=www)(?=\.))")


def markdown_text(text: object, limit: int | None = None) -> str:
    """``text`` as markdown that Streamlit shows letter for letter, on one line.

    For any element or label that renders markdown (see the module's notes);
    compose it into an f-string of the app's own words, never escape the
    result twice.

    Parameters
    ----------
    text : object
        Anything; it is shown as ``str(text)``.
    limit : int, optional
        Most characters kept, with "…" for the rest; None keeps them all.

    Returns
    -------
    str
        The text with every ASCII punctuation character backslash-escaped and
        word joiners where Streamlit would otherwise make an icon, emoji, link
        or arrow of it.
    """
    return _PUNCTUATION.sub(r"\\\1", _BREAKS.sub(WORD_JOINER, one_line(text, limit)))
