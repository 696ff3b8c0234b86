"""The studio's five steps without Dagster (e3.video.channel), on a scaled job: a "60-minute"
video of 60 seconds at 320x180. Each step writes its files and rows; a rerun reuses them."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from e3.catalog.models import AudioTrack, Image, RenderTask
from e3.catalog.service import init_catalog
from e3.config import load_settings
from e3.media.mp4boxes import quicktime_chapters
from e3.studio import StudioError, add_channel, load_job, new_video_job
from e3.video import channel


def _Painter():
    """The ComfyUI settings with no server configured: the offline painter paints."""
    from e3_resources.comfyui import ComfyUIResource

    return ComfyUIResource()


@pytest.fixture
def job_engine(e3_env, monkeypatch):
    monkeypatch.setenv("E3_VIDEO_SECONDS_PER_MINUTE", "1")
    monkeypatch.setenv("E3_VIDEO_SIZE", "320x180")
    monkeypatch.delenv("E3_MUSIC_PROVIDER", raising=False)
    monkeypatch.delenv("E3_IMAGE_PROVIDER", raising=False)
    engine = init_catalog(load_settings().database_url)
    add_channel(engine, "Quiet Rooms", "Quiet Rooms Ambience")
    job = new_video_job(engine, load_settings().foundry, "Quiet Rooms", 60, "calm, piano")
    return engine, job.partition_key


def test_the_five_steps_make_a_chaptered_video_and_an_export_and_reuse_on_rerun(job_engine):
    engine, key = job_engine
    planned = channel.plan_job(engine, load_job(engine, key))
    assert planned.source == "offline" and len(planned.plan["music_prompts"]) == 20
    assert channel.plan_job(engine, load_job(engine, key)).source == "kept"  # a valid plan stays

    with pytest.raises(StudioError, match="no rendered video"):
        channel.export_job(engine, load_job(engine, key))

    music = channel.make_music(engine, load_job(engine, key), "dummy", None)
    assert music.made_now == 20 and len(list(music.folder.glob("track-*.flac"))) == 20
    again = channel.make_music(engine, load_job(engine, key), "dummy", None)
    assert again.made_now == 0 and again.data_version == music.data_version
    pictures = channel.make_backgrounds_for_job(engine, load_job(engine, key), _Painter(), 320, 180)
    assert pictures.made_now == 20 and pictures.size == "320x180"
    with Session(engine) as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(AudioTrack)) == 20
        assert s.scalar(sa.select(sa.func.count()).select_from(Image)) == 20

    kwargs = {"width": 320, "height": 180, "fps": 24, "preset": "ultrafast", "workers": 2}
    video = channel.render_job(engine, load_job(engine, key), kwargs)
    assert not video.reused and video.path.is_file()
    assert len(quicktime_chapters(video.path)) == 20  # read back from the MP4 boxes
    assert video.info["duration"] >= 60.0 - 0.5
    with Session(engine) as s:
        task = s.scalar(sa.select(RenderTask))
        assert task.status == "completed" and "ffmpeg" in task.ffmpeg_command
    assert channel.render_job(engine, load_job(engine, key), kwargs).reused
    assert load_job(engine, key).local_video_path == str(video.path)

    package = channel.export_job(engine, load_job(engine, key))
    assert package.tracklist.startswith("00:00") and package.thumbnail is not None
    assert json.loads(channel.render_sidecar(load_job(engine, key)).read_text())["inputs_hash"] == \
        video.info["inputs_hash"]


def test_a_failed_render_fails_its_render_task_with_the_reason(job_engine):
    engine, key = job_engine
    channel.plan_job(engine, load_job(engine, key))
    channel.make_music(engine, load_job(engine, key), "dummy", None)
    channel.make_backgrounds_for_job(engine, load_job(engine, key), _Painter(), 320, 180)
    with Session(engine) as s, s.begin():
        first = s.scalar(sa.select(AudioTrack).order_by(AudioTrack.order_index))
        first.local_file_path = first.local_file_path + ".gone"
    with pytest.raises(Exception):
        channel.render_job(engine, load_job(engine, key), {"width": 320, "height": 180, "fps": 24,
                                                           "preset": "ultrafast", "workers": 1})
    with Session(engine) as s:
        task = s.scalar(sa.select(RenderTask))
        assert task.status == "failed" and task.error_message
