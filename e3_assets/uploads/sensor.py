"""The uploads sensor: each new pending upload becomes a book, a ``books`` partition and a run."""

import dagster as dg

from e3_assets.common import running_sensor
from e3_assets.partitions import books_partitions
from e3_resources.catalog import CatalogResource


def build_uploads_sensor(job) -> dg.SensorDefinition:
    @running_sensor("uploads_sensor", job,
                    "Turns each pending upload (an `audiobooks` row from `e3 upload`) into the book "
                    "up-<12 hex of its id>: a titles row, a `books` partition and one run of the "
                    "audiobook assets; the upload moves to processing and its conversion job to running.")
    def uploads_sensor(context: dg.SensorEvaluationContext, catalog: CatalogResource) -> dg.SensorResult:
        from e3.uploads import UPLOAD_ASSETS, pending_uploads, start_upload

        engine = catalog.engine
        wanted = [dg.AssetKey(name) for name in UPLOAD_ASSETS]
        existing = set(context.instance.get_dynamic_partitions(books_partitions.name))
        run_requests, new_partitions = [], []
        for audiobook in pending_uploads(engine):
            book_id = start_upload(engine, audiobook.id)
            if book_id is None:  # claimed by `e3 upload --wait` meanwhile
                continue
            if book_id not in existing:
                new_partitions.append(book_id)
                existing.add(book_id)
            # One run per upload, ever: the audiobook id is the run key.
            run_requests.append(dg.RunRequest(partition_key=book_id, run_key=f"upload:{audiobook.id}",
                                              asset_selection=wanted,
                                              tags={"e3/upload": str(audiobook.id)}))
            context.log.info(f"uploads: {audiobook.original_file_name} -> {book_id}")
        return dg.SensorResult(
            run_requests=run_requests,
            dynamic_partitions_requests=[books_partitions.build_add_request(new_partitions)] if new_partitions else [],
        )

    return uploads_sensor
