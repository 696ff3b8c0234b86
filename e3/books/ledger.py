"""The text ledger: every word of a book's body is narrated, or set aside with a reason.

The body is counted independently of the chapter builder: each parser hands the ledger the raw
text it read (the whole decoded TXT file, every spine document's ``<body>`` with block
boundaries as spaces, every PDF text box), and every place that drops text hands over what it
dropped with a reason ("licence", "contents", "page number", "footnote"...). When the book is
done, the words are compared as multisets (case-folded letter/digit runs)::

    unaccounted = body - narrated - set aside        (a word can only be claimed once)

so a parser cannot hide lost text by claiming it set aside words that were never there, and
narrating one chapter twice does not cover for another one dropped. Narrated words that are not
in the body (a generated "Chapter I" title) are reported as ``added``.

Parsers record through the ledger that ``recording()`` makes current (a context variable), so the
drop sites need no extra arguments; with no current ledger, ``set_aside`` does nothing.
"""

from __future__ import annotations

import contextlib
import contextvars
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Iterator

from e3.books.errors import BookError

MAX_UNACCOUNTED = 0.02  # a parse that loses more than this share of the body fails

# Letters and digits apart: a line number glued to a word ("out80") is two words. Chinese and
# Japanese are written without spaces, so each of their characters counts as one word.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK}]|[^\W\d_{_CJK}]+|\d+")
# A word split at a line end ("letter-" / "ing") is one word, as the PDF parser joins it.
_HYPHEN_BREAK = re.compile(r"(?<=[^\W\d_])-[ \t]*\n\s*(?=[a-zà-ÿ])")


class TextLossError(BookError):
    """More of the body than MAX_UNACCOUNTED is neither narrated nor set aside with a reason."""


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.casefold())


def iter_tokens(text: str) -> Iterator[str]:
    """``tokens`` one at a time, for counting: a huge text is never held as a list of words."""
    return (m.group() for m in _TOKEN.finditer(text.casefold()))


@dataclass
class LedgerTotals:
    body: int
    narrated: int
    set_aside: dict[str, int]
    unaccounted: int
    added: int
    lost_sample: list[str] = field(default_factory=list)  # most frequent unaccounted words

    @property
    def unaccounted_share(self) -> float:
        return self.unaccounted / self.body if self.body else 0.0

    def to_dict(self) -> dict:
        return {
            "body_words": self.body,
            "narrated_words": self.narrated,
            "set_aside_words": sum(self.set_aside.values()),
            "set_aside": dict(sorted(self.set_aside.items(), key=lambda kv: -kv[1])),
            "unaccounted_words": self.unaccounted,
            "unaccounted_pct": round(100 * self.unaccounted_share, 2),
            "added_words": self.added,
        }

    def summary(self) -> str:
        aside = ", ".join(f"{k} {v}" for k, v in sorted(self.set_aside.items(), key=lambda kv: -kv[1]) if v)
        return (f"body {self.body} words: narrated {self.narrated}, set aside {sum(self.set_aside.values())}"
                f"{f' ({aside})' if aside else ''}, unaccounted {self.unaccounted} "
                f"({100 * self.unaccounted_share:.2f}%)" + (f", added {self.added}" if self.added else ""))


class Ledger:
    """Raw body words and set-aside text for one book (see the module docstring)."""

    def __init__(self) -> None:
        self.body: Counter[str] = Counter()
        self.aside: list[tuple[str, Counter[str]]] = []

    def add_body(self, text: str, dehyphenate: bool = False) -> None:
        self.body.update(iter_tokens(_HYPHEN_BREAK.sub("", text) if dehyphenate else text))

    def set_aside(self, reason: str, text: str | Iterable[str]) -> None:
        if not isinstance(text, str):
            text = "\n".join(text)
        got = Counter(iter_tokens(text))
        if got:
            self.aside.append((reason, got))

    def totals(self, chapters, extra_aside: Iterable[tuple[str, str]] = ()) -> LedgerTotals:
        """Account for the body against ``chapters`` (titles and paragraphs are narrated)."""
        left = Counter(self.body)
        narrated_words = Counter()
        for ch in chapters:
            narrated_words.update(iter_tokens(ch.title))
            for p in ch.paragraphs:
                narrated_words.update(iter_tokens(p))
        narrated_hit = narrated_words & left
        left -= narrated_hit
        added = sum((narrated_words - narrated_hit).values())
        by_reason: dict[str, int] = {}
        claims = list(self.aside) + [(r, Counter(tokens(t))) for r, t in extra_aside]
        for reason, got in claims:
            hit = got & left
            if hit:
                left -= hit
                by_reason[reason] = by_reason.get(reason, 0) + sum(hit.values())
        return LedgerTotals(body=sum(self.body.values()), narrated=sum(narrated_hit.values()),
                            set_aside=by_reason, unaccounted=sum(left.values()), added=added,
                            lost_sample=[w for w, _n in left.most_common(12)])


def check(totals: LedgerTotals, label: str, limit: float = MAX_UNACCOUNTED) -> None:
    """Raise TextLossError when more than ``limit`` of the body is unaccounted for."""
    if totals.unaccounted_share > limit:
        raise TextLossError(
            f"{label}: {totals.unaccounted} of {totals.body} words of the body "
            f"({100 * totals.unaccounted_share:.1f}%, more than {100 * limit:.0f}%) are neither narrated nor "
            f"set aside with a reason; text would be lost (frequent lost words: {' '.join(totals.lost_sample[:8])}). "
            f"Check the chapters with `e3 chapters` and correct them in chapters.toml"
        )


_CURRENT: contextvars.ContextVar[Ledger | None] = contextvars.ContextVar("e3_ledger", default=None)


@contextlib.contextmanager
def recording() -> Iterator[Ledger]:
    """Make a new ledger current for the parsers called inside the block."""
    ledger = Ledger()
    token = _CURRENT.set(ledger)
    try:
        yield ledger
    finally:
        _CURRENT.reset(token)


def current() -> Ledger | None:
    return _CURRENT.get()


def add_body(text: str, dehyphenate: bool = False) -> None:
    if (ledger := _CURRENT.get()) is not None:
        ledger.add_body(text, dehyphenate)


def set_aside(reason: str, text: str | Iterable[str]) -> None:
    if (ledger := _CURRENT.get()) is not None:
        ledger.set_aside(reason, text)


_BREAKS = {
    "p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "dt", "dd", "blockquote", "pre", "table",
    "tr", "td", "th", "section", "article", "header", "footer", "aside", "figure", "figcaption",
    "body", "ul", "ol", "dl", "hr", "address", "center", "main", "caption", "tbody", "thead", "br",
}


def html_text(el) -> str:
    """All text under an lxml element, with a line break at every block element: the raw body as a
    reader sees it, written apart from the block builder so that the two can be checked."""
    out: list[str] = []

    def walk(node) -> None:
        tag = node.tag.rsplit("}", 1)[-1].lower() if isinstance(node.tag, str) else ""
        brk = tag in _BREAKS
        if brk:
            out.append("\n")
        if tag and node.text:
            out.append(node.text)
        for child in node:
            walk(child)
        if brk:
            out.append("\n")
        if node.tail:
            out.append(node.tail)

    walk(el)
    if el.tail:  # the element's own text only; its tail belongs to the parent
        out.pop()
    return "".join(out)
