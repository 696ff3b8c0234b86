"""Project Gutenberg plain text and HTML.

- Encoding: UTF-8 (with or without BOM), UTF-16 with BOM, else the "Character set encoding:"
  header, else Windows-1252/Latin-1. CRLF and CR become LF.
- Boilerplate: everything up to the "*** START OF THE/THIS PROJECT GUTENBERG ..." line (or, in
  1990s etexts without it, up to the "*END*THE SMALL PRINT!" line) and from the END marker /
  "End of (the) Project Gutenberg ..." line on is dropped, licence included.
- Headings (plain text): single-line paragraphs such as "CHAPTER I", "Chapter 1", "CHAP. II.",
  "BOOK ONE", with an optional title after ":" / "." / "-", or a title on the next short line.
  Bare roman numerals ("IV.", "IV. THE TITLE") count only when no keyword headings exist.
  Preface/Introduction/Epilogue-like headings become extra sections. A number seen twice (a
  table of contents, then the text) keeps its last occurrence, so a contents list is never
  chapters. If numbering starts at 2, the missing chapter 1 starts at the repeated book title
  (a half-title) or, failing that, at the last short line set off by blank lines.
- Headings (HTML): the <h1>-<h4> level holding most chapter-like headings.
- No headings at all: ONE chapter titled with the book title (chapters are never invented).
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from pathlib import Path

from e3.books.errors import BinaryGarbageError, EmptyBookError
from e3.books.model import Book, Chapter
from e3.books.structure import (
    GUTENBERG_END, Block, Entry, build_chapters, clean_space, cut_gutenberg_footer, cut_gutenberg_header,
    is_section_title, is_skip_title, parse_html,
)

_NUM_WORDS = ("one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
              "sixteen seventeen eighteen nineteen twenty first second third fourth fifth sixth seventh "
              "eighth ninth tenth eleventh twelfth last").split()
_KEY = (r"(?:chapter|chap\.?|book|part|stave|letter|canto|capítulo|capitulo|cap\.|chapitre|kapitel|"
        r"livre|libro|teil)")
_NUM = r"(?:[ivxlcdm]+|\d{1,3}|" + "|".join(_NUM_WORDS) + r")"
HEAD_KEY = re.compile(rf"^{_KEY}\s+(?P<num>{_NUM})\b\.?(?:\s*[:.\-—–]?\s*(?P<rest>\S.{{0,100}}))?$", re.I)
HEAD_ROMAN = re.compile(r"^(?P<num>[IVXLCDM]{1,7})\.?(?:\s+(?P<rest>[A-Z][^a-z]{0,80}))?$")
_ROMAN = {"i": 1, "v": 5, "x": 10, "l": 50, "c": 100, "d": 500, "m": 1000}

_START = re.compile(r"^\s*\*{3}\s*START OF (THE|THIS) PROJECT GUTENBERG.*$", re.I | re.M)
_SMALL_PRINT_END = re.compile(r"^.*\*END\*\s*THE SMALL PRINT.*$", re.I | re.M)
_END = re.compile(r"^\s*(\*{3}\s*END OF (THE|THIS) PROJECT GUTENBERG|End of (the )?Project Gutenberg|"
                  r"End of Project Gutenberg'?s|\*{3}\s*END\b.*PROJECT GUTENBERG).*$", re.I | re.M)
_LANGS = {"english": "en", "french": "fr", "german": "de", "portuguese": "pt", "spanish": "es",
          "italian": "it", "dutch": "nl", "finnish": "fi", "latin": "la", "swedish": "sv", "danish": "da",
          "norwegian": "no", "polish": "pl", "russian": "ru", "greek": "el", "chinese": "zh", "japanese": "ja",
          "hungarian": "hu", "czech": "cs", "catalan": "ca", "esperanto": "eo", "tagalog": "tl"}


def roman_to_int(s: str) -> int | None:
    """Roman numeral to int, or None if ``s`` is not one."""
    s = s.lower()
    if not s or any(ch not in _ROMAN for ch in s):
        return None
    total = 0
    for a, b in zip(s, s[1:] + " "):
        va, vb = _ROMAN[a], _ROMAN.get(b, 0)
        total += -va if va < vb else va
    return total if total > 0 else None


def _num_value(num: str) -> int | None:
    if num.isdigit():
        return int(num)
    low = num.lower()
    if low in _NUM_WORDS:
        return 99 if low == "last" else (_NUM_WORDS.index(low) % 20) + 1
    return roman_to_int(num)


def decode_text(data: bytes) -> str:
    """Bytes to str with LF line ends (see module docstring for the encoding rules)."""
    if data.startswith(codecs.BOM_UTF8):
        text = data[3:].decode("utf-8", errors="replace")
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = data.decode("utf-16", errors="replace")
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            m = re.search(rb"(?:Character set encoding|charset)\s*[:=]\s*\"?([A-Za-z0-9_\-]+)", data[:20000], re.I)
            enc = m.group(1).decode("ascii").lower() if m else "cp1252"
            if enc in ("iso-8859-1", "iso8859-1", "latin-1", "latin1", "us-ascii", "ascii", "iso-646-us"):
                enc = "cp1252"  # a superset for the printable range; PG "Latin-1" files often hold cp1252 quotes
            try:
                text = data.decode(enc)
            except (LookupError, UnicodeDecodeError):
                text = data.decode("latin-1")
    if "\x00" in text:
        raise BinaryGarbageError("the text holds NUL bytes: binary data, not a book")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def split_boilerplate(text: str) -> tuple[str, str]:
    """Return (header, body) with the Gutenberg header, footer and licence removed."""
    start = 0
    m = _START.search(text)
    if m:
        start = m.end()
    else:
        m = _SMALL_PRINT_END.search(text, 0, max(len(text) // 2, 1))
        if m:
            start = m.end()
    header = text[:start]
    end_m = _END.search(text, start)
    body = text[start:end_m.start()] if end_m else text[start:]
    return header, body


def header_metadata(header: str, full: str) -> dict:
    """Title/author/language/year from a PG header ("Title: ..." lines or the first line)."""
    meta: dict = {}

    def field(name: str) -> str | None:
        m = re.search(rf"^\s*{name}:\s*(.+(?:\n[ \t]+\S.*)*)", header, re.I | re.M)
        return clean_space(m.group(1)) if m else None

    meta["title"] = field("Title")
    meta["author"] = field("Author")
    lang = field("Language")
    if lang:
        meta["language"] = _LANGS.get(lang.split()[0].lower().strip(","), lang[:2].lower())
    date = field("Release Date") or field("Posting Date") or field("Release date")
    if date and (y := re.search(r"\b(1[5-9]\d\d|20\d\d)\b", date)):
        meta["release_year"] = int(y.group(1))
    original = field("Original publication") or field("First published")
    if original and (y := re.search(r"\b(1[0-9]\d\d|20\d\d)\b", original)):
        meta["year"] = int(y.group(1))
    if not meta["title"]:
        first = full[:600]
        m = re.search(r"Project Gutenberg(?:'s)? (?:EBook|Etext|eBook|E-text)?\s*(?:of\s+)?(.+?),\s+by\s+([^\n*]+)", first, re.I)
        if m:
            meta["title"], meta["author"] = clean_space(m.group(1)), meta.get("author") or clean_space(m.group(2))
    if not meta["title"]:
        # 1990s etexts: ***The Project Gutenberg Etext of "Title"***, then "by Author" below
        m = re.search(r"Project Gutenberg(?:'s)? (?:EBook|Etext|eBook|E-text)\s+of\s+[\"\u201c](.+?)[\"\u201d]",
                      full[:600], re.I)
        if m:
            meta["title"] = clean_space(m.group(1))
            by = re.search(r"^\s*by\s+(.+?)(?:\.?\s{2,}|\.?\s*$)", full[m.end():m.end() + 400], re.I | re.M)
            if by and not meta.get("author"):
                meta["author"] = clean_space(by.group(1)).rstrip(".")
    if meta.get("title"):
        meta["title"] = strip_gutenberg_prefix(meta["title"])
    return meta


def strip_gutenberg_prefix(title: str) -> str:
    """"The Project Gutenberg eBook #33283: Calculus Made Easy" -> "Calculus Made Easy"."""
    out = re.sub(r"^(?:the\s+)?project\s+gutenberg(?:'s)?\s+e-?(?:book|text)\s*(?:#\s*\d+)?\s*(?:[:,.-]|\bof\b)?\s*",
                 "", title.strip(), flags=re.I)
    return out or title


@dataclass
class _Para:
    text: str
    lines: int
    before: int  # blank lines before
    after: int


def _paragraphs(body: str) -> list[_Para]:
    paras: list[_Para] = []
    cur: list[str] = []
    blanks = 99
    for line in body.split("\n"):
        if line.strip():
            if not cur:
                before = blanks
            cur.append(line.strip())
            blanks = 0
        else:
            if cur:
                paras.append(_Para(" ".join(cur), len(cur), before, 0))
                cur = []
            blanks += 1
            if paras:
                paras[-1].after = blanks
    if cur:
        paras.append(_Para(" ".join(cur), len(cur), before, 99))
    return paras


def _tidy(text: str) -> str:
    text = text.replace("_", "").replace("--", "—")
    text = re.sub(r"\[(\d{1,3}|[a-z*†])\]|\{\d{1,3}\}", "", text)  # footnote markers
    return clean_space(text)


def _is_footnote_body(text: str) -> bool:
    return bool(re.match(r"^\s*(\[\d{1,3}\]|\{\d{1,3}\}|Footnote\s*\d*:|\[Footnote)", text))


def _head_key(text: str, family: str) -> tuple[str, int | None, str | None] | None:
    if len(text) > 110:
        return None
    m = (HEAD_KEY if family == "key" else HEAD_ROMAN).match(text)
    if not m:
        return None
    kw = text.split()[0].lower().rstrip(".") if family == "key" else "roman"
    return kw, _num_value(m.group("num")), m.group("rest")


def _plain_entries(paras: list[_Para], book_title: str) -> tuple[list[Block], list[Entry]]:
    texts = [_tidy(p.text) for p in paras]
    family = "key"
    cands = [i for i, p in enumerate(paras) if p.lines == 1 and _head_key(texts[i], "key")]
    if len(cands) < 2:
        family = "roman"
        cands = [i for i, p in enumerate(paras) if p.lines == 1 and p.before >= 2 and _head_key(texts[i], "roman")]
        if len(cands) < 2:
            cands = []
    # A number seen twice (contents list, then text): keep the last occurrence.
    last: dict[tuple[str, int | None], int] = {}
    for i in cands:
        kw, val, _rest = _head_key(texts[i], family)
        last[(kw, val)] = i
    toc_lines = set(cands) - set(last.values())
    cands = sorted(last.values())
    heads: dict[int, str] = {}
    sub: set[int] = set()
    for i in cands:
        title = texts[i]
        _kw, _val, rest = _head_key(texts[i], family)
        nxt = i + 1
        if not rest and nxt < len(paras) and paras[nxt].lines == 1 and nxt not in last.values():
            t = texts[nxt]
            if (len(t.split()) <= 12 and t[:1].isupper() and not t.endswith((",", ";"))
                    and not t.startswith(('"', "'", "“", "‘")) and (paras[i].after >= 2 or t.isupper())):
                title = f"{title.rstrip('.')}: {t}" if not title.endswith(":") else f"{title} {t}"
                sub.add(nxt)
        heads[i] = title
    # Extra sections (Preface, Introduction...) set off by blank lines.
    for i, p in enumerate(paras):
        if (p.lines == 1 and p.before >= 2 and len(texts[i]) <= 40 and is_section_title(texts[i])
                and (texts[i].isupper() or texts[i].istitle()) and i not in heads):
            heads[i] = texts[i]
    # Numbering starts at 2: find where chapter 1 starts.
    if cands and family == "key":
        first = cands[0]
        if _head_key(texts[first], family)[1] == 2:
            prev = max([h for h in heads if h < first], default=-1)
            key = re.sub(r"\W+", "", book_title.split(",")[0].split(":")[0]).lower()
            pick = None
            for j in range(first - 1, prev, -1):
                norm = re.sub(r"\W+", "", texts[j]).lower()
                if paras[j].lines <= 2 and key and norm.startswith(key[: max(8, len(key) // 2)]):
                    pick = j
                    break
            if pick is None:
                pick = next((j for j in range(first - 1, prev, -1)
                             if paras[j].lines == 1 and paras[j].before >= 3 and len(texts[j]) < 60), None)
            if pick is not None:
                heads[pick] = texts[pick]
    blocks: list[Block] = []
    entries: list[Entry] = []
    for i, p in enumerate(paras):
        if i in toc_lines:
            entries.append(Entry(len(blocks), texts[i], {"toc"}))
        if i in heads:
            entries.append(Entry(len(blocks), heads[i]))
        if _is_footnote_body(p.text):
            continue
        blocks.append(Block(texts[i], 1 if (i in heads or i in sub) else 0))
    return blocks, entries


def _drop_front_notes(paras: list[str]) -> list[str]:
    pat = re.compile(r"^(produced by|e-?text prepared by|transcribed from|this (e-?text|ebook) was|"
                     r"character set encoding|updated editions|\[?transcriber)", re.I)
    return [p for p in paras if not pat.match(p) and p.strip()]


def parse_gutenberg_txt(path: Path | str) -> Book:
    """Parse a (Project Gutenberg or other) plain-text book."""
    path = Path(path)
    data = path.read_bytes()
    if not data.strip():
        raise EmptyBookError(f"{path.name}: the file is empty")
    text = decode_text(data)
    header, body = split_boilerplate(text)
    meta = header_metadata(header, text)
    title = meta.get("title") or path.stem
    blocks, entries = _plain_entries(_paragraphs(body), title)
    chapters = build_chapters(blocks, entries) if [e for e in entries if "toc" not in e.types] else []
    if not chapters:
        paras = _drop_front_notes([b.text for b in blocks])
        chapters = [Chapter(title=title, paragraphs=paras)] if paras else []
    return Book(title=title, author=meta.get("author"), language=meta.get("language", "en"),
                year=meta.get("year"), release_year=meta.get("release_year"), chapters=chapters,
                source_format="txt")


def _html_entries(blocks: list[Block]) -> list[Entry]:
    best_level, best = 0, 0
    for level in (1, 2, 3, 4):
        n = sum(1 for b in blocks if b.heading == level and (HEAD_KEY.match(b.text) or HEAD_ROMAN.match(b.text)))
        if n > best:
            best_level, best = level, n
    if best < 2:
        counts = {lv: sum(1 for b in blocks if b.heading == lv) for lv in (2, 3)}
        best_level = max(counts, key=counts.get)
        if counts[best_level] < 2:
            return []
    entries = []
    for i, b in enumerate(blocks):
        if b.heading == best_level or (0 < b.heading < best_level and is_section_title(b.text)):
            entries.append(Entry(i, b.text))
    # Keep the last occurrence of a repeated heading (contents list, then text).
    seen: dict[str, int] = {}
    for k, e in enumerate(entries):
        seen[e.title.lower()] = k
    for k, e in enumerate(entries):
        if seen[e.title.lower()] != k:
            e.types = {"toc"}
    return entries


def parse_gutenberg_html(path: Path | str) -> Book:
    """Parse a Project Gutenberg HTML book (or any single-file HTML book)."""
    path = Path(path)
    data = path.read_bytes()
    if not data.strip():
        raise EmptyBookError(f"{path.name}: the file is empty")
    doc = parse_html(data)
    blocks = cut_gutenberg_footer(cut_gutenberg_header(doc.blocks))
    blocks = [Block(b.text, b.heading) for b in blocks if not (b.heading == 0 and GUTENBERG_END.match(b.text))]
    head_src = re.sub(r"<[^>]+>", "\n", decode_text(data[:60000]))
    head_src = head_src.split("START OF", 1)[0] if "START OF" in head_src else head_src[:6000]
    meta = header_metadata(head_src, head_src)
    title = meta.get("title") or (doc.title or path.stem)
    title = strip_gutenberg_prefix(title)
    lang = meta.get("language")
    if not lang:
        m = re.search(rb"<html[^>]*\blang=\"([A-Za-z\-]+)\"", data[:5000])
        lang = m.group(1).decode() if m else "en"
    entries = _html_entries(blocks)
    chapters = build_chapters(blocks, entries) if entries else []
    if not chapters:
        paras = _drop_front_notes([b.text for b in blocks if not is_skip_title(b.text)])
        chapters = [Chapter(title=title, paragraphs=paras)] if paras else []
    return Book(title=title, author=meta.get("author"), language=lang, year=meta.get("year"),
                release_year=meta.get("release_year"),
                chapters=chapters, source_format="html")
