"""The per-book lock of `e3 produce` is atomic: of many processes entering at once exactly one
holds it, a killed holder's lock is free at once, and releasing never frees someone else's."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time

import pytest

from e3.errors import E3Error


class _NoRuns:
    def get_run_records(self, *_a, **_k):
        return []


def _try(home: str, barrier, results) -> None:
    os.environ["DAGSTER_HOME"] = home
    from e3.cli.core import BookLock

    barrier.wait()
    try:
        with BookLock(_NoRuns(), "b1"):
            results.put("held")
            time.sleep(1.0)
    except E3Error:
        results.put("refused")


def test_only_one_of_eight_simultaneous_entries_holds_the_lock(tmp_path):
    ctx = mp.get_context("fork")
    barrier, results = ctx.Barrier(8), ctx.Queue()
    procs = [ctx.Process(target=_try, args=(str(tmp_path), barrier, results)) for _ in range(8)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    got = sorted(results.get(timeout=5) for _ in procs)
    assert got.count("held") == 1 and got.count("refused") == 7


def _hold_forever(home: str, ready) -> None:
    os.environ["DAGSTER_HOME"] = home
    from e3.cli.core import BookLock

    with BookLock(_NoRuns(), "b1"):
        ready.set()
        time.sleep(60)


def test_a_killed_holders_lock_is_taken_over(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    from e3.cli.core import BookLock

    ctx = mp.get_context("fork")
    ready = ctx.Event()
    holder = ctx.Process(target=_hold_forever, args=(str(tmp_path), ready))
    holder.start()
    assert ready.wait(10)
    with pytest.raises(E3Error, match=f"already being produced by process {holder.pid}"):
        with BookLock(_NoRuns(), "b1"):
            pass
    os.kill(holder.pid, signal.SIGKILL)
    holder.join(10)
    with BookLock(_NoRuns(), "b1") as lock:
        assert lock.path.read_text() == str(os.getpid())
    assert lock.path.read_text() == ""
