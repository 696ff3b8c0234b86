"""Shared structure logic: HTML to text blocks, and cutting a block stream into chapters.

Every parser turns its input into a flat list of ``Block`` (one paragraph or heading each) and a
list of ``Entry`` (a table-of-contents entry or a detected heading, pointing at a block index).
``build_chapters`` then cuts the stream at the entries, drops front/back matter and title-only
entries, and labels extra sections; everything it does not narrate goes to the text ledger with
a reason. Only list-like lines pass as a skipped contents page or index, and long text before the
first chapter becomes a section, so a wrong cut shows up as unaccounted text, not as silence.
``merge_stray_entries`` folds a short unnumbered entry between long numbered ones (a postscript
between letters) into the piece before it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml import etree, html

from e3.books import ledger
from e3.books.checks import TINY_WORDS
from e3.books.model import Chapter, count_words

# A skipped entry's lines longer than this are not a list (contents, index, copyright lines).
_LIST_LINE_WORDS = 40
# Longer skipped spans than these are not plausibly one licence / one page of front or back matter.
_LICENCE_WORDS, _MATTER_WORDS = 6000, 1500
# More text than this before the first chapter is a preface or a letter, not a title page.
_FRONT_WORDS = 400

# A TOC entry whose span has fewer words than this (besides its own heading) is a title, byline,
# part heading or "THE END" line, not a chapter.
MIN_CHAPTER_WORDS = 12

SKIP_TYPES = {
    "cover", "titlepage", "halftitlepage", "toc", "landmarks", "page-list", "loi", "lot",
    "copyright-page", "colophon", "index", "imprint", "imprimatur", "errata",
}
SECTION_TYPES = {
    "frontmatter", "backmatter", "preface", "foreword", "introduction", "prologue", "epilogue",
    "afterword", "appendix", "bibliography", "glossary", "notes", "rearnotes", "endnotes",
    "epigraph", "acknowledgments", "dedication", "conclusion", "z3998:dramatis-personae",
}
_SKIP_TITLE = re.compile(
    r"^\W*(table of contents|contents|content|índice|indice|index|inhalt|inhaltsverzeichnis|"
    r"table des matières|table des matieres|sommaire|inhoud|inhoudsopgave|innehåll|indhold|sisällys|"
    r"copyright( page)?|title page|titlepage|cover|colophon|colofon|kolophon|index of first lines|footnotes|notes de bas de page|list of illustrations|illustrations|"
    r"(the )?(full )?project gutenberg.*|.*licen[cs]e.*|(original )?transcriber.s notes?.*|"
    r"by the same author|also by .{1,60}|advertisements?|boilerplate|(publisher.s )?catalogue)\W*$",
    re.IGNORECASE,
)
_SECTION_TITLE = re.compile(
    r"^\W*(preface|prefatory note|foreword|introduction|introductory|prologue|prolog|epilogue|"
    r"afterword|postscript|etymology|extracts|appendix|appendices|bibliography|glossary|notes|"
    r"notes on\b.*|author.s note|dedication|acknowledge?ments?|epigraph|"
    r"pr[ée]face|avant-propos|introdu[cç][ãa]o|pref[áa]cio|vorwort|einleitung|nachwort|"
    r"voorbericht|voorrede|vorrede|noter|noten|notas|anmerkungen|aantekeningen|dramatis person[aæ]e|personnages|cast of characters|praefatio|pr[óo]logo|prefazione|voorwoord|f[öo]rord)\b.*$",
    re.IGNORECASE,
)
GUTENBERG_END = re.compile(
    r"^\W*(\*+\s*)?end of (the |this )?project gutenberg|^\W*\*+\s*end\b.{0,20}project gutenberg"
    r"|^end of (the )?project gutenberg",
    re.IGNORECASE,
)
GUTENBERG_START = re.compile(r"^\W*\*+\s*start of (the |this )?project gutenberg", re.IGNORECASE)

_WS = re.compile(r"\s+")
_FOOTNOTE_MARK = re.compile(r"^\s*(\[\s*\w{1,4}\s*\]|\(\s*\d{1,3}\s*\)|\d{1,3}|[*†‡§¶]+)\s*$")


@dataclass
class Block:
    text: str
    heading: int = 0  # 1..6 for <h1>..<h6>, 0 for body text


@dataclass
class Entry:
    """A chapter start: block index, the book's own title, and epub:type semantics if known."""

    pos: int
    title: str
    types: set[str] = field(default_factory=set)


def clean_space(text: str) -> str:
    text = text.replace("\u00ad", "")
    if len(text) <= _SQUEEZE_WINDOW:
        return _WS.sub(" ", text).strip()
    # A substitution over a huge text holds one string per match (every space of a 50 MB line:
    # 500 MB): squeeze it in windows, each cut just before a whitespace run so none is split.
    parts, start = [], 0
    while start < len(text):
        end = min(start + _SQUEEZE_WINDOW, len(text))
        while end < len(text) and (text[end - 1].isspace() or not text[end].isspace()):
            end += 1
        parts.append(_WS.sub(" ", text[start:end]))
        start = end
    return "".join(parts).strip()


_SQUEEZE_WINDOW = 1 << 20


def is_skip_title(title: str) -> bool:
    return bool(_SKIP_TITLE.match(title.strip()))


def is_section_title(title: str) -> bool:
    return bool(_SECTION_TITLE.match(title.strip()))


# --- HTML to blocks ---------------------------------------------------------------------------

_BLOCK_TAGS = {
    "p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "dt", "dd", "blockquote", "pre", "table",
    "tr", "td", "th", "section", "article", "header", "footer", "aside", "figure", "figcaption",
    "body", "ul", "ol", "dl", "hr", "address", "center", "main", "caption", "tbody", "thead",
}
_DROP_TAGS = {"head", "script", "style", "title", "nav", "svg", "math", "object", "iframe", "noscript",
              "rt", "rp"}  # rt/rp: ruby readings (furigana) would be read twice
_DROP_EPUB_TYPES = {"pagebreak", "noteref", "footnote", "toc", "landmarks", "page-list", "biblioref"}
_DROP_CLASS = re.compile(r"\b(pagenum|pageno|page-number|pgheader|pgfooter|pg-boilerplate|fnanchor|"
                         r"citation|noteref|footnote-?ref|linenum|lineno)\b", re.I)
# One class token naming a line or page number: lnum, linenum, line-number, line_no, pagenum, pgnum...
_NUMBER_CLASS = re.compile(r"^(l(ine)?[-_]?(num(ber)?|no|nr|nbr)s?|verse[-_]?(num(ber)?|no)|"
                           r"(page|pg)[-_]?(num(ber)?|no|nr)s?|folio)$", re.I)
_DROP_ROLES = {"doc-pagebreak", "doc-noteref"}
_DROP_IDS = {"pg-header", "pg-footer", "pg-machine-header", "pg-start-separator", "pg-end-separator"}


def _epub_types(el) -> set[str]:
    for k, v in el.attrib.items():
        if k == "epub:type" or k.endswith("}type") and "ops" in k:
            return set(v.split())
        if k.endswith("type") and k.startswith("epub"):
            return set(v.split())
    return set()


def _drops_class(cls: str) -> bool:
    """True when a class attribute marks markup a listener must not hear (page/line numbers...)."""
    return bool(_DROP_CLASS.search(cls)) or any(_NUMBER_CLASS.match(t) for t in cls.split())


def _drop_reason(tag: str, types: set[str], cls: str, eid: str | None) -> str:
    """The ledger's reason for markup parse_html does not read aloud."""
    low = cls.lower()
    if tag == "nav" or types & {"toc", "landmarks", "page-list"}:
        return "contents"
    if "pagebreak" in types or re.search(r"page|pg-?num|folio", low) and "pg-boilerplate" not in low:
        return "page number"
    if re.search(r"line|lnum", low):
        return "line number"
    if "footnote" in types:
        return "footnote"
    if types & {"noteref", "biblioref"} or re.search(r"note|fnanchor|citation", low):
        return "footnote marker"
    if eid in _DROP_IDS or "pg" in low:
        return "licence"
    if tag == "math":
        return "math"
    if tag in ("rt", "rp"):
        return "ruby reading"
    if tag == "svg":
        return "image text"
    if tag in _DROP_TAGS:
        return "markup"
    return "hidden"


@dataclass
class HtmlDoc:
    blocks: list[Block]
    ids: dict[str, int]  # element id -> index of the first block at/after it (local)
    id_types: dict[str, set[str]]  # element id -> epub:types of it and its ancestors
    start_types: set[str]  # epub:types around the first block
    title: str | None = None


def parse_html(data: bytes) -> HtmlDoc:
    """Flatten one (X)HTML document into text blocks, remembering where every id lands.

    Drops scripts/styles/nav, page and line numbers (by class, epub:type or role), footnote
    markers and PG header/footer boxes.
    """
    parser = html.HTMLParser(remove_comments=True, remove_pis=True, recover=True)
    try:
        root = html.document_fromstring(data, parser=parser)
    except (etree.ParserError, ValueError):
        return HtmlDoc([], {}, {}, set())
    blocks: list[Block] = []
    ids: dict[str, int] = {}
    id_types: dict[str, set[str]] = {}
    start_types: set[str] = set()
    pending: list[str] = []
    buf: list[str] = []
    title_el = root.find(".//title")
    doc_title = clean_space(title_el.text_content()) if title_el is not None else None

    def flush(level: int = 0) -> None:
        nonlocal start_types
        text = clean_space("".join(buf))
        buf.clear()
        if text:
            if not blocks:
                start_types = set(cur_types)
            blocks.append(Block(text, level))
            for i in pending:
                ids.setdefault(i, len(blocks) - 1)
            pending.clear()

    cur_types: set[str] = set()

    def walk(el, types: set[str], level: int) -> None:
        nonlocal cur_types
        tag = el.tag if isinstance(el.tag, str) else ""
        tag = tag.rsplit("}", 1)[-1].lower()
        if not tag:
            if el.tail:
                buf.append(el.tail)
            return
        et = _epub_types(el)
        cls = el.get("class", "")
        eid = el.get("id") or (el.get("name") if tag == "a" else None)
        if (tag in _DROP_TAGS or et & _DROP_EPUB_TYPES or (cls and _drops_class(cls))
                or el.get("role") in _DROP_ROLES or el.get("hidden") is not None or (eid in _DROP_IDS)):
            if recording:
                ledger.set_aside(_drop_reason(tag, et, cls, eid), ledger.html_text(el))
            if eid:
                pending.append(eid)
                id_types[eid] = types | et
            if el.tail:
                buf.append(el.tail)
            return
        if tag in ("a", "sup") and _FOOTNOTE_MARK.match(el.text_content() or "") and (
                tag == "sup" or (el.get("href") or "").find("#") >= 0):
            if recording:
                ledger.set_aside("footnote marker", ledger.html_text(el))
            if el.tail:
                buf.append(el.tail)
            return
        types = types | et
        is_block = tag in _BLOCK_TAGS
        parent_level = level
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            level = int(tag[1])
        if is_block and buf:
            flush(parent_level)
        if eid:
            pending.append(eid)
            id_types[eid] = types
        cur_types = types
        if tag == "br":
            buf.append(" ")
        if el.text:
            buf.append(el.text)
        for child in el:
            walk(child, types, level)
        if is_block:
            flush(level)
        if el.tail:
            buf.append(el.tail)

    body = root.find(".//body")
    recording = ledger.current() is not None
    if recording:
        ledger.add_body(ledger.html_text(body if body is not None else root))
    walk(body if body is not None else root, set(), 0)
    flush()
    end = len(blocks)
    for i in pending:
        ids.setdefault(i, end)
    return HtmlDoc(blocks, ids, id_types, start_types, doc_title)


# --- cutting the stream into chapters ---------------------------------------------------------


def cut_gutenberg_footer(blocks: list[Block]) -> list[Block]:
    """Drop everything from a Project Gutenberg END marker on."""
    for i, b in enumerate(blocks):
        if (len(b.text) < 400 and GUTENBERG_END.match(b.text)) or "END OF THE PROJECT GUTENBERG" in b.text.upper() \
                or "END OF THIS PROJECT GUTENBERG" in b.text.upper():
            ledger.set_aside("licence", [x.text for x in blocks[i:]])
            return blocks[:i]
    return blocks


def build_chapters(blocks: list[Block], entries: list[Entry], min_words: int = MIN_CHAPTER_WORDS) -> list[Chapter]:
    """Cut ``blocks`` at ``entries`` (sorted by position) into chapters.

    Text before the first entry is front matter: dropped when short and without two headed pieces
    of text (a title page), else narrated as a section from its first heading-like line. Entries that are skip matter
    (contents, copyright, cover, licence...) or hold fewer than ``min_words`` words besides their
    heading are dropped. Leading heading blocks of each span are dropped (the title is spoken from
    ``Chapter.title``).
    """
    entries = sorted(entries, key=lambda e: e.pos)
    # Same position twice (a part and its first chapter): keep the later, more specific one.
    dedup: list[Entry] = []
    for e in entries:
        if dedup and dedup[-1].pos == e.pos:
            dedup[-1] = e
        else:
            dedup.append(e)
    chapters: list[Chapter] = []
    book_words = sum(count_words(b.text) for b in blocks)
    if dedup:
        front = blocks[:dedup[0].pos]
        if sum(count_words(b.text) for b in front) > _FRONT_WORDS or _headed_pieces(front) >= 2:
            # A whole preface or letter, not a title page: narrate it as a section.
            chapters.extend(_front_section(front))
        else:
            ledger.set_aside("front matter", [b.text for b in front])
    for i, e in enumerate(dedup):
        end = dedup[i + 1].pos if i + 1 < len(dedup) else len(blocks)
        span = blocks[e.pos:end]
        if e.types & SKIP_TYPES or is_skip_title(e.title):
            reason = skip_reason(e)
            # Only list-like lines pass as a contents page or an index: a skipped entry that swallows
            # real paragraphs stays unaccounted, so the ledger reports the lost text.
            texts = [b.text for b in span]
            limit = _LICENCE_WORDS if reason == "licence" else _MATTER_WORDS
            if reason in ("contents", "index"):  # an index of first lines grows with the book
                limit = max(limit, book_words // 10)
            if sum(count_words(t) for t in texts) > limit:
                texts = [t for t in texts if count_words(t) <= _LIST_LINE_WORDS]
            ledger.set_aside(reason, texts)
            continue
        k = 0
        while k < len(span) and span[k].heading:
            k += 1
        j = len(span)
        while j > k and span[j - 1].heading:  # a trailing heading ("II") opens the next chapter
            j -= 1
        paras = [b.text for b in span[k:j] if b.text.strip()]
        ledger.set_aside("heading", [b.text for b in span[:k] + span[j:]])
        if sum(count_words(p) for p in paras) < min_words:
            ledger.set_aside("title or part heading", paras + [e.title])
            continue
        if is_section_title(e.title) or (e.types & SECTION_TYPES and not _NUMBERED.match(e.title)):
            kind = "section"
        else:
            kind = "chapter"
        chapters.append(Chapter(title=e.title, paragraphs=paras, kind=kind))
    return chapters


def _headed_pieces(blocks: list[Block]) -> int:
    """Headings followed by at least MIN_CHAPTER_WORDS words of text before the next heading: a
    title page has a few headed lines, pieces (poems a wrong cut left in front) have text."""
    pieces, words, open_ = 0, 0, False
    for b in [*blocks, Block("", 1)]:
        if b.heading:
            pieces += open_ and words >= MIN_CHAPTER_WORDS
            open_, words = True, 0
        else:
            words += count_words(b.text)
    return pieces


def _front_section(front: list[Block]) -> list[Chapter]:
    """Long text before the first chapter as one section, from its first heading-like line (a
    short line before a long paragraph); the title-page lines before that are set aside."""
    start = 0
    for k, b in enumerate(front[:-1]):
        if is_section_title(b.text) or (count_words(b.text) <= 12 and count_words(front[k + 1].text) > _LIST_LINE_WORDS):
            start = k
            break
    ledger.set_aside("front matter", [b.text for b in front[:start]])
    return [Chapter(title=front[start].text, paragraphs=[b.text for b in front[start + 1:]], kind="section")]


def skip_reason(e: Entry) -> str:
    """Why a skipped entry's text is not narrated, for the ledger."""
    low = e.title.lower()
    for reason, words in (("licence", ("licen", "gutenberg")), ("contents", ("content", "índice", "indice", "inhalt",
                          "matières", "matieres", "sommaire")), ("index", ("index",)), ("footnote", ("footnote", "notes de"))):
        if any(w in low for w in words):
            return reason
    for t in ("toc", "landmarks", "page-list", "index", "colophon", "imprint", "copyright-page", "cover", "titlepage"):
        if t in e.types:
            return {"toc": "contents", "landmarks": "contents", "page-list": "contents"}.get(t, t.replace("-page", ""))
    return "front or back matter"


_NUMBERED = re.compile(r"^\W*(chapter|chap\.?|book|part|[ivxlcdm]+\b|\d+)", re.I)


def cut_gutenberg_header(blocks: list[Block]) -> list[Block]:
    """Drop everything up to and including a Project Gutenberg START marker, if any."""
    for i, b in enumerate(blocks[:400]):
        if GUTENBERG_START.match(b.text) or "START OF THE PROJECT GUTENBERG" in b.text.upper() \
                or "START OF THIS PROJECT GUTENBERG" in b.text.upper():
            ledger.set_aside("licence", [x.text for x in blocks[:i + 1]])
            return blocks[i + 1:]
    return blocks


# --- numbered pieces inside one chapter ---------------------------------------------------------

_BARE_NUMERAL = re.compile(r"^(?P<num>[IVXLCDM]{1,10}|\d{1,3})\.?$")
_GROUP_LINE = re.compile(r"^(?P<num>[IVXLCDM]{1,10}|\d{1,3})\.\s+(?P<rest>[^a-z]{2,60})$")
# A chapter holding at least this many numbered pieces (poems, letters) is a collection of them.
MIN_NUMBERED_PIECES = 20


def _numeral(text: str) -> int | None:
    return int(text) if text.isdigit() else _roman(text)


def _roman(s: str) -> int | None:
    vals = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}
    total = 0
    for a, b in zip(s, s[1:] + " "):
        va, vb = vals[a], vals.get(b, 0)
        total += -va if va < vb else va
    return total if total > 0 else None


def split_numbered_pieces(chapters: list[Chapter]) -> list[Chapter]:
    """Split a chapter that is a run of pieces headed only by a bare number on its own line ("I.",
    "II." ... a poetry collection with no headings in its markup) into one chapter per piece.

    The numbers must run on (each one to three above the last; a group line such as "II. LOVE."
    starts the count again), so a "I." / "II." inside a piece stays inside it. A short capitalised
    line right after the number is the piece's title. Text before the first number (a preface, an
    unnumbered prefatory poem) stays as a section under the chapter's title.
    """
    out: list[Chapter] = []
    for ch in chapters:
        starts: list[int] = []
        groups: set[int] = set()
        prev = 0
        for i, p in enumerate(ch.paragraphs):
            if (m := _BARE_NUMERAL.match(p)) and (v := _numeral(m.group("num"))) and prev < v <= prev + 3:
                starts.append(i)
                prev = v
            elif _GROUP_LINE.match(p):
                groups.add(i)
                prev = 0
        if len(starts) < MIN_NUMBERED_PIECES:
            out.append(ch)
            continue
        first = min(starts + sorted(groups))
        if first:
            out.append(Chapter(title=ch.title, paragraphs=ch.paragraphs[:first], kind="section"))
        bounds = starts + [len(ch.paragraphs)]
        pending: list[str] = [ch.paragraphs[g] for g in sorted(groups) if g < starts[0]]
        for k, s in enumerate(starts):
            body = ch.paragraphs[s + 1:bounds[k + 1]]
            group_here = [p for j, p in enumerate(body, start=s + 1) if j in groups]
            body = [p for j, p in enumerate(body, start=s + 1) if j not in groups]
            title = ch.paragraphs[s]
            if body and len(body[0].split()) <= 8 and body[0] == body[0].upper() and body[0][:1].isalpha():
                title, body = f"{title} {body[0]}", body[1:]
            out.append(Chapter(title=title, paragraphs=pending + body, kind="chapter"))
            pending = group_here
    return out


# --- stray entries between the pieces of a collection ------------------------------------------

# A chapter this short (words) between two of at least STRAY_NEIGHBOUR_WORDS is a stray heading
# (the length checks.structure_warnings flags), when its title is outside its neighbours' numbering.
STRAY_WORDS = TINY_WORDS
STRAY_NEIGHBOUR_WORDS = 150
# "LETTER XII.", "XII.", "12": capital numerals only, so "Mild Days" is not numbered.
_NUMBERED_TITLE = re.compile(r"^\W*(?:[^\W\d]+\.?\s+)?(?:[IVXLCDM]+|\d{1,4})\b")


def merge_stray_entries(chapters: list[Chapter]) -> list[Chapter]:
    """Fold a short unnumbered entry between two long numbered ones into the one before it, its
    title read as text: a "POSTSCRIPT." or an editor's "NOTE." between letters, a dateline heading
    between speeches. A collection's own short pieces are numbered like their neighbours (poem
    LXXXV between LXXXIV and LXXXVI) or sit between short ones, and stay."""
    out: list[Chapter] = []
    for i, ch in enumerate(chapters):
        prev = out[-1] if out else None
        nxt = chapters[i + 1] if i + 1 < len(chapters) else None
        if (prev is not None and nxt is not None and ch.words < STRAY_WORDS
                and min(prev.words, nxt.words) >= STRAY_NEIGHBOUR_WORDS
                and not _NUMBERED_TITLE.match(ch.title)
                and _NUMBERED_TITLE.match(prev.title) and _NUMBERED_TITLE.match(nxt.title)):
            prev.paragraphs = [*prev.paragraphs, ch.title, *ch.paragraphs]
            continue
        out.append(ch)
    return out
