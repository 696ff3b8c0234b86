"""Signed session cookies, CSRF tokens and the slowing of repeated failed sign-ins."""

from __future__ import annotations

import hmac
import secrets
import threading
import time

from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE_NAME = "e3_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


class SessionCodec:
    """The session as a dict in a cookie signed (HMAC) with E3_SECRET_KEY; not encrypted, so it
    holds only the user id and the CSRF token."""

    def __init__(self, secret_key: str, max_age_seconds: int):
        self._serializer = URLSafeTimedSerializer(secret_key, salt="e3-web-session")
        self.max_age = max_age_seconds

    def dumps(self, data: dict) -> str:
        return self._serializer.dumps(data)

    def loads(self, cookie: str | None) -> dict:
        """The session, or an empty one when the cookie is missing, tampered with or expired."""
        if not cookie:
            return {}
        try:
            data = self._serializer.loads(cookie, max_age=self.max_age)
        except BadSignature:
            return {}
        return data if isinstance(data, dict) else {}


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def csrf_ok(session: dict, given: str | None) -> bool:
    expected = session.get("csrf")
    return bool(expected and given) and hmac.compare_digest(str(expected), str(given))


class SignInThrottle:
    """Failed sign-ins counted per key (``email:<address>``, ``ip:<address>``): after ``free``
    failures each further attempt waits 1, 2, 4 ... seconds (at most ``max_delay``) after the last.

    Unknown emails are counted like known ones, so the delay reveals nothing. In memory: a
    restart forgets the counts (one server process)."""

    def __init__(self, free: int = 5, max_delay: float = 300.0, clock=time.monotonic):
        self.free, self.max_delay, self.clock = free, max_delay, clock
        self._failures: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def _delay(self, count: int) -> float:
        return 0.0 if count < self.free else min(self.max_delay, 2.0 ** (count - self.free))

    def wait_seconds(self, keys: list[str]) -> float:
        now = self.clock()
        with self._lock:
            waits = [last + self._delay(count) - now for count, last in
                     (self._failures[k] for k in keys if k in self._failures)]
        return max([0.0, *waits])

    def failed(self, keys: list[str]) -> None:
        now = self.clock()
        with self._lock:
            if len(self._failures) > 50_000:  # forget quiet keys rather than grow without bound
                self._failures = {k: v for k, v in self._failures.items() if now - v[1] < self.max_delay}
            for k in keys:
                count, _ = self._failures.get(k, (0, now))
                self._failures[k] = (count + 1, now)

    def succeeded(self, keys: list[str]) -> None:
        with self._lock:
            for k in keys:
                self._failures.pop(k, None)
