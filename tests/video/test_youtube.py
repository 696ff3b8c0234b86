"""YouTube export helpers: tracklist rules, thumbnail limits, package files."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

from e3.video.youtube import YouTubeExportError, description, export_package, make_thumbnail, tracklist


def test_tracklist_minutes():
    text = tracklist(["Dawn", "Noon", "Dusk"], [185.0, 200.4, 30.0])
    assert text.splitlines() == ["00:00 Dawn", "03:05 Noon", "06:25 Dusk"]


def test_tracklist_hours_format():
    lines = tracklist([f"T{i}" for i in range(20)], [200.0] * 20).splitlines()
    assert lines[0] == "0:00:00 T0"
    assert lines[18] == "1:00:00 T18"
    assert len(lines) == 20


def test_tracklist_merges_short_and_counts_intro():
    lines = tracklist(["A", "tiny", "B", "C"], [60, 4, 60, 60], start=5).splitlines()
    assert lines == ["00:00 A / tiny", "01:09 B", "02:09 C"]


def test_tracklist_needs_three_chapters():
    with pytest.raises(YouTubeExportError, match="at least 3"):
        tracklist(["A", "B"], [100, 100])
    with pytest.raises(YouTubeExportError, match="at least 3"):
        tracklist(["A", "B", "C"], [100, 5, 100])
    with pytest.raises(YouTubeExportError):
        tracklist(["A"], [1, 2])


def _noisy(w=3000, h=2000) -> bytes:
    im = Image.effect_noise((w, h), 120).convert("RGB")
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def test_thumbnail_size_limit_and_title(tmp_path):
    out = make_thumbnail(_noisy(), "A Very Long Title For An Elegant Classical Evening Of Music", tmp_path / "t.jpg")
    data = out.read_bytes()
    assert len(data) < 2 * 1024 * 1024
    with Image.open(out) as im:
        assert im.format == "JPEG" and im.size == (1280, 720)
        band = im.convert("L").crop((0, 560, 1280, 720))
        hist = band.histogram()
        assert sum(hist[230:]) > 2000, "white title text drawn"


def test_thumbnail_bad_source(tmp_path):
    with pytest.raises(YouTubeExportError):
        make_thumbnail(b"not an image", "x", tmp_path / "t.jpg")


def test_export_package(tmp_path):
    video = tmp_path / "v.mp4"
    video.write_bytes(b"\x00" * 1000)
    srt = tmp_path / "c.srt"
    srt.write_text("1\n00:00:00,000 --> 00:00:01,000\nHi\n")
    img = tmp_path / "bg.png"
    Image.new("RGB", (1920, 1080), (40, 60, 90)).save(img)
    tl = tracklist(["A", "B", "C"], [100, 100, 100])
    desc = description("Evening", tl, credits="Music: E3", tags=["classical music", "relax"])
    assert "00:00 A" in desc and "#ClassicalMusic" in desc
    meta = export_package(tmp_path / "pkg", title="Evening", description=desc, tags=["classical", " ", "relax"],
                          tracklist=tl, thumbnail_src=img, video_path=video, captions_srt=srt)
    pkg = tmp_path / "pkg"
    names = {p.name for p in pkg.iterdir()}
    assert names == {"title.txt", "description.txt", "tags.txt", "thumbnail.jpg", "video.mp4", "captions.srt",
                     "metadata.json"}
    assert (pkg / "title.txt").read_text() == "Evening\n"
    assert (pkg / "tags.txt").read_text().splitlines() == ["classical", "relax"]
    assert "01:40 B" in (pkg / "description.txt").read_text()
    assert (pkg / "video.mp4").read_bytes() == video.read_bytes()
    assert json.loads((pkg / "metadata.json").read_text()) == meta
    with pytest.raises(YouTubeExportError, match="missing.mp4"):
        export_package(tmp_path / "pkg2", title="x", description="", tags=[], tracklist=tl,
                       thumbnail_src=img, video_path=tmp_path / "missing.mp4")
