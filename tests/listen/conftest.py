"""Shared speech recognizer for the listen-back tests: the PyPI model, assembled once per session."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def asr_model_dir(tmp_path_factory):
    from e3.narration.listen import assemble_model

    return assemble_model(tmp_path_factory.mktemp("asr"))


@pytest.fixture(scope="session")
def recognizer(asr_model_dir):
    from e3.narration.listen import Recognizer

    rec = Recognizer(asr_model_dir, threads=2)
    rec.model  # noqa: B018 - load once for every test
    return rec


def lj_transcripts(folder) -> dict[str, str]:
    """File name -> transcript, from the LJ Speech folder's metadata_mp3.csv."""
    out = {}
    for line in (folder / "metadata_mp3.csv").read_text(encoding="utf-8").splitlines()[1:]:
        name, text, *_ = line.split("|")
        out[name.rsplit("/", 1)[-1]] = text
    return out
