"""A book's illustrations from its scene prompts, without Dagster (the ``illustrations`` asset
calls these): one request per distinct scene, named by a hash of what the picture depends on,
the ``images`` rows kept in step with the files, and pictures of scenes that are gone removed."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from e3.catalog.models import Image
from e3.errors import E3Error
from e3.fsutil import sha256_text
from e3.pictures.generate import ImageRequest, ImageResult


def scene_image_name(scene: dict, width: int, height: int, source: str) -> tuple[str, str, int]:
    """(file name, content hash, seed) of one scene's illustration.

    The hash covers what the picture depends on (prompt, negative prompt, size, who paints it), so
    an edited prompt or a switch from the painter to ComfyUI makes a new file, and a rerun with the
    same inputs finds the old one.
    """
    chapter = int(scene["chapter_index"])
    position = int(scene.get("scene_index", scene.get("n", 0)))
    digest = sha256_text(scene["prompt"], scene.get("negative_prompt") or "", f"{width}x{height}", source)
    seed = int(digest[:8], 16)
    return f"scene-{chapter + 1:03d}-{position + 1}-{digest[:10]}.png", digest[:10], seed


def _scene_number(scenes: list[dict], i: int) -> int:
    """0-based number of scene ``i`` within its chapter (when prompts.json does not say)."""
    chapter = scenes[i]["chapter_index"]
    return sum(1 for s in scenes[:i] if s["chapter_index"] == chapter)


def scene_requests(book_id: str, scenes: list[dict], images_dir: Path, width: int, height: int,
                   source: str) -> list[ImageRequest]:
    """One image request per distinct scene (two identical scenes share one picture)."""
    requests, seen = [], set()
    for i, scene in enumerate(scenes):
        scene = {**scene, "scene_index": scene.get("scene_index", _scene_number(scenes, i))}
        name, _digest, seed = scene_image_name(scene, width, height, source)
        if name in seen:
            continue
        seen.add(name)
        # the key names the file, not only the prompt: the same prompt in two chapters is two jobs
        requests.append(ImageRequest(key=f"{book_id}:img:{Path(name).stem}", prompt=scene["prompt"],
                                     negative=scene.get("negative_prompt") or "", out=images_dir / name,
                                     width=width, height=height, seed=seed))
    return requests


def sync_book_images(engine: sa.Engine, book_id: str, results: list[ImageResult]) -> int:
    """One ``images`` row per illustration (no duplicates on rerun); rows of vanished files go."""
    keep = {str(r.path): r for r in results}
    with Session(engine) as s, s.begin():
        rows = s.scalars(sa.select(Image).where(Image.book_id == book_id, Image.video_job_id.is_(None))).all()
        existing = {}
        for row in rows:
            if row.local_file_path not in keep or row.local_file_path in existing:
                s.delete(row)
            else:
                existing[row.local_file_path] = row
        for path, result in keep.items():
            row = existing.get(path)
            if row is None:
                row = Image(book_id=book_id, local_file_path=path, order_index=None)
                s.add(row)
            row.provider = result.provider
            row.prompt_text = result.request.prompt
            row.provider_image_id = result.request.key
    return len(keep)


def remove_orphan_scenes(images_dir: Path, results: list[ImageResult]) -> int:
    """Delete scene pictures no request made (their scene was edited or removed); returns how many."""
    keep = {r.path.name for r in results}
    orphans = [p for p in images_dir.glob("scene-*.png") if p.name not in keep]
    for orphan in orphans:
        orphan.unlink(missing_ok=True)
    return len(orphans)


class NoPrompts(E3Error):
    """The illustrations step ran before the scene prompts were written."""


def plan_illustrations(paths, book_id: str, width: int, height: int, source: str) -> list[ImageRequest]:
    """One request per distinct scene of ``paths.image_prompts``; the images folder is ready and
    parts left by a killed run are gone."""
    import json

    from e3.fsutil import remove_stale_parts

    if not paths.image_prompts.is_file():
        raise NoPrompts(f"no image prompts at {paths.image_prompts}; materialize image_prompts first")
    scenes = json.loads(paths.image_prompts.read_text(encoding="utf-8"))["scenes"]
    paths.images.mkdir(parents=True, exist_ok=True)
    remove_stale_parts(paths.images)
    return scene_requests(book_id, scenes, paths.images, width, height, source)


@dataclass
class BookIllustrations:
    """What ``illustrate_book`` made: the pictures, the catalog rows, the orphans removed."""

    results: list[ImageResult]
    catalog_rows: int
    removed_orphans: int
    seconds: float

    @property
    def made_now(self) -> int:
        return sum(1 for r in self.results if not r.reused)


def illustrate_book(engine: sa.Engine, book_id: str, paths, requests: list[ImageRequest],
                    generate: Callable[[list[ImageRequest]], list[ImageResult]]) -> BookIllustrations:
    """Make what is missing with ``generate``, keep the ``images`` rows in step with the files,
    and remove pictures of scenes that are gone."""
    started = time.monotonic()
    results = generate(requests)
    rows = sync_book_images(engine, book_id, results)
    orphans = remove_orphan_scenes(paths.images, results)
    return BookIllustrations(results, rows, orphans, round(time.monotonic() - started, 2))
