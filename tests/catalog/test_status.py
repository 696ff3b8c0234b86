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
