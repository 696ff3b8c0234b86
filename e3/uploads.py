"""Uploads (seed 002): users, their uploaded books (``audiobooks``) and ``conversion_jobs``.

An upload is stored at ``<foundry>/_uploads/<audiobook id>/<original name>`` (by the web app:
``book.<ext>``, E3's own name, see :func:`store_upload`) with an
``audiobooks`` row (status ``pending``) and a queued ``conversion_jobs`` row. ``start_upload``
(called by the ``uploads_sensor`` or by ``e3 upload --wait``) claims a pending upload, registers
it as the book ``up-<first 12 hex digits of its id>`` with ``source_url = "upload:<id>|<path>"``
and moves it to ``processing``/``running``. From there the book's own assets move the rows:
``report_chunk_progress`` (0-90 %), ``complete_upload`` (100 %, ``audio_path``) and a failed step
(both rows ``failed`` with ``error_message``); see :mod:`e3.catalog.status`.

Passwords are hashed with Argon2 (argon2-cffi) and never stored, logged or printed in clear.
No Dagster here.
"""

from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from e3.catalog.models import Audiobook, ConversionJob, Title, User
from e3.catalog.status import UPLOAD_SOURCE_PREFIX, utcnow
from e3.errors import E3Error
from e3.foundry import Foundry
from e3.fsutil import atomic_path

UPLOAD_SUFFIXES = {".pdf", ".epub", ".txt", ".text", ".htm", ".html", ".xhtml"}
MIN_PASSWORD_LENGTH = 8
MAX_FILE_SIZE = 2**31 - 1  # audiobooks.file_size is an INTEGER
# What an upload needs to become an audiobook and its SRT (the book job's other assets are not asked for).
UPLOAD_ASSETS = ("book_source", "parsed_chapters", "narration_chunks", "audio_chunks", "audiobook_m4b",
                 "subtitles")

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class UploadError(E3Error):
    """A user or upload request E3 refuses (one readable line)."""


# --- users ---------------------------------------------------------------------------------------


def normalize_email(email: str) -> str:
    """Trimmed and lower-cased: emails are unique regardless of case."""
    value = (email or "").strip().lower()
    if len(value) > 255 or not _EMAIL.fullmatch(value):
        raise UploadError(f"{email!r} is not an email address")
    return value


def hash_password(password: str) -> str:
    from argon2 import PasswordHasher

    if len(password) < MIN_PASSWORD_LENGTH:
        raise UploadError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    return PasswordHasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    from argon2 import PasswordHasher
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return PasswordHasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def find_user(session: Session, email: str) -> User | None:
    return session.scalar(sa.select(User).where(sa.func.lower(User.email) == normalize_email(email)))


def add_user(engine: sa.Engine, email: str, password: str, *, superuser: bool = False,
             active: bool = True) -> User:
    """Insert a user with an Argon2 hash; a duplicate email (any case) is refused."""
    address = normalize_email(email)
    password_hash = hash_password(password)
    with Session(engine, expire_on_commit=False) as s, s.begin():
        if find_user(s, address) is not None:
            raise UploadError(f"a user with email {address} already exists")
        user = User(email=address, password_hash=password_hash, is_active=active, is_superuser=superuser)
        s.add(user)
    return user


def list_users(engine: sa.Engine) -> list[User]:
    with Session(engine, expire_on_commit=False) as s:
        return list(s.scalars(sa.select(User).order_by(User.email)))


# --- uploads -------------------------------------------------------------------------------------


def _title_of(path: Path) -> str:
    """The parsed book's title when it parses, else the file name's stem."""
    try:
        from e3.books.parse import parse_book

        title = parse_book(path).title
    except Exception:  # noqa: BLE001 - an unreadable book still uploads; its run reports why
        title = None
    return (title or path.stem).strip()[:500] or path.stem[:500]


def create_upload(engine: sa.Engine, foundry: Foundry, path: Path | str, email: str) -> Audiobook:
    """Store ``path`` under ``_uploads/<id>/`` and insert the audiobook (pending) and its queued job."""
    source = Path(path).expanduser()
    if not source.is_file():
        raise UploadError(f"{path}: no such file")
    if source.suffix.lower() not in UPLOAD_SUFFIXES:
        raise UploadError(f"{source.name}: E3 turns PDF, EPUB, HTML and plain-text books into audiobooks, "
                          f"not {source.suffix or 'files without an extension'}")
    size = _checked_size(source.name, source)
    with Session(engine) as s:
        user = find_user(s, email)
        if user is None:
            raise UploadError(f"no user with email {normalize_email(email)} (add one with `e3 user add`)")
        if not user.is_active:
            raise UploadError(f"user {user.email} is inactive")
        user_id = user.id
    audiobook_id = uuid.uuid4()
    folder = foundry.uploads / str(audiobook_id)
    stored = folder / source.name
    with atomic_path(stored) as tmp:
        shutil.copyfile(source, tmp)
    return _register(engine, audiobook_id, user_id, stored, source.name, size, lambda: _title_of(stored))


def _checked_size(name: str, path: Path) -> int:
    size = path.stat().st_size
    if size == 0:
        raise UploadError(f"{name}: the file is empty")
    if size > MAX_FILE_SIZE:
        raise UploadError(f"{name}: {size} bytes is more than an upload may hold ({MAX_FILE_SIZE})")
    return size


def _register(engine: sa.Engine, audiobook_id: uuid.UUID, user_id: uuid.UUID, stored: Path, original_name: str,
              size: int, title: Callable[[], str]) -> Audiobook:
    """Insert the stored upload's audiobook (pending) and its queued conversion job; no stored file
    survives without its row."""
    try:
        audiobook = Audiobook(id=audiobook_id, user_id=user_id, title=title(),
                              original_file_name=original_name[:500], file_size=size, pdf_path=str(stored),
                              status="pending")
        with Session(engine, expire_on_commit=False) as s, s.begin():
            s.add(audiobook)
            s.flush()
            s.add(ConversionJob(audiobook_id=audiobook_id, status="queued", progress=0))
    except BaseException:
        shutil.rmtree(stored.parent, ignore_errors=True)
        raise
    return audiobook


def source_url_for(audiobook: Audiobook) -> str:
    """``upload:<id>|<stored path>``: status.py finds the upload by id, book_source reads the path."""
    return f"{UPLOAD_SOURCE_PREFIX}{audiobook.id}|{audiobook.pdf_path}"


def pending_uploads(engine: sa.Engine, limit: int = 25) -> list[Audiobook]:
    with Session(engine, expire_on_commit=False) as s:
        return list(s.scalars(sa.select(Audiobook).where(Audiobook.status == "pending")
                              .order_by(Audiobook.created_at, Audiobook.id).limit(limit)))


def start_upload(engine: sa.Engine, audiobook_id: uuid.UUID) -> str | None:
    """Claim a pending upload: register its book and move it to processing/running.

    Returns the book id, or None when another caller (the sensor, `e3 upload --wait`) claimed it
    first: the claim is one conditional UPDATE, so an upload never runs twice.
    """
    from e3.catalog.service import register_title

    now = utcnow()
    with Session(engine, expire_on_commit=False) as s, s.begin():
        claimed = s.execute(sa.update(Audiobook).where(Audiobook.id == audiobook_id, Audiobook.status == "pending")
                            .values(status="processing", updated_at=now)).rowcount
        if not claimed:
            return None
        audiobook = s.get(Audiobook, audiobook_id)
        s.execute(sa.update(ConversionJob).where(ConversionJob.audiobook_id == audiobook_id,
                                                 ConversionJob.status == "queued")
                  .values(status="running", started_at=now))
        book_id, title, source_url = audiobook.book_id, audiobook.title, source_url_for(audiobook)
        exists = s.scalar(sa.select(Title.id).where(Title.book_id == book_id)) is not None
    if not exists:
        register_title(engine, book_id, title=title, source_url=source_url)
    return book_id


@dataclass
class UploadView:
    id: uuid.UUID
    book_id: str
    email: str | None
    title: str
    original_file_name: str
    file_size: int
    status: str | None
    progress: int | None
    job_status: str | None
    error_message: str | None
    audio_path: str | None
    created_at: object

    def as_dict(self) -> dict:
        out = dict(self.__dict__)
        out["id"] = str(self.id)
        out["created_at"] = self.created_at.isoformat() if self.created_at else None
        return out


def _latest_job(audiobook: Audiobook) -> ConversionJob | None:
    jobs = sorted(audiobook.conversion_jobs, key=lambda j: (j.created_at is not None, j.created_at))
    return jobs[-1] if jobs else None


def list_audiobooks(engine: sa.Engine, email: str | None = None) -> list[UploadView]:
    """A user's uploads (or everyone's), newest first, with their latest conversion job."""
    from sqlalchemy.orm import selectinload

    query = sa.select(Audiobook).options(selectinload(Audiobook.conversion_jobs), selectinload(Audiobook.user)) \
        .order_by(Audiobook.created_at.desc(), Audiobook.id)
    with Session(engine) as s:
        if email is not None:
            user = find_user(s, email)
            if user is None:
                raise UploadError(f"no user with email {normalize_email(email)}")
            query = query.where(Audiobook.user_id == user.id)
        out = []
        for a in s.scalars(query):
            job = _latest_job(a)
            out.append(UploadView(id=a.id, book_id=a.book_id, email=a.user.email if a.user else None,
                                  title=a.title, original_file_name=a.original_file_name, file_size=a.file_size,
                                  status=a.status, progress=job.progress if job else None,
                                  job_status=job.status if job else None,
                                  error_message=job.error_message if job else None, audio_path=a.audio_path,
                                  created_at=a.created_at))
        return out


def find_audiobook(engine: sa.Engine, ref: str) -> Audiobook:
    """An audiobook by full id, unique id prefix (hex) or its book id ``up-<12 hex>``."""
    text = ref.strip().lower()
    prefix = text[3:] if text.startswith("up-") else text
    prefix = prefix.replace("-", "")
    if not re.fullmatch(r"[0-9a-f]{4,32}", prefix):
        raise UploadError(f"{ref!r} is not an audiobook id (at least 4 hex digits, or up-<12 hex>)")
    id_hex = sa.func.lower(sa.func.replace(sa.cast(Audiobook.id, sa.String), "-", ""))
    with Session(engine, expire_on_commit=False) as s:
        found = list(s.scalars(sa.select(Audiobook).where(id_hex.like(f"{prefix}%")).limit(2)))
    if not found:
        raise UploadError(f"no audiobook {ref!r} (see `e3 audiobooks list`)")
    if len(found) > 1:
        raise UploadError(f"audiobook id prefix {ref!r} is ambiguous; give more digits")
    return found[0]


def delete_audiobook(engine: sa.Engine, foundry: Foundry, ref: str) -> Audiobook:
    """Delete the upload: its row (conversion_jobs cascade), its book (titles row, which cascades
    to audiobook_production, and the foundry folder) and its ``_uploads`` folder."""
    audiobook = find_audiobook(engine, ref)
    book_id = audiobook.book_id
    with Session(engine) as s, s.begin():
        s.execute(sa.delete(Audiobook).where(Audiobook.id == audiobook.id))
        s.execute(sa.delete(Title).where(Title.book_id == book_id))
    foundry.remove_book(book_id)
    shutil.rmtree(foundry.uploads / str(audiobook.id), ignore_errors=True)
    return audiobook


# --- for the web app (e3.web): sign-in, streamed uploads, pages ----------------------------------

# Compared against when the email is unknown, so a miss costs as long as a wrong password.
_DUMMY_HASH = "$argon2id$v=19$m=65536,t=3,p=4$85zxGGH8IOzSedwPRwAKag$IRjLOyBojxj+bVwN2XDCyCW7AZMo9a9oHs+puqkUJAU"


def authenticate(engine: sa.Engine, email: str, password: str) -> User | None:
    """The active user with this email and password, else None (unknown, wrong or inactive alike)."""
    try:
        address = normalize_email(email)
    except UploadError:
        address = None
    with Session(engine, expire_on_commit=False) as s:
        user = find_user(s, address) if address else None
    ok = verify_password(user.password_hash if user else _DUMMY_HASH, password or "")
    if user is None or not ok or not user.is_active:
        return None
    return user


def get_user(engine: sa.Engine, user_id: uuid.UUID) -> User | None:
    with Session(engine, expire_on_commit=False) as s:
        return s.get(User, user_id)


BOOK_TYPES = {"pdf": ".pdf", "epub": ".epub", "txt": ".txt"}
_NAME_TYPES = {".pdf": "pdf", ".epub": "epub", ".txt": "txt", ".text": "txt"}


def detect_book_type(head: bytes) -> str | None:
    """``pdf``, ``epub`` or ``txt`` from a file's first bytes (at least 4 KiB when the file has them)."""
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        return "epub" if b"mimetypeapplication/epub+zip" in head[:200] or b"META-INF/container.xml" in head \
            else None
    if not head or b"\x00" in head:
        return None
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:  # not just a character cut at the end of the sample
            return None
    return "txt"


def safe_file_name(name: str | None) -> str:
    """The last component of an uploaded file name, without control characters (for display only)."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip().lstrip(".")
    return base[:200] or "upload"


def check_book_type(name: str, head: bytes) -> str:
    """The upload's type by content; a name whose extension says otherwise is refused."""
    found = detect_book_type(head)
    if found is None:
        raise UploadError(f"{name}: not a PDF, EPUB or plain-text book")
    claimed = _NAME_TYPES.get(Path(name).suffix.lower())
    if Path(name).suffix and claimed != found:
        raise UploadError(f"{name}: the name says {Path(name).suffix.lower()[1:]} but the content is {found}")
    return found


def store_upload(engine: sa.Engine, foundry: Foundry, user_id: uuid.UUID, received: Path, original_name: str,
                 book_type: str) -> Audiobook:
    """Move a received file to ``_uploads/<id>/book.<ext>`` (E3's name, never the uploaded one) and
    insert the audiobook (pending) and its queued job; ``original_name`` is kept for display."""
    size = _checked_size(original_name, received)
    audiobook_id = uuid.uuid4()
    folder = foundry.uploads / str(audiobook_id)
    folder.mkdir(parents=True, exist_ok=True)
    stored = folder / f"book{BOOK_TYPES[book_type]}"
    shutil.move(str(received), stored)

    def title() -> str:
        parsed = _title_of(stored)
        return Path(original_name).stem[:500] or parsed if parsed == stored.stem else parsed

    return _register(engine, audiobook_id, user_id, stored, original_name, size, title)


def _view(a: Audiobook) -> UploadView:
    job = _latest_job(a)
    return UploadView(id=a.id, book_id=a.book_id, email=a.user.email if a.user else None, title=a.title,
                      original_file_name=a.original_file_name, file_size=a.file_size, status=a.status,
                      progress=job.progress if job else None, job_status=job.status if job else None,
                      error_message=job.error_message if job else None, audio_path=a.audio_path,
                      created_at=a.created_at)


def page_audiobooks(engine: sa.Engine, user_id: uuid.UUID | None, limit: int, offset: int
                    ) -> tuple[list[UploadView], int]:
    """One page of a user's uploads (or everyone's for None), newest first, and the total count."""
    from sqlalchemy.orm import selectinload

    query = sa.select(Audiobook).options(selectinload(Audiobook.conversion_jobs), selectinload(Audiobook.user)) \
        .order_by(Audiobook.created_at.desc(), Audiobook.id)
    count = sa.select(sa.func.count()).select_from(Audiobook)
    if user_id is not None:
        query, count = query.where(Audiobook.user_id == user_id), count.where(Audiobook.user_id == user_id)
    with Session(engine) as s:
        total = s.scalar(count) or 0
        return [_view(a) for a in s.scalars(query.limit(max(0, limit)).offset(max(0, offset)))], total


def audiobook_for(engine: sa.Engine, audiobook_id: uuid.UUID, user_id: uuid.UUID | None) -> UploadView | None:
    """The upload with this id if ``user_id`` owns it (any owner for None), else None."""
    from sqlalchemy.orm import selectinload

    query = sa.select(Audiobook).options(selectinload(Audiobook.conversion_jobs), selectinload(Audiobook.user)) \
        .where(Audiobook.id == audiobook_id)
    if user_id is not None:
        query = query.where(Audiobook.user_id == user_id)
    with Session(engine) as s:
        found = s.scalar(query)
        return _view(found) if found is not None else None
