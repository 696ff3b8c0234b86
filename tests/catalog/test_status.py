"""The production row's overall status follows its steps: completed when the last one is."""

from e3.catalog.service import init_catalog, register_title
from e3.catalog.status import STEPS, book_status, mark


def test_status_completes_with_the_last_step_and_fails_with_any(tmp_path):
    engine = init_catalog(f"sqlite:///{tmp_path / 'c.db'}")
    register_title(engine, "b1", title="B", source_url="x.txt")
    for step in STEPS[:-1]:
        mark(engine, "b1", step, "processing")
        mark(engine, "b1", step, "completed")
        assert book_status(engine, "b1")["status"] == "processing"
    mark(engine, "b1", STEPS[-1], "processing")
    mark(engine, "b1", STEPS[-1], "completed")
    status = book_status(engine, "b1")
    assert status["status"] == "completed"
    assert status["video_generation_started_at"] <= status["video_generation_completed_at"]
    # a rebuild that fails turns the book failed, with the reason
    mark(engine, "b1", "audio_combination", "failed", error="piece 2 decoded short")
    status = book_status(engine, "b1")
    assert status["status"] == "failed" and status["last_error"]["message"] == "piece 2 decoded short"
    mark(engine, "b1", "audio_combination", "processing")
    mark(engine, "b1", "audio_combination", "completed")
    assert book_status(engine, "b1")["status"] == "completed"


def test_a_failed_rebuild_clears_audiobook_complete(tmp_path):
    import sqlalchemy as sa

    from e3.catalog.models import Title

    engine = init_catalog(f"sqlite:///{tmp_path / 'c.db'}")
    register_title(engine, "b2", title="B", source_url="x.txt")
    with engine.begin() as conn:
        conn.execute(sa.update(Title).where(Title.book_id == "b2").values(audiobook_complete=True))
    mark(engine, "b2", "audio_combination", "failed", error="disk full")
    assert book_status(engine, "b2")["audiobook_complete"] is False


def test_an_interrupted_step_is_marked_failed_not_left_processing(tmp_path, monkeypatch):
    import pytest

    from e3_assets.common import catalog_step

    class Catalog:
        def __init__(self, engine):
            self.engine = engine

        def mark(self, *a, **k):
            mark(self.engine, *a, **k)

    engine = init_catalog(f"sqlite:///{tmp_path / 'c.db'}")
    register_title(engine, "b3", title="B", source_url="x.txt")
    with pytest.raises(KeyboardInterrupt):
        with catalog_step(Catalog(engine), "b3", "audio_generation"):
            raise KeyboardInterrupt
    status = book_status(engine, "b3")
    assert status["audio_generation_status"] == "failed" and "interrupted" in status["last_error"]["message"]
