"""Music and picture providers of the channel studio, behind one interface each.

Music (``E3_MUSIC_PROVIDER``): ``dummy`` (the built-in synthesizer, ``e3.video.music``),
``comfyui`` (ACE-Step on a ComfyUI server), ``beatoven`` and ``mubert`` (paid APIs, ``e3.providers.music``).
Pictures (``E3_IMAGE_PROVIDER``): ``dummy`` (the offline painter), ``comfyui``, ``leonardo`` and
``gemini`` (``e3.providers.images``); unset = ComfyUI when ``E3_COMFYUI_URL`` is set, else the painter.
The channels table has no provider column, so the choice is per installation, not per channel.

Shared settings: ``E3_PROVIDER_TIMEOUT`` (seconds per HTTP call, default 60),
``E3_PROVIDER_POLL_TIMEOUT`` (seconds a task may take, default 900) and ``E3_PROVIDER_RETRIES``
(retries of 429/5xx/connection errors per call, default 4).
"""

from __future__ import annotations

from dataclasses import dataclass

from e3.config import getenv, settings
from e3.errors import ConfigError

MUSIC_PROVIDER_NAMES = ("dummy", "comfyui", "beatoven", "mubert")
IMAGE_PROVIDER_NAMES = ("dummy", "comfyui", "leonardo", "gemini")
PAID_MUSIC = ("beatoven", "mubert")
PAID_IMAGES = ("leonardo", "gemini")


def music_provider_name() -> str:
    """``E3_MUSIC_PROVIDER`` (default dummy), checked."""
    name = settings().music_provider.lower()
    if name not in MUSIC_PROVIDER_NAMES:
        raise ConfigError(f"E3_MUSIC_PROVIDER must be one of {', '.join(MUSIC_PROVIDER_NAMES)}, not {name!r}")
    return name


def image_provider_name() -> str | None:
    """``E3_IMAGE_PROVIDER``, checked; None when unset (ComfyUI if configured, else the painter)."""
    raw = settings().image_provider
    if raw is None:
        return None
    name = raw.strip().lower()
    if name not in IMAGE_PROVIDER_NAMES:
        raise ConfigError(f"E3_IMAGE_PROVIDER must be one of {', '.join(IMAGE_PROVIDER_NAMES)}, not {name!r}")
    return name


@dataclass(frozen=True)
class Limits:
    timeout: float = 60.0
    poll_timeout: float = 900.0
    retries: int = 4
    poll_interval: float = 5.0


def limits() -> Limits:
    s = settings()
    return Limits(timeout=s.provider_timeout, poll_timeout=s.provider_poll_timeout, retries=s.provider_retries,
                  poll_interval=s.provider_poll_interval)


def require(name: str, why: str) -> str:
    """A required secret or setting; a ConfigError naming the variable (never its value)."""
    value = getenv(name)
    if not value:
        raise ConfigError(f"{name} is not set; {why}")
    return value
