"""Background work the web app starts: merges (as `e3 merge` runs them) and the Dagster daemon.

``python -m e3.web.worker merge <key>`` adds the ``merges`` partition and materializes
``merged_m4b`` for it; the outcome lands on the ``jobs`` row (status, log).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path


def spawn_merge(key: str, folder: Path) -> subprocess.Popen:
    """Run one merge job in a child process; its output goes to ``<folder>/worker.log``."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "worker.log", "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "e3.web.worker", "merge", key], stdin=subprocess.DEVNULL,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=dict(os.environ))
    threading.Thread(target=proc.wait, daemon=True).start()  # reap it
    return proc


def daemon_command() -> list[str]:
    """``dagster-daemon run`` on E3's definitions (the uploads sensor turns uploads into books)."""
    exe = Path(sys.executable).with_name("dagster-daemon")
    binary = str(exe) if exe.exists() else shutil.which("dagster-daemon")
    if not binary:
        from e3.errors import E3Error

        raise E3Error("dagster-daemon is not installed (pip install dagster)")
    return [binary, "run", "-m", "e3_assets.definitions"]


def start_daemon() -> subprocess.Popen:
    """Start the Dagster daemon as a child, with E3's DAGSTER_HOME (prepared when unset)."""
    from e3.config import load_settings
    from e3.dagster_home import ensure_dagster_home

    ensure_dagster_home(load_settings())
    return subprocess.Popen(daemon_command(), stdin=subprocess.DEVNULL, env=dict(os.environ))


def stop(proc: subprocess.Popen | None, timeout: float = 15.0) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def _merge(key: str) -> int:
    from e3.cli.core import add_partition, materialize_partition
    from e3.errors import E3Error

    add_partition("merges", key)
    try:
        materialize_partition("merged_m4b", key, log_level="CRITICAL")  # the reason lands on the jobs row
    except E3Error as exc:
        print(f"merge {key} failed: {exc}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "merge":
        return _merge(argv[1])
    print("usage: python -m e3.web.worker merge <mj-key>", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
