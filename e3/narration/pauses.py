"""Pauses between narration chunks: short between sentences, longer between paragraphs and
chapters. The m4b assembler inserts them as silence and the subtitle timeline adds the same
amounts, so both agree to the sample."""

from __future__ import annotations

PAUSE_SECONDS = {
    "sentence": 0.30,  # same as the gap Piper's backend puts between sentences inside a chunk
    "paragraph": 0.75,
    "chapter": 2.00,
}


def pause_after(kind: str) -> float:
    return PAUSE_SECONDS.get(kind, PAUSE_SECONDS["sentence"])
