"""A publisher's corrections to the parsed chapters: ``foundry/<book_id>/chapters.toml``.

No parser is right on every book. The file names chapters by their title as ``e3 chapters``
prints it, or by their number in that list (1-based); every reference is to the parsed list,
before any edit, so numbers do not shift while editing::

    drop = ["Transcriber's Note", 1]            # not part of the book: removed with its text
    not_narrated = ["Index of First Lines"]      # kept out of the audiobook, with a reason
    sections = ["Dramatis Personae"]             # narrated, not counted as chapters
    chapters = ["Epilogue"]                      # counted as chapters

    [rename]
    "CHAPTER I" = "Chapter One: Loomings"

    [[merge]]                                    # the later ones join the first, titles kept as text
    chapters = ["Act I", "Scene II"]

    [[split]]                                    # a new chapter from the paragraph starting "at"
    chapter = "Book II"
    at = "OCTOBER 20."
    title = "Book II, part two"                  # optional; else the paragraph itself

Edits run in this order: split, rename, merge, sections/chapters, drop, not_narrated. Dropped and
not-narrated text goes to the text ledger with its reason. A bad file or a reference to no
chapter raises CorrectionsError naming the line.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from e3.books.errors import BookError
from e3.books.model import Book, Chapter

KEYS = {"drop", "not_narrated", "sections", "chapters", "rename", "merge", "split"}


class CorrectionsError(BookError):
    """chapters.toml cannot be read or names a chapter the parse does not have."""


def _norm(text: str) -> str:
    return " ".join(str(text).split()).casefold()


@dataclass
class Corrections:
    path: Path
    text: str
    data: dict

    def line_of(self, value, key: str | None = None) -> int:
        """The first line that holds ``value`` (after ``key`` when given), for error messages."""
        needle = str(value)
        lines = self.text.splitlines()
        start = 0
        if key:
            start = next((i for i, ln in enumerate(lines) if re.match(rf"^\s*(\[+\s*)?{re.escape(key)}\b", ln)), 0)
        for i in range(start, len(lines)):
            if needle in lines[i]:
                return i + 1
        return start + 1

    def error(self, message: str, value, key: str | None = None) -> CorrectionsError:
        return CorrectionsError(f"{self.path.name} line {self.line_of(value, key)}: {message}")


def load(path: Path | str) -> Corrections | None:
    """Read ``path``; None when it does not exist."""
    path = Path(path)
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        # "at end of document" (an unclosed bracket or string): the last written line
        line = int(m.group(1)) if m else max((i for i, ln in enumerate(text.splitlines(), 1) if ln.strip()), default=1)
        raise CorrectionsError(f"{path.name} line {line}: not valid TOML: {exc}") from None
    corr = Corrections(path, text, data)
    for key in data:
        if key not in KEYS:
            raise corr.error(f"unknown key {key!r} (use one of {', '.join(sorted(KEYS))})", key)
    return corr


def apply(book: Book, corr: Corrections | None) -> list[tuple[str, str]]:
    """Apply ``corr`` to ``book.chapters`` in place; returns the (reason, text) pairs it set aside,
    for ``Book.account``."""
    if corr is None:
        return []
    original = list(book.chapters)
    data = corr.data

    def ref(value, key: str) -> Chapter:
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise corr.error(f"{key}: a chapter is a title or a number, not {value!r}", value, key)
        if isinstance(value, int):
            if not 1 <= value <= len(original):
                raise corr.error(f"{key}: there is no chapter {value} (the book has {len(original)})", value, key)
            return original[value - 1]
        hits = [c for c in original if _norm(c.title) == _norm(value)]
        if not hits:
            raise corr.error(f"{key}: no chapter titled {value!r} (see `e3 chapters`)", value, key)
        if len(hits) > 1:
            raise corr.error(f"{key}: {len(hits)} chapters are titled {value!r}; use its number", value, key)
        return hits[0]

    def refs(key: str) -> list[Chapter]:
        vals = data.get(key, [])
        if not isinstance(vals, list):
            raise corr.error(f"{key} must be a list of chapter titles or numbers", key, key)
        return [ref(v, key) for v in vals]

    def table_list(key: str, allowed: set[str]) -> list[dict]:
        vals = data.get(key, [])
        if not isinstance(vals, list) or not all(isinstance(v, dict) for v in vals):
            raise corr.error(f"{key} must be written as [[{key}]] tables", key, key)
        for v in vals:
            for k in v:
                if k not in allowed:
                    # Often a top-level key written below a [[table]], where TOML puts it inside.
                    raise corr.error(f"[[{key}]] has no key {k!r} (it takes {', '.join(sorted(allowed))}; "
                                     f"write top-level keys before the first [[...]] table)", k, key)
        return vals

    # Validate every reference before changing anything: a bad file changes nothing.
    splits = []
    for item in table_list("split", {"chapter", "at", "title"}):
        if "chapter" not in item or "at" not in item:
            raise corr.error("[[split]] needs chapter = ... and at = ...", "split", "split")
        splits.append((ref(item["chapter"], "split"), str(item["at"]), item.get("title")))
    renames = data.get("rename", {})
    if not isinstance(renames, dict):
        raise corr.error("rename must be a table: [rename] then \"old title\" = \"new title\"", "rename", "rename")
    rename_pairs = [(ref(int(k) if k.isdigit() else k, "rename"), str(v)) for k, v in renames.items()]
    merges = []
    for item in table_list("merge", {"chapters"}):
        group = [ref(v, "merge") for v in item.get("chapters", [])]
        if len(group) < 2:
            raise corr.error("[[merge]] needs chapters = [at least two]", "merge", "merge")
        merges.append(group)
    as_section, as_chapter = refs("sections"), refs("chapters")
    dropped, silent = refs("drop"), refs("not_narrated")

    chapters = list(original)
    aside: list[tuple[str, str]] = []
    for chapter, at, title in splits:
        k = next((i for i, p in enumerate(chapter.paragraphs) if _norm(p).startswith(_norm(at))), None)
        if k is None:
            raise corr.error(f"split: no paragraph of {chapter.title!r} starts with {at!r}", at, "split")
        head = chapter.paragraphs[k]
        new = Chapter(title=str(title) if title else head, paragraphs=chapter.paragraphs[k + 1:], kind=chapter.kind)
        chapter.paragraphs = chapter.paragraphs[:k]
        if title:  # the printed heading gives way to the publisher's title
            aside.append(("heading", head))
        chapters.insert(chapters.index(chapter) + 1, new)
    for chapter, title in rename_pairs:
        chapter.title = title
    for group in merges:
        first = group[0]
        for other in group[1:]:
            if other in chapters:
                first.paragraphs = first.paragraphs + [other.title] + other.paragraphs
                chapters.remove(other)
    for chapter in as_section:
        chapter.kind = "section"
    for chapter in as_chapter:
        chapter.kind = "chapter"
    for reason, group in (("dropped in chapters.toml", dropped), ("not narrated (chapters.toml)", silent)):
        for chapter in group:
            if chapter in chapters:
                chapters.remove(chapter)
                aside.append((reason, "\n".join([chapter.title, *chapter.paragraphs])))
    book.chapters = chapters
    return aside
