"""The built-in ambient music synthesizer: the ``dummy`` music provider (no model, pure numpy).

``synthesize_track(prompt, duration_s, out)`` composes and renders a listenable ambient track whose
key, mode, tempo, meter and timbre follow the prompt's words:

- mood words pick a profile: melancholic/sad/rain/night -> minor and slow; elegant/classical/royal
  -> major, strings and harpsichord-like arpeggios (waltz -> 3/4); dark/mysterious -> low register,
  phrygian/aeolian, a drone; upbeat/bright/summer -> faster, brighter, a soft beat; lo-fi/study ->
  electric-piano seventh chords, a lazy beat and vinyl crackle; celtic/medieval -> dorian/mixolydian,
  harp and flute over a drone; ethereal/space -> lydian bells; zen -> pentatonic plucks;
- explicit facts win: "72 BPM", "in D minor", "F# dorian", instrument names (piano, harp, strings,
  flute, bells, choir, organ...), "waltz";
- everything else (root, progressions, voicings, melody, patterns) comes from a seeded generator on
  a hash of the prompt and ``seed``, so 20 prompts give 20 different tracks and the same prompt and
  seed give the same samples.

The music: a diatonic chord progression in an A A B A form, voiced in four parts with voice
leading (each chord's voicing is the one nearest the previous); evolving pads of detuned
oscillator pairs (wavetables band-limited per note and passed through a one-pole low-pass whose
cutoff drifts from chord to chord, slow attack and release, spread left/right); a bass; a slow
melody that repeats and varies with its section, and/or an arpeggio; optional soft percussion and
textures (rain, sea, wind, crackle); a stereo noise reverb (convolution at a quarter of the sample
rate, decorrelated left and right, overlap-add per block); fades at both ends; soft clipping.

It renders segment by segment (one chord at a time) and streams 16-bit PCM to ``out`` (a WAV via
the stdlib, anything else such as .flac through ffmpeg), written atomically. Memory stays flat
whatever the length (peak RSS ~100 MB for 30 s, ~130 MB for 4.5 minutes; the caches are bounded).
Measured on the 2-core dev machine: a 4-minute track renders in 2-4 s on one core (60-130x real
time; 2.4 s on average over ten moods), so the 20 tracks of an 80-minute video take ~25 s on both.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import math
import re
import subprocess
import wave
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from e3.errors import E3Error
from e3.fsutil import atomic_path

PROVIDER = "dummy"
MAX_SECONDS = 30 * 60

NOTE_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
SCALES = {
    "ionian": (0, 2, 4, 5, 7, 9, 11),
    "lydian": (0, 2, 4, 6, 7, 9, 11),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "aeolian": (0, 2, 3, 5, 7, 8, 10),
    "phrygian": (0, 1, 3, 5, 7, 8, 10),
    "pentatonic major": (0, 2, 4, 7, 9),
    "pentatonic minor": (0, 3, 5, 7, 10),
}
MINOR_MODES = {"dorian", "aeolian", "phrygian", "pentatonic minor"}

# Chord roots as scale degrees (0-based), four chords a phrase.
_PROGRESSIONS = {
    "major": [(0, 4, 5, 3), (0, 5, 3, 4), (0, 3, 0, 4), (5, 3, 0, 4), (0, 2, 5, 3), (1, 4, 0, 5), (0, 3, 5, 4),
              (3, 0, 4, 5), (0, 5, 1, 4), (3, 4, 2, 5)],
    "minor": [(0, 5, 2, 6), (0, 3, 5, 4), (0, 6, 5, 6), (0, 5, 3, 4), (0, 2, 6, 3), (0, 3, 0, 6), (5, 6, 0, 0),
              (0, 4, 5, 3), (3, 6, 2, 5)],
    "phrygian": [(0, 1, 0, 6), (0, 1, 5, 6), (0, 6, 1, 0), (0, 3, 1, 0)],
    "pentatonic": [(0, 3, 1, 4), (0, 2, 3, 1), (0, 4, 2, 3), (3, 1, 0, 2)],
}


class MusicError(E3Error):
    """The synthesizer was asked for something it cannot make (no prompt, a silly length or rate)."""


@dataclass(frozen=True)
class TrackInfo:
    """What was rendered: the file, its exact length in seconds and the musical facts."""

    path: Path
    duration: float
    key: str
    mode: str
    tempo: int
    timbre: str
    sample_rate: int = 48000


# ------------------------------------------------------------------------------------- reading the prompt

@dataclass(frozen=True)
class _Profile:
    words: frozenset[str]
    modes: tuple[str, ...]
    tempo: tuple[int, int]
    pads: tuple[str, ...]
    leads: tuple[str, ...]
    patterns: tuple[str, ...]
    register: tuple[int, int]  # pad centre (MIDI)
    brightness: tuple[float, float]  # 0 dark .. 1 bright
    reverb: tuple[float, float]  # RT60 seconds
    percussion: str = "none"
    texture: str = "none"
    sevenths: float = 0.3
    meters: tuple[int, ...] = (4,)
    drone: bool = False


def _p(words: str, **kw) -> _Profile:
    return _Profile(words=frozenset(words.split()), **kw)


PROFILES: dict[str, _Profile] = {
    "melancholic": _p("melancholic melancholy sad sorrow sorrowful rain rainy night nocturne lonely longing grief "
                      "wistful nostalgic nostalgia autumn tears somber sombre bittersweet elegy lament farewell "
                      "memories memory regret blue midnight",
                      modes=("aeolian", "dorian", "aeolian"), tempo=(52, 68), pads=("warm_pad", "strings"),
                      leads=("piano", "flute", "piano"), patterns=("melody", "melody", "both"), register=(53, 60),
                      brightness=(0.25, 0.45), reverb=(2.6, 3.6), sevenths=0.5),
    "calm": _p("calm serene peaceful relaxing relax sleep meditation meditative gentle soft tranquil dreamy ambient "
               "floating soothing quiet still healing spa yoga lullaby cozy warm",
               modes=("ionian", "lydian", "ionian"), tempo=(56, 72), pads=("warm_pad", "choir"),
               leads=("bell", "piano", "harp"), patterns=("arpeggio", "melody", "both"), register=(55, 62),
               brightness=(0.35, 0.55), reverb=(3.0, 4.2), sevenths=0.6),
    "elegant": _p("elegant classical royal baroque court regal ballroom waltz minuet noble grand palace chamber "
                  "orchestral aristocratic victorian renaissance opulent gilded majestic refined manor",
                  modes=("ionian", "ionian", "lydian", "mixolydian"), tempo=(76, 100), pads=("strings",),
                  leads=("pluck", "piano", "harp"), patterns=("arpeggio", "both"), register=(55, 64),
                  brightness=(0.5, 0.7), reverb=(1.8, 2.6), sevenths=0.15, meters=(4, 3)),
    "dark": _p("dark mysterious mystery ominous haunting haunted eerie shadow shadows gothic horror cave abyss "
               "dungeon occult sinister cursed crypt ghost ghostly foreboding dread",
               modes=("phrygian", "aeolian", "phrygian"), tempo=(46, 62), pads=("dark_pad", "choir"),
               leads=("bell", "strings", "flute"), patterns=("melody",), register=(43, 52),
               brightness=(0.12, 0.3), reverb=(3.6, 4.8), texture="wind", sevenths=0.2, drone=True),
    "upbeat": _p("upbeat bright summer happy joyful energetic cheerful sunny uplifting playful festive dance "
                 "morning optimistic fun lively spring beach tropical",
                 modes=("ionian", "mixolydian", "lydian"), tempo=(100, 124), pads=("bright_pad",),
                 leads=("pluck", "bell", "keys"), patterns=("arpeggio", "both"), register=(57, 65),
                 brightness=(0.65, 0.9), reverb=(1.2, 2.0), percussion="beat", sevenths=0.2),
    "lofi": _p("lofi chill chillhop study studying jazz jazzy cafe coffee beats focus homework vinyl bedroom "
               "tape hip-hop hiphop nostalgic late-night library",
               modes=("dorian", "ionian", "aeolian"), tempo=(70, 86), pads=("keys",), leads=("keys", "flute", "bell"),
               patterns=("melody",), register=(53, 62), brightness=(0.3, 0.45), reverb=(1.2, 1.8),
               percussion="lofi", texture="crackle", sevenths=1.0),
    "celtic": _p("celtic medieval fantasy tavern folk bard irish scottish highland highlands viking nordic elven "
                 "druid ancient legend kingdom castle village shire pastoral fairy enchanted",
                 modes=("dorian", "mixolydian", "aeolian"), tempo=(78, 104), pads=("warm_pad", "strings"),
                 leads=("harp", "flute", "pluck"), patterns=("arpeggio", "both", "melody"), register=(55, 62),
                 brightness=(0.45, 0.65), reverb=(2.0, 3.0), sevenths=0.05, meters=(3, 4), drone=True),
    "ethereal": _p("ethereal space cosmic stars starry celestial galaxy astral heavenly angelic nebula aurora "
                   "infinite dream weightless orbit universe sky",
                   modes=("lydian", "ionian"), tempo=(50, 66), pads=("glass_pad", "choir"), leads=("bell",),
                   patterns=("arpeggio", "melody"), register=(57, 66), brightness=(0.5, 0.7), reverb=(4.0, 5.0),
                   sevenths=0.7),
    "zen": _p("zen japanese japan bamboo temple shrine koto oriental asian tea blossom kyoto garden monk "
              "mindful mindfulness lotus",
              modes=("pentatonic major", "pentatonic minor"), tempo=(54, 72), pads=("warm_pad",),
              leads=("pluck", "flute", "bell"), patterns=("melody", "arpeggio"), register=(55, 62),
              brightness=(0.35, 0.55), reverb=(2.5, 3.5), sevenths=0.0),
    "epic": _p("epic cinematic heroic battle adventure triumphant victory legendary journey quest soaring",
               modes=("aeolian", "dorian"), tempo=(72, 92), pads=("strings", "choir"), leads=("strings", "flute"),
               patterns=("melody", "both"), register=(50, 58), brightness=(0.45, 0.65), reverb=(2.5, 3.5),
               percussion="soft", sevenths=0.0),
}

_TEXTURE_WORDS = {
    "rain": {"rain", "rainy", "raining", "drizzle", "downpour", "storm", "thunder", "showers"},
    "sea": {"sea", "ocean", "waves", "shore", "coast", "beach", "harbour", "harbor", "tide"},
    "wind": {"wind", "windy", "breeze", "mountain", "mountains", "winter", "snow", "blizzard", "desert"},
    "crackle": {"fire", "fireplace", "hearth", "vinyl", "crackle", "crackling", "campfire", "record"},
}
_INSTRUMENTS = {  # word -> (role, timbre)
    "piano": ("lead", "piano"), "rhodes": ("pad", "keys"), "electric piano": ("pad", "keys"),
    "keys": ("pad", "keys"), "harp": ("lead", "harp"), "lute": ("lead", "pluck"), "guitar": ("lead", "pluck"),
    "koto": ("lead", "pluck"), "harpsichord": ("lead", "pluck"), "pizzicato": ("lead", "pluck"),
    "mandolin": ("lead", "pluck"), "dulcimer": ("lead", "pluck"), "strings": ("pad", "strings"),
    "violin": ("lead", "strings"), "cello": ("pad", "strings"), "viola": ("pad", "strings"),
    "orchestra": ("pad", "strings"), "string quartet": ("pad", "strings"), "flute": ("lead", "flute"),
    "whistle": ("lead", "flute"), "recorder": ("lead", "flute"), "ocarina": ("lead", "flute"),
    "shakuhachi": ("lead", "flute"), "bells": ("lead", "bell"), "bell": ("lead", "bell"),
    "celesta": ("lead", "bell"), "glockenspiel": ("lead", "bell"), "music box": ("lead", "bell"),
    "chimes": ("lead", "bell"), "kalimba": ("lead", "bell"), "marimba": ("lead", "bell"),
    "vibraphone": ("lead", "bell"), "choir": ("pad", "choir"), "voices": ("pad", "choir"),
    "choral": ("pad", "choir"), "organ": ("pad", "choir"), "synth": ("pad", "bright_pad"),
    "synthesizer": ("pad", "bright_pad"), "pads": ("pad", "warm_pad"), "pad": ("pad", "warm_pad"),
}
# The letter must be a capital ("a minor" in prose is not a key).
_KEY_RE = re.compile(r"\b([A-G])(#|♯|b|♭|-sharp| sharp|-flat| flat)?\s+(?i:(major|minor|dorian|lydian|mixolydian|"
                     r"aeolian|phrygian|ionian))\b")
_BPM_RE = re.compile(r"\b(\d{2,3})\s*(?:bpm|beats per minute)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Style:
    """The musical decisions taken from a prompt and a seed."""

    profile: str
    root: int  # pitch class, 0 = C
    mode: str
    tempo: int
    meter: int
    chord_beats: int
    pad: str
    lead: str
    pattern: str  # melody | arpeggio | both
    register: int
    brightness: float
    reverb: float
    wet: float
    percussion: str
    texture: str
    sevenths: float
    drone: bool
    progressions: tuple[tuple[int, ...], tuple[int, ...]] = field(default=((0,), (0,)))

    @property
    def key(self) -> str:
        return NOTE_NAMES[self.root]

    @property
    def timbre(self) -> str:
        lead = _TIMBRE_NAMES[self.lead]
        arp = _TIMBRE_NAMES[self.lead if self.lead not in ("flute", "strings") else "harp"]
        parts = [_TIMBRE_NAMES[self.pad], {"melody": f"{lead} melody", "arpeggio": f"{arp} arpeggio",
                                           "both": f"{lead} melody, {arp} arpeggio"}[self.pattern]]
        if self.drone:
            parts.append("drone")
        if self.percussion != "none":
            parts.append(f"{self.percussion} percussion")
        if self.texture != "none":
            parts.append(f"{self.texture} texture")
        return ", ".join(parts)


_TIMBRE_NAMES = {"warm_pad": "warm pad", "bright_pad": "bright synth pad", "dark_pad": "dark pad",
                 "glass_pad": "glass pad", "strings": "strings", "choir": "choir pad", "keys": "electric piano",
                 "piano": "piano", "pluck": "plucked strings", "harp": "harp", "flute": "flute", "bell": "bells"}


def _words(text: str) -> tuple[list[str], str]:
    low = text.lower().replace("lo-fi", "lofi").replace("lo fi", "lofi")
    words = re.findall(r"[a-z][a-z'-]*", low)
    return words, " ".join(words)


def _rng_for(prompt: str, seed: int | None) -> np.random.Generator:
    digest = hashlib.sha256(f"{prompt.strip()}\x00{seed}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def style_for(prompt: str, seed: int | None = None) -> Style:
    """Read ``prompt`` (mood words, instruments, key, BPM) and decide the music; deterministic."""
    rng = _rng_for(prompt, seed)
    words, text = _words(prompt)
    bag = set(words)
    scores = {name: sum(1 for w in words if w in p.words) for name, p in PROFILES.items()}
    ranked = sorted(scores, key=lambda n: (-scores[n], rng.random()))
    name = ranked[0] if scores[ranked[0]] else str(rng.choice(["calm", "calm", "melancholic", "ethereal",
                                                                  "celtic", "elegant"]))
    prof = PROFILES[name]
    second = PROFILES[ranked[1]] if scores[ranked[1]] else None

    def pick(options):
        return options[int(rng.integers(len(options)))]

    def between(lo_hi):
        return float(rng.uniform(*lo_hi))

    mode = pick(prof.modes)
    if second is not None and rng.random() < 0.25:  # a secondary mood colours the mode now and then
        alt = pick(second.modes)
        if (alt in MINOR_MODES) == (mode in MINOR_MODES):
            mode = alt
    lo, hi = prof.tempo
    if second is not None:  # pull a third of the way toward the secondary mood's pace
        lo, hi = round(lo + (second.tempo[0] - lo) / 3), round(hi + (second.tempo[1] - hi) / 3)
    tempo = int(rng.integers(lo, hi + 1))
    root = int(rng.integers(12))
    m = _BPM_RE.search(prompt)
    if m:
        tempo = int(m.group(1))
    tempo = max(36, min(160, tempo))
    named_mode = next((w for w in words if w in SCALES), None)  # "a dorian tune": the mode without a key
    if named_mode:
        mode = named_mode
    elif "pentatonic" in bag:
        mode = "pentatonic minor" if mode in MINOR_MODES else "pentatonic major"
    k = _KEY_RE.search(prompt)
    if k:
        letter, acc, quality = k.group(1).upper(), (k.group(2) or "").strip().lower(), k.group(3).lower()
        root = ({"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}[letter]
                + (1 if acc in ("#", "♯", "-sharp", "sharp") else -1 if acc in ("b", "♭", "-flat", "flat") else 0)) % 12
        mode = {"major": "ionian", "minor": "aeolian"}.get(quality, quality)

    pad, lead = pick(prof.pads), pick(prof.leads)
    if second is not None and rng.random() < 0.35:
        lead = pick(second.leads)
    named = [(text.find(w), role, timbre) for w, (role, timbre) in _INSTRUMENTS.items()
             if (w in text if " " in w else w in bag)]
    named.sort()
    pads_named = [t for _, r, t in named if r == "pad"]
    leads_named = [t for _, r, t in named if r == "lead"]
    if pads_named:
        pad = pads_named[0]
    if leads_named:
        lead = leads_named[0]
    elif len(pads_named) > 1:
        lead = pads_named[1] if pads_named[1] in ("strings",) else lead
    if pad in ("piano",):
        pad = "keys"

    meter = 3 if bag & {"waltz", "minuet", "3/4", "jig"} else pick(prof.meters)
    texture = next((t for t, ws in _TEXTURE_WORDS.items() if ws & bag), prof.texture)
    percussion = prof.percussion
    if bag & {"beat", "beats", "drums", "percussion", "groove"} and percussion == "none":
        percussion = "soft"
    if bag & {"no", "without"} and bag & {"drums", "percussion", "beat", "beats"} and re.search(
            r"\b(no|without)\s+(drums|percussion|beats?)\b", text):
        percussion = "none"
    # Slow tempos hold each chord for two bars; brisk ones change every bar.
    chord_beats = meter * (2 if tempo < 90 else 1)
    if meter == 3 and tempo >= 90:
        chord_beats = 6
    family = ("pentatonic" if mode.startswith("pentatonic") else "phrygian" if mode == "phrygian"
              else "minor" if mode in MINOR_MODES else "major")
    progs = list(_PROGRESSIONS[family])
    a = progs.pop(int(rng.integers(len(progs))))
    b = progs[int(rng.integers(len(progs)))]
    register = int(rng.integers(prof.register[0], prof.register[1] + 1))
    if bag & {"low", "deep", "cello", "bass"}:
        register -= 5
    brightness = between(prof.brightness)
    if bag & {"bright", "sparkling", "shimmering", "crystal"}:
        brightness = min(1.0, brightness + 0.2)
    if bag & {"dark", "muted", "warm", "soft", "mellow"}:
        brightness = max(0.05, brightness - 0.1)
    reverb = between(prof.reverb)
    wet = float(rng.uniform(0.25, 0.4)) + (0.1 if reverb > 3.5 else 0.0)
    return Style(profile=name, root=root, mode=mode, tempo=tempo, meter=meter, chord_beats=chord_beats, pad=pad,
                 lead=lead, pattern=pick(prof.patterns), register=register, brightness=brightness, reverb=reverb,
                 wet=wet, percussion=percussion, texture=texture, sevenths=prof.sevenths,
                 drone=prof.drone or "drone" in bag, progressions=(a, b))


# ------------------------------------------------------------------------------------- sound sources

TABLE = 4096
_MASK = TABLE - 1


def _midi_hz(m: float) -> float:
    return 440.0 * 2.0 ** ((m - 69) / 12.0)


# Harmonic recipes: amplitude of harmonic n (1-based) before the low-pass.
_RECIPES = {
    "warm_pad": lambda n: 1.0 / n ** 1.5,
    "bright_pad": lambda n: 1.0 / n,
    "dark_pad": lambda n: (1.0 if n % 2 else 0.45) / n ** 2,
    "glass_pad": lambda n: (1.0 if n in (1, 2, 3, 5, 8, 12) else 0.08) / n ** 0.6,
    "strings": lambda n: (1.0 / n) * (1.0 + 0.8 * math.exp(-((n - 5) / 3.0) ** 2)),
    "choir": lambda n: (1.0 / n ** 1.2) * (1.0 + 1.5 * math.exp(-((n - 3) / 1.5) ** 2)),
    "keys_body": lambda n: 1.0 if n == 1 else 0.06 / n,
    "keys_bark": lambda n: 0.0 if n == 1 else 1.0 / n ** 1.3,
    "pluck_body": lambda n: 1.0 / n ** 2.2,
    "pluck_bright": lambda n: 1.0 / n ** 0.9,
    "flute": lambda n: {1: 1.0, 2: 0.25, 3: 0.12, 4: 0.04}.get(n, 0.0),
    "bass": lambda n: {1: 1.0, 2: 0.35, 3: 0.12, 4: 0.05}.get(n, 0.0),
}


@functools.lru_cache(maxsize=2048)
def _table(recipe: str, f0: float, cutoff: float, sr: int) -> np.ndarray:
    """One band-limited cycle of ``recipe`` at ``f0``, through a one-pole low-pass at ``cutoff`` Hz.

    For a periodic tone, filtering is a gain per harmonic, so the filter is folded into the table
    once instead of run per sample (numpy has no cheap recursive filter).
    """
    limit = min(sr * 0.45, 16000.0)
    n_max = max(1, min(64, int(limit / f0)))
    fn = _RECIPES[recipe]
    n = np.arange(1, n_max + 1)
    amps = np.array([fn(int(k)) for k in n]) / np.sqrt(1.0 + (n * f0 / cutoff) ** 2)
    spec = np.zeros(TABLE // 2 + 1, complex)
    spec[1:n_max + 1] = amps * np.exp(1j * (0.37 * n * n - np.pi / 2))  # spread phases: fewer peaks
    out = np.fft.irfft(spec, TABLE)
    peak = float(np.max(np.abs(out))) or 1.0
    return (out / peak).astype(np.float32)


def _table_for(recipe: str, midi: float, cutoff: float, sr: int) -> np.ndarray:
    """``_table`` with the cutoff rounded to a sixth of an octave, so chords reuse tables."""
    q = 2.0 ** (round(math.log2(max(cutoff, 50.0)) * 6) / 6)
    return _table(recipe, _midi_hz(midi), q, sr)


_RAMP = np.arange(1 << 16, dtype=np.float64)


def _ramp(n: int) -> np.ndarray:
    global _RAMP
    if n > len(_RAMP):
        _RAMP = np.arange(max(n, 2 * len(_RAMP)), dtype=np.float64)
    return _RAMP[:n]


def _osc(table: np.ndarray, hz: float, n: int, sr: int, phase: float, vibrato: np.ndarray | None = None) -> np.ndarray:
    pos = _ramp(n) * (hz * TABLE / sr) + phase * TABLE
    if vibrato is not None:
        pos += vibrato
    return table[pos.astype(np.int64) & _MASK]


def _env_sustain(n: int, hold: int, attack: int, release: int) -> np.ndarray:
    """Raised-cosine attack, hold until ``hold``, raised-cosine release to ``n``."""
    env = np.ones(n, np.float32)
    a = max(1, min(attack, hold))
    env[:a] = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, a, dtype=np.float32))
    r = n - hold
    if r > 0:
        env[hold:] *= 0.5 + 0.5 * np.cos(np.linspace(0, np.pi, r, dtype=np.float32))
    return env


def _env_decay(n: int, tau: int, attack: int = 96, release: int = 2400) -> np.ndarray:
    env = np.exp(-_ramp(n).astype(np.float32) / max(1.0, tau))
    a = min(attack, n)
    env[:a] *= np.linspace(0, 1, a, dtype=np.float32)
    r = min(release, n)
    env[n - r:] *= np.linspace(1, 0, r, dtype=np.float32)
    return env


class _Voice:
    """Renders notes of one timbre into the timeline (stereo, panned)."""

    def __init__(self, timbre: str, sr: int, rng: np.random.Generator, cutoff: float):
        self.timbre, self.sr, self.rng, self.cutoff = timbre, sr, rng, cutoff
        self.cache: dict[tuple, np.ndarray] = {}
        self.vib: np.ndarray | None = None

    def note(self, tl: _Timeline, start: int, length: int, midi: float, amp: float, pan: float = 0.0,
             cutoff: float | None = None) -> None:
        sr, rng, t = self.sr, self.rng, self.timbre
        hz = _midi_hz(midi)
        fc = cutoff or self.cutoff
        gl, gr = math.cos((pan + 1) * math.pi / 4), math.sin((pan + 1) * math.pi / 4)
        if t in ("warm_pad", "bright_pad", "dark_pad", "glass_pad", "strings", "choir"):
            slow = {"strings": 0.5, "choir": 1.2, "bright_pad": 0.9}.get(t, 1.8)
            rel = int(sr * {"strings": 1.0, "choir": 1.6}.get(t, 2.6))
            n = length + rel
            env = _env_sustain(n, length, int(sr * min(slow, 0.45 * length / sr)), rel) * amp
            detune = {"bright_pad": 0.0045, "strings": 0.003, "dark_pad": 0.004}.get(t, 0.0035)
            vib = None
            if t in ("strings", "choir"):  # delayed vibrato, in table positions
                depth = (0.004 if t == "strings" else 0.002) * hz * TABLE / sr
                vib = self._vibrato(n) * depth
            # The pair's tables sit a little either side of the cutoff: the tone moves as they beat.
            left = _osc(_table_for(t, midi, fc * 0.85, sr), hz * (1 - detune), n, sr, float(rng.random()), vib)
            right = _osc(_table_for(t, midi, fc * 1.15, sr), hz * (1 + detune), n, sr, float(rng.random()), vib)
            tl.add(start, env * (left * (0.75 * gl + 0.25 * gr)), env * (right * (0.75 * gr + 0.25 * gl)))
            return
        if t in ("keys", "piano", "pluck", "harp", "bell"):
            # Struck and plucked notes decay the same way each time: render once per pitch, then reuse.
            rel = int(sr * (0.3 if t in ("keys", "piano") else 0.2))
            full = self._struck(t, midi, fc)
            n = min(length + rel, len(full))
            x = full[:n] * amp
            r = min(rel, n)
            if n < len(full):
                x[n - r:] *= np.linspace(1, 0, r, dtype=np.float32)
            tl.add(start, x * gl, x * gr)
            return
        if t == "flute":
            rel = int(sr * 0.35)
            n = length + rel
            rate = 4.8 / sr * 2 * np.pi
            depth = 0.005 * hz * TABLE / sr
            vib = (depth / rate) * np.minimum(1.0, _ramp(n) / (0.5 * sr)) * np.sin(_ramp(n) * rate)
            x = _osc(_table_for("flute", midi, fc * 2, sr), hz, n, sr, 0.0, vib)
            breath = rng.standard_normal(n).astype(np.float32) * 0.025
            x = (x + breath) * _env_sustain(n, length, int(sr * 0.12), rel) * amp
            tl.add(start, x * gl, x * gr)
            return
        if t == "bass":
            rel = int(sr * 0.8)
            n = length + rel
            x = _osc(_table_for("bass", midi, fc, sr), hz, n, sr, 0.0)
            x *= _env_sustain(n, length, int(sr * 0.25), rel) * amp
            tl.add(start, x, x)
            return
        raise MusicError(f"unknown timbre {t!r}")

    def _vibrato(self, n: int) -> np.ndarray:
        """A delayed ~5 Hz phase wobble (unit depth), made once per voice and sliced per note."""
        if self.vib is None or len(self.vib) < n:
            rate = float(self.rng.uniform(4.6, 5.6)) / self.sr * 2 * np.pi
            m = max(n, self.sr * 20)
            self.vib = (np.minimum(1.0, _ramp(m) / (0.8 * self.sr)) * np.sin(_ramp(m) * rate) / rate)
        return self.vib[:n]

    def _struck(self, t: str, midi: float, fc: float) -> np.ndarray:
        """The whole decaying note for ``midi`` (until it is ~40 dB down), cached per pitch and filter."""
        key = (midi, round(math.log2(max(fc, 50.0)) * 6))
        if key in self.cache:
            return self.cache[key]
        sr, hz = self.sr, _midi_hz(midi)
        if t in ("keys", "piano"):
            tau_body, tau_bark = (2.6, 0.5) if t == "keys" else (1.9, 0.3)
            n = int(sr * tau_body * 2.5)
            body = _osc(_table_for("keys_body", midi, fc, sr), hz, n, sr, 0.0)
            bark = _osc(_table_for("keys_bark", midi, fc * (1.6 if t == "piano" else 1.0), sr), hz * 1.0007, n, sr,
                        0.25)
            x = body * _env_decay(n, tau_body * sr, release=int(sr * 0.3)) + \
                bark * (0.5 * _env_decay(n, tau_bark * sr, release=int(sr * 0.3)))
        elif t in ("pluck", "harp"):
            tau = (1.7 if t == "harp" else 0.8) * sr * (1.0 if hz < 600 else 600 / hz)
            n = int(tau * 4.5)
            body = _osc(_table_for("pluck_body", midi, fc, sr), hz, n, sr, 0.0)
            bright = _osc(_table_for("pluck_bright", midi, fc * 2, sr), hz, n, sr, 0.0)
            x = body * _env_decay(n, tau, attack=48, release=int(sr * 0.05)) + \
                bright * (0.6 * _env_decay(n, tau * 0.12, attack=24, release=int(sr * 0.05)))
        else:  # bell: inharmonic partials, the high ones dying first
            n = int(sr * 4.5)
            x = np.zeros(n, np.float32)
            for ratio, a, tau in ((1.0, 1.0, 2.6), (2.0, 0.45, 1.5), (2.76, 0.35, 1.0), (4.07, 0.18, 0.55),
                                  (5.4, 0.12, 0.3)):
                f = hz * ratio
                if f < min(sr * 0.45, fc * 3):
                    x += (np.sin(_ramp(n) * (2 * np.pi * f / sr)) * a).astype(np.float32) * _env_decay(
                        n, tau * sr, attack=48, release=int(sr * 0.2))
            x *= 0.6
        if len(self.cache) >= 40:  # bounded: memory stays flat however many pitches a long track uses
            self.cache.pop(next(iter(self.cache)))
        self.cache[key] = x.astype(np.float32)
        return self.cache[key]


def _drums(sr: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Soft one-shot drum samples, made once per track."""
    t = _ramp(int(sr * 0.45)) / sr
    kick = np.sin(2 * np.pi * (48 * t + 60 * 0.04 * (1 - np.exp(-t / 0.04)))) * np.exp(-t / 0.16)
    n = int(sr * 0.18)
    noise = rng.standard_normal(n)
    snare = (np.convolve(noise, np.ones(6) / 6, "same") * 0.6 + 0.4 * np.sin(2 * np.pi * 190 * t[:n])) \
        * np.exp(-t[:n] / 0.05)
    m = int(sr * 0.06)
    hat = np.diff(rng.standard_normal(m + 1)) * np.exp(-t[:m] / 0.012) * 0.5
    return {k: v.astype(np.float32) for k, v in (("kick", kick), ("snare", snare), ("hat", hat))}


# ------------------------------------------------------------------------------------- streaming

class _Timeline:
    """A growing stereo buffer of events, drained from the front (memory: one segment + tails)."""

    def __init__(self):
        self.buf = np.zeros((2, 1 << 16), np.float32)
        self.start = 0  # global sample index of buf[:, 0]

    def add(self, at: int, left: np.ndarray, right: np.ndarray) -> None:
        at = max(at, self.start)
        off = at - self.start
        end = off + len(left)
        if end > self.buf.shape[1]:
            grown = np.zeros((2, max(end, 2 * self.buf.shape[1])), np.float32)
            grown[:, : self.buf.shape[1]] = self.buf
            self.buf = grown
        self.buf[0, off:end] += left
        self.buf[1, off:end] += right

    def take(self, upto: int) -> np.ndarray:
        k = upto - self.start
        out = self.buf[:, :k].copy()
        rest = self.buf[:, k:]
        self.buf = np.zeros((2, max(1 << 16, rest.shape[1])), np.float32)
        self.buf[:, : rest.shape[1]] = rest
        self.start = upto
        return out


class _Reverb:
    """Stereo convolution reverb on a decimated copy of the signal, overlap-add per block.

    The impulse responses are decaying noise, darker as they decay, different left and right
    (width). Running at ``sr / DECIM`` makes it ~16x cheaper; a reverb tail has little above 6 kHz.
    """

    DECIM = 4
    BLOCK = 1 << 15  # decimated samples per FFT block

    def __init__(self, sr: int, rt60: float, rng: np.random.Generator):
        self.sr = sr
        low_sr = sr / self.DECIM
        n_ir = min(int(low_sr * rt60 * 1.1), 2 * self.BLOCK)
        t = np.arange(n_ir) / low_sr
        self.nfft = 1 << int(math.ceil(math.log2(self.BLOCK + n_ir - 1)))
        irs = []
        for _ in range(2):
            noise = rng.standard_normal(n_ir)
            spec = np.fft.rfft(noise)
            f = np.fft.rfftfreq(n_ir, 1 / low_sr)
            dark = np.fft.irfft(spec / np.sqrt(1 + (f / 1800.0) ** 4), n_ir)
            bright = np.fft.irfft(spec / np.sqrt(1 + (f / 5000.0) ** 2), n_ir)
            ir = dark * np.exp(-6.9 * t / rt60) + bright * np.exp(-6.9 * t / (rt60 * 0.35))
            pre = int(low_sr * float(rng.uniform(0.015, 0.035)))
            ir = np.concatenate([np.zeros(pre), ir])[:n_ir]
            ir[pre:pre + 64] *= np.linspace(0, 1, min(64, n_ir - pre))
            ir[-256:] *= np.linspace(1, 0, 256)
            ir /= np.sqrt(np.sum(ir ** 2))
            irs.append(ir)
        self.spec = np.fft.rfft(np.array(irs, np.float32), self.nfft, axis=1)
        self.tail = np.zeros((2, self.nfft - self.BLOCK), np.float32)
        self.pending = np.zeros((2, 0), np.float32)
        self.last = np.zeros((2, 1), np.float32)  # last wet sample, for the interpolation
        self.frac = ((np.arange(self.DECIM) + 1) / self.DECIM).astype(np.float32)
        self.wet = np.zeros((2, 0), np.float32)  # processed, decimated, not yet upsampled

    def process(self, x: np.ndarray, final: bool = False) -> None:
        """Feed dry audio (a multiple of DECIM samples, except at the end); wet output collects in ``wet``."""
        d = self.DECIM
        n = x.shape[1]
        pad = (-n) % d
        xs = np.pad(x, ((0, 0), (0, pad))) if pad else x
        low = xs.reshape(2, -1, d).mean(axis=2)
        self.pending = np.concatenate([self.pending, low], axis=1)
        outs = []
        while self.pending.shape[1] >= self.BLOCK or (final and self.pending.shape[1]):
            blk = self.pending[:, : self.BLOCK]
            self.pending = self.pending[:, self.BLOCK:]
            y = np.fft.irfft(np.fft.rfft(blk, self.nfft, axis=1) * self.spec, self.nfft, axis=1).astype(np.float32)
            y[:, : self.tail.shape[1]] += self.tail
            m = blk.shape[1]
            outs.append(y[:, :m])
            self.tail = np.zeros_like(self.tail)
            rest = y[:, m:]
            self.tail[:, : rest.shape[1]] = rest[:, : self.tail.shape[1]]
        if outs:
            self.wet = np.concatenate([self.wet, *outs], axis=1)

    def upsample(self, count_low: int) -> np.ndarray:
        """Linear interpolation of the first ``count_low`` decimated wet samples to the full rate."""
        w = self.wet[:, :count_low]
        self.wet = self.wet[:, count_low:]
        ext = np.concatenate([self.last, w], axis=1)
        self.last = w[:, -1:] if count_low else self.last
        up = ext[:, :-1, None] + (ext[:, 1:] - ext[:, :-1])[:, :, None] * self.frac[None, None, :]
        return up.reshape(2, -1)


class _Sink:
    """16-bit stereo PCM to a WAV (stdlib) or, for any other extension, through ffmpeg."""

    def __init__(self, path: Path, sr: int):
        self.path = path
        self.proc = None
        self.wav = None
        if path.suffix.lower() == ".wav":
            self.wav = wave.open(str(path), "wb")
            self.wav.setnchannels(2)
            self.wav.setsampwidth(2)
            self.wav.setframerate(sr)
        else:
            from e3.media.ffmpeg import ffmpeg_exe

            fmt = {".flac": "flac", ".mp3": "mp3", ".ogg": "ogg", ".opus": "opus", ".m4a": "ipod"}.get(
                path.suffix.lower())
            if fmt is None:
                raise MusicError(f"{path.name}: write .wav or .flac (or .mp3/.ogg/.opus/.m4a)")
            self.proc = subprocess.Popen(
                [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-f", "s16le", "-ar", str(sr),
                 "-ac", "2", "-i", "pipe:0", "-f", fmt, str(path)],
                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def write(self, pcm: bytes) -> None:
        if self.wav is not None:
            self.wav.writeframesraw(pcm)
        else:
            try:
                self.proc.stdin.write(pcm)
            except BrokenPipeError:
                self.close()  # raises with ffmpeg's reason

    def close(self) -> None:
        if self.wav is not None:
            self.wav.close()
            return
        try:
            self.proc.stdin.close()
        except BrokenPipeError:
            pass
        err = self.proc.stderr.read().decode("utf-8", "replace").strip()
        if self.proc.wait() != 0:
            raise MusicError(f"ffmpeg could not write {self.path.name}: {err.splitlines()[-1] if err else 'failed'}")

    def abort(self) -> None:
        if self.wav is not None:
            self.wav.close()
        elif self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


# ------------------------------------------------------------------------------------- composition

class _Composer:
    """Decides the notes, one chord segment at a time, and renders them into the timeline."""

    def __init__(self, style: Style, sr: int, rng: np.random.Generator):
        self.s, self.sr, self.rng = style, sr, rng
        self.scale = SCALES[style.mode]
        self.beat = 60.0 / style.tempo
        base_fc = 900.0 + 5200.0 * style.brightness ** 1.3
        self.base_fc = base_fc
        self.pad = _Voice(style.pad, sr, rng, base_fc)
        self.lead = _Voice(style.lead, sr, rng, base_fc * 1.3)
        self.arp = _Voice(style.lead if style.lead not in ("flute", "strings") else "harp", sr, rng, base_fc * 1.4)
        self.bass = _Voice("bass", sr, rng, min(base_fc, 1200.0))
        self.drone = _Voice("dark_pad" if style.profile == "dark" else "warm_pad", sr, rng, base_fc * 0.7)
        self.drums = _drums(sr, rng) if style.percussion != "none" else None
        self.prev_voicing: list[int] | None = None
        self.prev_bass = 40 + style.root
        self.melody_note = style.register + 12 + 2
        self.phrases: dict[tuple[int, int], list[tuple[float, float, int]]] = {}
        self.arp_shape = [0, 1, 2, 3, 2, 1] if rng.random() < 0.5 else [0, 2, 1, 3, 1, 2]
        if rng.random() < 0.3:
            self.arp_shape = [0, 1, 2, 3, 4, 3, 2, 1]
        self.swing = 0.16 if style.percussion == "lofi" else 0.0
        self.tex_state = rng.standard_normal((2, 1)).astype(np.float32)
        self.form = "AABA"

    def samples(self, beats: float) -> int:
        return int(round(beats * self.beat * self.sr))

    # harmony -----------------------------------------------------------------------------

    def chord_tones(self, degree: int, seventh: bool) -> list[int]:
        """Semitones above the root of the key for the chord built in thirds on ``degree``."""
        n = len(self.scale)
        steps = (0, 2, 4, 6) if seventh else (0, 2, 4)
        return [self.scale[(degree + k) % n] + 12 * ((degree + k) // n) for k in steps]

    def voice(self, pcs: list[int]) -> list[int]:
        """Four notes covering the chord's pitch classes, nearest the previous voicing (voice leading)."""
        centre = self.s.register
        need = {p % 12 for p in pcs}
        cand = [m for m in range(centre - 10, centre + 13) if (m - self.s.root) % 12 in need]
        best, best_cost = None, float("inf")
        for combo in itertools.combinations(cand, 4 if len(need) <= 4 else len(need)):
            if {(m - self.s.root) % 12 for m in combo} != need:
                continue
            gaps = np.diff(combo)
            if combo[0] < 52 and gaps[0] < 5:  # muddy low cluster
                continue
            if np.any(gaps > 9):
                continue
            cost = abs(np.mean(combo) - centre) * 0.6
            if self.prev_voicing is not None:
                cost += sum(abs(a - b) for a, b in zip(combo, self.prev_voicing))
            if cost < best_cost:
                best, best_cost = list(combo), cost
        if best is None:  # narrow scales: fall back to a close voicing above the root
            r = centre - ((centre - self.s.root - pcs[0]) % 12)
            best = sorted(r + (p - pcs[0]) for p in pcs)
        self.prev_voicing = best
        return best

    # one segment -------------------------------------------------------------------------

    def segment(self, tl: _Timeline, index: int) -> int:
        """Render chord ``index``; returns the global sample where it ends."""
        s, rng = self.s, self.rng
        prog_len = len(s.progressions[0])
        section = self.form[(index // prog_len) % len(self.form)]
        prog = s.progressions[0 if section == "A" else 1]
        degree = prog[index % prog_len]
        b0 = index * s.chord_beats
        start, end = self.samples(b0), self.samples(b0 + s.chord_beats)
        length = end - start
        seventh = rng.random() < s.sevenths
        tones = self.chord_tones(degree, seventh)
        if not seventh and len(self.scale) == 7 and s.profile in ("calm", "ethereal") and rng.random() < 0.4:
            tones = tones[:1] + [tones[0] + self.scale[1] - self.scale[0] + 12 * 0] + tones[1:]  # add2 colour
            tones = sorted(set(tones))[:4]
        voicing = self.voice(tones)
        # The filter breathes over ~8 chords: the pads open and close through the track.
        fc = self.base_fc * (0.75 + 0.5 * (0.5 + 0.5 * math.sin(index * 2 * math.pi / 8 + s.root)))
        pad_amp = 0.11 if s.pad != "keys" else 0.16
        if s.pad == "keys":  # electric piano comping: hits on the bar and a lazy push
            for bar in range(s.chord_beats // s.meter):
                for beat_pos, vel in ((0.0, 1.0), (s.meter - 0.5, 0.6) if rng.random() < 0.6 else (2.0, 0.7)):
                    at = start + self.samples(bar * s.meter + beat_pos)
                    dur = self.samples(s.meter - beat_pos if beat_pos else s.meter * 0.9)
                    for i, m in enumerate(voicing):
                        self.pad.note(tl, at + int(rng.integers(0, self.sr // 90)), dur, m,
                                      pad_amp * vel * float(rng.uniform(0.85, 1.0)), pan=-0.4 + 0.27 * i, cutoff=fc)
        else:
            for i, m in enumerate(voicing):
                self.pad.note(tl, start, length, m, pad_amp, pan=-0.5 + i / 3, cutoff=fc)
        # Bass: the root, nearest the previous bass note.
        root_pc = (s.root + tones[0]) % 12
        bass = min((m for m in range(31, 52) if m % 12 == root_pc), key=lambda m: abs(m - self.prev_bass))
        self.prev_bass = bass
        if s.percussion in ("beat", "lofi"):
            for bar in range(s.chord_beats // s.meter):
                for bp in (0, s.meter / 2 + 0.5 if s.meter == 4 else 2):
                    self.bass.note(tl, start + self.samples(bar * s.meter + bp), self.samples(1.2), bass, 0.11)
        else:
            self.bass.note(tl, start, length, bass, 0.075 if s.profile != "dark" else 0.09)
        if s.drone:
            tonic = 36 + s.root if s.root < 7 else 24 + s.root
            self.drone.note(tl, start, length, tonic, 0.04)
            self.drone.note(tl, start, length, tonic + 7, 0.03)
        if s.pattern in ("melody", "both"):
            self.melody(tl, index, section, start, voicing, tones)
        if s.pattern in ("arpeggio", "both"):
            self.arpeggio(tl, start, voicing, quiet=s.pattern == "both")
        if self.drums is not None:
            self.percussion(tl, start, index)
        if s.texture != "none":
            self.texture(tl, start, length)
        return end

    def melody(self, tl: _Timeline, index: int, section: str, start: int, voicing: list[int], tones: list[int]):
        s, rng = self.s, self.rng
        key = (index % len(s.progressions[0]), 0 if section == "A" else 1)
        phrase = self.phrases.get(key)
        if phrase is None or rng.random() < 0.25:  # new material, or a variation of the last statement
            phrase = self._phrase(tones)
            self.phrases[key] = phrase
        elif rng.random() < 0.2:
            return  # leave a bar of space
        for beat, beats, midi in phrase:
            at = start + self.samples(beat) + int(rng.normal(0, self.sr * 0.006))
            self.lead.note(tl, at, self.samples(beats * 0.95), midi, 0.2 * float(rng.uniform(0.85, 1.0)),
                           pan=float(rng.uniform(-0.2, 0.2)))

    def _phrase(self, tones: list[int]) -> list[tuple[float, float, int]]:
        """Notes (beat, beats, midi) over one chord: a slow walk on the scale, chord tones on strong beats."""
        s, rng = self.s, self.rng
        slow = s.tempo < 80
        rhythms = ([[2, 2], [3, 1], [4], [1, 1, 2], [2, 1, 1]] if s.meter == 4
                   else [[3], [2, 1], [1, 1, 1], [1, 2]])
        lo, hi = s.register + 7, s.register + 22
        out = []
        beat = 0.0
        total = s.chord_beats
        chord_pcs = {(s.root + t) % 12 for t in tones}
        while beat < total - 1e-6:
            for d in rhythms[int(rng.integers(len(rhythms)))]:
                if beat >= total - 1e-6:
                    break
                d = min(d * (2 if slow and rng.random() < 0.4 else 1), total - beat)
                if rng.random() < 0.18:  # a rest
                    beat += d
                    continue
                step = int(rng.choice([-2, -1, -1, 0, 1, 1, 2, 3, -3]))
                m = self._scale_step(self.melody_note, step)
                if beat % s.meter == 0 or d >= 2:  # strong beat or long note: land on the chord
                    m = min((x for x in range(m - 4, m + 5) if x % 12 in chord_pcs), key=lambda x: abs(x - m),
                            default=m)
                while m > hi:
                    m -= 12
                while m < lo:
                    m += 12
                self.melody_note = m
                out.append((beat, d, m))
                beat += d
        return out

    def _scale_step(self, midi: int, steps: int) -> int:
        pcs = sorted((self.s.root + p) % 12 for p in self.scale)
        notes = [m for m in range(midi - 24, midi + 25) if m % 12 in pcs]
        here = min(range(len(notes)), key=lambda i: abs(notes[i] - midi))
        return notes[max(0, min(len(notes) - 1, here + steps))]

    def arpeggio(self, tl: _Timeline, start: int, voicing: list[int], quiet: bool) -> None:
        s, rng = self.s, self.rng
        per_beat = 2 if s.tempo < 96 else 1
        if s.profile in ("calm", "ethereal") and s.tempo < 64:
            per_beat = 1
        notes = [m + 12 for m in voicing] + [voicing[0] + 24, voicing[1] + 24]
        steps = s.chord_beats * per_beat
        amp = 0.075 if quiet else 0.11
        for k in range(steps):
            if quiet and k % 2:
                continue
            m = notes[self.arp_shape[k % len(self.arp_shape)] % len(notes)]
            beat = k / per_beat
            if self.swing and k % 2:
                beat += self.swing / per_beat
            vel = 1.0 if k % (s.meter * per_beat) == 0 else 0.7 + 0.2 * float(rng.random())
            at = start + self.samples(beat) + int(rng.normal(0, self.sr * 0.004))
            self.arp.note(tl, at, self.samples(1.5 / per_beat), m, amp * vel, pan=0.35 * math.sin(k * 0.9))

    def percussion(self, tl: _Timeline, start: int, index: int) -> None:
        s, rng, d = self.s, self.rng, self.drums
        bars = s.chord_beats // s.meter
        for bar in range(bars):
            b = bar * s.meter
            hits: list[tuple[str, float, float]] = [("kick", b, 0.35)]
            if s.percussion in ("beat", "lofi"):
                if s.meter == 4:
                    hits += [("kick", b + (2.5 if s.percussion == "lofi" else 2), 0.28),
                             ("snare", b + 1, 0.16), ("snare", b + 3, 0.16)]
                else:
                    hits += [("snare", b + 2, 0.12)]
            for e in range(s.meter * 2):
                off = e / 2 + (self.swing / 2 if e % 2 else 0)
                hits.append(("hat", b + off, 0.07 if e % 2 else 0.1))
            if s.percussion == "soft":
                hits = [h for h in hits if h[0] != "hat" or rng.random() < 0.5]
            for name, beat, amp in hits:
                x = d[name] * (amp * float(rng.uniform(0.8, 1.0)))
                pan = 0.25 if name == "hat" else 0.0
                tl.add(start + self.samples(beat), x * (1 - pan), x * (1 + pan) * 0.9)

    def texture(self, tl: _Timeline, start: int, length: int) -> None:
        """Rain, sea, wind or crackle: smoothed noise under slow envelopes, continuous across segments."""
        s, rng, sr = self.s, self.rng, self.sr
        t = ((start + _ramp(length)) / sr).astype(np.float32)
        if s.texture in ("rain", "crackle"):  # hiss: white noise with a 2-tap average (a gentle low-pass)
            w = rng.standard_normal((2, length + 1), dtype=np.float32)
            w[:, 0] = self.tex_state[:, 0]
            self.tex_state[:, 0] = w[:, -1]
            chans = (w[:, 1:] + w[:, :-1]) * 0.5
        else:  # wind and sea: value noise, linear between random points every `step` samples
            step = 24 if s.texture == "sea" else 40
            k = -(-length // step)
            pts = rng.standard_normal((2, k + 1), dtype=np.float32)
            pts[:, 0] = self.tex_state[:, 0]
            frac = np.arange(step, dtype=np.float32) / step
            chans = (pts[:, :-1, None] + (pts[:, 1:] - pts[:, :-1])[:, :, None] * frac).reshape(2, -1)[:, :length]
            self.tex_state[:, 0] = pts[:, -1] if length % step == 0 else pts[:, -2] + (pts[:, -1] - pts[:, -2]) * (
                (length % step) / step)
        if s.texture == "rain":
            chans = chans * (0.02 * (0.8 + 0.2 * np.sin(2 * np.pi * t / 11.0)))
            drop = np.exp(-np.arange(48, dtype=np.float32) / 8.0)
            for c in range(2):  # droplets: short decaying ticks at random
                n = rng.poisson(6 * length / sr)
                for pos, amp in zip(rng.integers(0, max(1, length - 48), n), rng.uniform(0.04, 0.15, n)):
                    chans[c, pos:pos + 48] += drop * amp
        elif s.texture == "sea":
            swell = np.sin(2 * np.pi * t / 9.0 + np.array([[0.0], [1.3]], np.float32))
            chans = chans * (0.06 * (0.5 + 0.5 * swell) ** 2)
        elif s.texture == "wind":
            gust = np.sin(2 * np.pi * t / 13.0 + np.array([[0.0], [2.1]], np.float32))
            chans = chans * (0.04 * (0.6 + 0.4 * gust))
        else:  # crackle: sparse clicks over a faint hiss
            chans = chans * 0.004
            for c in range(2):
                n = rng.poisson(9 * length / sr)
                chans[c, rng.integers(0, length, n)] += rng.uniform(-0.12, 0.12, n).astype(np.float32)
        tl.add(start, chans[0], chans[1])


# ------------------------------------------------------------------------------------- the track

def synthesize_track(prompt: str, duration_s: float, out: Path | str, sample_rate: int = 48000,
                     seed: int | None = None) -> TrackInfo:
    """Compose and render ``duration_s`` seconds of ambient music for ``prompt`` into ``out``.

    ``out`` ends in .wav (stdlib writer) or .flac (through ffmpeg; .mp3/.ogg/.opus/.m4a work too);
    the file appears only when complete. The length is exactly ``round(duration_s * sample_rate)``
    samples; the same prompt and seed give the same samples. Raises ``MusicError`` on an empty
    prompt, a length outside (0, 30 min] or a sample rate outside 8-192 kHz.
    Speed: 60-130x real time on one core (4 minutes in 2-4 s).
    """
    if not isinstance(prompt, str) or not prompt.strip():
        raise MusicError("the music synthesizer needs a non-empty prompt")
    try:
        duration_s = float(duration_s)
    except (TypeError, ValueError):
        raise MusicError(f"track length {duration_s!r} is not a number of seconds") from None
    if not (0 < duration_s <= MAX_SECONDS) or math.isnan(duration_s):
        raise MusicError(f"track length {duration_s:g} s is outside (0, {MAX_SECONDS}] seconds")
    if not isinstance(sample_rate, int) or not 8000 <= sample_rate <= 192000:
        raise MusicError(f"sample rate {sample_rate!r} is outside 8000-192000 Hz")
    out = Path(out)
    style = style_for(prompt, seed)
    total = int(round(duration_s * sample_rate))
    with atomic_path(out) as tmp:
        sink = _Sink(tmp, sample_rate)
        try:
            for pcm in _render(style, total, sample_rate, _rng_for(prompt, seed)):
                sink.write(pcm)
        except BaseException:
            sink.abort()
            raise
        sink.close()
    return TrackInfo(path=out, duration=total / sample_rate, key=style.key, mode=style.mode, tempo=style.tempo,
                     timbre=style.timbre, sample_rate=sample_rate)


def _render(style: Style, total: int, sr: int, rng: np.random.Generator) -> Iterator[bytes]:
    """The whole chain, streamed: composer -> timeline -> reverb -> fades and soft clip -> int16."""
    rng.random(8)  # the style used the first draws; keep the score's stream apart from them
    comp = _Composer(style, sr, rng)
    tl = _Timeline()
    rev = _Reverb(sr, style.reverb, rng)
    fade_in = max(1, min(int(sr * 2.5), total // 8))
    fade_out = max(1, min(int(sr * 5.0), total // 5))
    d = _Reverb.DECIM
    emitted = 0  # samples given to the reverb
    written = 0
    dry_queue = np.zeros((2, 0), np.float32)
    index = 0
    gain = 1.0
    while written < total:
        final = False
        if emitted < total:
            end = comp.segment(tl, index)
            index += 1
            upto = min(end, total)
            final = upto >= total
            # Feed whole multiples of DECIM so the decimated stream stays aligned.
            upto = upto if final else emitted + ((upto - emitted) // d) * d
            block = tl.take(upto)
            emitted = upto
            rev.process(block, final=final)
            dry_queue = np.concatenate([dry_queue, block], axis=1)
        else:
            final = True
        ready_low = rev.wet.shape[1]
        n = min(ready_low * d, dry_queue.shape[1])
        if final:
            n = dry_queue.shape[1]
            ready_low = -(-n // d)
        else:
            ready_low = n // d
            n = ready_low * d
        if n <= 0:
            continue
        wet = rev.upsample(ready_low)[:, :n]
        dry = dry_queue[:, :n]
        dry_queue = dry_queue[:, n:]
        mix = (dry * (1.0 - 0.5 * style.wet) + wet * (style.wet * 1.6)) * gain
        # Fades at both ends (raised cosine), placed by global sample index.
        idx = written + np.arange(n)
        env = np.ones(n, np.float32)
        head = idx < fade_in
        env[head] = 0.5 - 0.5 * np.cos(np.pi * idx[head] / fade_in)
        tail = idx >= total - fade_out
        env[tail] = 0.5 - 0.5 * np.cos(np.pi * (total - idx[tail]) / fade_out)
        y = np.tanh(mix * env * 1.3) * 0.85  # soft clip: stacked notes never clip hard
        yield (np.clip(y.T, -1, 1) * 32767).astype("<i2").tobytes()
        written += n
        if final and written >= total:
            break
