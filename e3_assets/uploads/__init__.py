"""Uploads (seed 002's web app): each pending ``audiobooks`` row becomes the book partition
``up-<12 hex>`` and a run of the audiobook assets; the book's steps mirror their progress and end
onto ``conversion_jobs`` and ``audiobooks`` (``e3.catalog.status``). Uploads have no assets of
their own: they *are* books."""

from e3_assets.uploads.sensor import build_uploads_sensor

assets: list = []


def build_sensors(audiobook_job) -> list:
    return [build_uploads_sensor(audiobook_job)]
