"""PDF books: pypdf for encryption, metadata and the outline; pypdfium2 (PDFium) for the text.

PDFium maps glyphs to Unicode through the fonts' ToUnicode maps and encodings (math fonts give
"·" and "=", not "(cid:N)") and yields characters in content order, which for typeset books is
column by column. Its lines are grouped into paragraphs by position (``_page_boxes``: line
pitch, first-line indent, columns), so two-column pages read in reading order. On top of that:

- running headers/footers (boxes in the top/bottom 8 % of a page whose text, digits masked,
  repeats on several pages), page numbers and margin line numbers (boxes or lines that are only
  a number) are dropped;
- a line ending in "letter-" followed by a lowercase word is joined without the hyphen;
- the outline (bookmarks), when present, cuts the text into chapters at each entry's page and
  vertical position, at the level a reader calls chapters (below "Front/Main/Back Matter" groups,
  above the sections inside chapters); unnumbered entries beside numbered chapters are sections;
- without an outline, printed headings ("CHAPTER VI. A CONTINUATION OF ...") cut the chapters;
  without those either, the document is ONE chapter titled with its title.

An encrypted PDF that needs a password raises EncryptedPDFError; a PDF whose pages carry no text
layer raises ScannedPDFError (never an empty book).
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from e3.books import ledger
from e3.books.errors import EncryptedPDFError, ScannedPDFError, UnknownFormatError
from e3.books.model import Book, Chapter
from e3.books.gutenberg_text import HEAD_KEY, HEAD_ORD_FIRST
from e3.books.structure import Block, Entry, build_chapters, clean_space

_ONLY_NUMBER = re.compile(r"^\s*(page\s+)?[\divxlc]{1,5}\s*$", re.I)
_LIGATURES = str.maketrans({"ﬁ": "fi", "ﬂ": "fl", "ﬀ": "ff", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st"})
_HYPHEN_END = re.compile(r"[A-Za-zÀ-ÿ]-$")


def _outline(reader) -> list[tuple[str, int, float | None, int, bool]]:
    """(title, page, top, depth, has children) for each outline entry, in order."""
    out: list[tuple[str, int, float | None, int, bool]] = []

    def walk(items, depth: int = 1) -> None:
        for k, it in enumerate(items):
            if isinstance(it, list):
                walk(it, depth + 1)
                continue
            kids = k + 1 < len(items) and isinstance(items[k + 1], list)
            try:
                page = reader.get_destination_page_number(it)
            except Exception:  # noqa: BLE001 - broken destinations are skipped
                continue
            if page is None or page < 0:
                continue
            top = it.get("/Top")
            out.append((clean_space(str(it.title or "")), page, float(top) if top is not None else None, depth, kids))

    try:
        walk(reader.outline)
    except Exception:  # noqa: BLE001 - a malformed outline is treated as none
        return []
    return out


def _chapter_level(outline):
    """The outline entries a reader calls chapters: below group levels of a few entries that all
    have children ("Front Matter" / "Main Matter" / "Back Matter"), and above the sections under
    them ("Exercises I"); leaves above the chosen level (an "Index") are kept."""
    level = 1
    while True:
        here = [o for o in outline if o[3] == level]
        deeper = [o for o in outline if o[3] == level + 1]
        if len(here) < 5 and len(deeper) > len(here) and all(o[4] for o in here):
            level += 1
            continue
        break
    return [(t, page, top) for t, page, top, depth, kids in outline
            if depth == level or (depth < level and not kids)]


def _numbered_are_chapters(chapters: list[Chapter]) -> None:
    """When most entries are numbered chapters ("Chapter I"), the unnumbered ones (a table, the
    answers, a prologue) are extra sections."""
    numbered = [c for c in chapters if HEAD_KEY.match(c.title)]
    if len(numbered) >= 3 and len(numbered) * 2 > len(chapters):
        for c in chapters:
            if not HEAD_KEY.match(c.title):
                c.kind = "section"


def _printed_heading_chapters(blocks: list[Block]) -> list[Chapter]:
    """No outline: chapters from printed headings ("CHAPTER VI. A CONTINUATION OF ..."), short
    blocks that match a numbered heading. The most frequent keyword is the chapter; another one
    (PART) is a grouping whose heading is set aside when it has no text of its own."""
    heads = []
    for i, b in enumerate(blocks):
        if len(b.text.split()) <= 20 and (m := HEAD_KEY.match(b.text) or HEAD_ORD_FIRST.match(b.text)):
            heads.append((i, m.group("kw").lower()))
    if not heads:
        return []
    main = Counter(kw for _i, kw in heads).most_common(1)[0][0]
    if sum(1 for _i, kw in heads if kw == main) < 2:
        return []
    entries = [Entry(i, blocks[i].text) for i, _kw in heads]
    out = []
    for ch in build_chapters(blocks, entries, min_words=1):
        kw = ch.title.split()[0].lower().rstrip(".")
        if kw != main and kw in {k for _i, k in heads} and ch.words < 60:
            ledger.set_aside("title or part heading", [ch.title, *ch.paragraphs])
            continue
        out.append(ch)
    return out


def _join_lines(lines: list[str]) -> str:
    out = ""
    for line in lines:
        line = line.strip()
        if not line or _ONLY_NUMBER.match(line):
            ledger.set_aside("page number", line)
            continue
        if out and _HYPHEN_END.search(out) and line[:1].islower():
            out = out[:-1] + line
        else:
            out = f"{out} {line}" if out else line
    return clean_space(out.translate(_LIGATURES))


class _Line:
    """One visual line: its characters (with font sizes) and its box in page space (y up)."""

    __slots__ = ("chars", "sizes", "left", "right", "bottom", "top")

    def __init__(self) -> None:
        self.chars: list[str] = []
        self.sizes: list[float] = []
        self.left = self.bottom = float("inf")
        self.right = self.top = float("-inf")

    def add(self, ch: str, size: float, box) -> None:
        self.chars.append(ch)
        self.sizes.append(size)
        if box is not None and not ch.isspace():
            self.left, self.right = min(self.left, box.left), max(self.right, box.right)
            self.bottom, self.top = min(self.bottom, box.bottom), max(self.top, box.top)

    @property
    def empty(self) -> bool:
        return self.top == float("-inf")

    def text(self) -> str:
        """The line without superscript digits (footnote markers): digits under 0.8 x the median size."""
        sizes = sorted(s for ch, s in zip(self.chars, self.sizes) if not ch.isspace())
        median = sizes[len(sizes) // 2] if sizes else 0.0
        return "".join(ch for ch, s in zip(self.chars, self.sizes)
                       if not (ch.isdigit() and s < 0.8 * median))


def _page_lines(textpage) -> list[_Line]:
    """pdfium's characters in content order, cut at its line breaks; a piece that sits beside the
    line before it (a raised exponent or footnote marker makes pdfium break the line) joins it."""
    import pypdfium2.raw as pdfium_c

    raw = textpage.raw
    box = pdfium_c.FS_RECTF()
    lines: list[_Line] = []
    cur = _Line()

    def flush() -> None:
        nonlocal cur
        if cur.empty:
            cur = _Line()
            return
        prev = lines[-1] if lines else None
        mid = (cur.top + cur.bottom) / 2
        if prev is not None and prev.bottom <= mid <= prev.top and cur.left >= prev.right - 1:
            sizes = sorted(cur.sizes)
            if cur.left - prev.right > 0.2 * sizes[len(sizes) // 2] and not prev.chars[-1].isspace():
                prev.add(" ", 0.0, None)  # a word beside a drop cap, not an exponent
            prev.chars.extend(cur.chars)
            prev.sizes.extend(cur.sizes)
            prev.right, prev.top = max(prev.right, cur.right), max(prev.top, cur.top)
            prev.bottom = min(prev.bottom, cur.bottom)
        else:
            lines.append(cur)
        cur = _Line()

    for i in range(textpage.count_chars()):
        u = pdfium_c.FPDFText_GetUnicode(raw, i)
        if u in (10, 13):
            flush()
            continue
        if u == 2:  # pdfium's mark for a hyphen at a line end (no break follows): _join_lines joins
            cur.add("-", 0.0, None)
            flush()
            continue
        if u < 32 or 0xD800 <= u <= 0xDFFF or u == 0xFFFE:
            continue
        ok = pdfium_c.FPDFText_GetLooseCharBox(raw, i, box)
        cur.add(chr(u), pdfium_c.FPDFText_GetFontSize(raw, i), box if ok else None)
    flush()
    return lines


def _page_boxes(lines: list[_Line], height: float) -> list[tuple[float, float, list[str]]]:
    """Lines grouped into paragraphs (top, bottom, line texts) as a reader sees them: a line joins
    the one above when it sits at the page's usual line pitch and overlaps it sideways, unless it
    is indented past it (a paragraph's first line; centred heading lines stay together). A line
    that goes up the page (the next column) or sideways starts a new paragraph, and so does a line
    that crosses into or out of the top or bottom 8 % (where running headers and footers sit)."""

    def zone(ln: _Line) -> int:
        return 0 if ln.top > height * 0.92 else 2 if ln.bottom < height * 0.08 else 1

    pitches = sorted(a.bottom - b.bottom for a, b in zip(lines, lines[1:])
                     if 0 < a.bottom - b.bottom < 3 * (a.top - a.bottom))
    pitch = pitches[len(pitches) // 2] if pitches else 0.0
    boxes: list[tuple[float, float, list[str]]] = []
    prev = None
    for ln in lines:
        text = ln.text()
        if not text.strip():
            continue
        if prev is not None and zone(prev) == zone(ln):
            size = max(prev.top - prev.bottom, ln.top - ln.bottom)
            step = prev.bottom - ln.bottom
            beside = ln.left <= prev.right and ln.right >= prev.left
            centred = abs((ln.left + ln.right) - (prev.left + prev.right)) < size
            indented = ln.left > prev.left + 0.8 * size and not centred
            if 0 < step <= max(1.25 * pitch, 1.5 * size) and beside and not indented:
                top, _bottom, texts = boxes[-1]
                boxes[-1] = (top, ln.bottom, [*texts, text])
                prev = ln
                continue
        boxes.append((ln.top, ln.bottom, [text]))
        prev = ln
    return boxes


def parse_pdf(path: Path | str) -> Book:
    """Parse a PDF with a text layer into a Book."""
    import pypdf

    path = Path(path)
    try:
        reader = pypdf.PdfReader(str(path))
    except Exception as exc:  # noqa: BLE001
        raise UnknownFormatError(f"{path.name}: not a readable PDF ({exc})") from None
    if reader.is_encrypted:
        try:
            ok = reader.decrypt("")
        except Exception:  # noqa: BLE001
            ok = 0
        if not ok:
            raise EncryptedPDFError(f"{path.name}: encrypted; E3 cannot read password-protected PDFs")
    info = reader.metadata or {}
    from e3.books.gutenberg_text import strip_gutenberg_prefix

    title = strip_gutenberg_prefix(clean_space(str(info.get("/Title") or ""))) or path.stem
    author = clean_space(str(info.get("/Author") or "")) or None
    subject = clean_space(str(info.get("/Subject") or ""))
    lang = "en"
    try:
        raw_lang = reader.trailer["/Root"].get("/Lang")
        if raw_lang:
            lang = str(raw_lang)
    except Exception:  # noqa: BLE001
        pass
    year = None
    date = str(info.get("/CreationDate") or "")
    if m := re.search(r"D:(\d{4})", date):
        year = int(m.group(1))
    outline = _outline(reader)

    import pypdfium2 as pdfium

    # page index -> (height, [(top, bottom, lines)])
    pages: list[tuple[float, list[tuple[float, float, list[str]]]]] = []
    try:
        doc = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        raise UnknownFormatError(f"{path.name}: not a readable PDF ({exc})") from None
    try:
        for page in doc:
            boxes = _page_boxes(_page_lines(page.get_textpage()), page.get_height())
            pages.append((page.get_height(), boxes))
            ledger.add_body("\n".join(ln for _t, _b, lines in boxes for ln in lines), dehyphenate=True)
    finally:
        doc.close()
    if not any(boxes for _h, boxes in pages):
        raise ScannedPDFError(f"{path.name}: no text layer: no text on any of its {len(pages)} pages; if it is a scan, run OCR first (e.g. ocrmypdf)")

    # Running headers/footers: margin boxes whose digit-masked text repeats across pages.
    def key(lines: list[str]) -> str:
        return re.sub(r"\d+", "#", clean_space(" ".join(lines))).lower()

    margin = Counter()
    for height, boxes in pages:
        for top, bottom, lines in boxes:
            if top > height * 0.92 or bottom < height * 0.08:
                margin[key(lines)] += 1
    repeated = {k for k, n in margin.items() if n >= 2 and len(pages) >= 2}

    blocks: list[Block] = []
    page_starts: list[list[tuple[float, int]]] = []
    titles_by_page: dict[int, set[str]] = {}
    for title_, page, _top, *_ in outline:
        titles_by_page.setdefault(page, set()).add(title_.lower())
    for pno, (height, boxes) in enumerate(pages):
        marks = []
        for top, bottom, lines in boxes:
            in_margin = top > height * 0.92 or bottom < height * 0.08
            if in_margin and (key(lines) in repeated or _ONLY_NUMBER.match(" ".join(lines))):
                ledger.set_aside("running header" if key(lines) in repeated else "page number", lines)
                continue
            text = _join_lines(lines)
            if not text:
                continue
            bare = re.sub(r"^[\d.]+\s+", "", text).lower()
            heading = 1 if bare in titles_by_page.get(pno, ()) else 0
            marks.append((top, len(blocks)))
            blocks.append(Block(text, heading))
        page_starts.append(marks)
    if not blocks:
        raise ScannedPDFError(f"{path.name}: no text layer: looks like a scan; run OCR first (e.g. ocrmypdf)")

    entries: list[Entry] = []
    for t, page, top in _chapter_level(outline):
        if page >= len(page_starts):
            continue
        marks = page_starts[page]
        pos = None
        for btop, idx in marks:
            if top is None or btop <= top + 2:
                pos = idx
                break
        if pos is None:  # the entry points below the last box: starts on the next page
            pos = next((m[0][1] for m in page_starts[page + 1:] if m), len(blocks))
        entries.append(Entry(pos, t))
    chapters = build_chapters(blocks, entries, min_words=1) if entries else []
    if chapters:
        _numbered_are_chapters(chapters)
    else:
        chapters = _printed_heading_chapters(blocks)
    if not chapters:
        chapters = [Chapter(title=title, paragraphs=[b.text for b in blocks])]
    return Book(title=title, author=author, language=lang, release_year=year,
                subjects=[subject] if subject else [], chapters=chapters, source_format="pdf")
