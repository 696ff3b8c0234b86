"""Streaming multipart uploads: the size limit is enforced while the body arrives, not after."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from python_multipart.multipart import MultipartParser, parse_options_header

MAX_FIELD_BYTES = 4096
HEAD_BYTES = 8192


class UploadRefused(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


@dataclass
class Received:
    fields: dict[str, str] = field(default_factory=dict)
    file_name: str | None = None
    path: Path | None = None
    size: int = 0
    head: bytes = b""

    def discard(self) -> None:
        if self.path is not None:
            self.path.unlink(missing_ok=True)
            self.path = None


async def receive_upload(request, limit: int, folder: Path, file_field: str = "file") -> Received:
    """Parse ``multipart/form-data`` from ``request.stream()``: small fields into ``fields``, the
    one ``file_field`` part into a temporary file in ``folder``. More than ``limit`` file bytes
    (or a body that must be larger) stops reading and raises :class:`UploadRefused` (413)."""
    kind, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise UploadRefused(400, "send the book as multipart/form-data")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + 1024 * 1024:
        raise UploadRefused(413, f"the file is larger than the limit of {limit} bytes")
    folder.mkdir(parents=True, exist_ok=True)
    out = Received()
    state: dict = {"headers": {}, "field": None, "name": None, "value": b"", "fh": None, "error": None}

    def on_header_field(data, start, end):
        state["hname"] = state.get("hname", b"") + data[start:end]

    def on_header_value(data, start, end):
        state["hvalue"] = state.get("hvalue", b"") + data[start:end]

    def on_header_end():
        state["headers"][state.pop("hname", b"").lower()] = state.pop("hvalue", b"")

    def on_headers_finished():
        _, disp = parse_options_header(state["headers"].get(b"content-disposition", b""))
        name = disp.get(b"name", b"").decode("utf-8", "replace")
        state["field"], state["value"] = name, b""
        if b"filename" in disp and name == file_field and out.path is None:
            out.file_name = disp[b"filename"].decode("utf-8", "replace")
            fd, tmp = tempfile.mkstemp(prefix=".receiving-", dir=folder)
            state["fh"], out.path = os.fdopen(fd, "wb"), Path(tmp)
        elif b"filename" in disp:
            state["field"] = None  # a second file, or a file under another name: ignored

    def on_part_data(data, start, end):
        chunk = data[start:end]
        if state["fh"] is not None:
            out.size += len(chunk)
            if out.size > limit:
                state["error"] = UploadRefused(413, f"the file is larger than the limit of {limit} bytes")
                return
            if len(out.head) < HEAD_BYTES:
                out.head += chunk[:HEAD_BYTES - len(out.head)]
            state["fh"].write(chunk)
        elif state["field"]:
            state["value"] += chunk
            if len(state["value"]) > MAX_FIELD_BYTES:
                state["error"] = UploadRefused(400, f"form field {state['field']!r} is too long")

    def on_part_end():
        if state["fh"] is not None:
            state["fh"].close()
            state["fh"] = None
        elif state["field"]:
            out.fields[state["field"]] = state["value"].decode("utf-8", "replace")
        state["headers"], state["field"] = {}, None

    parser = MultipartParser(boundary, {
        "on_header_field": on_header_field, "on_header_value": on_header_value, "on_header_end": on_header_end,
        "on_headers_finished": on_headers_finished, "on_part_data": on_part_data, "on_part_end": on_part_end,
    })
    try:
        async for chunk in request.stream():
            parser.write(chunk)
            if state["error"] is not None:
                raise state["error"]
        parser.finalize()
    except UploadRefused:
        if state["fh"] is not None:
            state["fh"].close()
        out.discard()
        raise
    except Exception as exc:  # noqa: BLE001 - a malformed body
        if state["fh"] is not None:
            state["fh"].close()
        out.discard()
        raise UploadRefused(400, f"malformed upload ({exc.__class__.__name__})") from None
    return out
