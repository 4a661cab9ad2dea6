"""Tests of kmeans_app.memory: how the server keeps its memory and collections in check."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

from streamlit.testing.v1 import AppTest

from kmeans_app.memory import spare_loaded_objects

APP = Path(__file__).resolve().parents[1] / "streamlit_app.py"


class Node:
    """An object that can be part of a reference cycle."""


def test_loaded_objects_are_left_out_of_collections_and_new_cycles_still_go():
    gc.unfreeze()
    spare_loaded_objects.cache_clear()
    loaded = Node()
    spare_loaded_objects()
    assert gc.get_freeze_count() > 0
    assert not any(obj is loaded for obj in gc.get_objects())  # no collection looks at it
    made_later = Node()
    made_later.self = made_later  # only the cycle collector can free it
    gone = weakref.ref(made_later)
    del made_later
    gc.collect()
    assert gone() is None


def test_the_app_spares_its_loaded_objects_from_collections():
    gc.unfreeze()
    spare_loaded_objects.cache_clear()
    AppTest.from_file(str(APP), default_timeout=120).run()
    assert gc.get_freeze_count() > 0
