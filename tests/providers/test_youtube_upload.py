"""YouTube upload against a fake of the resumable endpoint that drops the connection mid-file."""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa

from e3 import studio
from e3.catalog.db import make_engine, migrate
from e3.video import youtube_upload as yu

REFRESH = "1//refresh-token-very-secret-abc"


class FakeYouTube:
    """Token endpoint, resumable videos.insert and thumbnails.set as the Data API docs describe."""

    def __init__(self, drop_after: int):
        self.drop_after = drop_after  # bytes of the first PUT kept before the connection drops
        self.received = bytearray()
        self.total = None
        self.log: list[dict] = []
        self.metadata = None
        self.thumbnail = None
        fake = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def reply(self, status, body=b"", headers=None):
                data = json.dumps(body).encode() if isinstance(body, dict) else body
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                n = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(n)
                fake.log.append({"method": "POST", "path": self.path, "headers": dict(self.headers)})
                if self.path == "/token":
                    assert b"refresh_token=" + REFRESH.replace("/", "%2F").encode() in body
                    return self.reply(200, {"access_token": "ya29.access", "expires_in": 3600})
                if self.path.startswith("/upload/youtube/v3/videos?uploadType=resumable"):
                    fake.metadata = json.loads(body)
                    fake.total = int(self.headers["X-Upload-Content-Length"])
                    return self.reply(200, headers={"Location": f"{fake.url}/session/1"})
                if self.path.startswith("/upload/youtube/v3/thumbnails/set?videoId=vid-123"):
                    fake.thumbnail = body
                    return self.reply(200, {"items": [{"default": {"url": "x"}}]})
                self.reply(404, {"error": {"message": "no route"}})

            def do_PUT(self):
                rng = self.headers.get("Content-Range", "")
                n = int(self.headers.get("content-length") or 0)
                fake.log.append({"method": "PUT", "range": rng, "length": n})
                if rng.startswith("bytes */"):
                    if len(fake.received) >= fake.total:
                        return self.reply(200, {"id": "vid-123"})
                    head = {"Range": f"bytes=0-{len(fake.received) - 1}"} if fake.received else {}
                    return self.reply(308, headers=head)
                start = int(rng.split(" ")[1].split("-")[0])
                assert start == len(fake.received), f"resumed at {start}, acknowledged {len(fake.received)}"
                if fake.drop_after is not None:
                    keep = fake.drop_after
                    fake.drop_after = None
                    fake.received += self.rfile.read(keep)
                    self.connection.shutdown(socket.SHUT_RDWR)  # the connection drops mid-file
                    self.close_connection = True
                    return
                fake.received += self.rfile.read(n)
                if len(fake.received) >= fake.total:
                    return self.reply(201, {"id": "vid-123", "status": {"uploadStatus": "uploaded"}})
                self.reply(308, headers={"Range": f"bytes=0-{len(fake.received) - 1}"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def setup(e3_env, monkeypatch, tmp_path):
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    migrate(url)
    engine = make_engine(url)
    monkeypatch.setenv("E3_SECRET_KEY", "a-long-test-secret-key-for-fernet")
    secrets = tmp_path / "client.json"
    secrets.write_text(json.dumps({"installed": {"client_id": "cid.apps.googleusercontent.com",
                                                 "client_secret": "csecret", "token_uri": "unused"}}))
    monkeypatch.setenv("E3_YOUTUBE_CLIENT_SECRETS", str(secrets))
    studio.add_channel(engine, "Royal", "Royal Court Ambience")
    job = studio.new_video_job(engine, tmp_path / "foundry", "Royal", 60, "elegant, classical")
    export = tmp_path / "foundry" / "_video_jobs" / job.partition_key / "export"
    export.mkdir(parents=True)
    (export / "title.txt").write_text("Royal Court Ambience | 60 Minutes\n")
    (export / "description.txt").write_text("Twenty tracks.\n\n00:00 Elegant Waltz\n03:10 Quiet Hall\n")
    (export / "tags.txt").write_text("royal\nclassical\n")
    (export / "thumbnail.jpg").write_bytes(b"\xff\xd8fakejpeg")
    (export / "video.mp4").write_bytes(bytes(range(256)) * 4000)  # 1 MB
    for status in ("generating_music", "generating_image", "rendering", "ready_for_export"):
        studio.move(engine, job.partition_key, status)
    return engine, job.partition_key


def test_token_is_encrypted_at_rest(setup):
    engine, _ = setup
    yu.connect_channel(engine, "Royal", run_flow=lambda path: type("C", (), {"refresh_token": REFRESH})())
    with engine.connect() as c:
        stored = c.execute(sa.text("select youtube_refresh_token from channels")).scalar()
    assert stored and REFRESH not in stored and "refresh-token" not in stored
    assert yu.decrypt_token(stored) == REFRESH


def test_scheduled_upload_resumes_from_the_acknowledged_byte(setup, monkeypatch):
    engine, key = setup
    yu.store_refresh_token(engine, "Royal", REFRESH)
    when = dt.datetime(2027, 1, 2, 15, 30, tzinfo=dt.timezone.utc)
    studio.move(engine, key, "ready_for_export", upload_strategy="scheduled", scheduled_time=when)
    fake = FakeYouTube(drop_after=300_000)
    monkeypatch.setenv("E3_YOUTUBE_BASE_URL", fake.url)
    monkeypatch.setenv("E3_YOUTUBE_TOKEN_URL", f"{fake.url}/token")
    logs = []
    try:
        video_id = yu.upload_job(engine, key, sleep=lambda s: None, log=logs.append, chunk=2_000_000)
    finally:
        fake.close()
    assert video_id == "vid-123"
    video = (setup[0] and studio.load_job(engine, key))
    assert video.status == "completed" and video.youtube_video_id == "vid-123"
    export_video = open(f"{video.output_directory}/export/video.mp4", "rb").read()
    assert bytes(fake.received) == export_video  # every byte once, in order
    puts = [e for e in fake.log if e["method"] == "PUT"]
    assert puts[0]["range"] == f"bytes 0-{len(export_video) - 1}/{len(export_video)}"
    assert puts[1]["range"] == f"bytes */{len(export_video)}"  # asks what arrived
    assert puts[2]["range"] == f"bytes 300000-{len(export_video) - 1}/{len(export_video)}"  # resumes there
    assert fake.metadata["status"] == {"privacyStatus": "private", "selfDeclaredMadeForKids": False,
                                       "publishAt": "2027-01-02T15:30:00Z"}
    assert fake.metadata["snippet"]["categoryId"] == "10"
    assert "03:10 Quiet Hall" in fake.metadata["snippet"]["description"]
    assert fake.metadata["snippet"]["tags"] == ["royal", "classical"]
    assert fake.thumbnail == b"\xff\xd8fakejpeg"
    assert any("interrupted at" in line for line in logs)
    assert not any(REFRESH in line or "ya29.access" in line for line in logs)
    # a second upload of the same job does nothing
    assert yu.upload_job(engine, key) == "vid-123"


def test_upload_needs_a_connected_channel_and_an_exported_job(setup):
    engine, key = setup
    with pytest.raises(yu.UploadError, match="not connected"):
        yu.upload_job(engine, key)
    assert studio.load_job(engine, key).status == "ready_for_export"


def test_the_youtube_upload_asset_uploads_only_for_a_connected_channel(setup, monkeypatch, tmp_path):
    import dagster as dg

    from e3_assets.definitions import defs
    from e3_assets.studio.assets import youtube_upload

    engine, key = setup
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("video_jobs", [key])
        skipped = dg.materialize([youtube_upload], partition_key=key, instance=instance, resources=defs.resources)
        meta = skipped.asset_materializations_for_node("youtube_upload")[0].metadata
        assert meta["uploaded"].value is False and studio.load_job(engine, key).status == "ready_for_export"
        yu.store_refresh_token(engine, "Royal", REFRESH)
        fake = FakeYouTube(drop_after=None)  # a connection that holds
        monkeypatch.setenv("E3_YOUTUBE_BASE_URL", fake.url)
        monkeypatch.setenv("E3_YOUTUBE_TOKEN_URL", f"{fake.url}/token")
        try:
            done = dg.materialize([youtube_upload], partition_key=key, instance=instance, resources=defs.resources)
        finally:
            fake.close()
    meta = done.asset_materializations_for_node("youtube_upload")[0].metadata
    assert meta["uploaded"].value is True and meta["youtube_video_id"].value == "vid-123"
    job = studio.load_job(engine, key)
    assert job.status == "completed" and job.youtube_video_id == "vid-123"
