"""Redraw: the picture and its k-colour redraw side by side, with the palette and the numbers."""

import functools

import streamlit as st

from kmeans_app import cache, choices, state, widgets
from kmeans_lib.perception import VIEWINGS

settings = state.current()
source, k, space, seed = settings.picture, settings.k, settings.space, settings.seed
viewing = settings.viewing
picture = cache.image(source)
fit = cache.quantization(source, k, space, seed)
# The file sizes, shown last, are measured on the other core meanwhile.
cache.start_file_sizes(source, k, space, seed)
counts = cache.colours(source)

st.header("Redraw the picture with k colours")
if fit.note:
    st.info(fit.note)

# The FLIP figure is always shown (0.1 s on the default picture); the map, a full
# FLIP of a large picture as seen and a PNG of its own, only when asked for.
show_map = st.toggle(
    "Where would I see a difference?",
    key="flip_map",
    help="A heat map, beside the redraw, of how visible the difference between the original "
    "and the redraw is from the viewing distance chosen in the sidebar (Advanced).",
)
left, right, *beside = st.columns(3 if show_map else 2)
left.image(
    cache.original_preview(source),
    caption=f"Original: {picture.width:,} × {picture.height:,} pixels, "
    f"{counts.n_colours:,} different colours",
)
right.image(
    cache.redraw_preview(source, k, space, seed),
    caption=f"Redrawn with {fit.n_colours} colour{'s' if fit.n_colours != 1 else ''}",
    output_format="PNG",
)
if show_map:
    with beside[0]:
        widgets.flip_heat_map(source, k, space, seed, viewing)

st.subheader("The palette")
st.caption(
    "Each colour is the average of one group of pixels; the percentage is its share of the picture."
)
widgets.swatches(fit.hex_codes(), fit.shares)
if choices.edits(settings):
    st.caption(
        "This page shows and downloads the fitted colours; your edited palette is on "
        "Palette & segments."
    )
st.page_link(
    "app_pages/palette_segments.py",
    label="Sort, edit or copy the palette as code, and see each colour's region of the picture",
    icon=":material/palette:",
)

st.subheader("Before and after")
quality = cache.quality(source, k, space, seed)
visible = cache.flip_figure(source, k, space, seed, viewing)
distance = VIEWINGS[viewing].label
pixels, colours, psnr, delta_e, flip = st.columns(5)
pixels.metric(
    "Pixels", f"{counts.n_pixels:,}", help="Pixels that take part (transparent ones do not)."
)
colours.metric("Different colours", f"{counts.n_colours:,} → {fit.n_colours:,}")
psnr.metric("PSNR", f"{quality.psnr:.1f} dB")
delta_e.metric("Mean ΔE", f"{quality.mean_delta_e:.1f}")
flip.metric(
    "Visible difference (FLIP)",
    f"{visible:.2f}",
    help=f"How visible the difference is at {distance}: 0 = none, 1 = as different as can be. "
    "On a large picture it is measured on squares spread over it, as the eye test on Choose k "
    "measures.",
)
lines = [
    f"- **PSNR** compares the two pictures pixel by pixel: higher is closer, and from about "
    f"30 dB up the difference is hard to see. Here it is {quality.psnr:.1f} dB.",
    f"- **Mean ΔE** is the average colour difference as people perceive it: about 1 is barely "
    f"visible, above 10 the colours clearly differ. Here it is {quality.mean_delta_e:.1f}.",
    f"- **Visible difference (FLIP)**: at {distance}, how visible the difference is: 0 = "
    "none, 1 = as different as can be. It blurs what the eye cannot resolve from there, as "
    f"the eye does. Here it is {visible:.2f} (change the distance in the sidebar, "
    "Advanced; the switch above shows where the difference is).",
]
st.markdown("\n".join(lines))
# Filled in last: on a large photo the two PNG encodings take a second or two.
file_size_line = st.empty()

st.subheader("Dithering")
dither = st.toggle(
    "Dither (Floyd–Steinberg)",
    key="dither",
    help="Same palette, painted differently: each pixel passes its colour error on to the "
    "pixels after it, so areas between two palette colours become a fine mix of both.",
)
if dither:
    widgets.dither_comparison(source, k, space, seed, viewing)
else:
    st.caption(
        "Dithering mixes the palette's colours in fine patterns to suggest the ones it lacks. "
        "Turn it on to compare it with the plain redraw; the download then follows."
    )

st.subheader("Downloads")
stem = source.name.rsplit(".", 1)[0]
png, csv, json, gpl = st.columns(4)
png.download_button(
    f"Redrawn picture ({'dithered ' if dither else ''}PNG, full size)",
    # Built only when clicked: a full-size PNG can take seconds and megabytes.
    data=cache.redraw_png_on_click(source, k, space, seed, dither=dither),
    file_name=f"{stem}-{k}-colours{'-dithered' if dither else ''}.png",
    mime="image/png",
    key="download_png",
    on_click="ignore",
)
files = functools.partial(cache.palette_files, source, k, space, seed)
widgets.palette_file_buttons((csv, json, gpl), files, stem, "download")

file_size_line.markdown(f"- **File size**: {widgets.file_size_comparison(source, k, space, seed)}")
