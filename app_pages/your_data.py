"""Your data: the same k-means, elbow and silhouette on any table of numbers."""

import streamlit as st

from kmeans_app import cache, state, widgets
from kmeans_app.escape import markdown_text
from kmeans_app.sources import Source, TablePoints
from kmeans_lib.tabular import SCALINGS, constant_note, table_sample_names

SCALING_LABELS = {
    "none": "None: keep the numbers as they are",
    "standard": "Standard: every column gets average 0 and spread 1",
    "minmax": "Min–max: every column is squeezed into 0 to 1",
}
AXES = ("axis_x", "axis_y", "axis_z")
# xls, xlsm and xlsb are accepted so that the library can say why they are refused.
TABLE_TYPES = ["csv", "tsv", "txt", "xlsx", "xls", "xlsm", "xlsb"]
DEFAULT_TABLE_K = 3
# Streamlit's multiselect finds each chosen value by a linear search of the options on
# every rerun: bounding the choice keeps that linear in the columns (a table may have
# up to tabular.MAX_TABLE_COLUMNS), and distances over more columns say little anyway.
MAX_CHOSEN_COLUMNS = 100


def set_table_k(k: int) -> None:
    """Callback of the "Use k = N" button."""
    st.session_state.table_k = k


def keep_valid(key: str, options: list[str], fallback: list[str] | str) -> None:
    """Reset a widget's remembered choice when it is no longer among ``options``."""
    value = st.session_state.get(key)
    chosen = value if isinstance(value, list) else [value]
    if value is None or len(chosen) > MAX_CHOSEN_COLUMNS or not set(chosen) <= set(options):
        st.session_state[key] = fallback


seed = state.current().seed

st.header("Cluster your own table")
st.markdown(
    "k-means works on any table of numbers, not only on colours. Pick a sample table or "
    "upload a CSV file or an Excel workbook; each row becomes a point and each chosen column "
    "one of its coordinates."
)
st.caption(
    "This page has its own table and number of groups; the picture and its number of colours "
    "wait in the sidebar of the picture pages."
)

choice = st.radio(
    "Table",
    [*table_sample_names(), state.UPLOAD],
    format_func=lambda v: "Upload a table" if v == state.UPLOAD else f"Sample: {v}",
    key="table_source",
    horizontal=True,
)
sheet = None
if choice == state.UPLOAD:
    file = st.file_uploader(
        "Your table (CSV, tab-separated text or Excel .xlsx)", type=TABLE_TYPES, key="table_upload"
    )
    if file is None:
        st.info(
            "Choose a CSV file or an Excel workbook: a header row, then one row per item, "
            "with some columns of numbers."
        )
        st.stop()
    source = state.uploaded(file)
    sheets = cache.table_sheets(source)
    if len(sheets) > 1:
        keep_valid("table_sheet", list(sheets), sheets[0])
        sheet = st.selectbox("Sheet", sheets, key="table_sheet")
    elif sheets:
        sheet = sheets[0]
    st.caption(markdown_text(cache.table(source, sheet).reading))  # it names the sheet
else:
    source = Source.sample(choice)

columns, constant = cache.table_columns(source, sheet)
if constant:
    st.info(markdown_text(constant_note(constant)), icon=":material/horizontal_rule:")
# Constant columns cannot separate groups: out by default, unless every column is constant.
unvarying = set(constant)
varying = [name for name in columns if name not in unvarying] or columns
keep_valid("table_columns", columns, varying[:MAX_CHOSEN_COLUMNS])
chosen = st.multiselect(
    "Columns to cluster on", columns, key="table_columns", max_selections=MAX_CHOSEN_COLUMNS
)
scaling = st.radio(
    "Scaling", SCALINGS, index=1, format_func=SCALING_LABELS.get, key="scaling", horizontal=True
)
st.caption(
    "Scaling matters because k-means measures plain distances: without it, a column counted "
    "in thousands outweighs one counted in single digits, whatever they mean."
)
spec = TablePoints(source, tuple(chosen), scaling, sheet)
prepared = cache.prepared_table(spec)
dropped, rows_used, sweep_note = prepared.rows_dropped, prepared.rows_used, prepared.sweep_note
# This page's callbacks live on in the session between runs, and with them every
# name defined here: none may hold on to the table's points.
del prepared
left_out = (
    f" ({dropped:,} row{'s' * (dropped != 1)} with missing or infinite values left out)"
    if dropped
    else ""
)
st.caption(f"Clustering {rows_used:,} rows on {len(chosen)} columns{left_out}.")

st.session_state.setdefault("table_k", DEFAULT_TABLE_K)
k = st.slider("Number of groups (k)", 1, 20, key="table_k")
widgets.choose_k_panel(spec, seed, k, set_table_k, note=sweep_note)

st.subheader(f"The {k} groups")
if note := cache.prepared_table(spec).groups_note(cache.fit(spec, k, seed).n_clusters, k):
    st.info(note)
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

widgets.table_steps_panel(spec, k, seed)
