"""Paid music providers (``beatoven``, ``mubert``) and the one entry point the studio calls.

``generate_tracks(provider, specs)`` makes each spec's ``out`` file (FLAC, 48 kHz stereo) of
exactly ``seconds``: the service composes a track from the prompt, E3 polls the task, downloads
the result, then trims or loops it to the planned length with a fade in and out (ffmpeg). The
render normalizes loudness (-14 LUFS) as for every other provider.

Idempotent resume, so a rerun never pays twice: the task id is saved (``.provider/<stem>.task.json``)
before polling and the raw download is kept until the fitted file is in place; a rerun polls the
saved task or fits the saved download instead of composing again, and a finished ``out`` is never
requested again (its name hashes prompt, length, provider and order index). ``track_record`` gives
the ``audio_tracks`` columns (``provider_track_id``, ``license_document_url``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from e3.config import getenv
from e3.fsutil import atomic_path, atomic_write_json
from e3.providers import PAID_MUSIC, Limits, limits, require
from e3.providers.http import Http, ProviderError, poll

STATE_DIR = ".provider"


@dataclass
class TrackStatus:
    done: bool
    url: str | None = None
    track_id: str | None = None
    license_url: str | None = None
    format: str = "mp3"


class MusicClient(Protocol):
    name: str

    def submit(self, prompt: str, seconds: float) -> str:
        """Start a composition; returns the service's task id (this is the paid call)."""

    def status(self, task_id: str) -> TrackStatus:
        """Where the task is; raises ProviderError when the service says it failed."""

    def download(self, url: str, out: Path) -> Path: ...


# ------------------------------------------------------------------------------------- beatoven

class Beatoven:
    """Beatoven.ai Composition API (public-api.beatoven.ai), as its published spec describes it.

    Followed: the Beatoven Composition API reference (``POST /api/v1/tracks/compose`` with
    ``{"prompt": {"text": ...}, "format": "wav"|"mp3"|"aac", "looping": false}`` answering
    ``{"status": "started", "task_id": ...}``; ``GET /api/v1/tasks/{task_id}`` answering ``status``
    ``composing`` / ``running`` / ``composed`` and, once composed, ``meta.track_url`` (the master)
    with ``meta.track_id`` / ``meta.project_id``), bearer auth. The older v2 flow in
    github.com/Beatoven/public-api docs/api-spec.md (create track, compose, ``/api/v2/status``)
    is not used. Key: ``BEATOVEN_API_KEY``; ``BEATOVEN_BASE_URL`` overrides the host (tests).
    """

    name = "beatoven"
    BASE_URL = "https://public-api.beatoven.ai"

    def __init__(self, api_key: str, *, base_url: str | None = None, lim: Limits | None = None, **http_kw):
        lim = lim or limits()
        self.lim = lim
        self.http = Http("Beatoven", base_url=base_url or self.BASE_URL, secrets=[api_key],
                         headers={"Authorization": f"Bearer {api_key}"}, timeout=lim.timeout,
                         retries=lim.retries, **http_kw)
        self.format = (getenv("BEATOVEN_FORMAT", "wav") or "wav").lower()

    @classmethod
    def from_env(cls, **kw) -> "Beatoven":
        return cls(require("BEATOVEN_API_KEY", "the beatoven music provider needs its API key "
                                              "(https://www.beatoven.ai/api)"),
                   base_url=getenv("BEATOVEN_BASE_URL"), **kw)

    def submit(self, prompt: str, seconds: float) -> str:
        text = f"{_duration_words(seconds)} {prompt}".strip()
        data = self.http.json("POST", "/api/v1/tracks/compose", what="compose",
                              json={"prompt": {"text": text}, "format": self.format, "looping": False})
        task = (data or {}).get("task_id")
        if not task:
            raise self.http.fail("compose", f"no task_id in the answer: {json.dumps(data)[:200]}")
        return str(task)

    def status(self, task_id: str) -> TrackStatus:
        data = self.http.json("GET", f"/api/v1/tasks/{task_id}", what=f"task {task_id}") or {}
        state = str(data.get("status", "")).lower()
        meta = data.get("meta") or {}
        if state == "composed":
            url = meta.get("track_url")
            if not url:
                raise self.http.fail(f"task {task_id}", "composed but no meta.track_url")
            return TrackStatus(True, url=url, track_id=str(meta.get("track_id") or task_id),
                               license_url=meta.get("license_url") or getenv("BEATOVEN_LICENSE_URL"),
                               format=self.format)
        if state in ("failed", "failure", "error"):
            reason = meta.get("message") or data.get("message") or data.get("error") or state
            raise self.http.fail(f"task {task_id}", str(reason))
        return TrackStatus(False)

    def download(self, url: str, out: Path) -> Path:
        return self.http.download(url, out, what="track download")


# ------------------------------------------------------------------------------------- mubert

class Mubert:
    """Mubert Music API v3 (music-api.mubert.com), customer endpoints.

    Followed: the Mubert AI Music API v3 OpenAPI (``POST /api/v3/public/tracks`` with headers
    ``customer-id`` and ``access-token`` and a body of ``prompt``, ``duration`` (15-1500 s),
    ``bitrate``, ``format``, ``intensity``, ``mode``; the answer ``{"data": {"id", "generations":
    [{"status", "url"}]}}``; ``GET /api/v3/public/tracks/{id}`` until a generation is ``done``
    with its ``url``). Credentials: ``MUBERT_CUSTOMER_ID``, ``MUBERT_ACCESS_TOKEN``;
    ``MUBERT_BASE_URL`` overrides the host (tests).
    """

    name = "mubert"
    BASE_URL = "https://music-api.mubert.com"
    MIN_SECONDS, MAX_SECONDS = 15, 1500

    def __init__(self, customer_id: str, access_token: str, *, base_url: str | None = None,
                 lim: Limits | None = None, **http_kw):
        lim = lim or limits()
        self.lim = lim
        self.http = Http("Mubert", base_url=base_url or self.BASE_URL, secrets=[access_token, customer_id],
                         headers={"customer-id": customer_id, "access-token": access_token},
                         timeout=lim.timeout, retries=lim.retries, **http_kw)
        self.format = (getenv("MUBERT_FORMAT", "mp3") or "mp3").lower()
        self.intensity = getenv("MUBERT_INTENSITY", "medium") or "medium"

    @classmethod
    def from_env(cls, **kw) -> "Mubert":
        why = "the mubert music provider needs a customer id and access token (https://mubert.com/api)"
        return cls(require("MUBERT_CUSTOMER_ID", why), require("MUBERT_ACCESS_TOKEN", why),
                   base_url=getenv("MUBERT_BASE_URL"), **kw)

    def submit(self, prompt: str, seconds: float) -> str:
        duration = min(self.MAX_SECONDS, max(self.MIN_SECONDS, math.ceil(seconds)))
        body = {"prompt": prompt[:1000], "duration": duration, "bitrate": 320, "format": self.format,
                "intensity": self.intensity, "mode": "track"}
        data = (self.http.json("POST", "/api/v3/public/tracks", what="track generation", json=body) or {})
        track = (data.get("data") or {}).get("id")
        if not track:
            raise self.http.fail("track generation", f"no data.id in the answer: {json.dumps(data)[:200]}")
        return str(track)

    def status(self, task_id: str) -> TrackStatus:
        data = (self.http.json("GET", f"/api/v3/public/tracks/{task_id}", what=f"track {task_id}") or {})
        track = data.get("data") or {}
        generations = track.get("generations") or []
        for g in generations:
            if str(g.get("status", "")).lower() == "done" and g.get("url"):
                return TrackStatus(True, url=g["url"], track_id=str(track.get("id") or task_id),
                                   license_url=track.get("license_url") or getenv("MUBERT_LICENSE_URL"),
                                   format=str(g.get("format") or track.get("format") or self.format))
        failed = [g for g in generations if str(g.get("status", "")).lower() in ("failed", "error")]
        if failed and len(failed) == len(generations):
            reason = failed[0].get("error") or failed[0].get("message") or "generation failed"
            raise self.http.fail(f"track {task_id}", str(reason))
        return TrackStatus(False)

    def download(self, url: str, out: Path) -> Path:
        return self.http.download(url, out, what="track download")


def _duration_words(seconds: float) -> str:
    s = max(1, round(seconds))
    m, s = divmod(s, 60)
    parts = ([f"{m} minute{'s' if m != 1 else ''}"] if m else []) + ([f"{s} seconds"] if s else [])
    return " ".join(parts)


def client_for(provider: str, **kw) -> MusicClient:
    if provider == "beatoven":
        return Beatoven.from_env(**kw)
    if provider == "mubert":
        return Mubert.from_env(**kw)
    raise ProviderError(f"{provider!r} is not a paid music provider ({', '.join(PAID_MUSIC)})")


# ------------------------------------------------------------------------------------- the studio's entry

def _state(out: Path, kind: str) -> Path:
    return out.parent / STATE_DIR / f"{out.stem}.{kind}.json"


def _read(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def make_track(client: MusicClient, prompt: str, seconds: float, out: Path, *, lim: Limits | None = None,
               log: Callable[[str], None] = print, sleep=None) -> dict:
    """One track into ``out`` (see the module docstring); returns its record."""
    lim = lim or limits()
    out = Path(out)
    task_file, meta_file = _state(out, "task"), _state(out, "meta")
    task_file.parent.mkdir(parents=True, exist_ok=True)
    task = _read(task_file)
    if not task or task.get("provider") != client.name:
        task_id = client.submit(prompt, seconds)
        task = {"provider": client.name, "task_id": task_id, "prompt": prompt, "seconds": seconds}
        atomic_write_json(task_file, task)
        log(f"{client.name}: {out.stem} submitted (task {task_id})")
    else:
        log(f"{client.name}: {out.stem} resumes task {task['task_id']} (not paid again)")
    raw = [p for p in task_file.parent.glob(f"{out.stem}.raw.*") if p.stat().st_size > 0]
    if raw and task.get("result"):
        result = task["result"]
        source = raw[0]
    else:
        kw = {"sleep": sleep} if sleep else {}
        status = poll(lambda: (lambda st: (st.done, st))(client.status(task["task_id"])),
                      service=client.name, what=f"task {task['task_id']}", timeout=lim.poll_timeout,
                      interval=lim.poll_interval, **kw)
        result = {"track_id": status.track_id, "license_url": status.license_url}
        source = client.download(status.url, task_file.parent / f"{out.stem}.raw.{status.format or 'mp3'}")
        atomic_write_json(task_file, {**task, "result": result})
    fit_audio(source, out, seconds)
    record = {"provider": client.name, "provider_track_id": result.get("track_id") or task["task_id"],
              "license_document_url": result.get("license_url")}
    atomic_write_json(meta_file, record)
    source.unlink(missing_ok=True)
    task_file.unlink(missing_ok=True)
    return record


def fit_audio(src: Path, out: Path, seconds: float, sample_rate: int = 48000) -> Path:
    """``src`` trimmed, or looped, to exactly ``seconds`` with a short fade in and a fade out."""
    from e3.media.ffmpeg import run_ffmpeg

    fade_in = round(min(1.0, seconds / 10), 3)
    fade_out = round(min(3.0, seconds / 4), 3)
    with atomic_path(out) as tmp:
        run_ffmpeg(["-y", "-loglevel", "error", "-stream_loop", "-1", "-i", str(src),
                    "-t", f"{seconds:.3f}", "-af",
                    f"afade=t=in:st=0:d={fade_in},afade=t=out:st={max(0.0, seconds - fade_out):.3f}:d={fade_out}",
                    "-ar", str(sample_rate), "-ac", "2", "-c:a", "flac", "-f", "flac", str(tmp)],
                   what="fit track")
    return out


def generate_tracks(provider: str, specs: list[dict], *, log: Callable[[str], None] = print,
                    client: MusicClient | None = None) -> list[dict]:
    """Make each spec's ``out`` (``{"prompt", "seconds", "out"}``) through a paid provider."""
    if not specs:
        return []
    client = client or client_for(provider)
    records = []
    for n, s in enumerate(specs, 1):
        records.append(make_track(client, s["prompt"], float(s["seconds"]), Path(s["out"]), log=log))
        log(f"{n}/{len(specs)} tracks from {provider}")
    return records


def track_record(provider: str, out: Path) -> dict:
    """The ``audio_tracks`` columns for a finished file: provider ids from its saved record."""
    out = Path(out)
    if provider in PAID_MUSIC:
        meta = _read(_state(out, "meta")) or {}
        return {"provider_track_id": meta.get("provider_track_id"),
                "license_document_url": meta.get("license_document_url")}
    return {"provider_track_id": out.stem, "license_document_url": None}
