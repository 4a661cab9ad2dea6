"""How it works: k-means colour quantization in plain words, with the current picture's numbers."""

import streamlit as st

from kmeans_app import cache, state, widgets
from kmeans_app.escape import markdown_text

settings = state.current()
source, k, space, seed = settings.picture, settings.k, settings.space, settings.seed
picture = cache.image(source)
fit = cache.quantization(source, k, space, seed)
counts = cache.colours(source)

st.header("How it works")

st.subheader("1. A picture is a table of numbers")
name = markdown_text(source.name)
st.markdown(
    f"The picture “{name}” is {picture.width:,} pixels wide and {picture.height:,} "
    f"high. A screen mixes each pixel's colour from three numbers from 0 to 255: how much "
    f"**red**, **green** and **blue**. So the picture is a table of {counts.n_pixels:,} rows "
    "(one per pixel) and 3 columns. Its first rows:"
)
st.dataframe(cache.first_pixels(source, 5), hide_index=True, key="how_table")

st.subheader("2. Pixels become points in a colour cube")
st.markdown(
    "Take the three numbers as coordinates and every pixel becomes a point inside a cube, "
    f"with black in one corner and white in the opposite one. This picture has "
    f"{counts.n_colours:,} different colours; similar colours sit close together."
)
st.plotly_chart(cache.pixel_cloud(source, 5_000, seed), key="how_cube")

st.subheader(f"3. k-means finds {k} groups")
distance = (
    "straight-line distance in the cube"
    if space == "rgb"
    else "distance in CIELAB, a colour space where equal distances look equally different"
)
st.markdown(
    f"You choose k, the number of groups: now {k}. k-means drops {k} starting points into "
    "the cloud, then repeats two steps: give every pixel to its nearest starting point, then "
    "move each point to the average of the pixels it was given. When nothing moves any more, "
    f"the groups are found; here that took {fit.n_iter} rounds and {fit.fit_seconds:.2f} "
    f"seconds. “Nearest” means {distance}."
)
st.page_link(
    "app_pages/step_by_step.py",
    label="Watch k-means do this, step by step",
    icon=":material/slow_motion_video:",
)

st.subheader("4. Each group's average colour joins the palette")
st.markdown(
    "The average colour of each group becomes one palette colour, shown with its share of pixels:"
)
widgets.swatches(fit.hex_codes(), fit.shares)
if fit.note:
    st.info(fit.note)

st.subheader("5. Every pixel is repainted")
st.markdown("Each pixel takes the palette colour of its group, and the picture is redrawn:")
st.image(cache.redraw_preview(source, k, space, seed), width=480, output_format="PNG")

st.subheader("6. Fewer colours, smaller file")
st.markdown(
    "A full-colour PNG stores three numbers for every pixel. With only a few colours the file "
    "can store the palette once and, for each pixel, just which palette colour it uses. "
    + widgets.file_size_comparison(source, k, space, seed)
)
