"""A procedural painter: a model-free image provider for offline runs.

``paint(prompt, width, height, seed)`` reads the prompt's words and paints a landscape or an
interior from layered gradients and shapes (sky, sun or moon, stars, clouds, mountain and hill
silhouettes, water, trees, buildings, a castle, a room with a window), with soft grain:

- time of day: dawn / noon / dusk / night words pick the sky palette and the light level;
- weather: rain, snow, fog, storm and cloud words add overlays;
- setting: sea, forest, city, desert, castle, mountain, room (library, hall, tavern...);
- colour words (crimson, gold, emerald...) tint the palette; seasons tint the foliage.

The same prompt and seed always give the same PNG bytes. It is honest about what it is: images it
makes carry ``PROVIDER = "dummy"`` (the seeds' ``visual_provider`` enum) in their metadata.
"""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from e3.errors import E3Error

PROVIDER = "dummy"

MAX_SIDE = 8192


class PainterError(E3Error):
    """The painter was asked for something it cannot make (an empty prompt, a silly size)."""


# --- reading the prompt -------------------------------------------------------------------------

_TIME_WORDS = {
    "night": {"night", "midnight", "moon", "moonlit", "moonlight", "starry", "stars", "starlit", "nocturnal",
              "nocturne", "darkness", "lantern", "candlelit", "candlelight", "nighttime"},
    "dusk": {"dusk", "sunset", "evening", "twilight", "sundown", "gloaming", "vespers"},
    "dawn": {"dawn", "sunrise", "daybreak", "morning", "aurora", "first light"},
    "noon": {"noon", "midday", "afternoon", "sunny", "sunlit", "daylight", "daytime", "bright", "summer day"},
}
_WEATHER_WORDS = {
    "rain": {"rain", "rainy", "raining", "drizzle", "downpour", "wet", "showers"},
    "storm": {"storm", "stormy", "thunder", "lightning", "tempest", "gale"},
    "snow": {"snow", "snowy", "snowfall", "blizzard", "winter", "frost", "frozen", "icy"},
    "fog": {"fog", "foggy", "mist", "misty", "haze", "hazy", "smoke", "smoky"},
    "cloud": {"cloud", "clouds", "cloudy", "overcast", "grey sky", "gray sky"},
}
_SETTING_WORDS = {
    "room": {"room", "interior", "library", "study", "chamber", "bedroom", "parlour", "parlor", "hall",
             "ballroom", "tavern", "inn", "kitchen", "cabin", "office", "attic", "desk", "fireplace",
             "hearth", "indoors", "salon", "drawing-room", "cafe", "café", "workshop", "church", "chapel"},
    "sea": {"sea", "ocean", "harbour", "harbor", "ship", "ships", "boat", "waves", "wave", "beach", "coast",
            "shore", "whale", "whaling", "sail", "sails", "lake", "river", "bay", "island", "pier", "port",
            "quay", "lagoon", "canal", "water"},
    "forest": {"forest", "woods", "wood", "trees", "tree", "jungle", "grove", "orchard", "garden", "pines",
               "oak", "oaks", "woodland", "thicket", "park"},
    "city": {"city", "street", "streets", "town", "london", "paris", "rooftops", "buildings", "houses",
             "village", "market", "square", "alley", "avenue", "lamp-post", "metropolis", "skyline"},
    "desert": {"desert", "dunes", "dune", "sand", "sands", "oasis", "sahara", "arid", "camel"},
    "castle": {"castle", "palace", "fortress", "tower", "towers", "citadel", "keep", "ramparts", "cathedral",
               "abbey", "manor", "kingdom", "throne"},
    "mountain": {"mountain", "mountains", "peak", "peaks", "alps", "cliff", "cliffs", "crags", "summit",
                 "valley", "glacier", "ridge", "highlands", "moor", "moors", "crater"},
}
_COLOURS = {
    "red": (190, 40, 40), "crimson": (160, 20, 45), "scarlet": (220, 40, 30), "pink": (235, 140, 170),
    "rose": (220, 110, 130), "orange": (240, 140, 40), "amber": (240, 170, 50), "gold": (225, 180, 60),
    "golden": (230, 180, 70), "yellow": (240, 220, 80), "green": (60, 150, 70), "emerald": (30, 140, 90),
    "olive": (120, 130, 60), "teal": (40, 140, 140), "cyan": (70, 200, 220), "blue": (50, 90, 200),
    "azure": (60, 140, 230), "navy": (20, 30, 90), "indigo": (60, 40, 130), "violet": (140, 80, 190),
    "purple": (120, 50, 150), "lavender": (180, 160, 220), "white": (240, 240, 240),
    "silver": (200, 205, 215), "grey": (130, 130, 135), "gray": (130, 130, 135), "black": (20, 20, 25),
    "brown": (120, 80, 45), "copper": (190, 110, 60), "bronze": (170, 120, 60), "ivory": (240, 235, 210),
    "turquoise": (60, 200, 190), "ochre": (200, 150, 60), "sepia": (140, 100, 60), "rust": (170, 80, 40),
}
_SEASONS = {
    "autumn": (200, 110, 40), "fall": (200, 110, 40), "autumnal": (200, 110, 40),
    "spring": (120, 190, 90), "blossom": (235, 170, 190), "summer": (80, 160, 60),
}

_SKY = {  # top, middle, horizon colours and light level
    "night": ((6, 9, 28), (18, 28, 66), (46, 58, 104), 0.55),
    "dawn": ((62, 84, 150), (214, 146, 152), (255, 205, 150), 0.85),
    "noon": ((38, 108, 204), (112, 170, 230), (205, 228, 246), 1.0),
    "dusk": ((36, 26, 76), (186, 78, 94), (255, 152, 66), 0.8),
}
_GROUND = {
    "forest": (40, 92, 44), "desert": (214, 172, 110), "city": (70, 70, 78), "castle": (78, 96, 60),
    "mountain": (92, 98, 88), "countryside": (96, 140, 62), "snow": (228, 234, 242),
}


@dataclass
class Scene:
    """What the painter understood from a prompt."""

    time: str
    weather: set[str]
    settings: set[str]
    colours: list[tuple[int, int, int]] = field(default_factory=list)
    season: tuple[int, int, int] | None = None


def _words(prompt: str) -> list[str]:
    return re.findall(r"[a-zà-ÿ][a-zà-ÿ'-]*", prompt.lower())


def read_prompt(prompt: str, rng: np.random.Generator | None = None) -> Scene:
    """The time of day, weather, settings and colours a prompt asks for (first mention wins ties)."""
    words = _words(prompt)
    text = " ".join(words)
    bag = set(words)

    def hits(lexicon: set[str]) -> int:
        return sum(1 for w in lexicon if (w in bag if " " not in w else w in text))

    time_scores = {k: hits(v) for k, v in _TIME_WORDS.items()}
    if max(time_scores.values()) > 0:
        time = max(time_scores, key=lambda k: (time_scores[k], k == "night"))
    else:
        rng = rng or np.random.default_rng(0)
        time = str(rng.choice(["noon", "dawn", "dusk", "noon"]))
    weather = {k for k, v in _WEATHER_WORDS.items() if hits(v)}
    settings = {k for k, v in _SETTING_WORDS.items() if hits(v)}
    if "room" in settings and {"window", "windows"} & bag and len(settings) > 1:
        pass  # an interior with a view: the window shows the outdoor setting
    colours = [_COLOURS[w] for w in words if w in _COLOURS][:4]
    season = next((_SEASONS[w] for w in words if w in _SEASONS), None)
    return Scene(time, weather, settings, colours, season)


# --- numeric helpers ----------------------------------------------------------------------------

def _c(rgb) -> np.ndarray:
    return np.asarray(rgb, dtype=np.float32) / 255.0


def _mix(a, b, t: float) -> np.ndarray:
    return _c(a) * (1 - t) + _c(b) * t if not isinstance(a, np.ndarray) else a * (1 - t) + b * t


def _noise1d(rng: np.random.Generator, n: int, base: int, octaves: int = 5) -> np.ndarray:
    """Fractal 1-D value noise in about [-1, 1] (ridge lines)."""
    x = np.linspace(0, 1, n, dtype=np.float32)
    out = np.zeros(n, np.float32)
    amp, total = 1.0, 0.0
    for o in range(octaves):
        k = base * 2 ** o + 1
        pts = rng.uniform(-1, 1, k).astype(np.float32)
        out += amp * np.interp(x, np.linspace(0, 1, k), pts).astype(np.float32)
        total += amp
        amp *= 0.5
    return out / total


def _noise2d(rng: np.random.Generator, h: int, w: int, base: int = 4, octaves: int = 5) -> np.ndarray:
    """Fractal 2-D value noise in [0, 1], made small and scaled up (smooth fields are cheap)."""
    sh, sw = max(8, h // 8), max(8, w // 8)
    acc = np.zeros((sh, sw), np.float32)
    amp, total = 1.0, 0.0
    for o in range(octaves):
        gh, gw = base * 2 ** o, int(base * 2 ** o * sw / sh) + 1
        grid = rng.random((gh + 1, gw + 1), dtype=np.float32)
        acc += amp * np.asarray(Image.fromarray(grid, "F").resize((sw, sh), Image.BICUBIC))
        total += amp
        amp *= 0.5
    acc /= total
    big = np.asarray(Image.fromarray(acc, "F").resize((w, h), Image.BILINEAR))
    lo, hi = float(big.min()), float(big.max())
    return (big - lo) / max(hi - lo, 1e-6)


class _Canvas:
    def __init__(self, w: int, h: int):
        self.w, self.h = w, h
        self.px = np.zeros((h, w, 3), np.float32)
        self.rows = np.arange(h, dtype=np.float32)[:, None]
        self.cols = np.arange(w, dtype=np.float32)[None, :]

    def blend(self, alpha: np.ndarray, colour) -> None:
        """Lay ``colour`` (RGB, or per-row (h,1,3), or per-pixel) over the canvas with ``alpha``."""
        a = alpha[..., None] if alpha.ndim == 2 else alpha
        self.px += (np.asarray(colour, np.float32) - self.px) * a

    def under_line(self, line: np.ndarray, soft: float = 1.5) -> np.ndarray:
        """Alpha of the area below a ridge line (one y per column), anti-aliased."""
        return np.clip((self.rows - line[None, :]) / soft + 0.5, 0, 1)

    def mask(self) -> tuple[Image.Image, ImageDraw.ImageDraw]:
        img = Image.new("L", (self.w, self.h), 0)
        return img, ImageDraw.Draw(img)

    def blend_mask(self, img: Image.Image, colour, blur: float = 0.0, opacity: float = 1.0) -> None:
        if blur:
            img = img.filter(ImageFilter.GaussianBlur(blur))
        self.blend(np.asarray(img, np.float32) * (opacity / 255.0), colour)


def _gradient(h: int, stops: list[tuple[float, np.ndarray]]) -> np.ndarray:
    """Per-row colours (h,1,3) through colour stops at fractional heights."""
    y = np.linspace(0, 1, h, dtype=np.float32)
    pos = [p for p, _ in stops]
    out = np.stack([np.interp(y, pos, [c[i] for _, c in stops]) for i in range(3)], axis=-1)
    return out.astype(np.float32)[:, None, :]


# --- the painting -------------------------------------------------------------------------------

def _seed_for(prompt: str, seed: int | None) -> int:
    digest = hashlib.sha256(f"{prompt}\x00{seed}".encode()).digest()
    return int.from_bytes(digest[:8], "little")


def paint(prompt: str, width: int = 1920, height: int = 1080, seed: int | None = None) -> bytes:
    """Paint ``prompt`` as a PNG (``width`` x ``height``); same prompt + seed → same bytes."""
    if not isinstance(prompt, str) or not prompt.strip():
        raise PainterError("the painter needs a non-empty prompt")
    if not (16 <= width <= MAX_SIDE and 16 <= height <= MAX_SIDE):
        raise PainterError(f"image size {width}x{height} is outside 16..{MAX_SIDE} pixels per side")
    rng = np.random.default_rng(_seed_for(prompt, seed))
    scene = read_prompt(prompt, rng)
    img = _render(scene, width, height, rng)
    buf = io.BytesIO()
    Image.fromarray(img, "RGB").save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def _render(s: Scene, w: int, h: int, rng: np.random.Generator) -> np.ndarray:
    cv = _Canvas(w, h)
    top, mid, hor, light = (_c(x) if isinstance(x, tuple) else x for x in _SKY[s.time])
    overcast = bool(s.weather & {"rain", "storm", "fog", "cloud", "snow"})
    if overcast:  # grey the sky toward the weather
        grey = _c((120, 124, 134)) * (0.35 if s.time == "night" else 1.0)
        k = 0.65 if s.weather & {"storm", "rain"} else 0.4
        top, mid, hor = (c * (1 - k) + grey * k for c in (top, mid, hor))
        light *= 0.85 if "storm" not in s.weather else 0.7
    for i, col in enumerate(s.colours[:2]):  # colour words tint the sky
        k = 0.28 if i == 0 else 0.15
        mid, hor = mid * (1 - k) + _c(col) * k, hor * (1 - k * 0.8) + _c(col) * k * 0.8

    interior = "room" in s.settings
    horizon = h * float(rng.uniform(0.52, 0.66))
    sky_grad = _gradient(h, [(0, top), (horizon / h * 0.6, mid), (horizon / h, hor), (1, hor)])
    cv.px[:] = sky_grad
    sky = cv.px.copy() if interior else None

    sun_x = w * float(rng.uniform(0.18, 0.82))
    sun_y = {"noon": horizon * 0.25, "dawn": horizon * 0.82, "dusk": horizon * 0.86,
             "night": horizon * 0.35}[s.time] + float(rng.uniform(-0.05, 0.05)) * h
    _sky_details(cv, s, rng, horizon, sun_x, sun_y, overcast, hor)
    if interior:
        return _finish(cv, _interior(cv, s, rng, sky, light), s, rng)

    ground = _ground_colour(s)
    water = "sea" in s.settings and not ({"desert"} & s.settings and "sea" not in s.settings)
    # Far mountains (always a little, big when asked), with aerial perspective toward the horizon.
    n_far = 3 if "mountain" in s.settings else int(rng.integers(1, 3))
    for i in range(n_far):
        depth = (i + 1) / (n_far + 1)
        amp = h * (0.26 if "mountain" in s.settings else 0.1) * (1 - depth * 0.5)
        ridge = horizon - amp * (0.55 + 0.6 * _noise1d(rng, w, int(rng.integers(2, 5)), 6))
        if "mountain" in s.settings:
            ridge -= amp * 0.5 * np.abs(_noise1d(rng, w, 3, 3))  # sharper peaks
        col = _mix(hor, ground * 0.45, 0.35 + 0.5 * depth) * (0.75 + 0.25 * light)
        cv.blend(cv.under_line(ridge), col)
        if "snow" in s.weather or "mountain" in s.settings:
            cap = np.clip((ridge.min() + amp * 0.35 - cv.rows) / 6 + 0.5, 0, 1) * cv.under_line(ridge)
            cv.blend(cap * 0.7, _c((235, 238, 245)) * light)
    if water:
        _water(cv, s, rng, horizon, sun_x, hor, light)
        if "castle" in s.settings or "city" in s.settings or "forest" in s.settings:
            shore = horizon + h * 0.02 - h * 0.07 * (0.5 + 0.5 * _noise1d(rng, w, 3, 4))
            shore[: int(w * rng.uniform(0.35, 0.6))] = h * 2  # the land only on one side
            if rng.random() < 0.5:
                shore = shore[::-1].copy()
            cv.blend(cv.under_line(shore) * (cv.rows < horizon + h * 0.05), ground * 0.6 * light)
            base = horizon + h * 0.01
        else:
            base = None
    else:
        base = _hills(cv, s, rng, horizon, ground, hor, light)
    if "desert" in s.settings and not water:
        _dunes(cv, rng, horizon, ground, light)
    if "castle" in s.settings:
        _castle(cv, s, rng, (base if base is not None else horizon + h * 0.02), light)
    if "city" in s.settings:
        _city(cv, s, rng, (base if base is not None else horizon + h * 0.04), light, water)
    if "forest" in s.settings or (not s.settings and rng.random() < 0.6):
        _trees(cv, s, rng, horizon, light, dense="forest" in s.settings, water=water)
    return _finish(cv, light, s, rng)


def _ground_colour(s: Scene) -> np.ndarray:
    key = next((k for k in ("desert", "forest", "city", "castle", "mountain") if k in s.settings), "countryside")
    col = _c(_GROUND[key])
    if s.season and key in ("forest", "countryside", "castle"):
        col = col * 0.5 + _c(s.season) * 0.5
    if "snow" in s.weather:
        col = col * 0.25 + _c(_GROUND["snow"]) * 0.75
    for rgb in s.colours[2:3]:
        col = col * 0.8 + _c(rgb) * 0.2
    return col


def _sky_details(cv: _Canvas, s: Scene, rng, horizon, sun_x, sun_y, overcast, hor) -> None:
    w, h = cv.w, cv.h
    d2 = (cv.cols - sun_x) ** 2 + (cv.rows - sun_y) ** 2
    r = h * (0.045 if s.time != "night" else 0.035)
    if s.time == "night":
        if not overcast or rng.random() < 0.3:
            n = int(w * h / 2500)
            ys = rng.uniform(0, horizon, n).astype(int)
            xs = rng.integers(0, w, n)
            b = rng.random(n).astype(np.float32) ** 3
            cv.px[ys, xs] += (b * (1 - ys / horizon) * 0.9)[:, None]
        glow_col, disc_col = _c((150, 170, 220)), _c((236, 236, 222))
    else:
        glow_col = _c({"noon": (255, 250, 225), "dawn": (255, 196, 130), "dusk": (255, 130, 60)}[s.time])
        disc_col = _c({"noon": (255, 253, 240), "dawn": (255, 225, 170), "dusk": (255, 190, 110)}[s.time])
    strength = 0.35 if overcast else 0.75
    cv.blend(np.exp(-d2 / (r * 7) ** 2) * strength, glow_col)
    if not overcast or s.time == "night":
        disc = np.clip((r - np.sqrt(d2)) / 1.5 + 0.5, 0, 1)
        cv.blend(disc * (0.95 if not overcast else 0.5), disc_col)
    # Clouds: fractal noise, thresholded, brighter on top, stronger when the weather says so.
    cover = 0.35 if overcast else float(rng.uniform(0.05, 0.25))
    n = _noise2d(rng, h, w, base=3)
    stretch = np.clip((n - (1 - cover - 0.25)) / 0.3, 0, 1) * np.clip(1.15 - cv.rows / horizon, 0, 1)
    lit = _c((250, 246, 240)) if s.time == "noon" else (hor * 0.6 + _c((255, 255, 255)) * 0.15)
    if s.time == "night":
        lit = _c((60, 66, 92))
    cv.blend(stretch * (0.85 if overcast else 0.7), lit)


def _hills(cv: _Canvas, s: Scene, rng, horizon, ground, hor, light) -> float:
    h, w = cv.h, cv.w
    layers = int(rng.integers(2, 4))
    line = None
    for i in range(layers):
        near = (i + 1) / layers
        y0 = horizon + h * 0.04 + (h - horizon) * 0.45 * i / layers
        line = y0 - h * 0.06 * (1 - 0.3 * near) * _noise1d(rng, w, int(rng.integers(1, 4)), 5)
        shade = _mix(hor * 0.5 + ground * 0.5, ground, 0.4 + 0.6 * near) * (0.5 + 0.5 * light) * (1.05 - 0.25 * near)
        cv.blend(cv.under_line(line), shade)
    return float(horizon + h * 0.04)


def _water(cv: _Canvas, s: Scene, rng, horizon, sun_x, hor, light) -> None:
    h, w = cv.h, cv.w
    deep = _c((10, 30, 60)) if s.time != "noon" else _c((24, 80, 130))
    grad = _gradient(h, [(0, hor), (horizon / h, hor * 0.7 + deep * 0.3), (1, deep * 0.8)])
    mask = (cv.rows >= horizon).astype(np.float32) * np.ones((1, w), np.float32)
    # Ripples: thin horizontal streaks that thicken toward the viewer.
    streak = _noise2d(rng, h, w, base=2, octaves=3)
    rows = np.clip((cv.rows - horizon) / max(h - horizon, 1), 0, 1)
    ripple = (np.sin(cv.rows * (0.9 - 0.6 * rows) + streak * 9) * 0.5 + 0.5) * (0.25 + 0.5 * rows)
    cv.blend(mask, grad * (0.65 + 0.35 * light))
    cv.blend(mask * ripple * 0.25, hor * 0.9 * light + 0.05)
    # The sun's (or moon's) path of light on the water.
    path = np.exp(-((cv.cols - sun_x) / (w * (0.02 + 0.06 * rows))) ** 2) * (ripple > 0.55)
    glint = _c((255, 230, 170)) if s.time != "night" else _c((200, 210, 240))
    cv.blend(mask * path * (0.55 if "storm" not in s.weather else 0.2), glint)
    if "storm" in s.weather or rng.random() < 0.5:  # a ship or a boat on the horizon
        bx = w * rng.uniform(0.15, 0.85)
        size = h * rng.uniform(0.03, 0.08)
        m, d = cv.mask()
        y = horizon + size * 0.4
        d.polygon([(bx - size * 1.4, y - size * 0.35), (bx + size * 1.4, y - size * 0.35),
                   (bx + size, y), (bx - size * 0.9, y)], fill=255)
        for k, off in enumerate((-0.6, 0.1, 0.8)):
            mh = size * (1.6 - 0.3 * abs(k - 1))
            d.line([(bx + off * size, y - size * 0.35), (bx + off * size, y - size * 0.35 - mh)],
                   fill=255, width=max(1, int(size / 14)))
            d.polygon([(bx + off * size, y - size * 0.45 - mh * 0.9), (bx + off * size + size * 0.55,
                       y - size * 0.5 - mh * 0.45), (bx + off * size, y - size * 0.5)], fill=200)
        cv.blend_mask(m, hor * 0.25 * light, blur=0.6, opacity=0.9)


def _dunes(cv: _Canvas, rng, horizon, ground, light) -> None:
    h, w = cv.h, cv.w
    for i in range(3):
        y0 = horizon + (h - horizon) * (0.1 + 0.28 * i)
        x = np.linspace(0, 1, w, dtype=np.float32)
        f, ph = rng.uniform(2, 5), rng.uniform(0, 6)
        line = y0 - h * 0.05 * np.sin(x * f + ph) - h * 0.02 * _noise1d(rng, w, 3, 3)
        shade = ground * (0.75 + 0.12 * i) * (0.55 + 0.45 * light)
        alpha = cv.under_line(line, soft=3)
        side = 0.22 * np.cos(x * f + ph)[None, :, None]  # lit and shadowed flanks (smooth slope)
        cv.blend(alpha, shade * (1 + side))


def _trees(cv: _Canvas, s: Scene, rng, horizon, light, dense: bool, water: bool) -> None:
    h, w = cv.h, cv.w
    conifer = bool(s.weather & {"snow"}) or rng.random() < 0.5
    rows = 3 if dense else 1
    foliage = _c(s.season) * 0.6 + _c((30, 70, 35)) * 0.4 if s.season else _c((28, 66, 34))
    for r in range(rows):
        near = (r + 1) / rows
        m, d = cv.mask()
        count = int((60 if dense else 10) * (1.2 - 0.4 * near) * w / 1920) + 2
        base_y = horizon + (h - horizon) * (0.05 + 0.55 * r / rows) + (h * 0.02 if water else 0)
        size = h * (0.05 + 0.1 * near) * (1.4 if dense and r == rows - 1 else 1)
        xs = rng.uniform(-0.05, 1.05, count) * w
        if water and not dense:
            xs = xs[(xs < w * 0.3) | (xs > w * 0.7)]
        for x in np.sort(xs):
            th = size * rng.uniform(0.7, 1.3)
            y = base_y + rng.uniform(-0.02, 0.04) * h
            if conifer:
                for k in range(3):
                    top = y - th * (1.0 - 0.22 * k)
                    half = th * (0.18 + 0.1 * k)
                    d.polygon([(x, top - th * 0.1), (x - half, top + th * 0.38), (x + half, top + th * 0.38)], fill=255)
                d.rectangle([x - th * 0.03, y - th * 0.2, x + th * 0.03, y + th * 0.05], fill=255)
            else:
                d.rectangle([x - th * 0.04, y - th * 0.45, x + th * 0.04, y + th * 0.05], fill=255)
                for _ in range(4):
                    cx, cy = x + rng.uniform(-0.2, 0.2) * th, y - th * rng.uniform(0.55, 0.85)
                    rr = th * rng.uniform(0.18, 0.3)
                    d.ellipse([cx - rr, cy - rr, cx + rr, cy + rr], fill=255)
        col = foliage * (0.35 + 0.45 * light) * (1.1 - 0.45 * near)
        cv.blend_mask(m, col, blur=0.8)
        if "snow" in s.weather:
            cv.blend_mask(m, _c((220, 226, 236)) * light, blur=1.5, opacity=0.25)


def _windows(d: ImageDraw.ImageDraw, rng, x0, y0, x1, y1, step, lit_p) -> list:
    lit = []
    for wy in np.arange(y0 + step, y1 - step, step * 1.6):
        for wx in np.arange(x0 + step * 0.6, x1 - step, step * 1.3):
            if rng.random() < lit_p:
                lit.append((wx, wy, wx + step * 0.55, wy + step * 0.8))
    return lit


def _city(cv: _Canvas, s: Scene, rng, base, light, water: bool = False) -> None:
    h, w = cv.h, cv.w
    night = s.time in ("night", "dusk")
    for layer in range(2):
        m, d = cv.mask()
        lit_rects = []
        x = float(rng.uniform(-40, 0))
        while x < w:
            bw = w * rng.uniform(0.035, 0.09)
            bh = h * rng.uniform(0.08, 0.28) * (1.25 if layer == 0 else 0.85)
            y = base + layer * h * 0.06
            d.rectangle([x, y - bh, x + bw, y + (h * 0.012 if water else h)], fill=255)  # a quay, or the street
            if rng.random() < 0.45:  # gabled roof, a chimney or a spire
                d.polygon([(x, y - bh), (x + bw / 2, y - bh - bw * 0.45), (x + bw, y - bh)], fill=255)
            elif rng.random() < 0.3:
                d.rectangle([x + bw * 0.7, y - bh - bw * 0.3, x + bw * 0.8, y - bh], fill=255)
            lit_rects += _windows(d, rng, x, y - bh, x + bw, y, max(4.0, h / 110), 0.35 if night else 0.12)
            x += bw + rng.uniform(0, w * 0.012)
        # The far row is hazier (lighter), the near row darker.
        col = _c((38, 36, 46)) * (0.6 + 0.6 * light) * (0.7 if layer else 1.0) + _c((80, 84, 96)) * 0.25 * (1 - layer)
        cv.blend_mask(m, col, blur=0.5)
        wm, wd = cv.mask()
        for r in lit_rects:
            wd.rectangle(r, fill=255)
        wcol = _c((255, 206, 120)) if night else _c((150, 170, 190))
        cv.blend_mask(wm, wcol, blur=0.7, opacity=0.9 if night else 0.5)


def _castle(cv: _Canvas, s: Scene, rng, base, light) -> None:
    h, w = cv.h, cv.w
    cx = w * rng.uniform(0.3, 0.7)
    scale = h * rng.uniform(0.16, 0.26)
    m, d = cv.mask()
    d.ellipse([cx - scale * 3, base - scale * 0.35, cx + scale * 3, base + scale * 1.2], fill=255)  # its hill
    cv.blend_mask(m, _ground_colour(s) * (0.35 + 0.45 * light), blur=2)
    m, d = cv.mask()
    wall_top = base - scale * 0.55
    d.rectangle([cx - scale * 1.3, wall_top, cx + scale * 1.3, base + scale * 0.2], fill=255)
    towers = [(-1.3, 0.28, 1.0), (1.3, 0.28, 1.0), (0.0, 0.42, 1.45), (-0.6, 0.22, 1.15), (0.65, 0.2, 0.95)]
    lit = []
    step = max(3.0, scale / 18)
    for off, tw, th in towers:
        x0, x1 = cx + (off - tw / 2) * scale, cx + (off + tw / 2) * scale
        top = base - scale * th
        d.rectangle([x0, top, x1, base], fill=255)
        if rng.random() < 0.5:  # a conical roof, or battlements
            d.polygon([(x0 - step, top), ((x0 + x1) / 2, top - scale * 0.4), (x1 + step, top)], fill=255)
        else:
            for bx in np.arange(x0, x1, step * 2):
                d.rectangle([bx, top - step * 1.3, bx + step, top], fill=255)
        lit += _windows(d, rng, x0, top, x1, base - scale * 0.2, step * 1.4, 0.35)
    for bx in np.arange(cx - scale * 1.3, cx + scale * 1.3, step * 2):
        d.rectangle([bx, wall_top - step * 1.2, bx + step, wall_top], fill=255)
    col = _c((52, 48, 58)) * (0.55 + 0.5 * light)
    cv.blend_mask(m, col, blur=0.6)
    if s.time in ("night", "dusk"):
        wm, wd = cv.mask()
        for r in lit:
            wd.rectangle(r, fill=255)
        cv.blend_mask(wm, _c((255, 200, 110)), blur=0.8, opacity=0.9)


def _interior(cv: _Canvas, s: Scene, rng, sky: np.ndarray, light: float) -> float:
    """A room: a window onto the sky, walls, a floor in perspective, furniture, a warm lamp."""
    h, w = cv.h, cv.w
    wall = _c(s.colours[0]) * 0.35 + _c((120, 92, 70)) * 0.65 if s.colours else _c(
        tuple(int(v) for v in rng.choice([(120, 92, 70), (92, 100, 84), (110, 80, 80), (84, 92, 110)])))
    floor_y = h * rng.uniform(0.68, 0.78)
    inside = 0.45 + 0.4 * light
    cv.blend(np.ones((h, w), np.float32), _gradient(h, [(0, wall * 0.55), (floor_y / h, wall), (1, wall)]) * inside)
    # Window: the sky painted earlier shows through.
    wx0 = w * rng.uniform(0.08, 0.55)
    ww, wh = w * rng.uniform(0.16, 0.26), h * rng.uniform(0.3, 0.42)
    wy0 = h * 0.16
    win = np.zeros((h, w), np.float32)
    win[int(wy0):int(wy0 + wh), int(wx0):int(wx0 + ww)] = 1
    cv.blend(win, sky)
    m, d = cv.mask()
    fw = max(3, int(w / 260))
    d.rectangle([wx0, wy0, wx0 + ww, wy0 + wh], outline=255, width=fw * 2)
    d.line([(wx0 + ww / 2, wy0), (wx0 + ww / 2, wy0 + wh)], fill=255, width=fw)
    d.line([(wx0, wy0 + wh / 2), (wx0 + ww, wy0 + wh / 2)], fill=255, width=fw)
    cv.blend_mask(m, wall * 0.35, blur=0.5)
    # Floor with boards converging to a vanishing point.
    floor = (cv.rows >= floor_y).astype(np.float32) * np.ones((1, w), np.float32)
    cv.blend(floor, _gradient(h, [(0, wall * 0.3), (floor_y / h, wall * 0.35), (1, wall * 0.6)]) * inside)
    m, d = cv.mask()
    vx = w * rng.uniform(0.35, 0.65)
    for k in range(-12, 13):
        d.line([(vx + k * w * 0.012, floor_y), (vx + k * w * 0.12, h)], fill=110, width=2)
    cv.blend_mask(m, wall * 0.15, blur=1)
    # Furniture: bookshelves (library / study) or a hearth, and a table.
    m, d = cv.mask()
    books = []
    if rng.random() < 0.6 or "library" in s.settings:
        bx0 = w * 0.62 if wx0 < w * 0.4 else w * 0.05
        bx1 = bx0 + w * 0.3
        d.rectangle([bx0, h * 0.12, bx1, floor_y], fill=255)
        for shelf in np.arange(h * 0.16, floor_y - h * 0.05, h * 0.11):
            x = bx0 + w * 0.01
            while x < bx1 - w * 0.02:
                bw = w * rng.uniform(0.005, 0.012)
                books.append(([x, shelf + h * rng.uniform(0.0, 0.025), x + bw, shelf + h * 0.09],
                              tuple(int(v) for v in rng.integers(40, 170, 3))))
                x += bw + 1
    tx = w * rng.uniform(0.3, 0.6)
    ty = floor_y + h * 0.06
    d.rectangle([tx - w * 0.12, ty - h * 0.02, tx + w * 0.12, ty], fill=255)
    for lx in (tx - w * 0.11, tx + w * 0.1):
        d.rectangle([lx, ty, lx + w * 0.008, ty + h * 0.12], fill=255)
    cv.blend_mask(m, wall * 0.22, blur=0.6)
    if books:
        bimg = Image.new("RGB", (w, h))
        bm, bd = cv.mask()
        bdraw = ImageDraw.Draw(bimg)
        for rect, col in books:
            bdraw.rectangle(rect, fill=col)
            bd.rectangle(rect, fill=255)
        cv.blend(np.asarray(bm, np.float32) / 255.0, np.asarray(bimg, np.float32) / 255.0 * inside)
    # A lamp or candle on the table, glowing more when the room is dark.
    d2 = (cv.cols - tx) ** 2 + (cv.rows - (ty - h * 0.05)) ** 2
    glow = np.exp(-d2 / (h * 0.35) ** 2) * (0.55 if s.time in ("night", "dusk") else 0.25)
    cv.blend(glow, _c((255, 190, 110)))
    flame = np.exp(-((cv.cols - tx) ** 2 / (h * 0.006) ** 2 + (cv.rows - (ty - h * 0.045)) ** 2 / (h * 0.014) ** 2))
    cv.blend(flame, _c((255, 236, 180)))
    return max(light, 0.8)


def _finish(cv: _Canvas, light: float, s: Scene, rng) -> np.ndarray:
    h, w = cv.h, cv.w
    px = cv.px
    if s.weather & {"fog"}:
        fog = np.clip(1.2 - np.abs(cv.rows / h - 0.62) * 2.2, 0, 1) * 0.55
        cv.blend(fog * np.ones((1, w), np.float32), _c((170, 176, 186)) * (0.4 + 0.6 * light))
    if s.weather & {"rain", "storm"}:
        m, d = cv.mask()
        n = int(w * h / 900)
        xs, ys = rng.uniform(0, w, n), rng.uniform(0, h, n)
        ln = h * 0.03
        for x, y in zip(xs, ys):
            d.line([(x, y), (x - ln * 0.25, y + ln)], fill=140, width=1)
        cv.blend_mask(m, _c((200, 205, 215)) * light, opacity=0.5)
    if "snow" in s.weather:
        m, d = cv.mask()
        for _ in range(int(w * h / 1500)):
            x, y, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(0.8, 2.6) * h / 1080
            d.ellipse([x - r, y - r, x + r, y + r], fill=255)
        cv.blend_mask(m, _c((245, 248, 255)), blur=0.6, opacity=0.85)
    if "storm" in s.weather and rng.random() < 0.7:  # a lightning bolt
        m, d = cv.mask()
        x, y = w * rng.uniform(0.2, 0.8), 0.0
        pts = [(x, y)]
        while y < h * 0.5:
            x, y = x + rng.uniform(-40, 40) * w / 1920, y + rng.uniform(20, 60) * h / 1080
            pts.append((x, y))
        d.line(pts, fill=255, width=max(2, w // 640))
        cv.blend_mask(m, _c((235, 235, 255)), blur=1.2)
    # Vignette, a painterly colour lift and film grain (a tiled grain field keeps it fast).
    v = 1 - 0.35 * (((cv.cols - w / 2) / (w / 2)) ** 2 + ((cv.rows - h / 2) / (h / 2)) ** 2) / 2
    px *= v[..., None]
    tile = rng.normal(0, 0.018, (256, 256, 1)).astype(np.float32)
    px += np.tile(tile, (h // 256 + 1, w // 256 + 1, 1))[:h, :w]
    np.clip(px, 0, 1, out=px)
    return (px * 255 + 0.5).astype(np.uint8)
