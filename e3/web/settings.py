"""The web app's settings: ``E3_SECRET_KEY`` and ``E3_WEB_*`` (see .env.example)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from e3.config import settings
from e3.errors import ConfigError

DEFAULT_MAX_UPLOAD_MB = 200
MIN_SECRET_LENGTH = 32


@dataclass(frozen=True)
class WebSettings:
    secret_key: str = field(repr=False)
    secret_is_ephemeral: bool = False
    registration: bool = False
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_MB * 1024 * 1024
    page_size: int = 20
    session_days: int = 14
    signin_free_attempts: int = 5   # failures per account or address before sign-ins are slowed
    signin_max_delay: float = 300.0  # seconds; the delay doubles with every further failure


def load_web_settings() -> WebSettings:
    """Read the settings; in ``prod`` a missing or short ``E3_SECRET_KEY`` refuses to start.

    In ``alpha`` a missing key is replaced by a random one for this process (sessions end when
    the server stops)."""
    chosen = settings()
    key = chosen.secret_key.get_secret_value() if chosen.secret_key else None
    ephemeral = False
    if key is None or len(key) < MIN_SECRET_LENGTH:
        if chosen.env == "prod":
            raise ConfigError(f"E3_ENV=prod: set E3_SECRET_KEY to a random string of at least "
                              f"{MIN_SECRET_LENGTH} characters (python -c 'import secrets; "
                              f"print(secrets.token_urlsafe(48))')")
        if key is not None:
            raise ConfigError(f"E3_SECRET_KEY must have at least {MIN_SECRET_LENGTH} characters")
        key, ephemeral = secrets.token_urlsafe(48), True
    return WebSettings(secret_key=key, secret_is_ephemeral=ephemeral, registration=chosen.web_registration,
                       max_upload_bytes=int(chosen.web_max_upload_mb * 1024 * 1024), page_size=chosen.web_page_size,
                       session_days=chosen.web_session_days)
