"""Book commands: inspect, chapters."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.command("inspect")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help='Print {"title", "author", "language", "chapters": [{"title", "words"}]}.')
@click.option("--ledger", "with_ledger", is_flag=True, help='With --json, add the text ledger\'s totals (as "ledger").')
@click.option("--text", "with_text", is_flag=True, help="Add each chapter's cleaned text (as \"text\").")
def inspect_command(path: Path, as_json: bool, with_text: bool, with_ledger: bool) -> None:
    """Parse PATH without touching the catalog: title, author, language, the text ledger (body words
    narrated, set aside by reason, unaccounted for) and chapters with word counts."""
    from e3.books.checks import structure_warnings
    from e3.books.ledger import MAX_UNACCOUNTED
    from e3.books.parse import parse_book
    from e3.errors import E3Error

    if path.is_dir():
        raise E3Error(f"{path}: is a folder, not a book: give one file (EPUB, PDF, TXT, HTML...)")
    if not path.is_file():
        raise E3Error(f"{path}: no such file")
    book = parse_book(path)
    totals = book.account()
    chapters = []
    for chapter in book.chapters:
        entry = {"title": chapter.title, "words": chapter.words}
        if chapter.kind != "chapter":
            entry["kind"] = chapter.kind
        if with_text:
            entry["text"] = chapter.text
        chapters.append(entry)
    if as_json:
        out = {"title": book.title, "author": book.author, "language": book.language, "chapters": chapters}
        if with_ledger:
            out["ledger"] = totals.to_dict()
        click.echo(json.dumps(out, ensure_ascii=False, indent=2))
        return
    click.echo(f"{book.title}" + (f" by {book.author}" if book.author else "") + f" [{book.language}]")
    click.echo(f"{book.chapter_count} chapters, {book.total_words} words ({book.source_format})")
    click.echo(f"text ledger: {totals.summary()}")
    for warning in structure_warnings(book):
        click.echo(f"check: {warning}")
    if totals.unaccounted_share > MAX_UNACCOUNTED:
        click.echo(f"warning: more than {100 * MAX_UNACCOUNTED:.0f}% of the body is unaccounted for; "
                   f"parsed_chapters will refuse this book", err=True)
    for i, entry in enumerate(chapters, start=1):
        tag = " (section)" if entry.get("kind") == "section" else ""
        click.echo(f"{i:4d}. {entry['title']}{tag}  [{entry['words']} words]")
        if with_text:
            click.echo(entry["text"])
            click.echo()


@click.command("chapters")
@click.argument("book_id")
@click.option("--words", "first_words", default=8, show_default=True, help="How many first words to show.")
def chapters_command(book_id: str, first_words: int) -> None:
    """Print BOOK_ID's chapters as parsed_chapters will make them (its foundry input.<ext> parsed
    again, with foundry/BOOK_ID/chapters.toml applied): number, title, kind, word count and first
    words, then the text ledger and any structure checks (a numbering gap, a tiny chapter between
    long ones, a contents page narrated). Use the numbers or titles in chapters.toml to merge, drop, rename,
    split chapters or mark them not narrated."""
    from e3.books import corrections
    from e3.books.checks import structure_warnings
    from e3.books.parse import parse_book
    from e3.cli.core import _foundry
    from e3.errors import E3Error

    paths = _foundry().book(book_id)
    source = paths.input_file()
    if source is None:
        raise E3Error(f"{book_id}: no input file in {paths.root}; add the book with `e3 add` first")
    book = parse_book(source, fallback_title=book_id)
    fixes = corrections.load(paths.chapters_toml)
    totals = book.account(corrections.apply(book, fixes))
    click.echo(f"{book.title}: {book.chapter_count} chapters, {book.total_words} words"
               + (f" (with {paths.chapters_toml.name})" if fixes else f" (no {paths.chapters_toml.name})"))
    for i, chapter in enumerate(book.chapters, start=1):
        tag = " (section)" if chapter.kind == "section" else ""
        start = " ".join(" ".join(chapter.paragraphs[:2]).split()[:first_words])
        click.echo(f"{i:4d}. {chapter.title}{tag}  [{chapter.words} words]  {start}...")
    click.echo(f"text ledger: {totals.summary()}")
    for warning in structure_warnings(book):
        click.echo(f"check: {warning}")


def register(group: click.Group) -> None:
    group.add_command(inspect_command)
    group.add_command(chapters_command)
