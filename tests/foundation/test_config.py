"""Settings: E3_ENV defaults, overrides, ${VAR} interpolation and the .env file."""

from __future__ import annotations

import pytest

from e3 import config
from e3.errors import ConfigError


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for name in ("E3_ENV", "E3_DATABASE_URL", "E3_FOUNDRY", "E3_HOME", "E3_COMFYUI_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("E3_HOME", str(tmp_path))
    monkeypatch.setenv("E3_DOTENV", str(tmp_path / "absent.env"))
    monkeypatch.setattr(config, "_dotenv_loaded", False)
    return tmp_path


def test_each_environment_gets_its_own_catalog_and_foundry(clean_env, monkeypatch):
    alpha = config.load_settings()
    assert alpha.env == "alpha"
    assert alpha.database_url.endswith("database/alpha_e3_agent.db")
    assert alpha.foundry == clean_env / "foundry" / "alpha"
    monkeypatch.setenv("E3_ENV", "prod")
    prod = config.load_settings()
    assert prod.database_url.endswith("database/e3_agent.db")
    assert prod.foundry == clean_env / "foundry" / "prod"


def test_explicit_urls_always_win(clean_env, monkeypatch):
    monkeypatch.setenv("E3_ENV", "prod")
    monkeypatch.setenv("E3_DATABASE_URL", "postgresql+psycopg://u@h/db")
    monkeypatch.setenv("E3_FOUNDRY", str(clean_env / "elsewhere"))
    s = config.load_settings()
    assert s.database_url == "postgresql+psycopg://u@h/db"
    assert s.foundry == clean_env / "elsewhere"


def test_unknown_environment_is_refused(clean_env, monkeypatch):
    monkeypatch.setenv("E3_ENV", "staging")
    with pytest.raises(ConfigError, match="alpha, prod"):
        config.load_settings()


def test_interpolation(clean_env, monkeypatch):
    monkeypatch.setenv("COMFY_HOST", "gpu-box")
    monkeypatch.setenv("E3_COMFYUI_URL", "http://${COMFY_HOST}:${COMFY_PORT:-8188}")
    assert config.load_settings().comfyui_url == "http://gpu-box:8188"
    assert config.interpolate("${A:-x}", {}) == "x"
    assert config.interpolate("${A}", {"A": "${B}", "B": "deep"}) == "deep"
    with pytest.raises(ConfigError, match="MISSING"):
        config.interpolate("${MISSING}", {})


def test_dotenv_is_loaded_and_real_variables_win(clean_env, monkeypatch):
    env_file = clean_env / ".env"
    env_file.write_text("E3_ENV=prod\nE3_COMFYUI_URL=http://from-dotenv:8188\n")
    monkeypatch.setenv("E3_DOTENV", str(env_file))
    monkeypatch.setenv("E3_COMFYUI_URL", "http://from-env:8188")
    monkeypatch.delenv("E3_ENV", raising=False)
    try:
        s = config.load_settings()
        assert s.env == "prod"
        assert s.comfyui_url == "http://from-env:8188"
    finally:
        monkeypatch.delenv("E3_ENV", raising=False)


def test_one_typed_settings_class_checks_every_value(clean_env, monkeypatch):
    """Numbers, flags and choices are parsed once, by pydantic-settings, with one-line errors
    naming the variable; a resource field overrides the environment and is checked the same way."""
    from e3.config import settings

    assert settings().scenes_per_chapter == 1
    monkeypatch.setenv("E3_SCENES_PER_CHAPTER", "4")
    assert settings().scenes_per_chapter == 4
    assert settings(scenes_per_chapter=7).scenes_per_chapter == 7  # a resource field wins
    for bad, match in (("soon", "must be a whole number"), ("99", "must be between 1 and 10")):
        monkeypatch.setenv("E3_SCENES_PER_CHAPTER", bad)
        with pytest.raises(ConfigError, match=f"E3_SCENES_PER_CHAPTER {match}, not '{bad}'"):
            settings()
    monkeypatch.delenv("E3_SCENES_PER_CHAPTER")
    with pytest.raises(ConfigError, match="E3_SCENES_PER_CHAPTER must be between 1 and 10, not 11"):
        settings(scenes_per_chapter=11)
    monkeypatch.setenv("E3_COMFYUI_EXTERNAL_WORKERS", "Yes")
    assert settings().comfyui_external_workers is True
    monkeypatch.setenv("E3_COMFYUI_EXTERNAL_WORKERS", "perhaps")
    with pytest.raises(ConfigError, match="E3_COMFYUI_EXTERNAL_WORKERS must be true or false"):
        settings()
    monkeypatch.delenv("E3_COMFYUI_EXTERNAL_WORKERS")
    monkeypatch.setenv("E3_VIDEO_FPS", "29")
    with pytest.raises(ConfigError, match="E3_VIDEO_FPS must be one of 24, 25, 30"):
        settings()
    monkeypatch.setenv("E3_VIDEO_FPS", "  ")  # blank is unset
    assert settings().video_fps == 24
    monkeypatch.setenv("E3_SECRET_KEY", "s" * 40)
    assert "s" * 40 not in repr(settings())  # secrets never print


def test_every_setting_the_code_reads_is_declared_and_documented():
    """No E3_* variable is read behind the settings class's back, and every declared one is
    read somewhere and listed in .env.example or the README."""
    import re
    from pathlib import Path

    from e3.config import Settings

    root = Path(__file__).resolve().parents[2]
    declared = {f"E3_{name.upper()}" for name in Settings.model_fields}
    code = "\n".join(p.read_text(encoding="utf-8") for folder in ("e3", "e3_assets", "e3_resources")
                     for p in (root / folder).rglob("*.py"))
    # Names the settings class does not own: the .env loader's own switch, and prefixes.
    not_settings = {"E3_DOTENV", "E3_WEB_", "E3_DAGSTER_PG_"}
    used = set(re.findall(r"E3_[A-Z0-9_]+", code)) - not_settings
    assert used - declared == set(), "read but not declared in e3.config.Settings"
    fields = {name for name in Settings.model_fields}
    unread = {name for name in fields if not re.search(rf"\.{name}\b|{name}=|dagster_pg_", code)}
    assert unread == set(), "declared but read nowhere"
    docs = (root / ".env.example").read_text(encoding="utf-8") + (root / "README.md").read_text(encoding="utf-8")
    undocumented = {name for name in declared if name not in docs}
    assert undocumented == set(), "declared but documented nowhere"
