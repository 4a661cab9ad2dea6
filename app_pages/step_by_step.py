"""Step by step: watch k-means work on the current picture, half a step at a time."""

import pandas as pd
import streamlit as st

from kmeans_app import cache, state, widgets
from kmeans_app.sources import PicturePoints
from kmeans_lib.colour_space import to_srgb
from kmeans_lib.steps import STARTS, palette_gap, step_sentence

MAX_STEP_K = 64


def another_start() -> None:
    """Callback of "Try another start": the next seed."""
    st.session_state.steps_seed += 1


def first_start(seed: int) -> None:
    """Callback of "Back to the first start": the sidebar's seed, as on the Redraw page."""
    st.session_state.steps_seed = seed


settings = state.current()
source, space = settings.picture, settings.space
k = min(settings.k, MAX_STEP_K)

st.header("Watch k-means work, step by step")
st.markdown(
    "Press **Play**: k-means drops k starting centres into the colour cube, then repeats two "
    "moves. Every colour **joins its nearest centre** and takes its colour; every centre "
    "**moves to the average** of its group, leaving a faint trail. The picture is redrawn at "
    "each step and the inertia (the spread within the groups) falls, until a step changes "
    "nothing. For a first look, try 3 to 8 colours in the sidebar."
)
if settings.k > MAX_STEP_K:
    st.info(f"This page shows at most {MAX_STEP_K} groups, so it uses k = {MAX_STEP_K}.")

st.session_state.setdefault("steps_seed", settings.seed)
left, right = st.columns([3, 1], vertical_alignment="bottom")
init = left.radio(
    "Starting centres",
    STARTS,
    format_func=widgets.start_label,
    key="steps_start",
    horizontal=True,
    help="k-means++ spreads the starting centres out; random pixels can start badly and end "
    "in a worse result.",
)
right.button("Try another start", key="another_start", on_click=another_start)
seed = st.session_state.steps_seed
spec = PicturePoints(source, space)
steps = cache.kmeans_steps(spec, k, init, seed)

st.plotly_chart(cache.steps_cube(source, k, space, init, seed), key="steps_chart")
st.caption(
    f"The cube shows {len(steps.sample):,} pixels drawn at random (more of the common colours); "
    "the counts and the inertia are over every pixel. Drag to turn the cube."
)

# Each start's result, for this picture, k, colour space and kind of start.
tried = st.session_state.setdefault("steps_tried", {})
runs = tried.setdefault((source.cache_key, k, space, init), {})
runs[seed] = (float(steps.inertia[-1]), steps.n_steps, steps.converged)
st.subheader("Every start tried")
best = min(inertia for inertia, _, _ in runs.values())
st.dataframe(
    pd.DataFrame(
        [
            {
                "Seed": tried_seed,
                "Steps": n_steps if converged else f"{n_steps} (stopped)",
                "Final inertia": f"{inertia:,.0f}",
                "Above the best": f"{100 * (inertia - best) / best:.2f}%" if best > 0 else "0.00%",
            }
            for tried_seed, (inertia, n_steps, converged) in sorted(runs.items())
        ]
    ),
    hide_index=True,
    key="steps_tried_table",
)
st.caption(
    "Each start can end in a different place: k-means finds a local best, not always the best. "
    "Try another start to see."
)

if init == "k-means++" and seed == settings.seed:
    fit = cache.quantization(source, k, space, settings.seed)
    gap = palette_gap(
        to_srgb(steps.centers[-1], space), steps.inertia[-1], fit.centroids, fit.inertia
    )
    how = "lower" if gap.inertia_change < 0 else "higher"
    coarse = cache.points(spec).coarse is not None
    summary = "made on a summary of the colours and then polished " if coarse else ""
    st.markdown(
        f"**Compared with the Redraw page** (same start and seed): its palette is up to "
        f"{gap.max_distance:.1f} (on average {gap.mean_distance:.1f}) away on the 0–255 scale and "
        f"its inertia is {abs(gap.inertia_change):.2%} {how}, because it keeps the best of 3 "
        f"starts {summary}while this page follows one start to the end."
        if gap.max_distance >= 0.5
        else "**Compared with the Redraw page** (same start and seed): this is its palette "
        "(every colour within 0.5 on the 0–255 scale)."
    )
else:
    st.caption(
        f"The Redraw page's palette comes from a k-means++ start with seed {settings.seed}; "
        f"this run started from {widgets.start_label(init)} with seed {seed}, so they can differ."
    )
    if seed != settings.seed:
        st.button(
            "Back to the first start",
            key="first_start",
            on_click=first_start,
            args=(settings.seed,),
        )

with st.expander("Every step in words"):
    st.markdown("\n".join(f"- {step_sentence(steps, step)}" for step in range(steps.n_steps + 1)))
