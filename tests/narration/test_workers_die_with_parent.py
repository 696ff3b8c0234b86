"""A SIGKILLed parent takes its synthesis workers with it: nothing keeps writing into the foundry."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import psutil


def test_pool_workers_exit_when_the_parent_is_killed(tmp_path):
    script = tmp_path / "parent.py"
    script.write_text(textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(os.getcwd())!r})
        from concurrent.futures import ProcessPoolExecutor
        from multiprocessing import get_context
        import os
        from e3.narration.synth import die_with_parent

        def idle(_):
            time.sleep(120)

        pool = ProcessPoolExecutor(2, mp_context=get_context("spawn"), initializer=die_with_parent,
                                   initargs=(os.getpid(),))
        futures = [pool.submit(idle, i) for i in range(2)]
        print("ready", flush=True)
        time.sleep(120)
    """))
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    assert parent.stdout.readline().strip() == "ready"
    deadline = time.monotonic() + 30
    children = []
    while time.monotonic() < deadline:
        children = [c for c in psutil.Process(parent.pid).children(recursive=True)
                    if "resource_tracker" not in " ".join(c.cmdline())]
        if len(children) >= 2:
            break
        time.sleep(0.2)
    assert len(children) >= 2
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait(10)
    gone, alive = psutil.wait_procs(children, timeout=10)
    assert not alive, f"workers outlived their parent: {[p.pid for p in alive]}"
