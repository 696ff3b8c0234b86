"""The speech recognizer resource (listen back): faster-whisper from the optional ``asr`` extra.

Fields default to E3's settings when the run starts: ``E3_ASR_MODEL`` (a faster-whisper model
folder or name; default the PyPI model, assembled into ``<foundry>/_cache/asr``),
``E3_ASR_THREADS``, ``E3_ASR_SAMPLE`` (fraction of chunks ``narration_check`` listens to) and
``E3_ASR_MAX_WER`` (a chunk above it is flagged).
"""

from __future__ import annotations

import dagster as dg
from pydantic import Field, PrivateAttr

from e3.config import settings


class ASRResource(dg.ConfigurableResource):
    """The recognizer that checks narration and times subtitles; loaded on first use."""

    model: str | None = Field(default=None, description="Default E3_ASR_MODEL, else the PyPI whisper base")
    threads: int | None = Field(default=None, description="CPU threads; default E3_ASR_THREADS or up to 4")
    sample: float | None = Field(default=None, description="Fraction of chunks to check; default E3_ASR_SAMPLE or 0.1")
    max_wer: float | None = Field(default=None, description="Flag chunks above this WER; default E3_ASR_MAX_WER or 0.25")

    _recognizer = PrivateAttr(default=None)

    def recognizer(self):
        """The shared ``e3.narration.listen.Recognizer`` (raises ASRNotInstalled without the extra)."""
        from e3.narration.listen import Recognizer

        if self._recognizer is None:
            chosen = settings(asr_threads=self.threads, asr_model=self.model)
            self._recognizer = Recognizer(chosen.asr_model, cache_dir=chosen.foundry / "_cache" / "asr",
                                          threads=chosen.asr_threads or None)
        return self._recognizer

    def sample_fraction(self) -> float:
        return settings(asr_sample=self.sample).asr_sample

    def wer_threshold(self) -> float:
        return settings(asr_max_wer=self.max_wer).asr_max_wer
