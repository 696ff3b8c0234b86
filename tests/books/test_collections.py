"""Collections of letters, speeches and poems are not over-split (issue 12): the pieces a reader
recognises are the chapters, and what sits between them (a postscript, an editor's note, the
numbered parts of one long poem, a speech's own sub-headings) stays inside its piece.

Every book is written here in the shape Project Gutenberg gives such collections, once as HTML
and once as plain text, and goes through the text ledger.
"""

from __future__ import annotations

import pytest

from e3.books.ledger import MAX_UNACCOUNTED
from e3.books.parse import parse_book

ROMAN = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII"]
LETTER = ("I write to you from a room above the harbour, where the boats come in at dawn and the "
          "fishermen sing as they mend their nets. The weather has been kind to us this week, and "
          "the doctor says my cough is better than it was in the spring. ")
VERSE = ["The lark goes up before the day,", "And sings above the sleeping hay;",
         "The river answers, soft and low,", "And all the willows bend and go."]


def _parsed(path):
    book = parse_book(path)
    totals = book.account()
    assert totals.unaccounted_share <= MAX_UNACCOUNTED, totals.summary()
    return book


def _html(tmp_path, title: str, body: str):
    path = tmp_path / "book.html"
    path.write_text(f"<html lang='en'><head><meta charset='utf-8'><title>{title}</title></head><body>"
                    f"<p>*** START OF THE PROJECT GUTENBERG EBOOK {title.upper()} ***</p>{body}"
                    f"<p>*** END OF THE PROJECT GUTENBERG EBOOK {title.upper()} ***</p></body></html>",
                    encoding="utf-8")
    return path


def _txt(tmp_path, title: str, body: str):
    path = tmp_path / "book.txt"
    path.write_text(f"Title: {title}\n\nAuthor: A Writer\n\n*** START OF THE PROJECT GUTENBERG EBOOK {title.upper()} ***\n"
                    f"{body}\n\n*** END OF THE PROJECT GUTENBERG EBOOK {title.upper()} ***\n", encoding="utf-8")
    return path


# --- letters: numbered letters with a short postscript or editor's note between some of them --------

NOTE = "The editor adds that the next letter was found folded inside a book of sermons, unsent."
PS = "Tell mother the parcel came safely, and that the blue scarf fits me well."


def _letters_html(n: int = 8) -> str:
    body = "<h1>LETTERS FROM THE COAST</h1><h2>CONTENTS</h2>" + "".join(f"<p>LETTER {r}.</p>" for r in ROMAN[:n])
    for k in range(n):
        body += (f"<h2>LETTER {ROMAN[k]}.</h2><h3>TO MY SISTER.</h3><p>Harbour House, May {k + 3}.</p>"
                 f"<p>DEAR SISTER,</p><p>{LETTER * 3}</p><p>{LETTER}</p><p>Your loving brother.</p>")
        if k in (2, 5):
            body += f"<h2>POSTSCRIPT.</h2><p>{PS}</p>"
        if k == 3:
            body += f"<h2>NOTE.</h2><p>{NOTE}</p>"
    return body


def _letters_txt(n: int = 8) -> str:
    body = "\n\nCONTENTS\n\n" + "".join(f"LETTER {r}.\n" for r in ROMAN[:n])
    for k in range(n):
        body += (f"\n\n\n\nLETTER {ROMAN[k]}.\n\nTO MY SISTER.\n\n\nHarbour House, May {k + 3}.\n\nDEAR SISTER,\n\n"
                 f"{LETTER * 3}\n\n{LETTER}\n\nYour loving brother.")
        if k in (2, 5):
            body += f"\n\n\n\nPOSTSCRIPT.\n\n\n{PS}"
        if k == 3:
            body += f"\n\n\n\nNOTE.\n\n\n{NOTE}"
    return body


@pytest.mark.parametrize("fmt", ["html", "txt"])
def test_letters_collection_postscripts_and_notes_stay_inside_their_letter(tmp_path, fmt):
    if fmt == "html":
        path = _html(tmp_path, "Letters from the Coast", _letters_html())
    else:
        path = _txt(tmp_path, "Letters from the Coast", _letters_txt())
    book = _parsed(path)
    # plain text joins the title line under a heading to it
    recipient = "" if fmt == "html" else ": TO MY SISTER"
    assert [c.title for c in book.chapters] == [f"LETTER {r}{recipient}." for r in ROMAN[:8]]
    assert PS in book.chapters[2].text and NOTE in book.chapters[3].text


# --- poems: titled poems, one of them long and in numbered parts -------------------------------------

TITLES = ["THE LARK", "THE MILL", "WINTER", "THE OLD SHEPHERD", "A SONG OF THE RIVER", "THE ORCHARD",
          "NIGHTFALL", "TO A FRIEND ABROAD", "THE FERRY"]
LONG = "THE BALLAD OF THE DROWNED BELL"


def _poem_lines(k: int) -> list[str]:
    return [f"{line} ({k + 1})" if i == 0 else line for i, line in enumerate(VERSE * 2)]


def _poems_html(part_kw: str) -> str:
    body = "<h1>SONGS OF THE VALLEY</h1>"
    for k, t in enumerate(TITLES):
        body += f"<h2>{t}</h2>" + "".join(f"<p>{line}</p>" for line in _poem_lines(k))
        if k == 4:
            body += f"<h2>{LONG}</h2>"
            for n in range(6):
                body += f"<h3>{part_kw}{ROMAN[n]}</h3>" + "".join(f"<p>{line}</p>" for line in VERSE * 3)
    return body


def _poems_txt(part_kw: str) -> str:
    """Plain text numbers the poems ("I." then the title line), as Gutenberg does."""
    body = "\n\n\nSONGS OF THE VALLEY\n\n\n"
    titles = TITLES[:5] + [LONG] + TITLES[5:]
    for k, t in enumerate(titles):
        body += f"\n\n\n\n{ROMAN[k]}.\n\n{t}\n\n\n"
        if t == LONG:
            for n in range(6):
                body += f"\n\n{part_kw}{ROMAN[n]}.\n\n" + "\n".join(VERSE * 3)
        else:
            body += "\n".join(_poem_lines(k))
    return body


@pytest.mark.parametrize("part_kw", ["PART ", ""], ids=["keyword-parts", "bare-numeral-parts"])
def test_poems_html_parts_of_one_long_poem_stay_inside_it(tmp_path, part_kw):
    book = _parsed(_html(tmp_path, "Songs of the Valley", _poems_html(part_kw)))
    assert [c.title for c in book.chapters] == TITLES[:5] + [LONG] + TITLES[5:]
    assert f"{part_kw}VI" in book.chapters[5].paragraphs


def test_poems_txt_parts_of_one_long_poem_stay_inside_it(tmp_path):
    book = _parsed(_txt(tmp_path, "Songs of the Valley", _poems_txt("PART ")))
    titles = TITLES[:5] + [LONG] + TITLES[5:]
    assert [c.title for c in book.chapters] == [f"{ROMAN[k]}: {t}" for k, t in enumerate(titles)]
    assert "PART VI." in book.chapters[5].paragraphs


# --- speeches: titled speeches, some with sub-headings of their own --------------------------------

SPEECH = ("Fellow citizens, we are met on a great occasion, and I thank you for the welcome you have "
          "given me in this hall tonight, on behalf of the people of the valley. ")


def test_speeches_html_sub_headings_stay_inside_their_speech(tmp_path):
    speeches = ["ADDRESS AT THE BRIDGE OPENING", "SPEECH ON THE HARBOUR BILL", "ADDRESS TO THE TEACHERS",
                "FAREWELL SPEECH AT THE STATION"]
    body = "<h1>SPEECHES OF A MAYOR</h1>"
    for k, t in enumerate(speeches):
        body += f"<h2>{t}</h2><p>Delivered May {k + 1}, 1901.</p><p>{SPEECH * 2}</p>"
        if k in (1, 2):
            body += "".join(f"<h3>{sub}</h3><p>{SPEECH}</p>" for sub in ("THE COST", "THE WORK", "THE FUTURE"))
    book = _parsed(_html(tmp_path, "Speeches of a Mayor", body))
    assert [c.title for c in book.chapters] == speeches
    assert "THE FUTURE" in book.chapters[2].paragraphs


def test_a_short_numbered_piece_between_long_ones_stays_a_chapter():
    """Poem LXXXV ("Odi et amo", 13 words) between long poems is a piece; an unnumbered note
    of the same length between them is not."""
    from e3.books.model import Chapter
    from e3.books.structure import merge_stray_entries

    long_text = [LETTER * 4]
    short = ["I hate and I love. Why, perhaps you ask. I know not."]
    poems = merge_stray_entries([Chapter("LXXXIV.", long_text), Chapter("LXXXV.", short),
                                 Chapter("LXXXVI.", long_text)])
    assert [c.title for c in poems] == ["LXXXIV.", "LXXXV.", "LXXXVI."]
    noted = merge_stray_entries([Chapter("LXXXIV.", long_text), Chapter("A Note", short),
                                 Chapter("LXXXVI.", long_text)])
    assert [c.title for c in noted] == ["LXXXIV.", "LXXXVI."]
    assert noted[0].paragraphs[-2:] == ["A Note", short[0]]


def test_headed_pieces_before_the_first_chapter_are_narrated_not_set_aside(tmp_path):
    """Three short dedicatory poems (under the 400 words a title page may hold) before CHAPTER I
    were set aside as front matter: text lost with a reason, so the ledger did not warn."""
    body = "<h1>THE VALLEY</h1><p>by A Writer</p>"
    for t in ("TO MY MOTHER", "PROEM", "INVOCATION"):
        body += f"<h3>{t}</h3>" + "".join(f"<p>{line}</p>" for line in VERSE * 2)
    body += "".join(f"<h2>CHAPTER {r}.</h2><p>{LETTER * 3}</p>" for r in ROMAN[:3])
    book = _parsed(_html(tmp_path, "The Valley", body))
    assert [c.title for c in book.chapters if c.kind == "chapter"] == ["CHAPTER I.", "CHAPTER II.", "CHAPTER III."]
    front = " ".join(c.text for c in book.chapters if c.kind == "section")
    assert front.count(VERSE[0]) == 6 and "INVOCATION" in front
    assert "front matter" not in book.account().set_aside or book.account().set_aside["front matter"] < 10
