"""Palette & segments: order, edit and take away the palette; see each colour's region."""

import functools

import streamlit as st

from kmeans_app import cache, choices, state, widgets
from kmeans_lib.colour_space import PALETTE_ORDERS
from kmeans_lib.palette_io import SNIPPET_NAMES

ORDER_LABELS = {"share": "Share of pixels", "hue": "Hue", "lightness": "Lightness"}
SNIPPET_LANGUAGES = {"matplotlib": "python", "plotly": "python", "seaborn": "python", "css": "css"}
SPACE_NAMES = {"rgb": "RGB", "lab": "CIELAB"}

settings = state.current()
source, k, space, seed = settings.picture, settings.k, settings.space, settings.seed
fit = cache.quantization(source, k, space, seed)
fitted, shares, n_colours, note = fit.hex_codes(), fit.shares.tolist(), fit.n_colours, fit.note
del fit  # only the codes and shares: nothing here keeps the picture's arrays

st.header("Make the palette yours, and see its regions")
if note:
    st.info(note)
if choices.edits_left_behind(settings):
    st.info(
        "The palette you edited belonged to another picture, k, colour space or seed, so this "
        "one starts again from the fitted colours.",
        icon=":material/restart_alt:",
    )
palette = choices.edited_palette(settings, fitted)  # None while no colour is changed
codes = list(palette or fitted)

st.subheader("Palette studio")
order_by = st.radio(
    "Order the palette by",
    PALETTE_ORDERS,
    format_func=ORDER_LABELS.get,
    horizontal=True,
    key="palette_order",
)
order, _ = cache.shown_palette(source, k, space, seed, order_by, palette)
order = order.tolist()
st.caption(
    "Click a colour to change it: the redraw follows at once, with every pixel still in its "
    "own group. Edits belong to this picture, k = "
    f"{k}, the {SPACE_NAMES[space]} colour space and seed {seed}: change any of them and the "
    "palette starts again from the fitted colours."
)
widgets.palette_editor(settings, fitted, shares, order)
st.button(
    "Reset to the fitted colours",
    key="reset_palette",
    disabled=palette is None,
    on_click=choices.reset_palette,
    args=(settings, n_colours),
)

left, right = st.columns(2)
left.image(cache.original_preview(source), caption="Original")
right.image(
    cache.shown_preview(source, k, space, seed, palette),
    caption="Redrawn with your edited palette" if palette else "Redrawn with the fitted palette",
    output_format="PNG",
)
quality = (
    cache.quality(source, k, space, seed)
    if palette is None
    else cache.edited_quality(source, k, space, seed, palette)
)
which = "edited palette" if palette else "fitted palette"
psnr, delta_e = st.columns(2)
psnr.metric(f"PSNR ({which})", f"{quality.psnr:.1f} dB")
delta_e.metric(f"Mean ΔE ({which})", f"{quality.mean_delta_e:.1f}")
st.caption(
    f"How close the redraw in the {which} is to the original: PSNR from about 30 dB up and a mean "
    "ΔE near 1 are hard to tell apart; colours of your own choosing are usually further off."
)

st.markdown("**Downloads**, in the colours and order shown")
stem = f"{source.name.rsplit('.', 1)[0]}-{k}-colours{'-edited' if palette else ''}"
# Built when clicked: an edit reruns the page, which should not wait for files.
files = functools.partial(
    cache.palette_files, source, k, space, seed, order=order_by, palette=palette
)
png, swatch, csv, json, gpl = st.columns(5)
png.download_button(
    "Redrawn picture (PNG, full size)",
    data=cache.redraw_png_on_click(source, k, space, seed, palette=palette),
    file_name=f"{stem}.png",
    mime="image/png",
    key="studio_png",
    on_click="ignore",
)
swatch.download_button(
    "Palette picture (PNG)",
    functools.partial(cache.palette_swatches, source, k, space, seed, order_by, palette),
    file_name=f"{stem}-palette.png",
    mime="image/png",
    key="studio_swatches",
    on_click="ignore",
)
widgets.palette_file_buttons((csv, json, gpl), files, stem, "studio")

st.markdown("**Use it in code**: copy with the button at the top right of each box")
snippets = cache.code_snippets(tuple(codes[cluster] for cluster in order))
for tab, name in zip(st.tabs(list(SNIPPET_NAMES.values())), SNIPPET_NAMES, strict=True):
    tab.code(snippets[name], language=SNIPPET_LANGUAGES[name])

st.subheader("Segments: each colour is a region of the picture")
st.caption(
    "k-means splits the picture into one region per palette colour, which is why the technique "
    "is also called image segmentation. Choose colours to see their regions in the picture's own "
    "colours, or click on the picture to look at one pixel."
)
chosen = widgets.segment_picker(settings, codes, shares, order, "Show the regions of", "palette")
st.button(
    "All",
    key="all_segments",
    disabled=not chosen,
    on_click=choices.choose_segments,
    args=(settings, ()),
    help="Back to the whole redraw.",
)
picture, pixel = st.columns([3, 2])
with picture:
    shown = (
        cache.segment_preview(source, k, space, seed, chosen)
        if chosen
        else cache.shown_preview(source, k, space, seed, palette)
    )
    click = widgets.clickable_picture(settings, shown, palette)
    if chosen:
        parts = ", ".join(f"{codes[c]} {widgets.percent(shares[c])}" for c in chosen)
        total = widgets.percent(sum(shares[c] for c in chosen))
        st.caption(f"Shown: {parts}. Together {total} of the picture; the rest is faded.")
    else:
        st.caption("The whole redraw. Choose colours above to see their regions.")
with pixel, st.container(key="pixel_panel"):
    widgets.pixel_panel(settings, palette, click)
