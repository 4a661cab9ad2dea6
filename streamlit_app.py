"""K-Means Colour Explorer: the frame around every page (``streamlit run streamlit_app.py``)."""

import logging

import streamlit as st

from kmeans_app import cache, state
from kmeans_app.escape import markdown_text
from kmeans_app.memory import release_freed_memory, spare_loaded_objects
from kmeans_lib.errors import InputError

release_freed_memory()
spare_loaded_objects()
# An emoji icon is drawn by the browser itself: a ":material/..." one would be fetched
# from Google's font server on every page open.
st.set_page_config(page_title="K-Means Colour Explorer", page_icon="🎨", layout="wide")
state.settle()  # a quick burst of changes computes its last one, not each

# The page files live in app_pages/, not pages/: Streamlit 1.67 still treats a pages/
# folder as a legacy multipage app (until st.navigation first runs, and on every AppTest
# rerun), which then runs a page file without this frame around it.
REDRAW = st.Page(
    "app_pages/redraw.py",
    title="Redraw",
    icon=":material/brush:",
    # The default page is served at "/" whatever its url_path: /redraw is
    # answered by REDRAW_ADDRESS below.
    url_path="start",
    default=True,
)


def open_redraw() -> None:
    """Answer /redraw with the Redraw page at "/", where the menu marks it as current."""
    st.switch_page(REDRAW, query_params=st.query_params.to_dict())


REDRAW_ADDRESS = st.Page(open_redraw, title="Redraw", url_path="redraw", visibility="hidden")
YOUR_DATA = st.Page(
    "app_pages/your_data.py", title="Your data", icon=":material/table_chart:", url_path="your-data"
)
PAGES = [
    REDRAW,
    st.Page(
        "app_pages/palette_segments.py",
        title="Palette & segments",
        icon=":material/palette:",
        url_path="palette",
    ),
    st.Page(
        "app_pages/choose_k.py", title="Choose k", icon=":material/show_chart:", url_path="choose-k"
    ),
    st.Page(
        "app_pages/explore_3d.py",
        title="Explore in 3D",
        icon=":material/view_in_ar:",
        url_path="explore-3d",
    ),
    st.Page(
        "app_pages/compare.py",
        title="Compare methods",
        icon=":material/compare:",
        url_path="compare",
    ),
    st.Page(
        "app_pages/step_by_step.py",
        title="Step by step",
        icon=":material/slow_motion_video:",
        url_path="step-by-step",
    ),
    YOUR_DATA,
    st.Page(
        "app_pages/how_it_works.py",
        title="How it works",
        icon=":material/lightbulb:",
        url_path="how-it-works",
    ),
    REDRAW_ADDRESS,
]

page = st.navigation(PAGES)
st.title("K-Means Colour Explorer")
# Your data has its own table and k: the picture controls would only confuse there.
settings, notices = state.sidebar(picture_controls=page is not YOUR_DATA)
for notice in notices:
    st.warning(f"{markdown_text(notice)} The default is used instead.", icon=":material/link_off:")

try:
    if page is not YOUR_DATA and (notice := cache.image(settings.picture).reduction_notice):
        st.info(notice, icon=":material/photo_size_select_large:")
    page.run()
except InputError as error:  # it may quote a file, sheet or column name
    st.error(markdown_text(error))
except Exception:
    # The viewer gets a plain sentence; the details go to the server log.
    logging.getLogger(__name__).exception("Page %s failed", page.title)
    st.error(
        "Something went wrong while working on this table. Try other columns or another file."
        if page is YOUR_DATA
        else "Something went wrong while working on this picture. "
        "Try another picture or another number of colours."
    )
state.run_finished()
