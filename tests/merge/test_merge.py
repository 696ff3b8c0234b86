import os
import random

import numpy as np
import pytest
from mutagen.mp4 import MP4
from PIL import Image

from e3.media.chapters import read_chapters
from e3.media.loudness import measure
from e3.media.m4b import count_samples
from e3.merge.plan import MergeError, clean_title, collect_inputs, natural_key
from e3.merge.run import can_copy, run_merge
from tests.media.helpers import decode, framecrc, speech_like

MP3 = ["-c:a", "libmp3lame", "-b:a", "48k"]
AAC = ["-c:a", "aac", "-b:a", "64k"]


def test_natural_key_and_clean_title():
    names = [f"{i}.mp3" for i in range(1, 13)]
    shuffled = names[:]
    random.Random(4).shuffle(shuffled)
    assert sorted(shuffled, key=natural_key) == names
    assert sorted(["Part 10", "part 2", "Part 1"], key=natural_key) == ["Part 1", "part 2", "Part 10"]
    assert clean_title("01 - Intro.mp3") == "Intro"
    assert clean_title("Track 03_The Storm.flac") == "The Storm"
    assert clean_title("1.2 Chapter Two.mp3") == "Chapter Two"
    assert clean_title("07.mp3") == "07"


def test_folder_1_to_12_sorts_naturally(tmp_path):
    d = tmp_path / "book"
    d.mkdir()
    for i in random.Random(1).sample(range(1, 13), 12):
        speech_like(d / f"{i}.mp3", 0.4, seed=i, codec_args=MP3)
    plan = collect_inputs([d], allowed_roots=[tmp_path])
    assert [f.path.name for f in plan.files] == [f"{i}.mp3" for i in range(1, 13)]
    assert [t for t, _ in plan.chapters] == [str(i) for i in range(1, 13)]


def test_ljspeech_folder_becomes_32_chapters(corpus, tmp_path):
    folder = corpus / "audio" / "ljspeech_mp3_folder"
    if not folder.is_dir():
        pytest.skip("ljspeech_mp3_folder not in corpus")
    plan = collect_inputs([folder], allowed_roots=[corpus])
    assert len(plan.files) == 32
    res = run_merge(plan, tmp_path / "lj.m4b", piece_seconds=60)
    assert res.reencoded
    marks = read_chapters(res.path)
    assert [m.title for m in marks] == [f"LJ001-{i:04d}" for i in range(1, 33)]
    total = sum(f.duration for f in plan.files)
    assert abs(count_samples(res.path) / res.sample_rate - total) < 0.2
    starts = np.cumsum([0] + [f.duration for f in plan.files[:-1]])
    assert [m.start for m in marks] == pytest.approx(list(starts), abs=0.002)


def test_aac_inputs_are_stream_copied(tmp_path):
    d = tmp_path / "aac"
    d.mkdir()
    for i, sec in enumerate([2.2, 1.7, 2.9], start=1):
        speech_like(d / f"{i:02d} - Part {i}.m4a", sec, seed=i, rate=44100, codec_args=AAC,
                    metadata={"album": "The Book", "artist": "An Author", "date": "1902"})
    plan = collect_inputs([d])
    assert can_copy(plan.files)
    res = run_merge(plan, tmp_path / "out.m4b")
    assert res.reencoded is False
    # The very same packets, in order: nothing was decoded or encoded.
    expected = [row for f in plan.files for row in framecrc(f.path)]
    assert framecrc(res.path) == expected
    assert [m.title for m in read_chapters(res.path)] == ["Part 1", "Part 2", "Part 3"]
    mp4 = MP4(str(res.path))
    assert mp4["\xa9nam"] == ["The Book"] and mp4["\xa9ART"] == ["An Author"] and mp4["\xa9day"] == ["1902"]
    total = sum(f.duration for f in plan.files)
    audio = decode(res.path)
    assert abs(len(audio) / 44100 - total) < 0.2
    # Clean joins: the tracks fade at their edges; a click would show as a spike there.
    for m in read_chapters(res.path)[1:]:
        at = int(m.start * 44100)
        assert np.abs(audio[at - 1500:at + 1500]).max() < 0.05, m


def test_mixed_inputs_encode_with_clean_exact_timeline(tmp_path):
    d = tmp_path / "mixed"
    d.mkdir()
    speech_like(d / "1.mp3", 1.3, seed=1, codec_args=MP3, fade=False)
    speech_like(d / "2.flac", 1.1, seed=2, rate=44100, fade=False)
    speech_like(d / "3.wav", 1.2, seed=3, fade=False)
    speech_like(d / "4.opus", 1.0, seed=4, rate=48000, codec_args=["-c:a", "libopus"], fade=False)
    plan = collect_inputs([d])
    assert not can_copy(plan.files)
    res = run_merge(plan, tmp_path / "m.m4b", piece_seconds=0.5)
    assert res.reencoded and res.sample_rate == 48000 and res.pieces >= 4
    total = sum(f.duration for f in plan.files)
    assert count_samples(res.path) / 48000 == pytest.approx(total, abs=0.01)
    assert len(read_chapters(res.path)) == 4


def test_per_folder_chapters_tags_and_folder_cover(tmp_path):
    a, b = tmp_path / "Disc One", tmp_path / "Disc Two"
    for folder in (a, b):
        folder.mkdir()
        for i in (1, 2):
            speech_like(folder / f"{i}.mp3", 0.6, seed=i, codec_args=MP3,
                        metadata={"album": "Tagged Album", "artist": "Tagged Artist", "date": "1923"})
    Image.new("RGB", (800, 800), (200, 30, 30)).save(a / "cover.png")
    plan = collect_inputs([b, a], chapters="per-folder", allowed_roots=[tmp_path])
    assert [t for t, _ in plan.chapters] == ["Disc Two", "Disc One"]  # given order kept
    assert (plan.title, plan.author, plan.year) == ("Tagged Album", "Tagged Artist", "1923")
    assert plan.cover and plan.cover[:4] == b"\x89PNG"
    res = run_merge(plan, tmp_path / "out" / "b.m4b", loudness_target=-18.0)
    marks = read_chapters(res.path)
    assert [m.title for m in marks] == ["Disc Two", "Disc One"]
    assert marks[1].start == pytest.approx(plan.files[0].duration + plan.files[1].duration, abs=0.002)
    assert "covr" in MP4(str(res.path)).tags
    assert abs(measure(res.path).integrated_lufs + 18) <= 1.0


def test_refusals(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    (root / "empty").mkdir()
    with pytest.raises(MergeError, match="no audio files"):
        collect_inputs([root / "empty"], allowed_roots=[root])
    with pytest.raises(MergeError, match="not found"):
        collect_inputs([root / "missing"], allowed_roots=[root])
    outside = tmp_path / "outside"
    outside.mkdir()
    speech_like(outside / "1.mp3", 0.3, codec_args=MP3)
    with pytest.raises(MergeError, match="'..'"):
        collect_inputs([root / ".." / "outside"], allowed_roots=[root])
    os.symlink(outside, root / "link")
    with pytest.raises(MergeError, match="outside the allowed"):
        collect_inputs([root / "link"], allowed_roots=[root])
    inner = root / "inner"
    inner.mkdir()
    os.symlink(outside / "1.mp3", inner / "1.mp3")
    with pytest.raises(MergeError, match="outside the allowed"):
        collect_inputs([inner], allowed_roots=[root])
    with pytest.raises(MergeError):
        collect_inputs([root / "empty"], chapters="per-chapter")  # type: ignore[arg-type]


def test_corrupt_file_is_named(tmp_path):
    d = tmp_path / "book"
    d.mkdir()
    speech_like(d / "01.mp3", 0.5, codec_args=MP3)
    (d / "02 broken.mp3").write_bytes(b"ID3\x03\x00\x00\x00\x00\x00\x00" + os.urandom(3000))
    with pytest.raises(MergeError, match="02 broken.mp3"):
        collect_inputs([d])
