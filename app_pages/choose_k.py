"""Choose k: the elbow and silhouette methods, and the eye test, on the current picture."""

import streamlit as st

from kmeans_app import cache, state, widgets
from kmeans_app.sources import PicturePoints

settings = state.current()

st.header("How many colours?")
st.markdown(
    "k-means needs k up front. Three ways to choose it: the **elbow** of the fit curve, the "
    "**silhouette** score, and simply **looking** at the picture redrawn with several k."
)
widgets.choose_k_panel(
    PicturePoints(settings.picture, settings.space), settings.seed, settings.k, state.set_k
)

st.subheader("Look and compare")
st.caption(
    "Small copies of the picture, each redrawn with a different k. "
    "Where does adding colours stop making a visible difference?"
)
strip = cache.redraw_strip(settings.picture, settings.space, settings.seed)
for column, (k, png) in zip(st.columns(len(strip)), strip, strict=True):
    column.image(png, caption=f"k = {k}", output_format="PNG")

st.subheader("The eye test, measured")
st.caption(
    "The smallest k whose redraw a person can hardly tell from the original, measured as "
    "the eye sees it from a viewing distance (FLIP), or colour by colour (mean ΔE)."
)
widgets.eye_test_panel(
    settings.picture, settings.space, settings.seed, settings.viewing, state.set_k
)
