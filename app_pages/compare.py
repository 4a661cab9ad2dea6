"""Compare methods: k-means beside the colour reductions image tools use, on the same k."""

import streamlit as st

from kmeans_app import cache, state, widgets
from kmeans_lib.perception import VIEWINGS

settings = state.current()
source, k, seed, viewing = settings.picture, settings.k, settings.seed, settings.viewing
results = cache.comparison(source, k, seed, viewing)
previews = cache.comparison_previews(source, k, seed, viewing)

st.header(f"k-means against other ways to pick {k} colours")
st.markdown(
    "Image tools reduce colours with quicker recipes: **median cut** splits the colour cube "
    "at the middle of the pixels again and again, **maximum coverage** and **fast octree** "
    "build the palette from a colour histogram or tree. k-means moves every palette colour "
    "to the average of the pixels nearest to it until nothing changes, which makes the "
    "squared colour error, the quantity PSNR measures, as small as it can find. So it wins on "
    "PSNR; the histogram recipes are quicker, the octree by far, because they never revisit a "
    "pixel."
)
full, compared = cache.image(source), cache.comparison_image(source)
if compared is not full:
    st.caption(
        f"Compared on a {compared.width:,} × {compared.height:,} copy of the picture, so that "
        f"every method finishes in seconds; the other pages use it at {full.width:,} × "
        f"{full.height:,}."
    )
del full, compared  # only sizes were needed: a page keeps no picture between runs

for row in range(0, len(results), 4):
    for column, result, preview in zip(
        st.columns(4), results[row : row + 4], previews[row : row + 4], strict=False
    ):
        with column.container(border=True, key=f"method_{result.key}"):
            st.markdown(f"**{result.name}**")
            if preview is None:
                st.info(result.note or "Not measured.")
                continue
            st.image(preview, output_format="PNG")
            size = result.png_size
            png = "no palette PNG" if size is None else widgets.file_size(size)
            st.caption(
                f"PSNR {result.quality.psnr:.2f} dB · mean ΔE {result.quality.mean_delta_e:.2f}"
                f" · FLIP {result.flip:.3f} · {result.seconds:.2f} s · palette PNG {png}"
            )
            if result.note:
                st.caption(result.note)

st.subheader("In numbers")
st.caption(
    "Click a column's name to sort by it. PSNR: higher is closer to the original. "
    "Mean ΔE: the average colour difference people see, lower is closer. Visible difference "
    f"(FLIP): how visible the difference is at {VIEWINGS[viewing].label} (the sidebar's "
    "Advanced settings), 0 = none, 1 = as different as can be, measured on the same parts of "
    "the picture for every method. Time: computing the palette and every pixel's colour, "
    "once, on this server."
)
st.dataframe(
    cache.comparison_table(source, k, seed, viewing),
    hide_index=True,
    column_config=widgets.METHOD_FORMATS,
    key="methods_table",
)
if any(result.ok for result in results):
    st.plotly_chart(cache.comparison_figure(source, k, seed, viewing), key="methods_chart")
