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


def test_one_number_and_one_flag_parser(monkeypatch):
    import pytest

    from e3.config import setting_flag, setting_number
    from e3.errors import ConfigError

    monkeypatch.setenv("E3_DOTENV", "/nonexistent/.env")
    monkeypatch.delenv("E3_X_NUM", raising=False)
    assert setting_number("E3_X_NUM", 3, cast=int) == 3
    assert setting_number("E3_X_NUM", 3, cast=int, value=7) == 7  # a resource field wins
    monkeypatch.setenv("E3_X_NUM", "12")
    assert setting_number("E3_X_NUM", 3, cast=int, low=1, high=64) == 12
    for bad, match in (("soon", "must be a whole number"), ("99", "must be between 1 and 64")):
        monkeypatch.setenv("E3_X_NUM", bad)
        with pytest.raises(ConfigError, match=f"E3_X_NUM {match}"):
            setting_number("E3_X_NUM", 3, cast=int, low=1, high=64)
    monkeypatch.setenv("E3_X_FLAG", "Yes")
    assert setting_flag("E3_X_FLAG") is True
    monkeypatch.setenv("E3_X_FLAG", "perhaps")
    with pytest.raises(ConfigError, match="E3_X_FLAG must be true or false"):
        setting_flag("E3_X_FLAG")
