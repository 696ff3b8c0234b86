# Measured 2026-11-21 (issue 6 benchmark) on the 2-vCPU dev VM, shared with other engineers' test runs
# (load average 2.5-7 from their work, so wall times wander; CPU seconds are the steadier number).
#
#   before (previous renderer, per-step CPU-s for 60 min, workers=1): AAC twoloop 59, 19 crossfades
#   36 (1.9 each, PNG decode+scale per frame, 24 frames), 20 stills 23 (1.2 each), final mux 21 (the
#   concat demuxer decodes frames of each of its ~900 entries while probing them), decode 7,
#   loudness 5: ~150 CPU-s, ~75 s wall on 2 idle CPUs (48x real time).
#   after: AAC fast 25, stills 9.5 (raw yuv in, no PNG), crossfades 8.7 (0.5 s, raw yuv), decode 7,
#   loudness 4, mux 1.5 (raw Annex B piped in), Python 2: ~58 CPU-s.
#
#   python bench/render.py                      (10 min, 1920x1080 @ 24 fps, 20 stills + 20 tracks)
#   renderer     wall s   x real    CPU s  peak MB   MB out
#   ours           17.2     34.8     28.2      546     69.6   (13.7 s / 24.7 CPU-s / 356 MB when rerun
#   naive         384.0      1.6    566.8     1321     33.3    alone after the loop-filter memory fix)
#   moviepy       326.7      1.8    406.0     1020     25.0
#   speedup vs naive: 22.3x wall, 20.1x CPU; vs moviepy: 19.0x wall, 14.4x CPU
#
#   python bench/render.py --minutes 60 --only ours
#   ours           31.5    114.2     57.8      365    320.7   (load 2.5 from others: 114x real time)
#   ours           36.9     97.6     55.2      359    320.7   (load 3.3 from others)
#   ours           50.0     71.9     56.3      366    320.7   (load 7 from others' tests)
#   CPU stays 55-58 s = ~28 s per core on an idle 2-CPU machine (~125x real time).
# Target: 60 min at >= 100x real time (< 36 s): met when the VM is not shared with other heavy work.

"""Benchmark: E3's still-image renderer vs a naive single ffmpeg pass vs MoviePy.

    python bench/render.py                 # 10 minutes: 20 stills x 20 tracks of 30 s, all three ways
    python bench/render.py --minutes 60 --only ours   # the target (baselines take ~15+ min here)
    python bench/render.py --only ours,naive --size 1280x720

Every renderer runs as a child process of this one (one process tree); peak memory is the largest
sum of RSS over that child and its descendants, sampled with psutil every 50 ms. Ratios are
against baselines measured in the same run. Target: 60 min of 1080p in < 36 s (>= 100x real time).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import os

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from e3.media.ffmpeg import ffmpeg_exe  # noqa: E402

COLOUR = ("scale={w}:{h}:force_original_aspect_ratio=decrease,pad={w}:{h}:(ow-iw)/2:(oh-ih)/2,"
          "scale=out_color_matrix=bt709:out_range=tv,setsar=1,format=yuv420p")


def make_inputs(folder: Path, n: int, seconds: float) -> tuple[list[Path], list[Path]]:
    from PIL import Image, ImageDraw, ImageFilter

    folder.mkdir(parents=True, exist_ok=True)
    images, tracks = [], []
    for i in range(n):
        size = (1440, 1080) if i % 5 == 4 else (1920, 1080)  # some 4:3 stills get letterboxed
        im = Image.effect_noise((size[0] // 8, size[1] // 8), 60 + i).convert("RGB").resize(size)
        d = ImageDraw.Draw(im)
        for k in range(12):
            x, y = (i * 97 + k * 151) % size[0], (i * 53 + k * 89) % size[1]
            d.ellipse([x, y, x + 220, y + 220], fill=((40 * k + i * 13) % 256, (90 + 17 * i) % 256, (200 - 9 * k) % 256))
        im = im.filter(ImageFilter.GaussianBlur(1))
        p = folder / f"still_{i:02d}.png"
        im.save(p)
        images.append(p)
        t = folder / f"track_{i:02d}.flac"
        f = 110 * (1 + i % 7)
        subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i",
                        f"sine=f={f}:r=48000:d={seconds}", "-f", "lavfi", "-i",
                        f"anoisesrc=c=pink:a=0.05:r=48000:d={seconds}:seed={i}", "-filter_complex",
                        "[0][1]amix=inputs=2,aformat=channel_layouts=stereo", "-c:a", "flac", str(t)], check=True)
        tracks.append(t)
    return images, tracks


def _child_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run_tree(cmd: list[str]) -> tuple[float, int, float]:
    """Wall time, peak RSS (sum over the process tree) and CPU seconds of ``cmd``'s whole tree.

    CPU seconds stay meaningful when other work shares the machine; wall time does not.
    """
    c0 = _child_cpu()
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    root = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            procs = [root, *root.children(recursive=True)]
            rss = 0
            for p in procs:
                try:
                    rss += p.memory_info().rss
                except psutil.Error:
                    pass
            peak = max(peak, rss)
        except psutil.Error:
            pass
        time.sleep(0.05)
    wall = time.perf_counter() - t0
    err = proc.stderr.read().decode("utf-8", "replace")
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[:3]} failed:\n{err[-2000:]}")
    return wall, peak, _child_cpu() - c0


def ours_cmd(images, tracks, out: Path, w: int, h: int, fps: int, workdir: Path) -> list[str]:
    code = (
        "import json,sys; from pathlib import Path; from e3.video.render import render_video, Slide;"
        "a=json.loads(sys.argv[1]);"
        "r=render_video([Slide(Path(i),Path(t)) for i,t in zip(a['i'],a['t'])], Path(a['o']),"
        " width=a['w'], height=a['h'], fps=a['f'], loudness_target=-14.0, workdir=Path(a['d']));"
        "print(r.duration, file=sys.stderr)")
    arg = json.dumps({"i": [str(p) for p in images], "t": [str(p) for p in tracks], "o": str(out),
                      "w": w, "h": h, "f": fps, "d": str(workdir)})
    return [sys.executable, "-c", code, arg]


def naive_cmd(images, tracks, out: Path, w: int, h: int, fps: int, seconds: float) -> list[str]:
    args = [ffmpeg_exe(), "-v", "error", "-y"]
    for img in images:  # the common recipe: -loop 1 at the output rate, every frame encoded
        args += ["-loop", "1", "-framerate", str(fps), "-t", str(seconds), "-i", str(img)]
    for t in tracks:
        args += ["-i", str(t)]
    n = len(images)
    graph = ";".join(f"[{i}:v]{COLOUR.format(w=w, h=h)}[v{i}]" for i in range(n))
    graph += ";" + "".join(f"[v{i}][{n + i}:a]" for i in range(n)) + f"concat=n={n}:v=1:a=1[v][a]"
    return args + ["-filter_complex", graph, "-map", "[v]", "-map", "[a]", "-c:v", "libx264", "-preset",
                   "veryfast", "-crf", "20", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "192k",
                   "-movflags", "+faststart", str(out)]


def moviepy_cmd(images, tracks, out: Path, w: int, h: int, fps: int) -> list[str]:
    code = (
        "import json,sys; a=json.loads(sys.argv[1]);"
        "from moviepy import ImageClip, AudioFileClip, concatenate_videoclips;"
        "clips=[];\n"
        "for i,t in zip(a['i'],a['t']):\n"
        "    au=AudioFileClip(t); c=ImageClip(i).with_duration(au.duration).with_audio(au)\n"
        "    clips.append(c.resized(height=a['h']) if c.h!=a['h'] else c)\n"
        "v=concatenate_videoclips(clips, method='compose', bg_color=(0,0,0))\n"
        "v.write_videofile(a['o'], fps=a['f'], codec='libx264', audio_codec='aac', preset='veryfast',"
        " threads=2, logger=None)\n")
    arg = json.dumps({"i": [str(p) for p in images], "t": [str(p) for p in tracks], "o": str(out), "h": h,
                      "f": fps})
    return [sys.executable, "-c", code, arg]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--stills", type=int, default=20)
    ap.add_argument("--size", default="1920x1080")
    ap.add_argument("--fps", type=int, default=24)
    ap.add_argument("--baselines", choices=["all", "none", "naive", "moviepy"], default=None,
                    help="default: all for <= 10 minutes, none above")
    ap.add_argument("--only", default=None, metavar="NAMES",
                    help="comma-separated renderers to run: ours, naive, moviepy (overrides --baselines)")
    ap.add_argument("--workdir", type=Path, default=None)
    a = ap.parse_args()
    w, h = (int(x) for x in a.size.split("x"))
    if a.only:
        run = {x.strip() for x in a.only.split(",") if x.strip()}
        if not run or run - {"ours", "naive", "moviepy"}:
            ap.error(f"--only takes ours, naive, moviepy; got {a.only!r}")
    else:
        base = a.baselines or ("all" if a.minutes <= 10 else "none")
        run = {"ours"} | {"all": {"naive", "moviepy"}, "none": set()}.get(base, {base})
    seconds = a.minutes * 60 / a.stills
    env_cpu = psutil.cpu_count()
    with tempfile.TemporaryDirectory(prefix="e3bench.", dir=a.workdir) as tmp:
        tmp = Path(tmp)
        print(f"generating {a.stills} stills + {a.stills} tracks of {seconds:.0f} s ({a.minutes:g} min) ...",
              flush=True)
        images, tracks = make_inputs(tmp / "in", a.stills, seconds)
        media = a.minutes * 60
        results: dict[str, tuple[float, int, float]] = {}
        print(f"load average before: {os.getloadavg()[0]:.1f} (wall times are only fair on an idle machine)")
        print(f"{a.size} @ {a.fps} fps, {env_cpu} CPUs", flush=True)
        if "ours" in run:
            results["ours"] = run_tree(ours_cmd(images, tracks, tmp / "ours.mp4", w, h, a.fps, tmp))
            print(f"  ours    {results['ours'][0]:7.1f} s wall, {results['ours'][2]:.1f} s CPU", flush=True)
        if "naive" in run:
            results["naive"] = run_tree(naive_cmd(images, tracks, tmp / "naive.mp4", w, h, a.fps, seconds))
            print(f"  naive   {results['naive'][0]:7.1f} s wall, {results['naive'][2]:.1f} s CPU", flush=True)
        if "moviepy" in run:
            try:
                import moviepy  # noqa: F401
                results["moviepy"] = run_tree(moviepy_cmd(images, tracks, tmp / "moviepy.mp4", w, h, a.fps))
                print(f"  moviepy {results['moviepy'][0]:7.1f} s wall, {results['moviepy'][2]:.1f} s CPU",
                      flush=True)
            except ImportError:
                print("  moviepy skipped: not installed (pip install 'e3[bench]' or moviepy)")
        print()
        print(f"{'renderer':10s} {'wall s':>8s} {'x real':>8s} {'CPU s':>8s} {'peak MB':>8s} {'MB out':>8s}")
        for name, (wall, peak, cpu) in results.items():
            size = (tmp / f"{name}.mp4").stat().st_size / 1e6
            print(f"{name:10s} {wall:8.1f} {media / wall:8.1f} {cpu:8.1f} {peak / 1e6:8.0f} {size:8.1f}")
        print(f"load average after: {os.getloadavg()[0]:.1f}")
        if "ours" not in results:
            return
        ours, ours_cpu = results["ours"][0], results["ours"][2]
        for name in ("naive", "moviepy"):
            if name in results:
                print(f"speedup vs {name}: {results[name][0] / ours:.1f}x wall, "
                      f"{results[name][2] / ours_cpu:.1f}x CPU")
        # the video work (20 stills + 19 crossfades) is the same for any length; only the audio
        # (decode, measure, AAC) and the stream copy grow with it, so run --minutes 60 to measure
        print(f"ours: {media / ours:.0f}x real time wall; {ours_cpu / env_cpu:.1f} s if the {env_cpu} CPUs "
              f"were idle ({media * env_cpu / ours_cpu:.0f}x real time). Target: 60 min in < 36 s.")


if __name__ == "__main__":
    main()
