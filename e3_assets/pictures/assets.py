"""Pictures: scene prompts and one illustration per scene (partitioned by book)."""

import json

import dagster as dg
from pydantic import Field

from e3.config import settings
from e3.fsutil import sha256_text
from e3_assets.books.assets import parsed_chapters
from e3_assets.common import book_asset, catalog_step, every, pictures_metadata
from e3_resources.catalog import CatalogResource
from e3_resources.comfyui import ComfyUIResource
from e3_resources.foundry import FoundryResource
from e3_resources.llm import LLMResource



class ImagePromptsConfig(dg.Config):
    """How many scenes to illustrate per chapter."""

    scenes_per_chapter: int | None = Field(
        default=None, description="Scenes per chapter (1-10); default E3_SCENES_PER_CHAPTER or 1.")


class IllustrationsConfig(dg.Config):
    """The size of the illustrations."""

    width: int | None = Field(default=None, description="Pixels; default E3_IMAGE_WIDTH or 1920.")
    height: int | None = Field(default=None, description="Pixels; default E3_IMAGE_HEIGHT or 1080.")


@book_asset(
    deps=[parsed_chapters],
    group_name="pictures",
    kinds={"python", "json"},
    description="Scene prompts for the book's illustrations (images/prompts.json): N scenes per chapter, "
                "each with a prompt, a negative prompt, a style and the chapter position it shows; written "
                "by the LLM when one is configured, else by the offline extractive writer.",
)
def image_prompts(context: dg.AssetExecutionContext, config: ImagePromptsConfig, catalog: CatalogResource,
                  foundry: FoundryResource, llm: LLMResource) -> dg.MaterializeResult:
    from e3.pictures.prompts import write_book_prompts

    book_id = context.partition_key
    paths = foundry.book(book_id)
    with catalog_step(catalog, book_id, "image_prompts"):
        per_chapter = settings(scenes_per_chapter=config.scenes_per_chapter).scenes_per_chapter
        client = llm.client() if llm.available() else None
        context.log.info(f"{book_id}: {per_chapter} scene(s) per chapter by "
                         f"{client.model if client else 'the offline extractive writer (no LLM configured)'}")
        data = write_book_prompts(paths, book_id, per_chapter, client)
        catalog.mark(book_id, "image_prompts", "completed")
    scenes = data["scenes"]
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(paths.image_prompts)),
            "writer": data["provider"],
            "model": data["model"] or "",
            "scenes": len(scenes),
            "scenes_per_chapter": per_chapter,
            "first_prompts": dg.MetadataValue.md("\n".join(f"- {s['prompt']}" for s in scenes[:5])),
        },
        data_version=dg.DataVersion(sha256_text(json.dumps(scenes, sort_keys=True))[:16]),
    )


@book_asset(
    deps=[image_prompts],
    group_name="pictures",
    kinds={"python", "png"},
    pool="comfyui",
    description="One PNG per scene in images/ (1920x1080 by default): through the comfyui_jobs queue on a "
                "ComfyUI server when E3_COMFYUI_URL (or external workers) is set, else painted offline "
                "(provider 'dummy'). A rerun makes only what is missing.",
)
def illustrations(context: dg.AssetExecutionContext, config: IllustrationsConfig, catalog: CatalogResource,
                  foundry: FoundryResource, comfyui: ComfyUIResource) -> dg.MaterializeResult:
    from e3.pictures.illustrate import illustrate_book, plan_illustrations

    book_id = context.partition_key
    paths = foundry.book(book_id)
    chosen = settings(image_width=config.width, image_height=config.height)
    width, height = chosen.image_width, chosen.image_height
    with catalog_step(catalog, book_id, "image_jobs_generation"):
        requests = plan_illustrations(paths, book_id, width, height, comfyui.picture_source())
        present = sum(1 for r in requests if r.out.is_file())
        catalog.mark(book_id, "image_jobs_generation", "completed", total_image_jobs=len(requests),
                     image_jobs_completed=present)
    context.log.info(f"{book_id}: {len(requests)} illustrations at {width}x{height} by {comfyui.provider()}, "
                     f"{present} already made")
    with catalog_step(catalog, book_id, "image_generation"):
        made = illustrate_book(catalog.engine, book_id, paths, requests, lambda todo: comfyui.generate_images(
            todo, engine=catalog.engine, log=context.log.info, on_done=_image_progress(context, catalog, book_id)))
        catalog.mark(book_id, "image_generation", "completed", image_jobs_completed=len(made.results))
    return dg.MaterializeResult(metadata={
        **pictures_metadata(paths.images, made.results, size=f"{width}x{height}", seconds=made.seconds),
        "removed_orphans": made.removed_orphans, "catalog_rows": made.catalog_rows,
    }, data_version=dg.DataVersion(sha256_text(*(r.path.name for r in made.results))[:16]))


def _image_progress(context, catalog: CatalogResource, book_id: str):
    """``on_done(done, total, result)``: the catalog count and a log line at most once a second."""
    def report(done: int, total: int, _result) -> None:
        catalog.set_values(book_id, image_jobs_completed=done)
        context.log.info(f"{book_id}: {done}/{total} illustrations")

    return every(1.0, report)
