"""An in-process fake ComfyUI server for tests and the queue bench.

It follows the shapes of ComfyUI's ``server.py``/``execution.py`` (the real server needs torch):

- ``POST /prompt`` validates class types, links and model names; a bad graph gets HTTP 400
  ``{"error": {...}, "node_errors": {...}}``; an accepted one ``{"prompt_id", "number", "node_errors": {}}``.
  A client-chosen ``prompt_id`` is honoured.
- One executor thread runs prompts in order and sends, to the submitting ``client_id`` over
  ``/ws?clientId=``: ``execution_start``, ``execution_cached``, ``executing`` per node,
  ``progress`` (plus a binary preview frame), ``executed`` with the output, then
  ``execution_success``, and finally ``executing`` with ``node: null``. ``status`` is broadcast.
- ``GET /history/{id}`` is ``{}`` until the prompt finished; ``GET /queue``; ``GET /view``
  serves real PNGs (Pillow, the workflow's size) and FLAC/MP3 audio (FFmpeg);
  ``POST /upload/image``; ``GET /system_stats``; ``POST /interrupt`` (optionally of one
  ``prompt_id``); ``POST /queue`` (``delete``, ``clear``). Every route is also
  served under ``/api``.

Failure switches (attributes, change them any time): ``fail_prompts`` (prompt ids, or ``"*"``,
that end with ``execution_error``), ``ws_enabled`` (False: ``/ws`` is a 404), ``slow_seconds``
(sampling takes that long), ``never_finish`` (sampling runs until ``/interrupt`` or stop: a
prompt that is accepted and never finishes), ``drop_mid_job`` (the server dies mid-job: sockets closed, state
lost), ``view_status`` (e.g. 500 on ``/view``), ``view_body`` (``/view`` answers these bytes).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import socket
import struct
import threading
import time
import uuid
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from PIL import Image, ImageDraw

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

KNOWN_CLASSES = {
    "CheckpointLoaderSimple", "CLIPTextEncode", "EmptyLatentImage", "KSampler", "VAEDecode", "VAEEncode",
    "SaveImage", "PreviewImage", "LoadImage", "ImageScale", "UNETLoader", "DualCLIPLoader", "VAELoader",
    "ModelSamplingAuraFlow", "TextEncodeAceStepAudio1.5", "ConditioningZeroOut", "EmptyAceStep1.5LatentAudio",
    "VAEDecodeAudio", "SaveAudio", "SaveAudioMP3",
}
OUTPUT_CLASSES = {"SaveImage", "PreviewImage", "SaveAudio", "SaveAudioMP3"}
DEFAULT_CHECKPOINTS = ["sd_xl_base_1.0.safetensors", "sd_xl_refiner_1.0.safetensors"]
DEFAULT_UNETS = ["acestep_v1.5_turbo.safetensors"]


class _WS:
    """A server-side WebSocket connection (RFC 6455, unfragmented frames)."""

    def __init__(self, sock: socket.socket, client_id: str):
        self.sock = sock
        self.client_id = client_id
        self.lock = threading.Lock()
        self.open = True

    def send(self, payload: bytes, opcode: int = 1) -> None:
        n = len(payload)
        if n < 126:
            header = struct.pack("!BB", 0x80 | opcode, n)
        elif n < 65536:
            header = struct.pack("!BBH", 0x80 | opcode, 126, n)
        else:
            header = struct.pack("!BBQ", 0x80 | opcode, 127, n)
        with self.lock:
            if not self.open:
                return
            try:
                self.sock.sendall(header + payload)
            except OSError:
                self.open = False

    def send_json(self, obj: dict) -> None:
        self.send(json.dumps(obj).encode())

    def _read_exact(self, n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("closed")
            buf += chunk
        return buf

    def serve(self) -> None:
        """Read client frames until close; answer ping and close."""
        try:
            while self.open:
                b1, b2 = self._read_exact(2)
                opcode, n = b1 & 0x0F, b2 & 0x7F
                if n == 126:
                    n = struct.unpack("!H", self._read_exact(2))[0]
                elif n == 127:
                    n = struct.unpack("!Q", self._read_exact(8))[0]
                mask = self._read_exact(4) if b2 & 0x80 else b"\0\0\0\0"
                data = bytes(c ^ mask[i % 4] for i, c in enumerate(self._read_exact(n)))
                if opcode == 8:
                    self.send(data[:2], opcode=8)
                    break
                if opcode == 9:
                    self.send(data, opcode=10)
        except (ConnectionError, OSError, ValueError):
            pass
        finally:
            self.close()

    def close(self) -> None:
        with self.lock:
            self.open = False
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class FakeComfyUI:
    """Start with ``with FakeComfyUI() as fake: fake.url``; see the module docstring."""

    def __init__(self, checkpoints: list[str] | None = None, unets: list[str] | None = None,
                 port: int = 0, progress_steps: int = 3, max_audio_seconds: float = 2.0):
        self.checkpoints = list(checkpoints or DEFAULT_CHECKPOINTS)
        self.unets = list(unets or DEFAULT_UNETS)
        self.port = port
        self.progress_steps = progress_steps
        self.max_audio_seconds = max_audio_seconds
        # failure switches
        self.fail_prompts: set[str] = set()
        self.ws_enabled = True
        self.slow_seconds = 0.0
        self.never_finish = False
        self.drop_mid_job = False
        self.view_status: int | None = None
        self.view_body: bytes | None = None  # served by /view instead of the file (a bad download)
        # observations for tests
        self.submitted: list[str] = []
        self.executed: list[str] = []
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._reset_state()
        self._httpd: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []

    def _reset_state(self) -> None:
        self._pending: list[tuple] = []
        self._running: tuple | None = None
        self._history: dict[str, dict] = {}
        self._files: dict[tuple[str, str, str], bytes] = {}
        self._counter = 0
        self._number = 0
        self._ws: list[_WS] = []
        self._conns: set[socket.socket] = set()
        self._interrupt = threading.Event()
        self._alive = True

    # -- lifecycle ---------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeComfyUI:
        fake = self

        class Handler(_Handler):
            server_fake = fake

        httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        httpd.daemon_threads = True
        self._httpd = httpd
        self.port = httpd.server_address[1]
        with self._lock:
            self._alive = True
        t1 = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        t2 = threading.Thread(target=self._executor, daemon=True)
        t1.start()
        t2.start()
        self._threads = [t1, t2]
        return self

    def stop(self) -> None:
        """Shut down like a crashed server: every connection is cut and all state is lost."""
        with self._cond:
            self._alive = False
            self._cond.notify_all()
            conns, wss = list(self._conns), list(self._ws)
        for ws in wss:
            ws.close()
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._httpd is not None:
            httpd, self._httpd = self._httpd, None
            threading.Thread(target=lambda: (httpd.shutdown(), httpd.server_close()), daemon=True).start()
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                try:
                    socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                    time.sleep(0.02)
                except OSError:
                    break
        for t in self._threads:
            if t is not threading.current_thread():
                t.join(timeout=5)

    def restart(self) -> None:
        """Stop, then start again on the same port with empty state (history lost, as in ComfyUI)."""
        self.stop()
        with self._lock:
            self._reset_state()
        self.start()

    def __enter__(self) -> FakeComfyUI:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- messaging -----------------------------------------------------------------------------------
    def _send(self, kind: str, data: dict, client_id: str | None) -> None:
        """``client_id`` None broadcasts (like ``send_sync(..., sid=None)``)."""
        with self._lock:
            targets = [w for w in self._ws if w.open and (client_id is None or w.client_id == client_id)]
        for ws in targets:
            ws.send_json({"type": kind, "data": data})

    def _status(self) -> dict:
        with self._lock:
            n = len(self._pending) + (1 if self._running else 0)
        return {"status": {"exec_info": {"queue_remaining": n}}}

    # -- validation ------------------------------------------------------------------------------------
    def validate(self, prompt: dict) -> tuple[int, dict]:
        if not isinstance(prompt, dict) or not prompt:
            return 400, {"error": {"type": "no_prompt", "message": "No prompt provided", "details": "",
                                   "extra_info": {}}, "node_errors": {}}
        for nid, node in prompt.items():
            ct = node.get("class_type") if isinstance(node, dict) else None
            if ct is None:
                return 400, {"error": {"type": "invalid_prompt",
                                       "message": f"Cannot execute because a node is missing the class_type property.",
                                       "details": f"Node ID '#{nid}'", "extra_info": {}}, "node_errors": {}}
            if ct not in KNOWN_CLASSES:
                return 400, {"error": {"type": "invalid_prompt",
                                       "message": f"Cannot execute because node {ct} does not exist.",
                                       "details": f"Node ID '#{nid}'", "extra_info": {}}, "node_errors": {}}
        outputs = [nid for nid, n in prompt.items() if n["class_type"] in OUTPUT_CLASSES]
        if not outputs:
            return 400, {"error": {"type": "prompt_no_outputs", "message": "Prompt has no outputs", "details": "",
                                   "extra_info": {}}, "node_errors": {}}
        node_errors = {}
        for nid, node in prompt.items():
            errors = []
            inputs = node.get("inputs") or {}
            for name, value in inputs.items():
                if isinstance(value, list) and len(value) == 2 and str(value[0]) not in prompt:
                    errors.append({"type": "exception_during_inner_validation", "message": "Required input is missing",
                                   "details": f"{name}: links to missing node {value[0]}", "extra_info": {}})
            allowed = {"CheckpointLoaderSimple": ("ckpt_name", self.checkpoints),
                       "UNETLoader": ("unet_name", self.unets),
                       "LoadImage": ("image", [k[1] for k in self._files if k[2] == "input"])}.get(node["class_type"])
            if allowed:
                name, values = allowed
                if inputs.get(name) not in values:
                    errors.append({"type": "value_not_in_list", "message": "Value not in list",
                                   "details": f"{name}: '{inputs.get(name)}' not in {values}",
                                   "extra_info": {"input_name": name, "received_value": inputs.get(name)}})
            if errors:
                node_errors[nid] = {"errors": errors, "dependent_outputs": outputs, "class_type": node["class_type"]}
        if node_errors:
            return 400, {"error": {"type": "prompt_outputs_failed_validation",
                                   "message": "Prompt outputs failed validation", "details": "", "extra_info": {}},
                         "node_errors": node_errors}
        return 200, {}

    def submit(self, body: dict) -> tuple[int, dict]:
        prompt = body.get("prompt")
        code, err = self.validate(prompt)
        if code != 200:
            return code, err
        prompt_id = str(body.get("prompt_id") or uuid.uuid4())
        with self._cond:
            self._number += 1
            outputs = [nid for nid, n in prompt.items() if n["class_type"] in OUTPUT_CLASSES]
            item = (self._number, prompt_id, prompt, {"client_id": body.get("client_id")}, outputs)
            self._pending.append(item)
            self.submitted.append(prompt_id)
            self._cond.notify_all()
            number = self._number
        self._send("status", self._status(), None)
        return 200, {"prompt_id": prompt_id, "number": number, "node_errors": {}}

    # -- execution --------------------------------------------------------------------------------------
    def _order(self, prompt: dict) -> list[str]:
        order: list[str] = []
        seen: set[str] = set()

        def visit(nid: str) -> None:
            if nid in seen:
                return
            seen.add(nid)
            for v in prompt[nid]["inputs"].values():
                if isinstance(v, list) and len(v) == 2 and str(v[0]) in prompt:
                    visit(str(v[0]))
            order.append(nid)

        for nid, n in prompt.items():
            if n["class_type"] in OUTPUT_CLASSES:
                visit(nid)
        return order

    def _find(self, prompt: dict, class_type: str) -> dict | None:
        return next((n["inputs"] for n in prompt.values() if n["class_type"] == class_type), None)

    def _image_size(self, prompt: dict) -> tuple[int, int]:
        for ct in ("ImageScale", "EmptyLatentImage"):
            inputs = self._find(prompt, ct)
            if inputs:
                return int(inputs["width"]), int(inputs["height"])
        load = self._find(prompt, "LoadImage")
        if load:
            data = self._files.get(("", load["image"], "input"))
            if data:
                return Image.open(io.BytesIO(data)).size
        return 512, 512

    def _make_png(self, prompt: dict) -> bytes:
        w, h = self._image_size(prompt)
        sampler = self._find(prompt, "KSampler") or {}
        seed = int(sampler.get("seed", 0))
        colour = ((seed * 97) % 256, (seed * 57 + 80) % 256, (seed * 13 + 160) % 256)
        img = Image.new("RGB", (w, h), colour)
        ImageDraw.Draw(img).rectangle([w // 4, h // 4, 3 * w // 4, 3 * h // 4], fill=colour[::-1])
        buf = io.BytesIO()
        img.save(buf, format="PNG", compress_level=1)
        return buf.getvalue()

    def _make_audio(self, prompt: dict, fmt: str) -> bytes:
        from e3.media.ffmpeg import run_ffmpeg

        latent = self._find(prompt, "EmptyAceStep1.5LatentAudio") or {}
        seconds = min(float(latent.get("seconds", 1.0)), self.max_audio_seconds)
        codec = ["-c:a", "flac", "-f", "flac"] if fmt == "flac" else ["-c:a", "libmp3lame", "-b:a", "128k", "-f", "mp3"]
        proc = run_ffmpeg(["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}:sample_rate=48000",
                           "-ac", "2", *codec, "pipe:1"], what="fake audio")
        return proc.stdout

    def _save(self, prefix: str, ext: str, data: bytes) -> dict:
        subfolder, _, base = prefix.rpartition("/")
        with self._lock:
            self._counter += 1
            filename = f"{base}_{self._counter:05d}_.{ext}"
            self._files[(subfolder, filename, "output")] = data
        return {"filename": filename, "subfolder": subfolder, "type": "output"}

    def _wait_slow(self, seconds: float) -> bool:
        """Sleep in small steps; False when interrupted or stopped."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if self._interrupt.is_set() or not self._alive:
                return False
            time.sleep(min(0.02, max(0.0, end - time.monotonic())))
        return not self._interrupt.is_set() and self._alive

    def _executor(self) -> None:
        while True:
            with self._cond:
                while self._alive and not self._pending:
                    self._cond.wait(0.1)
                if not self._alive:
                    return
                item = self._pending.pop(0)
                self._running = item
                self._interrupt.clear()
            try:
                self._execute(item)
            finally:
                with self._lock:
                    self._running = None
            self._send("status", self._status(), None)

    def _execute(self, item: tuple) -> None:
        number, prompt_id, prompt, extra, outputs_to_execute = item
        cid = extra.get("client_id")
        now = lambda: int(time.time() * 1000)  # noqa: E731
        messages: list = []

        def emit(kind: str, data: dict, record: bool = False) -> None:
            if record:
                messages.append([kind, data])
            self._send(kind, data, cid)

        emit("execution_start", {"prompt_id": prompt_id, "timestamp": now()}, record=True)
        emit("execution_cached", {"nodes": [], "prompt_id": prompt_id, "timestamp": now()}, record=True)
        outputs: dict[str, dict] = {}
        executed: list[str] = []
        error: dict | None = None
        for nid in self._order(prompt):
            ct = prompt[nid]["class_type"]
            emit("executing", {"node": nid, "display_node": nid, "prompt_id": prompt_id})
            if ct == "KSampler":
                steps = int(prompt[nid]["inputs"].get("steps", 20))
                shown = max(1, min(steps, self.progress_steps))
                if self.drop_mid_job:
                    threading.Thread(target=self.stop, daemon=True).start()
                    return
                for i in range(1, shown + 1):
                    if not self._wait_slow(float("inf") if self.never_finish else self.slow_seconds / shown):
                        if not self._alive:
                            return
                        error = {"kind": "execution_interrupted", "node_id": nid, "node_type": ct}
                        break
                    emit("progress", {"value": i * steps // shown, "max": steps, "prompt_id": prompt_id, "node": nid})
                    with self._lock:
                        targets = [w for w in self._ws if w.open and w.client_id == cid]
                    for ws in targets:  # a binary preview frame: type 1 (PREVIEW_IMAGE), format 2 (PNG)
                        ws.send(struct.pack(">II", 1, 2) + b"\x89PNG fake preview", opcode=2)
                if error is None and (prompt_id in self.fail_prompts or "*" in self.fail_prompts):
                    error = {"kind": "execution_error", "node_id": nid, "node_type": ct}
                if error:
                    break
            if ct in ("SaveImage", "PreviewImage"):
                prefix = prompt[nid]["inputs"].get("filename_prefix", "ComfyUI")
                info = self._save(prefix, "png", self._make_png(prompt))
                if ct == "PreviewImage":
                    info["type"] = "temp"
                outputs[nid] = {"images": [info]}
            elif ct in ("SaveAudio", "SaveAudioMP3"):
                fmt = "flac" if ct == "SaveAudio" else "mp3"
                prefix = prompt[nid]["inputs"].get("filename_prefix", "audio/ComfyUI")
                outputs[nid] = {"audio": [self._save(prefix, fmt, self._make_audio(prompt, fmt))]}
            if nid in outputs:
                emit("executed", {"node": nid, "display_node": nid, "output": outputs[nid], "prompt_id": prompt_id})
            executed.append(nid)
        if error and error["kind"] == "execution_error":
            data = {"prompt_id": prompt_id, "node_id": error["node_id"], "node_type": error["node_type"],
                    "executed": executed, "exception_message": "CUDA out of memory. Tried to allocate 2.00 GiB",
                    "exception_type": "torch.OutOfMemoryError", "traceback": ["  File \"execution.py\"..."],
                    "current_inputs": {}, "current_outputs": {}, "timestamp": now()}
            emit("execution_error", data, record=True)
            status = {"status_str": "error", "completed": False, "messages": messages}
        elif error:
            data = {"prompt_id": prompt_id, "node_id": error["node_id"], "node_type": error["node_type"],
                    "executed": executed, "timestamp": now()}
            emit("execution_interrupted", data, record=True)
            status = {"status_str": "error", "completed": False, "messages": messages}
        else:
            emit("execution_success", {"prompt_id": prompt_id, "timestamp": now()}, record=True)
            status = {"status_str": "success", "completed": True, "messages": messages}
        with self._lock:
            if not self._alive:
                return
            self._history[prompt_id] = {"prompt": list(item), "outputs": outputs, "status": status, "meta": {}}
            self.executed.append(prompt_id)
        emit("executing", {"node": None, "prompt_id": prompt_id})


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_fake: FakeComfyUI

    def log_message(self, *args) -> None:  # quiet
        pass

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes: without this, Nagle + delayed ACK add 40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server_fake._lock:
            self.server_fake._conns.add(self.connection)

    def handle_one_request(self) -> None:
        # A crashed server answers nothing: a request that arrives while it is dying is cut off,
        # never served from the state it has already lost.
        if not self.server_fake._alive:
            self.close_connection = True
            return
        super().handle_one_request()

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self.server_fake._lock:
                self.server_fake._conns.discard(self.connection)

    def _reply(self, code: int, body: bytes | dict | list, ctype: str = "application/json") -> None:
        if not isinstance(body, bytes):
            body = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _route(self) -> tuple[str, dict]:
        parts = urlsplit(self.path)
        path = parts.path
        if path.startswith("/api/"):
            path = path[4:]
        return path, {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}

    def _body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def do_GET(self) -> None:  # noqa: N802
        fake = self.server_fake
        path, query = self._route()
        if path == "/ws":
            return self._websocket(query)
        if path == "/system_stats":
            return self._reply(200, {"system": {"os": "posix", "comfyui_version": "fake", "python_version": "3",
                                                "ram_total": 8 << 30, "ram_free": 4 << 30},
                                     "devices": [{"name": "cpu", "type": "cpu", "index": None,
                                                  "vram_total": 0, "vram_free": 0}]})
        if path == "/queue":
            with fake._lock:
                running = [list(fake._running)] if fake._running else []
                pending = [list(i) for i in fake._pending]
            return self._reply(200, {"queue_running": running, "queue_pending": pending})
        if path.startswith("/history"):
            pid = path[len("/history/"):] if path.startswith("/history/") else None
            with fake._lock:
                if pid is None:
                    return self._reply(200, dict(fake._history))
                entry = fake._history.get(pid)
            return self._reply(200, {pid: entry} if entry else {})
        if path == "/view":
            if fake.view_status:
                return self._reply(fake.view_status, b"500 Internal Server Error", "text/plain")
            if fake.view_body is not None:
                return self._reply(200, fake.view_body, "image/png")
            key = (query.get("subfolder", ""), query.get("filename", ""), query.get("type", "output"))
            with fake._lock:
                data = fake._files.get(key)
            if data is None:
                return self._reply(404, b"404: Not Found", "text/plain")
            ctype = {"png": "image/png", "flac": "audio/flac", "mp3": "audio/mpeg"}.get(key[1].rsplit(".", 1)[-1],
                                                                                      "application/octet-stream")
            return self._reply(200, data, ctype)
        return self._reply(404, b"404: Not Found", "text/plain")

    def do_POST(self) -> None:  # noqa: N802
        fake = self.server_fake
        path, _ = self._route()
        body = self._body()
        if path == "/prompt":
            try:
                payload = json.loads(body or b"{}")
            except ValueError:
                return self._reply(400, {"error": {"type": "invalid_json", "message": "invalid JSON"},
                                         "node_errors": {}})
            code, resp = fake.submit(payload)
            return self._reply(code, resp)
        if path == "/interrupt":  # as ComfyUI: with a prompt_id, only when that prompt is running
            try:
                wanted = (json.loads(body or b"{}") or {}).get("prompt_id")
            except (ValueError, AttributeError):
                wanted = None
            with fake._lock:
                running = fake._running[1] if fake._running else None
            if wanted is None or wanted == running:
                fake._interrupt.set()
            return self._reply(200, b"", "text/plain")
        if path == "/queue":  # {"delete": [prompt ids]} drops pending prompts, {"clear": true} all
            payload = json.loads(body or b"{}")
            with fake._lock:
                drop = set(payload.get("delete") or [])
                fake._pending = [i for i in fake._pending if not (payload.get("clear") or i[1] in drop)]
            return self._reply(200, b"", "text/plain")
        if path == "/upload/image":
            msg = BytesParser(policy=HTTP).parsebytes(
                b"Content-Type: " + self.headers["Content-Type"].encode() + b"\r\n\r\n" + body)
            fields, image = {}, None
            for part in msg.iter_parts():
                name = part.get_param("name", header="content-disposition")
                if name == "image":
                    image = (part.get_filename(), part.get_payload(decode=True))
                else:
                    fields[name] = part.get_content().strip()
            if not image or not image[0]:
                return self._reply(400, b"no image", "text/plain")
            subfolder = fields.get("subfolder", "")
            with fake._lock:
                fake._files[(subfolder, image[0], "input")] = image[1]
            return self._reply(200, {"name": image[0], "subfolder": subfolder, "type": "input"})
        return self._reply(404, b"404: Not Found", "text/plain")

    def _websocket(self, query: dict) -> None:
        fake = self.server_fake
        key = self.headers.get("Sec-WebSocket-Key")
        if not fake.ws_enabled or not key or "websocket" not in (self.headers.get("Upgrade") or "").lower():
            return self._reply(404, b"404: Not Found", "text/plain")
        accept = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
        self.send_response(101, "Switching Protocols")
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept)
        self.end_headers()
        self.wfile.flush()
        client_id = query.get("clientId") or uuid.uuid4().hex
        ws = _WS(self.connection, client_id)
        with fake._lock:
            fake._ws.append(ws)
        ws.send_json({"type": "status", "data": {**fake._status(), "sid": client_id}})
        try:
            ws.serve()
        finally:
            with fake._lock:
                if ws in fake._ws:
                    fake._ws.remove(ws)
            self.close_connection = True
