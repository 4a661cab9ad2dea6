"""A viewer's own choices for one picture, k, colour space and seed: edited colours and segments.

Both live in ``st.session_state`` as colour codes and cluster numbers only, never
images, tagged with the settings they were made for: a palette edited at k = 8
means nothing at k = 9. Changing the picture, k, the colour space or the seed
therefore starts again from the fitted palette and from every segment shown.
The segment choice is shared by the pages that show it (Palette & segments and
Explore in 3D), so it follows the viewer from one to the other.
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from kmeans_app.state import Settings

EDITS = "palette_edits"  # (settings key, {cluster: colour code})
SEGMENTS = "chosen_segments"  # (settings key, tuple of clusters)
_PILLS = "segments|"


def settings_key(settings: Settings) -> str:
    """The picture, k, colour space and seed as one string, for state and widget keys."""
    return f"{settings.picture.cache_key}|{settings.k}|{settings.space}|{settings.seed}"


def _saved(settings: Settings, name: str) -> object:
    """What was saved under ``name`` for these settings, or None."""
    saved = st.session_state.get(name)
    return saved[1] if saved is not None and saved[0] == settings_key(settings) else None


# --- edited colours -------------------------------------------------------------------------


def picker_key(settings: Settings, cluster: int) -> str:
    """The widget key of the colour picker of ``cluster``."""
    return f"colour|{settings_key(settings)}|{cluster}"


def edits(settings: Settings) -> dict[int, str]:
    """The clusters whose colour was changed, with their new colour codes."""
    return dict(_saved(settings, EDITS) or {})


def edited_palette(settings: Settings, fitted: Sequence[str]) -> tuple[str, ...] | None:
    """The palette as edited, one code per cluster; None when no colour was changed."""
    changed = edits(settings)
    if not changed:
        return None
    return tuple(changed.get(cluster, code) for cluster, code in enumerate(fitted))


def edits_left_behind(settings: Settings) -> bool:
    """True, once, when the palette was last edited for other settings; those edits go."""
    saved = st.session_state.get(EDITS)
    if saved is None or saved[0] == settings_key(settings):
        return False
    del st.session_state[EDITS]
    return bool(saved[1])


def take_colour(settings: Settings, cluster: int, fitted: str) -> None:
    """Keep the colour the picker of ``cluster`` was set to (a callback)."""
    code = st.session_state[picker_key(settings, cluster)].lower()
    changed = edits(settings)
    if code == fitted:
        changed.pop(cluster, None)
    else:
        changed[cluster] = code
    st.session_state[EDITS] = (settings_key(settings), changed)


def reset_palette(settings: Settings, n_colours: int) -> None:
    """Go back to the fitted colours (a callback: the pickers are drawn again from them)."""
    st.session_state.pop(EDITS, None)
    for cluster in range(n_colours):
        st.session_state.pop(picker_key(settings, cluster), None)


# --- segments -------------------------------------------------------------------------------


def pills_key(settings: Settings, page: str) -> str:
    """The widget key of the segment choice on ``page``.

    One key per page: Streamlit tells widgets of different pages apart even under
    the same key, so each page's widget starts from the choice kept here.
    """
    return f"{_PILLS}{page}|{settings_key(settings)}"


def segments(settings: Settings) -> tuple[int, ...]:
    """The clusters chosen to be shown; empty for all of them."""
    return tuple(_saved(settings, SEGMENTS) or ())


def choose_segments(settings: Settings, clusters: Sequence[int]) -> None:
    """Show ``clusters`` (none: all), on every page (a callback, before the choice is drawn)."""
    st.session_state[SEGMENTS] = (settings_key(settings), tuple(sorted(clusters)))
    for key in [key for key in st.session_state if str(key).startswith(_PILLS)]:
        del st.session_state[key]  # drawn again from the choice just kept


def take_segments(settings: Settings, page: str) -> None:
    """Keep the segment choice the viewer just made on ``page`` (a callback)."""
    chosen = st.session_state[pills_key(settings, page)]
    st.session_state[SEGMENTS] = (settings_key(settings), tuple(sorted(chosen)))
