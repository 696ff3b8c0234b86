"""Parse speed: Moby-Dick as EPUB and as plain text, with time and peak memory.

The corpus has no Moby-Dick TXT, so one is built in this run from the EPUB's parsed chapters
("CHAPTER n. Title" headings, blank-line paragraphs, PG-style START/END markers) in a temp dir.
Baseline, measured in the same run: a bare ``ebooklib.read_epub`` + BeautifulSoup ``get_text``
over every document (no structure at all). Also times chunk planning (pysbd; no memory pass, tracemalloc makes pysbd ~20x slower).
Target: under 2 s each for parsing.

PDF: Calculus Made Easy (293 pages, math) through ``parse_book`` (pypdfium2 text) against a bare
pdfminer.six ``extract_text`` of the same file, the extractor E3 used before, as the baseline
(pdfminer is a bench-only dependency: ``pip install -e .[bench]``; skipped when absent). Also
counts the "(cid:N)" glyph placeholders each leaves in the text.
Run: ``python bench/parse.py [path/to/moby.epub] [path/to/book.pdf]``.
"""

from __future__ import annotations

import sys
import tempfile
import time
import tracemalloc
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from e3.books.chunking import plan_chunks  # noqa: E402
from e3.books.parse import parse_book  # noqa: E402

DEFAULT = ROOT.parent / "shared" / "corpus" / "epub" / "idpf_moby-dick_epub3.epub"
DEFAULT_PDF = ROOT.parent / "shared" / "corpus" / "pdf" / "pg33283_calculus-made-easy_293p_outline-deeper-than-chapters.pdf"


def measure(fn, memory: bool = True):
    """Wall time of a plain run, then (separately: tracemalloc slows code) peak traced memory."""
    t = time.perf_counter()
    result = fn()
    dt = time.perf_counter() - t
    peak = float("nan")
    if memory:
        tracemalloc.start()
        fn()
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return result, dt, peak


def baseline(epub_path: Path) -> int:
    import ebooklib
    from bs4 import BeautifulSoup
    from ebooklib import epub

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        book = epub.read_epub(str(epub_path), options={"ignore_ncx": True})
        return sum(len(BeautifulSoup(it.get_content(), "lxml").get_text())
                   for it in book.get_items_of_type(ebooklib.ITEM_DOCUMENT))


def main() -> None:
    epub_path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    _n, t_base, m_base = measure(lambda: baseline(epub_path))
    book, t_epub, m_epub = measure(lambda: parse_book(epub_path))
    with tempfile.TemporaryDirectory() as tmp:
        txt = Path(tmp) / "moby.txt"
        parts = ["Title: Moby-Dick\n\nAuthor: Herman Melville\n\n*** START OF THE PROJECT GUTENBERG EBOOK MOBY-DICK ***\n"]
        n = 0
        for ch in book.chapters:
            if ch.kind == "chapter":
                n += 1
                head = f"CHAPTER {n}. {ch.title.split('. ', 1)[-1]}"
            else:
                head = ch.title.upper().rstrip(".")
            parts.append(f"\n\n\n{head}\n\n" + "\n\n".join(ch.paragraphs))
        parts.append("\n\n*** END OF THE PROJECT GUTENBERG EBOOK MOBY-DICK ***\n")
        txt.write_text("".join(parts), encoding="utf-8")
        tbook, t_txt, m_txt = measure(lambda: parse_book(txt))
    chunks, t_chunk, m_chunk = measure(lambda: plan_chunks(book.chapters, 400, book.language), memory=False)
    print(f"book: {book.title}, {book.chapter_count} chapters, {book.total_words} words; "
          f"txt copy: {tbook.chapter_count} chapters")
    print(f"text ledger (EPUB): {book.account().summary()}")
    print(f"{'step':<28}{'time s':>8}{'peak MiB':>10}{'x baseline':>12}{'target':>8}")
    for name, t, m, target in (
        ("baseline ebooklib+bs4", t_base, m_base, None),
        ("parse_book EPUB", t_epub, m_epub, 2.0),
        ("parse_book TXT", t_txt, m_txt, 2.0),
        (f"plan_chunks ({len(chunks)})", t_chunk, m_chunk, 2.0),
    ):
        ok = "" if target is None else ("ok" if t < target else "SLOW")
        print(f"{name:<28}{t:>8.2f}{m:>10.1f}{t / t_base:>12.2f}{ok:>8}")
    pdf_bench(Path(sys.argv[2]) if len(sys.argv) > 2 else DEFAULT_PDF)


def pdf_bench(pdf_path: Path) -> None:
    try:
        from pdfminer.high_level import extract_text
    except ImportError:
        print("pdf: pdfminer.six not installed (pip install -e .[bench]); no baseline")
        return
    import logging

    logging.getLogger("pdfminer").setLevel(logging.ERROR)
    old, t_old, _ = measure(lambda: extract_text(str(pdf_path)), memory=False)
    book, t_new, _ = measure(lambda: parse_book(pdf_path), memory=False)
    new = "\n".join(p for c in book.chapters for p in c.paragraphs)
    print(f"\npdf: {pdf_path.name}: {book.chapter_count} chapters, {len(book.chapters)} sections in all")
    print(f"{'step':<28}{'time s':>8}{'(cid:N)':>10}{'x baseline':>12}")
    print(f"{'baseline pdfminer text':<28}{t_old:>8.2f}{old.count('(cid:'):>10}{1.0:>12.2f}")
    print(f"{'parse_book PDF (pdfium)':<28}{t_new:>8.2f}{new.count('(cid:'):>10}{t_new / t_old:>12.2f}")


if __name__ == "__main__":
    main()
