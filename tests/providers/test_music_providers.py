"""Beatoven and Mubert clients end to end against local fakes of their documented APIs."""

from __future__ import annotations

import json

import pytest

from e3.media.ffmpeg import probe_duration
from e3.providers import Limits
from e3.providers.http import ProviderError
from e3.providers.music import Beatoven, Mubert, generate_tracks, make_track, track_record
from tests.providers.fakes import wav_bytes

KEY = "bt-secret-key-0123456789"
LIM = Limits(timeout=5, poll_timeout=0.5, retries=2, poll_interval=0.01)


@pytest.fixture
def sleeps():
    return []


def beatoven(fake, sleeps):
    return Beatoven(KEY, base_url=fake.url, lim=LIM, sleep=sleeps.append)


def serve_beatoven(fake, *, states=("composing", "running", "composed"), download=None):
    fake.route("POST", "/api/v1/tracks/compose", (200, {}, {"status": "started", "task_id": "task-1"}))
    answers = [(200, {}, {"status": s} if s != "composed" else
                {"status": "composed", "meta": {"project_id": "p1", "track_id": "trk-9",
                                                "track_url": f"{fake.url}/files/master.wav"}})
               for s in states]
    fake.route("GET", "/api/v1/tasks/task-1", answers)
    fake.route("GET", "/files/master.wav", download or (200, {"Content-Type": "audio/wav"}, wav_bytes(1.0)))


def test_beatoven_composes_polls_downloads_and_loops_to_length(fake, sleeps, tmp_path):
    serve_beatoven(fake)
    out = tmp_path / "music" / "track-01-abc.flac"
    record = make_track(beatoven(fake, sleeps), "calm piano, 70 BPM", 3.0, out, lim=LIM, sleep=sleeps.append)
    assert record == {"provider": "beatoven", "provider_track_id": "trk-9", "license_document_url": None}
    assert abs(probe_duration(out) - 3.0) < 0.05  # a 1 s master looped to the planned 3 s
    compose = fake.calls("POST", "/api/v1/tracks/compose")[0]
    assert compose["headers"]["authorization"] == f"Bearer {KEY}"
    assert compose["body"]["prompt"]["text"] == "3 seconds calm piano, 70 BPM"
    assert compose["body"]["looping"] is False
    assert "authorization" not in fake.calls("GET", "/files/master.wav")[0]["headers"]
    assert track_record("beatoven", out)["provider_track_id"] == "trk-9"


def test_beatoven_resume_does_not_compose_again(fake, sleeps, tmp_path):
    serve_beatoven(fake, states=("composed",))
    out = tmp_path / "track-02-abc.flac"
    state = tmp_path / ".provider" / "track-02-abc.task.json"
    state.parent.mkdir()
    state.write_text(json.dumps({"provider": "beatoven", "task_id": "task-1"}))
    make_track(beatoven(fake, sleeps), "x", 2.0, out, lim=LIM, sleep=sleeps.append)
    assert fake.calls("POST", "/api/v1/tracks/compose") == []
    assert out.is_file()
    # and a finished file is not requested at all
    generate_tracks("beatoven", [], client=beatoven(fake, sleeps))
    assert len(fake.calls("GET", "/api/v1/tasks/task-1")) == 1


def test_beatoven_429_waits_retry_after_then_succeeds(fake, sleeps, tmp_path):
    serve_beatoven(fake, states=("composed",))
    fake.route("POST", "/api/v1/tracks/compose", [(429, {"Retry-After": "7"}, {"error": "slow down"}),
                                                 (200, {}, {"status": "started", "task_id": "task-1"})])
    make_track(beatoven(fake, sleeps), "x", 2.0, tmp_path / "t.flac", lim=LIM, sleep=sleeps.append)
    assert 7.0 in sleeps
    assert len(fake.calls("POST", "/api/v1/tracks/compose")) == 2


def test_beatoven_401_fails_with_service_message_and_no_key(fake, sleeps, tmp_path):
    fake.route("POST", "/api/v1/tracks/compose", (401, {}, {"error": f"Invalid API key {KEY}"}))
    with pytest.raises(ProviderError) as e:
        make_track(beatoven(fake, sleeps), "x", 2.0, tmp_path / "t.flac", lim=LIM)
    text = str(e.value)
    assert "HTTP 401" in text and "Invalid API key" in text and KEY not in text
    assert len(fake.calls("POST", "/api/v1/tracks/compose")) == 1  # a 401 is not retried


def test_beatoven_500_is_retried_a_bounded_number_of_times(fake, sleeps, tmp_path):
    fake.route("POST", "/api/v1/tracks/compose", (500, {}, {"message": "internal error"}))
    with pytest.raises(ProviderError, match="HTTP 500.*internal error"):
        make_track(beatoven(fake, sleeps), "x", 2.0, tmp_path / "t.flac", lim=LIM)
    assert len(fake.calls("POST", "/api/v1/tracks/compose")) == LIM.retries + 1


def test_beatoven_task_that_never_finishes_times_out(fake, sleeps, tmp_path):
    serve_beatoven(fake, states=("composing",))
    with pytest.raises(ProviderError, match="did not finish within 0.5 s"):
        make_track(beatoven(fake, sleeps), "x", 2.0, tmp_path / "t.flac", lim=LIM)
    # the task id is kept: a rerun polls it instead of paying again
    assert json.loads((tmp_path / ".provider" / "t.task.json").read_text())["task_id"] == "task-1"


def test_beatoven_download_404_is_a_clear_failure(fake, sleeps, tmp_path):
    serve_beatoven(fake, states=("composed",), download=(404, {}, "NoSuchKey"))
    with pytest.raises(ProviderError, match="track download failed \\(HTTP 404\\): NoSuchKey"):
        make_track(beatoven(fake, sleeps), "x", 2.0, tmp_path / "t.flac", lim=LIM, sleep=sleeps.append)
    assert not (tmp_path / "t.flac").exists()


def test_beatoven_failed_task(fake, sleeps, tmp_path):
    serve_beatoven(fake, states=("composing",))
    fake.route("GET", "/api/v1/tasks/task-1", (200, {}, {"status": "failed", "meta": {"message": "bad prompt"}}))
    with pytest.raises(ProviderError, match="bad prompt"):
        make_track(beatoven(fake, sleeps), "x", 2.0, tmp_path / "t.flac", lim=LIM)


# ------------------------------------------------------------------------------------- mubert

CID, TOKEN = "cust-0001-aaaa", "mubert-token-secret-42"


def mubert(fake, sleeps):
    return Mubert(CID, TOKEN, base_url=fake.url, lim=LIM, sleep=sleeps.append)


def serve_mubert(fake, generation_states=("processing", "done")):
    fake.route("POST", "/api/v3/public/tracks",
               (200, {}, {"data": {"id": "mb-1", "generations": [{"status": "processing"}]}}))
    fake.route("GET", "/api/v3/public/tracks/mb-1", [
        (200, {}, {"data": {"id": "mb-1", "generations": [
            {"status": s, "format": "wav", **({"url": f"{fake.url}/dl/mb-1.wav"} if s == "done" else {})}]}})
        for s in generation_states])
    fake.route("GET", "/dl/mb-1.wav", (200, {}, wav_bytes(20.0, 8000)))


def test_mubert_generates_and_trims_with_headers_from_the_docs(fake, sleeps, tmp_path, monkeypatch):
    monkeypatch.setenv("MUBERT_LICENSE_URL", "https://example.test/license")
    serve_mubert(fake)
    out = tmp_path / "t.flac"
    record = make_track(mubert(fake, sleeps), "lofi study beats", 4.0, out, lim=LIM, sleep=sleeps.append)
    assert record["provider_track_id"] == "mb-1"
    assert record["license_document_url"] == "https://example.test/license"
    assert abs(probe_duration(out) - 4.0) < 0.05  # a 20 s track trimmed to 4 s
    post = fake.calls("POST", "/api/v3/public/tracks")[0]
    assert post["headers"]["customer-id"] == CID and post["headers"]["access-token"] == TOKEN
    assert post["body"]["duration"] == 15 and post["body"]["mode"] == "track"  # the API's minimum


def test_mubert_401_and_failed_generation(fake, sleeps, tmp_path):
    fake.route("POST", "/api/v3/public/tracks", (401, {}, {"message": "Unauthenticated."}))
    with pytest.raises(ProviderError) as e:
        make_track(mubert(fake, sleeps), "x", 4.0, tmp_path / "a.flac", lim=LIM)
    assert "Unauthenticated." in str(e.value) and TOKEN not in str(e.value)
    serve_mubert(fake, generation_states=("failed",))
    with pytest.raises(ProviderError, match="generation failed"):
        make_track(mubert(fake, sleeps), "x", 4.0, tmp_path / "b.flac", lim=LIM)


def test_missing_key_names_the_variable(monkeypatch):
    monkeypatch.delenv("BEATOVEN_API_KEY", raising=False)
    from e3.errors import ConfigError

    with pytest.raises(ConfigError, match="BEATOVEN_API_KEY"):
        generate_tracks("beatoven", [{"prompt": "x", "seconds": 3, "out": "/nonexistent/t.flac"}])
