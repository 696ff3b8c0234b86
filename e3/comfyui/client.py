"""A client for ComfyUI's HTTP + WebSocket API (the "API format" prompt interface).

Usage::

    client = ComfyUIClient("http://127.0.0.1:8188")
    client.system_stats()                      # health check, raises ComfyUIUnreachable
    outputs = client.run(workflow, prompt_id="...", timeout=600)
    for out in outputs:                        # OutputFile(node_id, filename, ..., kind, data)
        Path(out.filename).write_bytes(out.data)
    # large files: each streams to a temporary file, verify(temp) may refuse it, then it is renamed
    for ref in client.output_refs(client.run_entry(workflow)):
        client.download_to(ref.info, Path(ref.filename), verify=lambda tmp: Image.open(tmp).verify())

Protocol facts this client relies on (ComfyUI ``server.py`` / ``execution.py``):

- ``POST /prompt`` with ``{prompt, client_id[, prompt_id]}`` answers ``{prompt_id, number, node_errors}``;
  a bad graph answers HTTP 400 ``{"error": {...}, "node_errors": {...}}``. Execution errors never
  come back here: they arrive over ``/ws`` (``execution_error``) and in the history ``status``.
- ``executing`` with ``node: null`` (done) is sent only to the submitting ``client_id``, so the
  WebSocket is opened *before* submitting, and the history is polled whenever the socket is
  quiet (covers a resubmit by another worker and a lost socket).
- ``GET /history/{id}`` is ``{}`` until the prompt finished; history lives in memory only, so a
  prompt that is neither queued nor in the history was lost (server restarted).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import websocket  # websocket-client

from e3.errors import E3Error
from e3.fsutil import atomic_path

OUTPUT_KINDS = ("images", "audio")
# A picture is a few MB and a 10-minute 48 kHz stereo FLAC about 100 MB; answers past these caps
# are refused while they stream in, never held whole.
MAX_DOWNLOAD_BYTES = 256 << 20
MAX_JSON_BYTES = 16 << 20
_OPEN = object()  # wait(): open a WebSocket of its own


class ComfyUIError(E3Error):
    """Anything that went wrong talking to ComfyUI or running a prompt there."""


class ComfyUIUnreachable(ComfyUIError):
    """The server cannot be reached (connection refused, DNS, timeout, dropped connection)."""


class ComfyUIPromptRejected(ComfyUIError):
    """``POST /prompt`` answered 400: the workflow failed validation (bad node, unknown model...)."""

    def __init__(self, message: str, node_errors: dict[str, Any] | None = None,
                 error: dict[str, Any] | None = None):
        super().__init__(message)
        self.node_errors = node_errors or {}
        self.error = error or {}


class ComfyUIExecutionError(ComfyUIError):
    """The prompt was accepted but failed (or was interrupted) while executing."""

    def __init__(self, message: str, node_id: str | None = None, node_type: str | None = None):
        super().__init__(message)
        self.node_id = node_id
        self.node_type = node_type


class ComfyUITimeout(ComfyUIError):
    """The prompt did not finish within the allowed time."""


class ComfyUICancelled(ComfyUIError):
    """The wait was abandoned because ``cancel_event`` was set (the run was stopped)."""

    def __init__(self, message: str, prompt_id: str | None = None):
        super().__init__(message)
        self.prompt_id = prompt_id


@dataclass(frozen=True)
class OutputRef:
    """One file a prompt produced, as its history entry names it (``GET /view`` fetches it)."""

    node_id: str
    filename: str
    subfolder: str
    type: str
    kind: str  # "images" | "audio"

    @property
    def info(self) -> dict[str, str]:
        return {"filename": self.filename, "subfolder": self.subfolder, "type": self.type}


@dataclass(frozen=True)
class OutputFile:
    """One file a prompt produced, downloaded through ``GET /view``."""

    node_id: str
    filename: str
    subfolder: str
    type: str
    kind: str  # "images" | "audio"
    data: bytes


def _view_params(file_info: dict[str, Any]) -> dict[str, str]:
    return {"filename": file_info["filename"], "subfolder": file_info.get("subfolder", ""),
            "type": file_info.get("type", "output")}


def redact_url(url: str) -> str:
    """The URL without user:password, so it can go into messages and logs."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _short(text: Any, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def summarize_node_errors(node_errors: dict[str, Any], workflow: dict[str, Any] | None = None) -> str:
    """``node_errors`` as one readable line: ``node 4 (CheckpointLoaderSimple "Checkpoint"): msg: details``."""
    parts = []
    for node_id, info in (node_errors or {}).items():
        info = info or {}
        class_type = info.get("class_type") or ""
        title = ""
        if workflow and isinstance(workflow.get(node_id), dict):
            title = (workflow[node_id].get("_meta") or {}).get("title") or ""
        label = f"node {node_id}"
        if class_type or title:
            label += " (" + " ".join(x for x in (class_type, f'"{title}"' if title else "") if x) + ")"
        msgs = []
        for err in info.get("errors") or []:
            msg = err.get("message") or err.get("type") or "error"
            if err.get("details"):
                msg += f": {err['details']}"
            msgs.append(_short(msg, 200))
        parts.append(f"{label}: {'; '.join(msgs) or 'invalid'}")
    return "; ".join(parts)


class ComfyUIClient:
    """Synchronous ComfyUI client (httpx for HTTP, websocket-client for ``/ws``).

    ``base_url`` like ``http://host:8188`` (a path prefix such as ``/api`` is kept). ``timeout`` is
    the per-request HTTP timeout in seconds; waiting for a prompt has its own timeout.
    ``cancel_event``: once set, a wait for a prompt raises ComfyUICancelled within a poll interval.
    """

    def __init__(self, base_url: str, client_id: str | None = None, timeout: float = 30.0,
                 poll_interval: float = 1.0, max_download_bytes: int = MAX_DOWNLOAD_BYTES,
                 max_json_bytes: int = MAX_JSON_BYTES):
        if not base_url or not base_url.startswith(("http://", "https://")):
            raise ComfyUIError(f"ComfyUI URL must start with http:// or https://, not {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.client_id = client_id or uuid.uuid4().hex
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.max_download_bytes = max_download_bytes
        self.max_json_bytes = max_json_bytes
        self._safe_url = redact_url(self.base_url)
        self.cancel_event: Any = None  # a threading.Event; checked by every wait loop
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout)

    # -- plumbing -----------------------------------------------------------------------------
    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ComfyUIClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _request(self, method: str, path: str, *, limit: int | None = None, **kwargs: Any) -> httpx.Response:
        """One request whose body is read while it streams in, at most ``limit`` bytes (default:
        the JSON cap); a longer answer raises ComfyUIError naming the URL."""
        where = f"{method} {self._safe_url}{path}"
        limit = self.max_json_bytes if limit is None else limit
        try:
            with self._http.stream(method, path, **kwargs) as resp:
                declared = resp.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > limit:
                    raise ComfyUIError(f"ComfyUI answered {where} with {int(declared)} bytes, more than the "
                                       f"{limit} E3 accepts")
                body = bytearray()
                for part in resp.iter_bytes():
                    body += part
                    if len(body) > limit:
                        raise ComfyUIError(f"ComfyUI answered {where} with more than the {limit} bytes "
                                           f"E3 accepts")
            return httpx.Response(resp.status_code, headers=resp.headers, content=bytes(body),
                                  request=resp.request)
        except httpx.TimeoutException as exc:
            raise ComfyUIUnreachable(f"ComfyUI did not answer {where} within {self.timeout:g}s") from exc
        except httpx.HTTPError as exc:
            raise ComfyUIUnreachable(
                f"ComfyUI unreachable at {where}: {exc.__class__.__name__}: {_short(exc, 160)}") from exc

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        resp = self._request(method, path, **kwargs)
        if resp.status_code >= 400:
            raise ComfyUIError(
                f"ComfyUI {method} {self._safe_url}{path} answered HTTP {resp.status_code}: {_short(resp.text, 200)}")
        try:
            return resp.json()
        except ValueError as exc:
            raise ComfyUIError(f"ComfyUI {method} {self._safe_url}{path} answered non-JSON: "
                               f"{_short(resp.text, 120)}") from exc

    def _json_object(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """``_json`` for routes that answer an object: anything else is named with its URL."""
        data = self._json(method, path, **kwargs)
        if not isinstance(data, dict):
            raise ComfyUIError(f"ComfyUI {method} {self._safe_url}{path} answered {_short(data, 120)}, "
                               f"not a JSON object")
        return data

    def _ws_url(self) -> str:
        parts = urlsplit(self.base_url)
        scheme = "wss" if parts.scheme == "https" else "ws"
        return urlunsplit((scheme, parts.netloc, parts.path + "/ws", f"clientId={self.client_id}", ""))

    def _open_ws(self) -> websocket.WebSocket | None:
        """Connect ``/ws``; None when the server has no WebSocket (then we poll the history)."""
        try:
            return websocket.create_connection(self._ws_url(), timeout=self.timeout)
        except (websocket.WebSocketException, OSError):
            return None

    # -- API ------------------------------------------------------------------------------------
    def system_stats(self) -> dict[str, Any]:
        """``GET /system_stats``: the health check. Raises ComfyUIUnreachable / ComfyUIError."""
        return self._json_object("GET", "/system_stats")

    def queue_prompt(self, workflow: dict[str, Any], prompt_id: str | None = None) -> str:
        """Submit an API-format workflow; returns the prompt id. 400 -> ComfyUIPromptRejected."""
        body: dict[str, Any] = {"prompt": workflow, "client_id": self.client_id}
        if prompt_id:
            body["prompt_id"] = prompt_id
        resp = self._request("POST", "/prompt", json=body)
        if resp.status_code == 400:
            try:
                payload = resp.json()
            except ValueError:
                payload = {}
            error = payload.get("error") if isinstance(payload.get("error"), dict) else {"message": payload.get("error")}
            node_errors = payload.get("node_errors") or {}
            head = (error or {}).get("message") or "invalid prompt"
            if (error or {}).get("details"):
                head += f" ({_short(error['details'], 160)})"
            detail = summarize_node_errors(node_errors, workflow)
            raise ComfyUIPromptRejected(
                f"ComfyUI at {self._safe_url} rejected the workflow: {head}" + (f"; {detail}" if detail else ""),
                node_errors=node_errors, error=error)
        if resp.status_code >= 400:
            raise ComfyUIError(f"ComfyUI POST {self._safe_url}/prompt answered HTTP {resp.status_code}: "
                               f"{_short(resp.text, 200)}")
        try:
            data = resp.json()
        except ValueError:
            raise ComfyUIError(f"ComfyUI POST {self._safe_url}/prompt answered non-JSON: "
                               f"{_short(resp.text, 120)}") from None
        if not isinstance(data, dict):
            raise ComfyUIError(f"ComfyUI POST {self._safe_url}/prompt answered {_short(data, 120)}")
        if data.get("node_errors"):
            # Accepted with partial errors: some outputs will not run. Treat as rejection.
            raise ComfyUIPromptRejected(
                f"ComfyUI at {self._safe_url} rejected part of the workflow: "
                f"{summarize_node_errors(data['node_errors'], workflow)}", node_errors=data["node_errors"])
        return str(data.get("prompt_id") or prompt_id)

    def history(self, prompt_id: str) -> dict[str, Any] | None:
        """The history entry of a finished prompt, or None while it is queued/running/unknown."""
        entry = self._json_object("GET", f"/history/{prompt_id}").get(prompt_id)
        if entry is not None and not isinstance(entry, dict):
            raise ComfyUIError(f"ComfyUI GET {self._safe_url}/history/{prompt_id} answered a malformed entry: "
                               f"{_short(entry, 120)}")
        return entry or None

    def queue(self) -> dict[str, Any]:
        """``GET /queue``: ``{queue_running: [...], queue_pending: [...]}``."""
        return self._json_object("GET", "/queue")

    def is_queued(self, prompt_id: str) -> bool:
        """True when the prompt is running or pending on the server."""
        q = self.queue()
        return any(len(item) > 1 and item[1] == prompt_id
                   for key in ("queue_running", "queue_pending") for item in q.get(key) or [])

    def download(self, file_info: dict[str, Any]) -> bytes:
        """``GET /view?filename&subfolder&type`` -> the file's bytes (held in memory: for small
        files; ``download_to`` streams to disk)."""
        params = _view_params(file_info)
        resp = self._request("GET", "/view", params=params, limit=self.max_download_bytes)
        if resp.status_code >= 400:
            raise ComfyUIError(f"ComfyUI GET {self._safe_url}/view of {params['filename']!r} answered "
                               f"HTTP {resp.status_code}: {_short(resp.text, 160)}")
        return resp.content

    def save(self, file_info: dict[str, Any], dest: Path) -> int:
        """Stream ``GET /view`` into the file ``dest`` (overwritten), at most ``max_download_bytes``:
        memory stays flat whatever the size. Returns the bytes written. The caller owns ``dest``:
        on an error it holds part of the body, so write to a temporary name (``download_to``)."""
        params = _view_params(file_info)
        where = f"GET {self._safe_url}/view of {params['filename']!r}"
        limit, written = self.max_download_bytes, 0
        try:
            with self._http.stream("GET", "/view", params=params) as resp:
                if resp.status_code >= 400:
                    head = b""
                    for part in resp.iter_bytes():  # enough of the error page to quote
                        head += part
                        if len(head) >= 400:
                            break
                    raise ComfyUIError(f"ComfyUI {where} answered HTTP {resp.status_code}: "
                                       f"{_short(head[:400].decode('utf-8', 'replace'), 160)}")
                declared = resp.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > limit:
                    raise ComfyUIError(f"ComfyUI answered {where} with {int(declared)} bytes, more than the "
                                       f"{limit} E3 accepts")
                with open(dest, "wb") as fh:
                    for part in resp.iter_bytes():
                        written += len(part)
                        if written > limit:
                            raise ComfyUIError(f"ComfyUI answered {where} with more than the {limit} bytes "
                                               f"E3 accepts")
                        fh.write(part)
        except httpx.TimeoutException as exc:
            raise ComfyUIUnreachable(f"ComfyUI did not answer {where} within {self.timeout:g}s") from exc
        except httpx.HTTPError as exc:
            raise ComfyUIUnreachable(
                f"ComfyUI unreachable at {where}: {exc.__class__.__name__}: {_short(exc, 160)}") from exc
        return written

    def download_to(self, file_info: dict[str, Any], final: Path | str,
                    verify: Callable[[Path], None] | None = None) -> int:
        """``save`` into a temporary file beside ``final``, ``verify(temp)`` (raise to refuse it),
        then rename: a refused, cut or oversized download never reaches ``final`` and leaves no
        temporary file. Returns the bytes written."""
        with atomic_path(final) as tmp:
            size = self.save(file_info, tmp)
            if verify is not None:
                verify(tmp)
        return size

    def upload_image(self, data: bytes, name: str, *, subfolder: str = "", overwrite: bool = True) -> dict[str, Any]:
        """``POST /upload/image`` (multipart). Returns ``{name, subfolder, type}``; use ``name`` in LoadImage."""
        files = {"image": (name, data, "image/png")}
        form = {"overwrite": "true" if overwrite else "false", "type": "input", "subfolder": subfolder}
        resp = self._request("POST", "/upload/image", files=files, data=form)
        if resp.status_code >= 400:
            raise ComfyUIError(f"ComfyUI upload of {name!r} to {self._safe_url} failed: "
                               f"HTTP {resp.status_code}: {_short(resp.text, 160)}")
        try:
            data = resp.json()
        except ValueError:
            data = None
        if not isinstance(data, dict) or "name" not in data:
            raise ComfyUIError(f"ComfyUI POST {self._safe_url}/upload/image answered non-JSON or no file name: "
                               f"{_short(resp.text, 120)}")
        return data

    def cancel_prompt(self, prompt_id: str) -> bool:
        """Drop one prompt: deleted from the queue when pending, interrupted when running (the
        ``prompt_id`` form of ``/interrupt``, so another client's prompt is never stopped).
        True when it was found."""
        q = self.queue()
        running = {item[1] for item in q.get("queue_running") or [] if len(item) > 1}
        pending = {item[1] for item in q.get("queue_pending") or [] if len(item) > 1}
        if prompt_id in pending:
            self._request("POST", "/queue", json={"delete": [prompt_id]})
        elif prompt_id in running:
            self._request("POST", "/interrupt", json={"prompt_id": prompt_id})
        return prompt_id in pending or prompt_id in running

    def interrupt(self) -> None:
        """``POST /interrupt``: stop the prompt currently executing on the server."""
        resp = self._request("POST", "/interrupt", json={})
        if resp.status_code >= 400:
            raise ComfyUIError(f"ComfyUI interrupt at {self._safe_url} answered HTTP {resp.status_code}")

    # -- waiting ----------------------------------------------------------------------------------
    def _check_cancel(self, prompt_id: str) -> None:
        if self.cancel_event is not None and self.cancel_event.is_set():
            raise ComfyUICancelled(f"stopped waiting for ComfyUI prompt {prompt_id} at {self._safe_url}",
                                   prompt_id=prompt_id)

    def _finished_entry(self, prompt_id: str) -> dict[str, Any] | None:
        entry = self.history(prompt_id)
        if not entry:
            return None
        status = entry.get("status") or {}
        if status and not status.get("completed", True) and status.get("status_str") != "error":
            return None
        return entry

    def _check_entry(self, prompt_id: str, entry: dict[str, Any]) -> dict[str, Any]:
        status = entry.get("status") or {}
        if status.get("status_str") == "error" or status.get("completed") is False:
            for kind, data in status.get("messages") or []:
                if kind == "execution_error":
                    raise self._execution_error(data)
                if kind == "execution_interrupted":
                    raise ComfyUIExecutionError(f"ComfyUI prompt {prompt_id} was interrupted")
            raise ComfyUIExecutionError(f"ComfyUI prompt {prompt_id} failed (status {status.get('status_str')!r})")
        return entry

    def _execution_error(self, data: dict[str, Any]) -> ComfyUIExecutionError:
        node_id = data.get("node_id")
        node_type = data.get("node_type")
        msg = data.get("exception_message") or data.get("exception_type") or "execution failed"
        return ComfyUIExecutionError(
            f"ComfyUI at {self._safe_url} failed prompt {data.get('prompt_id')} in node {node_id} "
            f"({node_type}): {_short(msg, 240)}", node_id=node_id, node_type=node_type)

    def wait(self, prompt_id: str, timeout: float = 600.0,
             on_progress: Callable[[dict[str, Any]], None] | None = None,
             _ws: Any = _OPEN) -> dict[str, Any]:
        """Block until ``prompt_id`` finishes; returns its history entry.

        Listens on ``/ws`` (progress goes to ``on_progress`` as the message's ``data`` plus
        ``type``); falls back to polling ``GET /history`` when the socket is missing or drops.
        Raises ComfyUIExecutionError, ComfyUITimeout, ComfyUIUnreachable, or ComfyUIError when the
        server forgot the prompt (restarted).
        """
        deadline = time.monotonic() + timeout
        ws = self._open_ws() if _ws is _OPEN else _ws
        try:
            if ws is not None:
                # A socket opened before submitting has every message; otherwise look first.
                entry = self._wait_ws(ws, prompt_id, deadline, on_progress, precheck=_ws is _OPEN)
                if entry is not None:
                    return self._check_entry(prompt_id, entry)
            return self._check_entry(prompt_id, self._wait_poll(prompt_id, deadline))
        finally:
            if ws is not None:
                try:
                    ws.close()
                except Exception:  # noqa: BLE001 - closing a broken socket
                    pass

    def _wait_ws(self, ws: websocket.WebSocket, prompt_id: str, deadline: float,
                 on_progress: Callable[[dict[str, Any]], None] | None,
                 precheck: bool = True) -> dict[str, Any] | None:
        """Read ``/ws`` until done. None means: the socket failed, poll instead."""
        if precheck:
            entry = self._finished_entry(prompt_id)  # done before we listened (resubmit, other client)
            if entry is not None:
                return entry
        done = False
        probe = {"last_queue_check": time.monotonic()}
        while not done:
            self._check_cancel(prompt_id)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ComfyUITimeout(f"ComfyUI prompt {prompt_id} at {self._safe_url} did not finish in time")
            ws.settimeout(min(remaining, self.poll_interval, 0.5))  # 0.5: notice a cancel soon
            try:
                opcode, raw = ws.recv_data()
            except websocket.WebSocketTimeoutException:
                entry = self._probe(prompt_id, probe)  # quiet socket: another client's prompt, or lost
                if entry is not None:
                    return entry
                continue
            except (websocket.WebSocketException, OSError):
                return None
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                return None
            if opcode != websocket.ABNF.OPCODE_TEXT:
                continue  # binary preview frames
            try:
                msg = json.loads(raw)
            except ValueError:
                continue
            kind, data = msg.get("type"), msg.get("data") or {}
            if data.get("prompt_id") not in (None, prompt_id):
                continue
            if kind == "execution_error":
                raise self._execution_error(data)
            if kind == "execution_interrupted":
                raise ComfyUIExecutionError(f"ComfyUI prompt {prompt_id} at {self._safe_url} was interrupted")
            if kind == "executing" and data.get("node") is None and data.get("prompt_id") == prompt_id:
                done = True
            elif kind == "execution_success":
                done = True  # history is written just after; polled below
            elif kind in ("progress", "executing", "executed", "execution_start", "execution_cached") \
                    and on_progress is not None:
                on_progress({"type": kind, **data})
        return self._wait_poll(prompt_id, deadline, interval=0.02)

    def _probe(self, prompt_id: str, state: dict[str, float]) -> dict[str, Any] | None:
        """History entry if finished; now and then also ask ``/queue`` to notice a forgotten prompt."""
        entry = self._finished_entry(prompt_id)
        if entry is not None:
            return entry
        if time.monotonic() - state["last_queue_check"] > max(2.0, 2 * self.poll_interval):
            state["last_queue_check"] = time.monotonic()
            if not self.is_queued(prompt_id):
                entry = self._finished_entry(prompt_id)  # finished between the two calls
                if entry is not None:
                    return entry
                raise ComfyUIError(
                    f"ComfyUI at {self._safe_url} no longer knows prompt {prompt_id} "
                    f"(not queued, no history: the server restarted or dropped it)")
        return None

    def _wait_poll(self, prompt_id: str, deadline: float, interval: float | None = None) -> dict[str, Any]:
        """Poll ``GET /history/{id}`` until the prompt finished; 3 failed requests in a row give up."""
        interval = interval or min(0.25, self.poll_interval)
        failures = 0
        state = {"last_queue_check": time.monotonic()}
        while True:
            self._check_cancel(prompt_id)
            try:
                entry = self._probe(prompt_id, state)
                if entry is not None:
                    return entry
                failures = 0
            except ComfyUIUnreachable:
                failures += 1
                if failures >= 3:
                    raise
            if time.monotonic() >= deadline:
                raise ComfyUITimeout(f"ComfyUI prompt {prompt_id} at {self._safe_url} did not finish in time")
            time.sleep(min(interval * (1 + failures), max(0.0, deadline - time.monotonic())))
            interval = min(interval * 1.5, max(self.poll_interval, 0.02))

    # -- one call -----------------------------------------------------------------------------------
    def output_refs(self, entry: dict[str, Any], *, include_temp: bool = False) -> list[OutputRef]:
        """The image/audio files listed in a history entry's ``outputs``, not downloaded."""
        refs = []
        for node_id, node_out in (entry.get("outputs") or {}).items():
            for kind in OUTPUT_KINDS:
                for info in (node_out or {}).get(kind) or []:
                    if info.get("type") == "temp" and not include_temp:
                        continue  # PreviewImage etc.
                    refs.append(OutputRef(node_id=str(node_id), filename=info["filename"],
                                          subfolder=info.get("subfolder", ""), type=info.get("type", "output"),
                                          kind=kind))
        return refs

    def outputs_of(self, entry: dict[str, Any], *, include_temp: bool = False) -> list[OutputFile]:
        """Download every image/audio file listed in a history entry's ``outputs`` into memory."""
        return [OutputFile(r.node_id, r.filename, r.subfolder, r.type, r.kind, self.download(r.info))
                for r in self.output_refs(entry, include_temp=include_temp)]

    def run(self, workflow: dict[str, Any], prompt_id: str | None = None, timeout: float = 600.0,
            on_progress: Callable[[dict[str, Any]], None] | None = None) -> list[OutputFile]:
        """Submit, wait and download: the saved images/audio of ``workflow``, in memory."""
        return self.outputs_of(self.run_entry(workflow, prompt_id, timeout, on_progress))

    def run_entry(self, workflow: dict[str, Any], prompt_id: str | None = None, timeout: float = 600.0,
                  on_progress: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
        """Submit and wait: the finished prompt's history entry (``output_refs`` lists its files).

        The WebSocket is opened before submitting, so the "done" message cannot be missed.
        """
        ws = self._open_ws()
        try:
            pid = self.queue_prompt(workflow, prompt_id=prompt_id)
        except BaseException:
            if ws is not None:
                ws.close()
            raise
        return self.wait(pid, timeout=timeout, on_progress=on_progress, _ws=ws)
