import subprocess

import numpy as np
import pytest
from mutagen.mp4 import MP4

from e3.media.chapters import read_chapters
from e3.media.cover import generate_cover
from e3.media.ffmpeg import ffmpeg_exe, probe_duration
from e3.media.loudness import measure
from e3.media.m4b import M4BError, Segment, assemble_m4b, count_samples, probe_audio
from tests.media.helpers import decode, max_window_error, speech_like

RATE = 22050


@pytest.fixture
def chunks(tmp_path):
    d = tmp_path / "chunks"
    d.mkdir()
    lengths = [2.3, 1.7, 3.1, 2.05, 1.5]
    paths = []
    for i, sec in enumerate(lengths):
        ext = "flac" if i % 2 == 0 else "flac"
        paths.append(speech_like(d / f"c{i}.{ext}", sec, seed=i + 1, level=0.04))  # quiet: needs gain
    return paths


def test_assemble_chapters_tags_cover_loudness(tmp_path, chunks):
    pauses = [0.35, 1.2, 0.35, 0.7, 0.5]
    chap = [0, 0, 1, 1, 2]
    segs = [Segment(p, pa, c) for p, pa, c in zip(chunks, pauses, chap)]
    titles = ["Chapter 1: Loomings", "Chapter 2 = The Carpet-Bag; #2", "Epilogue"]
    tags = {"title": "Moby Dick", "author": "Herman Melville", "narrator": "Joe", "year": "1851",
            "genre": "Fiction", "description": "Call me Ishmael."}
    seen = []
    out = tmp_path / "combined" / "pg2701.m4b"
    res = assemble_m4b(segs, titles, tags, generate_cover("Moby Dick", "Herman Melville", 300), out,
                       progress=lambda d, t: seen.append((d, t)), piece_seconds=2.0)

    # Durations come from the real sample counts of the files plus the pauses.
    real = [probe_audio(p).samples / RATE for p in chunks]
    expected = sum(real) + sum(round(p * RATE) / RATE for p in pauses)
    assert res.duration == pytest.approx(expected, abs=1e-3)
    assert abs(probe_duration(out) - expected) < 0.5
    assert count_samples(out) / RATE == pytest.approx(expected, abs=1e-3)  # sample-exact

    marks = read_chapters(out)
    assert [m.title for m in marks] == titles
    ch2_start = real[0] + pauses[0] + real[1] + pauses[1]
    assert marks[1].start == pytest.approx(ch2_start, abs=0.002)
    assert marks[2].start == pytest.approx(ch2_start + real[2] + pauses[2] + real[3] + pauses[3], abs=0.002)
    assert [m.start for m in res.chapters] == pytest.approx([m.start for m in marks], abs=0.002)

    mp4 = MP4(str(out))
    assert mp4["\xa9nam"] == ["Moby Dick"] and mp4["\xa9ART"] == ["Herman Melville"]
    assert mp4["\xa9alb"] == ["Moby Dick"] and mp4["\xa9day"] == ["1851"]
    assert mp4["\xa9gen"] == ["Fiction"] and mp4["desc"] == ["Call me Ishmael."]
    assert mp4["\xa9nrt"] == ["Joe"] and mp4["\xa9wrt"] == ["Joe"]
    assert mp4["covr"] and bytes(mp4["covr"][0])[:2] == b"\xff\xd8"
    assert mp4.info.codec.startswith("mp4a")

    loud = measure(out)
    assert abs(loud.integrated_lufs + 18.0) <= 1.0
    assert loud.true_peak_dbtp <= -1.5
    assert res.loudness and abs(res.loudness.integrated_lufs - loud.integrated_lufs) < 0.2
    assert res.input_loudness.integrated_lufs < -25  # it really was quiet before
    assert res.pieces > 2 and seen and seen[-1][0] == pytest.approx(seen[-1][1])
    assert not list(out.parent.glob(".*"))  # no temp leftovers


def test_piece_joins_are_as_clean_as_one_encode(tmp_path):
    """Many small pieces joined by copy vs one single-pass encode, both against the PCM: the
    worst 256-sample window error must not be worse (a click or gap would be)."""
    src = speech_like(tmp_path / "long.wav", 8.0, seed=3, fade=False, level=0.3)
    res = assemble_m4b([Segment(src, 0.0, 0)], ["All"], {"title": "t"}, None, tmp_path / "p.m4b",
                       loudness_target=None, measure_output=False, piece_seconds=0.5)
    assert res.pieces >= 10
    whole = tmp_path / "whole.m4a"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(src), "-c:a", "aac", "-b:a", "64k", str(whole)],
                   check=True)
    ref, pieces, single = decode(src), decode(res.path), decode(whole)
    assert len(pieces) == len(ref)
    e_pieces, e_single = max_window_error(pieces, ref), max_window_error(single, ref)
    assert e_pieces <= 1.5 * e_single + 1e-3, (e_pieces, e_single)
    # Sanity check that the metric sees a join defect: a 48-sample dropout at one point.
    broken = pieces.copy()
    loudest = int(np.argmax(np.abs(ref[RATE:-RATE]))) + RATE
    broken[loudest:loudest + 48] = 0
    assert max_window_error(broken, ref) > 2 * e_single


def test_no_cover_and_no_loudness(tmp_path, chunks):
    out = tmp_path / "b.m4b"
    res = assemble_m4b([Segment(chunks[0], 0.2, 0)], ["Only"], {}, None, out, loudness_target=None,
                       measure_output=False)
    assert "covr" not in MP4(str(out)).tags
    assert res.loudness is None and len(read_chapters(out)) == 1


def test_wav_and_flac_chunks_mix(tmp_path):
    a = speech_like(tmp_path / "a.wav", 1.0, seed=1)
    b = speech_like(tmp_path / "b.flac", 1.2, seed=2)
    res = assemble_m4b([Segment(a, 0.3, 0), Segment(b, 0.0, 1)], ["A", "B"], {}, None, tmp_path / "m.m4b",
                       loudness_target=None, measure_output=False)
    assert count_samples(res.path) == round((1.0 + 0.3 + 1.2) * RATE)


def test_bad_inputs_are_refused_and_leave_nothing(tmp_path, chunks):
    out = tmp_path / "x.m4b"
    with pytest.raises(M4BError, match="missing"):
        assemble_m4b([Segment(tmp_path / "nope.flac", 0, 0)], ["A"], {}, None, out)
    with pytest.raises(M4BError, match="outside"):
        assemble_m4b([Segment(chunks[0], 0, 3)], ["A"], {}, None, out)
    with pytest.raises(M4BError, match="without audio"):
        assemble_m4b([Segment(chunks[0], 0, 0)], ["A", "B"], {}, None, out)
    with pytest.raises(M4BError, match="backwards"):
        assemble_m4b([Segment(chunks[0], 0, 1), Segment(chunks[1], 0, 0)], ["A", "B"], {}, None, out)
    bad = tmp_path / "bad.flac"
    bad.write_bytes(b"fLaC" + b"\x00" * 100)
    with pytest.raises(M4BError, match="bad.flac"):
        assemble_m4b([Segment(chunks[0], 0, 0), Segment(bad, 0, 0)], ["A"], {}, None, out)
    assert not out.exists() and not list(tmp_path.glob(".x.*"))
