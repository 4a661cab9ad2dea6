"""The batch tasks on a ``dask.distributed`` cluster (``pip install 'kmeans-colours[dask]'``).

:class:`DaskEngine` is an engine as :mod:`kmeans_lib.batch` describes: the same
task functions as :class:`~kmeans_lib.batch.LocalEngine` runs, one Dask task per
picture, so the records and palettes are the same. The workers read the pictures
and write the redraws themselves: the paths given must be valid on every worker
(the same files at the same place, such as a shared disk). The scheduler and
every worker need ``kmeans_lib`` installed, at the same version as the client:
the scheduler unpacks the tasks too.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

from distributed import Client, Future, as_completed, get_worker
from distributed.comm import connect
from distributed.comm.addressing import get_address_host_port, parse_address
from joblib import cpu_count
from threadpoolctl import threadpool_info, threadpool_limits

from kmeans_lib.errors import InputError

R = TypeVar("R")

CONNECT_TIMEOUT = 10.0
# Tasks handed to the cluster at once, per worker thread: enough to keep every
# thread busy while results travel back, never a whole folder's worth of tasks
# (and their arguments) waiting on the scheduler.
IN_FLIGHT_PER_THREAD = 2

_threads_limited = False
_threads_lock = threading.Lock()

# glibc's mallopt parameters (malloc.h) and its mmap threshold when fixed.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_GLIBC_MMAP_THRESHOLD = 128 * 1024
# While a task runs: blocks up to 32 MB (the ceiling of glibc's own adaptive
# threshold) come from the heap, and up to 64 MB of free heap stays mapped.
_TASK_MMAP_THRESHOLD = 32 << 20
_TASK_TRIM_THRESHOLD = 64 << 20
_LIBC = (
    ctypes.CDLL("libc.so.6")
    if hasattr(os, "confstr") and (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc")
    else None
)
_tasks_in_heap = 0
_heap_lock = threading.Lock()


def _limit_worker_threads() -> None:
    """Once per worker process: its BLAS and OpenMP threads share the CPUs with its task threads.

    As ``LocalEngine`` does for its processes: a worker running ``nthreads``
    pictures at once gives each k-means ``cpu_count() // nthreads`` threads.
    Never more than the worker started with: Dask's nanny sets
    ``OMP_NUM_THREADS=1`` (and the like) for its workers, and a cluster's
    administrator may have chosen a number too.
    """
    global _threads_limited
    with _threads_lock:
        if _threads_limited:
            return
        share = max(1, cpu_count() // max(1, get_worker().state.nthreads))
        current = min((pool["num_threads"] for pool in threadpool_info()), default=share)
        threadpool_limits(limits=min(share, current))
        _threads_limited = True


@contextmanager
def _task_heap() -> Iterator[None]:
    """Let a task reuse its freed memory, and give it all back when the task ends.

    Dask's nannies start workers with ``MALLOC_TRIM_THRESHOLD_=65536`` so that
    freed memory goes back to the system at once. That also fixes glibc's mmap
    threshold at 128 KB, so each of the many temporary arrays of a picture (about
    100 MB of them for a 2-megapixel photo) is mapped and faulted in afresh:
    measured on the benchmark folder, 1.4 times the time, a third of it in the
    kernel. Within a task glibc's usual thresholds apply; when the worker's last
    running task ends, its settings are restored and the heap trimmed
    (``malloc_trim``), so between tasks the worker holds what Dask expects.
    Nothing changes where the variable is not set, or without glibc.
    """
    global _tasks_in_heap
    trim = os.environ.get("MALLOC_TRIM_THRESHOLD_", "")
    if _LIBC is None or not trim.isdigit():
        yield
        return
    with _heap_lock:
        _tasks_in_heap += 1
        if _tasks_in_heap == 1:
            _LIBC.mallopt(_M_MMAP_THRESHOLD, _TASK_MMAP_THRESHOLD)
            _LIBC.mallopt(_M_TRIM_THRESHOLD, _TASK_TRIM_THRESHOLD)
    try:
        yield
    finally:
        with _heap_lock:
            _tasks_in_heap -= 1
            if _tasks_in_heap == 0:
                mmap = os.environ.get("MALLOC_MMAP_THRESHOLD_", "")
                mmap_threshold = int(mmap) if mmap.isdigit() else _GLIBC_MMAP_THRESHOLD
                _LIBC.mallopt(_M_MMAP_THRESHOLD, mmap_threshold)
                _LIBC.mallopt(_M_TRIM_THRESHOLD, int(trim))
                _LIBC.malloc_trim(0)


def _run_task(function: Callable[..., R], *args: Any) -> R:
    """``function(*args)`` on a worker, its threads limited first (see :func:`_task_heap`)."""
    _limit_worker_threads()
    with _task_heap():
        return function(*args)


def _check_scheduler(address: str, timeout: float) -> None:
    """Fail in plain words, within ``timeout``, unless a Dask scheduler answers at ``address``.

    ``Client`` alone would retry a refused connection until its timeout, and
    wait for ever on a port where another server (such as the scheduler's own
    dashboard, 8787) takes the connection but never answers as a scheduler.
    Plain TCP addresses are checked here; other schemes (TLS needs the
    cluster's certificates) are left to ``Client``.
    """
    try:
        scheme, _ = parse_address(address)
        host, port = get_address_host_port(address)
    except ValueError as error:
        raise InputError(
            f"'{address}' is not a Dask scheduler address. Give it as tcp://HOST:PORT, "
            f"such as tcp://10.0.0.5:8786 (8786 is the port 'dask scheduler' uses). ({error})"
        ) from error
    if scheme != "tcp":
        return
    try:
        socket.create_connection((host, port), timeout=timeout).close()  # refused: at once
        # A loop of its own on a thread of its own: asyncio.run cannot start one in a
        # thread that runs a loop already (a notebook's, for one).
        with ThreadPoolExecutor(1) as pool:
            asked = pool.submit(asyncio.run, asyncio.wait_for(_identity(address, timeout), timeout))
            identity = asked.result()
    except TimeoutError as error:  # connected, but no answer as a Dask server
        raise _unreachable(address, f"no answer within {timeout:g} s") from error
    except OSError as error:  # refused, unknown host, closed (Dask's CommClosedError)
        raise _unreachable(address, _describe(error)) from error
    if identity.get("type") != "Scheduler":
        raise InputError(
            f"{address} is a Dask {str(identity.get('type', 'server')).lower()}, not the "
            "scheduler. Give the scheduler's address: 'dask scheduler' prints it when it "
            "starts (Scheduler at: tcp://...)."
        )


async def _identity(address: str, timeout: float) -> dict:
    """What the Dask server at ``address`` says it is (its ``identity``)."""
    comm = await connect(address, timeout=timeout)
    try:
        await comm.write({"op": "identity"})
        answer = await comm.read()
    finally:
        await comm.close()
    return answer if isinstance(answer, dict) else {}


def _unreachable(address: str, reason: str) -> InputError:
    return InputError(
        f"No Dask scheduler answered at {address}. Check that 'dask scheduler' is running "
        "there, that the address and port are right, and that no firewall is in the way. "
        f"({reason})"
    )


def _describe(error: BaseException) -> str:
    """An exception's kind and message, on one line (Dask's run over several)."""
    return f"{type(error).__name__}: {' '.join(str(error).split()) or 'no details'}"


def _cluster_failed(error: BaseException) -> InputError:
    """The plain error for a task the cluster could not run (tasks never raise themselves)."""
    return InputError(
        f"The Dask cluster could not run a task ({_describe(error)}). "
        "Check that the scheduler and every worker have kmeans-colours installed, at the same "
        "version as this machine (they unpack the tasks), and that the workers have enough "
        "memory; then run the command again."
    )


class DaskEngine:
    """Tasks on a running ``dask.distributed`` cluster, through a :class:`distributed.Client`.

    Parameters
    ----------
    scheduler_address : str
        The scheduler's address, such as ``"tcp://10.0.0.5:8786"``.
    timeout : float, default 10
        Seconds to wait for the scheduler to answer, and for a first worker.

    Raises
    ------
    InputError
        When the address is not one, no scheduler answers there, or the
        scheduler has no workers.
    """

    def __init__(self, scheduler_address: str, timeout: float = CONNECT_TIMEOUT) -> None:
        self.scheduler_address = scheduler_address
        _check_scheduler(scheduler_address, timeout)
        try:
            # set_as_default=False: this engine's client never becomes the one
            # that other Dask code in the same process uses without being asked.
            self._client = Client(scheduler_address, timeout=timeout, set_as_default=False)
        except (OSError, ValueError) as error:
            raise _unreachable(scheduler_address, _describe(error)) from error
        try:
            self._client.wait_for_workers(1, timeout=timeout)
        except TimeoutError as error:
            self._client.close()
            raise InputError(
                f"The Dask scheduler at {scheduler_address} has no workers. Start "
                f"'dask worker {scheduler_address}' on each machine that should do the work, "
                "then run the command again."
            ) from error

    def _submit(self, function: Callable[..., Any], *args: Any) -> Future:
        # pure=False, with a fresh key: a task is run each time it is asked for,
        # never taken from an earlier run of the same picture (the file may have
        # changed since, and a redraw must be written again).
        key = f"{getattr(function, '__name__', 'task')}-{uuid.uuid4().hex}"
        return self._client.submit(_run_task, function, *args, key=key, pure=False)

    def _in_flight(self) -> int:
        """Tasks to keep on the cluster at once: two per worker thread there now."""
        return max(2, IN_FLIGHT_PER_THREAD * sum(self._client.nthreads().values()))

    def map(self, function: Callable[..., R], items: Sequence[tuple]) -> Iterator[tuple[int, R]]:
        """``(index, function(*items[index]))`` for every item, as each finishes.

        One task per item, at most two per worker thread on the cluster at
        once: more are handed out as tasks finish. Tasks still on the cluster
        are cancelled when the caller stops early.
        """
        limit = self._in_flight()
        pending: dict[Future, int] = {}
        finished = as_completed(loop=self._client.loop)  # this client's, not a default one
        next_index = 0

        def top_up() -> None:
            nonlocal next_index
            while next_index < len(items) and len(pending) < limit:
                future = self._submit(function, *items[next_index])
                pending[future] = next_index
                finished.add(future)
                next_index += 1

        top_up()
        try:
            for future in finished:
                index = pending.pop(future)
                result = self._result(future)
                top_up()
                yield index, result
        finally:
            if pending:
                self._client.cancel(list(pending))

    def tree_reduce(
        self,
        function: Callable[..., R],
        items: Sequence[tuple],
        combine: Callable[[R, R], R],
    ) -> R:
        """``function(*item)`` for every item, combined two at a time on the cluster.

        As two partial results are done, a ``combine`` task is given their
        futures, so partial results stay on the workers and only the final one
        is sent to this machine. ``combine`` must be associative and
        commutative (:func:`~kmeans_lib.batch.add_histograms` is): partial
        results are paired in the order they finish.
        """
        if len(items) == 0:
            raise InputError("There is nothing to combine: no items were given.")
        limit = self._in_flight()
        finished = as_completed(loop=self._client.loop)  # this client's, not a default one
        leaves_running: set[Future] = set()
        everything: set[Future] = set()
        waiting: Future | None = None  # a finished partial result without a partner yet
        next_index = 0

        def top_up() -> None:
            nonlocal next_index
            while next_index < len(items) and len(leaves_running) < limit:
                future = self._submit(function, *items[next_index])
                leaves_running.add(future)
                everything.add(future)
                finished.add(future)
                next_index += 1

        top_up()
        try:
            for future in finished:
                if future.status == "error":
                    self._result(future)  # raises the plain error
                if future in leaves_running:
                    leaves_running.discard(future)
                    top_up()
                if waiting is None:
                    waiting = future
                else:
                    pair = self._submit(combine, waiting, future)
                    everything.add(pair)
                    finished.add(pair)
                    waiting = None
                everything.discard(future)
            # Every partial result was combined: the one left is the whole.
            assert waiting is not None
            everything.add(waiting)
            return self._result(waiting)
        finally:
            if everything:
                self._client.cancel(list(everything))

    def _result(self, future: Future) -> Any:
        try:
            return future.result()
        except Exception as error:  # noqa: BLE001 - worker lost, package missing there, ...
            raise _cluster_failed(error) from error

    def close(self) -> None:
        """Disconnect from the cluster; the scheduler and workers keep running."""
        self._client.close()

    def __enter__(self) -> DaskEngine:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
