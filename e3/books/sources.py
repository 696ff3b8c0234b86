"""Getting books: Project Gutenberg ids and plain URLs, with a local cache.

Downloads go to a temporary name and are renamed only when complete: a Content-Length mismatch,
or an EPUB that does not open as a zip, raises DownloadError and leaves nothing in the cache.
Retries with exponential backoff on connection errors, timeouts and 5xx answers.
"""

from __future__ import annotations

import re
import time
import zipfile
from pathlib import Path
from urllib.parse import unquote, urlparse

import httpx

from e3.books.errors import DownloadError
from e3.fsutil import atomic_path

USER_AGENT = "E3/0.1 (+https://github.com/e3; audiobook builder)"
_PG_ID = re.compile(r"^\s*(?:pg|PG)?-?(\d{1,7})\s*$")


def parse_gutenberg_id(spec: str | int) -> int | None:
    """"pg98", "PG98", "98" -> 98; anything else -> None."""
    m = _PG_ID.match(str(spec))
    return int(m.group(1)) if m else None


class _Missing(Exception):
    """404/410: try the next URL."""


class UnreachableError(DownloadError):
    """No connection to the server at all (offline, DNS failure, refused): naming the host helps."""

    def __init__(self, url: str, exc: Exception):
        self.host = urlparse(url).hostname or url
        self.reason = f"{exc.__class__.__name__}: {exc}"
        super().__init__(f"{url}: cannot reach {self.host} ({self.reason}); is this machine offline?")


def _get(client: httpx.Client, url: str, dest: Path, retries: int) -> Path:
    delay = 0.5
    for attempt in range(retries + 1):
        try:
            with client.stream("GET", url) as resp:
                if resp.status_code in (404, 410, 403):
                    raise _Missing(f"{url}: HTTP {resp.status_code}")
                if resp.status_code >= 500:
                    raise httpx.HTTPStatusError(f"HTTP {resp.status_code}", request=resp.request, response=resp)
                if resp.status_code != 200:
                    raise DownloadError(f"{url}: HTTP {resp.status_code}")
                expected = resp.headers.get("content-length")
                with atomic_path(dest) as tmp:
                    got = 0
                    with open(tmp, "wb") as fh:
                        for block in resp.iter_bytes(1 << 16):
                            fh.write(block)
                            got += len(block)
                    if expected is not None and resp.headers.get("content-encoding") in (None, "identity") \
                            and int(expected) != got:
                        raise DownloadError(f"{url}: truncated download ({got} of {expected} bytes)")
                    if got == 0:
                        raise DownloadError(f"{url}: empty download")
                    if dest.suffix == ".epub" and not _zip_ok(tmp):
                        raise DownloadError(f"{url}: the EPUB does not open as a zip (truncated download?)")
                return dest
        except (httpx.TransportError, httpx.HTTPStatusError) as exc:
            if attempt >= retries:
                if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout)):
                    raise UnreachableError(url, exc) from None
                raise DownloadError(f"{url}: {exc.__class__.__name__}: {exc}") from None
            time.sleep(delay)
            delay *= 2
        except httpx.RemoteProtocolError as exc:  # pragma: no cover - subclass of TransportError
            raise DownloadError(f"{url}: {exc}") from None
    raise DownloadError(f"{url}: failed")  # pragma: no cover


def _zip_ok(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as zf:
            return zf.testzip() is None
    except (zipfile.BadZipFile, OSError, EOFError):
        return False


def fetch_gutenberg(number: int, cache_dir: Path, base_url: str = "https://www.gutenberg.org",
                    timeout: float = 30, retries: int = 3) -> Path:
    """Download Project Gutenberg book ``number`` (EPUB preferred, else plain text) into ``cache_dir``.

    Returns the cached file; a second call returns it without any request.
    """
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    for name in (f"pg{number}.epub", f"pg{number}.txt"):
        if (cache_dir / name).is_file() and (cache_dir / name).stat().st_size > 0:
            return cache_dir / name
    base = base_url.rstrip("/")
    candidates = [
        (f"{base}/ebooks/{number}.epub3.images", f"pg{number}.epub"),
        (f"{base}/ebooks/{number}.epub.noimages", f"pg{number}.epub"),
        (f"{base}/cache/epub/{number}/pg{number}.txt", f"pg{number}.txt"),
        (f"{base}/files/{number}/{number}-0.txt", f"pg{number}.txt"),
    ]
    missing = []
    with httpx.Client(headers={"User-Agent": USER_AGENT}, timeout=timeout, follow_redirects=True) as client:
        for url, name in candidates:
            try:
                return _get(client, url, cache_dir / name, retries)
            except _Missing as exc:
                missing.append(str(exc))
            except UnreachableError as exc:
                # Offline is the common case for a new user: say so, and that a local file works.
                raise DownloadError(
                    f"Project Gutenberg book {number}: E3 is offline or cannot reach the Gutenberg server "
                    f"{exc.host} ({exc.reason}); a local file works too: `e3 add path/to/book.epub`"
                ) from None
    raise DownloadError(f"Project Gutenberg book {number} not found ({'; '.join(missing)})")


def download_url(url: str, dest_dir: Path, timeout: float = 30, retries: int = 3) -> Path:
    """Download ``url`` into ``dest_dir`` (cached by file name); returns the file path."""
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    name = Path(unquote(urlparse(url).path)).name or "download"
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", name)
    dest = dest_dir / name
    if dest.is_file() and dest.stat().st_size > 0:
        return dest
    with httpx.Client(headers={"User-Agent": USER_AGENT}, timeout=timeout, follow_redirects=True) as client:
        try:
            return _get(client, url, dest, retries)
        except _Missing as exc:
            raise DownloadError(str(exc)) from None
