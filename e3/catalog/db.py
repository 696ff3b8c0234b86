"""Engines, sessions and migrations for the catalog.

SQLite (the zero-setup default) gets the settings the seeds specify: WAL journal, foreign keys on,
synchronous NORMAL, a 10,000-page cache and a 1,000-page auto-checkpoint. Postgres is reached with
psycopg 3 (``postgresql+psycopg://``).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from e3.errors import CatalogUnavailable

SQL_DIR = Path(__file__).resolve().parents[2] / "sql"
SUPPORTED_BACKENDS = ("sqlite", "postgresql")  # the catalog's migrations and queries know these two

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA cache_size=10000",
    "PRAGMA wal_autocheckpoint=1000",
    "PRAGMA busy_timeout=30000",
)


def redact(url: str | sa.URL) -> str:
    """The URL without its password, for messages, in every form: the user info ends at the LAST
    '@' of the authority, so an unencoded '@', ':' or '/' in a password never shows."""
    if isinstance(url, sa.URL):
        return url.render_as_string(hide_password=True)
    text = str(url)
    scheme, sep, rest = text.partition("://")
    if not sep:
        return text if "@" not in text else "<unparseable database URL>"
    userinfo, at, hostpart = rest.rpartition("@")
    if not at:
        return text
    user, colon, _password = userinfo.partition(":")
    return f"{scheme}://{user}{':***' if colon else ''}@{hostpart}"


def normalize_url(url: str) -> str:
    """Use psycopg 3 for bare ``postgresql://`` URLs (psycopg2 is not a dependency), and encode
    the user info when the password holds an unencoded '@' or ':' (the user info ends at the LAST
    '@'): parsed as written, part of the password would be taken for the host and shown."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    scheme, sep, rest = url.partition("://")
    userinfo, at, hostpart = rest.rpartition("@")
    if sep and at and ("@" in userinfo or userinfo.count(":") > 1):
        from urllib.parse import quote, unquote

        user, _, password = userinfo.partition(":")
        url = f"{scheme}://{quote(unquote(user), safe='')}:{quote(unquote(password), safe='')}@{hostpart}"
    return url


def _set_sqlite_pragmas(dbapi_connection, connection_record):  # noqa: ARG001
    cursor = dbapi_connection.cursor()
    for pragma in SQLITE_PRAGMAS:
        cursor.execute(pragma)
    cursor.close()


def make_engine(url: str, **kwargs) -> sa.Engine:
    """Create an engine; SQLite files get their folder and the seed's pragmas."""
    url = normalize_url(url)
    try:
        parsed = make_url(url)
        parsed.port  # noqa: B018 - a port that is not a number fails here, not deep in the driver
    except ValueError:  # int() of the port
        raise CatalogUnavailable(f"the database URL {redact(url)} is not valid: its port is not a number") from None
    except sa.exc.ArgumentError as exc:
        raise CatalogUnavailable(f"the database URL {redact(url)} is not valid: {exc}") from None
    if parsed.get_backend_name() not in SUPPORTED_BACKENDS:
        raise CatalogUnavailable(f"the database URL {redact(url)} has an unsupported scheme "
                                 f"{parsed.drivername!r}: use sqlite:///PATH or postgresql://...")
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {}).setdefault("timeout", 30)
        engine = sa.create_engine(url, **kwargs)
        sa.event.listen(engine, "connect", _set_sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("connect_args", {}).setdefault("connect_timeout", 10)
    return sa.create_engine(url, **kwargs)


@functools.lru_cache(maxsize=16)
def cached_engine(url: str) -> sa.Engine:
    """One engine per URL per process (engines own connection pools)."""
    return make_engine(url)


def check_connection(engine: sa.Engine) -> None:
    """Raise CatalogUnavailable with the redacted URL and the driver's reason."""
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        reason_text = reason[0] if reason else exc.__class__.__name__
        raise CatalogUnavailable(f"cannot connect to the catalog at {redact(engine.url)}: {reason_text}") from None


@contextlib.contextmanager
def session_scope(engine: sa.Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    factory = sessionmaker(engine, expire_on_commit=False)
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(url: str):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(SQL_DIR / "migrations"))
    # ConfigParser interpolation would choke on '%' in passwords.
    cfg.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    cfg.attributes["configure_logger"] = False
    return cfg


def migrate(url: str, revision: str = "head") -> None:
    """Create or upgrade the catalog schema with Alembic."""
    from alembic import command

    engine = make_engine(url)
    try:
        check_connection(engine)
        with engine.begin() as conn:
            cfg = alembic_config(url)
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    finally:
        engine.dispose()


def create_all(engine: sa.Engine) -> None:
    """Create every table straight from the models (tests and throwaway catalogs)."""
    from e3.catalog.models import Base

    Base.metadata.create_all(engine)
