"""The comfyui_jobs queue on SQLite and on a real Postgres: leases, retries, concurrency."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from e3.catalog.db import make_engine
from e3.comfyui.queue import JobQueue, LeaseLost, QueueError, QueueTimeout, utcnow


@pytest.fixture
def queue(db_url):
    engine = make_engine(db_url)
    yield JobQueue(engine)
    engine.dispose()


def test_enqueue_is_idempotent_and_lease_follows_priority(queue):
    a = queue.enqueue("pg98-scene-1", "image", "sdxl_text_to_image", {"output_path": "a.png"}, priority=100)
    b = queue.enqueue("pg98-scene-2", "image", "sdxl_text_to_image", {"output_path": "b.png"}, priority=10)
    c = queue.enqueue("pg98-music-1", "audio", "ace_step_music", {"output_path": "c.flac"}, priority=10)
    assert queue.enqueue("pg98-scene-1", "image", "other", {"output_path": "zzz"}, priority=1) == a
    assert queue.get(a).metadata["output_path"] == "a.png" and queue.get(a).priority == 100
    assert queue.counts() == {"pending": 3, "processing": 0, "done": 0, "failed": 0}

    first = queue.lease("w1", lease_seconds=60)
    assert first.id == b  # lowest priority value first, then oldest
    assert first.status == "processing" and first.worker_id == "w1" and first.run_count == 1
    assert first.start_time.tzinfo is not None
    assert dt.timedelta(seconds=55) < first.lease_expires_at - utcnow() <= dt.timedelta(seconds=60)
    assert queue.lease("w2", job_types=["audio"]).id == c
    assert queue.lease("w3").id == a
    assert queue.lease("w4") is None

    done = queue.complete(b, "w1", {"outputs": [{"path": "b.png"}]})
    assert done.status == "done" and done.metadata["result"]["outputs"][0]["path"] == "b.png"
    assert done.metadata["output_path"] == "b.png"  # the job's own metadata is kept
    assert done.end_time >= done.start_time and done.duration >= 0 and done.lease_expires_at is None
    with pytest.raises(LeaseLost):
        queue.complete(b, "w1", {})  # already done
    with pytest.raises(LeaseLost):
        queue.complete(c, "intruder", {})
    assert queue.counts() == {"pending": 0, "processing": 2, "done": 1, "failed": 0}
    with pytest.raises(QueueError):
        queue.enqueue("", "image", None, {})


def test_failures_are_retried_up_to_the_limit(queue):
    jid = queue.enqueue("flaky", "image", "sdxl_text_to_image", {}, retry_limit=3)
    statuses = []
    for attempt in range(1, 4):
        job = queue.lease("w1")
        assert job.id == jid and job.run_count == attempt
        after = queue.fail(jid, "w1", f"ComfyUIExecutionError: boom {attempt}")
        statuses.append((after.status, after.retries_attempted))
    assert statuses == [("pending", 1), ("pending", 2), ("failed", 3)]
    final = queue.get(jid)
    assert final.error_trace == "ComfyUIExecutionError: boom 3" and final.end_time is not None
    assert queue.lease("w1") is None  # nothing retried forever
    queue.requeue("flaky")
    assert queue.get(jid).status == "pending" and queue.get(jid).retries_attempted == 0


def test_expired_leases_are_reclaimed_counted_and_bounded(queue):
    jid = queue.enqueue("crashy", "image", "sdxl_text_to_image", {}, retry_limit=2)
    job = queue.lease("dead-worker", lease_seconds=30)
    assert queue.reclaim_expired() == 0  # lease still valid
    assert queue.renew(jid, "dead-worker", 30)
    later = utcnow() + dt.timedelta(seconds=31)
    assert queue.reclaim_expired(now=later) == 1
    back = queue.get(jid)
    assert (back.status, back.retries_attempted, back.worker_id) == ("pending", 1, None)
    assert "dead-worker" in back.error_trace and "lease expired" in back.error_trace
    assert not queue.renew(jid, "dead-worker", 30)  # the dead worker cannot take it back
    with pytest.raises(LeaseLost):
        queue.complete(jid, "dead-worker", {}, run_count=job.run_count)

    again = queue.lease("w2", lease_seconds=30)
    assert again.run_count == 2
    assert queue.reclaim_expired(now=utcnow() + dt.timedelta(seconds=31)) == 1
    final = queue.get(jid)
    assert (final.status, final.retries_attempted) == ("failed", 2)
    assert queue.reclaim_expired(now=utcnow() + dt.timedelta(days=1)) == 0


def test_same_worker_cannot_finish_an_older_lease(queue):
    jid = queue.enqueue("relapse", "image", None, {})
    old = queue.lease("w1", lease_seconds=1)
    queue.reclaim_expired(now=utcnow() + dt.timedelta(seconds=2))
    new = queue.lease("w1", lease_seconds=60)
    with pytest.raises(LeaseLost):
        queue.complete(jid, "w1", {"stale": True}, run_count=old.run_count)
    assert queue.complete(jid, "w1", {"fresh": True}, run_count=new.run_count).metadata["result"] == {"fresh": True}


def test_wait_for(queue):
    queue.enqueue("a", "image", None, {})
    queue.enqueue("b", "image", None, {}, retry_limit=1)
    with pytest.raises(QueueTimeout, match="2 of 2"):
        queue.wait_for(["a", "b"], timeout=0.2, poll=0.05)
    with pytest.raises(QueueError, match="'nope'"):
        queue.wait_for(["a", "nope"], timeout=1)
    a, b = queue.lease("w"), queue.lease("w")
    assert queue.fail(b.id, "w", "bad input").status == "failed"  # retry_limit 1: no retry
    timer = threading.Timer(0.3, lambda: queue.complete(a.id, "w", {"ok": 1}))
    timer.start()
    jobs = queue.wait_for(["a", "b"], timeout=5, poll=0.05)
    timer.join()
    assert jobs["a"].status == "done" and jobs["b"].status == "failed" and jobs["b"].error_trace == "bad input"


def test_concurrent_leases_take_every_job_exactly_once(db_url):
    setup = make_engine(db_url)
    q = JobQueue(setup)
    for i in range(60):
        q.enqueue(f"job-{i:03d}", "image", "sdxl_text_to_image", {"i": i}, priority=i % 5)
    completions: list[tuple[int, str]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker(name: str) -> None:
        engine = make_engine(db_url)  # each worker its own engine and connections
        wq = JobQueue(engine)
        try:
            while (job := wq.lease(name, lease_seconds=60)) is not None:
                wq.complete(job.id, name, {"by": name}, run_count=job.run_count)
                with lock:
                    completions.append((job.id, name))
        except BaseException as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    ids = [jid for jid, _ in completions]
    assert len(ids) == 60 and len(set(ids)) == 60  # none twice, none lost
    assert q.counts() == {"pending": 0, "processing": 0, "done": 60, "failed": 0}
    assert all(j.run_count == 1 for j in q.jobs())
    setup.dispose()
