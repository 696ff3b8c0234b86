"""Books in, through Dagster: inbox sensor, Gutenberg ids, `e3 inspect`, and failures in the catalog."""

from __future__ import annotations

import http.server
import json
import threading
import zipfile
from pathlib import Path

import dagster as dg
import pytest
from click.testing import CliRunner

from e3.catalog.status import book_status
from e3.cli import main
from e3.demo_book import write_demo_book
from e3.foundry import Foundry
from tests.conftest import corpus_file
from tests.pipeline.helpers import catalog_engine, materialize, register


def test_inspect_json_shape_and_text(e3_env):
    book = corpus_file("epub/idpf_wasteland_epub3.epub")
    out = CliRunner().invoke(main, ["inspect", str(book), "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert set(data) == {"title", "author", "language", "chapters"}
    assert [c["title"] for c in data["chapters"]][:2] == ["I. THE BURIAL OF THE DEAD", "II. A GAME OF CHESS"]
    assert all(set(c) <= {"title", "words", "kind"} and c["words"] > 0 for c in data["chapters"])
    with_text = json.loads(CliRunner().invoke(main, ["inspect", str(book), "--json", "--text"]).stdout)
    assert "April is the cruellest month" in with_text["chapters"][0]["text"]
    # Nothing was written to a catalog.
    assert not (e3_env / "catalog.db").exists()


def _sensor_tick(instance, cursor=None):
    from e3_assets.definitions import defs

    sensor = defs.get_repository_def().get_sensor_def("inbox_sensor")
    context = dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs, resources=defs.resources)
    return sensor(context), context


def test_inbox_sensor_adds_title_partition_and_run_once_per_content(e3_env):
    catalog_engine()
    foundry = Foundry(e3_env / "foundry")
    foundry.ensure()
    src = write_demo_book(e3_env / "src")
    dropped = foundry.inbox / "My Lamplighter.epub"
    dropped.write_bytes(src.read_bytes())
    with dg.instance_for_test() as instance:
        first, _ = _sensor_tick(instance)
        assert first.run_requests == []  # seen once: it may still be being copied
        result, context = _sensor_tick(instance, cursor=first.cursor)
        assert [r.partition_key for r in result.run_requests] == ["my-lamplighter"]
        assert result.dynamic_partitions_requests[0].partition_keys == ["my-lamplighter"]
        first_key = result.run_requests[0].run_key
        instance.add_dynamic_partitions("books", result.dynamic_partitions_requests[0].partition_keys)  # as the daemon does
        assert book_status(catalog_engine(), "my-lamplighter")["title"] == "My Lamplighter"
        # Same content: nothing new.
        again, _ = _sensor_tick(instance, cursor=result.cursor)
        assert again.run_requests == []
        # Changed content: picked up again once it is stable, same book, new run key.
        dropped.write_bytes(src.read_bytes() + b"\n")
        settling, _ = _sensor_tick(instance, cursor=again.cursor)
        assert settling.run_requests == []
        changed, _ = _sensor_tick(instance, cursor=settling.cursor)
        assert [r.partition_key for r in changed.run_requests] == ["my-lamplighter"]
        assert changed.run_requests[0].run_key != first_key
        assert changed.dynamic_partitions_requests == []


def test_inbox_waits_for_a_file_being_copied_and_refuses_junk(e3_env):
    """A file still growing runs once, when complete; junk, encrypted and empty files never become
    titles, and the refusal names the dropped file."""
    catalog_engine()
    foundry = Foundry(e3_env / "foundry")
    foundry.ensure()
    book = write_demo_book(e3_env / "src").read_bytes()
    growing = foundry.inbox / "Slow Copy.epub"
    junk = foundry.inbox / "notes.txt"
    junk.write_bytes(b"\x00\x01\x02 not a book \xff" * 3)
    (foundry.inbox / "empty.epub").write_bytes(b"")
    cursor, runs, warnings = None, [], []
    with dg.instance_for_test() as instance:
        for k in range(6):  # the copy goes on over three ticks
            if k < 3:
                growing.write_bytes(book[: len(book) * (k + 1) // 3])
            result, context = _sensor_tick(instance, cursor=cursor)
            cursor = result.cursor
            runs += result.run_requests
            if result.dynamic_partitions_requests:
                instance.add_dynamic_partitions("books", result.dynamic_partitions_requests[0].partition_keys)
    assert [r.partition_key for r in runs] == ["slow-copy"]
    state = json.loads(cursor)
    assert state[str(junk)]["state"] == "refused" and state[str(foundry.inbox / "empty.epub")]["state"] != "done"
    from e3.catalog.service import all_book_ids

    assert all_book_ids(catalog_engine()) == ["slow-copy"]


def test_scan_inbox_reports_refusals_with_the_file_name(tmp_path):
    from e3_assets.books.inbox import check_book, scan_inbox

    inbox = tmp_path / "_inbox"
    inbox.mkdir()
    (inbox / "broken.epub").write_bytes(b"PK\x03\x04 this zip is cut short")
    _, cursor, refused = scan_inbox(inbox, {}, check=check_book)
    assert refused == []
    _, cursor, refused = scan_inbox(inbox, cursor, check=check_book)
    assert len(refused) == 1 and refused[0].startswith("inbox: broken.epub refused: ")
    _, cursor, refused = scan_inbox(inbox, cursor, check=check_book)
    assert refused == []  # reported once, until the file changes


@pytest.fixture
def gutenberg_server(tmp_path):
    """A local stand-in for gutenberg.org serving one EPUB at the real URL shape."""
    root = tmp_path / "www"
    (root / "ebooks").mkdir(parents=True)
    write_demo_book(tmp_path / "demo")
    (root / "ebooks" / "12345.epub3.images").write_bytes((tmp_path / "demo" / "e3-demo.epub").read_bytes())
    seen = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=str(root), **kw)

        def log_message(self, *args):
            pass

        def do_GET(self):
            seen.append((self.path, self.headers.get("User-Agent")))
            super().do_GET()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()


def test_add_by_gutenberg_id_downloads_once_politely(e3_env, gutenberg_server, monkeypatch):
    base, seen = gutenberg_server
    monkeypatch.setenv("E3_GUTENBERG_URL", base)
    out = CliRunner().invoke(main, ["add", "pg12345"])
    assert out.exit_code == 0, out.output
    assert out.stdout.splitlines()[0] == "pg12345"
    assert seen and seen[0][0] == "/ebooks/12345.epub3.images" and "E3" in seen[0][1]
    with dg.instance_for_test() as instance:
        assert materialize(instance, "pg12345", ["book_source", "parsed_chapters"]).success
    n = len(seen)
    # The cached download serves the asset; no second request.
    assert n == 1
    assert book_status(catalog_engine(), "pg12345")["total_chapters"] == 3


def _bad_inputs(tmp: Path) -> dict[str, tuple[Path, str]]:
    tmp.mkdir(parents=True, exist_ok=True)
    empty = tmp / "empty.epub"
    empty.write_bytes(b"")
    not_epub = tmp / "notepub.epub"
    with zipfile.ZipFile(not_epub, "w") as z:
        z.writestr("hello.txt", "just a zip")
    no_opf = tmp / "noopf.epub"
    with zipfile.ZipFile(no_opf, "w") as z:
        z.writestr("mimetype", "application/epub+zip")
        z.writestr("META-INF/container.xml",
                   '<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">'
                   '<rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>'
                   "</rootfiles></container>")
    demo = write_demo_book(tmp / "demo")
    truncated = tmp / "truncated.epub"
    truncated.write_bytes(demo.read_bytes()[: demo.stat().st_size // 2])
    garbage = tmp / "garbage.txt"
    garbage.write_bytes(bytes(range(256)) * 64)
    cases = {
        "empty": (empty, "empty"),
        "zip-not-epub": (not_epub, "EPUB"),
        "missing-opf": (no_opf, "OPF"),
        "truncated": (truncated, ""),
        "binary-garbage": (garbage, "binary"),
    }
    try:
        cases["encrypted-pdf"] = (corpus_file("pdf/encrypted_password-protected.pdf"), "encrypted")
        cases["scanned-pdf"] = (corpus_file("pdf/scanned_linn-brochure_no-text-layer.pdf"), "text layer")
    except pytest.skip.Exception:
        pass
    return cases


CASES = ["empty", "zip-not-epub", "missing-opf", "truncated", "binary-garbage", "encrypted-pdf", "scanned-pdf"]


@pytest.mark.parametrize("case", CASES)
def test_bad_input_fails_cli_and_run_with_reason_and_no_metadata(e3_env, case):
    cases = _bad_inputs(e3_env / "bad")
    if case not in cases:
        pytest.skip("corpus PDFs not available")
    path, word = cases[case]
    # e3 inspect and e3 add: non-zero, one readable line, nothing registered.
    for args in (["inspect", str(path)], ["add", str(path), "--book-id", "bad-book"]):
        out = CliRunner().invoke(main, args)
        assert out.exit_code != 0 and out.stderr.startswith("error:"), out.output
        assert word.lower() in out.stderr.lower() and "Traceback" not in out.output
    assert book_status(catalog_engine(), "bad-book") is None
    # The same file arriving another way (the inbox sensor registers without parsing): the run fails
    # and the catalog holds the reason.
    register("bad-book", str(path), title=path.stem)
    with dg.instance_for_test() as instance:
        result = materialize(instance, "bad-book", ["book_source", "parsed_chapters"], raise_on_error=False)
    assert not result.success
    status = book_status(catalog_engine(), "bad-book")
    assert status["parse_novel_status"] == "failed"
    assert status["status"] == "failed"
    assert word.lower() in status["last_error"]["message"].lower()
    book = Foundry(e3_env / "foundry").book("bad-book")
    assert not book.parse_metadata.exists() and not book.chunk_plan.exists()


def test_non_english_book_keeps_its_language_for_the_voice(e3_env):
    """A Portuguese book gets a Portuguese narrator when there is one; the language is kept."""
    from sqlalchemy.orm import Session

    from e3.catalog.models import Narrator

    engine = catalog_engine()
    with Session(engine) as s, s.begin():
        s.add(Narrator(narrator_id="narrator_pt", narrator_name="Faber", voice_model="piper", language="pt-BR"))
    book = corpus_file("epub/pg55752_dom-casmurro_pt_epub2.epub")
    register("casmurro", str(book), title="x")  # as the inbox sensor does: language unknown yet
    assert book_status(engine, "casmurro")["narrator_id"] == "narrator_piper_joe"
    with dg.instance_for_test() as instance:
        assert materialize(instance, "casmurro", ["book_source", "parsed_chapters"]).success
    status = book_status(engine, "casmurro")
    assert status["language"] == "pt" and status["narrator_id"] == "narrator_pt"
    meta = json.loads((Foundry(e3_env / "foundry").book("casmurro").parse_metadata).read_text())
    assert meta["language"] == "pt"
