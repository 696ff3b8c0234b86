"""A channel video planned for N minutes lasts at least N minutes after its crossfades."""

from __future__ import annotations

import subprocess

from PIL import Image

from e3.media.ffmpeg import ffmpeg_exe
from e3.media.mp4boxes import tracks
from e3.studio import CROSSFADE_SECONDS, StudioScale, planned_total, track_seconds
from e3.video.render import Slide, render_video

SPM = 1.0  # a 60 "minute" job lasts 60 s, as with E3_VIDEO_SECONDS_PER_MINUTE=1


def _decoded_samples(path) -> int:
    """Samples of the first audio track, decoded by ffmpeg (not the renderer's own arithmetic)."""
    proc = subprocess.run([ffmpeg_exe(), "-v", "error", "-nostdin", "-i", str(path), "-map", "0:a:0", "-ac", "1",
                           "-ar", "48000", "-f", "s16le", "-"], capture_output=True, check=True)
    return len(proc.stdout) // 2


def test_short_channel_video_lasts_at_least_its_target(tmp_path):
    target = 60
    secs = track_seconds(target, StudioScale(seconds_per_minute=SPM), seed=7)
    assert abs(sum(secs) - planned_total(target) * SPM) < 1e-6
    slides = []
    for i, s in enumerate(secs):
        img = tmp_path / f"p{i:02d}.png"
        Image.new("RGB", (32, 18), (12 * i, 200 - 9 * i, 90)).save(img)
        wav = tmp_path / f"t{i:02d}.flac"
        subprocess.run([ffmpeg_exe(), "-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i",
                        f"sine=f={200 + 20 * i}:r=48000:d={s}", "-ac", "2", str(wav)], check=True)
        slides.append(Slide(image=img, audio=wav, title=f"Track {i + 1}"))
    out = tmp_path / "channel.mp4"
    # the crossfades channel_video uses, scaled like E3_VIDEO_SECONDS_PER_MINUTE scales them
    render_video(slides, out, width=32, height=18, fps=24, loudness_target=-14.0,
                 audio_crossfade=round(CROSSFADE_SECONDS * SPM / 60, 3), crossfade=round(SPM / 60, 3),
                 workers=2, workdir=tmp_path)
    want = target * SPM
    decoded = _decoded_samples(out) / 48000
    assert want <= decoded <= want + 0.5, decoded
    by_kind = {t.handler: t for t in tracks(out)}
    for kind in ("soun", "vide"):
        t = by_kind[kind]
        assert want - 1 / 24 <= t.duration / t.timescale <= want + 0.5, (kind, t.duration / t.timescale)
