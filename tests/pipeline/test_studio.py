"""The channel studio: CLI, sensor, schedule, the five assets end to end, and bad input.

Durations are scaled (E3_VIDEO_SECONDS_PER_MINUTE=1: a "60-minute" job is 60 seconds, tracks of
3-4.5 seconds) and the render is 320x180, so the whole pipeline runs in seconds.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy.orm import Session

from e3.catalog.models import AudioTrack, Channel, Image, RenderTask, VideoJob
from e3.cli import main
from e3.studio import heard_minutes
from tests.pipeline.helpers import catalog_engine, materialize

CHANNEL_ASSETS = ["video_plan", "music_tracks", "background_images", "channel_video", "export_package"]


@pytest.fixture
def studio(e3_env, monkeypatch):
    monkeypatch.setenv("E3_VIDEO_SECONDS_PER_MINUTE", "1")
    monkeypatch.setenv("E3_VIDEO_SIZE", "320x180")
    monkeypatch.delenv("E3_MUSIC_PROVIDER", raising=False)
    return e3_env


@pytest.fixture
def run(studio):
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(main, list(args), catch_exceptions=False)

    return invoke


def _new_job(run, minutes: int = 60, mood: str = "elegant, classical") -> str:
    added = run("channel", "add", "Royal Court", "--niche", "Royal Court Ambience")
    assert added.exit_code == 0 or "already exists" in added.output, added.output
    result = run("video", "new", "--channel", "Royal Court", "--minutes", str(minutes), "--mood", mood)
    assert result.exit_code == 0, result.output
    return result.stdout.strip().splitlines()[0]


def _job(key: str) -> VideoJob:
    from e3.studio import load_job

    return load_job(catalog_engine(), key)


# ------------------------------------------------------------------------------------- CLI

def test_help_for_every_studio_command(run):
    for args in (["channel"], ["channel", "add"], ["channel", "list"], ["video"], ["video", "new"],
                 ["video", "list"], ["video", "status"], ["video", "produce"], ["video", "complete"],
                 ["video", "render"]):
        result = run(*args, "--help")
        assert result.exit_code == 0 and "Usage" in result.output, args


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_channel_and_job_commands(backend, run, studio, request, monkeypatch):
    if backend == "postgres":
        monkeypatch.setenv("E3_DATABASE_URL", request.getfixturevalue("pg_url"))
    result = run("channel", "add", "Royal Court", "--niche", "Royal Court Ambience", "--youtube-channel-id", "UC123")
    assert result.exit_code == 0, result.output
    again = run("channel", "add", "Royal Court", "--niche", "X")
    assert again.exit_code == 1 and "already exists" in again.output and "Traceback" not in again.output

    listed = run("channel", "list", "--json")
    rows = json.loads(listed.stdout)
    assert [(r["name"], r["niche"], r["youtube_channel_id"], r["jobs"]) for r in rows] == \
        [("Royal Court", "Royal Court Ambience", "UC123", 0)]

    for bad in ("59", "91"):
        rejected = run("video", "new", "--channel", "Royal Court", "--minutes", bad, "--mood", "calm")
        assert rejected.exit_code == 2 and "60<=x<=90" in rejected.output, rejected.output
    unknown = run("video", "new", "--channel", "Nope", "--minutes", "60", "--mood", "calm")
    assert unknown.exit_code == 1 and "no channel named 'Nope'" in unknown.output

    result = run("video", "new", "--channel", "Royal Court", "--minutes", "75", "--mood", "elegant,  classical")
    assert result.exit_code == 0, result.output
    key = result.stdout.strip()
    assert key.startswith("vj-") and len(key) == 15
    job = _job(key)
    assert job.status == "planned" and job.target_duration_minutes == 75
    assert job.mood_keywords == "elegant, classical" and job.niche_label == "Royal Court Ambience"
    assert Path(job.output_directory) == studio / "foundry" / "_video_jobs" / key

    jobs = json.loads(run("video", "list", "--json").stdout)
    assert [(j["key"], j["status"], j["minutes"]) for j in jobs] == [(key, "planned", 75)]
    status = json.loads(run("video", "status", key, "--json").stdout)
    assert status["status"] == "planned" and status["tracks"] == 0 and status["channel"] == "Royal Court"
    missing = run("video", "status", "vj-000000000000")
    assert missing.exit_code == 1 and "no video job vj-000000000000" in missing.output
    early = run("video", "complete", key)
    assert early.exit_code == 1 and "planned, not ready_for_export" in early.output


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_database_check_rejects_59_minutes(backend, studio, request):
    from e3.catalog.service import init_catalog

    if backend == "postgres":
        url = request.getfixturevalue("pg_url")
        engine = init_catalog(url)
    else:
        engine = catalog_engine()
    with Session(engine) as s, s.begin():
        channel = Channel(name="C", brand_niche="N")
        s.add(channel)
        s.flush()
        channel_id = channel.id
    for minutes, ok in ((59, False), (91, False), (60, True)):
        with Session(engine) as s:
            s.add(VideoJob(channel_id=channel_id, niche_label="N", mood_keywords="calm",
                           target_duration_minutes=minutes, output_directory="/tmp/x"))
            if ok:
                s.commit()
            else:
                with pytest.raises(sa.exc.IntegrityError, match="target_duration_minutes"):
                    s.commit()
    engine.dispose()


def test_track_lengths_add_up_and_stay_in_range():
    from e3.studio import (CROSSFADE_SECONDS, StudioScale, heard_minutes, overlap_shares, planned_total,
                           track_minutes, track_seconds)
    from e3.video.channel import AUDIO_CROSSFADE_S

    assert AUDIO_CROSSFADE_S == CROSSFADE_SECONDS  # the overlap the plan pays for is the one rendered
    for target in (60, 61, 75, 89, 90):
        minutes = track_minutes(target, seed=target)
        heard = heard_minutes(minutes)  # less each track's share of the 19 crossfades
        assert len(minutes) == 20 and abs(sum(heard) - target) < 1e-6
        assert all(3.0 <= m <= 4.5 for m in heard)
        # what the crossfades eat is planned on top: the video lasts the target, at most 0.6 s more
        assert 0 <= sum(minutes) * 60 - 19 * CROSSFADE_SECONDS - target * 60 <= 0.6
        secs = track_seconds(target, StudioScale(seconds_per_minute=1), seed=1)
        shares = [x / 100 for x in overlap_shares()]
        assert abs(sum(secs) - planned_total(target)) < 1e-6
        assert all(3.0 - 1e-6 <= s - x <= 4.5 + 1e-6 for s, x in zip(secs, shares))
    assert len(set(track_minutes(75, seed=1))) > 5  # lengths vary where the target leaves room


# ------------------------------------------------------------------------------------- sensor, schedule

def test_sensor_turns_a_planned_job_into_one_partition_and_run(run):
    from e3_assets.definitions import defs

    key = _new_job(run)
    with dg.instance_for_test() as instance:
        sensor = defs.get_sensor_def("video_jobs_sensor")
        with dg.build_sensor_context(instance=instance, definitions=defs, resources=defs.resources) as ctx:
            result = sensor(ctx)
        assert [r.partition_key for r in result.run_requests] == [key]
        assert [r.run_key for r in result.run_requests] == [key]
        assert result.dynamic_partitions_requests[0].partition_keys == [key]
        instance.add_dynamic_partitions("video_jobs", [key])  # what the daemon does with the request
        with dg.build_sensor_context(instance=instance, definitions=defs, resources=defs.resources) as ctx:
            again = sensor(ctx)
        assert not again.run_requests and not again.dynamic_partitions_requests


def test_schedule_plans_the_next_job_per_active_channel(run, studio):
    from e3_assets.definitions import defs

    key = _new_job(run, minutes=70, mood="misty, nordic")
    run("channel", "add", "Lo-Fi", "--niche", "Lo-Fi Study Beats")
    schedule = defs.get_schedule_def("channel_schedule")
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED
    assert schedule.cron_schedule == "0 6 * * *"
    with dg.instance_for_test() as instance:
        ctx = dg.build_schedule_context(instance=instance, resources=defs.resources)
        schedule.evaluate_tick(ctx)
    jobs = json.loads(run("video", "list", "--json").stdout)
    by_channel = {}
    for j in jobs:
        by_channel.setdefault(j["channel"], []).append(j)
    # Royal Court still has its planned job waiting: no second one; Lo-Fi gets its first.
    assert [j["key"] for j in by_channel["Royal Court"]] == [key]
    assert [(j["minutes"], j["mood"], j["status"]) for j in by_channel["Lo-Fi"]] == \
        [(60, "calm, warm, ambient", "planned")]


def test_video_plan_through_the_llm_is_validated_and_retried(run, monkeypatch):
    from tests.pictures.test_llm import FakeOpenAI

    key = _new_job(run, minutes=75)

    def reply(n: int) -> str:
        return json.dumps({
            "music_prompts": [{"order_index": i, "title": f"Court Dance {i}",
                               "prompt": f"Baroque harpsichord and strings, piece {i}, 90 BPM", "duration_minutes": 4}
                              for i in range(1, n + 1)],
            "visual_prompts": [{"order_index": i, "prompt": f"candle-lit palace hall, view {i}"}
                               for i in range(1, n + 1)]})

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-real")
    with FakeOpenAI([reply(19), reply(20)]) as server:
        monkeypatch.setenv("E3_LLM_BASE_URL", server.url)
        with dg.instance_for_test() as instance:
            assert materialize(instance, key, ["video_plan"], partitions="video_jobs").success
    assert len(server.requests) == 2  # 19 prompts were refused with the reason, then 20 came
    job = _job(key)
    assert job.status == "planned"
    music = job.prompts_json["music_prompts"]
    assert [p["title"] for p in music][:2] == ["Court Dance 1", "Court Dance 2"]
    minutes = heard_minutes([p["duration_minutes"] for p in music])  # 20 x 4 = 80 was refitted to 75
    assert abs(sum(minutes) - 75) < 0.01 and all(3 <= m <= 4.5 for m in minutes)


# ------------------------------------------------------------------------------------- end to end

def test_a_job_becomes_a_youtube_ready_video(run, studio):
    from PIL import Image as PILImage

    from e3.video.render import probe_video

    key = _new_job(run, minutes=60)
    produced = run("video", "produce", key)  # the command users without the daemon run
    assert produced.exit_code == 0, produced.output
    assert f"{key}: ready_for_export" in produced.output and "export" in produced.output
    with dg.instance_for_test() as instance:
        engine = catalog_engine()
        job = _job(key)
        assert job.status == "ready_for_export" and job.error_message is None
        plan = job.prompts_json
        assert len({p["prompt"] for p in plan["music_prompts"]}) == 20
        assert len({p["prompt"] for p in plan["visual_prompts"]}) == 20
        with Session(engine) as s:
            tracks = list(s.scalars(sa.select(AudioTrack).where(AudioTrack.video_job_id == job.id)
                                    .order_by(AudioTrack.order_index)))
            images = list(s.scalars(sa.select(Image).where(Image.video_job_id == job.id).order_by(Image.order_index)))
            tasks = list(s.scalars(sa.select(RenderTask).where(RenderTask.video_job_id == job.id)))
        assert [t.order_index for t in tracks] == [i.order_index for i in images] == list(range(1, 21))
        seconds = [float(t.duration_seconds) for t in tracks]  # each with its share of the crossfades
        heard = heard_minutes(seconds)  # 1 s per minute: seconds read as minutes
        assert abs(sum(heard) - 60) < 0.05 and all(3.0 <= x <= 4.5 for x in heard)
        assert all(t.provider == "dummy" and Path(t.local_file_path).is_file() for t in tracks)
        assert all(i.provider == "dummy" and PILImage.open(i.local_file_path).size == (320, 180) for i in images)

        assert len(tasks) == 1 and tasks[0].status == "completed" and tasks[0].completed_at is not None
        assert tasks[0].resolution == "320x180" and "libx264" in tasks[0].ffmpeg_command
        video = Path(job.local_video_path)
        assert video == Path(job.output_directory) / f"{key}.mp4"
        info = probe_video(video)
        assert (info["codec"], info["profile"], info["pix_fmt"]) == ("h264", "High", "yuv420p")
        assert (info["audio_codec"], info["sample_rate"], info["channels"]) == ("aac", 48000, "stereo")
        assert (info["width"], info["height"]) == (320, 180)
        assert len(info["chapters"]) == 20
        assert abs(info["duration"] - float(tasks[0].duration_seconds)) < 0.2
        assert 60.0 <= info["duration"] <= 60.2  # the tracks pay for their 19 short crossfades

        export = Path(job.output_directory) / "export"
        assert (export / "title.txt").read_text().strip()
        description = (export / "description.txt").read_text()
        stamps = [line for line in description.splitlines() if line[:2].isdigit() and line[2] == ":"]
        assert stamps[0].startswith("00:00 ") and len(stamps) >= 3
        assert len((export / "tags.txt").read_text().split("\n")) >= 3
        thumb = export / "thumbnail.jpg"
        assert PILImage.open(thumb).size == (1280, 720) and thumb.stat().st_size < 2 * 1024 * 1024
        assert (export / "video.mp4").stat().st_size == video.stat().st_size

        # A rerun reuses every track, picture and the render.
        again = materialize(instance, key, CHANNEL_ASSETS, partitions="video_jobs")
        meta = {a: {k: v.value for k, v in again.asset_materializations_for_node(a)[-1].metadata.items()}
                for a in ("music_tracks", "background_images")}
        assert meta["music_tracks"]["made_now"] == 0 and meta["background_images"]["made_now"] == 0
        with Session(engine) as s:
            assert s.scalar(sa.select(sa.func.count(RenderTask.id)).where(RenderTask.video_job_id == job.id)) == 1
            assert s.scalar(sa.select(sa.func.count(AudioTrack.id)).where(AudioTrack.video_job_id == job.id)) == 20

    done = run("video", "complete", key)
    assert done.exit_code == 0, done.output
    assert _job(key).status == "completed"
    twice = run("video", "complete", key)
    assert twice.exit_code == 1 and "completed, not ready_for_export" in twice.output


# ------------------------------------------------------------------------------------- bad input

def _render_fails_with(instance, key: str, expected: str) -> None:
    result = materialize(instance, key, ["channel_video"], partitions="video_jobs", raise_on_error=False)
    assert not result.success
    job = _job(key)
    assert job.status == "failed" and expected in job.error_message, job.error_message
    with Session(catalog_engine()) as s:
        task = s.scalars(sa.select(RenderTask).where(RenderTask.video_job_id == job.id)
                         .order_by(RenderTask.completed_at.desc())).first()  # created_at ticks in seconds on SQLite
    assert task.status == "failed" and expected in task.error_message and task.completed_at is not None
    folder = Path(job.output_directory)
    assert not (folder / f"{key}.mp4").exists()
    assert not [p for p in folder.iterdir() if p.suffix == ".mp4" or ".part" in p.name]


def test_corrupt_track_or_unreadable_image_fails_the_job(run, studio):
    key = _new_job(run)
    with dg.instance_for_test() as instance:
        assert materialize(instance, key, CHANNEL_ASSETS[:3], partitions="video_jobs").success
        job = _job(key)
        with Session(catalog_engine()) as s:
            track = s.scalar(sa.select(AudioTrack).where(AudioTrack.video_job_id == job.id,
                                                         AudioTrack.order_index == 5))
            image = s.scalar(sa.select(Image).where(Image.video_job_id == job.id, Image.order_index == 7))
        track_path, image_path = Path(track.local_file_path), Path(image.local_file_path)
        good = track_path.read_bytes()
        track_path.write_bytes(b"not audio at all" * 100)
        _render_fails_with(instance, key, track_path.name)

        track_path.write_bytes(good)
        image_path.write_bytes(b"\x89PNG broken")
        _render_fails_with(instance, key, image_path.name)


def test_mismatched_counts_fail_the_job(run, studio):
    key = _new_job(run)
    with dg.instance_for_test() as instance:
        assert materialize(instance, key, CHANNEL_ASSETS[:3], partitions="video_jobs").success
        with Session(catalog_engine()) as s, s.begin():
            s.execute(sa.delete(Image).where(Image.video_job_id == _job(key).id, Image.order_index == 20))
        result = materialize(instance, key, ["channel_video"], partitions="video_jobs", raise_on_error=False)
    assert not result.success
    job = _job(key)
    assert job.status == "failed" and "19 images but 20 tracks" in job.error_message


def test_render_command_renders_folders_and_refuses_mismatches(run, studio, tmp_path):
    from e3.pictures.painter import paint
    from e3.video.render import probe_video

    images, audio = tmp_path / "img", tmp_path / "aud"
    images.mkdir()
    audio.mkdir()
    for i in range(3):
        (images / f"{i + 1:02d}.png").write_bytes(paint(f"a quiet lake at dawn {i}", 320, 180, seed=i))
        _tone(audio / f"{i + 1:02d}_Track {i + 1}.wav", 2.0, 220 * (i + 1))
    out = tmp_path / "out.mp4"
    result = run("video", "render", "--images", str(images), "--audio", str(audio), "-o", str(out),
                 "--fps", "24", "--size", "320x180")
    assert result.exit_code == 0, result.output
    info = probe_video(out)
    assert [c["title"] for c in info["chapters"]] == ["Track 1", "Track 2", "Track 3"]
    assert abs(info["duration"] - 6.0) < 0.2

    (images / "04.png").write_bytes((images / "01.png").read_bytes())
    bad_out = tmp_path / "bad.mp4"
    result = run("video", "render", "--images", str(images), "--audio", str(audio), "-o", str(bad_out))
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and "4 images but 3 tracks" in result.output
    assert not bad_out.exists() and not list(tmp_path.glob(".bad*"))


def _tone(path: Path, seconds: float, freq: float) -> None:
    import math
    import struct
    import wave

    rate = 48000
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(rate)
        frames = b"".join(struct.pack("<hh", v, v) for v in
                          (int(8000 * math.sin(2 * math.pi * freq * n / rate)) for n in range(int(seconds * rate))))
        w.writeframes(frames)


def test_music_from_a_comfyui_audio_workflow(run, studio, monkeypatch):
    """E3_MUSIC_PROVIDER=comfyui: the ACE-Step workflow runs through the queue on the server."""
    from e3.catalog.models import ComfyUIJob
    from e3.media.ffmpeg import decode_duration
    from tests.pictures.fake_comfyui import FakeComfyUI

    key = _new_job(run)
    with FakeComfyUI(unets=["acestep_v1.5_turbo.safetensors"], max_audio_seconds=10) as fake:
        monkeypatch.setenv("E3_COMFYUI_URL", fake.url)
        monkeypatch.setenv("E3_MUSIC_PROVIDER", "comfyui")
        with dg.instance_for_test() as instance:
            result = materialize(instance, key, ["video_plan", "music_tracks"], partitions="video_jobs")
    assert result.success
    job = _job(key)
    with Session(catalog_engine()) as s:
        tracks = s.scalars(sa.select(AudioTrack).where(AudioTrack.video_job_id == job.id)
                           .order_by(AudioTrack.order_index)).all()
        jobs = s.scalars(sa.select(ComfyUIJob).where(ComfyUIJob.job_type == "audio")).all()
    assert [t.order_index for t in tracks] == list(range(1, 21))
    assert {t.provider for t in tracks} == {"comfyui"}
    assert len(jobs) == 20 and {j.status for j in jobs} == {"done"}
    planned = {p["order_index"]: p["duration_minutes"] for p in job.prompts_json["music_prompts"]}
    for track in tracks:
        real = decode_duration(track.local_file_path)
        assert abs(real - float(track.duration_seconds)) < 0.1
        assert abs(real - planned[track.order_index]) < 0.1  # scaled: one second per minute


def test_an_llm_plan_that_adds_up_to_the_target_is_padded_for_the_crossfades():
    """A plan whose lengths add up to the target gets the crossfade overlap added, so the video
    lasts the target; one with wrong lengths gets the studio's own split; bad prompts fail."""
    import pytest

    from e3.catalog.models import VideoJob
    from e3.studio import StudioError, planned_total
    from e3.video.channel import normalize_plan

    job = VideoJob(target_duration_minutes=60, channel_id=None)
    plan = {"music_prompts": [{"order_index": i, "prompt": f"music {i}", "duration_minutes": 3.0}
                              for i in range(1, 21)],
            "visual_prompts": [{"order_index": i, "prompt": f"picture {i}"} for i in range(1, 21)]}
    out = normalize_plan(plan, job)
    assert sum(p["duration_minutes"] for p in out["music_prompts"]) == pytest.approx(planned_total(60), abs=0.01)
    wrong = {**plan, "music_prompts": [{**p, "duration_minutes": 9.0} for p in plan["music_prompts"]]}
    assert sum(p["duration_minutes"] for p in normalize_plan(wrong, job)["music_prompts"]) == pytest.approx(
        planned_total(60), abs=0.01)
    dup = {**plan, "visual_prompts": [{"order_index": i, "prompt": "same"} for i in range(1, 21)]}
    with pytest.raises(StudioError, match="repeats"):
        normalize_plan(dup, job)
