"""`dagster-webserver -w workspace.yaml` serves the project: the asset graph with its partitions."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import PROJECT_ROOT


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_ui_lists_the_asset_graph_with_partitions(e3_env):
    (e3_env / "dagster_home").mkdir(exist_ok=True)
    port = _free_port()
    exe = Path(sys.executable).with_name("dagster-webserver")
    proc = subprocess.Popen([str(exe), "-w", str(PROJECT_ROOT / "workspace.yaml"), "-h", "127.0.0.1",
                             "-p", str(port)], cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL,
                            stderr=open(e3_env / "webserver.log", "wb"))
    query = "{ assetNodes { assetKey { path } dependencyKeys { path } partitionDefinition { description } } }"
    try:
        deadline = time.monotonic() + 90
        nodes = None
        while time.monotonic() < deadline and nodes is None:
            try:
                reply = httpx.post(f"http://127.0.0.1:{port}/graphql", json={"query": query}, timeout=5)
                nodes = reply.json()["data"]["assetNodes"]
            except (httpx.HTTPError, KeyError, ValueError):
                time.sleep(1)
        assert nodes, "the webserver did not answer: " + (e3_env / "webserver.log").read_text()[-2000:]
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    by_key = {n["assetKey"]["path"][0]: n for n in nodes}
    for name in ("book_source", "parsed_chapters", "narration_chunks", "audio_chunks", "audiobook_m4b", "subtitles"):
        assert 'Dynamic partitions: "books"' in by_key[name]["partitionDefinition"]["description"]
    assert ["audio_chunks"] in [d["path"] for d in by_key["audiobook_m4b"]["dependencyKeys"]]
