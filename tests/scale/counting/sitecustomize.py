"""Test instrument (on PYTHONPATH of test workers only): log every finished chunk synthesis.

With E3_TEST_SYNTH_LOG set, ``e3.narration.synth.synthesize_to_file`` appends
``<pid> <parent pid> <chunk file path>`` to that file after a chunk's audio and sidecar are written.
"""

import os

if os.environ.get("E3_TEST_SYNTH_LOG"):
    from pathlib import Path

    import e3.narration.synth as _synth

    _real = _synth.synthesize_to_file

    def _counted(backend, text, out_path, *args, **kwargs):
        meta = _real(backend, text, out_path, *args, **kwargs)
        line = f"{os.getpid()} {os.getppid()} {Path(out_path).resolve()}\n".encode()
        fd = os.open(os.environ["E3_TEST_SYNTH_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)  # one O_APPEND write: lines from many processes never interleave
        finally:
            os.close(fd)
        return meta

    _synth.synthesize_to_file = _counted
