"""Your data: the same k-means, elbow and silhouette on any table of numbers."""

import streamlit as st

from kmeans_app import cache, state, widgets
from kmeans_app.sources import Source, TablePoints
from kmeans_lib.tabular import SCALINGS, numeric_columns, table_sample_names

SCALING_LABELS = {
    "none": "None: keep the numbers as they are",
    "standard": "Standard: every column gets average 0 and spread 1",
    "minmax": "Min–max: every column is squeezed into 0 to 1",
}
AXES = ("axis_x", "axis_y", "axis_z")
DEFAULT_TABLE_K = 3


def set_table_k(k: int) -> None:
    """Callback of the "Use k = N" button."""
    st.session_state.table_k = k


def keep_valid(key: str, options: list[str], fallback: list[str] | str) -> None:
    """Reset a widget's remembered choice when it is no longer among ``options``."""
    value = st.session_state.get(key)
    chosen = value if isinstance(value, list) else [value]
    if value is None or not set(chosen) <= set(options):
        st.session_state[key] = fallback


seed = state.current().seed

st.header("Cluster your own table")
st.markdown(
    "k-means works on any table of numbers, not only on colours. Pick a sample table or "
    "upload a CSV file; each row becomes a point and each chosen column one of its coordinates."
)
st.caption(
    "This page has its own table and number of groups; the picture and its number of colours "
    "wait in the sidebar of the picture pages."
)

choice = st.radio(
    "Table",
    [*table_sample_names(), state.UPLOAD],
    format_func=lambda v: "Upload a CSV file" if v == state.UPLOAD else f"Sample: {v}",
    key="table_source",
    horizontal=True,
)
if choice == state.UPLOAD:
    file = st.file_uploader("Your table (CSV)", type=["csv", "tsv", "txt"], key="table_upload")
    if file is None:
        st.info(
            "Choose a CSV file: a header row, then one row per item, with some columns of numbers."
        )
        st.stop()
    source = state.uploaded(file)
else:
    source = Source.sample(choice)
frame = cache.table(source)

columns = numeric_columns(frame)
keep_valid("table_columns", columns, columns)
chosen = st.multiselect("Columns to cluster on", columns, key="table_columns")
scaling = st.radio(
    "Scaling", SCALINGS, index=1, format_func=SCALING_LABELS.get, key="scaling", horizontal=True
)
st.caption(
    "Scaling matters because k-means measures plain distances: without it, a column counted "
    "in thousands outweighs one counted in single digits, whatever they mean."
)
spec = TablePoints(source, tuple(chosen), scaling)
prepared = cache.prepared_table(spec)
dropped = prepared.rows_dropped
left_out = (
    f" ({dropped:,} row{'s' * (dropped != 1)} with missing values left out)" if dropped else ""
)
st.caption(f"Clustering {prepared.rows_used:,} rows on {len(chosen)} columns{left_out}.")

st.session_state.setdefault("table_k", DEFAULT_TABLE_K)
k = st.slider("Number of groups (k)", 1, 20, key="table_k")
widgets.choose_k_panel(spec, seed, k, set_table_k)

st.subheader(f"The {k} groups")
st.caption("Rows in each group; where the table has a column of known classes, split by it.")
st.dataframe(cache.cluster_sizes(spec, k, seed), key="cluster_sizes")

if len(chosen) < 3:
    st.info("Choose at least three columns to see the rows in 3D.")
else:
    axes = st.columns(3)
    for index, (column, key) in enumerate(zip(axes, AXES, strict=True)):
        keep_valid(key, list(chosen), chosen[index])
        column.selectbox(f"Axis {key[-1]}", chosen, key=key)
    picked = tuple(st.session_state[key] for key in AXES)
    st.plotly_chart(cache.table_cube(spec, picked, k, seed), key="table_cube_chart", height=640)

widgets.table_steps_panel(source, chosen, scaling, k, seed)
