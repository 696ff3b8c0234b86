"""Local fake servers (http.server on 127.0.0.1:0) for the provider tests.

Each fake routes (method, path regex) to a handler ``fn(req) -> (status, headers, body)``; a
handler may be a list, consumed one answer per call (the last one repeats). Every request is
recorded (method, path, headers, JSON body) so tests check what the client sent.
"""

from __future__ import annotations

import io
import json
import math
import re
import struct
import threading
import wave
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Fake:
    def __init__(self):
        self.routes: list[tuple[str, re.Pattern, object]] = []
        self.requests: list[dict] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _any(self):
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw
                req = {"method": self.command, "path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                       "body": body, "raw": raw}
                fake.requests.append(req)
                status, headers, payload = fake.answer(req)
                if isinstance(payload, (dict, list)):
                    payload = json.dumps(payload).encode()
                    headers = {"Content-Type": "application/json", **headers}
                elif isinstance(payload, str):
                    payload = payload.encode()
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = _any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def route(self, method: str, pattern: str, handler) -> None:
        self.routes.insert(0, (method, re.compile(pattern), handler))

    def answer(self, req):
        path = req["path"].split("?")[0]
        for method, pattern, handler in self.routes:
            m = pattern.fullmatch(path)
            if method == req["method"] and m:
                if isinstance(handler, list):
                    h = handler.pop(0) if len(handler) > 1 else handler[0]
                else:
                    h = handler
                return h(req, *m.groups()) if callable(h) else h
        return 404, {}, {"error": {"message": f"no route {req['method']} {path}"}}

    def calls(self, method: str, pattern: str) -> list[dict]:
        rx = re.compile(pattern)
        return [r for r in self.requests if r["method"] == method and rx.fullmatch(r["path"].split("?")[0])]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def wav_bytes(seconds: float = 1.0, rate: int = 22050) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        frames = b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 220 * i / rate)))
                          for i in range(int(seconds * rate)))
        w.writeframes(frames)
    return buf.getvalue()


def png_bytes(width: int = 1536, height: int = 864) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (width, height), (40, 80, 120)).save(buf, format="PNG")
    return buf.getvalue()
