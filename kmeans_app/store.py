"""One cache for the whole server, bounded by the bytes it holds, with one heavy job at a time.

Every viewer of a shared link runs in the same process. Streamlit's own caches
bound their size by the number of entries, which says nothing about memory: one
12-megapixel photo holds 150 MB or more in images, colour counts and
quantizations, so a few uploads could push the server past Community Cloud's
~690 MB. This store keeps the heavy results of every picture and table keyed by
content, shares them between sessions (a picture several viewers open is
computed once) and, past :data:`MAX_BYTES`, evicts the least recently used
entries, other pictures' before those of the picture being drawn. An evicted
entry is simply computed again for whoever still needs it.

Computations run one at a time, under one lock, so that several viewers' work on
large pictures never holds its temporaries at the same time (two cores gain
little from more anyway). A viewer whose results are cached never waits: hits
take no lock. The lock is shared fairly between sessions (:class:`FairLock`): a
session that used it less recently goes first, a wait the viewer no longer needs
is skipped, and long computations let a lighter session go first between steps
(:func:`share`). Code running under the lock calls only this store, never a
Streamlit cache, whose own per-entry locks could otherwise wait on each other.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import logging
import sys
import threading
import time
import weakref
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager, nullcontext, suppress
from typing import ParamSpec, TypeVar

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx
from streamlit.runtime.scriptrunner_utils.script_run_context import (
    get_run_yield_check,
    in_cached_function,
)

from kmeans_app.memory import resident_bytes, trim
from kmeans_lib.errors import InputError

# One 12.5-megapixel picture's results with a few k (image 36 MB, colour
# counts 17, points 35, previews, pixel table, figures) take about 140 MB, so a
# single viewer's change of k finds what it needs. Three viewers of 12 MP photos
# then hold the server at about 300 MB, plus 60 MB of uploads that Streamlit
# keeps, plus this, plus one computation's temporaries (up to about 100 MB): a
# larger budget took them past Community Cloud's ~690 MB.
MAX_BYTES = 160_000_000
# Entries this small free next to nothing, and some take seconds to compute
# again (a PNG's size, a sweep): they make way after every larger entry.
SMALL_ENTRY_BYTES = 1 << 20
# What the store holds is not all the server holds: sessions keep their uploads,
# Streamlit its messages, and a computation its temporaries (up to 150 MB on a
# 12 MP photo). Before a computation starts on a server already this large,
# pictures nobody is drawing make way, even under the byte budget. A viewer who
# comes back to an evicted picture waits for it to be computed again, which is
# better than a restart for everyone.
RESIDENT_SOFT_LIMIT = 450_000_000
# Only pictures nobody has drawn for this long make way: evicting a picture a
# viewer is drawing right now only makes it compute again, and with three
# viewers drawing at once that thrashed (Choose k took 200 s instead of 30 s).
IDLE_SECONDS = 20.0

P = ParamSpec("P")
T = TypeVar("T")


class Busy(InputError):
    """A session asked for more computations at once than :class:`FairLock` lets wait."""


@dataclasses.dataclass(eq=False)
class _Waiter:
    thread: int
    session: Hashable
    arrival: int
    since: float  # when it began to wait


class FairLock:
    """The server's computation lock, shared fairly between sessions.

    One viewer's work must not make the others wait without end. The rules:

    - **Least recent use first.** When the lock comes free, it goes to the waiting
      thread whose session held it least in the last ``window`` seconds (ties: the
      first to ask). A session that has just had a long computation waits behind
      one that asks for a short one, however many times it asks; among equals the
      order is first come, first served (Python's RLock is not even that: a page
      computing one result after another took it again ahead of others waiting).
    - **Superseded waits are skipped.** A wait polls ``yield_check`` (Streamlit's
      check for a newer rerun or a stop of the page run that waits): when the
      viewer has moved on, the wait ends by the exception it raises and the stale
      result is never computed. Five quick changes of k made while the lock is
      busy compute only the last (a computation already running finishes: the
      next run may need it, and another viewer may too).
    - **No wait without end.** A thread that has waited ``aging_seconds`` goes
      before those that have not, whatever its session used, in order of arrival:
      least recent use alone let a viewer who had been changing k for a minute
      wait behind every step of another's fresh upload (3 s for one change).
    - **A short grace for the lighter session.** A page run computes one result
      after another, with a little drawing in between. When a session lets go of
      the lock, it keeps first call on it for ``grace_seconds`` over the sessions
      that used it more: otherwise a light viewer's next result would wait behind
      a whole heavy computation every time (a change of k took 4 s beside a
      viewer reseeding a 12-megapixel photo).
    - **A small bound per session.** At most ``max_waiting`` threads of one session
      wait at once (the page run, a download); one more is refused with
      :class:`Busy` rather than queued.

    A long computation calls :meth:`share` between its steps: when a session
    that used the lock less is waiting, it goes first, and the computation goes
    on after it. The lock is re-entrant: nested work of the holder does not wait.
    Threads without a session (``session=None``) count as one, without a bound.
    """

    def __init__(
        self,
        window: float = 60.0,
        max_waiting: int = 2,
        poll_seconds: float = 0.1,
        grace_seconds: float = 0.1,
        aging_seconds: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.window = window
        self.max_waiting = max_waiting
        self.poll_seconds = poll_seconds
        self.grace_seconds = grace_seconds
        self.aging_seconds = aging_seconds
        self._grace: tuple[Hashable, float] | None = None  # the session last out, until when
        self._clock = clock
        self._condition = threading.Condition(threading.Lock())
        self._owner: int | None = None
        self._owner_session: Hashable = None
        self._depth = 0
        self._held_since = 0.0
        self._arrivals = itertools.count()
        self._waiting: list[_Waiter] = []
        self._paused = False  # a computation waits at a share() point
        self._holds: dict[Hashable, deque[tuple[float, float]]] = {}  # session: (end, seconds)

    def used(self, session: Hashable) -> float:
        """Seconds ``session`` held the lock in the last ``window`` seconds, this hold too."""
        with self._condition:
            return self._used(session)

    def _used(self, session: Hashable) -> float:
        now = self._clock()
        holds = self._holds.get(session)
        while holds and holds[0][0] < now - self.window:
            holds.popleft()
        if holds is not None and not holds:
            del self._holds[session]
        total = sum(seconds for _, seconds in holds or ())
        if self._owner is not None and self._owner_session == session:
            total += now - self._held_since
        return total

    def _aged(self, waiter: _Waiter) -> bool:
        return self._clock() - waiter.since >= self.aging_seconds

    def _next(self) -> _Waiter | None:
        """The waiter the lock goes to next (the caller holds the condition)."""

        def order(waiter: _Waiter) -> tuple[bool, float, int]:
            if self._aged(waiter):
                return False, 0.0, waiter.arrival
            return True, self._used(waiter.session), waiter.arrival

        return min(self._waiting, key=order, default=None)

    def acquire(
        self,
        session: Hashable = None,
        yield_check: Callable[[], None] | None = None,
        bounded: bool = True,
    ) -> None:
        """Take the lock for ``session``, waiting for its turn.

        ``yield_check`` is called at least every ``poll_seconds`` while waiting, and once the
        lock is taken; whatever it raises ends the wait (the lock not held).
        """
        me = threading.get_ident()
        with self._condition:
            if self._owner == me:
                self._depth += 1
                return
            if (
                bounded
                and session is not None
                and sum(w.session == session for w in self._waiting) >= self.max_waiting
            ):
                raise Busy(
                    "Your earlier requests are still waiting for the server, which is busy "
                    "with other viewers' work. Try again in a moment."
                )
            waiter = _Waiter(me, session, next(self._arrivals), self._clock())
            self._waiting.append(waiter)
        try:
            while True:
                with self._condition:
                    if self._owner is None and self._next() is waiter:
                        graced = self._graced(waiter)
                        if graced is None:
                            self._waiting.remove(waiter)
                            self._owner, self._owner_session, self._depth = me, session, 1
                            self._held_since = self._clock()
                            self._grace = None
                            break
                    else:
                        graced = None
                    # Woken when the lock comes free, and at least every poll: a grace
                    # ends and waits age without anyone being told.
                    self._condition.wait(min(graced or self.poll_seconds, self.poll_seconds))
                if yield_check is not None:
                    yield_check()
        except BaseException:
            with self._condition:
                if waiter in self._waiting:
                    self._waiting.remove(waiter)
                    self._condition.notify_all()
            raise
        if yield_check is not None:
            try:  # a rerun may have come just as the lock came free
                yield_check()
            except BaseException:
                self.release()
                raise

    def _graced(self, waiter: _Waiter) -> float | None:
        """Seconds ``waiter`` must still leave the lock to the session last out, or None.

        The caller holds the condition.
        """
        if self._grace is None:
            return None
        session, until = self._grace
        left = until - self._clock()
        if left <= 0 or waiter.session == session or self._aged(waiter):
            return None
        return left if self._used(waiter.session) > self._used(session) else None

    def release(self) -> float | None:
        """Leave the lock; returns how long it was held when this ends the hold."""
        # Trimmed while still held, so the next computation starts from a trimmed
        # heap; outside the condition, so threads asking meanwhile are not held up.
        # Only the owner changes the depth.
        if self._depth == 1:
            trim()
        with self._condition:
            self._depth -= 1
            if self._depth:
                return None
            session = self._owner_session
            seconds = self._end_hold()
            self._grace = (session, self._clock() + self.grace_seconds)
            return seconds

    def _end_hold(self) -> float:
        """Record the hold that ends now and wake the waiters (the caller holds the condition)."""
        now = self._clock()
        seconds = now - self._held_since
        self._holds.setdefault(self._owner_session, deque()).append((now, seconds))
        self._owner = None
        self._condition.notify_all()
        return seconds

    def share(self) -> float | None:
        """Let a waiting session that used the lock less go first, then take it back.

        Called by the holder between the steps of a long computation: the other
        session's work runs meanwhile. What the paused computation holds stays in
        memory, so only one computation is paused at a time: the one that runs
        meanwhile does not let go at its own steps, and no more than two
        computations' temporaries are ever alive at once. Returns the seconds of
        the hold that ended here, or None when the turn was not given.
        """
        me = threading.get_ident()
        with self._condition:
            if self._owner != me or self._paused:
                return None
            session, depth = self._owner_session, self._depth
            mine = self._used(session)
            if not any(self._used(w.session) < mine for w in self._waiting):
                return None
            seconds = self._end_hold()
            self._paused = True
        try:
            self.acquire(session, bounded=False)  # nested in a computation: never skipped
        finally:
            with self._condition:
                self._paused = False
        with self._condition:
            self._depth = depth
        return seconds

    def __enter__(self) -> None:
        self.acquire()

    def __exit__(self, *exc_info: object) -> None:
        self.release()


_COMPUTE_LOCK = FairLock()
# Reading an uploaded table has a lock of its own: tabular's limits bound each
# read (a hostile file is refused or read within 2 s and +50 MB, a legitimate
# 200,000-row CSV within 5 s and two million cells), so one read at a time beside
# one computation keeps the server's memory bounded, and a viewer uploading files
# does not hold up everyone's pictures. Reads never take the computation lock;
# computations may read (a table's points), so the two are always taken in that order.
_READING_LOCK = FairLock()
# Holds longer than this are logged at INFO (every hold at DEBUG): they are what
# makes other viewers wait.
LONG_HOLD_SECONDS = 1.0
_LOGGER = logging.getLogger(__name__)
# How many of this module's locks this thread holds.
_holding = threading.local()


def current_session() -> Hashable:
    """The id of the session whose page run this thread runs, or None (a download's thread)."""
    ctx = get_script_run_ctx(suppress_warning=True)
    return None if ctx is None else ctx.session_id


def _run_yield_check() -> Callable[[], None] | None:
    """Streamlit's check that raises when this page run should rerun or stop, if any.

    Not inside a computation or a Streamlit cached function: stopping there would
    discard the outer computation's work (Streamlit's own cache waits make the
    same exception), which the next run may well need again.
    """
    if getattr(_holding, "count", 0) or in_cached_function.get():
        return None
    return get_run_yield_check()


@contextmanager
def heavy_work(name: str = "", session: Hashable = None, reading: bool = False) -> Iterator[None]:
    """Hold the server-wide computation lock (re-entrant: nested work does not wait).

    The wait is fair between sessions and ends early when the page run that
    waits is superseded (see :class:`FairLock`). ``session`` defaults to
    :func:`current_session`; ``name`` is what the hold is logged under. With
    ``reading``, the lock for reading uploaded tables is held instead.
    """
    session = current_session() if session is None else session
    lock = _READING_LOCK if reading else _COMPUTE_LOCK
    lock.acquire(session, _run_yield_check())
    _holding.count = getattr(_holding, "count", 0) + 1
    try:
        yield
    finally:
        _holding.count -= 1
        seconds = lock.release()
        if seconds is not None:
            _log_hold(f"{name}[reading]" if reading else name, session, seconds)


def share() -> None:
    """A point in a long computation where a lighter session's waiting work goes first."""
    seconds = _COMPUTE_LOCK.share()
    if seconds is not None:
        _log_hold("(shared)", current_session(), seconds)


def _log_hold(name: str, session: Hashable, seconds: float) -> None:
    level = logging.INFO if seconds >= LONG_HOLD_SECONDS else logging.DEBUG
    _LOGGER.log(level, "lock held %.3f s by %s for session %s", seconds, name or "?", session)


def nbytes(value: object, exclude: set[int] | None = None) -> int:
    """Bytes held by ``value``: arrays, bytes, tables and figures, and what holds them.

    Shared parts are counted once, parts whose ``id`` is in ``exclude`` not at
    all; anything else counts its ``sys.getsizeof``.
    """
    seen: set[int] = set(exclude or ())

    def size(item: object) -> int:
        if id(item) in seen:
            return 0
        seen.add(id(item))
        if isinstance(item, np.ndarray):
            return item.nbytes
        if isinstance(item, (bytes, bytearray, str)):
            return len(item)
        if isinstance(item, (pd.DataFrame, pd.Series, pd.Index)):
            usage = item.memory_usage(deep=True)
            return int(usage.sum() if isinstance(usage, pd.Series) else usage)
        if isinstance(item, go.Figure):
            # The dicts the figure keeps: to_plotly_json() would deep-copy them
            # first, which took 20-30 ms for an animated figure on every store.
            frames = [frame._props for frame in item._frame_objs]
            return size(item._data) + size(item._layout) + size(frames)
        if dataclasses.is_dataclass(item) and not isinstance(item, type):
            return sum(size(getattr(item, field.name)) for field in dataclasses.fields(item))
        if isinstance(item, dict):
            return sum(size(key) + size(entry) for key, entry in item.items())
        if isinstance(item, (list, tuple)):
            return sum(size(entry) for entry in item)
        return sys.getsizeof(item)

    return size(value)


class Store:
    """A least-recently-used map from keys to results, bounded by their total bytes.

    Parameters
    ----------
    max_bytes : int
        Past this many bytes, the least recently used entries are dropped; the
        newest entry is always kept, however large.
    resident_limit : int, optional
        When the process's resident memory is above this before a computation,
        other groups' least recently used entries are dropped first, until
        enough bytes are freed to come back under it (see :meth:`relieve`).
    resident : callable, default :func:`~kmeans_app.memory.resident_bytes`
        Measures the process's resident memory (None where it cannot).
    idle_seconds : float, default :data:`IDLE_SECONDS`
        Only groups none of whose entries was asked for this long are dropped
        for the resident limit.
    clock : callable, default :func:`time.monotonic`
        Seconds, for the idle time.
    """

    def __init__(
        self,
        max_bytes: int,
        resident_limit: int | None = None,
        resident: Callable[[], int | None] = resident_bytes,
        idle_seconds: float = IDLE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_bytes = max_bytes
        self.resident_limit = resident_limit
        self._resident = resident
        self.idle_seconds = idle_seconds
        self._clock = clock
        self._last_used: dict[Hashable, float] = {}  # group: when an entry was last asked for
        self._entries: OrderedDict[Hashable, tuple[object, int, Hashable]] = OrderedDict()
        self._bytes = 0
        # Evicted results that some session still holds (a page mid-run): found
        # here, they are stored again instead of computed a second time beside
        # the live copy. Only objects that take weak references (arrays,
        # dataclasses, figures, tables) can be found; the rest are small.
        self._evicted: weakref.WeakValueDictionary = weakref.WeakValueDictionary()
        self._lock = threading.Lock()  # guards the map itself, never held while computing

    @property
    def bytes_held(self) -> int:
        """Bytes of everything stored now."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def _lookup(self, key: Hashable, group: Hashable = None) -> tuple[bool, object]:
        with self._lock:
            self._last_used[group] = self._clock()
            if key not in self._entries:
                return False, None
            self._entries.move_to_end(key)
            return True, self._entries[key][0]

    def _evict(self, key: Hashable) -> int:
        """Drop ``key`` (the caller holds ``self._lock``) and return its bytes."""
        value, held, _ = self._entries.pop(key)
        self._bytes -= held
        with suppress(TypeError):  # bytes, tuples and numbers take no weak reference
            self._evicted[key] = value
        return held

    def _insert(self, key: Hashable, value: object, group: Hashable) -> None:
        with self._lock:
            stored = {id(entry[0]) for entry in self._entries.values()}
        # What other entries hold (a quantization's colour counts) is counted there.
        held = nbytes(value, exclude=stored)
        with self._lock:
            if key in self._entries:
                self._bytes -= self._entries.pop(key)[1]
            self._entries[key] = (value, held, group)
            self._bytes += held
            for old in self._eviction_order(group):
                if self._bytes <= self.max_bytes:
                    return
                if old != key:
                    self._evict(old)

    def _eviction_order(self, group: Hashable) -> list[Hashable]:
        """Keys in the order they make way (the caller holds ``self._lock``).

        Other pictures' entries before those of ``group``: evicting what the page
        being drawn has just computed would only make it compute that again.
        Within each, large entries before small ones, least recently used first.
        """
        return sorted(
            self._entries,
            key=lambda k: (self._entries[k][2] == group, self._entries[k][1] < SMALL_ENTRY_BYTES),
        )

    def make_room(self, n_bytes: int) -> None:
        """Drop the least recently used entries until ``n_bytes`` more fit in the budget.

        For work whose temporaries are far larger than a computation's usual
        ones, such as painting a 50-megapixel download: what it evicts is
        computed again when next needed.
        """
        dropped = 0
        with self._lock:
            for old in self._eviction_order(None):
                if self._bytes + n_bytes <= self.max_bytes:
                    break
                dropped += self._evict(old)
        if dropped:  # the room is needed now, not at the end of the computation
            trim()

    def relieve(self, group: Hashable) -> int:
        """Drop idle groups' entries, oldest first, while the process is over its limit.

        Returns the bytes dropped. Entries of ``group`` stay: the page being drawn
        needs them, and so do those of groups asked for in the last
        ``idle_seconds`` (other viewers drawing now). Dropped arrays go back to
        the operating system at once (they are above the mmap threshold) or at
        the trim after the computation.
        """
        with self._lock:
            recent = self._clock() - self.idle_seconds
            self._last_used = {g: used for g, used in self._last_used.items() if used > recent}
            busy = set(self._last_used) | {group}
        resident = self._resident() if self.resident_limit is not None else None
        if resident is None or resident <= self.resident_limit:
            return 0
        excess, dropped = resident - self.resident_limit, 0
        with self._lock:
            for old in [k for k in self._eviction_order(group) if self._entries[k][2] not in busy]:
                if dropped >= excess:
                    break
                dropped += self._evict(old)
        if dropped:
            trim()
        return dropped

    def get(
        self, key: Hashable, compute: Callable[[], T], group: Hashable = None, reading: bool = False
    ) -> T:
        """The stored result for ``key``, computing and storing it on a miss.

        Misses compute one at a time (see :func:`heavy_work`); a session that
        waited for another one computing the same key then finds it stored.
        ``group`` (a picture or table) is what the entry belongs to: to make
        room for it, other groups' entries are evicted before its own, and
        before it is computed when the process is over its resident limit.
        With ``reading`` (an uploaded table's reading), misses wait for the
        reading lock instead, beside the computations.
        """
        found, value = self._lookup(key, group)
        if found:
            return value  # type: ignore[return-value]
        name = str(key[0]) if isinstance(key, tuple) else str(key)
        with heavy_work(name, reading=reading):
            found, value = self._lookup(key, group)
            if found:
                return value  # type: ignore[return-value]
            with self._lock:
                alive = self._evicted.pop(key, None)
            if alive is not None:
                self._insert(key, alive, group)
                return alive  # type: ignore[return-value]
            self.relieve(group)
            start = time.perf_counter()
            value = compute()
            _LOGGER.debug(
                "computed %s in %.3f s for session %s",
                name,
                time.perf_counter() - start,
                current_session(),
            )
            self._insert(key, value, group)
            return value


@st.cache_resource
def store() -> Store:
    """The server's one store (``st.cache_resource.clear()`` starts an empty one)."""
    return Store(MAX_BYTES, resident_limit=RESIDENT_SOFT_LIMIT)


def _key_part(argument: object) -> Hashable:
    """Sources, points specs and tables are keyed by their content key, the rest as they are."""
    return getattr(argument, "cache_key", argument)


def shared(
    spinner: str | None = None, reading: bool = False
) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """Cache a function's results in the server's :func:`store`, keyed by its arguments.

    Parameters
    ----------
    spinner : str, optional
        Shown while the result is computed (not when it is found stored).
    reading : bool, default False
        The function reads an uploaded table within tabular's limits and calls
        nothing else of the store's but other such functions: it runs under the
        reading lock, beside the computations (see :data:`_READING_LOCK`).

    The results are shared between sessions and must not be modified.
    """

    def decorate(function: Callable[P, T]) -> Callable[P, T]:
        name = function.__qualname__

        @functools.wraps(function)
        def cached(*args: P.args, **kwargs: P.kwargs) -> T:
            key = (name, *map(_key_part, args), *sorted(kwargs.items()))
            # The picture or table: "sample:china" of "sample:china|rgb".
            group = str(key[1]).split("|")[0] if args else None

            def compute() -> T:
                # No spinner where no page is drawn: a download's own thread.
                shown = spinner and get_script_run_ctx(suppress_warning=True) is not None
                with st.spinner(spinner) if shown else nullcontext():
                    return function(*args, **kwargs)

            return store().get(key, compute, group, reading)

        return cached

    return decorate
