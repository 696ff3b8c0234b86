"""The ASGI app of `e3 serve`: pages and their JSON twins under ``/api/``.

Sign-in checks the Argon2 hash (:func:`e3.uploads.authenticate`); the session is a signed cookie
(:mod:`e3.web.security`); every form and every state-changing API call carries the session's
CSRF token (form field ``csrf_token`` or header ``X-CSRF-Token``). Audiobooks are the signed-in
user's own (a superuser's: everyone's); any other id answers 404. Merges are for superusers only.
"""

from __future__ import annotations

import json
import logging
import math
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import FastAPI, Form, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from e3.errors import E3Error
from e3.web.security import (
    COOKIE_NAME, CSRF_FIELD, CSRF_HEADER, SessionCodec, SignInThrottle, csrf_ok, new_csrf_token,
)
from e3.web.settings import WebSettings

log = logging.getLogger("e3.web")
TEMPLATES = Path(__file__).with_name("templates")
MAX_PER_PAGE = 100
PageQ = Annotated[int, Query(ge=1, le=1_000_000, description="1 is the newest")]
PerPageQ = Annotated[int | None, Query(ge=1, le=MAX_PER_PAGE)]
StatusQ = Annotated[str | None, Query(description="queued, running, completed or failed")]


class WebError(Exception):
    """An answer other than 200: a page (or JSON under /api/) with this status and message."""

    def __init__(self, status: int, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


class NotSignedIn(Exception):
    pass


def _not_found() -> WebError:
    return WebError(404, "not found")


@dataclass
class Context:
    engine: sa.Engine
    foundry: Any
    settings: WebSettings
    spawn_merges: bool = True
    throttle: SignInThrottle = field(default=None)
    codec: SessionCodec = field(default=None)


def create_app(settings: WebSettings | None = None, *, engine: sa.Engine | None = None, foundry=None,
               spawn_merges: bool = True) -> FastAPI:
    """The app; settings, catalog and foundry default to E3's (``E3_SECRET_KEY``, ``E3_WEB_*``).

    ``spawn_merges``: start a child process for each merge created (off in tests)."""
    from e3.cli.core import _engine, _foundry, _settings
    from e3.web.settings import load_web_settings

    settings = settings or load_web_settings()
    if engine is None or foundry is None:
        e3_settings = _settings()
        engine = engine or _engine(e3_settings, migrate=True)
        foundry = foundry or _foundry(e3_settings)
    ctx = Context(engine=engine, foundry=foundry, settings=settings, spawn_merges=spawn_merges,
                  throttle=SignInThrottle(settings.signin_free_attempts, settings.signin_max_delay),
                  codec=SessionCodec(settings.secret_key, settings.session_days * 86400))
    if settings.secret_is_ephemeral:
        log.warning("E3_SECRET_KEY is not set: sessions are signed with a random key and end on restart")
    app = FastAPI(title="E3", version="1", summary="Upload books, get audiobooks; merge audio folders.",
                  docs_url="/api/docs", redoc_url=None, openapi_url="/api/openapi.json")
    app.state.ctx = ctx
    templates = Jinja2Templates(directory=str(TEMPLATES))
    templates.env.globals["csrf_field"] = CSRF_FIELD

    # --- session, errors --------------------------------------------------------------------

    @app.middleware("http")
    async def session_middleware(request: Request, call_next):
        session = ctx.codec.loads(request.cookies.get(COOKIE_NAME))
        dirty = "csrf" not in session
        if dirty:
            session = {"csrf": new_csrf_token()}
        request.state.session, request.state.session_dirty = session, dirty
        response = await call_next(request)
        if request.state.session_dirty:
            response.set_cookie(COOKIE_NAME, ctx.codec.dumps(request.state.session),
                                max_age=ctx.codec.max_age, path="/", httponly=True, samesite="lax",
                                secure=request.url.scheme == "https")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    def is_api(request: Request) -> bool:
        return request.url.path.startswith("/api/")

    def render(request: Request, name: str, status: int = 200, **context) -> HTMLResponse:
        user = getattr(request.state, "user", None) or current_user(request)
        context.update(user=user, csrf=request.state.session.get("csrf"), registration=settings.registration)
        return templates.TemplateResponse(request, name, context, status_code=status)

    def error_response(request: Request, status: int, message: str, headers: dict | None = None) -> Response:
        if is_api(request):
            return JSONResponse({"detail": message}, status_code=status, headers=headers)
        return render(request, "error.html", status=status, message=message, status_code=status)

    @app.exception_handler(WebError)
    async def on_web_error(request: Request, exc: WebError):
        return error_response(request, exc.status, exc.message, exc.headers)

    @app.exception_handler(NotSignedIn)
    async def on_not_signed_in(request: Request, exc: NotSignedIn):
        if is_api(request):
            return JSONResponse({"detail": "sign in first"}, status_code=401)
        return RedirectResponse("/signin", status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(request: Request, exc: StarletteHTTPException):
        return error_response(request, exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError):
        if is_api(request):
            return JSONResponse({"detail": jsonable_errors(exc)}, status_code=422)
        return error_response(request, 422, "; ".join(f"{'.'.join(map(str, e['loc'][1:]))}: {e['msg']}"
                                                      for e in exc.errors()))

    # --- who is asking ------------------------------------------------------------------------

    def current_user(request: Request):
        from e3.uploads import get_user

        if hasattr(request.state, "user"):
            return request.state.user
        user = None
        raw = request.state.session.get("uid")
        if raw:
            try:
                user = get_user(ctx.engine, uuid.UUID(str(raw)))
            except ValueError:
                user = None
            if user is not None and not user.is_active:
                user = None
        request.state.user = user
        return user

    def need_user(request: Request):
        user = current_user(request)
        if user is None:
            raise NotSignedIn()
        return user

    def need_superuser(request: Request):
        user = need_user(request)
        if not user.is_superuser:
            raise _not_found()  # merges do not exist for other users
        return user

    def check_csrf(request: Request, token: str | None) -> None:
        given = request.headers.get(CSRF_HEADER) or token
        if not csrf_ok(request.state.session, given):
            raise WebError(403, "the form has expired or did not come from this site (CSRF token missing "
                                "or wrong); reload the page and try again")

    def set_session(request: Request, data: dict) -> None:
        request.state.session = {**data, "csrf": new_csrf_token()}  # a new token on every sign-in/out
        request.state.session_dirty = True
        if hasattr(request.state, "user"):
            del request.state.user

    # --- accounts ---------------------------------------------------------------------------

    def sign_in(request: Request, email: str, password: str):
        from e3.uploads import authenticate

        address = (email or "").strip().lower()[:255]
        keys = [f"email:{address}", f"ip:{request.client.host if request.client else '-'}"]
        wait = ctx.throttle.wait_seconds(keys)
        if wait > 0:
            seconds = math.ceil(wait)
            raise WebError(429, f"too many failed sign-ins; try again in {seconds} s",
                           {"Retry-After": str(seconds)})
        user = authenticate(ctx.engine, email, password)
        if user is None:
            ctx.throttle.failed(keys)
            log.info("failed sign-in from %s", keys[1][3:])
            raise WebError(401, "wrong email or password, or the account is inactive")
        ctx.throttle.succeeded(keys[:1])
        set_session(request, {"uid": str(user.id)})
        request.state.user = user
        return user

    def register(request: Request, email: str, password: str):
        from e3.uploads import UploadError, add_user

        if not settings.registration:
            raise _not_found()
        try:
            user = add_user(ctx.engine, email, password)
        except UploadError as exc:
            message = str(exc)
            if "already exists" in message:
                message = "that email cannot be registered"
            raise WebError(400, message) from None
        set_session(request, {"uid": str(user.id)})
        request.state.user = user
        return user

    @app.get("/", include_in_schema=False)
    def home(request: Request):
        return RedirectResponse("/audiobooks" if current_user(request) else "/signin", status_code=303)

    @app.get("/signin", include_in_schema=False)
    def signin_page(request: Request):
        return render(request, "signin.html")

    @app.post("/signin", include_in_schema=False)
    def signin_form(request: Request, email: Annotated[str, Form(max_length=255)] = "",
                    password: Annotated[str, Form(max_length=1024)] = "",
                    csrf_token: Annotated[str | None, Form()] = None):
        check_csrf(request, csrf_token)
        try:
            sign_in(request, email, password)
        except WebError as exc:
            return render(request, "signin.html", status=exc.status, error=exc.message, email=email)
        return RedirectResponse("/audiobooks", status_code=303)

    @app.post("/signout", include_in_schema=False)
    def signout_form(request: Request, csrf_token: Annotated[str | None, Form()] = None):
        check_csrf(request, csrf_token)
        set_session(request, {})
        return RedirectResponse("/signin", status_code=303)

    @app.get("/register", include_in_schema=False)
    def register_page(request: Request):
        if not settings.registration:
            raise _not_found()
        return render(request, "register.html")

    @app.post("/register", include_in_schema=False)
    def register_form(request: Request, email: Annotated[str, Form(max_length=255)] = "",
                      password: Annotated[str, Form(max_length=1024)] = "",
                      csrf_token: Annotated[str | None, Form()] = None):
        check_csrf(request, csrf_token)
        try:
            register(request, email, password)
        except WebError as exc:
            if exc.status == 404:
                raise
            return render(request, "register.html", status=exc.status, error=exc.message, email=email)
        return RedirectResponse("/audiobooks", status_code=303)

    def user_json(user) -> dict | None:
        if user is None:
            return None
        return {"id": str(user.id), "email": user.email, "is_superuser": bool(user.is_superuser)}

    @app.get("/api/session", tags=["accounts"], summary="Who is signed in, and the CSRF token")
    def api_session(request: Request):
        return {"user": user_json(current_user(request)), "csrf_token": request.state.session["csrf"],
                "registration": settings.registration}

    @app.post("/api/session", tags=["accounts"], summary="Sign in (JSON email and password)")
    def api_signin(request: Request, body: dict[str, str]):
        check_csrf(request, None)
        user = sign_in(request, body.get("email", ""), body.get("password", ""))
        return {"user": user_json(user), "csrf_token": request.state.session["csrf"]}

    @app.delete("/api/session", tags=["accounts"], summary="Sign out")
    def api_signout(request: Request):
        check_csrf(request, None)
        set_session(request, {})
        return {"user": None, "csrf_token": request.state.session["csrf"]}

    @app.post("/api/users", tags=["accounts"], status_code=201,
              summary="Register (only when E3_WEB_REGISTRATION is on)")
    def api_register(request: Request, body: dict[str, str]):
        check_csrf(request, None)
        user = register(request, body.get("email", ""), body.get("password", ""))
        return {"user": user_json(user), "csrf_token": request.state.session["csrf"]}

    # --- audiobooks -------------------------------------------------------------------------

    def scope_of(user) -> uuid.UUID | None:
        return None if user.is_superuser else user.id

    def parse_id(raw: str) -> uuid.UUID:
        try:
            return uuid.UUID(raw)
        except ValueError:
            raise _not_found() from None

    def audiobook_of(user, raw_id: str):
        from e3.uploads import audiobook_for

        view = audiobook_for(ctx.engine, parse_id(raw_id), scope_of(user))
        if view is None:
            raise _not_found()
        return view

    def srt_path(view) -> Path:
        paths = ctx.foundry.book(view.book_id)
        return paths.srt(view.book_id)

    def m4b_path(view) -> Path | None:
        if view.status != "completed" or not view.audio_path:
            return None
        path = Path(view.audio_path)
        return path if path.is_file() else None

    def chapters_of(view) -> list[dict]:
        path = m4b_path(view)
        if path is None:
            return []
        try:
            info = json.loads(path.with_name(path.name + ".json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return []
        return [{"title": c["title"], "start": round(c["start"], 2), "duration": round(c["end"] - c["start"], 2)}
                for c in info.get("chapters", [])]

    def cover_of(view) -> tuple[bytes, str] | None:
        path = m4b_path(view)
        if path is None:
            return None
        try:
            from mutagen.mp4 import MP4, MP4Cover

            covers = (MP4(path).tags or {}).get("covr") or []
        except Exception:  # noqa: BLE001 - no cover is not an error
            return None
        if not covers:
            return None
        kind = "image/png" if covers[0].imageformat == MP4Cover.FORMAT_PNG else "image/jpeg"
        return bytes(covers[0]), kind

    def audiobook_json(view, detail: bool = False) -> dict:
        data = view.as_dict()
        data.pop("audio_path", None)  # server paths stay on the server
        base = f"/api/audiobooks/{view.id}"
        done = m4b_path(view) is not None
        data.update(page_url=f"/audiobooks/{view.id}", audio_url=f"{base}/audio" if done else None,
                    srt_url=f"{base}/subtitles" if done and srt_path(view).is_file() else None,
                    cover_url=f"{base}/cover" if done else None)
        if detail:
            data["chapters"] = chapters_of(view)
            data["finishing"] = view.status in ("completed", "failed") and _run_active(view.id)
        return data

    def page_of(user, page: int, per_page: int) -> dict:
        from e3.uploads import page_audiobooks

        views, total = page_audiobooks(ctx.engine, scope_of(user), per_page, (page - 1) * per_page)
        return {"items": views, "page": page, "per_page": per_page, "total": total,
                "pages": max(1, math.ceil(total / per_page))}

    @app.get("/audiobooks", include_in_schema=False)
    def audiobooks_page(request: Request, page: PageQ = 1, deleted: str | None = None):
        user = need_user(request)
        listing = page_of(user, page, settings.page_size)
        return render(request, "audiobooks.html", listing=listing, deleted=deleted,
                      max_mb=round(settings.max_upload_bytes / 1024 / 1024, 1))

    @app.get("/api/audiobooks", tags=["audiobooks"], summary="Your audiobooks, newest first (superusers: all)")
    def api_audiobooks(request: Request, page: PageQ = 1, per_page: PerPageQ = None):
        user = need_user(request)
        listing = page_of(user, page, per_page or settings.page_size)
        listing["items"] = [audiobook_json(v) for v in listing["items"]]
        return listing

    async def upload(request: Request):
        from e3.uploads import UploadError, check_book_type, safe_file_name, store_upload
        from e3.web.receive import UploadRefused, receive_upload

        user = need_user(request)
        if request.headers.get(CSRF_HEADER):
            check_csrf(request, None)  # refuse before reading the body when the header says who it is
        incoming = ctx.foundry.cache / "incoming-uploads"
        try:
            received = await receive_upload(request, settings.max_upload_bytes, incoming)
        except UploadRefused as exc:
            raise WebError(exc.status, exc.message) from None
        try:
            check_csrf(request, received.fields.get(CSRF_FIELD))
            if received.path is None or not received.file_name:
                raise WebError(400, "choose a PDF, EPUB or TXT file to upload")
            name = safe_file_name(received.file_name)
            try:
                book_type = check_book_type(name, received.head)
                audiobook = await run_in_threadpool(store_upload, ctx.engine, ctx.foundry, user.id, received.path,
                                                    name, book_type)
            except UploadError as exc:
                raise WebError(415 if "content" in str(exc) or "not a PDF" in str(exc) else 400, str(exc)) from None
        finally:
            received.discard()
        log.info("upload %s by user %s (%d bytes)", audiobook.id, user.id, audiobook.file_size)
        return user, audiobook

    @app.post("/audiobooks", include_in_schema=False)
    async def upload_form(request: Request):
        try:
            _, audiobook = await upload(request)
        except WebError as exc:
            if exc.status in (401, 403, 404):
                raise
            user = need_user(request)
            return render(request, "audiobooks.html", status=exc.status, error=exc.message,
                          listing=page_of(user, 1, settings.page_size), deleted=None,
                          max_mb=round(settings.max_upload_bytes / 1024 / 1024, 1))
        return RedirectResponse(f"/audiobooks/{audiobook.id}", status_code=303)

    @app.post("/api/audiobooks", tags=["audiobooks"], status_code=201,
              summary="Upload a book (multipart field `file`: PDF, EPUB or TXT; header X-CSRF-Token)",
              openapi_extra={"requestBody": {"content": {"multipart/form-data": {"schema": {
                  "type": "object", "required": ["file"],
                  "properties": {"file": {"type": "string", "format": "binary"}}}}}}})
    async def api_upload(request: Request):
        from e3.uploads import audiobook_for

        user, audiobook = await upload(request)
        return audiobook_json(audiobook_for(ctx.engine, audiobook.id, None), detail=True)

    @app.get("/audiobooks/{audiobook_id}", include_in_schema=False)
    def audiobook_page(request: Request, audiobook_id: str):
        view = audiobook_of(need_user(request), audiobook_id)
        return render(request, "audiobook.html", book=audiobook_json(view, detail=True))

    @app.get("/api/audiobooks/{audiobook_id}", tags=["audiobooks"],
             summary="One audiobook: status, progress, error, chapters and links")
    def api_audiobook(request: Request, audiobook_id: str):
        return audiobook_json(audiobook_of(need_user(request), audiobook_id), detail=True)

    def audio_response(request: Request, audiobook_id: str, download: bool) -> FileResponse:
        view = audiobook_of(need_user(request), audiobook_id)
        path = m4b_path(view)
        if path is None:
            raise WebError(404, "the audiobook is not ready yet")
        return FileResponse(path, media_type="audio/mp4", filename=f"{view.book_id}.m4b",
                            content_disposition_type="attachment" if download else "inline")

    def srt_response(request: Request, audiobook_id: str) -> FileResponse:
        view = audiobook_of(need_user(request), audiobook_id)
        path = srt_path(view)
        if m4b_path(view) is None or not path.is_file():
            raise WebError(404, "no subtitles yet")
        return FileResponse(path, media_type="application/x-subrip", filename=f"{view.book_id}.srt")

    def cover_response(request: Request, audiobook_id: str) -> Response:
        view = audiobook_of(need_user(request), audiobook_id)
        cover = cover_of(view)
        if cover is None:
            raise WebError(404, "no cover")
        return Response(cover[0], media_type=cover[1], headers={"Cache-Control": "private, max-age=3600"})

    @app.get("/audiobooks/{audiobook_id}/audio.m4b", include_in_schema=False)
    def audio_file(request: Request, audiobook_id: str, download: bool = False):
        return audio_response(request, audiobook_id, download)

    @app.get("/api/audiobooks/{audiobook_id}/audio", tags=["audiobooks"], response_class=FileResponse,
             summary="The m4b (HTTP Range requests work); download=true asks the browser to save it")
    def api_audio_file(request: Request, audiobook_id: str, download: bool = False):
        return audio_response(request, audiobook_id, download)

    @app.get("/audiobooks/{audiobook_id}/subtitles.srt", include_in_schema=False)
    def srt_file(request: Request, audiobook_id: str):
        return srt_response(request, audiobook_id)

    @app.get("/api/audiobooks/{audiobook_id}/subtitles", tags=["audiobooks"], response_class=FileResponse,
             summary="The SRT subtitles")
    def api_srt_file(request: Request, audiobook_id: str):
        return srt_response(request, audiobook_id)

    @app.get("/audiobooks/{audiobook_id}/cover", include_in_schema=False)
    def cover_file(request: Request, audiobook_id: str):
        return cover_response(request, audiobook_id)

    @app.get("/api/audiobooks/{audiobook_id}/cover", tags=["audiobooks"], summary="The cover picture")
    def api_cover_file(request: Request, audiobook_id: str):
        return cover_response(request, audiobook_id)

    def delete(request: Request, audiobook_id: str):
        from e3.uploads import delete_audiobook

        user = need_user(request)
        view = audiobook_of(user, audiobook_id)
        if view.status == "processing":
            raise WebError(409, "the audiobook is being converted; delete it when it has finished")
        if _run_active(view.id):
            raise WebError(409, "the pipeline is still finishing this audiobook (subtitles, checks); "
                                "delete it in a minute")
        delete_audiobook(ctx.engine, ctx.foundry, str(view.id))
        _forget_partition("books", view.book_id)
        log.info("deleted upload %s by user %s", view.id, user.id)
        return view

    @app.post("/audiobooks/{audiobook_id}/delete", include_in_schema=False)
    def delete_form(request: Request, audiobook_id: str, csrf_token: Annotated[str | None, Form()] = None):
        need_user(request)
        check_csrf(request, csrf_token)
        view = delete(request, audiobook_id)
        return RedirectResponse(f"/audiobooks?deleted={view.id}", status_code=303)

    @app.delete("/api/audiobooks/{audiobook_id}", tags=["audiobooks"],
                summary="Delete an audiobook, its conversion jobs and its files")
    def api_delete(request: Request, audiobook_id: str):
        need_user(request)
        check_csrf(request, None)
        view = delete(request, audiobook_id)
        return {"deleted": str(view.id)}

    # --- merges (superusers) ----------------------------------------------------------------

    from e3.catalog.models import MERGE_JOB_STATUSES

    def service():
        from e3.merge.jobs import JobService

        return JobService(ctx.engine, ctx.foundry)

    def merge_listing(status: str | None, page: int, per_page: int) -> dict:
        from e3.catalog.models import MergeJob
        from e3.merge.jobs import JobView
        from sqlalchemy.orm import Session

        if status is not None and status not in MERGE_JOB_STATUSES:
            raise WebError(422, f"status must be one of {', '.join(MERGE_JOB_STATUSES)}")
        count = sa.select(sa.func.count()).select_from(MergeJob)
        if status:
            count = count.where(MergeJob.status == status)
        with Session(ctx.engine) as s:
            total = s.scalar(count) or 0
        jobs = service().get_jobs(status=status, limit=per_page, offset=(page - 1) * per_page)
        return {"items": [JobView.of(j).as_dict() for j in jobs], "status": status, "page": page,
                "per_page": per_page, "total": total, "pages": max(1, math.ceil(total / per_page))}

    def merge_of(raw_id: str) -> dict:
        from e3.merge.jobs import JobView, read_progress

        job = service().get_job(parse_id(raw_id))
        if job is None:
            raise _not_found()
        data = JobView.of(job).as_dict()
        data["options"] = service().options(job).to_dict()
        progress = read_progress(ctx.foundry.merge_job(data["key"]))
        data["progress"] = {"done": progress[0], "total": progress[1]} if progress else None
        data["output_url"] = (f"/api/merges/{job.id}/output" if job.status == "completed" and job.output_file
                              and Path(job.output_file).is_file() else None)
        return data

    def create_merge(folders: list[str], title: str | None, author: str | None, chapters: str,
                     normalize: bool) -> dict:
        from e3.merge.jobs import CHAPTER_MODES, merge_roots, partition_key, validate_folders
        from e3.web.worker import spawn_merge

        roots = merge_roots(network=True)
        if not roots:
            raise WebError(400, "E3_MERGE_ROOTS is not set: the web app merges only folders inside it")
        folders = [f.strip() for f in folders if f.strip()]
        if chapters not in CHAPTER_MODES:
            raise WebError(422, f"chapters must be one of {', '.join(CHAPTER_MODES)}")
        try:
            dirs = validate_folders(folders, roots)
            job = service().create_job(dirs, None, title=title or None, author=author or None, chapters=chapters,
                                       loudness=normalize)
        except E3Error as exc:
            raise WebError(400, str(exc)) from None
        key = partition_key(job)
        if ctx.spawn_merges:
            spawn_merge(key, ctx.foundry.merge_job(key))
        return merge_of(str(job.id))

    def delete_merge(raw_id: str) -> str:
        from e3.merge.jobs import partition_key

        job = service().get_job(parse_id(raw_id))
        if job is None:
            raise _not_found()
        if job.status == "running":
            raise WebError(409, "the merge is running; delete it when it has finished")
        service().delete_job(job.id)
        _forget_partition("merges", partition_key(job))
        return str(job.id)

    @app.get("/merges", include_in_schema=False)
    def merges_page(request: Request, status: StatusQ = None, page: PageQ = 1, cleared: int | None = None):
        need_superuser(request)
        return render(request, "merges.html", listing=merge_listing(status or None, page, settings.page_size),
                      statuses=MERGE_JOB_STATUSES, roots=_roots(), cleared=cleared)

    @app.get("/api/merges", tags=["merges"], summary="Merge jobs, newest first, optionally of one status")
    def api_merges(request: Request, status: StatusQ = None, page: PageQ = 1, per_page: PerPageQ = None):
        need_superuser(request)
        return merge_listing(status or None, page, per_page or settings.page_size)

    @app.post("/merges", include_in_schema=False)
    def merge_form(request: Request, folders: Annotated[str, Form(max_length=20000)] = "",
                   title: Annotated[str, Form(max_length=500)] = "", author: Annotated[str, Form(max_length=500)] = "",
                   chapters: Annotated[str, Form()] = "per-file", normalize: Annotated[bool, Form()] = False,
                   csrf_token: Annotated[str | None, Form()] = None):
        need_superuser(request)
        check_csrf(request, csrf_token)
        try:
            job = create_merge(folders.splitlines(), title, author, chapters, normalize)
        except WebError as exc:
            return render(request, "merges.html", status=exc.status, error=exc.message, statuses=MERGE_JOB_STATUSES,
                          listing=merge_listing(None, 1, settings.page_size), roots=_roots(), cleared=None,
                          form={"folders": folders, "title": title, "author": author})
        return RedirectResponse(f"/merges/{job['id']}", status_code=303)

    @app.post("/api/merges", tags=["merges"], status_code=201,
              summary="Create a merge from folders inside E3_MERGE_ROOTS (JSON: folders, title, author, "
                      "chapters, normalize)")
    def api_merge_create(request: Request, body: dict[str, Any]):
        need_superuser(request)
        check_csrf(request, None)
        folders = body.get("folders")
        if not isinstance(folders, list) or not all(isinstance(f, str) for f in folders):
            raise WebError(422, "folders must be a list of folder paths")
        return create_merge(folders, body.get("title"), body.get("author"), body.get("chapters") or "per-file",
                            bool(body.get("normalize")))

    @app.post("/merges/clear", include_in_schema=False)
    def merges_clear_form(request: Request, days: Annotated[int, Form(ge=0, le=100000)] = 30,
                          csrf_token: Annotated[str | None, Form()] = None):
        need_superuser(request)
        check_csrf(request, csrf_token)
        removed = service().clear_old_jobs(days_old=days)
        return RedirectResponse(f"/merges?cleared={removed}", status_code=303)

    @app.post("/api/merges/clear", tags=["merges"],
              summary="Delete completed and failed merges that ended more than `days` days ago")
    def api_merges_clear(request: Request, days: Annotated[int, Query(ge=0, le=100000)] = 30):
        need_superuser(request)
        check_csrf(request, None)
        return {"deleted": service().clear_old_jobs(days_old=days), "days": days}

    @app.get("/merges/{job_id}", include_in_schema=False)
    def merge_page(request: Request, job_id: str):
        need_superuser(request)
        return render(request, "merge.html", job=merge_of(job_id))

    @app.get("/api/merges/{job_id}", tags=["merges"], summary="One merge job with its log and progress")
    def api_merge(request: Request, job_id: str):
        need_superuser(request)
        return merge_of(job_id)

    @app.get("/api/merges/{job_id}/output", tags=["merges"], response_class=FileResponse,
             summary="The merged m4b (HTTP Range requests work)")
    def api_merge_output(request: Request, job_id: str):
        need_superuser(request)
        job = merge_of(job_id)
        if not job["output_url"]:
            raise WebError(404, "the merge has no output yet")
        return FileResponse(job["output_file"], media_type="audio/mp4", filename=Path(job["output_file"]).name)

    @app.post("/merges/{job_id}/delete", include_in_schema=False)
    def merge_delete_form(request: Request, job_id: str, csrf_token: Annotated[str | None, Form()] = None):
        need_superuser(request)
        check_csrf(request, csrf_token)
        delete_merge(job_id)
        return RedirectResponse("/merges", status_code=303)

    @app.delete("/api/merges/{job_id}", tags=["merges"], summary="Delete one merge job (not a running one)")
    def api_merge_delete(request: Request, job_id: str):
        need_superuser(request)
        check_csrf(request, None)
        return {"deleted": delete_merge(job_id)}

    # --- channel videos (superusers): the finished ones, with their thumbnails -----------------

    def video_listing(page: int, per_page: int) -> dict:
        from e3.catalog.models import VideoJob
        from e3.studio import video_job_partition_key
        from sqlalchemy.orm import Session

        done = VideoJob.status.in_(("ready_for_export", "completed"))
        with Session(ctx.engine) as s:
            total = s.scalar(sa.select(sa.func.count()).select_from(VideoJob).where(done)) or 0
            jobs = s.scalars(sa.select(VideoJob).where(done).order_by(VideoJob.created_at.desc())
                             .limit(per_page).offset((page - 1) * per_page)).all()
            items = []
            for job in jobs:
                key = video_job_partition_key(job.id)
                thumb = _video_thumbnail(job)
                items.append({"key": key, "status": job.status, "mood": job.mood_keywords,
                              "minutes": job.target_duration_minutes,
                              "created_at": job.created_at.isoformat() if job.created_at else None,
                              "thumbnail_url": f"/api/videos/{key}/thumbnail" if thumb else None})
        return {"items": items, "page": page, "per_page": per_page, "total": total,
                "pages": max(1, math.ceil(total / per_page))}

    def video_job(key: str):
        from e3.studio import StudioError, job_by_key
        from sqlalchemy.orm import Session

        with Session(ctx.engine) as s:
            try:
                job = job_by_key(s, key)
            except StudioError:
                raise _not_found() from None
            if job.status not in ("ready_for_export", "completed"):
                raise _not_found()
            s.expunge(job)
            return job

    @app.get("/videos", include_in_schema=False)
    def videos_page(request: Request, page: PageQ = 1):
        need_superuser(request)
        return render(request, "videos.html", listing=video_listing(page, settings.page_size))

    @app.get("/api/videos", tags=["videos"], summary="Finished channel videos, newest first, with thumbnails")
    def api_videos(request: Request, page: PageQ = 1, per_page: PerPageQ = None):
        need_superuser(request)
        return video_listing(page, per_page or settings.page_size)

    @app.get("/api/videos/{key}/thumbnail", tags=["videos"], response_class=FileResponse,
             summary="A finished channel video's 1280x720 YouTube thumbnail")
    def api_video_thumbnail(request: Request, key: str):
        need_superuser(request)
        thumb = _video_thumbnail(video_job(key))
        if thumb is None:
            raise _not_found()
        return FileResponse(thumb, media_type="image/jpeg")

    return app


def _video_thumbnail(job) -> Path | None:
    """The export package's thumbnail of a channel video job, if it was made."""
    if not job.output_directory:
        return None
    thumb = Path(job.output_directory) / "export" / "thumbnail.jpg"
    return thumb if thumb.is_file() else None


def _roots() -> list[str]:
    from e3.merge.jobs import merge_roots

    return [str(r) for r in merge_roots(network=True)]


def jsonable_errors(exc: RequestValidationError) -> list[dict]:
    return [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in exc.errors()]


def _run_active(audiobook_id: uuid.UUID) -> bool:
    """Whether a Dagster run of this upload (tag ``e3/upload``, set by the uploads_sensor) is still going."""
    try:
        import dagster as dg

        from e3.cli.core import dagster_instance

        going = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
                 dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]
        with dagster_instance() as instance:
            return bool(instance.get_run_records(
                filters=dg.RunsFilter(tags={"e3/upload": str(audiobook_id)}, statuses=going), limit=1))
    except Exception:  # noqa: BLE001 - no Dagster instance: nothing is running
        return False


def _forget_partition(name: str, key: str) -> None:
    """Drop a deleted book's or merge's Dagster partition (as the CLI's delete does)."""
    try:
        from e3.cli.core import dagster_instance

        with dagster_instance() as instance:
            if instance.has_dynamic_partition(name, key):
                instance.delete_dynamic_partition(name, key)
    except Exception:  # noqa: BLE001 - the rows and files are gone; a stale partition is harmless
        pass
