"""Find or prepare the Dagster instance folder (DAGSTER_HOME) that `e3` commands use.

``DAGSTER_HOME`` wins when set. Otherwise E3 uses ``<E3_HOME>/.dagster_home/<E3_ENV>`` and copies
the project's ``dagster.yaml`` there (``dagster.postgres.yaml`` when ``E3_DAGSTER_STORAGE=postgres``).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from e3.config import Settings, getenv
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

PG_DEFAULTS = {
    "E3_DAGSTER_PG_HOST": "127.0.0.1",
    "E3_DAGSTER_PG_PORT": "5432",
    "E3_DAGSTER_PG_USER": "postgres",
    "E3_DAGSTER_PG_PASSWORD": "",
    "E3_DAGSTER_PG_DB": "dagster",
}


def storage_kind() -> str:
    kind = (getenv("E3_DAGSTER_STORAGE", "sqlite") or "sqlite").lower()
    if kind not in ("sqlite", "postgres"):
        raise ConfigError(f"E3_DAGSTER_STORAGE must be sqlite or postgres, not {kind!r}")
    return kind


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
    if kind == "postgres":
        for name, value in PG_DEFAULTS.items():
            os.environ.setdefault(name, getenv(name, value) or value)
        _ensure_pg_database()
    yaml_path = home / "dagster.yaml"
    if not yaml_path.exists():
        yaml_path.write_text(instance_yaml_text(kind), encoding="utf-8")
    elif kind == "postgres" and "postgres" not in yaml_path.read_text(encoding="utf-8"):
        shutil.copyfile(PROJECT_ROOT / "dagster.postgres.yaml", yaml_path)
    return home


def _ensure_pg_database() -> None:
    """Create the Dagster storage database on first use."""
    import sqlalchemy as sa

    from e3.catalog.db import make_engine

    user, password = os.environ["E3_DAGSTER_PG_USER"], os.environ["E3_DAGSTER_PG_PASSWORD"]
    auth = f"{user}:{password}@" if password else f"{user}@"
    host, port, db = os.environ["E3_DAGSTER_PG_HOST"], os.environ["E3_DAGSTER_PG_PORT"], os.environ["E3_DAGSTER_PG_DB"]
    engine = make_engine(f"postgresql+psycopg://{auth}{host}:{port}/postgres", isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            exists = conn.execute(sa.text("select 1 from pg_database where datname = :n"), {"n": db}).scalar()
            if not exists:
                conn.execute(sa.text(f'CREATE DATABASE "{db}"'))
    finally:
        engine.dispose()
