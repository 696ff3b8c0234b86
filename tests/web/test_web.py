"""`e3 serve` over HTTP (FastAPI's TestClient): accounts, CSRF, sessions, uploads, ownership,
pagination, Range requests, merges, and no secret in any page, header, log or row."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import sqlite3
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from e3.catalog.models import Audiobook, ConversionJob, MergeJob
from e3.catalog.service import init_catalog
from e3.config import load_settings
from e3.foundry import Foundry
from e3.uploads import add_user
from e3.web.app import create_app
from e3.web.security import COOKIE_NAME, SignInThrottle
from e3.web.settings import WebSettings

PASSWORD = "Corr3ct-Horse-Battery-Staple"
SECRET = "test-secret-key-" + "k" * 40
API_KEY = "sk-test-DO-NOT-LEAK-0123456789abcdef"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture
def web(e3_env, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    monkeypatch.setenv("E3_MERGE_ROOTS", str(e3_env / "audio"))
    engine = init_catalog(load_settings().database_url)
    foundry = Foundry(e3_env / "foundry")
    foundry.ensure()
    users = {
        "alice": add_user(engine, "alice@example.com", PASSWORD),
        "bob": add_user(engine, "bob@example.com", PASSWORD),
        "root": add_user(engine, "root@example.com", PASSWORD, superuser=True),
        "gone": add_user(engine, "gone@example.com", PASSWORD, active=False),
    }

    def make(**overrides):
        settings = WebSettings(secret_key=SECRET, **overrides)
        return create_app(settings, engine=engine, foundry=foundry, spawn_merges=False)

    class Web:
        pass

    w = Web()
    w.engine, w.foundry, w.users, w.make, w.root = engine, foundry, users, make, e3_env
    w.app = make()
    return w


def csrf(client) -> str:
    return client.get("/api/session").json()["csrf_token"]


def signed_in(app, who: str, base_url: str = "http://testserver") -> TestClient:
    client = TestClient(app, base_url=base_url)
    r = client.post("/signin", data={"email": f"{who}@example.com", "password": PASSWORD,
                                     "csrf_token": csrf(client)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/audiobooks", r.text
    return client


def upload(client, name="book.pdf", content=PDF, *, token=True):
    headers = {"X-CSRF-Token": csrf(client)} if token else {}
    return client.post("/api/audiobooks", files={"file": (name, content, "application/octet-stream")},
                       headers=headers)


def completed(w, audiobook_id: str, size: int = 10_000) -> Path:
    """Mark an upload done with a fake m4b (bytes 0..255 repeated), its chapters and SRT."""
    with Session(w.engine) as s:
        book = s.get(Audiobook, uuid.UUID(audiobook_id))
        book_id = book.book_id
    paths = w.foundry.book(book_id)
    paths.make_tree()
    m4b = paths.m4b(book_id)
    m4b.write_bytes(bytes(i % 256 for i in range(size)))
    m4b.with_name(m4b.name + ".json").write_text(json.dumps(
        {"chapters": [{"title": "One", "start": 0.0, "end": 61.5}, {"title": "Two", "start": 61.5, "end": 90.0}]}))
    (paths.subtitles / f"{book_id}.srt").write_text("1\n00:00:00,000 --> 00:00:01,000\nHello.\n")
    with Session(w.engine) as s, s.begin():
        s.execute(sa.update(Audiobook).where(Audiobook.id == uuid.UUID(audiobook_id))
                  .values(status="completed", audio_path=str(m4b)))
        s.execute(sa.update(ConversionJob).where(ConversionJob.audiobook_id == uuid.UUID(audiobook_id))
                  .values(status="completed", progress=100))
    return m4b


# --- accounts -------------------------------------------------------------------------------------


def test_sign_in_success_sets_a_signed_httponly_lax_cookie_and_secure_over_https(web):
    client = signed_in(web.app, "alice")
    cookie = next(c for c in client.cookies.jar if c.name == COOKIE_NAME)
    raw = [h for h in client.post("/api/session", json={"email": "alice@example.com", "password": PASSWORD},
                                  headers={"X-CSRF-Token": csrf(client)}).headers.get_list("set-cookie")
           if h.startswith(COOKIE_NAME)][0]
    assert "httponly" in raw.lower() and "samesite=lax" in raw.lower() and "secure" not in raw.lower()
    assert PASSWORD not in cookie.value and SECRET not in cookie.value
    page = client.get("/audiobooks")
    assert page.status_code == 200 and "alice@example.com" in page.text
    assert client.get("/api/session").json()["user"]["email"] == "alice@example.com"

    https = TestClient(web.app, base_url="https://testserver")
    r = https.post("/signin", data={"email": "alice@example.com", "password": PASSWORD, "csrf_token": csrf(https)},
                   follow_redirects=False)
    assert r.status_code == 303
    assert any(h.startswith(COOKIE_NAME) and "; secure" in h.lower() for h in r.headers.get_list("set-cookie"))

    # Sign out: the session no longer knows the user.
    assert client.post("/signout", data={"csrf_token": csrf(client)}, follow_redirects=False).status_code == 303
    assert client.get("/api/session").json()["user"] is None
    assert client.get("/audiobooks", follow_redirects=False).headers["location"] == "/signin"
    assert client.get("/api/audiobooks").status_code == 401


def test_sign_in_failure_says_the_same_for_a_wrong_password_an_unknown_email_and_an_inactive_user(web):
    client = TestClient(web.make(signin_free_attempts=10))  # six failures here, none slowed
    answers = []
    for email, password in [("alice@example.com", "wrong-password"), ("nobody@example.com", PASSWORD),
                            ("gone@example.com", PASSWORD)]:
        r = client.post("/signin", data={"email": email, "password": password, "csrf_token": csrf(client)})
        assert r.status_code == 401
        answers.append(r.text.replace(email, "EMAIL"))
        api = client.post("/api/session", json={"email": email, "password": password},
                          headers={"X-CSRF-Token": csrf(client)})
        assert api.status_code == 401 and api.json()["detail"] == \
            "wrong email or password, or the account is inactive"
    assert answers[0] == answers[1] == answers[2]
    assert client.get("/api/session").json()["user"] is None


def test_a_user_made_inactive_after_signing_in_is_signed_out(web):
    client = signed_in(web.app, "bob")
    with Session(web.engine) as s, s.begin():
        s.get(type(web.users["bob"]), web.users["bob"].id).is_active = False
    assert client.get("/api/audiobooks").status_code == 401


def test_repeated_failed_sign_ins_are_slowed_per_account_and_per_address(web):
    app = web.make(signin_free_attempts=3)
    client = TestClient(app)
    for _ in range(3):
        assert client.post("/api/session", json={"email": "alice@example.com", "password": "bad-password"},
                           headers={"X-CSRF-Token": csrf(client)}).status_code == 401
    slowed = client.post("/api/session", json={"email": "alice@example.com", "password": PASSWORD},
                         headers={"X-CSRF-Token": csrf(client)})
    assert slowed.status_code == 429 and int(slowed.headers["retry-after"]) >= 1
    # The address is slowed too, for every email, known or not, with the same answer.
    other = client.post("/api/session", json={"email": "nobody@example.com", "password": PASSWORD},
                        headers={"X-CSRF-Token": csrf(client)})
    assert other.status_code == 429 and other.json()["detail"] == slowed.json()["detail"]

    now = [1000.0]
    throttle = SignInThrottle(free=2, max_delay=60, clock=lambda: now[0])
    throttle.failed(["email:a", "ip:1"])
    throttle.failed(["email:a", "ip:2"])
    assert throttle.wait_seconds(["email:a", "ip:3"]) == 1.0  # per account, from any address
    assert throttle.wait_seconds(["email:b", "ip:3"]) == 0.0
    throttle.failed(["email:a", "ip:1"])
    assert throttle.wait_seconds(["email:a", "ip:3"]) == 2.0  # doubles
    now[0] += 2.5
    assert throttle.wait_seconds(["email:a", "ip:3"]) == 0.0
    for _ in range(20):
        throttle.failed(["email:c", "ip:9"])
    assert throttle.wait_seconds(["email:z", "ip:9"]) == 60.0  # per address, capped


def test_csrf_missing_or_wrong_is_refused_on_every_form_and_api_call(web):
    anon = TestClient(web.app)
    assert anon.post("/signin", data={"email": "alice@example.com", "password": PASSWORD}).status_code == 403
    assert anon.post("/signin", data={"email": "alice@example.com", "password": PASSWORD,
                                      "csrf_token": "forged"}).status_code == 403
    assert anon.post("/api/session", json={"email": "alice@example.com", "password": PASSWORD}).status_code == 403
    assert anon.get("/api/session").json()["user"] is None

    client = signed_in(web.app, "alice")
    book = upload(client).json()["id"]
    other = TestClient(web.app)
    foreign_token = csrf(other)  # a valid token, but of another session
    for token in (None, "wrong", foreign_token):
        data = {"csrf_token": token} if token else {}
        headers = {"X-CSRF-Token": token} if token else {}
        assert client.post("/signout", data=data).status_code == 403
        assert client.post(f"/audiobooks/{book}/delete", data=data).status_code == 403
        assert client.delete(f"/api/audiobooks/{book}", headers=headers).status_code == 403
        assert client.post("/audiobooks", data=data, files={"file": ("b.pdf", PDF)}).status_code == 403
        assert client.post("/api/audiobooks", headers=headers, files={"file": ("b.pdf", PDF)}).status_code == 403
    root = signed_in(web.app, "root")
    assert root.post("/merges", data={"folders": str(web.root)}).status_code == 403
    assert root.post("/merges/clear", data={"days": 1}).status_code == 403
    assert root.post("/api/merges/clear").status_code == 403
    assert root.post("/api/merges", json={"folders": []}).status_code == 403
    assert client.get("/api/audiobooks").json()["total"] == 1  # nothing was uploaded or deleted
    assert client.get("/api/session").json()["user"]["email"] == "alice@example.com"


def test_a_tampered_or_forged_session_cookie_is_an_anonymous_session(web):
    from itsdangerous import URLSafeTimedSerializer

    client = signed_in(web.app, "alice")
    value = client.cookies.get(COOKIE_NAME)
    payload, rest = value.split(".", 1)
    for forged in (payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB") + "." + rest,
                   value[:-3] + ("xyz" if value[-3:] != "xyz" else "abc"),
                   URLSafeTimedSerializer("another-key-" + "x" * 40, salt="e3-web-session").dumps(
                       {"uid": str(web.users["root"].id), "csrf": "t"}),
                   "garbage"):
        c = TestClient(web.app)
        c.cookies.set(COOKIE_NAME, forged)
        assert c.get("/api/session").json()["user"] is None
        assert c.get("/api/audiobooks").status_code == 401
        assert c.get("/audiobooks", follow_redirects=False).status_code == 303


def test_registration_is_off_by_default_and_a_setting_turns_it_on(web):
    client = TestClient(web.app)
    assert client.get("/register").status_code == 404
    assert client.post("/api/users", json={"email": "new@example.com", "password": PASSWORD},
                       headers={"X-CSRF-Token": csrf(client)}).status_code == 404
    open_app = TestClient(web.make(registration=True))
    r = open_app.post("/api/users", json={"email": "new@example.com", "password": PASSWORD},
                      headers={"X-CSRF-Token": csrf(open_app)})
    assert r.status_code == 201 and r.json()["user"]["email"] == "new@example.com"
    assert not r.json()["user"]["is_superuser"]
    taken = open_app.post("/api/users", json={"email": "alice@example.com", "password": PASSWORD},
                          headers={"X-CSRF-Token": csrf(open_app)})
    assert taken.status_code == 400 and "alice" not in taken.text and "exists" not in taken.text


def test_prod_refuses_to_start_without_a_secret_key(web, monkeypatch):
    from e3.cli import main
    from e3.errors import ConfigError
    from e3.web.settings import load_web_settings

    monkeypatch.setenv("E3_ENV", "prod")
    monkeypatch.delenv("E3_SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="E3_SECRET_KEY"):
        load_web_settings()
    result = CliRunner().invoke(main, ["serve", "--port", "8765"])
    assert result.exit_code == 1 and "E3_SECRET_KEY" in result.output
    monkeypatch.setenv("E3_SECRET_KEY", "short")
    with pytest.raises(ConfigError, match="at least 32"):
        load_web_settings()
    monkeypatch.setenv("E3_SECRET_KEY", SECRET)
    assert load_web_settings().secret_key == SECRET
    monkeypatch.setenv("E3_ENV", "alpha")
    monkeypatch.delenv("E3_SECRET_KEY")
    alpha = load_web_settings()
    assert alpha.secret_is_ephemeral and len(alpha.secret_key) >= 32 and not alpha.registration
    assert alpha.max_upload_bytes == 200 * 1024 * 1024
    assert SECRET not in repr(load_web_settings())


# --- uploads --------------------------------------------------------------------------------------


def test_an_upload_is_stored_under_e3s_own_name_and_a_path_in_the_name_goes_nowhere(web):
    client = signed_in(web.app, "alice")
    r = upload(client, name="../../x.pdf")
    assert r.status_code == 201, r.text
    data = r.json()
    assert data["status"] == "pending" and data["progress"] == 0 and data["original_file_name"] == "x.pdf"
    assert "audio_path" not in data and "pdf_path" not in data
    folder = web.foundry.uploads / data["id"]
    assert [p.name for p in folder.iterdir()] == ["book.pdf"] and (folder / "book.pdf").read_bytes() == PDF
    assert not (web.root / "x.pdf").exists() and not (web.foundry.root / "x.pdf").exists()
    assert not list(web.root.rglob("x.pdf"))
    r = upload(client, name="..\\..\\evil\\notes.txt", content=b"Chapter one.\n\nIt was a dark night.\n")
    assert r.status_code == 201 and r.json()["original_file_name"] == "notes.txt"
    assert (web.foundry.uploads / r.json()["id"] / "book.txt").is_file()
    # the HTML form too: a redirect to the new audiobook's page
    page = client.post("/audiobooks", data={"csrf_token": csrf(client)}, files={"file": ("A Book.pdf", PDF)},
                       follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/audiobooks/")
    assert client.get(page.headers["location"]).status_code == 200


def test_the_type_is_checked_by_content_not_by_name(web):
    client = signed_in(web.app, "alice")
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64
    for name, content in [("fake.pdf", png), ("fake.pdf", b"just some text, not a PDF"),
                          ("fake.epub", b"PK\x03\x04" + b"\x00" * 100), ("fake.txt", PDF), ("noext", png)]:
        r = upload(client, name=name, content=content)
        assert r.status_code == 415, (name, r.text)
    form = client.post("/audiobooks", data={"csrf_token": csrf(client)}, files={"file": ("fake.pdf", png)})
    assert form.status_code == 415 and "not a PDF" in form.text
    assert upload(client, name="book", content=PDF).status_code == 201  # no extension: the content decides
    assert client.get("/api/audiobooks").json()["total"] == 1
    assert [p.name for p in web.foundry.uploads.iterdir()] == [client.get("/api/audiobooks").json()["items"][0]["id"]]


def test_an_upload_over_the_size_limit_is_refused_and_nothing_is_kept(web):
    client = TestClient(web.make(max_upload_bytes=1000))
    client.post("/signin", data={"email": "alice@example.com", "password": PASSWORD, "csrf_token": csrf(client)})
    assert upload(client, content=PDF + b"x" * 2000).status_code == 413
    assert upload(client, content=PDF + b"x" * (10 * 1024 * 1024)).status_code == 413  # by Content-Length
    assert upload(client, content=PDF + b"x" * 500).status_code == 201
    assert client.get("/api/audiobooks").json()["total"] == 1
    incoming = web.foundry.cache / "incoming-uploads"
    assert not incoming.exists() or not list(incoming.iterdir())


def test_the_size_limit_stops_reading_the_body_while_it_streams(tmp_path):
    from e3.web.receive import UploadRefused, receive_upload

    boundary = "xyzBOUNDARY"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\n"
            "Content-Type: application/pdf\r\n\r\n").encode()
    read = []

    class Request:
        headers = {"content-type": f"multipart/form-data; boundary={boundary}"}  # no Content-Length

        async def stream(self):
            yield head
            for i in range(1000):  # 64 MB if read to the end
                read.append(i)
                yield b"%PDF" + b"x" * 65532

    with pytest.raises(UploadRefused) as refused:
        asyncio.run(receive_upload(Request(), 100_000, tmp_path / "in"))
    assert refused.value.status == 413 and len(read) <= 3
    assert not list((tmp_path / "in").iterdir())


# --- ownership ------------------------------------------------------------------------------------


def test_another_users_ids_answer_404_on_every_route_and_a_superuser_sees_everything(web):
    alice, bob, root = (signed_in(web.app, who) for who in ("alice", "bob", "root"))
    book = upload(alice).json()["id"]
    m4b = completed(web, book)
    routes = [f"/audiobooks/{book}", f"/api/audiobooks/{book}", f"/audiobooks/{book}/audio.m4b",
              f"/api/audiobooks/{book}/audio", f"/audiobooks/{book}/subtitles.srt",
              f"/api/audiobooks/{book}/subtitles", f"/audiobooks/{book}/cover", f"/api/audiobooks/{book}/cover"]
    for route in routes:
        assert bob.get(route).status_code == 404, route
        assert bob.get(route, headers={"Range": "bytes=0-9"}).status_code == 404, route
    assert bob.post(f"/audiobooks/{book}/delete", data={"csrf_token": csrf(bob)}).status_code == 404
    assert bob.delete(f"/api/audiobooks/{book}", headers={"X-CSRF-Token": csrf(bob)}).status_code == 404
    assert bob.get("/api/audiobooks").json()["total"] == 0 and book not in bob.get("/audiobooks").text
    for bad in ("not-a-uuid", str(uuid.uuid4()), book.replace("-", "")[:8]):
        assert alice.get(f"/api/audiobooks/{bad}").status_code == 404
    # Merges are the superuser's: for anyone else they do not exist.
    job = root.post("/api/merges", json={"folders": [str(_audio_folder(web))]},
                    headers={"X-CSRF-Token": csrf(root)}).json()["id"]
    for route in ("/merges", "/api/merges", f"/merges/{job}", f"/api/merges/{job}", f"/api/merges/{job}/output"):
        assert bob.get(route).status_code == 404, route
    assert bob.post(f"/merges/{job}/delete", data={"csrf_token": csrf(bob)}).status_code == 404
    assert bob.delete(f"/api/merges/{job}", headers={"X-CSRF-Token": csrf(bob)}).status_code == 404
    assert bob.post("/api/merges/clear", headers={"X-CSRF-Token": csrf(bob)}).status_code == 404
    assert bob.post("/api/merges", json={"folders": []}, headers={"X-CSRF-Token": csrf(bob)}).status_code == 404
    assert m4b.is_file() and alice.get(f"/api/audiobooks/{book}").status_code == 200

    everything = root.get("/api/audiobooks").json()
    assert everything["total"] == 1 and everything["items"][0]["email"] == "alice@example.com"
    assert root.get(f"/audiobooks/{book}").status_code == 200
    assert root.get(f"/api/audiobooks/{book}/audio").content == m4b.read_bytes()


def test_pagination_newest_first_and_its_bounds(web):
    client = signed_in(web.app, "alice")
    ids = [upload(client, name=f"b{i}.pdf").json()["id"] for i in range(5)]
    base = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    with Session(web.engine) as s, s.begin():
        for i, audiobook_id in enumerate(ids):
            s.execute(sa.update(Audiobook).where(Audiobook.id == uuid.UUID(audiobook_id))
                      .values(created_at=base + dt.timedelta(minutes=i)))
    pages = [client.get("/api/audiobooks", params={"page": p, "per_page": 2}).json() for p in (1, 2, 3, 4)]
    assert [len(p["items"]) for p in pages] == [2, 2, 1, 0]
    assert all(p["total"] == 5 and p["pages"] == 3 for p in pages)
    assert [b["id"] for p in pages for b in p["items"]] == ids[::-1]
    for params in ({"page": 0}, {"page": -1}, {"per_page": 0}, {"per_page": 101}, {"page": "x"}):
        assert client.get("/api/audiobooks", params=params).status_code == 422, params
    assert client.get("/audiobooks", params={"page": 0}).status_code == 422
    html = client.get("/audiobooks", params={"page": 1}).text
    assert "Page 1 of 1" in html and html.index("b4.pdf") < html.index("b0.pdf")
    small = TestClient(web.make(page_size=2))
    small.post("/signin", data={"email": "alice@example.com", "password": PASSWORD, "csrf_token": csrf(small)})
    page2 = small.get("/audiobooks", params={"page": 2}).text
    assert "Page 2 of 3" in page2 and "b2.pdf" in page2 and "b4.pdf" not in page2
    assert "Page 9 of 3" in small.get("/audiobooks", params={"page": 9}).text


def test_range_requests_and_downloads(web):
    client = signed_in(web.app, "alice")
    book = upload(client).json()["id"]
    assert client.get(f"/api/audiobooks/{book}/audio").status_code == 404  # not ready yet
    m4b = completed(web, book, size=10_000)
    data = m4b.read_bytes()
    for route in (f"/audiobooks/{book}/audio.m4b", f"/api/audiobooks/{book}/audio"):
        full = client.get(route)
        assert full.status_code == 200 and full.content == data and full.headers["accept-ranges"] == "bytes"
        assert full.headers["content-type"] == "audio/mp4"
        part = client.get(route, headers={"Range": "bytes=100-199"})
        assert part.status_code == 206 and part.content == data[100:200]
        assert part.headers["content-range"] == "bytes 100-199/10000"
        tail = client.get(route, headers={"Range": "bytes=9990-"})
        assert tail.status_code == 206 and tail.content == data[9990:]
        assert client.get(route, headers={"Range": "bytes=-5"}).content == data[-5:]
        assert client.get(route, headers={"Range": "bytes=20000-30000"}).status_code == 416
    attachment = client.get(f"/audiobooks/{book}/audio.m4b", params={"download": "true"})
    assert attachment.headers["content-disposition"].startswith("attachment")
    srt = client.get(f"/audiobooks/{book}/subtitles.srt")
    assert srt.status_code == 200 and "Hello." in srt.text
    detail = client.get(f"/api/audiobooks/{book}").json()
    assert detail["chapters"] == [{"title": "One", "start": 0.0, "duration": 61.5},
                                  {"title": "Two", "start": 61.5, "duration": 28.5}]
    assert detail["audio_url"] and detail["srt_url"] and detail["progress"] == 100
    page = client.get(f"/audiobooks/{book}").text
    assert '<audio id="player"' in page and "1:01" in page and "0:28" in page and 'id="download"' in page


def test_delete_cascades_to_the_jobs_and_removes_the_files(web, monkeypatch):
    client = signed_in(web.app, "alice")
    book = upload(client).json()["id"]
    m4b = completed(web, book)
    stored = web.foundry.uploads / book
    r = client.post(f"/audiobooks/{book}/delete", data={"csrf_token": csrf(client)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/audiobooks?deleted={book}"
    assert not stored.exists() and not m4b.exists() and not m4b.parent.parent.parent.exists()
    with Session(web.engine) as s:
        assert s.get(Audiobook, uuid.UUID(book)) is None
        assert s.scalar(sa.select(sa.func.count()).select_from(ConversionJob)) == 0
    assert client.get(f"/api/audiobooks/{book}").status_code == 404
    second = upload(client).json()["id"]
    with Session(web.engine) as s, s.begin():
        s.execute(sa.update(Audiobook).where(Audiobook.id == uuid.UUID(second)).values(status="processing"))
    assert client.delete(f"/api/audiobooks/{second}", headers={"X-CSRF-Token": csrf(client)}).status_code == 409
    with Session(web.engine) as s, s.begin():
        s.execute(sa.update(Audiobook).where(Audiobook.id == uuid.UUID(second)).values(status="failed"))
        s.execute(sa.update(ConversionJob).where(ConversionJob.audiobook_id == uuid.UUID(second))
                  .values(status="failed", error_message="the PDF has no text layer"))
    assert "the PDF has no text layer" in client.get("/audiobooks").text
    import e3.web.app as web_app

    with monkeypatch.context() as m:
        m.setattr(web_app, "_run_active", lambda audiobook_id: True)  # the run still does its checks
        assert client.get(f"/api/audiobooks/{second}").json()["finishing"] is True
        assert 'id="delete" type="submit" disabled' in client.get(f"/audiobooks/{second}").text
        busy = client.delete(f"/api/audiobooks/{second}", headers={"X-CSRF-Token": csrf(client)})
        assert busy.status_code == 409 and "still finishing" in busy.json()["detail"]
    assert client.delete(f"/api/audiobooks/{second}", headers={"X-CSRF-Token": csrf(client)}).json() == \
        {"deleted": second}


# --- merges ---------------------------------------------------------------------------------------


def _audio_folder(w, name="disc1") -> Path:
    folder = w.root / "audio" / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "01.mp3").write_bytes(b"ID3fake")
    return folder


def test_merges_create_list_filter_page_show_delete_and_clear(web, monkeypatch):
    root = signed_in(web.app, "root")
    token = {"X-CSRF-Token": csrf(root)}
    outside = web.root / "elsewhere"
    outside.mkdir()
    (outside / "a.mp3").write_bytes(b"x")
    refused = root.post("/api/merges", json={"folders": [str(outside)]}, headers=token)
    assert refused.status_code == 400 and "outside the allowed folders" in refused.json()["detail"]
    escape = root.post("/api/merges", json={"folders": [str(web.root / "audio" / ".." / "elsewhere")]}, headers=token)
    assert escape.status_code == 400
    ids = []
    for i in range(3):
        r = root.post("/api/merges", json={"folders": [str(_audio_folder(web, f"d{i}"))], "title": f"T{i}"},
                      headers=token)
        assert r.status_code == 201, r.text
        assert r.json()["status"] == "queued" and r.json()["options"]["title"] == f"T{i}"
        ids.append(r.json()["id"])
    form = root.post("/merges", data={"folders": str(_audio_folder(web, "d3")), "chapters": "per-folder",
                                      "csrf_token": csrf(root)}, follow_redirects=False)
    assert form.status_code == 303
    ids.append(form.headers["location"].rsplit("/", 1)[1])
    from e3.merge.jobs import JobService

    service = JobService(web.engine, web.foundry)
    service.fail(ids[0], "no audio streams in 01.mp3")
    old = dt.datetime.now() - dt.timedelta(days=40)
    service.update_job(ids[0], end_time=old)
    service.finish(ids[1], output_file=str(web.root / "out.m4b"), log="merged 1 file(s)")

    listing = root.get("/api/merges", params={"per_page": 3}).json()
    assert listing["total"] == 4 and listing["pages"] == 2 and len(listing["items"]) == 3
    assert len(root.get("/api/merges", params={"per_page": 3, "page": 2}).json()["items"]) == 1
    failed = root.get("/api/merges", params={"status": "failed"}).json()
    assert [j["id"] for j in failed["items"]] == [ids[0]]
    assert root.get("/api/merges", params={"status": "bogus"}).status_code == 422
    assert root.get("/api/merges", params={"page": 0}).status_code == 422
    assert "failed" in root.get("/merges", params={"status": "failed"}).text
    shown = root.get(f"/api/merges/{ids[0]}").json()
    assert shown["log"] == "no audio streams in 01.mp3" and shown["status"] == "failed"
    assert "no audio streams in 01.mp3" in root.get(f"/merges/{ids[0]}").text
    assert root.get(f"/api/merges/{uuid.uuid4()}").status_code == 404

    service.start(ids[2])
    assert root.delete(f"/api/merges/{ids[2]}", headers=token).status_code == 409
    assert root.delete(f"/api/merges/{ids[3]}", headers=token).json() == {"deleted": ids[3]}
    assert root.post("/api/merges/clear", params={"days": 30}, headers=token).json() == {"deleted": 1, "days": 30}
    remaining = {j["id"] for j in root.get("/api/merges").json()["items"]}
    assert remaining == {ids[1], ids[2]}
    cleared = root.post("/merges/clear", data={"days": 0, "csrf_token": csrf(root)}, follow_redirects=False)
    assert cleared.status_code == 303
    with Session(web.engine) as s:
        assert {str(j.id) for j in s.scalars(sa.select(MergeJob))} == {ids[2]}

    monkeypatch.delenv("E3_MERGE_ROOTS")
    unset = root.post("/api/merges", json={"folders": [str(_audio_folder(web))]}, headers=token)
    assert unset.status_code == 400 and "E3_MERGE_ROOTS" in unset.json()["detail"]


# --- API description and secrets -------------------------------------------------------------------


def test_every_page_has_a_json_twin_in_the_openapi_description(web):
    spec = TestClient(web.app).get("/api/openapi.json").json()
    paths = set(spec["paths"])
    assert {"/api/session", "/api/users", "/api/audiobooks", "/api/audiobooks/{audiobook_id}",
            "/api/audiobooks/{audiobook_id}/audio", "/api/audiobooks/{audiobook_id}/subtitles",
            "/api/audiobooks/{audiobook_id}/cover", "/api/merges", "/api/merges/{job_id}",
            "/api/merges/clear"} <= paths
    assert all(p.startswith("/api/") for p in paths)
    assert TestClient(web.app).get("/api/docs").status_code == 200


def test_no_password_session_secret_or_api_key_in_any_log_page_header_or_row(web, caplog):
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []

    def keep(r):
        seen.append(r.text if "text" in r.headers.get("content-type", "") or "json" in
                    r.headers.get("content-type", "") else "")
        seen.append(json.dumps(dict(r.headers)))
        return r

    anon = TestClient(web.app)
    keep(anon.get("/signin"))
    keep(anon.post("/signin", data={"email": "alice@example.com", "password": PASSWORD + "x",
                                    "csrf_token": csrf(anon)}))
    client = signed_in(web.app, "alice")
    root = signed_in(web.app, "root")
    book = keep(upload(client)).json()["id"]
    completed(web, book)
    for route in ("/audiobooks", f"/audiobooks/{book}", "/api/audiobooks", f"/api/audiobooks/{book}",
                  "/api/session", "/api/openapi.json", f"/audiobooks/{book}/subtitles.srt"):
        keep(client.get(route))
    keep(root.post("/api/merges", json={"folders": [str(_audio_folder(web))]}, headers={"X-CSRF-Token": csrf(root)}))
    for route in ("/merges", "/api/merges"):
        keep(root.get(route))
    seen.extend(c.value for c in client.cookies.jar)
    web.engine.dispose()
    with sqlite3.connect(web.root / "catalog.db") as conn:
        seen.append("\n".join(conn.iterdump()))
    seen.extend(p.read_text(errors="replace") for p in web.foundry.root.rglob("*.json"))
    seen.append(caplog.text)
    everything = "\n".join(seen)
    assert "alice@example.com" in everything and book in everything  # the grep does see the data
    for secret in (PASSWORD, SECRET, API_KEY):
        assert secret not in everything


@pytest.mark.slow
def test_a_merge_created_over_http_really_runs_in_its_child_process(web):
    import time

    from tests.media.helpers import speech_like

    folder = web.root / "audio" / "real"
    folder.mkdir(parents=True)
    for i in (1, 2):
        speech_like(folder / f"{i:02d} Part {i}.mp3", 0.6, seed=i, codec_args=["-c:a", "libmp3lame", "-b:a", "48k"])
    app = create_app(WebSettings(secret_key=SECRET), engine=web.engine, foundry=web.foundry, spawn_merges=True)
    root = signed_in(app, "root")
    job = root.post("/api/merges", json={"folders": [str(folder)], "title": "Two Parts"},
                    headers={"X-CSRF-Token": csrf(root)})
    assert job.status_code == 201, job.text
    job_id = job.json()["id"]
    deadline = time.monotonic() + 240
    while (shown := root.get(f"/api/merges/{job_id}").json())["status"] in ("queued", "running"):
        assert time.monotonic() < deadline, shown
        time.sleep(1)
    worker_log = web.foundry.merge_job(shown["key"]) / "worker.log"
    assert shown["status"] == "completed", (shown, worker_log.read_text(errors="replace")[-2000:])
    assert "2 file(s)" in shown["log"] and shown["output_url"]
    out = root.get(shown["output_url"], headers={"Range": "bytes=0-11"})
    assert out.status_code == 206 and out.content[4:8] == b"ftyp"
    assert "completed" in root.get(f"/merges/{job_id}").text


def test_finished_channel_videos_show_their_thumbnail_to_superusers_only(web):
    from PIL import Image as PILImage

    from e3.catalog.models import VideoJob
    from e3.studio import add_channel, new_video_job

    add_channel(web.engine, "Night Library", "Royal Court Ambience")
    job = new_video_job(web.engine, web.foundry.root, "Night Library", 60, "calm, candlelit")
    planned = new_video_job(web.engine, web.foundry.root, "Night Library", 60, "calm, rainy")
    export = Path(job.output_directory) / "export"
    export.mkdir(parents=True)
    PILImage.new("RGB", (1280, 720), (40, 60, 90)).save(export / "thumbnail.jpg")
    with Session(web.engine) as s, s.begin():
        s.execute(sa.update(VideoJob).where(VideoJob.id == job.id).values(status="ready_for_export"))
    root = signed_in(web.app, "root")
    listing = root.get("/api/videos").json()
    assert [v["status"] for v in listing["items"]] == ["ready_for_export"] and listing["total"] == 1
    item = listing["items"][0]
    thumb = root.get(item["thumbnail_url"])
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    page = root.get("/videos")
    assert page.status_code == 200 and f'src="{item["thumbnail_url"]}"' in page.text
    from e3.catalog.models import video_job_partition_key

    assert root.get(f"/api/videos/{video_job_partition_key(planned.id)}/thumbnail").status_code == 404
    alice = signed_in(web.app, "alice")
    assert alice.get("/api/videos").status_code == 404 and alice.get(item["thumbnail_url"]).status_code == 404
