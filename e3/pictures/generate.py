"""The one way E3 makes pictures (and other ComfyUI files): reuse, paint offline, or queue on ComfyUI.

::

    results = generate_images([ImageRequest(key="pg98:img:1a2b", prompt="...", negative="...",
                                            out=Path(".../scene-001-1-1a2b.png"))],
                              engine=engine, comfyui_url=settings.comfyui_url)

- An output file that already exists is reused: nothing is generated (``reused=True``).
- Without a ComfyUI URL the built-in procedural painter paints it (provider ``dummy``).
- With a URL, each request becomes a ``comfyui_jobs`` row (idempotent on ``config_name`` = the
  request's key) and a worker runs it: in this process (a worker thread against ``comfyui_url``)
  or, with ``external_workers=True``, the ``e3 worker comfyui`` processes, which this waits for.
  A job that ends ``failed`` (after its queue retry limit) raises an ``E3Error`` with the reason.
  When a batch is given up (a failed job, a timeout, Ctrl-C/SIGTERM), the in-process worker
  releases the job it runs and the batch's jobs still pending end ``failed`` ("cancelled: why");
  a rerun requeues them with a fresh retry budget.

SDXL renders best near one megapixel and needs sides that are multiples of 8, so ComfyUI is
asked for the nearest such size with the request's aspect ratio and the PNG is then resized and
centre-cropped to exactly ``width`` x ``height``. The raw ComfyUI file is kept under
``<out dir>/.comfyui/`` until the final PNG is in place.

``e3.comfyui.tasks.run_comfyui_tasks`` is the generic form (any workflow, image or audio jobs,
e.g. the studio's ACE-Step music).
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from e3.comfyui.tasks import ComfyTask, GenerationError, run_comfyui_tasks
from e3.fsutil import atomic_write_bytes

DEFAULT_WORKFLOW = "sdxl_text_to_image"
NATIVE_PIXELS = 1024 * 1024  # SDXL's training resolution; larger latents repeat subjects
RAW_DIR = ".comfyui"


@dataclass
class ImageRequest:
    """One picture to make. ``key`` is unique and stable: it becomes ``comfyui_jobs.config_name``."""

    key: str
    prompt: str
    negative: str
    out: Path
    width: int = 1920
    height: int = 1080
    seed: int = 0


@dataclass
class ImageResult:
    request: ImageRequest
    path: Path
    provider: str  # "dummy" (built-in painter) or "comfyui"
    reused: bool  # the file already existed: nothing generated


def _noop_log(_: str) -> None:
    pass


def comfy_size(width: int, height: int, native_pixels: int = NATIVE_PIXELS) -> tuple[int, int]:
    """The size to ask SDXL for: ``width:height``, at most ``native_pixels``, sides multiples of 8."""
    scale = min(1.0, (native_pixels / float(width * height)) ** 0.5)

    def side(v: float) -> int:  # rounded up, so fitting back only crops a few pixels
        return max(64, math.ceil(v * scale / 8.0 - 1e-9) * 8)

    return side(width), side(height)


def fit_png(data: bytes, width: int, height: int) -> bytes:
    """Resize (Lanczos) and centre-crop an image to exactly ``width`` x ``height``; PNG bytes."""
    from PIL import Image, ImageOps

    try:
        img = Image.open(io.BytesIO(data))
        img.load()
    except Exception as exc:  # noqa: BLE001 - any decoder error means the same to the user
        raise GenerationError(f"ComfyUI returned a file that is not an image: {exc}") from exc
    if img.size == (width, height) and img.format == "PNG":
        return data
    img = ImageOps.fit(img.convert("RGB"), (width, height), method=Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=4)
    return buf.getvalue()


def _comfyui_provider_of(engine: sa.Engine | None, key: str) -> str:
    """Who made an existing file: ``comfyui`` when its queue job is done, else the painter."""
    if engine is None:
        return "dummy"
    from e3.comfyui.queue import JobQueue

    job = JobQueue(engine).get_by_name(key)
    return "comfyui" if job is not None and job.status == "done" else "dummy"


def generate_images(requests: Sequence[ImageRequest], *, engine: sa.Engine | None, comfyui_url: str | None,
                    workflow: str = DEFAULT_WORKFLOW, checkpoint: str | None = None,
                    external_workers: bool = False, priority: int = 100, timeout: float | None = None,
                    on_done: Callable[[int, int, ImageResult], None] | None = None,
                    log: Callable[[str], None] = print, retry_limit: int = 3, lease_seconds: float = 300,
                    unreachable_backoff: float = 5.0) -> list[ImageResult]:
    """Make one PNG per request (see the module docstring); results in request order.

    ``comfyui_url`` None and ``external_workers`` False: the offline painter. ``checkpoint``
    overrides the workflow's model file. ``retry_limit``, ``lease_seconds`` and
    ``unreachable_backoff`` tune the queue (attempts per job, lease length, pause after a server
    that cannot be reached).
    """
    from e3.pictures import painter

    log = log or _noop_log
    requests = list(requests)
    keys = [r.key for r in requests]
    if len(set(keys)) != len(keys):
        raise GenerationError("image request keys must be unique")
    for r in requests:
        if not r.prompt or not r.prompt.strip():
            raise GenerationError(f"image {r.key}: the prompt is empty")
        if r.width < 16 or r.height < 16:
            raise GenerationError(f"image {r.key}: size {r.width}x{r.height} is too small")
    total = len(requests)
    results: dict[str, ImageResult] = {}
    state = {"done": 0}

    def finish(result: ImageResult) -> None:
        results[result.request.key] = result
        state["done"] += 1
        if on_done:
            on_done(state["done"], total, result)

    todo: list[ImageRequest] = []
    for r in requests:
        out = Path(r.out)
        if out.is_file():
            finish(ImageResult(r, out, _comfyui_provider_of(engine, r.key), reused=True))
        else:
            todo.append(r)
    if todo and not comfyui_url and not external_workers:
        for r in todo:
            atomic_write_bytes(Path(r.out), painter.paint(r.prompt, r.width, r.height, r.seed))
            finish(ImageResult(r, Path(r.out), painter.PROVIDER, reused=False))
    elif todo:
        if engine is None:
            raise GenerationError("ComfyUI images need the catalog engine (the comfyui_jobs queue)")
        by_raw: dict[Path, ImageRequest] = {}
        tasks = []
        for r in todo:
            w, h = comfy_size(r.width, r.height)
            params: dict[str, Any] = {"prompt": r.prompt, "negative": r.negative or None, "seed": r.seed,
                                      "width": w, "height": h}
            if checkpoint:
                params["checkpoint"] = checkpoint
            params = {k: v for k, v in params.items() if v is not None}
            raw = Path(r.out).parent / RAW_DIR / Path(r.out).name
            tasks.append(ComfyTask(r.key, workflow, params, raw, "image", priority))
            by_raw[raw] = r

        def task_done(_done: int, _total: int, raw: Path) -> None:
            r = by_raw[raw]
            try:
                png = fit_png(raw.read_bytes(), r.width, r.height)
            finally:
                raw.unlink(missing_ok=True)  # a bad download is discarded: the next run asks again
            atomic_write_bytes(Path(r.out), png)
            finish(ImageResult(r, Path(r.out), "comfyui", reused=False))

        run_comfyui_tasks(tasks, engine=engine, comfyui_url=comfyui_url, external_workers=external_workers,
                          timeout=timeout, on_done=task_done, log=log, retry_limit=retry_limit,
                          lease_seconds=lease_seconds, unreachable_backoff=unreachable_backoff)
        for raw_dir in {Path(r.out).parent / RAW_DIR for r in todo}:
            try:
                raw_dir.rmdir()  # only when empty
            except OSError:
                pass
    return [results[k] for k in keys]
