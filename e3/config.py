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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dotenv import load_dotenv

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


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def setting_number(name: str, default: float, *, cast=float, low: float | None = None,
                   high: float | None = None, value: Any = None) -> Any:
    """A numeric setting: ``value`` when given (a resource field), else the environment
    variable ``name``, else ``default``; a non-number or one outside [low, high] is a
    ``ConfigError`` naming the variable. The one number parser every setting goes through."""
    raw = value if value is not None else getenv(name)
    if raw is None:
        return cast(default)
    try:
        number = cast(raw)
    except (TypeError, ValueError):
        kind = "a whole number" if cast is int else "a number"
        raise ConfigError(f"{name} must be {kind}, not {raw!r}") from None
    if (low is not None and number < low) or (high is not None and number > high):
        bounds = f"at least {low:g}" if high is None else f"between {low:g} and {high:g}"
        raise ConfigError(f"{name} must be {bounds}, not {raw!r}")
    return number


def setting_flag(name: str, default: bool = False, *, value: bool | None = None) -> bool:
    """A yes/no setting (1/true/yes/on or 0/false/no/off); anything else is a ``ConfigError``."""
    if value is not None:
        return bool(value)
    raw = getenv(name)
    if raw is None:
        return default
    if raw.lower() not in _TRUE | _FALSE:
        raise ConfigError(f"{name} must be true or false, not {raw!r}")
    return raw.lower() in _TRUE


def openai_base_url(service: str = "tts") -> str | None:
    """Where an OpenAI-compatible client sends requests: the one resolution every client uses.

    ``E3_OPENAI_BASE_URL`` points every OpenAI-compatible client (speech and chat) at one
    server; ``E3_LLM_BASE_URL`` overrides it for the chat model (``service="llm"``). None means
    the OpenAI API itself, which then needs ``OPENAI_API_KEY``. The key is read by the clients
    from ``OPENAI_API_KEY`` only and is sent nowhere but this URL.
    """
    if service == "llm" and (url := getenv("E3_LLM_BASE_URL")):
        return url
    return getenv("E3_OPENAI_BASE_URL")


@dataclass(frozen=True)
class Settings:
    env: str
    home: Path
    database_url: str
    foundry: Path
    comfyui_url: str | None
    llm_base_url: str | None
    llm_model: str

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def current_env() -> str:
    env = (getenv("E3_ENV", "alpha") or "alpha").lower()
    if env not in ENVIRONMENTS:
        raise ConfigError(f"E3_ENV must be one of {', '.join(ENVIRONMENTS)}, not {env!r}")
    return env


def default_database_path(home: Path, env: str) -> Path:
    name = "e3_agent.db" if env == "prod" else f"{env}_e3_agent.db"
    return home / "database" / name


def load_settings() -> Settings:
    """Resolve every E3 setting; see the module docstring for precedence."""
    env = current_env()
    home = Path(getenv("E3_HOME", str(Path.cwd()))).expanduser().resolve()
    database_url = getenv("E3_DATABASE_URL")
    if not database_url:
        db_path = default_database_path(home, env)
        database_url = f"sqlite:///{db_path}"
    foundry = Path(getenv("E3_FOUNDRY") or str(home / "foundry" / env)).expanduser().resolve()
    return Settings(
        env=env,
        home=home,
        database_url=database_url,
        foundry=foundry,
        comfyui_url=getenv("E3_COMFYUI_URL"),
        llm_base_url=getenv("E3_LLM_BASE_URL"),
        llm_model=getenv("E3_LLM_MODEL", "gpt-4o-mini") or "gpt-4o-mini",
    )
