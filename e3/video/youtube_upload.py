"""Publish a finished channel video to YouTube: connect a channel (OAuth), upload resumably.

Connecting (``e3 channel connect NAME --client-secrets FILE``): Google's OAuth 2.0 flow for
installed apps (``google_auth_oauthlib.flow.InstalledAppFlow.run_local_server``; the Google
Identity docs "OAuth 2.0 for Mobile & Desktop Apps") grants ``youtube.upload`` and ``youtube``;
the refresh token is stored in ``channels.youtube_refresh_token`` encrypted with Fernet
(``cryptography``), the key derived from ``E3_SECRET_KEY`` (SHA-256). It is never printed or logged.

Uploading (``e3 video upload KEY``) follows the YouTube Data API guide "Resumable Uploads"
(developers.google.com/youtube/v3/guides/using_resumable_upload_protocol), with httpx:

1. ``POST /upload/youtube/v3/videos?uploadType=resumable&part=snippet,status`` with the video
   resource and ``X-Upload-Content-Length`` / ``X-Upload-Content-Type``; the session URI is the
   ``Location`` header.
2. ``PUT`` the bytes to it. When the connection drops (or a 5xx), ``PUT`` with
   ``Content-Range: bytes */TOTAL`` asks the status: ``308 Resume Incomplete`` with
   ``Range: bytes=0-N`` means resume from N+1 (no Range: from 0); 200/201 is the video resource.
3. ``POST /upload/youtube/v3/thumbnails/set?videoId=ID`` with ``thumbnail.jpg``.

``upload_strategy`` ``public`` (default) publishes now; ``scheduled`` uploads ``private`` with
``status.publishAt`` = ``scheduled_time``. The job becomes ``completed`` with ``youtube_video_id``
only after YouTube answered with the video id. Settings: ``E3_SECRET_KEY`` (required),
``E3_YOUTUBE_CLIENT_SECRETS`` (the OAuth client JSON), ``E3_YOUTUBE_CATEGORY`` (default 10, Music),
``E3_YOUTUBE_BASE_URL`` / ``E3_YOUTUBE_TOKEN_URL`` (tests).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import sqlalchemy as sa
from sqlalchemy.orm import Session

from e3.config import settings
from e3.errors import ConfigError, E3Error
from e3.providers.http import Redactor, service_message

SCOPES = ["https://www.googleapis.com/auth/youtube.upload", "https://www.googleapis.com/auth/youtube"]
BASE_URL = "https://www.googleapis.com"
TOKEN_URL = "https://oauth2.googleapis.com/token"
CHUNK = 8 * 1024 * 1024
STRATEGIES = ("public", "scheduled")


class UploadError(E3Error):
    """The upload could not be started, finished or confirmed."""


# ------------------------------------------------------------------------------------- the secret

def _fernet():
    from cryptography.fernet import Fernet

    secret = settings().secret_key.get_secret_value() if settings().secret_key else None
    if not secret or len(secret) < 16:
        raise ConfigError("E3_SECRET_KEY must be set (16+ characters) to store YouTube tokens encrypted")
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest()))


def encrypt_token(token: str) -> str:
    return _fernet().encrypt(token.encode()).decode()


def decrypt_token(stored: str) -> str:
    from cryptography.fernet import InvalidToken

    try:
        return _fernet().decrypt(stored.encode()).decode()
    except InvalidToken:
        raise ConfigError("the stored YouTube token does not decrypt with this E3_SECRET_KEY; "
                          "connect the channel again") from None


def client_secrets(path: str | Path | None = None) -> dict:
    """The ``installed`` block of an OAuth client JSON (client_id, client_secret, token_uri)."""
    path = path or settings().youtube_client_secrets
    if not path:
        raise ConfigError("E3_YOUTUBE_CLIENT_SECRETS must name the OAuth client JSON (a Desktop app client)")
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: not a readable OAuth client JSON ({exc.__class__.__name__})") from None
    block = data.get("installed") or data.get("web")
    if not block or not block.get("client_id"):
        raise ConfigError(f"{path}: no installed.client_id (create a Desktop app OAuth client)")
    return block


# ------------------------------------------------------------------------------------- connect

def store_refresh_token(engine: sa.Engine, channel_name: str, refresh_token: str) -> None:
    from e3.studio import channel_by_name

    if not refresh_token:
        raise UploadError("Google returned no refresh token; revoke E3's access and connect again")
    with Session(engine) as s, s.begin():
        channel_by_name(s, channel_name).youtube_refresh_token = encrypt_token(refresh_token)


def connect_channel(engine: sa.Engine, channel_name: str, secrets_file: str | Path | None = None, *,
                    run_flow: Callable | None = None) -> None:
    """Run the installed-app OAuth flow and store the channel's refresh token encrypted."""
    from e3.studio import channel_by_name

    with Session(engine) as s:
        channel_by_name(s, channel_name)  # fail before opening a browser
    _fernet()
    path = secrets_file or settings().youtube_client_secrets
    client_secrets(path)
    if run_flow is None:
        from google_auth_oauthlib.flow import InstalledAppFlow

        def run_flow(p):
            flow = InstalledAppFlow.from_client_secrets_file(str(p), scopes=SCOPES)
            return flow.run_local_server(port=0, access_type="offline", prompt="consent", open_browser=True)

    credentials = run_flow(path)
    store_refresh_token(engine, channel_name, getattr(credentials, "refresh_token", None))


# ------------------------------------------------------------------------------------- upload

def access_token(refresh_token: str, secrets: dict, *, client: httpx.Client) -> str:
    url = settings().youtube_token_url or secrets.get("token_uri") or TOKEN_URL
    redact = Redactor([refresh_token, secrets.get("client_secret")])
    r = client.post(url, data={"grant_type": "refresh_token", "refresh_token": refresh_token,
                               "client_id": secrets["client_id"], "client_secret": secrets.get("client_secret", "")})
    if not r.is_success:
        raise UploadError(redact(f"YouTube: token refresh failed (HTTP {r.status_code}): {service_message(r)}"))
    return r.json()["access_token"]


def video_resource(title: str, description: str, tags: list[str], *, strategy: str | None,
                   scheduled: dt.datetime | None, category: str) -> dict:
    strategy = (strategy or "public").lower()
    if strategy not in STRATEGIES:
        raise UploadError(f"upload_strategy must be one of {', '.join(STRATEGIES)}, not {strategy!r}")
    status: dict = {"privacyStatus": "public", "selfDeclaredMadeForKids": False}
    if strategy == "scheduled":
        if scheduled is None:
            raise UploadError("upload_strategy scheduled needs scheduled_time")
        if scheduled.tzinfo is None:
            scheduled = scheduled.replace(tzinfo=dt.timezone.utc)
        status = {**status, "privacyStatus": "private",
                  "publishAt": scheduled.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
    # YouTube limits: title 100 characters, description 5000 bytes, tags 500 characters in all.
    kept, total = [], 0
    for t in tags:
        total += len(t) + 1
        if total > 500:
            break
        kept.append(t)
    desc = description.encode("utf-8")[:5000].decode("utf-8", "ignore")
    return {"snippet": {"title": title[:100], "description": desc, "tags": kept, "categoryId": category},
            "status": status}


def resumable_upload(client: httpx.Client, token: str, video: Path, resource: dict, *,
                     base_url: str = BASE_URL, chunk: int = CHUNK, retries: int = 8,
                     sleep: Callable[[float], None] = time.sleep, log: Callable[[str], None] = print) -> dict:
    """Upload ``video`` with the resumable protocol (module docstring); returns the video resource."""
    total = video.stat().st_size
    auth = {"Authorization": f"Bearer {token}"}
    redact = Redactor([token])
    r = client.post(f"{base_url}/upload/youtube/v3/videos", params={"uploadType": "resumable", "part": "snippet,status"},
                    json=resource, headers={**auth, "X-Upload-Content-Length": str(total),
                                            "X-Upload-Content-Type": "video/mp4"})
    if not r.is_success or "location" not in r.headers:
        raise UploadError(redact(f"YouTube: starting the upload failed (HTTP {r.status_code}): {service_message(r)}"))
    session = r.headers["location"]
    offset, failures = 0, 0
    with open(video, "rb") as fh:
        while True:
            try:
                if offset < total:
                    fh.seek(offset)
                    data = fh.read(min(chunk, total - offset))
                    r = client.put(session, content=data, headers={
                        **auth, "Content-Length": str(len(data)), "Content-Type": "video/mp4",
                        "Content-Range": f"bytes {offset}-{offset + len(data) - 1}/{total}"})
                else:
                    r = _status(client, session, auth, total)
            except httpx.TransportError as exc:  # dropped connection: ask what arrived
                failures += 1
                if failures > retries:
                    raise UploadError(f"YouTube: the upload keeps failing ({exc.__class__.__name__})") from None
                log(f"upload interrupted at {offset}/{total} bytes ({exc.__class__.__name__}); resuming")
                sleep(min(30.0, 2.0 ** failures))
                try:
                    r = _status(client, session, auth, total)
                except httpx.TransportError:
                    continue
            if r.status_code in (200, 201):
                body = r.json()
                if not body.get("id"):
                    raise UploadError("YouTube: the upload finished without a video id")
                return body
            if r.status_code == 308:
                offset = _acknowledged(r)
                continue
            if r.status_code in (500, 502, 503, 504) and failures < retries:
                failures += 1
                sleep(min(30.0, 2.0 ** failures))
                r = _status(client, session, auth, total)
                if r.status_code == 308:
                    offset = _acknowledged(r)
                    continue
                if r.status_code in (200, 201):
                    return r.json()
            if r.status_code == 404:
                raise UploadError("YouTube: the upload session expired (404); run the upload again")
            raise UploadError(redact(f"YouTube: upload failed (HTTP {r.status_code}): {service_message(r)}"))


def _status(client: httpx.Client, session: str, auth: dict, total: int) -> httpx.Response:
    return client.put(session, content=b"", headers={**auth, "Content-Length": "0",
                                                      "Content-Range": f"bytes */{total}"})


def _acknowledged(response: httpx.Response) -> int:
    """The next byte to send after a 308: the end of ``Range: bytes=0-N`` plus one, else 0."""
    value = response.headers.get("range", "")
    if not value.startswith("bytes=") or "-" not in value:
        return 0
    return int(value.split("-", 1)[1]) + 1


def set_thumbnail(client: httpx.Client, token: str, video_id: str, image: Path, base_url: str = BASE_URL) -> None:
    kind = "image/png" if image.suffix.lower() == ".png" else "image/jpeg"
    r = client.post(f"{base_url}/upload/youtube/v3/thumbnails/set", params={"videoId": video_id},
                    content=image.read_bytes(), headers={"Authorization": f"Bearer {token}", "Content-Type": kind})
    if not r.is_success:
        raise UploadError(Redactor([token])(f"YouTube: setting the thumbnail failed (HTTP {r.status_code}): "
                                            f"{service_message(r)}"))


def channel_connected(engine: sa.Engine, key: str) -> bool:
    """Whether video job KEY's channel has a stored (encrypted) YouTube refresh token."""
    from e3 import studio

    with Session(engine) as s:
        return bool(studio.job_by_key(s, key).channel.youtube_refresh_token)


def upload_job(engine: sa.Engine, key: str, *, transport: httpx.BaseTransport | None = None,
               log: Callable[[str], None] = print, sleep: Callable[[float], None] = time.sleep,
               chunk: int = CHUNK) -> str:
    """Upload job KEY's export folder to its connected channel; returns the YouTube video id.

    Only a ``ready_for_export`` job; it becomes ``completed`` with ``youtube_video_id`` once
    YouTube confirmed the upload. A job that already has a video id is not uploaded again.
    """
    from e3 import studio

    with Session(engine) as s:
        job = studio.job_by_key(s, key)
        channel = job.channel
        stored, name = channel.youtube_refresh_token, channel.name
        status, video_id = job.status, job.youtube_video_id
        strategy, scheduled = job.upload_strategy, job.scheduled_time
        export = Path(job.output_directory) / "export"
    if video_id:
        if status != "completed":
            studio.move(engine, key, "completed")
        return video_id
    if status != "ready_for_export":
        raise UploadError(f"{key} is {status}; only a ready_for_export job can be uploaded")
    if not stored:
        raise UploadError(f"channel {name!r} is not connected; run `e3 channel connect {name!r}`")
    video = export / "video.mp4"
    for f in ("title.txt", "description.txt", "tags.txt", "video.mp4"):
        if not (export / f).is_file():
            raise UploadError(f"{key}: {export / f} is missing; materialize export_package first")
    resource = video_resource((export / "title.txt").read_text(encoding="utf-8").strip(),
                              (export / "description.txt").read_text(encoding="utf-8"),
                              [t for t in (export / "tags.txt").read_text(encoding="utf-8").splitlines() if t.strip()],
                              strategy=strategy, scheduled=scheduled,
                              category=settings().youtube_category)
    base = settings().youtube_base_url.rstrip("/")
    with httpx.Client(timeout=httpx.Timeout(120.0, connect=30.0), transport=transport) as client:
        token = access_token(decrypt_token(stored), client_secrets(), client=client)
        body = resumable_upload(client, token, video, resource, base_url=base, chunk=chunk, sleep=sleep, log=log)
        video_id = body["id"]
        studio.move(engine, key, "ready_for_export", youtube_video_id=video_id)  # confirmed: keep it first
        thumb = export / "thumbnail.jpg"
        if thumb.is_file():
            set_thumbnail(client, token, video_id, thumb, base_url=base)
    studio.move(engine, key, "completed")
    log(f"{key}: uploaded as https://youtu.be/{video_id} ({resource['status']['privacyStatus']})")
    return video_id
