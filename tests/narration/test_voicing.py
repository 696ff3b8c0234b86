"""Voicing a chunk plan without Dagster: files named by spoken text and voice, a rerun voices
nothing, an edited chunk re-voices only itself, orphans go, the manifest comes last."""

import json

from e3.narration.voicing import voice_book

SPEC = {"voice_model": "piper"}


def _plan(texts):
    from e3.fsutil import sha256_text

    chunks = [{"index": i, "chapter_index": 0, "paragraph_index": i, "text": t, "sentences": [t],
               "spoken": t, "spoken_sentences": [t], "pause_after": "paragraph", "text_hash": sha256_text(t)}
              for i, t in enumerate(texts)]
    chunks[-1]["pause_after"] = "chapter"
    return {"chapters": [{"index": 0, "title": "One", "kind": "chapter"}], "chunks": chunks}


def test_voice_reuse_edit_and_orphans(tmp_path):
    chunk_dir, manifest_path = tmp_path / "audio_chunks", tmp_path / "audio_manifest.json"
    kw = dict(voice_spec=SPEC, book_id="b", narrator_id="n", sample_rate=22050, workers=1)
    first = voice_book(_plan(["The lamps were lit.", "Rain fell on the quay."]), chunk_dir, manifest_path, **kw)
    assert first.chunks == 2 and first.synthesized == 2 and first.speech_seconds > 1
    manifest = json.loads(manifest_path.read_text())
    assert [e["pause_kind"] for e in manifest["chunks"]] == ["paragraph", "chapter"]
    assert all((chunk_dir / e["file"]).is_file() for e in manifest["chunks"])
    again = voice_book(_plan(["The lamps were lit.", "Rain fell on the quay."]), chunk_dir, manifest_path, **kw)
    assert again.synthesized == 0
    edited = voice_book(_plan(["The lamps were lit.", "Snow fell on the quay."]), chunk_dir, manifest_path, **kw)
    assert edited.synthesized == 1 and edited.removed_orphans == 2  # the old chunk's audio and sidecar
    assert len(list(chunk_dir.glob("*.flac"))) == 2
