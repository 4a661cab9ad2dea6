"""The shared sidebar: picture, k, colour space, seed and viewing distance.

The settings live in ``st.session_state`` under the widgets' keys and are mirrored
in ``st.query_params`` (``image``, ``k``, ``space``, ``seed``, ``viewing``), so a copied link
opens the same view. The URL is read once, on a session's first run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from kmeans_app import cache
from kmeans_app.escape import markdown_text
from kmeans_app.sources import Source
from kmeans_app.store import Busy
from kmeans_lib.clustering import MAX_K
from kmeans_lib.colour_space import COLOUR_SPACES
from kmeans_lib.errors import InputError
from kmeans_lib.escape import one_line
from kmeans_lib.images import sample_names
from kmeans_lib.perception import DEFAULT_VIEWING, VIEWINGS

if TYPE_CHECKING:
    from streamlit.runtime.uploaded_file_manager import UploadedFile

DEFAULT_K = 8
SLIDER_MAX_K = 64
PRESETS = (3, 16)
DEFAULT_SPACE = "rgb"
DEFAULT_SEED = 0
MAX_SEED = 2**32 - 1  # numpy's limit for a seed
UPLOAD = "upload"
IMAGE_TYPES = ["png", "jpg", "jpeg", "webp", "gif", "bmp", "tif", "tiff"]
# Keys of the picture controls' widgets, which not every page draws.
PICTURE_WIDGETS = ("image_source", "k", "k_number", "colour_space")
# Most characters of a link's parameter quoted in a notice: enough to recognise a typo.
QUOTED_PARAMETER_CHARS = 40
# Most characters of a file name quoted in a message.
QUOTED_NAME_CHARS = 80
# A run that follows one it cut short, this soon after that one began, waits a
# moment before computing anything (see settle).
QUICK_RERUN_SECONDS = 1.0
SETTLE_SECONDS = 0.15
SPACE_LABELS = {
    "rgb": "RGB (how a screen stores colour)",
    "lab": "CIELAB (how people see colour)",
}


@dataclass(frozen=True)
class Settings:
    """What the sidebar chose: the picture, k, the colour space, the seed and the
    viewing distance (a key of :data:`kmeans_lib.perception.VIEWINGS`)."""

    picture: Source
    k: int
    space: str
    seed: int
    viewing: str = DEFAULT_VIEWING


def current() -> Settings:
    """The settings of this run, as the sidebar left them in session state."""
    state = st.session_state
    return Settings(
        state.picture, int(state.k_number), state.colour_space, int(state.seed), state.viewing
    )


def settle() -> None:
    """Begin a run; right after a run it cut short, first wait :data:`SETTLE_SECONDS`.

    Each click on the seed's "+" or arrow key on the k slider asks for a run. One
    that comes while the previous run computes ends that run at its next Streamlit
    call, but only after the result being computed is done (it may be shared, and
    is kept). So in a quick burst of changes, the run after a cut-short one waits
    a moment before its first computation: a further change meanwhile ends it
    there, and five quick changes compute the first and the last, not five. Runs
    that follow a finished one, or come later than :data:`QUICK_RERUN_SECONDS`,
    do not wait. Call :func:`run_finished` at the end of the run.
    """
    state = st.session_state
    now = time.monotonic()
    previous = state.get("run_started")
    state.run_started = now
    if state.get("run_open") and previous is not None and now - previous < QUICK_RERUN_SECONDS:
        time.sleep(SETTLE_SECONDS)
    state.run_open = True


def run_finished() -> None:
    """Note that this run reached its end (see :func:`settle`)."""
    st.session_state.run_open = False


def set_k(k: int) -> None:
    """Set k on both k widgets; call from a widget callback, before they are drawn."""
    st.session_state.k_number = k
    st.session_state.k = min(k, SLIDER_MAX_K)


def _k_from_slider() -> None:
    st.session_state.k_number = st.session_state.k


def _k_from_number() -> None:
    st.session_state.k = min(st.session_state.k_number, SLIDER_MAX_K)


def _int_param(name: str, low: int, high: int, notices: list[str]) -> int | None:
    """An integer query parameter in ``low..high``, or None (with a notice if it was bad)."""
    text = st.query_params.get(name)
    if text is None:
        return None
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        notices.append(
            f"The link's {name} “{quoted(text)}” is not a whole number from {low} to {high}."
        )
        return None
    return value


def quoted(parameter: str) -> str:
    """A link's parameter as a notice quotes it: on one line and shortened.

    The notice is plain text, escaped where it is shown; a link made to mislead
    should not fill the page either.
    """
    return one_line(parameter, QUOTED_PARAMETER_CHARS)


def _initialise() -> list[str]:
    """On a session's first run, fill session state from the URL or the defaults.

    Returns a short notice (plain text) for each query parameter that could not be used.
    """
    notices: list[str] = []
    samples = sample_names()
    image = st.query_params.get("image", samples[0])
    if image not in samples:
        notices.append(f"There is no sample picture called “{quoted(image)}”.")
        image = samples[0]
    space = st.query_params.get("space", DEFAULT_SPACE)
    if space not in COLOUR_SPACES:
        notices.append(f"The colour space “{quoted(space)}” is unknown; use rgb or lab.")
        space = DEFAULT_SPACE
    viewing = st.query_params.get("viewing", DEFAULT_VIEWING)
    if viewing not in VIEWINGS:
        names = ", ".join(VIEWINGS)
        notices.append(f"The viewing distance “{quoted(viewing)}” is unknown; use {names}.")
        viewing = DEFAULT_VIEWING
    k = _int_param("k", 1, MAX_K, notices)
    seed = _int_param("seed", 0, MAX_SEED, notices)

    state = st.session_state
    state.image_source = image
    state.picture = Source.sample(image)
    state.colour_space = space
    state.seed = DEFAULT_SEED if seed is None else seed
    state.viewing = viewing
    set_k(DEFAULT_K if k is None else k)
    return notices


def uploaded(file: UploadedFile) -> Source:
    """The upload as a :class:`Source`, reading and hashing each uploaded file only once."""
    seen = st.session_state.setdefault("uploads_seen", {})
    if file.file_id not in seen:
        # Only the latest upload is worth keeping: older entries would pin their bytes.
        seen.clear()
        seen[file.file_id] = Source.upload(file.name, upload_bytes(file))
    return seen[file.file_id]


def upload_bytes(file: UploadedFile) -> bytes:
    """The uploaded file's bytes: the very ones Streamlit keeps for the session.

    The file the uploader returns holds a copy of them (made on every run), so
    keeping its ``getvalue()`` would hold each upload twice for as long as it is
    shown: 20 MB more per viewer of a 12-megapixel PNG. Streamlit's own record
    is read as its file uploader reads it.
    """
    ctx = get_script_run_ctx(suppress_warning=True)
    if ctx is not None:
        records = ctx.uploaded_file_mgr.get_files(
            session_id=ctx.session_id, file_ids=[file.file_id]
        )
        if records:
            return records[0].data
    return file.getvalue()


def _use_upload(source: Source) -> None:
    """Make an uploaded picture current, or show why it cannot be used.

    A refused file is remembered with its message, so reruns do not decode it again.
    """
    state = st.session_state
    if source.cache_key == state.picture.cache_key:
        return
    refused = state.get("refused_upload")
    if refused is None or refused[0] != source.cache_key:
        try:
            cache.image(source)  # decodes and checks the file once; later runs hit the cache
        except Busy as error:  # the server is busy, not the file wrong: tried again next run
            st.error(markdown_text(error))
            return
        except InputError as error:
            name = one_line(source.name, QUOTED_NAME_CHARS)
            message = f"“{name}” cannot be used: {error} The previous picture is still shown."
            refused = state.refused_upload = (source.cache_key, message)
        else:
            state.picture = source
            return
    st.error(markdown_text(refused[1]))


def _picture_controls() -> None:
    """The picture chooser: a built-in sample or an uploaded file."""
    state = st.session_state
    st.radio(
        "Picture",
        [*sample_names(), UPLOAD],
        format_func=lambda v: "Upload my own" if v == UPLOAD else f"Sample photo: {v.title()}",
        key="image_source",
    )
    if state.image_source != UPLOAD:
        state.picture = Source.sample(state.image_source)
        return
    file = st.file_uploader(
        "Your picture (PNG, JPEG, WebP, GIF, BMP or TIFF)", type=IMAGE_TYPES, key="upload"
    )
    if file is None:
        name = markdown_text(state.picture.name, QUOTED_NAME_CHARS)
        st.caption(f"Until you choose a file, the app keeps showing “{name}”.")
        return
    source = uploaded(file)
    # The uploader hands every run its own copy of the bytes: let it go before a
    # large picture is decoded (20 MB more at a 49-megapixel PNG's peak otherwise).
    del file
    _use_upload(source)


def _k_controls() -> None:
    """k as a slider, a number box for larger values, and the two presets."""
    st.slider(
        "Number of colours (k)",
        1,
        SLIDER_MAX_K,
        key="k",
        on_change=_k_from_slider,
        help="k-means groups the picture's colours into this many groups, one palette colour each.",
    )
    st.number_input(
        f"…or type any k up to {MAX_K}", 1, MAX_K, step=1, key="k_number", on_change=_k_from_number
    )
    for column, k in zip(st.columns(len(PRESETS)), PRESETS, strict=True):
        column.button(f"{k} colours", key=f"preset_{k}", on_click=set_k, args=(k,), width="stretch")


def _write_url(settings: Settings) -> None:
    """Mirror the settings in the URL (only when they changed, to avoid needless messages)."""
    wanted = {"k": str(settings.k), "space": settings.space}
    if settings.picture.sample_name is not None:
        wanted["image"] = settings.picture.sample_name
    if settings.seed != DEFAULT_SEED:
        wanted["seed"] = str(settings.seed)
    if settings.viewing != DEFAULT_VIEWING:
        wanted["viewing"] = settings.viewing
    if st.query_params.to_dict() != wanted:
        st.query_params.from_dict(wanted)


def _keep_hidden_settings() -> None:
    """Keep the picture settings while their widgets are not drawn.

    Streamlit forgets a widget's value at the end of a run that did not draw it;
    a value assigned by the script is kept.
    """
    state = st.session_state
    for key in PICTURE_WIDGETS:
        state[key] = state[key]


def sidebar(picture_controls: bool = True) -> tuple[Settings, list[str]]:
    """Draw the shared sidebar controls.

    Parameters
    ----------
    picture_controls : bool, default True
        Draw the picture, k and colour-space controls; without them only the
        seed is drawn and the picture settings are kept for the other pages.

    Returns
    -------
    settings : Settings
        The picture, k, colour space and seed for this run.
    notices : list of str
        Plain sentences about query parameters that were ignored (first run only),
        to be escaped where they are shown.
    """
    notices = _initialise() if "picture" not in st.session_state else []
    with st.sidebar:
        if picture_controls:
            _picture_controls()
            _k_controls()
            st.radio(
                "Measure colour differences in",
                COLOUR_SPACES,
                format_func=SPACE_LABELS.get,
                key="colour_space",
            )
        else:
            _keep_hidden_settings()
        with st.expander("Advanced"):
            st.number_input(
                "Random seed",
                0,
                MAX_SEED,
                step=1,
                key="seed",
                help="k-means starts from randomly picked colours. The same seed always "
                "gives the same palette; another seed may give a slightly different one.",
            )
            st.selectbox(
                "Viewing distance",
                tuple(VIEWINGS),
                format_func=lambda name: VIEWINGS[name].label.capitalize(),
                key="viewing",
                help="Where the picture would be seen: how visible a difference is depends "
                "on how large the picture looks from there. Redraw's visible-difference "
                "measure (FLIP) uses it.",
            )
    settings = current()
    _write_url(settings)
    return settings, notices
