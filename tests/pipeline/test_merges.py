"""Merge jobs through Dagster and the `e3` command: the jobs row, the m4b, refusals, JobService."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy.orm import Session

from e3.catalog.models import MergeJob
from e3.cli import main
from e3.foundry import Foundry
from e3.media.chapters import read_chapters
from e3.media.m4b import count_samples, probe_audio
from e3.merge.jobs import JobService, partition_key
from tests.conftest import corpus_file
from tests.media.helpers import speech_like
from tests.pipeline.helpers import catalog_engine, materialize

MP3 = ["-c:a", "libmp3lame", "-b:a", "48k"]
AAC = ["-c:a", "aac", "-b:a", "64k"]


@pytest.fixture
def merge_env(e3_env, monkeypatch):
    roots = [e3_env]
    corpus = Path(os.environ.get("E3_TEST_CORPUS", Path(__file__).resolve().parents[2].parent / "shared" / "corpus"))
    if corpus.is_dir():
        roots.append(corpus)
    monkeypatch.setenv("E3_MERGE_ROOTS", os.pathsep.join(str(r) for r in roots))
    return e3_env


def e3(*args, input=None):
    return CliRunner().invoke(main, [str(a) for a in args], input=input)


def _service() -> JobService:
    from e3.config import load_settings

    return JobService(catalog_engine(), Foundry(load_settings().foundry))


def _rows() -> list[MergeJob]:
    with Session(catalog_engine()) as s:
        return list(s.scalars(sa.select(MergeJob)))


def _folder(root: Path, name: str, n: int, codec=MP3, ext="mp3", seconds=0.6) -> Path:
    d = root / name
    d.mkdir(parents=True)
    for i in range(1, n + 1):
        speech_like(d / f"{i:02d} Part {i}.{ext}", seconds, seed=i, codec_args=codec)
    return d


def test_ljspeech_folder_merges_through_dagster_and_jobs_commands_work(merge_env):
    folder = corpus_file("audio/ljspeech_mp3_folder")
    out = merge_env / "out" / "lj.m4b"
    result = e3("merge", folder, "-o", out, "--title", "LJ Speech", "--author", "Linda Johnson", "--no-progress")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines()[-1] == str(out)

    marks = read_chapters(out)
    assert [m.title for m in marks] == [f"LJ001-{i:04d}" for i in range(1, 33)]
    inputs = sorted(p for p in folder.iterdir() if p.suffix == ".mp3")
    assert len(inputs) == 32
    total = sum(probe_audio(p, exact=True).duration for p in inputs)
    info = probe_audio(out)
    assert abs(count_samples(out) / info.sample_rate - total) < 0.2
    import mutagen.mp4

    tags = mutagen.mp4.MP4(out).tags
    assert tags["\xa9alb"] == ["LJ Speech"] and tags["\xa9ART"] == ["Linda Johnson"]

    (job,) = _rows()
    assert job.status == "completed" and job.output_file == str(out)
    assert job.start_time and job.end_time and job.start_time <= job.end_time
    assert json.loads(job.input_folders) == [str(folder.resolve())]
    assert "32 file(s) into 32 chapter(s)" in job.log and "re-encoded" in job.log
    key = partition_key(job)
    assert key == f"mj-{job.id.hex[:12]}" and key in result.stderr
    options = json.loads((merge_env / "foundry" / "_merges" / key / "options.json").read_text())
    assert options == {"title": "LJ Speech", "author": "Linda Johnson", "chapters": "per-file", "loudness": False}

    # A rerun of the partition resumes: nothing is merged again.
    mtime = out.stat().st_mtime_ns
    with dg.DagsterInstance.get() as instance:
        again = materialize(instance, key, ["merged_m4b"], partitions="merges")
    meta = {k: v.value for k, v in again.asset_materializations_for_node("merged_m4b")[-1].metadata.items()}
    assert meta["reused"] is True and meta["chapters"] == 32 and meta["reencoded"] is True
    assert out.stat().st_mtime_ns == mtime and _rows()[0].status == "completed"

    # jobs list / show (by prefix and by key)
    listed = json.loads(e3("jobs", "list", "--json").stdout)
    assert [j["id"] for j in listed] == [str(job.id)] and listed[0]["status"] == "completed"
    assert json.loads(e3("jobs", "list", "--status", "failed", "--json").stdout) == []
    shown = e3("jobs", "show", job.id.hex[:6])
    assert shown.exit_code == 0 and "completed" in shown.stdout and str(out) in shown.stdout
    assert json.loads(e3("jobs", "show", key, "--json").stdout)["options"]["title"] == "LJ Speech"
    assert "no merge job" in e3("jobs", "show", "ffffffffffff").stderr

    # Two more small jobs; clear removes only the finished one that ended long ago.
    small = _folder(merge_env / "in", "small", 2)
    assert e3("merge", small, "-o", merge_env / "out" / "small.m4b", "--no-progress").exit_code == 0
    queued = _service().create_job([small], merge_env / "out" / "later.m4b")
    assert len(json.loads(e3("jobs", "list", "--limit", "2", "--json").stdout)) == 2
    assert len(json.loads(e3("jobs", "list", "--limit", "2", "--offset", "2", "--json").stdout)) == 1
    _service().update_job(job.id, end_time=dt.datetime.utcnow() - dt.timedelta(days=40))
    cleared = e3("jobs", "clear", "--days", "30")
    assert cleared.exit_code == 0 and "deleted 1 job" in cleared.stdout
    remaining = {r.id: r.status for r in _rows()}
    assert job.id not in remaining and remaining[queued.id] == "queued" and len(remaining) == 2
    assert not (merge_env / "foundry" / "_merges" / key).exists()
    assert out.is_file(), "clearing a job never deletes its output"

    # delete
    deleted = e3("jobs", "delete", str(queued.id))
    assert deleted.exit_code == 0 and str(queued.id) in deleted.stdout
    assert queued.id not in {r.id for r in _rows()}
    assert e3("jobs", "delete", str(queued.id)).exit_code == 1


def test_aac_folders_are_stream_copied_with_per_folder_chapters(merge_env):
    one = _folder(merge_env / "in", "Disc 1", 2, codec=AAC, ext="m4a")
    two = _folder(merge_env / "in", "Disc 2", 3, codec=AAC, ext="m4a")
    result = e3("merge", one, two, "--chapters", "per-folder", "--no-progress")
    assert result.exit_code == 0, result.output
    (job,) = _rows()
    out = Path(result.stdout.strip().splitlines()[-1])
    # Without -o the m4b lives in the job's foundry folder.
    assert out == merge_env / "foundry" / "_merges" / partition_key(job) / f"{partition_key(job)}.m4b"
    assert job.status == "completed" and "stream-copied (no re-encode)" in job.log
    assert [m.title for m in read_chapters(out)] == ["Disc 1", "Disc 2"]
    total = sum(probe_audio(p, exact=True).duration for d in (one, two) for p in d.iterdir())
    # Copied packets keep each file's own priming/padding: at most 2 AAC frames per join.
    assert total - 0.01 <= probe_audio(out, exact=True).duration <= total + 4 * 2 * 1024 / 22050


def test_corrupt_file_fails_the_job_and_names_the_file(merge_env):
    d = _folder(merge_env / "in", "book", 1)
    (d / "02 broken.mp3").write_bytes(b"ID3\x03\x00\x00\x00\x00\x00\x00" + os.urandom(3000))
    out = merge_env / "out" / "book.m4b"
    result = e3("merge", d, "-o", out, "--no-progress")
    assert result.exit_code == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: merge job mj-") and "02 broken.mp3" in last and "Traceback" not in result.output
    (job,) = _rows()
    assert job.status == "failed" and "02 broken.mp3" in job.log and job.end_time is not None
    assert not out.exists()
    assert not out.parent.exists() or not any(out.parent.iterdir()), "no half-written file"
    assert "failed" in e3("jobs", "show", job.id.hex).stdout


def test_bad_folders_are_refused_before_a_job_exists(merge_env, tmp_path_factory):
    root = merge_env / "in"
    (root / "empty").mkdir(parents=True)
    outside = tmp_path_factory.mktemp("outside")
    speech_like(outside / "1.mp3", 0.3, codec_args=MP3)
    os.symlink(outside, root / "link")
    cases = {
        "no audio files": root / "empty",
        "folder not found": root / "missing",
        "'..' is not allowed": Path(str(root)) / ".." / ".." / outside.parent.name / outside.name,
        "outside the allowed folders": root / "link",
    }
    for reason, folder in cases.items():
        result = e3("merge", folder, "-o", merge_env / "x.m4b", "--no-progress")
        assert result.exit_code == 1, (reason, result.output)
        assert reason in result.stderr and result.stderr.startswith("error: "), (reason, result.stderr)
        assert "Traceback" not in result.output
    # A link inside a folder that points out is refused when the job runs, and the row says why.
    inner = _folder(root, "inner", 1)
    os.symlink(outside / "1.mp3", inner / "02.mp3")
    result = e3("merge", inner, "-o", merge_env / "y.m4b", "--no-progress")
    assert result.exit_code == 1 and "outside the allowed" in result.stderr
    assert [(r.status, "outside the allowed" in r.log) for r in _rows()] == [("failed", True)]
    assert e3("merge", "--help").exit_code == 0


def test_an_existing_output_is_kept_unless_force(merge_env):
    folder = _folder(merge_env / "in", "book", 2)
    out = merge_env / "mine.m4b"
    out.write_bytes(b"the user's own file")
    result = e3("merge", folder, "-o", out, "--no-progress")
    assert result.exit_code == 1 and "already exists; pass --force" in result.stderr
    assert out.read_bytes() == b"the user's own file" and _rows() == []
    result = e3("merge", folder, "-o", out, "--no-progress", "--force")
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[4:8] == b"ftyp"


def test_default_roots_are_the_home_folder_not_the_current_directory(monkeypatch, tmp_path):
    from e3.merge.jobs import merge_roots

    monkeypatch.delenv("E3_MERGE_ROOTS", raising=False)
    monkeypatch.setenv("E3_DOTENV", str(tmp_path / "no.env"))
    monkeypatch.chdir("/")
    assert merge_roots() == [Path.home().resolve()]
    assert merge_roots(network=True) == []  # over the network only configured roots
    monkeypatch.setenv("E3_MERGE_ROOTS", str(tmp_path))
    assert merge_roots(network=True) == [tmp_path.resolve()]


@pytest.mark.postgres
def test_job_service_on_postgres(pg_url, tmp_path):
    from e3.catalog.service import init_catalog

    engine = init_catalog(pg_url)
    service = JobService(engine, Foundry(tmp_path / "foundry"))
    jobs = [service.create_job([tmp_path / f"d{i}"], tmp_path / f"o{i}.m4b", title=f"T{i}") for i in range(3)]
    assert service.get_job(jobs[0].id.hex[:10]).id == jobs[0].id
    assert service.get_job(str(jobs[1].id)).id == jobs[1].id
    assert service.job_for_partition(partition_key(jobs[2])).id == jobs[2].id
    assert service.options(jobs[2]).title == "T2"
    service.start(jobs[0].id)
    service.finish(jobs[0].id, output_file=str(tmp_path / "o0.m4b"), log="ok")
    service.fail(jobs[1].id, "broken")
    assert [j.id for j in service.get_jobs(status="failed")] == [jobs[1].id]
    assert len(service.get_jobs(limit=2)) == 2 and len(service.get_jobs(limit=2, offset=2)) == 1
    assert service.clear_old_jobs(days_old=30) == 0
    service.update_job(jobs[1].id, end_time=dt.datetime.utcnow() - dt.timedelta(days=31))
    service.update_job(jobs[2].id, end_time=dt.datetime.utcnow() - dt.timedelta(days=31))  # queued: kept
    assert service.clear_old_jobs(days_old=30) == 1
    assert service.delete_job(jobs[0].id) is True and service.delete_job(jobs[0].id) is False
    assert [j.id for j in service.get_jobs()] == [jobs[2].id]
    engine.dispose()
