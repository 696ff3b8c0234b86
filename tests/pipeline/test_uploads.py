"""Uploads: users with Argon2 hashes, `e3 upload`, the uploads sensor, progress, failure and delete."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy.orm import Session

from e3.catalog.models import Audiobook, AudiobookProduction, ConversionJob, Title, User
from e3.cli import main
from e3.demo_book import write_epub
from e3.foundry import Foundry
from tests.conftest import corpus_file
from tests.pipeline.helpers import catalog_engine, materialize

PASSWORD = "Corr3ct-Horse-Battery-Staple"
TINY = [
    ("Chapter One", ["The lamp was lit at six. Mara climbed the wall with her oil can."]),
    ("Chapter Two", ["The fog came in from the north. Everyone brought a lantern."]),
]


def e3(*args, input=None):
    return CliRunner().invoke(main, [str(a) for a in args], input=input)


def _add_user(email="reader@example.com", password=PASSWORD, *flags):
    result = e3("user", "add", email, *flags, input=password + "\n")
    assert result.exit_code == 0, result.output
    return result


def _rows(audiobook_id):
    with Session(catalog_engine()) as s:
        book = s.get(Audiobook, audiobook_id)
        job = s.scalar(sa.select(ConversionJob).where(ConversionJob.audiobook_id == audiobook_id))
        s.expunge_all()
        return book, job


def test_users_argon2_unique_case_insensitive_and_no_plaintext_anywhere(e3_env, caplog):
    from argon2 import PasswordHasher

    caplog.set_level(logging.DEBUG)
    outputs = [_add_user("Reader@Example.COM").output]
    dup = e3("user", "add", "reader@example.com", input="another-password\n")
    outputs.append(dup.output)
    assert dup.exit_code == 1 and "already exists" in dup.stderr
    stdin = e3("user", "add", "admin@example.com", "--superuser", "--inactive", "--password-stdin",
               input=PASSWORD + "\n")
    outputs.append(stdin.output)
    assert stdin.exit_code == 0, stdin.output
    short = e3("user", "add", "short@example.com", input="abc\n")
    assert short.exit_code == 1 and "at least 8" in short.stderr
    assert e3("user", "add", "not-an-email", input=PASSWORD + "\n").exit_code == 1
    outputs.append(e3("user", "list").output)

    with Session(catalog_engine()) as s:
        users = {u.email: u for u in s.scalars(sa.select(User))}
    assert set(users) == {"reader@example.com", "admin@example.com"}
    reader, admin = users["reader@example.com"], users["admin@example.com"]
    assert reader.is_active and not reader.is_superuser and admin.is_superuser and not admin.is_active
    assert reader.password_hash.startswith("$argon2") and reader.password_hash != PASSWORD
    assert PasswordHasher().verify(reader.password_hash, PASSWORD)
    assert reader.password_hash != admin.password_hash  # salted

    # Nowhere in clear: not in the database file (a full dump), the CLI output, or the logs.
    catalog_engine().dispose()
    with sqlite3.connect(e3_env / "catalog.db") as conn:
        dump = "\n".join(conn.iterdump())
    assert "reader@example.com" in dump and PASSWORD not in dump
    assert all(PASSWORD not in out for out in outputs)
    assert PASSWORD not in caplog.text
    # An inactive user cannot upload.
    book = write_epub(e3_env / "src" / "tiny.epub", "Tiny Lamps", "E3 Tests", TINY)
    refused = e3("upload", book, "--user", "admin@example.com")
    assert refused.exit_code == 1 and "inactive" in refused.stderr


def _sensor_tick(instance):
    from e3_assets.definitions import defs

    sensor = defs.get_repository_def().get_sensor_def("uploads_sensor")
    context = dg.build_sensor_context(instance=instance, definitions=defs, resources=defs.resources)
    return sensor(context)


def test_upload_sensor_run_progress_and_delete(e3_env, monkeypatch):
    import uuid

    import importlib

    from e3.catalog import status as status_module

    # The package's `assets` list shadows the module name; fetch the module itself.
    narration_assets = importlib.import_module("e3_assets.narration.fanout")

    _add_user()
    src = write_epub(e3_env / "src" / "Tiny Lamps.epub", "Tiny Lamps", "E3 Tests", TINY)
    uploaded = e3("upload", src, "--user", "READER@example.com")
    assert uploaded.exit_code == 0, uploaded.output
    audiobook_id = uuid.UUID(uploaded.stdout.strip())
    book, job = _rows(audiobook_id)
    foundry = Foundry(e3_env / "foundry")
    stored = foundry.uploads / str(audiobook_id) / "Tiny Lamps.epub"
    assert stored.read_bytes() == src.read_bytes()
    assert (book.title, book.original_file_name, book.file_size, book.pdf_path, book.status) == \
        ("Tiny Lamps", "Tiny Lamps.epub", src.stat().st_size, str(stored), "pending")
    assert (job.status, job.progress) == ("queued", 0)
    book_id = book.book_id
    assert book_id == f"up-{audiobook_id.hex[:12]}"

    # Progress as chunks finish: record conversion_jobs.progress after every report.
    seen = []

    def recording(engine, bid, done, total):
        status_module.report_chunk_progress(engine, bid, done, total)
        seen.append(_rows(audiobook_id)[1].progress)

    monkeypatch.setattr(narration_assets, "report_chunk_progress", recording)

    with dg.instance_for_test() as instance:
        result = _sensor_tick(instance)
        (request,) = result.run_requests
        assert request.partition_key == book_id and request.run_key == f"upload:{audiobook_id}"
        assert {k.to_user_string() for k in request.asset_selection} >= {"book_source", "audiobook_m4b"}
        assert result.dynamic_partitions_requests[0].partition_keys == [book_id]
        book, job = _rows(audiobook_id)
        assert book.status == "processing" and job.status == "running" and job.started_at is not None
        with Session(catalog_engine()) as s:
            assert s.scalar(sa.select(Title.source_url).where(Title.book_id == book_id)).startswith(
                f"upload:{audiobook_id}")
        assert _sensor_tick(instance).run_requests == [], "each upload runs once"

        instance.add_dynamic_partitions("books", [book_id])  # as the daemon does
        names = [k.to_user_string() for k in request.asset_selection]
        run = materialize(instance, book_id, names)
        assert run.success

    book, job = _rows(audiobook_id)
    assert seen and seen == sorted(seen) and 0 < seen[-1] <= 90
    assert (book.status, job.status, job.progress, job.error_message) == ("completed", "completed", 100, None)
    assert job.completed_at is not None and Path(book.audio_path).is_file()
    assert book.audio_path == str(foundry.book(book_id).m4b(book_id))

    listed = e3("audiobooks", "list", "--user", "reader@example.com", "--json")
    import json

    (entry,) = json.loads(listed.stdout)
    assert entry["status"] == "completed" and entry["progress"] == 100 and entry["book_id"] == book_id
    assert e3("audiobooks", "list", "--user", "nobody@example.com").exit_code == 1

    # Delete: the row, its conversion jobs (FK cascade), the book's titles/production rows,
    # the book's foundry folder and the stored upload.
    deleted = e3("audiobooks", "delete", audiobook_id.hex[:8])
    assert deleted.exit_code == 0, deleted.output
    with Session(catalog_engine()) as s:
        assert s.get(Audiobook, audiobook_id) is None
        assert s.scalar(sa.select(sa.func.count()).select_from(ConversionJob)) == 0
        assert s.scalar(sa.select(Title).where(Title.book_id == book_id)) is None
        assert s.scalar(sa.select(AudiobookProduction).where(AudiobookProduction.book_id == book_id)) is None
        assert s.scalar(sa.select(User).where(User.email == "reader@example.com")) is not None
    assert not foundry.book(book_id).root.exists() and not stored.parent.exists()
    assert e3("audiobooks", "delete", audiobook_id.hex[:8]).exit_code == 1


def test_encrypted_pdf_upload_fails_both_rows_with_the_reason(e3_env):
    import uuid

    pdf = corpus_file("pdf/encrypted_password-protected.pdf")
    _add_user()
    result = e3("upload", pdf, "--user", "reader@example.com", "--wait")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines()[-1].startswith("error: upload ") and "encrypted" in result.stderr
    audiobook_id = uuid.UUID(result.stdout.strip().splitlines()[0])
    book, job = _rows(audiobook_id)
    assert book.status == "failed" and job.status == "failed"
    assert "encrypted" in job.error_message and job.completed_at is not None and book.audio_path is None


def test_bad_uploads_are_refused_with_one_line(e3_env):
    _add_user()
    (e3_env / "song.mp3").write_bytes(b"ID3")
    cases = [
        (["upload", e3_env / "missing.pdf", "--user", "reader@example.com"], "no such file"),
        (["upload", e3_env / "song.mp3", "--user", "reader@example.com"], "not .mp3"),
        (["upload", e3_env / "song.mp3", "--user", "ghost@example.com"], "not .mp3"),
    ]
    book = write_epub(e3_env / "src" / "tiny.epub", "Tiny Lamps", "E3 Tests", TINY)
    cases.append((["upload", book, "--user", "ghost@example.com"], "no user with email ghost@example.com"))
    for args, reason in cases:
        result = e3(*args)
        assert result.exit_code == 1 and reason in result.stderr, (args, result.output)
        assert "Traceback" not in result.output
    with Session(catalog_engine()) as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Audiobook)) == 0
    assert not any((e3_env / "foundry" / "_uploads").iterdir())


@pytest.mark.slow
def test_text_pdf_upload_runs_end_to_end(e3_env):
    """Real TTS of the corpus's 4-page text PDF (1,350 words): about 70 s on 2 cores."""
    import uuid

    pdf = corpus_file("pdf/pdflatex-outline_4p.pdf")
    _add_user()
    result = e3("upload", pdf, "--user", "reader@example.com", "--wait")
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    audiobook_id = uuid.UUID(lines[0])
    book, job = _rows(audiobook_id)
    assert (book.status, job.status, job.progress) == ("completed", "completed", 100)
    assert book.audio_path == lines[-1] and Path(book.audio_path).is_file()
    # the PDF names no title: the file name the user gave, made readable
    assert book.title == "Pdflatex outline 4p" and book.original_file_name == "pdflatex-outline_4p.pdf"
    from e3.catalog.status import book_status
    from e3.media.chapters import read_chapters

    status = book_status(catalog_engine(), book.book_id)
    assert status["audio_jobs_completed"] == status["total_chunks"] > 0
    assert len(read_chapters(Path(book.audio_path))) == 9
