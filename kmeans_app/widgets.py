"""Display pieces shared by several pages: swatches, the palette and segment controls, the
choosing-k and step-by-step panels."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from html import escape
from typing import TYPE_CHECKING, BinaryIO

import numpy as np
import streamlit as st
from streamlit_image_coordinates import streamlit_image_coordinates

from kmeans_app import cache, choices
from kmeans_app.escape import markdown_text
from kmeans_app.sources import PicturePoints, Source, TablePoints
from kmeans_app.state import Settings
from kmeans_lib import eye_test
from kmeans_lib.colour_space import hex_codes
from kmeans_lib.errors import InputError
from kmeans_lib.images import encode_png
from kmeans_lib.perception import VIEWINGS, heat_map
from kmeans_lib.steps import STARTS

if TYPE_CHECKING:
    from streamlit.delta_generator import DeltaGenerator

# Tables up to this many rows show their step-by-step animation without being asked.
STEPS_AUTO_ROWS = 5_000
# Colour pickers to a row.
PICKER_COLUMNS = 8
# The palette files offered for download: extension, MIME type and button label.
PALETTE_FILES = (
    ("csv", "text/csv", "Palette (CSV)"),
    ("json", "application/json", "Palette (JSON)"),
    ("gpl", "text/plain", "Palette (GIMP .gpl)"),
)
# A grey border at half opacity reads on both the light and the dark theme.
_SWATCH_STYLE = """
<style>
.swatches { display: flex; flex-wrap: wrap; gap: 0.6rem; }
.swatch { display: flex; flex-direction: column; align-items: center; width: 5.5rem;
          font-size: 0.8rem; line-height: 1.3; }
.swatch .chip { width: 100%; height: 2.8rem; border-radius: 0.4rem;
                border: 1px solid rgba(128, 128, 128, 0.5); }
</style>
"""

INERTIA_SENTENCE = (
    "Inertia adds up, over every {point}, the squared distance from {its} to its group's "
    "{centre}: lower means a closer fit, and it always drops as k grows, so look for the bend "
    "(the elbow) after which extra groups help much less."
)
# The sentence's words for a picture's pixels and for a table's rows.
INERTIA_WORDS = {
    "pixels": {"point": "pixel", "its": "its colour", "centre": "colour"},
    "rows": {"point": "row", "its": "the row", "centre": "centre"},
}
SILHOUETTE_SENTENCE = (
    "The silhouette (from −1 to 1) says how clearly each point sits in its own group rather "
    "than the nearest other one: higher is better. It is measured on random samples, and the "
    "band shows how much it varies between them."
)
TABLE_SENTENCE = (
    "Calinski–Harabasz: higher means groups that are tight and far apart. "
    "Davies–Bouldin: lower means groups that overlap less."
)

# Enough digits to compare k with k, no more.
PER_K_FORMATS = {
    "Inertia": st.column_config.NumberColumn(format="compact"),
    "Variance explained (%)": st.column_config.NumberColumn(format="%.1f"),
    "Fit time (s)": st.column_config.NumberColumn(format="%.2f"),
    "Silhouette (mean)": st.column_config.NumberColumn(format="%.3f"),
    "Silhouette (std)": st.column_config.NumberColumn(format="%.3f"),
    "Calinski-Harabasz": st.column_config.NumberColumn(format="compact"),
    "Davies-Bouldin": st.column_config.NumberColumn(format="%.3f"),
}

METHOD_FORMATS = {
    "PSNR (dB)": st.column_config.NumberColumn(format="%.2f"),
    "Mean ΔE": st.column_config.NumberColumn(format="%.2f"),
    "Visible difference (FLIP)": st.column_config.NumberColumn(format="%.3f"),
    "Time (s)": st.column_config.NumberColumn(format="%.2f"),
    "Palette PNG (kB)": st.column_config.NumberColumn(format="%.0f"),
}


def percent(share: float) -> str:
    """A share (0–1) as a short percentage, without rounding small shares to zero."""
    return "<0.1%" if 0 < share < 0.001 else f"{share:.1%}"


def file_size(n_bytes: int) -> str:
    """A byte count in kB or MB, as people read file sizes."""
    return f"{n_bytes / 1e6:,.1f} MB" if n_bytes >= 1e6 else f"{n_bytes / 1e3:,.0f} kB"


def file_size_comparison(source: Source, k: int, space: str, seed: int) -> str:
    """One sentence comparing the original's PNG size with the k-colour PNG's."""
    try:
        sizes = cache.file_sizes(source, k, space, seed)
    except InputError as error:  # 256 colours plus transparency do not fit a palette PNG
        return markdown_text(error)
    n_colours = cache.quantization(source, k, space, seed).n_colours
    return (
        f"Saved as PNG with the same quick compression, the picture takes "
        f"{file_size(sizes.original_png)} in full colour and {file_size(sizes.indexed_png)} "
        f"with {n_colours} colours: **{sizes.ratio:.1f}× smaller**."
    )


def dither_comparison(source: Source, k: int, space: str, seed: int, viewing: str) -> None:
    """The plain and dithered redraws' middles at 100%, and what dithering changed
    (FLIP at ``viewing``)."""
    plain_crop, dithered_crop = cache.dither_crops(source, k, space, seed)
    left, right = st.columns(2)
    left.image(
        plain_crop, caption="Plain, at 100% (the middle of the picture)", output_format="PNG"
    )
    right.image(dithered_crop, caption="Dithered, at 100%, same palette", output_format="PNG")
    plain, dithered = (
        cache.quality(source, k, space, seed),
        cache.dithered_quality(source, k, space, seed),
    )
    plain_flip, dithered_flip = (
        cache.flip(source, k, space, seed, viewing).mean,
        cache.dithered_flip(source, k, space, seed, viewing).mean,
    )
    dithered_size = cache.dithered_png_size(source, k, space, seed)
    try:
        plain_size = cache.file_sizes(source, k, space, seed).indexed_png
    except InputError:  # 256 colours plus transparency: no palette PNG to compare with
        plain_size = None
    st.dataframe(
        {
            "": ["Plain", "Dithered"],
            "PSNR (dB)": [round(plain.psnr, 2), round(dithered.psnr, 2)],
            "Mean ΔE": [round(plain.mean_delta_e, 2), round(dithered.mean_delta_e, 2)],
            "Visible difference (FLIP)": [round(plain_flip, 3), round(dithered_flip, 3)],
            "Palette PNG": [
                None if plain_size is None else file_size(plain_size),
                file_size(dithered_size),
            ],
        },
        hide_index=True,
        key="dither_table",
    )
    size_words = (
        ""
        if plain_size is None
        else f" The palette PNG is {file_size(dithered_size)} instead of "
        f"{file_size(plain_size)}: {dithered_size / plain_size:.1f}× "
        f"{'larger' if dithered_size >= plain_size else 'the size'}, because fine patterns "
        "compress worse than flat areas."
    )
    distance = VIEWINGS[viewing].label
    st.markdown(
        f"Measured here: dithering moves PSNR from {plain.psnr:.1f} to {dithered.psnr:.1f} dB "
        f"and the mean ΔE from {plain.mean_delta_e:.1f} to {dithered.mean_delta_e:.1f}, and "
        f"the visible difference at {distance} from {plain_flip:.3f} to {dithered_flip:.3f}. "
        "PSNR and ΔE compare each pixel on its own, and a dithered pixel is often further "
        "off; FLIP blurs what the eye cannot resolve from that distance, as the eye does, so "
        f"it sees the mix of colours as the shade in between.{size_words}"
    )


def flip_heat_map(source: Source, k: int, space: str, seed: int, viewing: str) -> None:
    """The redraw's FLIP heat map at ``viewing``, with its colour scale in words."""
    st.image(
        cache.flip_heat_map(source, k, space, seed, viewing),
        caption=f"Where a difference is visible at {VIEWINGS[viewing].label}",
        output_format="PNG",
    )
    st.image(_FLIP_SCALE, output_format="PNG", width="stretch")
    st.caption(
        "Colour scale, left to right: black = no visible difference, through purple and "
        "orange, to light yellow = as different as can be."
    )


# The heat map's colours from 0 (left) to 1 (right).
_FLIP_SCALE = encode_png(heat_map(np.tile(np.linspace(0, 1, 256, dtype=np.float32), (12, 1))))


def swatches(hex_codes: Sequence[str], shares: Sequence[float]) -> None:
    """The palette as colour chips, each with its hex code and share of pixels."""
    chips(hex_codes, [percent(share) for share in shares])


def chips(codes: Sequence[str], captions: Sequence[str]) -> None:
    """Colour chips, each with its hex code and a caption below."""
    items = "".join(
        f'<div class="swatch" data-hex="{escape(code)}">'
        f'<div class="chip" style="background: {escape(code)}"></div>'
        f"<code>{escape(code)}</code><span>{escape(caption)}</span></div>"
        for code, caption in zip(codes, captions, strict=True)
    )
    st.html(f'{_SWATCH_STYLE}<div class="swatches">{items}</div>')


def palette_file_buttons(
    columns: Sequence[DeltaGenerator],
    files: Callable[[], dict[str, str]],
    stem: str,
    key_prefix: str,
) -> None:
    """A download button in each of three columns for the CSV, JSON and GIMP palette files.

    ``files`` gives the texts by extension; it is called only when a button is clicked.
    """
    for column, (extension, mime, label) in zip(columns, PALETTE_FILES, strict=True):
        column.download_button(
            label,
            lambda extension=extension: files()[extension],
            file_name=f"{stem}-palette.{extension}",
            mime=mime,
            key=f"{key_prefix}_{extension}",
            on_click="ignore",
        )


def palette_editor(
    settings: Settings, fitted: Sequence[str], shares: Sequence[float], order: Sequence[int]
) -> None:
    """A colour picker for each palette colour, in the ``order`` shown, labelled by its share.

    Each picker starts from the colour kept in :mod:`~kmeans_app.choices` (the
    fitted one until it is changed), so edits outlive a visit to another page.
    """
    changed = choices.edits(settings)
    columns = st.columns(min(len(order), PICKER_COLUMNS))
    for position, cluster in enumerate(order):
        key = choices.picker_key(settings, cluster)
        if key not in st.session_state:
            st.session_state[key] = changed.get(cluster, fitted[cluster])
        edited = cluster in changed
        columns[position % PICKER_COLUMNS].color_picker(
            f"{percent(shares[cluster])}{' · edited' if edited else ''}",
            key=key,
            on_change=choices.take_colour,
            args=(settings, cluster, fitted[cluster]),
            help=f"Fitted colour {fitted[cluster]}; {percent(shares[cluster])} of the picture's "
            "pixels are in this group.",
        )


def segment_picker(
    settings: Settings,
    codes: Sequence[str],
    shares: Sequence[float],
    order: Sequence[int],
    label: str,
    page: str,
) -> tuple[int, ...]:
    """Pills to choose palette colours whose pixels to show; returns the chosen clusters.

    The choice is kept per picture, k, colour space and seed in
    :mod:`~kmeans_app.choices` and shared by every page that draws this; ``page``
    names the page drawing it.
    """
    key = choices.pills_key(settings, page)
    if key not in st.session_state:
        st.session_state[key] = list(choices.segments(settings))
    st.pills(
        label,
        list(order),
        selection_mode="multi",
        format_func=lambda cluster: f"{codes[cluster]} · {percent(shares[cluster])}",
        key=key,
        on_change=choices.take_segments,
        args=(settings, page),
    )
    return choices.segments(settings)


class _EncodedPicture:
    """Image bytes already encoded, handed to the image-coordinates component as they are.

    The component saves whatever has a ``save`` method into its data URL; without
    this it would decode and encode the preview again, uncompressed, on every run.
    """

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.format = "PNG" if data.startswith(b"\x89PNG") else "JPEG"

    def save(self, buffer: BinaryIO, **_options: object) -> None:
        buffer.write(self.data)


def _select_clicked(settings: Settings, palette: tuple[str, ...] | None, key: str) -> None:
    """Show the cluster of the pixel just clicked (a callback)."""
    click = st.session_state.get(key)
    if click is None:
        return
    source, k, space, seed = settings.picture, settings.k, settings.space, settings.seed
    try:
        pixel = cache.clicked_pixel(source, k, space, seed, palette, click)
    except InputError:  # a transparent pixel belongs to no cluster: the panel says so
        return
    choices.choose_segments(settings, (pixel.cluster,))


def clickable_picture(
    settings: Settings, picture: bytes, palette: tuple[str, ...] | None
) -> dict[str, float] | None:
    """The picture (PNG or JPEG bytes) as wide as its column; returns the last click on it.

    A click also shows the clicked pixel's cluster in :func:`segment_picker`.
    """
    key = f"pixel_click|{settings.picture.cache_key}"
    encoded = _EncodedPicture(picture)
    return streamlit_image_coordinates(
        encoded,
        width="stretch",
        key=key,
        image_format=encoded.format,
        on_click=functools.partial(_select_clicked, settings, palette, key),
        cursor="crosshair",
    )


def pixel_panel(
    settings: Settings, palette: tuple[str, ...] | None, click: dict[str, float] | None
) -> None:
    """The clicked pixel: its own colour, its palette colour and their difference in words."""
    if click is None:
        st.info(
            "Click on the picture to look at one pixel: its own colour, the palette colour "
            "it was given, and how different the two look."
        )
        return
    source, k, space, seed = settings.picture, settings.k, settings.space, settings.seed
    try:
        pixel = cache.clicked_pixel(source, k, space, seed, palette, click)
    except InputError as error:
        st.info(markdown_text(error))
        return
    own, given = (hex_codes(colour[None])[0] for colour in (pixel.colour, pixel.palette_colour))
    share = cache.quantization(source, k, space, seed).shares[pixel.cluster]
    chips((own, given), ("its own colour", "its palette colour"))
    picture = cache.image(source)
    st.markdown(
        f"**Pixel {pixel.x + 1:,} across, {pixel.y + 1:,} down** (of {picture.width:,} × "
        f"{picture.height:,}). Its own colour is {own}; k-means put it in the group painted "
        f"{given}, which holds {percent(share)} of the picture.\n\n"
        f"The difference is **ΔE {pixel.delta_e:.1f}** (CIEDE2000): {pixel.delta_e_words}."
    )


def choose_k_panel(
    spec: PicturePoints | TablePoints,
    seed: int,
    k: int,
    use_k: Callable[[int], None],
    note: str | None = None,
) -> None:
    """Elbow (with its knee and a button to use it), silhouette by k, the per-k table
    and the per-cluster silhouette at the current ``k``; ``note`` (say, that the sweeps
    fit on a sample) is shown below the elbow chart."""
    curve = cache.elbow(spec, seed)
    unit = "pixels" if isinstance(spec, PicturePoints) else "rows"
    st.subheader("The elbow method")
    explained = st.toggle("Show % of variation explained instead of inertia", key="elbow_variance")
    st.plotly_chart(
        cache.elbow_figure(curve, "variance_explained" if explained else "inertia"),
        key="elbow_chart",
    )
    st.caption(INERTIA_SENTENCE.format(**INERTIA_WORDS[unit]))
    if note:
        st.caption(note)
    if curve.knee is None:
        st.info("This curve has no clear elbow: no single k stands out, so pick by eye.")
    else:
        st.success(f"The elbow is at k = {curve.knee}: beyond it, more groups help much less.")
        st.button(
            f"Use k = {curve.knee}",
            key="use_knee",
            type="primary",
            on_click=use_k,
            args=(curve.knee,),
        )

    st.subheader("The silhouette method")
    scores = cache.silhouettes(spec, seed)
    st.plotly_chart(cache.silhouette_figure(scores, unit), key="silhouette_chart")
    st.caption(SILHOUETTE_SENTENCE)

    st.subheader("Every k in numbers")
    st.dataframe(
        curve.to_frame().merge(scores.to_frame(), on="k", how="left"),
        hide_index=True,
        column_config=PER_K_FORMATS,
        key="per_k_table",
    )
    st.caption(TABLE_SENTENCE)

    st.subheader(f"How well each point fits its group at k = {k}")
    try:
        knife = cache.silhouette_knife(spec, k, seed)
    except InputError as error:  # k = 1, or too few points: the library says why
        st.info(markdown_text(error))
        return
    st.plotly_chart(knife, key="knife_chart")
    st.caption(
        "Each band is one group; each sliver, one sampled point, as long as its silhouette. "
        "Bands that reach past the dashed average line are well separated groups."
    )


EYE_MEASURES = {
    "flip": "How visible the difference is from where it is seen (FLIP)",
    "delta_e": "The colour difference, pixel by pixel (mean ΔE)",
}


def eye_test_panel(
    source: Source, space: str, seed: int, viewing: str, use_k: Callable[[int], None]
) -> None:
    """The smallest k that passes the eye test, with its redraw and a button to use it."""
    distance = VIEWINGS[viewing].label
    measure = st.radio(
        "Measure the difference as",
        tuple(EYE_MEASURES),
        format_func=EYE_MEASURES.get,
        key="eye_measure",
        help=f"FLIP blurs what the eye cannot resolve at {distance} (the viewing distance "
        "is in the sidebar, Advanced); ΔE compares every pixel on its own, which is much "
        "stricter.",
    )
    if measure == "flip":
        threshold = st.slider(
            "Hard to tell apart at a visible difference (mean FLIP) of at most",
            eye_test.MIN_FLIP_THRESHOLD,
            eye_test.MAX_FLIP_THRESHOLD,
            eye_test.HARD_TO_TELL,
            step=0.01,
            key="eye_flip_threshold",
            help=f"0 = no visible difference, 1 = as different as can be. {eye_test.HARD_TO_TELL} "
            "is about what an everyday JPEG (quality 50 to 75) leaves on the sample photos; "
            "lower is stricter.",
        )
    else:
        threshold = st.slider(
            "Just-noticeable difference (mean ΔE)",
            eye_test.MIN_THRESHOLD,
            eye_test.MAX_THRESHOLD,
            eye_test.JUST_NOTICEABLE,
            step=0.1,
            key="eye_threshold",
            help="A mean CIEDE2000 difference of about 2.3 is often quoted as just noticeable; "
            "lower is stricter.",
        )
    # On request: the search fits several k, and Choose k's first visit should
    # show the elbow without waiting for it. Once asked, it stays on.
    if not st.session_state.get("eye_test_on"):
        st.button(
            "Find this k",
            key="run_eye_test",
            on_click=st.session_state.update,
            kwargs={"eye_test_on": True},
        )
        return
    if measure == "flip":
        found = cache.smallest_k_seen(source, space, seed, viewing, round(threshold, 2))
        within = f"a visible difference (mean FLIP) of {threshold:.2f} at {distance}"
        value = f"mean FLIP {found.values[found.max_k]:.3f}"
    else:
        found = cache.smallest_unnoticeable_k(source, space, seed, round(threshold, 1))
        within = f"a mean ΔE of {threshold:.1f}"
        value = f"mean ΔE {found.values[found.max_k]:.1f}"
    n_colours = f"{found.n_colours:,}"
    if found.k is None:
        st.info(
            f"No k up to {found.max_k} brings the redraw within {within}: even {found.max_k} "
            f"colours ({value}) can be told from the original's {n_colours}. Try a larger "
            "threshold, or the CIELAB colour space."
        )
        return
    k = found.k
    st.success(
        f"From k = {k} on, the redraw is hard to tell from the original (within {within}): "
        f"{k} colours instead of {n_colours}."
    )
    st.button(f"Use k = {k}", key="use_eye_k", type="primary", on_click=use_k, args=(k,))
    left, right = st.columns(2)
    left.image(cache.original_preview(source), caption="Original")
    right.image(
        cache.redraw_preview(source, k, space, seed),
        caption=f"Redrawn with k = {k}",
        output_format="PNG",
    )
    how = (
        f"on the picture as seen at {distance} ({found.sample_size:,} pixels), to within "
        f"{eye_test.FLIP_PRECISION:.0%} of k"
        if measure == "flip"
        else f"on {found.sample_size:,} random pixels"
    )
    st.caption(
        f"Each k tried was measured {how}, from a quick fit of the picture's colour histogram: "
        f"{len(found.values)} values of k in {found.seconds:.1f} s. The redraw shown is the "
        "full fit, usually a little closer."
    )


def start_label(start: str, unit: str = "pixels") -> str:
    """How a k-means start is named on screen: "k-means++ (spread out)" or "random pixels"."""
    return "k-means++ (spread out)" if start == "k-means++" else f"random {unit}"


def table_steps_panel(table: TablePoints, k: int, seed: int) -> None:
    """Your data: k-means step by step on two of ``table``'s columns, as an animated 2D scatter."""
    columns = table.columns
    st.subheader("Watch k-means work on two columns")
    if len(columns) < 2:
        st.info("Choose at least two columns to watch k-means work step by step.")
        return
    st.caption(
        "Here k-means runs on just the two columns you pick, scaled as chosen above, so its "
        "groups can differ from the ones above. Press Play: every row joins its nearest centre "
        "(the crosses), then every centre moves to its group's average, until nothing changes."
    )
    # On request for large tables: recording and drawing every step takes about
    # 0.4 s at 120,000 rows, which the rest of the page should not wait for.
    small = cache.prepared_table(table).rows_used <= STEPS_AUTO_ROWS
    # One switch per table: a small table's animation shown earlier must not
    # switch on a large one's.
    key = f"table_steps_on|{table.source.cache_key}"
    if not st.toggle("Show the animation", value=small, key=key):
        return
    left, middle, right = st.columns(3)
    x = left.selectbox("Across", columns, index=0, key="steps_x")
    y = middle.selectbox("Up", [name for name in columns if name != x], key="steps_y")
    start = right.radio(
        "Starting centres",
        STARTS,
        format_func=lambda value: start_label(value, "rows"),
        key="table_steps_start",
        horizontal=True,
    )
    spec = dataclasses.replace(table, columns=(x, y))
    st.plotly_chart(cache.steps_plane(spec, k, start, seed), key="table_steps_chart")
