"""Downloads against a local http.server (no internet here)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from e3.books.errors import DownloadError
from e3.books.sources import USER_AGENT, download_url, fetch_gutenberg, parse_gutenberg_id
from tests.conftest import corpus_file


class _Server:
    def __init__(self):
        self.routes: dict[str, tuple[int, bytes, dict]] = {}
        self.requests: list[tuple[str, str]] = []
        self.fail_first: dict[str, int] = {}
        outer = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):  # quiet
                pass

            def do_GET(self):  # noqa: N802
                outer.requests.append((self.path, self.headers.get("User-Agent", "")))
                if outer.fail_first.get(self.path, 0) > 0:
                    outer.fail_first[self.path] -= 1
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                status, body, headers = outer.routes.get(self.path, (404, b"", {}))
                self.send_response(status)
                self.send_header("Content-Length", headers.get("Content-Length", str(len(body))))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = _Server()
    yield s
    s.close()


def test_parse_gutenberg_id():
    assert parse_gutenberg_id("pg98") == 98 and parse_gutenberg_id("98") == 98 and parse_gutenberg_id("PG1661") == 1661
    assert parse_gutenberg_id("moby.epub") is None and parse_gutenberg_id("pgx") is None


def test_fetch_epub_then_cache(server, tmp_path):
    epub = corpus_file("epub/idpf_wasteland_epub3.epub").read_bytes()
    server.routes["/ebooks/98.epub3.images"] = (200, epub, {})
    path = fetch_gutenberg(98, tmp_path, base_url=server.url, timeout=5, retries=1)
    assert path.name == "pg98.epub" and path.read_bytes() == epub
    assert server.requests[0][1] == USER_AGENT
    n = len(server.requests)
    assert fetch_gutenberg(98, tmp_path, base_url=server.url) == path
    assert len(server.requests) == n  # cached: no request


def test_falls_back_to_plain_text_and_retries_5xx(server, tmp_path):
    txt = corpus_file("gutenberg_txt/pg1013_first-men-in-the-moon.txt").read_bytes()
    server.routes["/cache/epub/1013/pg1013.txt"] = (200, txt, {})
    server.fail_first["/cache/epub/1013/pg1013.txt"] = 2
    path = fetch_gutenberg(1013, tmp_path, base_url=server.url, timeout=5, retries=3)
    assert path.name == "pg1013.txt" and path.read_bytes() == txt
    paths = [p for p, _ua in server.requests]
    assert paths[:2] == ["/ebooks/1013.epub3.images", "/ebooks/1013.epub.noimages"]
    assert paths.count("/cache/epub/1013/pg1013.txt") == 3


def test_truncated_download_leaves_nothing(server, tmp_path):
    epub = corpus_file("epub/idpf_wasteland_epub3.epub").read_bytes()
    # Server promises the full length but sends half: a truncated transfer.
    server.routes["/ebooks/7.epub3.images"] = (200, epub[: len(epub) // 2], {"Content-Length": str(len(epub))})
    with pytest.raises(DownloadError):
        fetch_gutenberg(7, tmp_path, base_url=server.url, timeout=5, retries=0)
    assert list(tmp_path.iterdir()) == []


def test_corrupt_zip_is_rejected(server, tmp_path):
    epub = corpus_file("epub/idpf_wasteland_epub3.epub").read_bytes()
    server.routes["/ebooks/8.epub3.images"] = (200, epub[: len(epub) // 2], {})  # honest length, broken zip
    with pytest.raises(DownloadError, match="zip"):
        fetch_gutenberg(8, tmp_path, base_url=server.url, timeout=5, retries=0)
    assert list(tmp_path.iterdir()) == []


def test_not_found_anywhere(server, tmp_path):
    with pytest.raises(DownloadError, match="not found"):
        fetch_gutenberg(5, tmp_path, base_url=server.url, timeout=5, retries=0)


def test_download_url(server, tmp_path):
    server.routes["/files/book.txt"] = (200, b"Hello book.", {})
    p = download_url(server.url + "/files/book.txt", tmp_path, timeout=5)
    assert p.read_bytes() == b"Hello book."
    with pytest.raises(DownloadError):
        download_url(server.url + "/missing.txt", tmp_path, timeout=5, retries=0)
