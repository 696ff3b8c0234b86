"""Text for the ear: what a TTS voice should read.

``for_the_ear`` drops what a listener should not hear (footnote markers, links, page numbers,
illustration captions) for every language, and for English also expands what TTS reads badly:
Mr./Mrs./Dr./St., numbers, ordinals, years, currency. Other languages get number words from
num2words when it supports the language, else only the language-neutral cleanup.
``heading_for_the_ear`` turns "CHAPTER XIV. THE END" into "Chapter 14. The End".
"""

from __future__ import annotations

import re
from functools import lru_cache

from num2words import num2words

from e3.books.gutenberg_text import roman_to_int

_ILLUSTRATION = re.compile(r"\[\s*(Illustration|Ilustração|Ilustracion|Illustración|Gravure|Abbildung)[^\]]*\]", re.I)
_FOOTNOTE = re.compile(r"\[\s*(\d{1,3}|[a-z]|[*†‡§])\s*\]|\{\d{1,3}\}|(?<=[\w.,;:!?”’\"'])[*†‡§]+|[¹²³⁰⁴⁵⁶⁷⁸⁹]+")
_URL = re.compile(r"\b(?:https?://|www\.)\S+", re.I)
_PAGE = re.compile(r"\[\s*(?:p(?:age|g)?\.?\s*)?\d{1,4}\s*\]|\{\s*p?\.?\s*\d{1,4}\s*\}", re.I)
_SPACES = re.compile(r"[ \t\u00a0]+")

_TITLES = {"Mr.": "Mister", "Mrs.": "Missus", "Ms.": "Miz", "Dr.": "Doctor", "Prof.": "Professor",
           "Capt.": "Captain", "Col.": "Colonel", "Gen.": "General", "Lt.": "Lieutenant", "Rev.": "Reverend",
           "Sr.": "Senior", "Jr.": "Junior", "Messrs.": "Messieurs", "Hon.": "Honourable", "Sgt.": "Sergeant"}
_CURRENCY = {"£": ("pound", "pounds", "penny", "pence"), "$": ("dollar", "dollars", "cent", "cents"),
             "€": ("euro", "euros", "cent", "cents")}
_N2W_LANGS = {"en", "fr", "de", "es", "pt", "it", "nl", "fi", "da", "no", "sv", "pl", "ru", "cs", "hu", "tr"}


def _lang(language: str) -> str:
    return (language or "en").split("-")[0].split("_")[0].lower()


def _clean_common(text: str) -> str:
    text = _ILLUSTRATION.sub("", text)
    text = _URL.sub("", text)
    text = _PAGE.sub("", text)
    text = _FOOTNOTE.sub("", text)
    text = re.sub(r"<[^>]+>", "", text)
    text = text.replace("--", " — ")
    text = re.sub(r"_(\w[^_]*)_", r"\1", text)
    lines = [_SPACES.sub(" ", ln).strip() for ln in text.split("\n")]
    text = "\n".join(lines)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return re.sub(r" +([,.;:!?])", r"\1", text).strip()


@lru_cache(maxsize=4096)
def _words(n: int, lang: str, to: str = "cardinal") -> str:
    try:
        return num2words(n, lang=lang, to=to)
    except (NotImplementedError, OverflowError, KeyError, ValueError):
        return str(n)


def _year_words(n: int) -> str:
    if 2000 <= n <= 2009 or n % 1000 < 10 or not 1100 <= n <= 2099:
        return _words(n, "en")
    return _words(n, "en", "year")


def _expand_en(text: str) -> str:
    for abbr, full in _TITLES.items():
        text = re.sub(rf"\b{re.escape(abbr)}(?=\s)", full, text)
    # St. before a capitalised name is Saint; after a name/number ("Baker St.") it is Street.
    text = re.sub(r"\bSt\.(?=\s+[A-Z])", "Saint", text)
    text = re.sub(r"(?<=[A-Za-z0-9] )St\.", "Street", text)
    text = re.sub(r"\bSt\.", "Saint", text)

    def money(m: re.Match) -> str:
        sym, whole, frac = m.group(1), int(m.group(2).replace(",", "")), m.group(3)
        one, many, sub1, subn = _CURRENCY[sym]
        out = f"{_words(whole, 'en')} {one if whole == 1 else many}"
        if frac and int(frac):
            c = int(frac.ljust(2, "0")[:2])
            out += f" and {_words(c, 'en')} {sub1 if c == 1 else subn}"
        return out

    text = re.sub(r"([£$€])\s?(\d[\d,]*)(?:\.(\d{1,2}))?\b", money, text)
    text = re.sub(r"\b(\d+)(st|nd|rd|th)\b", lambda m: _words(int(m.group(1)), "en", "ordinal"), text)
    text = re.sub(r"\b(\d+)s\b", lambda m: _plural_decade(int(m.group(1))), text)
    text = re.sub(r"\b(\d{1,3}(?:,\d{3})+)\b", lambda m: _words(int(m.group(1).replace(",", "")), "en"), text)

    def number(m: re.Match) -> str:
        s = m.group(0)
        if "." in s:
            whole, frac = s.split(".")
            return f"{_words(int(whole), 'en')} point {' '.join(_words(int(d), 'en') for d in frac)}"
        n = int(s)
        if len(s) == 4 and 1000 <= n <= 2099:
            return _year_words(n)
        return _words(n, "en")

    return re.sub(r"(?<![\w.])\d+(?:\.\d+)?(?![\w])", number, text)


def _plural_decade(n: int) -> str:
    w = _year_words(n) if n >= 1000 else _words(n, "en")
    return w[:-1] + "ies" if w.endswith("y") else w + "s"


def _expand_numbers(text: str, lang: str) -> str:
    return re.sub(r"(?<![\w.,])\d{1,9}(?![\w.,]\d)", lambda m: _words(int(m.group(0)), lang), text)


def for_the_ear(text: str, language: str = "en") -> str:
    """Clean ``text`` for narration. Paragraph breaks (blank lines) are kept."""
    lang = _lang(language)
    text = _clean_common(text)
    if lang == "en":
        return _expand_en(text)
    if lang in _N2W_LANGS:
        return _expand_numbers(text, lang)
    return text


_HEAD = re.compile(r"^(?P<kw>chapter|chap\.?|book|part|stave|letter|canto|section|adventure|capítulo|chapitre|"
                   r"kapitel)?\s*(?P<num>[IVXLCDM]+|\d+)\b\.?(?P<rest>.*)$", re.I)


def heading_for_the_ear(title: str, language: str = "en") -> str:
    """A chapter heading as it should be spoken: roman numerals become numbers, capitals calm down.

    "CHAPTER XIV. THE END" -> "Chapter 14. The End"; "IX. THE ADVENTURE" -> "9. The Adventure"
    (the number is then read by the voice). Non-matching titles only get the casing fix.
    """
    t = re.sub(r"\s+", " ", title).strip()
    m = _HEAD.match(t)
    if m and (m.group("kw") or m.group("rest").strip() == "" or m.group("rest")[:1] in ".: —-"):
        num, kw = m.group("num"), m.group("kw")
        val = int(num) if num.isdigit() else roman_to_int(num)
        # A bare "I" is the pronoun unless a dot follows ("I. THE BURIAL OF THE DEAD").
        pronoun = not kw and num.upper() == "I" and not t[m.start("num") + 1:].startswith(".")
        if val is not None and not pronoun:
            kw = {"chap": "Chapter", "chap.": "Chapter"}.get(kw.lower(), kw.capitalize()) if kw else ""
            rest = m.group("rest").strip(" .:—-")
            head = f"{kw} {val}".strip()
            t = f"{head}. {_calm(rest)}" if rest else head
    return_t = _calm(t)
    t = return_t
    return for_the_ear(t, language) if _lang(language) != "en" else t


_SMALL = {"a", "an", "and", "at", "by", "for", "in", "of", "on", "or", "the", "to", "with", "from"}


def _calm(t: str) -> str:
    """ALL-CAPS titles read as shouting by some voices: title-case them."""
    letters = [ch for ch in t if ch.isalpha()]
    if not letters or sum(ch.isupper() for ch in letters) < 0.8 * len(letters):
        return t
    words = t.split(" ")
    out = []
    for i, w in enumerate(words):
        low = w.lower()
        out.append(low if i and low in _SMALL else low[:1].upper() + low[1:])
    return " ".join(out)
