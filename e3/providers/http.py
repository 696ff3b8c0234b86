"""The HTTP discipline every paid provider client follows (httpx).

- ``call``: one request with a timeout, retried a bounded number of times with exponential
  backoff on connection errors, 429 and 5xx, waiting what ``Retry-After`` asks (seconds or an
  HTTP date, capped); 4xx other than 429 fail at once. The failure names the service and quotes
  its own message (``error.message``, ``message``, ``detail``...).
- ``poll``: call a status function until it reports done, under an overall deadline.
- ``download``: stream a result URL to a file atomically; a 404 or an empty body is an error.
- ``redact``: every message passes through it, so no key reaches a log line, metadata or an
  exception text.
"""

from __future__ import annotations

import email.utils
import json
import random
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import httpx

from e3.errors import E3Error
from e3.fsutil import atomic_path

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class ProviderError(E3Error):
    """A provider call failed (bad key, quota, a failed or endless task, a missing download)."""

    def __init__(self, message: str, *, status: int | None = None, retryable: bool = False):
        super().__init__(message)
        self.status = status
        self.retryable = retryable


class Redactor:
    """Removes the given secrets (and anything longer than 3 characters of them) from text."""

    def __init__(self, secrets: Iterable[str | None]):
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for s in self.secrets:
            text = text.replace(s, "***")
        return text


def service_message(response: httpx.Response, limit: int = 300) -> str:
    """The service's own words from an error body (JSON fields or the text), shortened."""
    try:
        data = response.json()
    except (ValueError, json.JSONDecodeError):
        text = (response.text or "").strip()
        return text[:limit] or response.reason_phrase or f"HTTP {response.status_code}"
    found = _message_in(data)
    return (found or json.dumps(data)[:limit])[:limit]


def _message_in(data: Any) -> str | None:
    if isinstance(data, str):
        return data
    if isinstance(data, dict):
        for key in ("error", "message", "detail", "error_message", "errors", "text"):
            if key in data and data[key]:
                found = _message_in(data[key])
                if found:
                    return found
    if isinstance(data, list) and data:
        return _message_in(data[0])
    return None


def retry_after(response: httpx.Response, cap: float) -> float | None:
    """``Retry-After`` in seconds (delta or HTTP date), at most ``cap``; None when absent/bad."""
    raw = response.headers.get("retry-after")
    if not raw:
        return None
    raw = raw.strip()
    try:
        return max(0.0, min(cap, float(raw)))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, min(cap, when.timestamp() - time.time()))


class Http:
    """An httpx client with the retry, timeout and redaction rules above, for one service."""

    def __init__(self, service: str, *, base_url: str = "", headers: dict[str, str] | None = None,
                 secrets: Iterable[str | None] = (), timeout: float = 60.0, retries: int = 4,
                 backoff: float = 1.0, max_wait: float = 60.0, transport: httpx.BaseTransport | None = None,
                 sleep: Callable[[float], None] = time.sleep):
        self.service = service
        self.redact = Redactor(secrets)
        self.retries = retries
        self.backoff = backoff
        self.max_wait = max_wait
        self.sleep = sleep
        self.client = httpx.Client(base_url=base_url, headers=headers or {}, timeout=timeout,
                                   transport=transport, follow_redirects=True)

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> "Http":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def fail(self, what: str, message: str, status: int | None = None, retryable: bool = False) -> ProviderError:
        code = f" (HTTP {status})" if status else ""
        return ProviderError(self.redact(f"{self.service}: {what} failed{code}: {message}"),
                             status=status, retryable=retryable)

    def call(self, method: str, url: str, *, what: str, **kwargs) -> httpx.Response:
        """One request, retried on connection errors, 429 and 5xx; returns a 2xx response."""
        attempt = 0
        while True:
            try:
                response = self.client.request(method, url, **kwargs)
            except httpx.HTTPError as exc:  # timeouts, refused or dropped connections
                if attempt >= self.retries:
                    raise self.fail(what, f"{exc.__class__.__name__}: {exc}", retryable=True) from None
                wait = self._backoff(attempt)
            else:
                if response.is_success:
                    return response
                status = response.status_code
                if status not in RETRY_STATUSES or attempt >= self.retries:
                    hint = " - check the API key" if status in (401, 403) else ""
                    raise self.fail(what, service_message(response) + hint, status,
                                    retryable=status in RETRY_STATUSES)
                wait = retry_after(response, self.max_wait)
                if wait is None:
                    wait = self._backoff(attempt)
            attempt += 1
            self.sleep(wait)

    def _backoff(self, attempt: int) -> float:
        return min(self.max_wait, self.backoff * (2 ** attempt)) * random.uniform(0.8, 1.0)

    def json(self, method: str, url: str, *, what: str, **kwargs) -> Any:
        response = self.call(method, url, what=what, **kwargs)
        try:
            return response.json()
        except ValueError:
            raise self.fail(what, f"the answer is not JSON: {response.text[:200]!r}",
                            response.status_code) from None

    def download(self, url: str, out: Path, *, what: str = "download") -> Path:
        """Fetch ``url`` (no auth headers sent to foreign hosts) into ``out`` atomically."""
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        attempt = 0
        while True:
            try:
                with httpx.Client(timeout=self.client.timeout, follow_redirects=True,
                                  transport=self.client._transport) as plain:  # noqa: SLF001
                    with plain.stream("GET", url) as response:
                        if response.status_code in RETRY_STATUSES and attempt < self.retries:
                            response.read()
                            wait = retry_after(response, self.max_wait)
                            raise _Retry(self._backoff(attempt) if wait is None else wait)
                        if not response.is_success:
                            response.read()
                            raise self.fail(what, f"{service_message(response)} ({_host(url)})",
                                            response.status_code)
                        with atomic_path(out) as tmp, open(tmp, "wb") as fh:
                            for chunk in response.iter_bytes(1 << 16):
                                fh.write(chunk)
                if out.stat().st_size == 0:
                    out.unlink()
                    raise self.fail(what, f"empty file from {_host(url)}")
                return out
            except _Retry as r:
                attempt += 1
                self.sleep(r.wait)
            except httpx.HTTPError as exc:
                if attempt >= self.retries:
                    raise self.fail(what, f"{exc.__class__.__name__}: {exc}", retryable=True) from None
                attempt += 1
                self.sleep(self._backoff(attempt))


class _Retry(Exception):
    def __init__(self, wait: float):
        self.wait = wait


def _host(url: str) -> str:
    try:
        return httpx.URL(url).host or "?"
    except Exception:  # noqa: BLE001
        return "?"


def poll(check: Callable[[], tuple[bool, Any]], *, service: str, what: str, timeout: float,
         interval: float = 5.0, max_interval: float = 30.0, sleep: Callable[[float], None] = time.sleep,
         clock: Callable[[], float] = time.monotonic) -> Any:
    """Call ``check`` until it returns ``(True, value)``; a ProviderError after ``timeout`` s.

    ``check`` raises ProviderError itself when the service reports the task failed.
    """
    deadline = clock() + timeout
    wait = interval
    while True:
        done, value = check()
        if done:
            return value
        if clock() + wait > deadline:
            raise ProviderError(f"{service}: {what} did not finish within {timeout:g} s")
        sleep(wait)
        wait = min(max_interval, wait * 1.5)
