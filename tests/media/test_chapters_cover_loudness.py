import io
import subprocess

import pytest
from PIL import Image

from e3.media.chapters import ChapterMark, ffmetadata
from e3.media.cover import CoverError, generate_cover, normalize_cover
from e3.media.ffmpeg import ffmpeg_exe
from e3.media.loudness import LoudnessError, loudnorm_filter, measure, normalize_filter
from tests.media.helpers import speech_like


def test_ffmetadata_escapes_and_blocks():
    text = ffmetadata([ChapterMark("A=b;c#d\\e\nf", 0.0, 1.5), ChapterMark("Two", 1.5, 3.25)],
                      {"title": "X=Y", "artist": "", "comment": "l1\nl2"})
    lines = text.splitlines()
    assert lines[0] == ";FFMETADATA1"
    assert "title=X\\=Y" in lines
    assert not any(l.startswith("artist=") for l in lines)  # empty tags skipped
    assert text.count("[CHAPTER]") == 2
    # a chapter title is one line in every player: the newline becomes a space
    assert "title=A\\=b\\;c\\#d\\\\e f\n" in text and "TIMEBASE=1/1000" in text
    assert "START=1500" in lines and "END=3250" in lines


def test_ffmetadata_is_read_by_ffmpeg(tmp_path):
    meta = tmp_path / "m.txt"
    meta.write_text(ffmetadata([ChapterMark("Ch; 1 = #one", 0, 1), ChapterMark("Two", 1, 2)],
                               {"title": "T;=#"}))
    out = tmp_path / "o.m4a"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "sine=d=2", "-f", "ffmetadata",
                    "-i", str(meta), "-map_metadata", "1", "-map_chapters", "1", "-c:a", "aac", str(out)],
                   check=True)
    from e3.media.chapters import read_chapters

    marks = read_chapters(out)
    assert [m.title for m in marks] == ["Ch; 1 = #one", "Two"]
    assert marks[1].start == pytest.approx(1.0, abs=0.01)


def test_generate_cover_is_readable_png_and_title_dependent():
    a = generate_cover("Moby Dick; or, The Whale", "Herman Melville", size=400)
    b = generate_cover("Another Book", "Someone", size=400)
    img = Image.open(io.BytesIO(a))
    assert img.format == "PNG" and img.size == (400, 400)
    # Background colour derives from the title hash; text is drawn (not a flat image).
    assert Image.open(io.BytesIO(b)).getpixel((5, 5)) != img.getpixel((5, 5))
    assert len(set(img.convert("L").getdata())) > 20


def test_normalize_cover_shrinks_to_jpeg(tmp_path):
    big = Image.new("RGBA", (3000, 2000), (10, 200, 30, 128))
    buf = io.BytesIO()
    big.save(buf, "PNG")
    out = Image.open(io.BytesIO(normalize_cover(buf.getvalue())))
    assert out.format == "JPEG" and out.mode == "RGB"
    assert max(out.size) <= 1400
    with pytest.raises(CoverError):
        normalize_cover(b"not an image")


@pytest.mark.parametrize("target,tp", [(-18.0, -1.5), (-14.0, -1.0)])
def test_normalize_filter_hits_target(tmp_path, target, tp):
    src = speech_like(tmp_path / "s.wav", 6, level=0.05)
    before = measure(src)
    af = normalize_filter(before, target, tp)
    out = tmp_path / "o.m4a"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(src), "-af", af, "-c:a", "aac", "-b:a", "64k",
                    str(out)], check=True)
    after = measure(out)
    assert abs(after.integrated_lufs - target) <= 1.0, (before, after, af)
    assert after.true_peak_dbtp <= tp
    assert "measured_I=" in loudnorm_filter(before) and "linear=true" in loudnorm_filter(before)


def test_measure_missing_file(tmp_path):
    with pytest.raises(LoudnessError):
        measure(tmp_path / "nope.wav")
