"""The text ledger: every word of the body is narrated or set aside with a reason, on every corpus
book, and the ledger cannot be fooled by a parser that claims text it never had."""

from __future__ import annotations

import pytest

from e3.books.ledger import MAX_UNACCOUNTED, Ledger, TextLossError, check
from e3.books.model import Chapter
from e3.books.parse import parse_book
from tests.conftest import CORPUS, corpus_file

BOOKS = sorted(
    str(p.relative_to(CORPUS)) for p in CORPUS.glob("*/*")
    if p.suffix.lower() in (".epub", ".txt", ".pdf")
) + sorted(str(p.relative_to(CORPUS)) for p in CORPUS.glob("gutenberg_html/*/*.htm"))
UNREADABLE = {"pdf/encrypted_password-protected.pdf", "pdf/scanned_linn-brochure_no-text-layer.pdf"}


@pytest.mark.parametrize("rel", [b for b in BOOKS if b not in UNREADABLE] or ["missing"],
                         ids=lambda r: r.split("/")[-1][:40])
def test_ledger_accounts_for_the_body(rel):
    book = parse_book(corpus_file(rel))
    totals = book.account()
    assert totals.body > 1000
    assert totals.narrated + sum(totals.set_aside.values()) + totals.unaccounted == totals.body
    assert totals.unaccounted_share <= MAX_UNACCOUNTED, totals.summary()
    assert totals.narrated >= 0.5 * totals.body, totals.summary()  # most of a book is read aloud
    meta = totals.to_dict()
    assert meta["unaccounted_pct"] <= 2 and meta["body_words"] == totals.body


def _ledger(body: str, aside=()) -> Ledger:
    led = Ledger()
    led.add_body(body)
    for reason, text in aside:
        led.set_aside(reason, text)
    return led


def test_claims_cannot_exceed_the_body():
    led = _ledger("one two three four", [("licence", "five six seven eight nine ten")])
    t = led.totals([Chapter("one", ["two"])])
    assert t.body == 4 and t.narrated == 2 and t.set_aside == {} and t.unaccounted == 2


def test_narrating_twice_does_not_cover_a_lost_chapter():
    body = "alpha beta gamma. delta epsilon zeta."
    t = _ledger(body).totals([Chapter("x", ["alpha beta gamma."]), Chapter("y", ["alpha beta gamma."])])
    assert t.unaccounted == 3 and t.added == 5  # "x", "y" and the three repeated words
    with pytest.raises(TextLossError, match=r"3 of 6 words .* neither narrated nor set aside"):
        check(t, "book")


def test_reasons_are_counted_once_each():
    t = _ledger("a b c d", [("contents", "a b"), ("index", "a b c")]).totals([])
    assert t.set_aside == {"contents": 2, "index": 1} and t.unaccounted == 1


def test_skipped_contents_entry_cannot_swallow_a_novel(tmp_path):
    """A "CONTENTS" heading right before the text: its span holds real paragraphs, which the
    ledger must not accept as a contents list."""
    para = " ".join(["The sailor walked along the quay and looked at the ships in the harbour."] * 6)
    body = "\n\n".join([para] * 30)
    html = (f"<html><body><h2>CONTENTS</h2><p>{body.replace(chr(10) * 2, '</p><p>')}</p>"
            f"<h2>Chapter I</h2><p>{para}</p><h2>Chapter II</h2><p>{para}</p></body></html>")
    path = tmp_path / "book.html"
    path.write_text(html, encoding="utf-8")
    book = parse_book(path)
    totals = book.account()
    assert totals.unaccounted_share > MAX_UNACCOUNTED
    with pytest.raises(TextLossError):
        check(totals, "book.html")


def test_inspect_prints_the_ledger(tmp_path):
    from click.testing import CliRunner

    from e3.cli import main

    path = tmp_path / "b.txt"
    path.write_text("CHAPTER I\n\n\n" + "Words here and there. " * 20 + "\n\n\nCHAPTER II\n\n\n" + "More words. " * 20,
                    encoding="utf-8")
    out = CliRunner().invoke(main, ["inspect", str(path)])
    assert out.exit_code == 0, out.output
    assert "text ledger: body" in out.output and "unaccounted 0 (0.00%)" in out.output


def test_parsed_chapters_fails_clearly_on_text_loss_and_records_the_ledger(e3_env, tmp_path):
    import json

    import dagster as dg

    from e3.foundry import Foundry
    from tests.pipeline.helpers import catalog_engine, materialize, register

    catalog_engine()
    para = " ".join(["The sailor walked along the quay and looked at the ships in the harbour."] * 6)
    lossy = tmp_path / "lossy.html"
    lossy.write_text(f"<html><body><h2>CONTENTS</h2>{f'<p>{para}</p>' * 30}"
                     f"<h2>Chapter I</h2><p>{para}</p><h2>Chapter II</h2><p>{para}</p></body></html>", encoding="utf-8")
    good = tmp_path / "good.html"
    good.write_text(f"<html><body><h2>Chapter I</h2><p>{para}</p><h2>Chapter II</h2><p>{para}</p></body></html>",
                    encoding="utf-8")
    register("lossy", str(lossy), title="Lossy")
    register("good", str(good), title="Good")
    with dg.instance_for_test() as instance:
        bad = materialize(instance, "lossy", ["book_source", "parsed_chapters"], raise_on_error=False)
        assert not bad.success
        failure = [e for e in bad.all_events if e.is_step_failure][0]
        message = str(failure.event_specific_data.error.message)
        assert "are neither narrated nor set aside with a reason" in message and "more than 2%" in message
        assert not Foundry(e3_env / "foundry").book("lossy").parse_metadata.exists()

        ok = materialize(instance, "good", ["book_source", "parsed_chapters"])
        mat = ok.asset_materializations_for_node("parsed_chapters")[0]
        assert mat.metadata["ledger_unaccounted_pct"].value == 0
        assert mat.metadata["ledger_body_words"].value > 100
        meta = json.loads(Foundry(e3_env / "foundry").book("good").parse_metadata.read_text())
        assert meta["ledger"]["unaccounted_words"] == 0 and meta["checks"] == []
