import os
import random
import subprocess
from pathlib import Path

import numpy as np
import pytest
from mutagen.mp4 import MP4
from PIL import Image

from e3.media.chapters import read_chapters
from e3.media.ffmpeg import ffmpeg_exe
from e3.media.loudness import measure
from e3.media.m4b import count_samples
from e3.merge.plan import InputFile, MergeError, clean_title, collect_inputs, mp3_header_samples, natural_key
from e3.merge.run import auto_piece_seconds, can_copy, run_merge
from tests.media.helpers import decode, framecrc, max_window_error, speech_like

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


MP3_VARIANTS = [  # (rate, channels, encoder args): MPEG-1, MPEG-2 and MPEG-2.5; CBR, VBR, ABR
    (44100, 2, ["-b:a", "128k"]), (48000, 1, ["-q:a", "4"]), (32000, 2, ["-abr", "1", "-b:a", "64k"]),
    (22050, 1, ["-b:a", "48k"]), (24000, 2, ["-q:a", "6"]), (16000, 1, ["-b:a", "24k"]),
    (11025, 1, ["-q:a", "2"]), (8000, 2, ["-b:a", "16k"]),
]


def test_mp3_header_count_equals_a_full_decode(tmp_path):
    """The Xing/LAME header count is what ffmpeg decodes, sample for sample (no decode needed)."""
    from mutagen.id3 import APIC, ID3

    files = []
    for k, (rate, ch, enc) in enumerate(MP3_VARIANTS):
        files.append(speech_like(tmp_path / f"{k}.mp3", 0.7 + 0.37 * k, seed=k + 1, rate=rate, channels=ch,
                                 codec_args=["-c:a", "libmp3lame", *enc], metadata={"title": f"T{k}"}))
    tags = ID3(files[3])  # a big ID3v2 tag (cover art) in front of the first frame
    tags.add(APIC(mime="image/jpeg", type=3, data=b"\xff\xd8" + os.urandom(150_000)))
    tags.save(files[3])
    for f, (rate, ch, _) in zip(files, MP3_VARIANTS):
        head = mp3_header_samples(f)
        assert head is not None, f
        assert head[:3] == (count_samples(f), rate, ch), f
    plan = collect_inputs([tmp_path])
    assert [f.samples for f in plan.files] == [count_samples(f) for f in files]
    assert plan.files[0].bitrate == pytest.approx(128_000, rel=0.05)


def test_ljspeech_mp3_headers_match_decode(corpus):
    folder = corpus / "audio" / "ljspeech_mp3_folder"
    if not folder.is_dir():
        pytest.skip("ljspeech_mp3_folder not in corpus")
    for f in sorted(folder.glob("*.mp3")):
        assert mp3_header_samples(f)[0] == count_samples(f), f.name


def test_mp3_without_usable_header_is_decoded_to_count(tmp_path):
    d = tmp_path / "book"
    d.mkdir()
    plain = speech_like(d / "1 no xing.mp3", 1.3, codec_args=[*MP3, "-write_xing", "0"])
    full = speech_like(tmp_path / "full.mp3", 2.0, seed=2, codec_args=MP3)
    cut = d / "2 truncated.mp3"
    cut.write_bytes(full.read_bytes()[:len(full.read_bytes()) * 2 // 3])
    assert mp3_header_samples(plain) is None  # CBR without Xing: frames x 1152 would not be exact
    assert mp3_header_samples(cut) is None  # shorter than its header says: the header lies
    plan = collect_inputs([d])
    assert [f.samples for f in plan.files] == [count_samples(plain), count_samples(cut)]


def test_mp3_merge_cut_at_file_joins_is_exact_and_clean(tmp_path):
    """Pieces cut just after file starts, default (fast) coder: the timeline is sample-exact and
    no worse against the PCM than one single-pass twoloop encode of the same files."""
    d = tmp_path / "book"
    d.mkdir()
    for i in range(1, 6):
        speech_like(d / f"{i}.mp3", 1.1 + 0.3 * i, seed=i, codec_args=MP3, fade=False)
    plan = collect_inputs([d])
    res = run_merge(plan, tmp_path / "m.m4b", piece_seconds=1.0)
    assert res.reencoded and res.pieces >= 5
    lst = tmp_path / "list.txt"
    lst.write_text("".join(f"file '{f.path}'\n" for f in plan.files))
    ref = np.concatenate([decode(f.path) for f in plan.files])
    single = tmp_path / "single.m4a"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-f", "concat", "-safe", "0", "-i", str(lst),
                    "-c:a", "aac", "-b:a", "64k", str(single)], check=True)
    merged = decode(res.path)
    assert len(merged) == len(ref) == sum(f.samples for f in plan.files)
    e_merged, e_single = max_window_error(merged, ref), max_window_error(decode(single), ref)
    assert e_merged <= 1.5 * e_single + 1e-3, (e_merged, e_single)
    snr = 10 * np.log10(np.sum(ref ** 2) / np.sum((merged - ref) ** 2))
    assert snr > 15, snr


def test_auto_piece_seconds_cuts_a_long_file_at_most_once_per_worker():
    def f(seconds):
        return InputFile(Path("x.mp3"), seconds, "mp3", 22050, 1, None, {}, int(seconds * 22050))

    assert auto_piece_seconds([f(360)] * 200, 2) == 600  # many short files: 10-minute pieces
    assert auto_piece_seconds([f(72000)], 2) == 36000  # one 20-hour file: two halves, not 120 pieces
    assert auto_piece_seconds([f(7200)] * 10, 2) == 7200  # 2-hour files are not split at all
