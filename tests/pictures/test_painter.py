"""The offline painter (provider ``dummy``): real PNGs, deterministic, and the prompt shows in them."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from e3.errors import E3Error
from e3.pictures.painter import PROVIDER, PainterError, paint, read_prompt

W, H = 320, 180
NIGHT = "a quiet harbour at night under moonlight and stars"
NOON = "a sunny desert at noon with golden dunes"


def _pixels(prompt: str, seed: int = 1, w: int = W, h: int = H) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(paint(prompt, w, h, seed))).convert("RGB"), dtype=float)


def test_png_of_the_requested_size():
    data = paint("a castle on a misty hill at dawn", 320, 180, seed=3)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    img = Image.open(io.BytesIO(data))
    img.verify()  # a complete, uncorrupted PNG
    img = Image.open(io.BytesIO(data))
    assert (img.format, img.mode, img.size) == ("PNG", "RGB", (320, 180))
    assert Image.open(io.BytesIO(paint("a castle on a misty hill at dawn", 64, 48, seed=3))).size == (64, 48)
    assert PROVIDER == "dummy"


def test_same_prompt_and_seed_same_bytes_other_seed_other_picture():
    prompt = "a library reading room with a warm lamp, autumn rain outside"
    assert paint(prompt, W, H, 7) == paint(prompt, W, H, 7)
    a, b = _pixels(prompt, 7), _pixels(prompt, 8)
    assert np.abs(a - b).mean() > 3  # another seed lays the scene out differently


def test_different_prompts_look_different():
    pictures = [_pixels(p) for p in (NIGHT, NOON, "a misty pine forest in autumn at dawn",
                                     "a grand ballroom with crystal chandeliers, candlelight")]
    means = [p.mean(axis=(0, 1)) for p in pictures]
    for i in range(len(means)):
        for j in range(i + 1, len(means)):
            assert np.linalg.norm(means[i] - means[j]) > 15, (i, j, means[i], means[j])
            assert np.abs(pictures[i] - pictures[j]).mean() > 20
    # Not a flat fill: every picture has structure.
    assert all(p.std() > 12 for p in pictures)


def test_night_is_darker_than_noon_and_bluer():
    night, noon = _pixels(NIGHT), _pixels(NOON)
    assert night.mean() < noon.mean() - 40
    r, g, b = night.mean(axis=(0, 1))
    assert b > r  # a moonlit sky, not a dimmed noon
    assert read_prompt(NIGHT).time == "night" and read_prompt(NOON).time == "noon"


def test_bad_input_is_one_readable_error():
    with pytest.raises(PainterError, match="non-empty prompt"):
        paint("   ", W, H, 1)
    with pytest.raises(E3Error, match="outside"):
        paint("a lake", 8, 8, 1)
