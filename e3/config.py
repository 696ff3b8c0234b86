"""Settings from the environment, a `.env` file and per-environment defaults.

Precedence, highest first:
1. ``E3_DATABASE_URL`` and ``E3_FOUNDRY`` when set (any tool can point E3 anywhere);
2. the per-environment defaults chosen by ``E3_ENV`` (``alpha`` or ``prod``), as the seeds describe:
   ``database/alpha_e3_agent.db`` / ``database/e3_agent.db`` and ``foundry/alpha`` / ``foundry/prod``
   under ``E3_HOME`` (the current directory unless set).

Values may reference other variables as ``${VAR}`` or ``${VAR:-default}``.
A ``.env`` file in the current directory (or ``E3_DOTENV``) is loaded once; real environment
variables win over it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from dotenv import load_dotenv
from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from e3.errors import ConfigError

ENVIRONMENTS = ("alpha", "prod")

_INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_dotenv_loaded = False


def load_env_file(force: bool = False) -> None:
    """Load `.env` once, never overriding variables already set."""
    global _dotenv_loaded
    if _dotenv_loaded and not force:
        return
    _dotenv_loaded = True
    path = os.environ.get("E3_DOTENV") or str(Path.cwd() / ".env")
    if Path(path).is_file():
        load_dotenv(path, override=False)


def interpolate(value: str, env: dict[str, str] | None = None, _depth: int = 0) -> str:
    """Expand ``${VAR}`` and ``${VAR:-default}`` in ``value``.

    An unset variable without a default is an error, so a typo does not silently become ''.
    """
    env = os.environ if env is None else env
    if _depth > 10:
        raise ConfigError(f"config interpolation nests too deeply in {value!r}")

    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in env:
            return interpolate(env[name], env, _depth + 1)
        if default is not None:
            return interpolate(default, env, _depth + 1)
        raise ConfigError(f"${{{name}}} is used in a setting but is not set")

    return _INTERPOLATION.sub(replace, value)


def getenv(name: str, default: str | None = None) -> str | None:
    """Read a setting: `.env` loaded, ``${VAR}`` expanded, blank treated as unset."""
    load_env_file()
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return interpolate(raw.strip())


def openai_base_url(service: str = "tts") -> str | None:
    """Where an OpenAI-compatible client sends requests: the one resolution every client uses.

    ``E3_OPENAI_BASE_URL`` points every OpenAI-compatible client (speech and chat) at one
    server; ``E3_LLM_BASE_URL`` overrides it for the chat model (``service="llm"``). None means
    the OpenAI API itself, which then needs ``OPENAI_API_KEY``. The key is read by the clients
    from ``OPENAI_API_KEY`` only and is sent nowhere but this URL.
    """
    chosen = settings()
    if service == "llm" and chosen.llm_base_url:
        return chosen.llm_base_url
    return chosen.openai_base_url


Positive = Annotated[float, Field(gt=0)]


class Settings(BaseSettings):
    """Every ``E3_*`` setting, typed, with its default: read from the environment (and ``.env``),
    ``${VAR}`` expanded, blank meaning unset. ``settings(name=value)`` lets a resource field
    override one, checked the same way. A bad value is a one-line ``ConfigError`` naming the
    variable."""

    model_config = SettingsConfigDict(env_prefix="E3_", case_sensitive=False, extra="ignore",
                                      validate_default=True)

    # Where things live (see the module docstring).
    env: Literal["alpha", "prod"] = "alpha"
    home: Path = Field(default_factory=Path.cwd, description="Root of the default catalog and foundry")
    database_url: str = Field("", description="The catalog; default SQLite under E3_HOME/database")
    foundry: Path | None = Field(None, description="Book files; default E3_HOME/foundry/<env>")
    dagster_storage: Literal["sqlite", "postgres"] = "sqlite"
    dagster_pg_host: str = "127.0.0.1"
    dagster_pg_port: int = Field(5432, ge=1, le=65535)
    dagster_pg_user: str = "postgres"
    dagster_pg_password: SecretStr = SecretStr("")
    dagster_pg_db: str = "dagster"
    ffmpeg: str | None = Field(None, description="ffmpeg binary; default imageio-ffmpeg, then PATH")
    gutenberg_url: str = "https://www.gutenberg.org"

    # Voices and listening.
    tts_workers: int | None = Field(None, ge=1, le=256, description="Parallel TTS processes; default the CPUs")
    tts_batches: int = Field(4, ge=1, le=1024, description="Chapter batches one book's voicing fans out to")
    openai_base_url: str | None = None
    openai_tts_model: str = "gpt-4o-mini-tts"
    openai_tts_voice: str = "alloy"
    openai_max_retries: int = Field(4, ge=0, le=20)
    asr_model: str | None = None
    asr_threads: int = Field(0, ge=0, le=256, description="Recognizer threads; 0 = its default")
    asr_sample: float = Field(0.1, ge=0, le=1, description="Share of chunks the narration check hears")
    asr_max_wer: float = Field(0.25, ge=0, le=1, description="Word error rate above which a chunk is flagged")

    # Pictures.
    comfyui_url: str | None = None
    comfyui_workflow: str | None = None
    comfyui_checkpoint: str | None = None
    comfyui_external_workers: bool = False
    comfyui_timeout: Positive = Field(300.0, description="Seconds one ComfyUI job may take")
    comfyui_retry_limit: int = Field(3, ge=0, le=100)
    comfyui_lease_seconds: Positive = 300.0
    llm_base_url: str | None = None
    llm_model: str = "gpt-4o-mini"
    scenes_per_chapter: int = Field(1, ge=1, le=10)
    image_width: int = Field(1920, ge=16, le=8192)
    image_height: int = Field(1080, ge=16, le=8192)

    # Video and the channel studio.
    video_size: str = "1920x1080"
    video_fps: Literal[24, 25, 30] = 24
    video_seconds_per_minute: float = Field(60.0, gt=0, le=60)
    x264_preset: str = "veryfast"
    render_workers: int | None = Field(None, ge=1, le=64)
    book_video_per_chapter: bool = False
    book_video_max_hold: float = Field(180.0, ge=5)
    channel_cron: str = "0 6 * * *"
    music_provider: str = "dummy"
    image_provider: str | None = None
    music_workflow: str = "ace_step_music"
    provider_timeout: float = Field(60.0, ge=1)
    provider_poll_timeout: float = Field(900.0, ge=1)
    provider_retries: int = Field(4, ge=0, le=10)
    provider_poll_interval: float = Field(5.0, ge=0.01)
    youtube_client_secrets: Path | None = None
    youtube_token_url: str | None = None
    youtube_base_url: str = "https://www.googleapis.com"
    youtube_category: str = "10"

    # Past one machine (e3_assets.distributed).
    executor: Literal["in_process", "multiprocess", "celery"] = "in_process"
    celery_broker: str = "pyamqp://guest@127.0.0.1:5672//"
    celery_backend: str = "rpc://"

    # Merges and the web app.
    merge_roots: str | None = Field(None, description="os.pathsep-separated folders merges may read")
    secret_key: SecretStr | None = None
    web_registration: bool = False
    web_max_upload_mb: Positive = 200.0
    web_page_size: int = Field(20, gt=0)
    web_session_days: int = Field(14, gt=0)

    @model_validator(mode="before")
    @classmethod
    def _expand(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        out = {}
        for name, value in data.items():
            if isinstance(value, str):
                value = value.strip()
                if not value:
                    continue  # blank is unset
                value = interpolate(value)
            if value is not None:
                out[name] = value
        return out

    @model_validator(mode="after")
    def _defaults(self) -> "Settings":
        self.home = self.home.expanduser().resolve()
        if not self.database_url:
            self.database_url = f"sqlite:///{default_database_path(self.home, self.env)}"
        self.foundry = (self.foundry or self.home / "foundry" / self.env).expanduser().resolve()
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def _explain(exc: ValidationError) -> ConfigError:
    """A pydantic error as one line naming the variable."""
    err = exc.errors()[0]
    field = str(err["loc"][0]) if err.get("loc") else ""
    name = f"E3_{field.upper()}"
    raw = err.get("input")
    ctx = err.get("ctx") or {}
    kind = err["type"]
    info = Settings.model_fields.get(field)
    bounds = {k: v for m in (info.metadata if info else []) for k in ("ge", "gt", "le", "lt")
              if (v := getattr(m, k, None)) is not None}
    if kind in ("int_parsing", "int_from_float"):
        what = "a whole number"
    elif kind == "float_parsing":
        what = "a number"
    elif kind == "bool_parsing":
        what = "true or false"
    elif kind == "literal_error":
        what = "one of " + ", ".join(str(o).strip("'") for o in re.findall(r"'[^']*'|\d+", ctx.get("expected", "")))
    elif kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        low = bounds.get("ge", bounds.get("gt"))
        high = bounds.get("le", bounds.get("lt"))
        if low is not None and high is not None:
            what = f"between {low:g} and {high:g}"
        elif low is not None:
            what = f"at least {low:g}" if "ge" in bounds else f"more than {low:g}"
        else:
            what = f"at most {high:g}"
    else:
        return ConfigError(f"{name}: {err['msg']} (got {raw!r})")
    return ConfigError(f"{name} must be {what}, not {raw!r}")


def settings(**overrides: Any) -> Settings:
    """The settings now (the environment is read on every call, so tests and long-lived
    processes see changes); ``overrides`` that are not None win, checked like the rest."""
    load_env_file()
    given = {k: v for k, v in overrides.items() if v is not None}
    # Reading and checking ~60 fields costs milliseconds; the same environment gives the same answer.
    key = (os.getcwd(), tuple(sorted(os.environ.items())), tuple(sorted(given.items(), key=lambda kv: kv[0])))
    try:
        hit = _SETTINGS_CACHE.get(key)
    except TypeError:  # an unhashable override
        key, hit = None, None
    if hit is not None:
        return hit
    try:
        made = Settings(**given)
    except ValidationError as exc:
        raise _explain(exc) from None
    if key is not None:
        if len(_SETTINGS_CACHE) > 64:
            _SETTINGS_CACHE.clear()
        _SETTINGS_CACHE[key] = made
    return made


_SETTINGS_CACHE: dict = {}


def current_env() -> str:
    return settings().env


def default_database_path(home: Path, env: str) -> Path:
    name = "e3_agent.db" if env == "prod" else f"{env}_e3_agent.db"
    return home / "database" / name


def load_settings() -> Settings:
    """Resolve every E3 setting; see the module docstring for precedence."""
    return settings()
