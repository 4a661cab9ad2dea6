"""The Dask engine on a two-process LocalCluster: the same records and palettes as local.

The cluster's workers run in the folder pytest started in, not the tests' temporary
folders, as workers on other machines would: the command line gives them absolute paths.
"""

import asyncio
import os
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from distributed import LocalCluster
from test_cli import folder, read_jsonl, run, write_picture  # noqa: F401 - folder: the fixture

from kmeans_lib import InputError
from kmeans_lib.batch import (
    BatchOptions,
    LocalEngine,
    add_histograms,
    colour_histogram,
    combine_in_tree,
    fit_shared_palette,
    palette_record,
)
from kmeans_lib.dask_engine import DaskEngine


@pytest.fixture(scope="module")
def cluster():
    # The dashboard on any free port: another cluster on this machine may hold 8787.
    with LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=":0"
    ) as local_cluster:
        yield local_cluster


@pytest.fixture(scope="module")
def engine(cluster):
    with DaskEngine(cluster.scheduler_address) as dask_engine:
        yield dask_engine


def without_time(records):
    return {name: {**record, "seconds": None} for name, record in records.items()}


def test_records_and_redraws_are_the_local_engine_s(tmp_path, folder, engine):  # noqa: F811 - the fixture
    options = BatchOptions(k=4, colour_space="lab", random_state=1)
    pictures = [str(folder / name) for name in ("a.png", "b.jpg", "sub/c.png", "broken.png")]

    def items(where):
        (tmp_path / where).mkdir()
        return [(p, options, str(tmp_path / where / f"{i}.png")) for i, p in enumerate(pictures)]

    def as_data(record):  # all but the time taken and where the redraw went
        return record.to_dict() | {"seconds": None, "redraw": None}

    with LocalEngine(1) as local:
        expected = dict(local.map(palette_record, items("local")))
    found = dict(engine.map(palette_record, items("dask")))
    assert sorted(found) == [0, 1, 2, 3]
    assert [as_data(found[i]) for i in range(4)] == [as_data(expected[i]) for i in range(4)]
    assert "not an image" in found[3].error  # broken.png: a record with its error
    for index in range(3):  # written by the workers: the same bytes
        dask_png, local_png = (tmp_path / where / f"{index}.png" for where in ("dask", "local"))
        assert dask_png.read_bytes() == local_png.read_bytes()


def test_map_keeps_few_tasks_on_the_cluster_and_yields_each_once(engine, monkeypatch):
    submitted = []
    submit = engine._submit
    monkeypatch.setattr(engine, "_submit", lambda *a: submitted.append(1) or submit(*a))
    limit = engine._in_flight()  # two per worker thread: 4 here
    indices = []
    for index, result in engine.map(divmod, [(i, 7) for i in range(25)]):
        assert result == divmod(index, 7)
        indices.append(index)
        assert len(submitted) - len(indices) <= limit
    assert sorted(indices) == list(range(25))


def test_tree_reduce_is_the_exact_sum_and_the_shared_palette_local_s(folder, engine, monkeypatch):  # noqa: F811 - the fixture
    options = BatchOptions(k=5)
    paths = [str(p) for p in sorted(folder.rglob("*.*")) if p.suffix != ".txt"] * 3
    items = [(path, options) for path in paths]  # 12 pictures: a tree of several levels
    gathered = []
    result = engine._result
    monkeypatch.setattr(engine, "_result", lambda future: gathered.append(1) or result(future))
    found = engine.tree_reduce(colour_histogram, items, add_histograms)
    assert len(gathered) == 1  # partial sums stay on the workers: only the whole comes back
    expected = combine_in_tree((colour_histogram(*item) for item in items), add_histograms)
    assert np.array_equal(found.colours.colours, expected.colours.colours)
    assert np.array_equal(found.colours.counts, expected.colours.counts)
    assert found.n_pictures == expected.n_pictures == 9
    assert sorted(found.errors) == sorted(expected.errors) and len(found.errors) == 3
    shared, local = (fit_shared_palette(h, 5, "rgb", 2) for h in (found, expected))
    assert np.array_equal(shared.palette, local.palette)
    assert np.array_equal(shared.counts, local.counts)
    assert engine.tree_reduce(pow, [(i, 2) for i in range(11)], int.__add__) == 385
    with pytest.raises(InputError):
        engine.tree_reduce(pow, [], int.__add__)


def test_command_line_with_dask_gives_the_local_output(tmp_path, folder, cluster):  # noqa: F811 - the fixture
    dask = ("--engine", "dask", "--scheduler", cluster.scheduler_address)
    local = run("batch", "photos", "-r", "-k", "4", "--out", "local.jsonl", cwd=tmp_path)
    remote = run("batch", "photos", "-r", "-k", "4", "--out", "dask.jsonl", *dask, cwd=tmp_path)
    assert (local.returncode, remote.returncode) == (2, 2), remote.stderr  # broken.png
    assert without_time(read_jsonl(tmp_path / "dask.jsonl")) == without_time(
        read_jsonl(tmp_path / "local.jsonl")
    )
    shared = ("shared-palette", "photos", "-r", "-k", "5", "--format", "json", "--apply")
    local = run(*shared, "local", cwd=tmp_path)
    remote = run(*shared, "dask", *dask, cwd=tmp_path)
    assert (local.returncode, remote.returncode) == (2, 2), remote.stderr
    assert remote.stdout == local.stdout and '"colours"' in local.stdout
    assert remote.stderr == local.stderr  # the skipped broken.png, in the same words
    for name in ("a.png", "b.png", "sub/c.png"):
        assert (tmp_path / "dask" / name).read_bytes() == (tmp_path / "local" / name).read_bytes()


def test_an_unreachable_scheduler_is_a_plain_error_with_exit_code_3(tmp_path):
    write_picture(tmp_path / "p.png", 1)
    (tmp_path / "out.jsonl").write_text('{"path": "earlier.png"}\n')
    with socket.socket() as free:  # a port nothing listens on
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    result = run(
        "batch", "p.png", "-k", "3", "--out", "out.jsonl",
        "--engine", "dask", "--scheduler", f"tcp://127.0.0.1:{port}",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 3
    assert f"No Dask scheduler answered at tcp://127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr
    assert (tmp_path / "out.jsonl").read_text() == '{"path": "earlier.png"}\n'  # left as it was


def test_a_scheduler_address_that_is_not_one_is_a_plain_error(cluster):
    with pytest.raises(InputError, match="not a Dask scheduler address"):
        DaskEngine("tcp://no-port-here")
    worker = next(iter(cluster.scheduler_info["workers"]))
    with pytest.raises(InputError, match="is a Dask worker, not the scheduler"):
        DaskEngine(worker)


def test_a_server_that_never_answers_is_a_plain_error_within_the_timeout():
    with socket.socket() as silent:  # takes connections, never says a word (a dashboard's port)
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        address = f"tcp://127.0.0.1:{silent.getsockname()[1]}"
        with pytest.raises(InputError, match="No Dask scheduler answered .* within 1 s"):
            DaskEngine(address, timeout=1)


def test_closing_the_engine_leaves_the_cluster_running(cluster):
    with DaskEngine(cluster.scheduler_address) as first:
        assert sorted(first.map(abs, [(-1,), (-2,)])) == [(0, 1), (1, 2)]
    with DaskEngine(cluster.scheduler_address) as second:  # the same tasks run again
        assert sorted(second.map(abs, [(-1,), (-2,)])) == [(0, 1), (1, 2)]
    assert len(cluster.scheduler_info["workers"]) == 2


def test_records_of_the_same_picture_twice_are_computed_twice(tmp_path, engine):
    picture = write_picture(tmp_path / "p.png", 4)
    options = BatchOptions(k=3)
    first = dict(engine.map(palette_record, [(str(picture), options, None)]))[0]
    write_picture(picture, 5)  # the same path, another picture: never an earlier result
    second = dict(engine.map(palette_record, [(str(picture), options, None)]))[0]
    assert second.to_dict() | {"seconds": 0} == palette_record(str(picture), options).to_dict() | {
        "seconds": 0
    }
    assert second.palette != first.palette


def test_a_scheduler_without_workers_is_a_plain_error():
    with LocalCluster(n_workers=0, dashboard_address=":0") as empty:
        with pytest.raises(InputError, match="has no workers. Start 'dask worker tcp://"):
            DaskEngine(empty.scheduler_address, timeout=1)


def test_an_engine_works_where_an_event_loop_runs(cluster):
    # As in a notebook, whose own loop runs in the thread that calls the library.
    async def in_a_notebook():
        with DaskEngine(cluster.scheduler_address) as engine:
            return sorted(engine.map(abs, [(-3,), (-4,)]))

    # On a thread of its own, whatever loop the test session itself runs.
    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(asyncio.run, in_a_notebook()).result() == [(0, 3), (1, 4)]


_FAULTS_SCRIPT = """
import resource
import numpy as np
from kmeans_lib.dask_engine import _task_heap

def faults(n=40):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(n):
        np.ones(1 << 20)  # 8 MB, freed at once: a picture's temporary
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

outside = faults()
with _task_heap():
    inside = faults()
after = faults()
print(outside, inside, after)
"""


@pytest.mark.skipif(sys.platform != "linux", reason="glibc's allocator")
def test_a_task_reuses_its_memory_under_dask_s_trim_setting_and_restores_it():
    # The variable Dask's nannies give workers: outside a task every 8 MB
    # temporary is mapped and faulted in afresh (516 faults each here: numpy asks
    # for huge pages); inside, the heap's blocks are reused; after it, Dask's
    # setting applies again.
    env = dict(os.environ, MALLOC_TRIM_THRESHOLD_="65536")
    out = subprocess.run(
        [sys.executable, "-c", _FAULTS_SCRIPT], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    outside, inside, after = map(int, out)
    assert outside > 40 * 256
    assert inside < outside / 10
    assert after > 40 * 256
