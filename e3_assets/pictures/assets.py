"""Pictures: scene prompts and one illustration per scene (partitioned by book)."""

import json
import time
from pathlib import Path

import dagster as dg
import sqlalchemy as sa
from pydantic import Field

from e3.catalog.models import Image
from e3.config import setting_number
from e3.fsutil import sha256_text
from e3_assets.books.assets import load_chapters, parsed_chapters
from e3_assets.common import TRANSIENT_RETRY, catalog_step
from e3_assets.partitions import books_partitions
from e3_resources.catalog import CatalogResource
from e3_resources.comfyui import ComfyUIResource
from e3_resources.foundry import FoundryResource
from e3_resources.llm import LLMResource

PROMPTS_FILE = "prompts.json"
PREVIEW_IMAGES = 4


def _env_int(name: str, value: int | None, default: int, low: int, high: int) -> int:
    return setting_number(name, default, cast=int, low=low, high=high, value=value)


class ImagePromptsConfig(dg.Config):
    """How many scenes to illustrate per chapter."""

    scenes_per_chapter: int | None = Field(
        default=None, description="Scenes per chapter (1-10); default E3_SCENES_PER_CHAPTER or 1.")


class IllustrationsConfig(dg.Config):
    """The size of the illustrations."""

    width: int | None = Field(default=None, description="Pixels; default E3_IMAGE_WIDTH or 1920.")
    height: int | None = Field(default=None, description="Pixels; default E3_IMAGE_HEIGHT or 1080.")


@dg.asset(
    partitions_def=books_partitions,
    deps=[parsed_chapters],
    group_name="pictures",
    kinds={"python", "json"},
    retry_policy=TRANSIENT_RETRY,
    description="Scene prompts for the book's illustrations (images/prompts.json): N scenes per chapter, "
                "each with a prompt, a negative prompt, a style and the chapter position it shows; written "
                "by the LLM when one is configured, else by the offline extractive writer.",
)
def image_prompts(context: dg.AssetExecutionContext, config: ImagePromptsConfig, catalog: CatalogResource,
                  foundry: FoundryResource, llm: LLMResource) -> dg.MaterializeResult:
    book_id = context.partition_key
    paths = foundry.book(book_id)
    out = paths.images / PROMPTS_FILE
    with catalog_step(catalog, book_id, "image_prompts"):
        from e3.pictures import prompts as writer

        per_chapter = _env_int("E3_SCENES_PER_CHAPTER", config.scenes_per_chapter, 1, 1, 10)
        meta, chapters = load_chapters(paths)
        if llm.available():
            client = llm.client()
            context.log.info(f"{book_id}: writing {per_chapter} scene(s) per chapter with {client.model}")
            scenes = writer.llm_scenes(client, chapters, per_chapter, meta)
            provider, model = "llm", client.model
        else:
            context.log.info(f"{book_id}: no LLM configured; extractive prompt writer")
            scenes = writer.extractive_scenes(chapters, per_chapter, meta)
            provider, model = "extractive", None
        data = writer.write_prompts(out, scenes, provider=provider, model=model, book_id=book_id)
        catalog.mark(book_id, "image_prompts", "completed")
    scenes = data["scenes"]
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(out)),
            "writer": provider,
            "model": model or "",
            "scenes": len(scenes),
            "scenes_per_chapter": per_chapter,
            "first_prompts": dg.MetadataValue.md("\n".join(f"- {s['prompt']}" for s in scenes[:5])),
        },
        data_version=dg.DataVersion(sha256_text(json.dumps(scenes, sort_keys=True))[:16]),
    )


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


def _sync_image_rows(catalog: CatalogResource, book_id: str, results: list) -> int:
    """One ``images`` row per illustration (no duplicates on rerun); rows of vanished files go."""
    keep = {str(r.path): r for r in results}
    with catalog.session() as s, s.begin():
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


@dg.asset(
    partitions_def=books_partitions,
    deps=[image_prompts],
    group_name="pictures",
    kinds={"python", "png"},
    pool="comfyui",
    retry_policy=TRANSIENT_RETRY,
    description="One PNG per scene in images/ (1920x1080 by default): through the comfyui_jobs queue on a "
                "ComfyUI server when E3_COMFYUI_URL (or external workers) is set, else painted offline "
                "(provider 'dummy'). A rerun makes only what is missing.",
)
def illustrations(context: dg.AssetExecutionContext, config: IllustrationsConfig, catalog: CatalogResource,
                  foundry: FoundryResource, comfyui: ComfyUIResource) -> dg.MaterializeResult:
    from e3.fsutil import remove_stale_parts
    from e3.pictures.generate import ImageRequest

    book_id = context.partition_key
    paths = foundry.book(book_id)
    prompts_path = paths.images / PROMPTS_FILE
    with catalog_step(catalog, book_id, "image_jobs_generation"):
        if not prompts_path.is_file():
            raise dg.Failure(f"{book_id}: no image prompts at {prompts_path}; materialize image_prompts first",
                             allow_retries=False)
        scenes = json.loads(prompts_path.read_text(encoding="utf-8"))["scenes"]
        width = _env_int("E3_IMAGE_WIDTH", config.width, 1920, 16, 8192)
        height = _env_int("E3_IMAGE_HEIGHT", config.height, 1080, 16, 8192)
        provider = comfyui.provider()
        source = provider if provider != "comfyui" else \
            f"comfyui:{comfyui.resolved_workflow()}:{comfyui.resolved_checkpoint() or ''}"
        requests, seen = [], set()
        for i, scene in enumerate(scenes):
            scene = {**scene, "scene_index": scene.get("scene_index", _scene_number(scenes, i))}
            name, digest, seed = scene_image_name(scene, width, height, source)
            if name in seen:  # two identical scenes: one picture serves both
                continue
            seen.add(name)
            requests.append(ImageRequest(key=f"{book_id}:img:{digest}", prompt=scene["prompt"],
                                         negative=scene.get("negative_prompt") or "", out=paths.images / name,
                                         width=width, height=height, seed=seed))
        paths.images.mkdir(parents=True, exist_ok=True)
        remove_stale_parts(paths.images)
        present = sum(1 for r in requests if r.out.is_file())
        catalog.mark(book_id, "image_jobs_generation", "completed", total_image_jobs=len(requests),
                     image_jobs_completed=present)
    context.log.info(f"{book_id}: {len(requests)} illustrations at {width}x{height} by {provider}, "
                     f"{present} already made")

    with catalog_step(catalog, book_id, "image_generation"):
        last = {"t": 0.0}
        started = time.monotonic()

        def on_done(done: int, total: int, result) -> None:
            now = time.monotonic()
            if done == total or now - last["t"] >= 1.0:
                last["t"] = now
                catalog.set_values(book_id, image_jobs_completed=done)
                context.log.info(f"{book_id}: {done}/{total} illustrations")

        results = comfyui.generate_images(requests, engine=catalog.engine, on_done=on_done,
                                          log=context.log.info)
        rows = _sync_image_rows(catalog, book_id, results)
        keep = {r.path.name for r in results} | {PROMPTS_FILE}
        orphans = [p for p in paths.images.glob("scene-*.png") if p.name not in keep]
        for orphan in orphans:
            orphan.unlink(missing_ok=True)
        catalog.mark(book_id, "image_generation", "completed", image_jobs_completed=len(results))
    made = sum(1 for r in results if not r.reused)
    providers = sorted({r.provider for r in results})
    from e3.media.thumbs import thumbnails_markdown

    preview = thumbnails_markdown([r.path for r in results[:PREVIEW_IMAGES]])
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(paths.images)),
            "provider": ", ".join(providers) or provider,
            "images": len(results),
            "generated_now": made,
            "reused": len(results) - made,
            "removed_orphans": len(orphans),
            "catalog_rows": rows,
            "size": f"{width}x{height}",
            "wall_seconds": round(time.monotonic() - started, 2),
            "preview": dg.MetadataValue.md(preview or "_no scenes_"),
        },
        data_version=dg.DataVersion(sha256_text(*(r.path.name for r in results))[:16]),
    )


def _scene_number(scenes: list[dict], i: int) -> int:
    """0-based number of scene ``i`` within its chapter (when prompts.json does not say)."""
    chapter = scenes[i]["chapter_index"]
    return sum(1 for s in scenes[:i] if s["chapter_index"] == chapter)
