"""Explore in 3D: the pixels as points in the RGB colour cube, and the pixel table."""

import streamlit as st

from kmeans_app import cache, state, widgets
from kmeans_app.state import Settings
from kmeans_lib.figures import COLOUR_BY

COLOUR_BY_LABELS = {"centroid": "Its group's palette colour", "original": "Its own colour"}

settings = state.current()
# Only the hex codes and shares are kept: this page's functions (the fragment, the
# download) live on in the session between runs and with them every name defined
# here, which must not hold on to a picture's quantization.
fit = cache.quantization(settings.picture, settings.k, settings.space, settings.seed)
hex_codes, shares = fit.hex_codes(), fit.shares.tolist()
del fit

st.header("Explore the colours in 3D")
st.markdown(
    "Every pixel is a point in a cube: how much red, green and blue it has (0 to 255 each) "
    "are its three coordinates. k-means splits this cloud of points into groups; the large "
    "outlined markers are the groups' average colours, which become the palette."
)


@st.fragment
def colour_cube(settings: Settings, hex_codes: list[str], shares: list[float]) -> None:
    """The 3D scatter and its controls; changing them reruns only this part."""
    left, middle = st.columns(2)
    colour_by = left.radio(
        "Colour each point by", COLOUR_BY, format_func=COLOUR_BY_LABELS.get, key="colour_by"
    )
    max_points = middle.slider(
        "Points to draw",
        1_000,
        100_000,
        20_000,
        step=1_000,
        key="max_points",
        help="A random sample of pixels; more points show more detail but turn more slowly.",
    )
    # The same choice as the segments of Palette & segments: it follows from one to the other.
    chosen = widgets.segment_picker(
        settings,
        hex_codes,
        shares,
        range(len(hex_codes)),
        "Show only these groups (none chosen: all)",
        "explore_3d",
    )
    figure = cache.colour_cube(
        settings.picture,
        settings.k,
        settings.space,
        settings.seed,
        colour_by,
        max_points,
        tuple(chosen) or None,
    )
    st.plotly_chart(figure, key="cube_chart", height=640)


colour_cube(settings, hex_codes, shares)

st.subheader("The pixels as a table")
table, n_pixels = cache.pixel_table(settings.picture, settings.k, settings.space, settings.seed)
sampled = (
    f" This picture has {n_pixels:,} pixels, so the table is a random sample of {len(table):,}."
    if len(table) < n_pixels
    else ""
)
st.caption(
    f"One row per pixel: its red, green and blue values, its cluster (numbered from the most "
    f"common colour, 1) and its own colour code (hex).{sampled} The first 1,000 rows are shown; "
    "the download holds them all."
)
st.dataframe(table.head(1_000), hide_index=True, key="pixel_table")
st.download_button(
    "Pixel table (CSV)",
    data=lambda: table.to_csv(index=False),
    file_name=f"{settings.picture.name.rsplit('.', 1)[0]}-pixels.csv",
    mime="text/csv",
    key="download_pixels",
    on_click="ignore",
)
