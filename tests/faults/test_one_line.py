"""Faults that end as ONE line naming the cause (exit status 1, no traceback) from `e3`."""

from __future__ import annotations

import errno
import json
import os
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import dagster as dg
import pytest
from click.testing import CliRunner

from e3.cli import main
from e3.comfyui.client import ComfyUIClient, ComfyUIError


def _one_line(result) -> str:
    assert result.exit_code == 1, (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    errors = [ln for ln in result.output.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1, result.output
    return errors[0]


def _run(*args: str) -> str:
    return _one_line(CliRunner().invoke(main, list(args)))


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("url, expected", [
    ("mysql://u@127.0.0.1/db", "unsupported scheme 'mysql'"),
    ("foo://u@127.0.0.1/db", "unsupported scheme 'foo'"),
    ("postgresql://u@127.0.0.1:abc/db", "its port is not a number"),
    ("postgresql://u@127.0.0.1:99999/db", "invalid port"),
    ("not a url", "is not valid"),
])
def test_a_bad_database_url(e3_env, monkeypatch, url, expected):
    monkeypatch.setenv("E3_DATABASE_URL", url)
    assert expected in _run("status")


def test_an_unknown_asset_in_select(e3_env):
    from e3.demo_book import write_demo_book

    src = write_demo_book(e3_env / "src")
    assert CliRunner().invoke(main, ["add", str(src), "--book-id", "demo"]).exit_code == 0
    assert "unknown asset 'nope'" in _run("produce", "demo", "--select", "nope")


def test_dagster_postgres_unreachable(e3_env, monkeypatch):
    from e3.demo_book import write_demo_book

    src = write_demo_book(e3_env / "src")
    assert CliRunner().invoke(main, ["add", str(src), "--book-id", "demo"]).exit_code == 0
    monkeypatch.setenv("E3_DAGSTER_STORAGE", "postgres")
    monkeypatch.setenv("E3_DAGSTER_PG_HOST", "127.0.0.1")
    monkeypatch.setenv("E3_DAGSTER_PG_PORT", str(_closed_port()))
    line = _run("produce", "demo", "--select", "book_source")
    assert "Dagster's Postgres storage at postgresql+psycopg://" in line and "cannot be reached" in line
    assert "E3_DAGSTER_STORAGE=sqlite" in line
    monkeypatch.setenv("E3_DAGSTER_PG_PORT", "five")
    assert "E3_DAGSTER_PG_PORT must be a whole number" in _run("produce", "demo", "--select", "book_source")


def test_a_folder_given_as_a_book(e3_env):
    folder = e3_env / "books"
    folder.mkdir()
    assert f"{folder}: is a folder, not a book" in _run("add", str(folder))
    assert f"{folder}: is a folder, not a book" in _run("inspect", str(folder))


def test_a_pdf_of_2000_blank_pages(e3_env):
    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(2000):
        writer.add_blank_page(width=595, height=842)
    path = e3_env / "blank.pdf"
    with open(path, "wb") as fh:
        writer.write(fh)
    line = _run("add", str(path))
    assert "no text on any of its 2000 pages" in line and "looks like a scan" not in line


# -- a full disk ------------------------------------------------------------------------------------

def test_a_full_disk_in_a_step_is_not_retried_and_names_the_folder(e3_env):
    from e3_assets.common import catalog_step

    class Catalog:
        def __init__(self):
            self.marks = []

        def mark(self, *args, **kwargs):
            self.marks.append((args, kwargs))

    catalog = Catalog()
    with pytest.raises(dg.Failure) as raised:
        with catalog_step(catalog, "b1", "parse_novel"):
            raise OSError(errno.ENOSPC, "No space left on device")  # a write() has no file name
    assert not raised.value.allow_retries, "a full disk is not transient"
    assert f"no space left on device under {e3_env / 'foundry'}" in raised.value.description
    assert "[Errno 28]" in raised.value.description
    assert catalog.marks[-1][0][2] == "failed"


@pytest.mark.slow
def test_a_full_disk_ends_e3_produce_in_one_line_naming_it(e3_env):
    foundry = e3_env / "foundry"
    foundry.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", str(foundry)],
                      capture_output=True).returncode != 0:
        pytest.skip("needs root to mount a tiny tmpfs")
    try:
        from e3.demo_book import write_demo_book

        src = write_demo_book(e3_env / "src")
        add = subprocess.run([sys.executable, "-m", "e3.cli", "add", str(src), "--book-id", "demo"],
                             capture_output=True, text=True, timeout=120)
        assert add.returncode == 0, add.stderr
        try:  # fill the disk: the next write fails
            with open(foundry / "fill", "wb") as fh:
                while True:
                    fh.write(b"\0" * 4096)
                    fh.flush()
        except OSError:
            pass
        run = subprocess.run([sys.executable, "-m", "e3.cli", "produce", "demo", "--select",
                              "book_source,parsed_chapters"], capture_output=True, text=True, timeout=300)
    finally:
        subprocess.run(["umount", "-l", str(foundry)], check=False)
    assert run.returncode == 1 and "Traceback" not in run.stderr, run.stderr
    errors = [ln for ln in run.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1, run.stderr
    assert f"no space left on device under {foundry}" in errors[0], errors[0]
    assert "Exceeded max_retries" not in errors[0]


# -- malformed answers from ComfyUI ---------------------------------------------------------------

class _Garbage(BaseHTTPRequestHandler):
    body = b"{not json"

    def log_message(self, *args):
        pass

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    do_GET = do_POST = _answer


@pytest.fixture
def garbage_url(request):
    handler = type("Handler", (_Garbage,), {"body": request.param})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("garbage_url, call, route", [
    (body, call, route)
    for call, route in [(lambda c: c.history("p1"), "/history/p1"), (lambda c: c.queue(), "/queue"),
                        (lambda c: c.upload_image(b"png", "x.png"), "/upload/image"),
                        (lambda c: c.system_stats(), "/system_stats")]
    for body in (b"{not json", b"[1, 2, 3]")
] + [(json.dumps({"p1": "a string"}).encode(), lambda c: c.history("p1"), "/history/p1")],
    indirect=["garbage_url"])
def test_malformed_json_from_comfyui_names_the_url(garbage_url, call, route):
    with ComfyUIClient(garbage_url) as client:
        try:
            call(client)
        except ComfyUIError as exc:
            assert f"{garbage_url}{route}" in str(exc)
        else:
            pytest.fail("a malformed answer was accepted")


def test_a_step_that_used_up_its_retries_is_reported_by_its_cause():
    from dagster._utils.error import SerializableErrorInfo

    from e3.cli.core import _error_cause

    cause = SerializableErrorInfo("OSError: [Errno 5] Input/output error: '/x/y'\n", [], "OSError")
    retry = SerializableErrorInfo("dagster._core.definitions.events.RetryRequested\n", [], "RetryRequested",
                                  cause=cause)
    top = SerializableErrorInfo("Exceeded max_retries of 2\n", [], "Failure", cause=retry)
    assert _error_cause(top) == "OSError: [Errno 5] Input/output error: '/x/y'"
