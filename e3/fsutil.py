"""File helpers: atomic writes and content hashes.

Every artifact is written to a temporary name beside its final path and moved into place with
``os.replace``, so a crash never leaves a half-written file under a final name.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def _owner_tag() -> str:
    """Host and process that own a temporary file or folder, so a later run can tell whether
    its owner is still alive (a folder shared by several hosts keeps theirs)."""
    host = re.sub(r"[^A-Za-z0-9]", "", socket.gethostname())[:24] or "host"
    return f"{host}~{os.getpid()}"


def tmp_path_for(final: Path) -> Path:
    """A unique temporary path in the same folder (same filesystem, so the rename is atomic).

    The suffix is kept so tools that pick a format by extension (ffmpeg) still work.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{final.stem}.{_owner_tag()}.", suffix=f".part{final.suffix}",
                                dir=final.parent)
    os.close(fd)
    # mkstemp makes 0600 files; artifacts get the usual umask-based permissions instead.
    os.chmod(name, 0o666 & ~_umask())
    return Path(name)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(final: Path | str) -> Iterator[Path]:
    """Yield a temporary path; on success it is renamed to ``final``, on error it is removed."""
    final = Path(final)
    tmp = tmp_path_for(final)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def atomic_write_bytes(final: Path | str, data: bytes) -> Path:
    final = Path(final)
    with atomic_path(final) as tmp:
        tmp.write_bytes(data)
    return final


def atomic_write_text(final: Path | str, text: str, encoding: str = "utf-8") -> Path:
    return atomic_write_bytes(final, text.encode(encoding))


def atomic_write_json(final: Path | str, obj: Any) -> Path:
    return atomic_write_text(final, json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=False) + "\n")


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_text(*parts: str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()


def sha256_file(path: Path | str, block: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(block):
            h.update(chunk)
    return h.hexdigest()


def remove_stale_parts(folder: Path) -> int:
    """Delete temporary ``.part`` files left by a crashed run; returns how many."""
    count = 0
    if folder.is_dir():
        for p in folder.glob(".*.part*"):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
                count += 1
    return count


STALE_FOREIGN_SECONDS = 24 * 3600
_OWNED = re.compile(r"(?P<host>[A-Za-z0-9]+)~(?P<pid>\d+)")


def _owner_gone(name: str, mtime: float) -> bool:
    """True when the host~pid in ``name`` is this host's and that process is dead, or the entry
    belongs to another host and is a day old. Names without an owner are left alone."""
    m = _OWNED.search(name)
    if not m:
        return False
    here = _owner_tag().split("~")[0]
    if m.group("host") != here:
        return time.time() - mtime > STALE_FOREIGN_SECONDS
    pid = int(m.group("pid"))
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def remove_stale_work(folder: Path) -> int:
    """Delete work folders (``.e3-*``) and ``.part`` files that a killed run left in ``folder``;
    returns how many. Those of live processes, here or on other hosts, are kept."""
    count = 0
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    for p in list(folder.glob(".e3-*")) + list(folder.glob(".*.part*")):
        try:
            gone = _owner_gone(p.name, p.stat().st_mtime)
        except FileNotFoundError:
            continue
        if gone:
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            else:
                with contextlib.suppress(FileNotFoundError):
                    p.unlink()
            count += 1
    return count


def work_dir(parent: Path, kind: str) -> Path:
    """A fresh hidden work folder ``.e3-<kind>-<host>~<pid>-*`` in ``parent`` (same filesystem as
    the output, so results move into place by rename). What killed runs left there goes first."""
    parent = Path(parent)
    parent.mkdir(parents=True, exist_ok=True)
    remove_stale_work(parent)
    return Path(tempfile.mkdtemp(prefix=f".e3-{kind}-{_owner_tag()}-", dir=parent))
