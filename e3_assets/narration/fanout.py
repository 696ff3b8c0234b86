"""``audio_chunks`` as a graph-backed asset that fans one book's voicing out over chapter batches.

    chunk_batches --DynamicOut--> voice_chunk_batch (one step per batch) --collect--> audio_manifest

Each mapped step voices its batch with a synthesis pool of its own, so under the celery executor
the batches of one long book run on different hosts, and under the in-process executor they run
one after another, each using every core. The split comes from the plan alone
(``e3.narration.voicing.plan_batches``) and chunk files are named by content, so a retried or
redelivered batch voices only its chunks that are not finished, and no two batches share a file.
The domain logic is in ``e3.narration.voicing``; these ops only resolve resources and report.
"""

import json
import time
from pathlib import Path

import dagster as dg

from e3.catalog.status import report_chunk_progress
from e3.fsutil import remove_stale_parts, sha256_text
from e3_assets.common import TRANSIENT_RETRY, catalog_step, human_duration
from e3_assets.partitions import books_partitions
from e3_resources.catalog import CatalogResource
from e3_resources.foundry import FoundryResource
from e3_resources.tts import TTSResource


def _plan(paths) -> dict:
    if not paths.chunk_plan.is_file():
        raise dg.Failure(f"chunk plan not found at {paths.chunk_plan}; materialize the upstream asset first",
                         allow_retries=False)
    return json.loads(paths.chunk_plan.read_text(encoding="utf-8"))


def chunk_progress(context, engine, book_id: str, chunk_dir: Path, total: int):
    """``on_done(...)`` for one batch: the book's count of finished chunk files (batches may run
    at once on several hosts, so the folder is counted, at most once a second)."""
    last = {"t": 0.0}

    def on_done(_done: int, _total: int, _path: Path) -> None:
        now = time.monotonic()
        if now - last["t"] >= 1.0:
            last["t"] = now
            done = min(total, sum(1 for _ in chunk_dir.glob("*.json")))
            report_chunk_progress(engine, book_id, done, total)
            context.log.info(f"{book_id}: {done}/{total} chunk files")

    return on_done


@dg.op(ins={"narration_chunks": dg.In(dg.Nothing)}, out=dg.DynamicOut(list), retry_policy=TRANSIENT_RETRY,
       description="Split the book's chunk plan into chapter batches (E3_TTS_BATCHES).")
def chunk_batches(context: dg.OpExecutionContext, catalog: CatalogResource, foundry: FoundryResource,
                  tts: TTSResource):
    from e3.narration.tts import voice_key_for
    from e3.narration.voicing import plan_batches

    book_id = context.partition_key
    paths = foundry.book(book_id)
    with catalog_step(catalog, book_id, "audio_generation"):
        voice = tts.voice_for_book(catalog, book_id)
        paths.audio_chunks.mkdir(parents=True, exist_ok=True)
        remove_stale_parts(paths.audio_chunks)  # here, before any batch writes its .part files
        batches = plan_batches(_plan(paths), paths.audio_chunks, voice_key_for(**voice.spec), tts.batch_count())
    context.log.info(f"{book_id}: {sum(map(len, batches))} chunk files in {len(batches)} batches")
    for i, batch in enumerate(batches or [[]]):
        yield dg.DynamicOutput(batch, mapping_key=f"batch_{i:03d}")


@dg.op(pool="tts", retry_policy=TRANSIENT_RETRY, description="Voice one batch of chunks with a pool of its own.")
def voice_chunk_batch(context: dg.OpExecutionContext, catalog: CatalogResource, foundry: FoundryResource,
                      tts: TTSResource, batch: list) -> int:
    from e3.narration.voicing import voice_batch

    book_id = context.partition_key
    paths = foundry.book(book_id)
    with catalog_step(catalog, book_id, "audio_generation", announce=False):
        plan = _plan(paths)
        voice = tts.voice_for_book(catalog, book_id)
        started = time.monotonic()
        made = voice_batch(plan, paths.audio_chunks, batch, voice_spec=voice.spec, workers=tts.worker_count(),
                           on_done=chunk_progress(context, catalog.engine, book_id, paths.audio_chunks,
                                                  len(plan["chunks"])))
    context.log.info(f"{book_id}: batch of {len(batch)} chunks, {made} voiced now in "
                     f"{time.monotonic() - started:.1f} s")
    return made


@dg.op(retry_policy=TRANSIENT_RETRY, description="Write the audio manifest once every batch is voiced.")
def audio_manifest(context: dg.OpExecutionContext, catalog: CatalogResource, foundry: FoundryResource,
                   tts: TTSResource, voiced: list) -> dg.Output:
    from e3.narration.voicing import write_manifest

    book_id = context.partition_key
    paths = foundry.book(book_id)
    with catalog_step(catalog, book_id, "audio_generation", announce=False):
        voice = tts.voice_for_book(catalog, book_id)
        manifest, orphans = write_manifest(_plan(paths), paths.audio_chunks, paths.audio_manifest,
                                           voice_spec=voice.spec, book_id=book_id, narrator_id=voice.narrator_id,
                                           sample_rate=voice.sample_rate)
        chunks = len(manifest["chunks"])
        catalog.mark(book_id, "audio_generation", "completed", audio_jobs_completed=chunks, total_audio_files=chunks)
        report_chunk_progress(catalog.engine, book_id, chunks, chunks)
    speech = sum(e["duration"] for e in manifest["chunks"])
    metadata = {
        "path": dg.MetadataValue.path(str(paths.audio_chunks)),
        "chunks": chunks,
        "batches": len(voiced),
        "synthesized_now": sum(voiced),
        "reused": chunks - sum(voiced),
        "removed_orphans": orphans,
        "speech_seconds": round(speech, 2),
        "speech": human_duration(speech),
        "voice_model": voice.voice_model,
        "narrator_id": voice.narrator_id,
    }
    return dg.Output(chunks, metadata=metadata,
                     data_version=dg.DataVersion(sha256_text(*(e["file"] for e in manifest["chunks"]))[:16]))


@dg.graph_asset(
    partitions_def=books_partitions,
    ins={"narration_chunks": dg.AssetIn(dagster_type=dg.Nothing)},
    group_name="narration",
    kinds={"python", "flac"},
    description="One FLAC (+ timing sidecar) per narration chunk, named by a hash of text, voice and "
                "settings, voiced in chapter batches (one step each); a rerun synthesizes only what is missing.",
)
def audio_chunks(narration_chunks):
    return audio_manifest(chunk_batches(narration_chunks).map(voice_chunk_batch).collect())
