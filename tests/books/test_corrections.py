"""chapters.toml: a publisher's merge / drop / rename / split / not-narrated edits, read by
parsed_chapters, kept across re-parses, part of the data version, and clear errors by line."""

from __future__ import annotations

import json

import dagster as dg
import pytest
from click.testing import CliRunner

from e3.books import corrections
from e3.books.corrections import CorrectionsError
from e3.books.parse import parse_book

PARA = "The lamplighter walked the long street at dusk and lit every lamp he passed. "


def _txt(tmp_path):
    parts = ["Title: The Lamps\n\nAuthor: A. Writer\n\n*** START OF THE PROJECT GUTENBERG EBOOK THE LAMPS ***\n"]
    for n, name in enumerate(["THE STREET", "THE HARBOUR", "THE HILL", "NOTES"], start=1):
        head = f"CHAPTER {n}. {name}" if name != "NOTES" else "NOTES"
        extra = "\n\nLATER THAT NIGHT\n\n" + PARA * 3 if n == 2 else ""
        parts.append(f"\n\n\n{head}\n\n{PARA * 4}\n\n{PARA * 2}{extra}")
    parts.append("\n\n*** END OF THE PROJECT GUTENBERG EBOOK THE LAMPS ***\n")
    path = tmp_path / "lamps.txt"
    path.write_text("".join(parts), encoding="utf-8")
    return path


def _write(tmp_path, text):
    path = tmp_path / "chapters.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_edits_apply_and_go_to_the_ledger(tmp_path):
    book = parse_book(_txt(tmp_path))
    assert [c.title for c in book.chapters] == ["CHAPTER 1. THE STREET", "CHAPTER 2. THE HARBOUR",
                                                 "CHAPTER 3. THE HILL", "NOTES"]
    fixes = corrections.load(_write(tmp_path, """
drop = [4]
sections = ["CHAPTER 3. THE HILL"]

[rename]
"CHAPTER 1. THE STREET" = "One: The Street"

[[split]]
chapter = 2
at = "LATER THAT NIGHT"
title = "Two and a half"
"""))
    aside = corrections.apply(book, fixes)
    assert [(c.title, c.kind) for c in book.chapters] == [
        ("One: The Street", "chapter"), ("CHAPTER 2. THE HARBOUR", "chapter"), ("Two and a half", "chapter"),
        ("CHAPTER 3. THE HILL", "section")]
    assert book.chapters[2].paragraphs == [PARA.strip() * 1 + (" " + PARA.strip()) * 2]
    totals = book.account(aside)
    assert totals.set_aside["dropped in chapters.toml"] > 0 and totals.unaccounted == 0


def test_merge_and_not_narrated(tmp_path):
    book = parse_book(_txt(tmp_path))
    fixes = corrections.load(_write(tmp_path, '[[merge]]\nchapters = [2, 3]\n\nnot_narrated = ["NOTES"]\n'))
    # not_narrated after a table header belongs to that table in TOML: put it first instead.
    with pytest.raises(CorrectionsError, match=r"chapters.toml line \d+: "):
        corrections.apply(book, fixes)
    fixes = corrections.load(_write(tmp_path, 'not_narrated = ["NOTES"]\n\n[[merge]]\nchapters = [2, 3]\n'))
    aside = corrections.apply(book, fixes)
    assert [c.title for c in book.chapters] == ["CHAPTER 1. THE STREET", "CHAPTER 2. THE HARBOUR"]
    assert "CHAPTER 3. THE HILL" in book.chapters[1].paragraphs  # the merged title is read as text
    assert book.account(aside).set_aside["not narrated (chapters.toml)"] > 0


@pytest.mark.parametrize("text,line,message", [
    ('drop = ["Chapter 9"]\n', 1, "no chapter titled 'Chapter 9'"),
    ('# comment\n\n[rename]\n7 = "Seven"\n', 4, "there is no chapter 7"),
    ('[[split]]\nchapter = 1\nat = "NOWHERE IN THE TEXT"\n', 3, "no paragraph"),
    ('colour = "red"\n', 1, "unknown key 'colour'"),
])
def test_bad_edits_name_the_line(tmp_path, text, line, message):
    book = parse_book(_txt(tmp_path))
    titles = [c.title for c in book.chapters]
    with pytest.raises(CorrectionsError, match=rf"chapters.toml line {line}: .*{message}"):
        corrections.apply(book, corrections.load(_write(tmp_path, text)))
    assert [c.title for c in book.chapters] == titles  # nothing half-applied


def test_invalid_toml_is_a_clear_error(tmp_path):
    with pytest.raises(CorrectionsError, match=r"chapters.toml line 1: not valid TOML"):
        corrections.load(_write(tmp_path, "drop = [1\n"))
    with pytest.raises(CorrectionsError, match=r"chapters.toml line 3: not valid TOML"):
        corrections.load(_write(tmp_path, "drop = [1]\n\nrename = = 2\n"))


def test_parsed_chapters_reads_the_file_keeps_it_and_changes_only_edited_chunks(e3_env, tmp_path):
    from e3.cli import main
    from e3.foundry import Foundry
    from tests.pipeline.helpers import catalog_engine, materialize, register

    catalog_engine()
    src = _txt(tmp_path)
    register("lamps", str(src), title="The Lamps")
    paths = Foundry(e3_env / "foundry").book("lamps")
    with dg.instance_for_test() as instance:
        first = materialize(instance, "lamps", ["book_source", "parsed_chapters", "narration_chunks"])
        v1 = first.asset_materializations_for_node("parsed_chapters")[0]
        plan1 = json.loads(paths.chunk_plan.read_text())
        out = CliRunner().invoke(main, ["chapters", "lamps"])
        assert out.exit_code == 0, out.output
        assert "2. CHAPTER 2. THE HARBOUR  [" in out.output and "The lamplighter walked" in out.output
        assert "text ledger: body" in out.output

        paths.chapters_toml.write_text('drop = ["NOTES"]\n\n[rename]\n2 = "Chapter Two: The Harbour"\n')
        second = materialize(instance, "lamps", ["parsed_chapters", "narration_chunks"])
        v2 = second.asset_materializations_for_node("parsed_chapters")[0]
        assert v1.tags["dagster/data_version"] != v2.tags["dagster/data_version"]
        meta = json.loads(paths.parse_metadata.read_text())
        assert [c["title"] for c in meta["chapters"]] == ["CHAPTER 1. THE STREET", "Chapter Two: The Harbour",
                                                          "CHAPTER 3. THE HILL"]
        assert meta["corrections_sha256"] and meta["ledger"]["unaccounted_words"] == 0
        plan2 = json.loads(paths.chunk_plan.read_text())

        def hashes(plan, chapter):
            return [c["text_hash"] for c in plan["chunks"] if c["chapter_index"] == chapter]

        assert hashes(plan1, 0) and hashes(plan1, 0) == hashes(plan2, 0)  # unedited: same chunks, no new audio
        assert hashes(plan1, 2) and hashes(plan1, 2) == hashes(plan2, 2)
        assert hashes(plan1, 1) != hashes(plan2, 1) and not hashes(plan2, 3)  # renamed / dropped
        # A re-parse keeps the file and its edits.
        third = materialize(instance, "lamps", ["book_source", "parsed_chapters"])
        assert third.success and paths.chapters_toml.is_file()
        assert len(json.loads(paths.parse_metadata.read_text())["chapters"]) == 3

        paths.chapters_toml.write_text('drop = ["No Such Chapter"]\n')
        bad = materialize(instance, "lamps", ["parsed_chapters"], raise_on_error=False)
        assert not bad.success
        failure = [e for e in bad.all_events if e.is_step_failure][0]
        assert "chapters.toml line 1: drop: no chapter titled 'No Such Chapter'" in str(
            failure.event_specific_data.error.message)
