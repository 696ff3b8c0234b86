"""Pictures: scene prompts and one illustration per scene (partitioned by book)."""

import json
import time

import dagster as dg
from pydantic import Field

from e3.config import setting_number
from e3.fsutil import sha256_text
from e3_assets.books.assets import load_chapters, parsed_chapters
from e3_assets.common import TRANSIENT_RETRY, catalog_step
from e3_assets.partitions import books_partitions
from e3_resources.catalog import CatalogResource
from e3_resources.comfyui import ComfyUIResource
from e3_resources.foundry import FoundryResource
from e3_resources.llm import LLMResource

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
    out = paths.image_prompts
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
    from e3.media.thumbs import thumbnails_markdown
    from e3.pictures.illustrate import remove_orphan_scenes, scene_requests, sync_book_images

    book_id = context.partition_key
    paths = foundry.book(book_id)
    width = _env_int("E3_IMAGE_WIDTH", config.width, 1920, 16, 8192)
    height = _env_int("E3_IMAGE_HEIGHT", config.height, 1080, 16, 8192)
    provider = comfyui.provider()
    source = provider if provider != "comfyui" else \
        f"comfyui:{comfyui.resolved_workflow()}:{comfyui.resolved_checkpoint() or ''}"
    with catalog_step(catalog, book_id, "image_jobs_generation"):
        scenes = _read_prompts(paths, book_id)["scenes"]
        requests = scene_requests(book_id, scenes, paths.images, width, height, source)
        paths.images.mkdir(parents=True, exist_ok=True)
        remove_stale_parts(paths.images)
        present = sum(1 for r in requests if r.out.is_file())
        catalog.mark(book_id, "image_jobs_generation", "completed", total_image_jobs=len(requests),
                     image_jobs_completed=present)
    context.log.info(f"{book_id}: {len(requests)} illustrations at {width}x{height} by {provider}, "
                     f"{present} already made")
    started = time.monotonic()
    with catalog_step(catalog, book_id, "image_generation"):
        results = comfyui.generate_images(requests, engine=catalog.engine, log=context.log.info,
                                          on_done=_image_progress(context, catalog, book_id))
        rows = sync_book_images(catalog.engine, book_id, results)
        orphans = remove_orphan_scenes(paths.images, results)
        catalog.mark(book_id, "image_generation", "completed", image_jobs_completed=len(results))
    made = sum(1 for r in results if not r.reused)
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(paths.images)),
            "provider": ", ".join(sorted({r.provider for r in results})) or provider,
            "images": len(results), "generated_now": made, "reused": len(results) - made,
            "removed_orphans": orphans, "catalog_rows": rows, "size": f"{width}x{height}",
            "wall_seconds": round(time.monotonic() - started, 2),
            "preview": dg.MetadataValue.md(thumbnails_markdown([r.path for r in results[:PREVIEW_IMAGES]])
                                           or "_no scenes_"),
        },
        data_version=dg.DataVersion(sha256_text(*(r.path.name for r in results))[:16]),
    )


def _read_prompts(paths, book_id: str) -> dict:
    prompts_path = paths.image_prompts
    if not prompts_path.is_file():
        raise dg.Failure(f"{book_id}: no image prompts at {prompts_path}; materialize image_prompts first",
                         allow_retries=False)
    return json.loads(prompts_path.read_text(encoding="utf-8"))


def _image_progress(context, catalog: CatalogResource, book_id: str):
    """``on_done(done, total, result)``: the catalog count at most once a second, and a log line."""
    last = {"t": 0.0}

    def on_done(done: int, total: int, _result) -> None:
        now = time.monotonic()
        if done == total or now - last["t"] >= 1.0:
            last["t"] = now
            catalog.set_values(book_id, image_jobs_completed=done)
            context.log.info(f"{book_id}: {done}/{total} illustrations")

    return on_done
