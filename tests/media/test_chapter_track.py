"""Chapters as Apple's players read them: the QuickTime chapter track (``tref/chap`` from the
sound track to a ``text`` track, timed by its ``stts``) and the Nero ``chpl`` box, read from the
file's boxes by :mod:`e3.media.mp4boxes`, not from what ffmpeg prints."""

import subprocess

import pytest
from mutagen.mp4 import MP4

from e3.media.chapters import ChapterMark, ffmetadata, read_chapters
from e3.media.ffmpeg import ffmpeg_exe
from e3.media.m4b import FRAME, M4BError, Segment, _mux, assemble_m4b, require_chapters
from e3.media.mp4boxes import chapter_problems, nero_chapters, quicktime_chapters, tracks
from tests.media.helpers import speech_like


def _tone(path, seconds, rate=22050, freq=220):
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i",
                    f"sine=f={freq}:r={rate}:d={seconds}", "-af", "volume=0.2", "-c:a", "flac",
                    str(path)], check=True)
    return path


def _assert_both_lists(path, titles, starts):
    qt, nero = quicktime_chapters(path), nero_chapters(path)
    assert [c.title for c in qt] == titles
    assert [c.title for c in nero] == titles
    assert [c.start for c in qt] == pytest.approx(starts, abs=0.01)
    assert [c.start for c in nero] == pytest.approx(starts, abs=0.01)
    snd = [t for t in tracks(path) if t.handler == "soun"]
    text = [t for t in tracks(path) if t.handler == "text"]
    assert len(snd) == 1 and len(text) == 1 and snd[0].chap_refs == [text[0].track_id]
    assert len(text[0].sample_durations) == len(titles)
    assert chapter_problems(path, list(zip(titles, starts))) == []


def test_two_minute_chapters_are_in_the_quicktime_track(tmp_path):
    files = [_tone(tmp_path / f"c{i}.flac", 125 + 7 * i, freq=200 + 40 * i) for i in range(3)]
    segs = [Segment(p, pause_after=2.0, chapter_index=i) for i, p in enumerate(files)]
    titles = ["Loomings", "The Carpet-Bag", "The Spouter-Inn"]
    res = assemble_m4b(segs, titles, {"title": "Moby Dick"}, None, tmp_path / "b.m4b",
                       loudness_target=None, measure_output=False)
    _assert_both_lists(res.path, titles, [m.start for m in res.chapters])
    assert res.chapters[1].start == pytest.approx(127.0, abs=0.01)
    # ffmpeg and mutagen read the same list
    assert [m.title for m in read_chapters(res.path)] == titles
    assert len(MP4(str(res.path)).chapters) == 3


@pytest.mark.parametrize("rate,hours", [(22050, 10), pytest.param(44100, 30, marks=pytest.mark.slow),
                                        pytest.param(48000, 30, marks=pytest.mark.slow)])
def test_chapter_track_survives_long_books(tmp_path, rate, hours):
    """10- and 30-hour files: the mux alone (one silent AAC frame repeated), so the test is fast
    while every box is as large as in a real book of that length."""
    one = tmp_path / "one.aac"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i",
                    f"anullsrc=r={rate}:cl=mono", "-t", "1", "-c:a", "aac", "-b:a", "32k", "-f",
                    "adts", str(one)], check=True)
    from e3.media.adts import adts_frames

    frame = list(adts_frames(one))[5]
    total = hours * 3600 * rate
    packets = -(-total // FRAME) + 1
    joined = tmp_path / "joined.aac"
    with open(joined, "wb") as fh:
        block = frame * 4096
        for _ in range(packets // 4096):
            fh.write(block)
        fh.write(frame * (packets % 4096))
    # chapters of every length: a 5-minute one, hour-long ones and one of 7 hours
    starts = [0.0, 300.0] + [3600.0 * h for h in range(1, hours - 7)] + [3600.0 * (hours - 7)]
    titles = [f"Chapter {i + 1}" for i in range(len(starts))]
    ends = starts[1:] + [total / rate]
    marks = [ChapterMark(t, s, e) for t, s, e in zip(titles, starts, ends)]
    meta = tmp_path / "meta.txt"
    meta.write_text(ffmetadata(marks, {"title": "Long"}), encoding="utf-8")
    out = tmp_path / "long.m4b"
    _mux(joined, packets, total, rate, meta, None, out)
    _assert_both_lists(out, titles, starts)
    qt = quicktime_chapters(out)
    assert qt[-1].end == pytest.approx(total / rate, abs=0.05)


def test_a_file_without_a_chapter_track_is_refused(tmp_path):
    """The check behind every m4b E3 writes fails on a file that only has chpl (what the ipod
    muxer wrote from ADTS before the fix)."""
    src = _tone(tmp_path / "a.flac", 100)
    adts = tmp_path / "a.aac"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-i", str(src), "-c:a", "aac", "-f", "adts",
                    str(adts)], check=True)
    marks = [ChapterMark("One", 0, 80), ChapterMark("Two", 80, 100)]
    meta = tmp_path / "meta.txt"
    meta.write_text(ffmetadata(marks), encoding="utf-8")
    broken = tmp_path / "broken.m4b"
    subprocess.run([ffmpeg_exe(), "-v", "quiet", "-y", "-i", str(adts), "-f", "ffmetadata", "-i",
                    str(meta), "-map", "0:a", "-map_chapters", "1", "-c", "copy", "-f", "ipod",
                    str(broken)], check=True)
    # the 80-second chapter is dropped from the track; chpl still lists both
    assert [c.title for c in quicktime_chapters(broken)] == ["Two"]
    assert [c.title for c in nero_chapters(broken)] == ["One", "Two"]
    problems = chapter_problems(broken, [("One", 0.0), ("Two", 80.0)])
    assert problems and "1 chapters but chpl has 2" in problems[0]
    with pytest.raises(M4BError, match="chapters were not written as planned"):
        require_chapters(broken, marks)


def test_mixed_flac_block_sizes_assemble_whole(tmp_path):
    """Chunks with 4608-sample FLAC blocks after pauses (1024) and 2048-block chunks: the concat
    demuxer decodes with the first file's block size, so these must not share one concat list."""
    a = speech_like(tmp_path / "a.flac", 3.0, seed=1, codec_args=["-c:a", "flac", "-frame_size", "1152"])
    b = speech_like(tmp_path / "b.flac", 4.0, seed=2, codec_args=["-c:a", "flac", "-frame_size", "4608"])
    c = speech_like(tmp_path / "c.flac", 2.0, seed=3)
    segs = [Segment(a, 0.75, 0), Segment(b, 2.0, 0), Segment(c, 0.3, 1)]
    res = assemble_m4b(segs, ["One", "Two"], None, None, tmp_path / "m.m4b", loudness_target=None,
                       measure_output=False, piece_seconds=2.0)
    from e3.media.m4b import count_samples

    assert count_samples(res.path) == sum(round(x * 22050) for x in (3.0, 0.75, 4.0, 2.0, 2.0, 0.3))
