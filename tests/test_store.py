"""The server-wide store: bounded by bytes, least recently used out first, computed once."""

from __future__ import annotations

import threading
import time

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from kmeans_app import store as store_module
from kmeans_app.store import Busy, FairLock, Store, nbytes
from kmeans_lib import load_sample, quantize

MB = 1_000_000


def block(n_mb: int) -> np.ndarray:
    return np.zeros(n_mb * MB, dtype=np.uint8)


def test_nbytes_counts_arrays_bytes_tables_and_shared_parts_once():
    array = block(2)
    assert nbytes(array) == 2 * MB
    assert nbytes(b"x" * 1000) == 1000
    assert nbytes((array, array, {"a": array})) == 2 * MB + 1  # the key "a" is one byte
    frame = pd.DataFrame({"x": np.zeros(1000)})
    assert nbytes(frame) >= 8000
    q = quantize(load_sample("china"), 4)
    assert nbytes(q) >= q.labels.nbytes + q.colours.colours.nbytes + q.colours.counts.nbytes


def test_nbytes_of_a_figure_counts_its_traces_layout_and_frames():
    values = np.arange(100_000, dtype=np.float64)  # 800 kB
    figure = go.Figure(
        go.Scatter(x=values, y=values),
        frames=[go.Frame(data=[go.Scatter(x=values[::2])], name="half")],
        layout=dict(title=dict(text="x" * 1000)),
    )
    held = nbytes(figure)
    assert 2 * values.nbytes + values.nbytes // 2 + 1000 <= held < 3 * values.nbytes


def test_the_least_recently_used_entries_go_first_when_over_the_budget():
    store = Store(max_bytes=10 * MB)
    store.get("a", lambda: block(4))
    store.get("b", lambda: block(4))
    store.get("a", lambda: block(4))  # a is now the most recently used
    store.get("c", lambda: block(4))  # 12 MB: b goes
    assert store.bytes_held == 8 * MB
    computed = []
    store.get("a", lambda: computed.append("a") or block(4))
    store.get("b", lambda: computed.append("b") or block(4))
    assert computed == ["b"]  # a was kept; b is computed again, never an error
    assert store.bytes_held <= 10 * MB


def test_small_entries_make_way_after_every_larger_one():
    # A PNG's size or a sweep takes seconds to compute again and frees next to
    # nothing: larger entries go first, even when used more recently.
    store = Store(max_bytes=10 * MB)
    store.get("size", lambda: 12_345)
    store.get("image", lambda: block(4))
    store.get("colours", lambda: block(4))
    store.get("points", lambda: block(4))  # 12 MB: image goes, not the older size
    computed = []
    store.get("size", lambda: computed.append("size") or 0)
    store.get("image", lambda: computed.append("image") or block(4))
    assert computed == ["image"]
    store.make_room(10 * MB)  # then the small ones too, when nothing else is left
    assert len(store) == 0


def test_an_entry_larger_than_the_budget_is_kept_alone():
    store = Store(max_bytes=5 * MB)
    store.get("small", lambda: block(1))
    big = store.get("big", lambda: block(8))
    assert big.nbytes == 8 * MB and len(store) == 1 and store.bytes_held == 8 * MB


def test_make_room_drops_old_entries_until_the_work_fits():
    store = Store(max_bytes=10 * MB)
    for key in "abc":
        store.get(key, lambda: block(3))
    store.make_room(5 * MB)
    assert len(store) == 1 and store.bytes_held == 3 * MB  # only c, the newest, is left
    store.make_room(100 * MB)
    assert len(store) == 0 and store.bytes_held == 0


def test_sessions_asking_for_the_same_missing_entry_compute_it_once():
    store = Store(max_bytes=10 * MB)
    calls = []

    def slow() -> np.ndarray:
        calls.append(threading.get_ident())
        time.sleep(0.2)
        return block(1)

    results = []
    threads = [
        threading.Thread(target=lambda: results.append(store.get("x", slow))) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    assert all(result is results[0] for result in results)


def test_a_computation_that_fails_stores_nothing():
    store = Store(max_bytes=10 * MB)

    def broken() -> np.ndarray:
        raise ValueError("bad picture")

    for _ in range(2):
        with pytest.raises(ValueError):
            store.get("x", broken)
    assert len(store) == 0 and store.bytes_held == 0


def test_other_pictures_entries_are_evicted_before_the_ones_of_the_picture_being_drawn():
    store = Store(max_bytes=10 * MB)
    store.get(("image", "a"), lambda: block(3), group="a")
    store.get(("image", "b"), lambda: block(3), group="b")
    store.get(("colours", "a"), lambda: block(3), group="a")
    store.get(("labels", "a"), lambda: block(3), group="a")  # 12 MB: b's entry goes first
    assert set(store._entries) == {("image", "a"), ("colours", "a"), ("labels", "a")}
    store.get(("more", "a"), lambda: block(3), group="a")  # only a's own are left: its oldest
    assert set(store._entries) == {("colours", "a"), ("labels", "a"), ("more", "a")}


def test_parts_stored_as_entries_of_their_own_are_not_counted_twice():
    store = Store(max_bytes=100 * MB)
    colours = block(4)
    store.get("colours", lambda: colours)
    store.get("quantization", lambda: (colours, block(2)))
    assert store.bytes_held == 6 * MB


def test_the_computation_lock_goes_to_waiting_threads_in_turn():
    lock = FairLock()
    order = []
    started = threading.Event()

    def greedy() -> None:
        for _ in range(3):
            with lock:
                with lock:  # re-entrant
                    order.append("greedy")
                    started.set()
                    time.sleep(0.05)

    def waiting(name: str) -> None:
        started.wait()
        with lock:
            order.append(name)

    threads = [threading.Thread(target=greedy)] + [
        threading.Thread(target=waiting, args=(name,)) for name in ("a", "b")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # The greedy thread asks again right after releasing, but the others were waiting.
    assert order.index("a") < 3 and order.index("b") < 4 and len(order) == 5


def test_over_the_resident_limit_other_pictures_make_way_before_a_computation():
    resident, now = [0], [0.0]  # what the process measures and the clock: set by the test
    store = Store(
        max_bytes=100 * MB,
        resident_limit=50 * MB,
        resident=lambda: resident[0],
        idle_seconds=20,
        clock=lambda: now[0],
    )
    for key in ("a1", "a2", "a3"):
        store.get(key, lambda: block(10), group="a")
    store.get("b1", lambda: block(10), group="b")
    now[0] = 30.0  # nobody asked for picture a for 30 s
    resident[0] = 65 * MB  # 15 MB over: the two oldest of picture a (20 MB) go
    store.get("b2", lambda: block(10), group="b")
    resident[0] = 0
    computed = []
    for key, group in (("a1", "a"), ("a2", "a"), ("a3", "a"), ("b1", "b")):
        store.get(key, lambda key=key: computed.append(key) or block(1), group=group)
    assert computed == ["a1", "a2"]


def test_the_resident_limit_spares_pictures_other_viewers_are_drawing():
    store = Store(max_bytes=100 * MB, resident_limit=1, resident=lambda: 10**12, clock=lambda: 0.0)
    store.get("a1", lambda: block(5), group="a")
    store.get("b1", lambda: block(5), group="b")  # a was asked for just now: it stays
    assert len(store) == 2


def test_the_resident_limit_never_drops_the_picture_being_drawn():
    store = Store(max_bytes=100 * MB, resident_limit=1, resident=lambda: 10**12)
    store.get("a1", lambda: block(5), group="a")
    store.get("a2", lambda: block(5), group="a")
    assert len(store) == 2 and store.bytes_held == 10 * MB


def test_under_the_resident_limit_or_without_a_measure_nothing_is_dropped():
    for resident in (lambda: 10 * MB, lambda: None):
        store = Store(max_bytes=100 * MB, resident_limit=50 * MB, resident=resident)
        store.get("a", lambda: block(10), group="a")
        store.get("b", lambda: block(10), group="b")
        assert len(store) == 2


def test_an_evicted_result_a_session_still_holds_is_stored_again_not_computed_twice():
    store = Store(max_bytes=10 * MB)
    held = store.get("a", lambda: block(6))  # a page mid-run still holds it
    store.get("b", lambda: block(6))  # over the budget: a is evicted
    assert len(store) == 1
    computed = []
    again = store.get("a", lambda: computed.append("a") or block(6))
    assert again is held and computed == []
    del held, again
    store.get("c", lambda: block(6))  # a is evicted again, and nobody holds it now
    store.get("a", lambda: computed.append("a") or block(6))
    assert computed == ["a"]


# --- fair sharing between sessions ---------------------------------------------------


class Superseded(Exception):
    """What Streamlit's yield check raises for a run a newer rerun replaces."""


def holding(lock: FairLock, session: str) -> tuple[threading.Thread, threading.Event]:
    """A thread of ``session`` that holds ``lock`` until the returned event is set."""
    taken, done = threading.Event(), threading.Event()

    def hold() -> None:
        lock.acquire(session)
        taken.set()
        done.wait()
        lock.release()

    thread = threading.Thread(target=hold)
    thread.start()
    taken.wait()
    return thread, done


def wait_until(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_a_superseded_wait_is_skipped_five_quick_requests_compute_the_last(monkeypatch):
    lock = FairLock(poll_seconds=0.01)
    monkeypatch.setattr(store_module, "_COMPUTE_LOCK", lock)
    store = Store(max_bytes=100 * MB)
    latest, computed = [0], []

    def page_run() -> None:
        """A session's script thread: a newer request ends the run, which starts again."""
        while True:
            asked = latest[0]

            def yield_check(asked: int = asked) -> None:
                if latest[0] != asked:
                    raise Superseded

            monkeypatch.setattr(store_module, "_run_yield_check", lambda: yield_check)
            try:
                store.get(("fit", asked), lambda asked=asked: computed.append(asked) or block(1))
                return
            except Superseded:
                continue

    holder, release = holding(lock, "other")  # another session's long computation
    latest[0] = 1
    runner = threading.Thread(target=page_run)
    runner.start()
    for request in range(2, 6):  # four more changes of k while the first one waits
        time.sleep(0.03)
        latest[0] = request
    time.sleep(0.05)
    release.set()
    holder.join()
    runner.join()
    assert computed == [5]


def test_each_session_may_have_only_a_few_waits_queued():
    lock = FairLock(max_waiting=2)
    holder, release = holding(lock, "other")
    waits = [threading.Thread(target=lambda: (lock.acquire("a"), lock.release())) for _ in "12"]
    for thread in waits:
        thread.start()
    wait_until(lambda: len(lock._waiting) == 2)
    with pytest.raises(Busy):
        lock.acquire("a")  # a third of a's is refused at once, not queued
    light = threading.Thread(target=lambda: (lock.acquire("b"), lock.release()))
    light.start()  # another session still queues
    wait_until(lambda: len(lock._waiting) == 3)
    release.set()
    for thread in [holder, *waits, light]:
        thread.join()
    assert lock._waiting == [] and lock._owner is None


def test_a_light_session_goes_before_a_heavy_one_that_already_used_the_lock():
    lock = FairLock()
    order = []
    holder, release = holding(lock, "heavy")
    time.sleep(0.1)  # heavy has held the lock for a while

    def ask(session: str) -> None:
        lock.acquire(session)
        order.append(session)
        lock.release()

    heavy_again = threading.Thread(target=ask, args=("heavy",))
    heavy_again.start()  # heavy asks first...
    wait_until(lambda: len(lock._waiting) == 1)
    light = threading.Thread(target=ask, args=("light",))
    light.start()  # ...but light, which has not used the lock, goes first
    wait_until(lambda: len(lock._waiting) == 2)
    release.set()
    for thread in (holder, heavy_again, light):
        thread.join()
    assert order == ["light", "heavy"]
    assert lock.used("heavy") >= 0.1 > lock.used("light")


def test_a_long_computation_lets_a_lighter_session_go_first_between_steps():
    lock = FairLock()
    order, step_done = [], threading.Event()

    def long_computation() -> None:
        lock.acquire("heavy")
        with lock:  # nested work keeps its depth across the shared turn
            for step in range(3):
                time.sleep(0.05)
                order.append(f"step {step}")
                step_done.set()
                wait_until(lambda step=step: step > 0 or lock._waiting)
                lock.share()
        lock.release()

    def light() -> None:
        step_done.wait()
        lock.acquire("light")
        order.append("light")
        lock.release()

    threads = [threading.Thread(target=long_computation), threading.Thread(target=light)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert order == ["step 0", "light", "step 1", "step 2"]
    assert lock._owner is None and lock._depth == 0


def test_a_table_is_read_beside_a_computation_not_after_it(monkeypatch):
    monkeypatch.setattr(store_module, "_COMPUTE_LOCK", FairLock())
    holder, release = holding(store_module._COMPUTE_LOCK, "other")  # a long computation
    store = Store(max_bytes=10 * MB)
    try:
        assert store.get("table", lambda: "read", reading=True) == "read"
    finally:
        release.set()
        holder.join()


def test_only_one_computation_waits_at_a_share_point_at_a_time():
    # Its temporaries stay alive meanwhile: the work that runs instead keeps the lock
    # at its own share points, even for a third, lighter session.
    lock = FairLock()
    light_holds, shared_by_light, order = threading.Event(), [], []

    def heavy() -> None:
        lock.acquire("heavy")
        time.sleep(0.1)
        wait_until(lambda: lock._waiting)  # light waits
        lock.share()
        order.append("heavy")
        lock.release()

    def light() -> None:
        wait_until(lambda: lock._owner is not None)
        lock.acquire("light")
        light_holds.set()
        wait_until(lambda: len(lock._waiting) == 2)  # heavy (paused) and third
        shared_by_light.append(lock.share())
        order.append("light")
        lock.release()

    def third() -> None:
        light_holds.wait()
        lock.acquire("third")
        order.append("third")
        lock.release()

    threads = [threading.Thread(target=target) for target in (heavy, light, third)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert shared_by_light == [None]
    assert order == ["light", "third", "heavy"]
    assert lock._owner is None and not lock._paused


def test_a_light_session_keeps_first_call_on_the_lock_for_a_short_grace():
    # A page run's results come one after another with some drawing between them:
    # the light viewer's next result must not wait behind a whole heavy computation.
    lock = FairLock(grace_seconds=0.5)
    holder, release = holding(lock, "heavy")
    time.sleep(0.1)
    release.set()
    holder.join()  # heavy has used the lock for 0.1 s
    order = []
    lock.acquire("light")

    def heavy_again() -> None:
        lock.acquire("heavy")
        order.append("heavy")
        lock.release()

    thread = threading.Thread(target=heavy_again)
    thread.start()
    wait_until(lambda: lock._waiting)
    lock.release()
    time.sleep(0.1)  # light draws a little, then asks for its next result
    lock.acquire("light")
    order.append("light")
    lock.release()
    thread.join()
    assert order == ["light", "heavy"]


def test_a_thread_that_waited_long_goes_first_whatever_its_session_used():
    lock = FairLock(aging_seconds=0.2)
    holder, release = holding(lock, "heavy")
    time.sleep(0.1)  # heavy has used the lock more than light ever will
    order = []

    def ask(session: str) -> None:
        lock.acquire(session)
        order.append(session)
        lock.release()

    heavy_again = threading.Thread(target=ask, args=("heavy",))
    heavy_again.start()
    wait_until(lambda: lock._waiting)
    time.sleep(0.3)  # heavy's wait grows past the aging time
    light = threading.Thread(target=ask, args=("light",))
    light.start()
    wait_until(lambda: len(lock._waiting) == 2)
    release.set()
    for thread in (holder, heavy_again, light):
        thread.join()
    assert order == ["heavy", "light"]
