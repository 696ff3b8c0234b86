"""The narrated book video: illustrations at their chapter positions over the m4b, chapters, subtitles."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from e3.catalog.status import book_status
from e3.demo_book import write_epub
from e3.foundry import Foundry
from tests.pipeline.helpers import catalog_engine, materialize, register

TINY = [
    ("Chapter One", ["The lamp was lit at six. Mara climbed the wall with her oil can.",
                     "Nine lamps stood along the quay, and each one hummed in the wind."]),
    ("Chapter Two", ["The fog came in from the north and covered the boats.",
                     "Everyone in town brought a lantern to the harbour that night."]),
]
NARRATION = ["book_source", "parsed_chapters", "narration_chunks", "audio_chunks", "audiobook_m4b", "subtitles"]


@pytest.fixture
def tiny_book(e3_env, monkeypatch):
    monkeypatch.setenv("E3_VIDEO_SIZE", "320x180")
    monkeypatch.setenv("E3_IMAGE_WIDTH", "320")
    monkeypatch.setenv("E3_IMAGE_HEIGHT", "180")
    monkeypatch.delenv("E3_BOOK_VIDEO_PER_CHAPTER", raising=False)
    src = write_epub(e3_env / "src" / "tiny.epub", "Tiny Lamps", "E3 Tests", TINY, year="2026")
    register("tiny", str(src), title="Tiny Lamps")
    return Foundry(e3_env / "foundry").book("tiny")


# The picture timeline itself (positions, title cards, max hold) is tested without Dagster in
# tests/video/test_book.py.


def _video_info(path: Path) -> dict:
    from e3.video.render import probe_video

    return probe_video(path)


def test_book_video_has_the_books_chapters_and_subtitles(e3_env, tiny_book, monkeypatch):
    with dg.instance_for_test() as instance:
        result = materialize(instance, "tiny", [*NARRATION, "image_prompts", "illustrations", "book_video"])
        assert result.success
        video = tiny_book.videos / "tiny.mp4"
        info = _video_info(video)
        assert [c["title"] for c in info["chapters"]] == ["Chapter One", "Chapter Two"]
        assert info["subtitle_codec"] == "mov_text"
        assert (info["codec"], info["profile"], info["width"], info["height"]) == ("h264", "High", 320, 180)
        assert (info["audio_codec"], info["sample_rate"]) == ("aac", 48000)
        m4b = _video_info(tiny_book.m4b("tiny"))
        assert abs(info["duration"] - m4b["duration"]) < 0.3
        meta = {k: v.value for k, v in result.asset_materializations_for_node("book_video")[-1].metadata.items()}
        assert meta["illustrations"] >= 2 and meta["slides"] >= 2  # the pictures, not only the cover
        assert len(list(tiny_book.images.glob("video-card-*.png"))) == 2  # one title card per chapter
        status = book_status(catalog_engine(), "tiny")
        assert status["video_generation_status"] == "completed" and status["total_videos_created"] == 1

        mtime = video.stat().st_mtime_ns
        assert materialize(instance, "tiny", ["book_video"]).success
        assert video.stat().st_mtime_ns == mtime, "an unchanged book is not rendered again"

        monkeypatch.setenv("E3_BOOK_VIDEO_PER_CHAPTER", "1")
        assert materialize(instance, "tiny", ["book_video"]).success
        parts = sorted(tiny_book.videos.glob("*.mp4"))
        assert [p.name for p in parts] == ["tiny-ch001.mp4", "tiny-ch002.mp4"]
        for part, title in zip(parts, ["Chapter One", "Chapter Two"]):
            chapters = _video_info(part)["chapters"]
            assert [c["title"] for c in chapters] == [title]
        assert book_status(catalog_engine(), "tiny")["total_videos_created"] == 2
    assert not [p for p in tiny_book.videos.iterdir() if p.name.startswith(".")]


def test_a_book_without_illustrations_shows_its_cover(e3_env, tiny_book):
    with dg.instance_for_test() as instance:
        assert materialize(instance, "tiny", [*NARRATION, "book_video"]).success
    info = _video_info(tiny_book.videos / "tiny.mp4")
    assert len(info["chapters"]) == 2 and info["subtitle_codec"] == "mov_text"
    assert (tiny_book.images / "video-cover.png").is_file() or any(tiny_book.images.glob("cover.*"))


def test_book_video_without_narration_fails_with_the_reason(e3_env, tiny_book):
    with dg.instance_for_test() as instance:
        result = materialize(instance, "tiny", ["book_source", "parsed_chapters", "book_video"],
                             raise_on_error=False)
    assert not result.success
    status = book_status(catalog_engine(), "tiny")
    assert status["video_generation_status"] == "failed"
    assert "tiny.m4b.json is missing; materialize audiobook_m4b" in status["last_error"]["message"]
    assert not (tiny_book.videos / "tiny.mp4").exists()
