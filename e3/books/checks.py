"""Signals that a parse needs a second look (issue 12, "structure before special cases").

They do not fail the parse; ``e3 inspect``, ``e3 chapters`` and ``parsed_chapters`` show them, so a
publisher can correct the book in chapters.toml:

- a numbering gap among chapters of one kind ("CHAPTER XIV" then "CHAPTER XVI");
- a chapter of under 30 words between two long ones (one whose title is outside the numbering of
  both neighbours was already folded into the one before by ``structure.merge_stray_entries``);
- a chapter that is mostly a list of the other chapters' titles (a contents page narrated).
"""

from __future__ import annotations

import re

from e3.books.model import Book

TINY_WORDS = 30
_BARE = re.compile(r"^\W*(?P<num>[IVXLCDM]+|\d{1,3})\b")
_KEYED = re.compile(r"^\W*(?P<kw>[^\W\d]+)\.?\s+(?P<num>[IVXLCDM]+|\d{1,3})\b", re.I)


def _value(num: str) -> int | None:
    if num.isdigit():
        return int(num)
    from e3.books.gutenberg_text import _canonical_roman, roman_to_int

    return roman_to_int(num) if _canonical_roman(num.upper()) else None


def structure_warnings(book: Book) -> list[str]:
    out: list[str] = []
    chapters = book.chapters
    last: dict[str, int] = {}
    for c in chapters:
        m = _BARE.match(c.title) or _KEYED.match(c.title)
        if not m or c.kind != "chapter" or (v := _value(m.group("num"))) is None:
            continue
        kw = (m.groupdict().get("kw") or "").lower()
        if kw in last and v > last[kw] + 1:
            out.append(f"numbering gap before {c.title!r} (after {last[kw]}): a missed heading?")
        last[kw] = v
    for i in range(1, len(chapters) - 1):
        c = chapters[i]
        if c.words < TINY_WORDS and min(chapters[i - 1].words, chapters[i + 1].words) >= 10 * TINY_WORDS:
            out.append(f"{c.title!r} has {c.words} words between long chapters: a stray heading?")
    titles = {c.title.casefold().strip(" .") for c in chapters}
    for c in chapters:
        listed = sum(1 for p in c.paragraphs if p.casefold().strip(" .") in titles and p.strip() != c.title.strip())
        if len(c.paragraphs) >= 3 and listed * 2 > len(c.paragraphs):
            out.append(f"{c.title!r} is mostly other chapters' titles: a contents page?")
    return out
