"""One small book per failure class of issue 12, written here; each failed before the change.

Every book is also run through the text ledger: no class may lose text silently.
"""

from __future__ import annotations

import zipfile

import pytest

from e3.books.ledger import MAX_UNACCOUNTED
from e3.books.parse import parse_book

PARA = ("The traveller rose before the sun, packed his few things and set out along the road that "
        "wound between the fields toward the distant town. ")


def _txt(tmp_path, body: str, name: str = "book.txt"):
    text = ("Title: A Test Book\n\nAuthor: Some Writer\n\n*** START OF THE PROJECT GUTENBERG EBOOK A TEST BOOK ***\n"
            f"{body}\n\n*** END OF THE PROJECT GUTENBERG EBOOK A TEST BOOK ***\n")
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _parsed(path):
    book = parse_book(path)
    totals = book.account()
    assert totals.unaccounted_share <= MAX_UNACCOUNTED, totals.summary()
    return book


def _chapters(book):
    return [c.title for c in book.chapters if c.kind == "chapter"]


@pytest.mark.parametrize("heads", [
    ["Tratado Primero", "Tratado Segundo", "Tratado Tercero"],
    ["ACTE PREMIER.", "ACTE SECOND.", "ACTE TROISIÈME."],
    ["Erstes Kapitel", "Zweites Kapitel", "Drittes Kapitel"],
    ["CHAPTER THE FIRST", "CHAPTER THE SECOND", "CHAPTER THE THIRD"],
    ["FIRST ACT", "SECOND ACT", "THIRD ACT"],
    ["Första kapitlet", "Andra kapitlet", "Tredje kapitlet"],
    ["I", "II", "III"],
], ids=["es", "fr-acts", "de", "en-the-first", "en-first-act", "sv", "bare-roman"])
def test_ordinal_word_and_bare_numeral_headings(tmp_path, heads):
    body = "".join(f"\n\n\n\n{h}\n\n\n{PARA * 5}\n\n{PARA * 3}" for h in heads)
    book = _parsed(_txt(tmp_path, body))
    assert _chapters(book) == heads


def test_parts_whose_chapter_numbers_restart_and_a_wrapped_part_title(tmp_path):
    body = ""
    for part, title in (("I", "A VOYAGE TO LILLIPUT."), ("II", "A VOYAGE TO LAPUTA, BALNIBARBI, AND\nJAPAN.")):
        body += f"\n\n\n\nPART {part}.  {title}\n\n\n"
        for ch in ("I", "II", "III"):
            body += f"\n\nCHAPTER {ch}.\n\n\n{PARA * 4}\n\n{PARA * 2}"
    book = _parsed(_txt(tmp_path, body))
    assert _chapters(book) == ["CHAPTER I.", "CHAPTER II.", "CHAPTER III."] * 2
    assert not any("JAPAN" in p for c in book.chapters for p in c.paragraphs)  # the wrapped title is a heading


def test_contents_list_is_not_a_chapter_and_takes_no_text(tmp_path):
    contents = "\n\nCONTENTS\n\n" + "".join(f"\nCHAPTER {n}\n" for n in ("I", "II", "III"))
    body = contents + "".join(f"\n\n\n\nCHAPTER {n}\n\n\n{PARA * 5}" for n in ("I", "II", "III"))
    book = _parsed(_txt(tmp_path, body))
    assert _chapters(book) == ["CHAPTER I", "CHAPTER II", "CHAPTER III"]


def test_numbering_restart_without_a_part_heading_stays_inside(tmp_path):
    """Poems I-IV, then fragments numbered I-II with no PART/BOOK heading: sub-numbering."""
    body = "".join(f"\n\n\n\n{n}\n\n\n{PARA * 3}" for n in ("I", "II", "III", "IV"))
    body += "\n\n\n\nFRAGMENTS\n\n" + "".join(f"\n\n\n\n{n}\n\n\n{PARA}" for n in ("I", "II"))
    book = _parsed(_txt(tmp_path, body))
    assert _chapters(book) == ["I", "II", "III", "IV"]


def test_long_front_matter_is_narrated_not_dropped(tmp_path):
    front = "\n\n\nTHE PUBLISHER TO THE READER.\n\n\n" + "\n\n".join([PARA * 4] * 6)
    body = front + "".join(f"\n\n\n\nCHAPTER {n}.\n\n\n{PARA * 5}" for n in ("I", "II"))
    book = _parsed(_txt(tmp_path, body))
    assert [(c.title, c.kind) for c in book.chapters][0] == ("THE PUBLISHER TO THE READER.", "section")
    assert book.chapter_count == 2


def _html(tmp_path, body: str):
    path = tmp_path / "book.html"
    path.write_text(f"<html lang='en'><head><meta charset='utf-8'><title>Essays</title></head><body>{body}</body></html>",
                    encoding="utf-8")
    return path


def test_essays_with_numbered_sub_parts_and_a_contents_at_the_same_level(tmp_path):
    titles = ["THE WILL TO BELIEVE", "IS LIFE WORTH LIVING", "ON SOME HEGELISMS"]
    body = "<h2>CONTENTS.</h2>" + "".join(f"<h3>{t} 1</h3>" for t in titles)
    for t in titles:
        body += f"<h3>{t}.<a href='#fn1'>[1]</a></h3>"
        body += "".join(f"<h4>{n}.</h4><p>{PARA * 3}</p>" for n in ("I", "II", "III"))
    book = _parsed(_html(tmp_path, body))
    assert _chapters(book) == [f"{t}." for t in titles]


def test_a_byline_heading_is_not_a_chapter(tmp_path):
    body = ("<p>Author: Arthur Conan Doyle</p><h1>The Valley</h1><h2>By Sir Arthur Conan Doyle</h2>"
            f"<p>{PARA}</p>" + "".join(f"<h2>Chapter {n}—The Title</h2><p>{PARA * 3}</p>" for n in (1, 2, 3)))
    path = _html(tmp_path, body)
    path.write_text(path.read_text().replace("<html", "Author: Arthur Conan Doyle\n<html", 1))
    book = _parsed(path)
    assert _chapters(book) == [f"Chapter {n}—The Title" for n in (1, 2, 3)]


def _epub(tmp_path, files: dict[str, str], nav: str):
    path = tmp_path / "play.epub"
    manifest = "".join(f'<item id="f{i}" href="{n}" media-type="application/xhtml+xml"/>' for i, n in enumerate(files))
    spine = "".join(f'<itemref idref="f{i}"/>' for i in range(len(files)))
    opf = (f'<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="id">'
           f'<metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:identifier id="id">x</dc:identifier>'
           f'<dc:title>The Play</dc:title><dc:creator>A. Poet</dc:creator><dc:language>en</dc:language></metadata>'
           f'<manifest><item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>{manifest}'
           f'</manifest><spine>{spine}</spine></package>')
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("mimetype", "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        zf.writestr("META-INF/container.xml", '<?xml version="1.0"?><container version="1.0" '
                    'xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles><rootfile '
                    'full-path="OPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles></container>')
        zf.writestr("OPS/content.opf", opf)
        zf.writestr("OPS/nav.xhtml", '<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops">'
                    f'<body><nav epub:type="toc"><ol>{nav}</ol></nav></body></html>')
        for name, body in files.items():
            zf.writestr(f"OPS/{name}", f'<html xmlns="http://www.w3.org/1999/xhtml"><body>{body}</body></html>')
    return path


def test_nested_nav_acts_are_chapters_scenes_stay_inside(tmp_path):
    files, nav = {}, ""
    for act in ("I", "II", "III"):
        name = f"act-{act}.xhtml"
        scenes = "".join(f'<section id="s{act}{n}"><h3>Scene {n}</h3><p>{PARA * 3}</p></section>' for n in (1, 2))
        files[name] = f"<section><h2>Act {act}</h2>{scenes}</section>"
        nav += (f'<li><a href="{name}">Act {act}</a><ol>'
                + "".join(f'<li><a href="{name}#s{act}{n}">Scene {n}</a></li>' for n in (1, 2)) + "</ol></li>")
    book = _parsed(_epub(tmp_path, files, f'<li><a href="act-I.xhtml">The Play</a><ol>{nav}</ol></li>'))
    assert _chapters(book) == ["Act I", "Act II", "Act III"]
    assert "Scene 2" in book.chapters[0].paragraphs  # the scene heading is read inside its act


def test_poems_headed_only_by_bare_numbers_are_pieces(tmp_path):
    """A nav with one entry per series; the poems are numbered by plain lines ("I." / "SUCCESS.")
    that restart after group lines ("II. LOVE."); a "I."/"II." inside a poem stays inside it."""
    verse = "<p>A narrow fellow in the grass</p><p>Occasionally rides;</p>"
    body = "<h2>POEMS</h2><p>PREFACE</p><p>" + PARA * 2 + "</p>"
    n_poems = 0
    for group, count in (("I. LIFE.", 12), ("II. LOVE.", 10)):
        body += f"<p>{group}</p>"
        for n in range(1, count + 1):
            roman = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII"][n - 1]
            body += f"<p>{roman}.</p>" + ("<p>SUCCESS.</p>" if n == 1 else "") + verse
            if n == 3:
                body += "<p>I.</p>" + verse + "<p>II.</p>" + verse  # a poem in two parts
            n_poems += 1
    files = {"poems.xhtml": body, "index.xhtml": "<h2>Index of First Lines</h2>" + "<p>A narrow fellow</p>" * 5}
    nav = '<li><a href="poems.xhtml">POEMS</a></li><li><a href="index.xhtml">Index of First Lines</a></li>'
    book = _parsed(_epub(tmp_path, files, nav))
    assert book.chapter_count == n_poems == 22
    assert [(c.title, c.kind) for c in book.chapters[:3]] == [("POEMS", "section"), ("I. SUCCESS.", "chapter"),
                                                              ("II.", "chapter")]
    assert book.chapters[3].paragraphs.count("I.") == 1  # the two-part poem stayed whole


def test_ruby_readings_are_not_read(tmp_path):
    body = "".join(f"<h2>第{n}章</h2><p><ruby>山路<rp>(</rp><rt>やまみち</rt><rp>)</rp></ruby>を登りながら、"
                   f"こう考えた。{'智に働けば角が立つ。' * 20}</p>" for n in ("一", "二"))
    files = {"a.xhtml": body}
    book = _parsed(_epub(tmp_path, files, '<li><a href="a.xhtml">本</a></li>'))
    text = " ".join(c.text for c in book.chapters)
    assert "山路を登り" in text and "やまみち" not in text
    assert book.account().set_aside.get("ruby reading")


def test_first_chapter_without_a_heading_is_chapter_one_not_the_book_title(tmp_path):
    body = ("<h1>The Lamplighter</h1><p>by Some Writer</p><h2>CONTENTS</h2><p>CHAPTER II</p><p>CHAPTER III</p>"
            f"<div><img src='drop-t.png' alt='T'/><p>{PARA * 6}</p><p>{PARA * 2}</p></div>"
            + "".join(f"<h2>CHAPTER {n}</h2><p>{PARA * 5}</p>" for n in ("II", "III")))
    book = _parsed(_html(tmp_path, body))
    assert _chapters(book) == ["CHAPTER I", "CHAPTER II", "CHAPTER III"]
    assert book.chapters[0].paragraphs[0].startswith("The traveller rose")


def test_nav_listing_only_the_licence_falls_back_to_the_headed_spine(tmp_path):
    files = {f"c{n}.xhtml": f"<h2>第{n}章</h2><p>{'他走在路上，看着远方的城市。' * 30}</p>" for n in ("一", "二", "三", "四")}
    files["licence.xhtml"] = "<h2>License</h2><p>" + "This ebook is free to use and share. " * 10 + "</p>"
    book = _parsed(_epub(tmp_path, files, '<li><a href="licence.xhtml">License</a></li>'))
    assert _chapters(book) == ["第一章", "第二章", "第三章", "第四章"]
