"""Book commands: inspect."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.command("inspect")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help='Print {"title", "author", "language", "chapters": [{"title", "words"}]}.')
@click.option("--text", "with_text", is_flag=True, help="Add each chapter's cleaned text (as \"text\").")
def inspect_command(path: Path, as_json: bool, with_text: bool) -> None:
    """Parse PATH without touching the catalog: title, author, language and chapters with word counts."""
    from e3.books.parse import parse_book
    from e3.errors import E3Error

    if not path.is_file():
        raise E3Error(f"{path}: no such file")
    book = parse_book(path)
    chapters = []
    for chapter in book.chapters:
        entry = {"title": chapter.title, "words": chapter.words}
        if chapter.kind != "chapter":
            entry["kind"] = chapter.kind
        if with_text:
            entry["text"] = chapter.text
        chapters.append(entry)
    if as_json:
        click.echo(json.dumps({"title": book.title, "author": book.author, "language": book.language,
                               "chapters": chapters}, ensure_ascii=False, indent=2))
        return
    click.echo(f"{book.title}" + (f" by {book.author}" if book.author else "") + f" [{book.language}]")
    click.echo(f"{book.chapter_count} chapters, {book.total_words} words ({book.source_format})")
    for i, entry in enumerate(chapters, start=1):
        tag = " (section)" if entry.get("kind") == "section" else ""
        click.echo(f"{i:4d}. {entry['title']}{tag}  [{entry['words']} words]")
        if with_text:
            click.echo(entry["text"])
            click.echo()


def register(group: click.Group) -> None:
    group.add_command(inspect_command)
