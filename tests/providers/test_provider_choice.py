"""The studio's entry points pick the provider from the environment and talk to the configured host."""

from __future__ import annotations

import pytest
from PIL import Image as PILImage

from e3.errors import ConfigError
from e3.pictures.generate import ImageRequest
from e3.providers import image_provider_name, music_provider_name
from e3.providers.images import image_source, make_backgrounds, provider_image_id
from e3.providers.music import generate_tracks, track_record
from tests.providers.fakes import Fake, png_bytes
from tests.providers.test_music_providers import serve_beatoven


class NoComfy:
    def provider(self):
        return "dummy"

    def enabled(self):
        return False

    def generate_images(self, *a, **k):  # pragma: no cover - must not be used
        raise AssertionError("ComfyUI used")


@pytest.fixture
def fake(e3_env, monkeypatch):
    monkeypatch.setenv("E3_PROVIDER_POLL_INTERVAL", "0.01")
    monkeypatch.setenv("E3_PROVIDER_POLL_TIMEOUT", "5")
    f = Fake()
    yield f
    f.close()


def test_env_names_are_checked(monkeypatch, e3_env):
    monkeypatch.setenv("E3_MUSIC_PROVIDER", "Beatoven")
    assert music_provider_name() == "beatoven"
    monkeypatch.setenv("E3_MUSIC_PROVIDER", "suno")
    with pytest.raises(ConfigError, match="E3_MUSIC_PROVIDER"):
        music_provider_name()
    monkeypatch.delenv("E3_IMAGE_PROVIDER", raising=False)
    assert image_provider_name() is None and image_source(NoComfy()) == "dummy"


def test_beatoven_from_env(fake, monkeypatch, tmp_path):
    monkeypatch.setenv("BEATOVEN_API_KEY", "env-key-123456")
    monkeypatch.setenv("BEATOVEN_BASE_URL", fake.url)
    serve_beatoven(fake, states=("composed",))
    out = tmp_path / "music" / "track-01-x.flac"
    generate_tracks("beatoven", [{"prompt": "harp", "seconds": 2.0, "out": out}], log=lambda _: None)
    assert out.is_file() and track_record("beatoven", out)["provider_track_id"] == "trk-9"
    assert track_record("dummy", out) == {"provider_track_id": out.stem, "license_document_url": None}


def test_leonardo_backgrounds_from_env(fake, monkeypatch, tmp_path):
    monkeypatch.setenv("E3_IMAGE_PROVIDER", "leonardo")
    monkeypatch.setenv("LEONARDO_API_KEY", "leo-env-key-1")
    monkeypatch.setenv("LEONARDO_BASE_URL", fake.url)
    fake.route("POST", "/generations", (200, {}, {"sdGenerationJob": {"generationId": "g1"}}))
    fake.route("GET", "/generations/g1", (200, {}, {"generations_by_pk": {"status": "COMPLETE", "generated_images": [
        {"id": "im-1", "url": f"{fake.url}/cdn/1.png"}]}}))
    fake.route("GET", "/cdn/1.png", (200, {}, png_bytes(1536, 864)))
    req = ImageRequest(key="k1", prompt="castle", negative="", out=tmp_path / "bg-01.png", width=320, height=180)
    assert image_source(NoComfy()) == "leonardo"
    [r] = make_backgrounds([req], comfyui=NoComfy(), engine=None, log=lambda _: None)
    assert r.provider == "leonardo" and provider_image_id(r) == "im-1"
    assert PILImage.open(r.path).size == (320, 180)
