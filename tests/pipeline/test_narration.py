"""Narration through Dagster: chunk audio, m4b, subtitles, checks, resume and voice failures."""

from __future__ import annotations

import dagster as dg
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from e3.catalog.models import AudiobookProduction, Narrator
from e3.catalog.status import book_status
from e3.demo_book import write_epub
from e3.foundry import Foundry
from tests.pipeline.helpers import catalog_engine, materialize, register

TINY = [
    ("Chapter One", ["The lamp was lit at six. Mara climbed the wall with her oil can.",
                     "Nine lamps stood along the quay."]),
    ("Chapter Two", ["The fog came in from the north.", "Everyone in town brought a lantern."]),
]
BOOK_ASSETS = ["book_source", "parsed_chapters", "narration_chunks", "audio_chunks", "audiobook_m4b", "subtitles"]


def _checks():
    from e3_assets.narration import checks

    return checks


def _metadata(result, asset: str) -> dict:
    mats = [m for m in result.asset_materializations_for_node(asset)]
    return {k: v.value for k, v in mats[-1].metadata.items()}


@pytest.fixture
def tiny_book(e3_env):
    src = write_epub(e3_env / "src" / "tiny.epub", "Tiny Lamps", "E3 Tests", TINY, year="2026")
    register("tiny", str(src), title="Tiny Lamps")
    return src


def test_book_becomes_a_chaptered_tagged_m4b_with_subtitles(e3_env, tiny_book):
    import mutagen.mp4

    from e3.media.chapters import read_chapters
    from e3.narration.subtitles import parse_srt

    with dg.instance_for_test() as instance:
        result = materialize(instance, "tiny", [*BOOK_ASSETS, *_checks()])
        assert result.success
        evaluations = result.get_asset_check_evaluations()
        # four m4b/subtitle checks and the listen-back narration_check
        assert len(evaluations) == 5 and all(e.passed for e in evaluations), [(e.check_name, e.passed, e.metadata) for e in evaluations if not e.passed]
        m4b_meta = _metadata(result, "audiobook_m4b")
        assert m4b_meta["chapters"] == 2 and abs(m4b_meta["loudness_lufs"] + 18) <= 1.0

        paths = Foundry(e3_env / "foundry").book("tiny")
        m4b = paths.m4b("tiny")
        tags = mutagen.mp4.MP4(m4b).tags
        assert tags["\xa9nam"] == ["Tiny Lamps"] and tags["\xa9ART"] == ["E3 Tests"]
        assert tags.get("covr"), "a generated cover is embedded"
        assert [c.title for c in read_chapters(m4b)] == ["Chapter One", "Chapter Two"]
        cues = parse_srt((paths.subtitles / "tiny.srt").read_text())
        assert cues and all(len(line) <= 42 for c in cues for line in c.lines)
        assert all(len(c.lines) <= 2 for c in cues)
        assert (paths.subtitles / "tiny.vtt").read_text().startswith("WEBVTT")

        status = book_status(catalog_engine(), "tiny")
        for step in ("audio_generation", "audio_files_moved", "audio_combination_planned", "audio_combination",
                     "subtitle_generation"):
            assert status[f"{step}_status"] == "completed", step
        assert status["audiobook_complete"] is True
        assert status["audio_jobs_completed"] == status["total_chunks"] == status["total_audio_files"]
        assert status["audio_duration_seconds"] > 3 and status["audio_file_size_bytes"] > 10_000

        # A rerun voices nothing again and leaves the m4b alone.
        again = materialize(instance, "tiny", ["audio_chunks", "audiobook_m4b"])
        assert _metadata(again, "audio_chunks")["synthesized_now"] == 0

        # Editing one chapter re-voices only that chapter's changed paragraph.
        edited = [TINY[0], ("Chapter Two", ["The fog came in from the north.", "Every child carried a candle."])]
        write_epub(tiny_book, "Tiny Lamps", "E3 Tests", edited, year="2026")
        rerun = materialize(instance, "tiny", BOOK_ASSETS[:4])
        meta = _metadata(rerun, "audio_chunks")
        assert meta["synthesized_now"] == 1 and meta["removed_orphans"] == 2  # one flac + its sidecar


def _set_narrator(narrator: Narrator) -> None:
    engine = catalog_engine()
    with Session(engine) as s, s.begin():
        s.merge(narrator)
        s.flush()
        s.execute(sa.update(AudiobookProduction).where(AudiobookProduction.book_id == "tiny")
                  .values(narrator_id=narrator.narrator_id))


@pytest.mark.parametrize("case", ["unknown-voice-model", "missing-voice-file", "unreachable-api"])
def test_voice_problems_fail_the_run_with_the_reason(e3_env, tiny_book, monkeypatch, case):
    if case == "unknown-voice-model":
        _set_narrator(Narrator(narrator_id="n_eleven", narrator_name="X", voice_model="eleven_labs"))
        expected = "eleven_labs"
    elif case == "missing-voice-file":
        _set_narrator(Narrator(narrator_id="n_missing", narrator_name="X", voice_model="piper",
                               voice_sample_path=str(e3_env / "nope.onnx")))
        expected = "nope.onnx"
    else:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
        monkeypatch.setenv("E3_OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
        monkeypatch.setenv("E3_OPENAI_MAX_RETRIES", "1")
        _set_narrator(Narrator(narrator_id="n_api", narrator_name="X", voice_model="openai_tts"))
        expected = "127.0.0.1:9"
    with dg.instance_for_test() as instance:
        result = materialize(instance, "tiny", BOOK_ASSETS[:4], raise_on_error=False)
    assert not result.success
    status = book_status(catalog_engine(), "tiny")
    assert status["audio_generation_status"] == "failed"
    message = status["last_error"]["message"]
    assert expected in message, message
    assert "sk-test" not in message
