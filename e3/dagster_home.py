"""Find or prepare the Dagster instance folder (DAGSTER_HOME) that `e3` commands use.

``DAGSTER_HOME`` wins when set. Otherwise E3 uses ``<E3_HOME>/.dagster_home/<E3_ENV>`` and copies
the project's ``dagster.yaml`` there (``dagster.postgres.yaml`` when ``E3_DAGSTER_STORAGE=postgres``).
A file e3 wrote (marked on its first line) is rewritten when that setting changes; a file the user
edited is never overwritten: a mismatch with the setting is then refused in one line.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from e3.config import Settings
from e3.config import settings as current_settings
from e3.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent

_FALLBACK_YAML = """concurrency:
  pools:
    default_limit: 1
run_monitoring:
  enabled: true
  free_slots_after_run_end_seconds: 120
telemetry:
  enabled: false
"""

PG_SETTINGS = ("host", "port", "user", "password", "db")  # E3_DAGSTER_PG_*, read by dagster.postgres.yaml


def storage_kind() -> str:
    return current_settings().dagster_storage


def instance_yaml_text(kind: str) -> str:
    template = PROJECT_ROOT / ("dagster.postgres.yaml" if kind == "postgres" else "dagster.yaml")
    if template.is_file():
        return template.read_text(encoding="utf-8")
    if kind == "postgres":
        raise ConfigError(f"{template} not found: Postgres instance storage needs it")
    return _FALLBACK_YAML


def ensure_dagster_home(settings: Settings) -> Path:
    """Set DAGSTER_HOME (if unset) and make sure it holds a dagster.yaml."""
    explicit = os.environ.get("DAGSTER_HOME")
    home = Path(explicit) if explicit else settings.home / ".dagster_home" / settings.env
    home.mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = str(home)
    kind = storage_kind()
    yaml_path = home / "dagster.yaml"
    text = yaml_path.read_text(encoding="utf-8") if yaml_path.exists() else None
    written = yaml_storage_kind(text) if text is not None else None
    if written not in (None, kind) and not _written_by_e3(text):
        # The user's own file: never overwrite their edits; say what to do instead.
        raise ConfigError(
            f"{yaml_path} has {written} storage but E3_DAGSTER_STORAGE={kind}: delete that file "
            f"(e3 writes a new one) or edit its storage section yourself"
        )
    if kind == "postgres":
        chosen = current_settings()
        # dagster.postgres.yaml reads these variables itself: give it E3's defaults.
        for name in PG_SETTINGS:
            value = getattr(chosen, f"dagster_pg_{name}")
            os.environ.setdefault(f"E3_DAGSTER_PG_{name.upper()}",
                                  str(value.get_secret_value() if name == "password" else value))
        _ensure_pg_database(chosen)
    if written != kind:  # no file yet, or one e3 wrote for the other storage
        _write_instance_yaml(yaml_path, kind)
    return home


# The hash of the text below the marker tells e3's own file from one the user has since edited.
_MARKER = "# Written by e3 for E3_DAGSTER_STORAGE={kind} (sha256 {digest}); edit it and e3 leaves it alone."


def _digest(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _write_instance_yaml(path: Path, kind: str) -> None:
    body = instance_yaml_text(kind)
    path.write_text(_MARKER.format(kind=kind, digest=_digest(body)) + "\n" + body, encoding="utf-8")


def _written_by_e3(text: str) -> bool:
    """Written by e3 and unchanged since (marked, or a plain template copy from before the mark)."""
    first, _, body = text.partition("\n")
    match = re.match(r"# Written by e3 for E3_DAGSTER_STORAGE=\w+ \(sha256 (\w+)\)", first)
    if match:
        return match.group(1) == _digest(body)
    templates = [_FALLBACK_YAML] + [p.read_text(encoding="utf-8") for p in
                                   (PROJECT_ROOT / "dagster.yaml", PROJECT_ROOT / "dagster.postgres.yaml")
                                   if p.is_file()]
    return text.strip() in {t.strip() for t in templates}


def yaml_storage_kind(text: str) -> str:
    """"postgres" when the instance yaml stores runs/events in Postgres, else "sqlite"."""
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"DAGSTER_HOME's dagster.yaml is not valid YAML: {exc}".splitlines()[0]) from None
    data = data if isinstance(data, dict) else {}
    # Only the storage sections count: comments or other keys may mention postgres.
    sections = [data.get(k) for k in ("storage", "run_storage", "event_log_storage", "schedule_storage")]
    return "postgres" if "postgres" in repr([s for s in sections if s]).lower() else "sqlite"


def _ensure_pg_database(chosen: Settings | None = None) -> None:
    """Create the Dagster storage database on first use."""
    import sqlalchemy as sa

    from e3.catalog.db import make_engine

    chosen = chosen or current_settings()
    db = chosen.dagster_pg_db
    # URL.create escapes every part: a password with '@' or '/' stays a password.
    url = sa.URL.create("postgresql+psycopg", username=chosen.dagster_pg_user,
                        password=chosen.dagster_pg_password.get_secret_value() or None, host=chosen.dagster_pg_host,
                        port=chosen.dagster_pg_port, database="postgres")
    engine = make_engine(url.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    try:
        conn = engine.connect()
    except sa.exc.SQLAlchemyError as exc:
        reason = " ".join(str(getattr(exc, "orig", None) or exc).split("\n")[0].split())
        engine.dispose()
        raise ConfigError(f"Dagster's Postgres storage at {url.render_as_string(hide_password=True)} cannot be "
                          f"reached ({reason}): start it, or set E3_DAGSTER_STORAGE=sqlite") from None
    try:
        with conn:
            exists = conn.execute(sa.text("select 1 from pg_database where datname = :n"), {"n": db}).scalar()
            if not exists:  # the name quoted by the driver's own rules, never pasted in
                conn.execute(sa.text(f"CREATE DATABASE {conn.dialect.identifier_preparer.quote_identifier(db)}"))
    finally:
        engine.dispose()
