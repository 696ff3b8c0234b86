"""Renderer tests on tiny real media: 320x180, 3 slides of ~3 s, generated noise tracks."""

from __future__ import annotations

import re
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from e3.media.ffmpeg import ffmpeg_exe
from e3.video.render import RenderError, Slide, probe_video, render_folder, render_video

W, H, FPS = 320, 180, 24
DURS = [3.0, 2.6, 3.2]


def _ff(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", *args], capture_output=True, check=True)


def _noise(path: Path, dur: float, seed: int, rate: int = 44100, codec: list[str] | None = None) -> Path:
    _ff("-f", "lavfi", "-i", f"anoisesrc=c=pink:a=0.25:d={dur}:r={rate}:seed={seed},lowpass=f=4000",
        "-ac", "2", *(codec or []), str(path))
    return path


def _frame(video: Path, t: float) -> np.ndarray:
    proc = subprocess.run([ffmpeg_exe(), "-v", "error", "-ss", f"{t:.3f}", "-i", str(video), "-frames:v", "1",
                           "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True, check=True)
    return np.frombuffer(proc.stdout, np.uint8).reshape(H, W, 3).astype(float)


def _pcm(path: Path) -> np.ndarray:
    proc = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(path), "-vn", "-ar", "48000", "-ac", "2",
                           "-f", "f32le", "-"], capture_output=True, check=True)
    return np.frombuffer(proc.stdout, np.float32).reshape(-1, 2)[:, 0]


def _top_boxes(path: Path) -> list[str]:
    boxes, pos, size = [], 0, path.stat().st_size
    with open(path, "rb") as fh:
        while pos < size:
            fh.seek(pos)
            n, kind = struct.unpack(">I4s", fh.read(8))
            if n == 1:
                n = struct.unpack(">Q", fh.read(8))[0]
            boxes.append(kind.decode("latin-1"))
            pos += n
    return boxes


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    d = tmp_path_factory.mktemp("media")
    red = Image.new("RGB", (640, 360), (220, 30, 30))
    ImageDraw.Draw(red).rectangle([100, 60, 540, 300], fill=(250, 200, 40))
    red.save(d / "wide.png")
    checker = Image.new("RGB", (400, 300))
    px = checker.load()
    for y in range(300):
        for x in range(400):  # a busy 4:3 picture: its blur is smooth, it is not
            px[x, y] = (20, 200, 40) if ((x // 10) + (y // 10)) % 2 else (30, 60, 230)
    checker.save(d / "four_three.jpg", quality=95)
    tall = Image.new("RGB", (300, 600), (240, 240, 240))
    tall.save(d / "tall.webp")
    tracks = [_noise(d / "t1.flac", DURS[0], 1), _noise(d / "t2.mp3", DURS[1], 2, codec=["-c:a", "libmp3lame"]),
              _noise(d / "t3.wav", DURS[2], 3, rate=48000)]
    srt = d / "subs.srt"
    srt.write_text("1\n00:00:00,500 --> 00:00:02,500\nHELLO WORLD\n\n2\n00:00:03,000 --> 00:00:05,000\nSecond\n")
    return {"dir": d, "images": [d / "wide.png", d / "four_three.jpg", d / "tall.webp"], "tracks": tracks,
            "srt": srt}


@pytest.fixture(scope="module")
def rendered(media, tmp_path_factory):
    out = tmp_path_factory.mktemp("out") / "video.mp4"
    slides = [Slide(i, a, title=t) for i, a, t in zip(media["images"], media["tracks"], ["One", "Two = 2", "Three"])]
    seen = []
    res = render_video(slides, out, width=W, height=H, fps=FPS, crossfade=0.5, subtitles=media["srt"],
                       loudness_target=-14.0, progress=lambda f, m: seen.append(f))
    return res, seen


def test_stream_format(rendered):
    res, _ = rendered
    info = probe_video(res.path)
    assert (info["codec"], info["profile"], info["pix_fmt"]) == ("h264", "High", "yuv420p")
    assert (info["width"], info["height"], info["fps"]) == (W, H, FPS)
    assert (info["color_range"], info["color_space"], info["color_primaries"], info["color_trc"]) == \
        ("tv", "bt709", "bt709", "bt709")
    assert (info["audio_codec"], info["audio_profile"], info["sample_rate"], info["channels"]) == \
        ("aac", "LC", 48000, "stereo")
    assert info["subtitle_codec"] == "mov_text"
    assert res.size_bytes == res.path.stat().st_size > 0
    assert res.ffmpeg_commands and all(c[0] == ffmpeg_exe() for c in res.ffmpeg_commands)


def test_faststart_moov_before_mdat(rendered):
    boxes = _top_boxes(rendered[0].path)
    assert boxes.index("moov") < boxes.index("mdat")


def test_duration_matches_audio_and_frames(rendered):
    res, _ = rendered
    total = sum(DURS)
    assert abs(res.duration - total) < 0.1
    proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(res.path), "-map", "0:v", "-c", "copy",
                           "-f", "null", "-"], capture_output=True)
    frames = int(re.findall(rb"frame=\s*(\d+)", proc.stderr)[-1])
    assert frames == round(total * FPS)
    assert abs(len(_pcm(res.path)) / 48000 - total) < 0.05


def test_chapters(rendered):
    res, seen = rendered
    chaps = probe_video(res.path)["chapters"]
    assert [c["title"] for c in chaps] == ["One", "Two = 2", "Three"]
    assert chaps[1]["start"] == pytest.approx(DURS[0], abs=0.01)
    assert chaps[2]["start"] == pytest.approx(DURS[0] + DURS[1], abs=0.01)
    assert [c["title"] for c in res.chapters] == ["One", "Two = 2", "Three"]
    assert seen and seen[-1] == pytest.approx(1.0)
    # what Apple's players read: the QuickTime chapter track, beside the soft subtitles
    from e3.media.mp4boxes import chapter_problems, quicktime_chapters

    qt = quicktime_chapters(res.path)
    assert [c.title for c in qt] == ["One", "Two = 2", "Three"]
    assert qt[1].start == pytest.approx(DURS[0], abs=0.01)
    assert chapter_problems(res.path) == []


def test_four_three_image_is_padded_not_stretched(rendered):
    frame = _frame(rendered[0].path, DURS[0] + DURS[1] / 2)
    border = frame[:, :30]  # 4:3 fitted into 16:9 leaves 40 px bars left and right
    centre = frame[20:160, 60:260]
    assert border.std(axis=(0, 1)).mean() < 12, "bars must be the smooth blurred background"
    assert centre.std(axis=(0, 1)).mean() > 40, "the checkerboard itself must be visible"
    assert border.mean() < centre.mean(), "background is darkened"


def test_crossfade_frame_is_a_blend(rendered):
    path = rendered[0].path
    a = _frame(path, 1.0).mean(axis=(0, 1))
    b = _frame(path, DURS[0] + 1.3).mean(axis=(0, 1))
    mid = _frame(path, DURS[0]).mean(axis=(0, 1))
    assert np.linalg.norm(a - b) > 60
    assert np.linalg.norm(mid - a) > 15 and np.linalg.norm(mid - b) > 15
    assert np.linalg.norm(mid - (a + b) / 2) < 0.5 * np.linalg.norm(a - b)


def test_loudness_target(rendered):
    proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostats", "-i", str(rendered[0].path), "-vn",
                           "-af", "ebur128", "-f", "null", "-"], capture_output=True)
    lufs = float(re.findall(rb"I:\s*(-?[\d.]+) LUFS", proc.stderr)[-1])
    assert lufs == pytest.approx(-14.0, abs=1.0)


def test_parallel_aac_pieces_join_without_click(media, tmp_path):
    out = tmp_path / "a.mp4"
    slides = [Slide(media["images"][0], t) for t in media["tracks"]]
    render_video(slides, out, width=W, height=H, crossfade=0, workers=2)
    src = np.concatenate([_pcm(t) for t in media["tracks"]])
    got = _pcm(out)
    n = min(len(src), len(got))
    assert abs(len(got) - len(src)) < 2048
    # aligned: the encoder priming is cut by the edit list
    lag = max(range(-600, 601), key=lambda k: float(np.dot(got[48000 + k:52800 + k], src[48000:52800])))
    assert lag == 0
    err = got[:n] - src[:n]
    blocks = np.sqrt(np.mean(err[: n // 256 * 256].reshape(-1, 256) ** 2, axis=1))
    frames = -(-n // 1024)
    join = round(frames / 2) * 1024 // 256  # where the 2 pieces meet
    assert blocks[join - 8: join + 8].max() < 3 * np.median(blocks), "click at the AAC join"


def test_burned_subtitles_change_pixels(media, tmp_path):
    dark = tmp_path / "dark.png"
    Image.new("RGB", (320, 180), (10, 10, 10)).save(dark)
    a = _noise(tmp_path / "a.wav", 2.0, 4)
    out = tmp_path / "burn.mp4"
    res = render_video([Slide(dark, a)], out, width=W, height=H, subtitles=media["srt"], burn_subtitles=True)
    frame = _frame(res.path, 1.5)
    assert frame[100:, :].max() > 200, "white subtitle text in the lower part"
    assert probe_video(out)["subtitle_codec"] is None


def test_render_folder_natural_order(media, tmp_path):
    imgs, auds = tmp_path / "img", tmp_path / "aud"
    imgs.mkdir(), auds.mkdir()
    for i, n in enumerate([2, 10, 1]):
        Image.new("RGB", (64, 36), (n * 20, 0, 0)).save(imgs / f"img{n}.png")
        _noise(auds / f"{n:d}_track{n}.wav", 1.0, n)
    res = render_folder(imgs, auds, tmp_path / "f.mp4", width=W, height=H, crossfade=0)
    assert [c["title"] for c in probe_video(res.path)["chapters"]] == ["track1", "track2", "track10"]


def _no_output(folder: Path, out: Path) -> None:
    assert not out.exists()
    assert not list(folder.glob(".*.part*"))


def test_mismatched_counts(media, tmp_path):
    imgs, auds = tmp_path / "img", tmp_path / "aud"
    imgs.mkdir(), auds.mkdir()
    for n in (1, 2):
        Image.new("RGB", (64, 36)).save(imgs / f"{n}.png")
    for n in (1, 2, 3):
        _noise(auds / f"{n}.wav", 0.5, n)
    out = tmp_path / "x.mp4"
    with pytest.raises(RenderError, match=r"2 images but 3 tracks.*3\.wav"):
        render_folder(imgs, auds, out)
    _no_output(tmp_path, out)


def test_corrupt_track_names_file(media, tmp_path):
    bad = tmp_path / "broken.mp3"
    bad.write_bytes(b"this is not an mp3" * 100)
    out = tmp_path / "x.mp4"
    with pytest.raises(RenderError, match="broken.mp3"):
        render_video([Slide(media["images"][0], media["tracks"][0]), Slide(media["images"][1], bad)],
                     out, width=W, height=H)
    _no_output(tmp_path, out)


def test_unreadable_image_names_file(media, tmp_path):
    bad = tmp_path / "garbage.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"junk" * 50)
    out = tmp_path / "x.mp4"
    with pytest.raises(RenderError, match="garbage.png"):
        render_video([Slide(bad, media["tracks"][0]), Slide(media["images"][1], media["tracks"][1])],
                     out, width=W, height=H)
    _no_output(tmp_path, out)


def test_missing_inputs_and_bad_args(media, tmp_path):
    out = tmp_path / "x.mp4"
    with pytest.raises(RenderError, match="nope.wav"):
        render_video([Slide(media["images"][0], tmp_path / "nope.wav")], out)
    with pytest.raises(RenderError, match="no slides"):
        render_video([], out)
    with pytest.raises(RenderError, match="audio file or a positive duration"):
        render_video([Slide(media["images"][0])], out, width=W, height=H)
    _no_output(tmp_path, out)


def test_silent_slide_with_duration_and_audio_crossfade(media, tmp_path):
    out = tmp_path / "s.mp4"
    res = render_video([Slide(media["images"][0], media["tracks"][0]), Slide(media["images"][1], None, 2.0),
                        Slide(media["images"][2], media["tracks"][2], duration=1.5)],
                       out, width=W, height=H, fps=30, audio_crossfade=0.5)
    expected = DURS[0] + 2.0 + 1.5 - 2 * 0.5
    assert res.duration == pytest.approx(expected, abs=0.1)
    assert probe_video(out)["fps"] == 30
    assert res.chapters[1]["start"] == pytest.approx(DURS[0] - 0.25, abs=0.01)


def _decode_errors(path: Path) -> str:
    proc = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(path), "-f", "null", "-"], capture_output=True)
    # ffmpeg's +faststart rewrite leaves a dangling QT chapter-track reference (the Nero chapters
    # are read fine); that notice is not a decoding error
    lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
    return "\n".join(line for line in lines if "QT chapter track" not in line)


def _all_frames_mean(path: Path) -> np.ndarray:
    proc = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                          capture_output=True, check=True)
    return np.frombuffer(proc.stdout, np.uint8).reshape(-1, H, W, 3).astype(float).mean(axis=(1, 2, 3))


def test_joined_clips_decode_cleanly(rendered):
    assert _decode_errors(rendered[0].path) == ""


def test_gop_repeats_and_cuts_are_exact(media, tmp_path):
    # keyint 1 s: every slide is several repeats of its clip plus a cut one, around the crossfades
    out = tmp_path / "g.mp4"
    slides = [Slide(i, a) for i, a in zip(media["images"], media["tracks"])]
    res = render_video(slides, out, width=W, height=H, fps=FPS, keyint=1)
    means = _all_frames_mean(out)
    assert len(means) == round(sum(DURS) * FPS)
    assert _decode_errors(out) == ""
    assert res.duration == pytest.approx(sum(DURS), abs=0.1)
    # the picture holds still within a slide: no jump where one GOP repeat meets the next
    first = means[: round(DURS[0] * FPS) - 12]
    assert np.ptp(first) < 1.0


def test_default_crossfade_is_half_a_second(tmp_path):
    a_img, b_img = tmp_path / "a.png", tmp_path / "b.png"
    Image.new("RGB", (W, H), (20, 20, 20)).save(a_img)
    Image.new("RGB", (W, H), (230, 230, 230)).save(b_img)
    slides = [Slide(a_img, _noise(tmp_path / "a.wav", 2.0, 5)), Slide(b_img, _noise(tmp_path / "b.wav", 2.0, 6))]
    out = tmp_path / "x.mp4"
    render_video(slides, out, width=W, height=H, fps=FPS)
    means = _all_frames_mean(out)
    lo, hi = means.min(), means.max()
    between = np.flatnonzero((means > lo + 3) & (means < hi - 3))
    # 12 frames of fade starting on a pure frame of A: 11 blends, contiguous, centred on 2.0 s
    assert len(between) == round(0.5 * FPS) - 1
    assert np.all(np.diff(between) == 1) and np.all(np.diff(means[between]) > 0)
    assert abs((between[0] + between[-1]) / 2 - 2.0 * FPS) <= 1


def test_hold_chunks_never_end_on_a_lone_idr():
    from e3.video.render import _hold_chunks

    assert _hold_chunks(96, 96) == [96]
    assert _hold_chunks(200, 96) == [96, 96, 8]
    assert _hold_chunks(97, 96) == [95, 2]
    assert _hold_chunks(5, 96) == [5]
    assert sum(_hold_chunks(1 + 96 * 7, 96)) == 1 + 96 * 7


def test_clips_with_different_sps_pps_are_refused(media, tmp_path, monkeypatch):
    import e3.video.render as render

    orig = render._transition_clip

    def other_settings(a, b, dst, frames, fps, width, height, x264, log):
        x264 = [("ultrafast" if v == "veryfast" else v) for v in x264]  # CAVLC, no 8x8dct: another PPS
        orig(a, b, dst, frames, fps, width, height, x264, log)

    monkeypatch.setattr(render, "_transition_clip", other_settings)
    out = tmp_path / "x.mp4"
    with pytest.raises(RenderError, match="SPS/PPS differ"):
        render_video([Slide(i, a) for i, a in zip(media["images"][:2], media["tracks"][:2])], out,
                     width=W, height=H)
    _no_output(tmp_path, out)


def test_soft_subtitles_keep_chapters_right(media, tmp_path):
    from e3.media.chapters import read_chapters

    slides = [Slide(img, t, title=f"Part {i + 1}") for i, (img, t) in enumerate(zip(media["images"], media["tracks"]))]
    res = render_video(slides, tmp_path / "soft.mp4", width=W, height=H, subtitles=media["srt"])
    info = probe_video(res.path)
    assert info["subtitle_codec"] == "mov_text"
    marks = read_chapters(res.path)
    assert [m.title for m in marks] == [f"Part {i + 1}" for i in range(len(slides))]
    assert [round(m.start, 1) for m in marks] == [round(c["start"], 1) for c in res.chapters]
