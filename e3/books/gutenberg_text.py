"""Project Gutenberg plain text and HTML.

- Encoding: UTF-8 (with or without BOM), UTF-16 with BOM, else the "Character set encoding:"
  header, else Windows-1252/Latin-1. CRLF and CR become LF.
- Boilerplate: everything up to the "*** START OF THE/THIS PROJECT GUTENBERG ..." line (or, in
  1990s etexts without it, up to the "*END*THE SMALL PRINT!" line) and from the END marker /
  "End of (the) Project Gutenberg ..." line on is dropped, licence included.
- Headings (plain text): paragraphs such as "CHAPTER I", "Chapter 1", "CHAP. II.", "BOOK ONE",
  "CHAPTER THE FIRST", "Tratado Primero", "ACTE PREMIER.", "Erstes Kapitel", "FIRST ACT", with an
  optional title after ":" / "." / "-", or a title on the next short line; a heading may wrap onto
  2-3 short lines set off by blank lines. Bare roman numerals ("IV.", "IV. THE TITLE"; canonical
  numerals only) count only when no keyword headings exist. Preface/Introduction/Epilogue-like
  headings become extra sections. A heading seen again later whose next heading follows within a
  few words is a contents line. Numbering that restarts is kept when another kind of heading came
  between ("PART II" then "CHAPTER I."), else it is sub-numbering inside the last chapter. If
  numbering starts at 2, the missing chapter 1 starts at the repeated book title (a half-title)
  or, failing that, at the last short line set off by blank lines.
- Headings (HTML): the <h1>-<h4> level holding most chapter-like headings; when those are bare
  numerals that restart under titled headings of a higher level (essays with parts I, II...), the
  higher level; when they are the parts of a few of the higher level's titled headings (one long
  poem in parts among titled poems, speeches with sub-headings), the higher level. A heading used
  again later is a contents line only when it has no text of its own or a contents line follows
  it. A heading that is only the author's name, or in parentheses, is not a chapter; pieces
  before the book's own contents list are front-matter sections.
- Plain text: keyword headings ("PART I"-"PART VI") that all sit inside one piece of a longer
  run of numbered pieces ("I.", "II." ... poems) divide that piece, and the numerals are chapters.
- No headings at all: ONE chapter titled with the book title (chapters are never invented).
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from pathlib import Path

from e3.books import ledger
from e3.books.errors import BinaryGarbageError, EmptyBookError
from e3.books.model import Book, Chapter
from e3.books.structure import (
    GUTENBERG_END, Block, Entry, build_chapters, clean_space, cut_gutenberg_footer, cut_gutenberg_header,
    is_section_title, is_skip_title, parse_html,
)

_NUM_WORDS = ("one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
              "sixteen seventeen eighteen nineteen twenty first second third fourth fifth sixth seventh "
              "eighth ninth tenth eleventh twelfth last").split()
# Ordinal words 1..10 in the languages E3 reads ("Tratado Primero", "ACTE PREMIER", "Erstes Kapitel",
# "Första kapitlet", "CHAPTER THE FIRST"): the value is the position in each row.
_ORDINALS = [
    "first second third fourth fifth sixth seventh eighth ninth tenth",
    "premier second troisième quatrième cinquième sixième septième huitième neuvième dixième",
    "première deuxième troisieme quatrieme cinquieme sixieme septieme huitieme neuvieme dixieme",
    "primero segundo tercero cuarto quinto sexto séptimo octavo noveno décimo",
    "primera segunda tercera cuarta quinta sexta séptima octava novena décima",
    "primo secondo terzo quarto quinto sesto settimo ottavo nono decimo",
    "primeiro segundo terceiro quarto quinto sexto sétimo oitavo nono décimo",
    "erstes zweites drittes viertes fünftes sechstes siebentes achtes neuntes zehntes",
    "erster zweiter dritter vierter fünfter sechster siebenter achter neunter zehnter",
    "erste zweite dritte vierte fünfte sechste siebente achte neunte zehnte",
    "första andra tredje fjärde femte sjätte sjunde åttonde nionde tionde",
    "eerste tweede derde vierde vijfde zesde zevende achtste negende tiende",
]
_ORD_VALUE: dict[str, int] = {}
for _row in _ORDINALS:
    for _n, _w in enumerate(_row.split(), start=1):
        _ORD_VALUE.setdefault(_w, _n)
_ORD_VALUE.update({"seconde": 2, "sixte": 6, "siebtes": 7, "siebte": 7, "siebter": 7})
_ORD = "|".join(sorted(_ORD_VALUE, key=len, reverse=True))
_KEY = (r"(?:chapter|chap\.?|book|part|stave|letter|canto|capítulo|capitulo|cap\.|chapitre|kapitel|kapitlet|"
        r"livre|libro|teil|act|acte|akt|aufzug|tratado|hoofdstuk|capitolo|parte|partie|buch|boek|bok)")
_NUM = r"(?:[ivxlcdm]+|\d{1,3}|(?:the\s+)?(?:" + _ORD + "|" + "|".join(_NUM_WORDS) + r"))"
HEAD_KEY = re.compile(rf"^(?P<kw>{_KEY})\s+(?P<num>{_NUM})\b\.?(?:\s*[:.\-—–]?\s*(?P<rest>\S.{{0,100}}))?$", re.I)
# The ordinal first: "Erstes Kapitel", "FIRST ACT", "Första kapitlet".
HEAD_ORD_FIRST = re.compile(rf"^(?P<num>{_ORD}|{'|'.join(_NUM_WORDS)})\s+(?P<kw>{_KEY})\b\.?"
                            rf"(?:\s*[:.\-—–]?\s*(?P<rest>\S.{{0,100}}))?$", re.I)
HEAD_ROMAN = re.compile(r"^(?P<num>[IVXLCDM]{1,12})\.?(?:\s+(?P<rest>[A-Z][^a-z]{0,80}))?$")
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
    low = re.sub(r"^the\s+", "", num.lower())
    if low in _ORD_VALUE:
        return _ORD_VALUE[low]
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
    ledger.set_aside("licence", header)
    if end_m:
        ledger.set_aside("licence", text[end_m.start():])
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


_MARKERS = re.compile(r"\[(\d{1,3}|[a-z*†])\]|\{\d{1,3}\}")


def _tidy(text: str) -> str:
    text = text.replace("_", "").replace("--", "—")
    if "[" in text or "{" in text:
        ledger.set_aside("footnote marker", " ".join(_MARKERS.findall(text)))
        text = _MARKERS.sub("", text)
    return clean_space(text)


def _is_footnote_body(text: str) -> bool:
    return bool(re.match(r"^\s*(\[\d{1,3}\]|\{\d{1,3}\}|Footnote\s*\d*:|\[Footnote)", text))


def _head_key(text: str, family: str) -> tuple[str, int | None, str | None] | None:
    if len(text) > 110:
        return None
    if family == "key":
        m = HEAD_KEY.match(text) or HEAD_ORD_FIRST.match(text)
        if not m:
            return None
        return m.group("kw").lower().rstrip("."), _num_value(m.group("num")), m.group("rest")
    m = HEAD_ROMAN.match(text)
    if not m or not _canonical_roman(m.group("num")):  # "LXXXVIII" yes, "DID" or "MIX" no
        return None
    return "roman", _num_value(m.group("num")), m.group("rest")


def _canonical_roman(s: str) -> bool:
    n = roman_to_int(s)
    if not n or n >= 4000:
        return False
    out = ""
    for value, sym in ((1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"), (50, "L"),
                       (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")):
        while n >= value:
            out, n = out + sym, n - value
    return out == s.upper()


def _is_head(p: _Para, text: str, family: str) -> bool:
    """One line, or a heading that wraps onto 2-3 short lines set off by blank lines ("PART III. A
    VOYAGE TO LAPUTA, ... AND" / "JAPAN.")."""
    if p.lines == 1:
        return bool(_head_key(text, family)) and (family == "key" or p.before >= 2)
    if p.lines > 3 or p.before < 2 or p.after < 2 or len(text) > 160:
        return False
    got = _head_key(text, family)
    return bool(got) and not re.search(r"[a-z].*[.!?]\s+\S", got[2] or "")


_TOC_GAP_WORDS = 40


def _plain_entries(paras: list[_Para], book_title: str) -> tuple[list[Block], list[Entry]]:
    texts = [_tidy(p.text) for p in paras]
    family = "key"
    cands = [i for i, p in enumerate(paras) if _is_head(p, texts[i], "key")]
    numerals = [i for i, p in enumerate(paras) if _is_head(p, texts[i], "roman")]
    if len(cands) >= 2 and _inside_one_piece(cands, numerals, texts):
        cands = []  # "PART I"-"PART VI" of one long poem among poems numbered I, II, III...
    if len(cands) < 2:
        family = "roman"
        cands = [i for i, p in enumerate(paras) if _is_head(p, texts[i], "roman")]
        if len(cands) < 2:
            cands = []
    # A contents list: a heading seen again later whose next heading follows within a few words.
    # Numbers that restart in each part ("PART II" / "CHAPTER I.") are far apart and all kept.
    words = [t.count(" ") + 1 if t else 0 for t in texts]  # tidied: one space between words
    keys = [_head_key(texts[i], family)[:2] for i in cands]
    toc_lines = set()
    for k, i in enumerate(cands):
        gap = sum(words[i + 1:cands[k + 1]]) if k + 1 < len(cands) else 10**9
        if gap < _TOC_GAP_WORDS and keys[k] in keys[k + 1:]:
            toc_lines.add(i)
    cands = [i for i in cands if i not in toc_lines]
    # Numbering that restarts with no other kind of heading in between ("FRAGMENTA" I-XIV after
    # poem CXVI) is sub-numbering inside the last chapter; after "PART II" it starts new chapters.
    kept: list[int] = []
    prev: dict[str, int | None] = {}
    other_between: dict[str, bool] = {}
    for i in cands:
        kw, val, _rest = _head_key(texts[i], family)
        if val is not None and prev.get(kw) is not None and val <= prev[kw] and not other_between.get(kw):
            continue
        prev[kw], other_between[kw] = val, False
        for k in other_between:
            other_between[k] = other_between[k] or k != kw
        kept.append(i)
    cands = kept
    last = {i: i for i in cands}
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
            ledger.set_aside("footnote", p.text)
            continue
        blocks.append(Block(texts[i], 1 if (i in heads or i in sub) else 0))
    return blocks, entries


def _inside_one_piece(inner: list[int], outer: list[int], texts: list[str]) -> bool:
    """True when every ``inner`` heading sits between two neighbouring ``outer`` headings (or after
    the last), and the ``outer`` ones, more numerous, number on without a restart: the inner
    numbering divides one piece of the outer one."""
    if len(outer) <= len(inner) or len(outer) < 3:
        return False
    values = [_head_key(texts[i], "roman")[1] for i in outer]
    if any(v is None or not (a or 0) < v <= (a or 0) + 3 for a, v in zip([0, *values], values)):
        return False
    bounds = [*outer, len(texts)]
    return any(bounds[k] < inner[0] and inner[-1] < bounds[k + 1] for k in range(len(outer)))


def _drop_front_notes(paras: list[str]) -> list[str]:
    pat = re.compile(r"^(produced by|e-?text prepared by|transcribed from|this (e-?text|ebook) was|"
                     r"character set encoding|updated editions|\[?transcriber)", re.I)
    ledger.set_aside("front matter", [p for p in paras if pat.match(p)])
    return [p for p in paras if not pat.match(p) and p.strip()]


def parse_gutenberg_txt(path: Path | str) -> Book:
    """Parse a (Project Gutenberg or other) plain-text book."""
    path = Path(path)
    data = path.read_bytes()
    if not data.strip():
        raise EmptyBookError(f"{path.name}: the file is empty")
    text = decode_text(data)
    ledger.add_body(text)
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


# A contents line in HTML holds fewer words than this before the next heading (a page number).
_TOC_LINE_WORDS = 10


def _html_entries(blocks: list[Block]) -> list[Entry]:
    best_level, best = 0, 0
    for level in (1, 2, 3, 4):
        n = sum(1 for b in blocks if b.heading == level and (HEAD_KEY.match(b.text) or HEAD_ORD_FIRST.match(b.text)
                                                               or HEAD_ROMAN.match(b.text)))
        if n > best:
            best_level, best = level, n
    if best < 2:
        counts = {lv: sum(1 for b in blocks if b.heading == lv) for lv in (2, 3)}
        best_level = max(counts, key=counts.get)
        if counts[best_level] < 2:
            return []
    bare = False
    if best >= 2 and (upper := _titled_level_above(blocks, best_level)):
        best_level, bare = upper, True
    elif upper := _piece_level_above(blocks, best_level):
        best_level = upper
    entries = []
    for i, b in enumerate(blocks):
        if bare and b.heading == best_level and HEAD_ROMAN.match(b.text):
            continue  # a numbered sub-part at the essays' level ("I." under "THE SENTIMENT OF RATIONALITY")
        if re.fullmatch(r"\(.*\)\W*", b.text):
            continue  # a heading in parentheses is the subtitle of the one before ("(Zevende Uitgave.)")
        if b.heading == best_level or (0 < b.heading < best_level and is_section_title(b.text)):
            entries.append(Entry(i, _strip_marks(b.text)))
    # Keep the last occurrence of a repeated heading (contents list, then text); compare letters
    # only, as a contents line drops the footnote marker and stop ("THE WILL TO BELIEVE 1").
    def norm(t: str) -> str:
        return re.sub(r"[^\w]+|\d+$", "", re.sub(r"\s*\d+\s*$", "", t)).lower()
    seen: dict[str, int] = {}
    for k, e in enumerate(entries):
        seen[norm(e.title)] = k

    def repeated(k: int) -> bool:
        return k < len(entries) and seen[norm(entries[k].title)] != k

    # A contents line has (almost) no text of its own, or another contents line follows it; a
    # heading used twice with text under each ("POSTSCRIPT." after two letters) is kept both times.
    for k, e in enumerate(entries):
        end = entries[k + 1].pos if k + 1 < len(entries) else len(blocks)
        own = sum(len(b.text.split()) for b in blocks[e.pos + 1:end])
        if repeated(k) and (own < _TOC_LINE_WORDS or repeated(k + 1)):
            e.types = {"toc"}
    return entries


_CONTENTS_WORD = re.compile(r"contents|inhoud|inhalt|[íi]ndice|sommaire|table des|innehåll|indhold|sisällys", re.I)


def _first_chapter_without_heading(blocks: list[Block], entries: list[Entry]) -> None:
    """Numbering that starts at 2 ("CHAPTER II"): chapter 1 has no heading (it opens with a drop-cap
    picture), so it starts after the last heading before chapter 2 and is named by the same
    pattern ("CHAPTER I"), not by the book title."""
    k = next((k for k, e in enumerate(entries) if "toc" not in e.types
              and (HEAD_KEY.match(e.title) or HEAD_ROMAN.match(e.title))), None)
    if k is None:
        return
    e = entries[k]
    m = HEAD_KEY.match(e.title) or HEAD_ROMAN.match(e.title)
    num = m.group("num")
    if _num_value(num) != 2:
        return
    lo = entries[k - 1].pos + 1 if k else 0
    start = next((i + 1 for i in range(e.pos - 1, lo - 1, -1) if blocks[i].heading), lo)
    titles = {t.title.casefold().rstrip(".") for t in entries}
    while start < e.pos and blocks[start].text.casefold().rstrip(".") in titles:
        start += 1  # contents lines left in front of the text
    if sum(len(b.text.split()) for b in blocks[start:e.pos]) < 100:
        return
    one = "1" if num.isdigit() else ("I" if num.isupper() else "i") if roman_to_int(num) else "One"
    title = e.title[:m.start("num")] + one + ("." if e.title[m.end("num"):].startswith(".") else "")
    entries.insert(k, Entry(start, title.strip()))


def _mark_bylines(entries: list[Entry], author: str | None) -> None:
    """A heading that is only the author's name ("By Sir Arthur Conan Doyle") is title-page matter."""
    if not author:
        return
    names = {re.sub(r"\W+", "", n).lower() for n in re.split(r",|;| and ", author) if n.strip()}
    for e in entries:
        key = re.sub(r"\W+", "", re.sub(r"^\W*by\s+", "", e.title, flags=re.I)).lower()
        if key and any(key == n or (len(key) > 6 and n.endswith(key)) or (len(n) > 6 and key.endswith(n))
                       for n in names):
            e.types = e.types | {"titlepage"}


def _strip_marks(title: str) -> str:
    """A heading without the empty brackets a dropped footnote marker leaves ("THE WILL TO BELIEVE.[]")."""
    return clean_space(re.sub(r"\[\s*\]|\(\s*\)", "", title))


def _titled_level_above(blocks: list[Block], level: int) -> int | None:
    """When the numbered headings at ``level`` are bare numerals whose numbering restarts, and a
    titled heading of a higher level opens every run, that higher level holds the chapters (essays
    with numbered sub-parts); else None. A keyword numbering ("Chapter 1") never moves up."""
    runs: list[int] = []  # block index where each numbering run starts
    prev = None
    for i, b in enumerate(blocks):
        if b.heading != level:
            continue
        m = HEAD_ROMAN.match(b.text)
        if not m:
            if HEAD_KEY.match(b.text):
                return None
            continue
        val = roman_to_int(m.group("num"))
        if prev is None or (val is not None and val <= prev):
            runs.append(i)
        prev = val
    if len(runs) < 2:
        return None
    for upper in range(level - 1, 0, -1):
        heads = [i for i, b in enumerate(blocks) if b.heading == upper and not HEAD_ROMAN.match(b.text)]
        starts = [0] + runs
        if all(any(a < h < r for h in heads) for a, r in zip(starts, runs[1:])) and len(heads) > len(runs):
            return upper
    return None


def _piece_level_above(blocks: list[Block], level: int) -> int | None:
    """A higher heading level whose headings are the pieces when the headings at ``level`` are
    parts inside a few of them: titled poems where one long poem has parts "I"-"VI", speeches of
    which some have sub-headings. A grouping level (books of letters, series of poems) holds
    sub-level headings under every one of its headings, so it is not chosen; a level is taken
    when at least two of its headings hold text with no ``level`` heading under them, and at
    least as many as hold some."""
    for upper in range(level - 1, 0, -1):
        spans: list[tuple[int, int]] = []  # (words, headings at ``level``) under each upper heading
        for i, b in enumerate(blocks):
            if b.heading == upper and not (is_skip_title(b.text) or is_section_title(b.text)):
                spans.append((0, 0))
            elif spans and 0 < b.heading <= upper:
                spans.append((-1, 0))  # a skipped or section heading ends the span; not counted
            elif spans and spans[-1][0] >= 0:
                words, subs = spans[-1]
                spans[-1] = (words + (len(b.text.split()) if b.heading == 0 else 0), subs + (b.heading == level))
        with_text = [(w, n) for w, n in spans if w >= 12]
        alone = sum(1 for _w, n in with_text if n == 0)
        if alone >= 2 and alone * 2 >= len(with_text) and alone < len(with_text):
            return upper
    return None


def parse_gutenberg_html(path: Path | str) -> Book:
    """Parse a Project Gutenberg HTML book (or any single-file HTML book)."""
    path = Path(path)
    data = path.read_bytes()
    if not data.strip():
        raise EmptyBookError(f"{path.name}: the file is empty")
    doc = parse_html(data)
    blocks = cut_gutenberg_footer(cut_gutenberg_header(doc.blocks))
    ledger.set_aside("licence", [b.text for b in blocks if b.heading == 0 and GUTENBERG_END.match(b.text)])
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
    _first_chapter_without_heading(blocks, entries)
    _mark_bylines(entries, meta.get("author"))
    # Pieces before the book's own contents list are front matter (a preface, an addendum).
    toc_at = next((k for k, e in enumerate(entries[:len(entries) // 2]) if "toc" not in e.types
                   and is_skip_title(e.title) and _CONTENTS_WORD.search(e.title)), None)
    for e in entries[:toc_at or 0]:
        e.types = e.types | {"frontmatter"}
    chapters = build_chapters(blocks, entries) if entries else []
    if not chapters:
        ledger.set_aside("contents", [b.text for b in blocks if is_skip_title(b.text)])
        paras = _drop_front_notes([b.text for b in blocks if not is_skip_title(b.text)])
        chapters = [Chapter(title=title, paragraphs=paras)] if paras else []
    return Book(title=title, author=meta.get("author"), language=lang, year=meta.get("year"),
                release_year=meta.get("release_year"),
                chapters=chapters, source_format="html")
