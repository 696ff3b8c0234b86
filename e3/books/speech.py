"""Text for the eye and text for the ear.

Two forms of every narrated sentence:

- ``for_the_eye(text)``: the display form (what subtitles show). It drops what a listener must not
  hear, in every language: footnote markers, URLs (with the preposition or parentheses that
  introduced them), page numbers, illustration captions. "Henry VIII", "1,234" stay as written.
- ``speak(text, language)``: the spoken form (what the voice gets): the display cleanup, then the
  expansion a narrator does aloud. English: Mr./Dr./St., money, dates, ordinals, years, decimals,
  roman numerals in contexts we recognise ("Henry VIII" -> "Henry the Eighth", "World War II" ->
  "World War Two"). Languages num2words knows (``_N2W_LANGS``) get dates, thousands separators,
  decimals, ordinals and numbers in their own words; other languages only the cleanup.

``heading_for_the_eye`` / ``heading_for_the_ear`` are the same two forms of a chapter heading.
``for_the_ear`` is ``speak`` (kept for callers of the older name).
"""

from __future__ import annotations

import re
from functools import lru_cache

from num2words import num2words

_ILLUSTRATION = re.compile(r"\[\s*(Illustration|Ilustração|Ilustracion|Illustración|Gravure|Abbildung)[^\]]*\]", re.I)
_FOOTNOTE = re.compile(r"\[\s*(\d{1,3}|[a-z]|[*†‡§])\s*\]|\{\d{1,3}\}|(?<=[\w.,;:!?”’\"'])[*†‡§]+|[¹²³⁰⁴⁵⁶⁷⁸⁹]+")
_URL_BODY = (r"(?:\b(?:https?://|www\.)\S+?|\b[\w-]+(?:\.[\w-]+)*\.(?:com|org|net|edu|gov|io|info)(?:/\S*?)?)"
             r"(?=[.,;:!?)\]\"'”’]*(?:\s|$))")
# Words that introduce a URL and go with it ("read at <url>", "voir <url>", "siehe <url>").
_URL_LEAD = (r"(?:at|on|from|see|visit|via|under|to|in|"
             r"through|here|sur|à|voir|unter|auf|bei|siehe|en|ver|véase|su|da|vedi|em|no|na|op|zie)\s*:?\s+")
_URL_PAREN = re.compile(rf"\s*\(\s*(?:{_URL_LEAD})?{_URL_BODY}[^)]*\)", re.I)
_URL_LED = re.compile(rf"(?<!\w)(?:{_URL_LEAD}){_URL_BODY}", re.I)
_URL = re.compile(_URL_BODY, re.I)
_PAGE = re.compile(r"\[\s*(?:p(?:age|g)?\.?\s*)?\d{1,4}\s*\]|\{\s*p?\.?\s*\d{1,4}\s*\}", re.I)
_SPACES = re.compile(r"[ \t\u00a0]+")
_SPACE_RUN = re.compile(r" {2,}")
_DIGIT = re.compile(r"\d")
_MONEY = re.compile(r"[£$€]")
_rx = lru_cache(maxsize=None)(re.compile)


def _sub(pattern: str, repl, text: str, flags: int = 0) -> str:
    """``re.sub`` through a cache of compiled patterns (the per-sentence rules run millions of times)."""
    return _rx(pattern, flags).sub(repl, text)

_TITLES = {"Mr.": "Mister", "Mrs.": "Missus", "Ms.": "Miz", "Dr.": "Doctor", "Prof.": "Professor",
           "Capt.": "Captain", "Col.": "Colonel", "Gen.": "General", "Lt.": "Lieutenant", "Rev.": "Reverend",
           "Sr.": "Senior", "Jr.": "Junior", "Messrs.": "Messieurs", "Hon.": "Honourable", "Sgt.": "Sergeant"}
_CURRENCY = {"£": ("pound", "pounds", "penny", "pence"), "$": ("dollar", "dollars", "cent", "cents"),
             "€": ("euro", "euros", "cent", "cents")}
_N2W_LANGS = {"en", "fr", "de", "es", "pt", "it", "nl", "fi", "da", "no", "sv", "pl", "ru", "cs", "hu", "tr"}


def _lang(language: str) -> str:
    return (language or "en").split("-")[0].split("_")[0].lower()


_TAG = re.compile(r"<[^>]+>")
_EMPTY_PARENS = re.compile(r"\(\s*\)")
_DASHES = re.compile(r"(?<!-)--(?!-)")
_UNDERSCORED = re.compile(r"_(\w[^_]*)_")
_BLANK_LINES = re.compile(r"\n{3,}")
_SPACE_BEFORE_PUNCT = re.compile(r" +([,.;:!?])")
# Each cleanup pattern needs one of these; a sentence with none (most) skips them all.
_CLEAN_HINT = re.compile(r"[\[{(<_*†‡§¹²³⁰⁴⁵⁶⁷⁸⁹]|--|://|www\.|\.(?:com|org|net|edu|gov|io|info)", re.I)


def _clean_common(text: str) -> str:
    if _CLEAN_HINT.search(text):
        text = _ILLUSTRATION.sub("", text)
        text = _URL_PAREN.sub("", text)
        text = _URL_LED.sub("", text)
        text = _URL.sub("", text)
        text = _PAGE.sub("", text)
        text = _FOOTNOTE.sub("", text)
        text = _TAG.sub("", text)
        text = _EMPTY_PARENS.sub("", text)
        text = _DASHES.sub(" — ", text)
        text = _UNDERSCORED.sub(r"\1", text)
    if "\n" in text:
        text = "\n".join(_SPACES.sub(" ", ln).strip() for ln in text.split("\n"))
        text = _BLANK_LINES.sub("\n\n", text)
    else:
        text = _SPACES.sub(" ", text).strip()
    return _SPACE_BEFORE_PUNCT.sub(r"\1", text).strip()


def for_the_eye(text: str, language: str = "en") -> str:
    """The display form of ``text``: unheard things removed, everything else as written."""
    return _clean_common(text)


# --------------------------------------------------------------------------------------------
# Number words
# --------------------------------------------------------------------------------------------

@lru_cache(maxsize=4096)
def _words(n: int, lang: str, to: str = "cardinal") -> str:
    """num2words of ``n`` without the commas it writes inside numbers ("one thousand, two")."""
    try:
        return num2words(n, lang=lang, to=to).replace(",", "")
    except (NotImplementedError, OverflowError, KeyError, ValueError, AttributeError, TypeError):
        return str(n) if to == "cardinal" else _words(n, lang)


def _year_words(n: int) -> str:
    if 2000 <= n <= 2009 or n % 1000 < 10 or not 1100 <= n <= 2099:
        return _words(n, "en")
    return _words(n, "en", "year")


def _title(words: str) -> str:
    """Capitalise every word but "and" ("twenty-three" -> "Twenty-three")."""
    return " ".join(w if w == "and" else w[:1].upper() + w[1:] for w in words.split(" "))


_ROMAN_RE = re.compile(r"M{0,3}(CM|CD|D?C{0,3})(XC|XL|L?X{0,3})(IX|IV|V?I{0,3})")
_ROMAN_VAL = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}


def roman_value(s: str) -> int | None:
    """The value of a canonical upper-case roman numeral ("XIV" -> 14), else None ("DID", "IIII")."""
    if not s or not _ROMAN_RE.fullmatch(s):
        return None
    total = 0
    for a, b in zip(s, s[1:] + " "):
        va, vb = _ROMAN_VAL[a], _ROMAN_VAL.get(b, 0)
        total += -va if va < vb else va
    return total


# --------------------------------------------------------------------------------------------
# Roman numerals in context
# --------------------------------------------------------------------------------------------

# Words after which a roman numeral is a plain number ("Part Two", "World War Two"), per language.
_KEYWORDS = {
    "en": r"Chapter|Chap\.|Part|Book|Act|Scene|Volume|Vol\.|Psalm|Psalms|Canto|Section|Sect\.|Article|"
          r"Appendix|Lesson|Letter|Stave|Sura|Surah|Hymn|Ode|Sonnet|Song|Poem|Epistle|Title|Clause|"
          r"Amendment|Plate|Figure|Fig\.|Table|Class|Type|Phase|Stage|Grade|Level|Episode|Round|Mark|"
          r"Series|Number|No\.|World War|Vatican|Super Bowl|Olympiad",
    "fr": r"Chapitre|Partie|Livre|Acte|Scène|Tome|Volume|Chant|Section|Article|Annexe|Psaume|Leçon|Lettre",
    "de": r"Kapitel|Teil|Buch|Akt|Aufzug|Szene|Auftritt|Band|Psalm|Gesang|Abschnitt|Artikel|Anhang|Brief",
    "es": r"Capítulo|Parte|Libro|Acto|Escena|Tomo|Volumen|Salmo|Canto|Sección|Artículo|Apéndice|Carta",
    "it": r"Capitolo|Parte|Libro|Atto|Scena|Tomo|Volume|Salmo|Canto|Sezione|Articolo|Appendice|Lettera",
    "pt": r"Capítulo|Parte|Livro|Ato|Acto|Cena|Tomo|Volume|Salmo|Canto|Secção|Seção|Artigo|Apêndice|Carta",
    "nl": r"Hoofdstuk|Deel|Boek|Akte|Bedrijf|Scène|Toneel|Psalm|Zang|Sectie|Artikel|Bijlage|Brief",
}
# Keywords after which even "I" is a number ("Part I"); elsewhere "I" may be the pronoun.
_I_OK = {"chapter", "chap.", "part", "book", "act", "scene", "volume", "vol.", "psalm", "canto", "section",
         "article", "appendix", "world war", "stave", "title", "amendment", "phase", "stage", "episode",
         "vatican", "chapitre", "partie", "livre", "acte", "scène", "tome", "chant", "kapitel", "teil", "buch",
         "akt", "band", "capítulo", "parte", "libro", "acto", "capitolo", "atto", "livro", "ato", "hoofdstuk",
         "deel", "boek"}
# Titles after which any capitalised name takes a regnal number ("Pope Pius IX", "King Zog I").
_REGNAL_TITLES = (r"King|Queen|Pope|Emperor|Empress|Tsar|Czar|Tsarina|Kaiser|Pharaoh|Sultan|Shah|Prince|"
                  r"Princess|Duke|Duchess|Grand Duke|Count|Countess|Saint|Roi|Reine|Pape|Empereur|König|"
                  r"Königin|Papst|Kaiserin|Herzog|Rey|Reina|Papa|Emperador|Re|Regina|Imperatore|Rei|"
                  r"Rainha|Imperador|Dom|D\.|Koning|Koningin|Keizer|Paus")
# Given names that take a regnal number without a title ("Henry VIII", "Louis XIV").
_REGNAL_NAMES = (
    "Henry|Henri|Heinrich|Enrique|Enrico|Henrique|Hendrik|Louis|Ludwig|Luis|Luigi|Luís|Lodewijk|Elizabeth|"
    "Elisabeth|Isabel|Isabella|Elisabetta|George|Georg|Jorge|Giorgio|Edward|Edouard|Édouard|Eduard|Eduardo|"
    "Edoardo|William|Guillaume|Wilhelm|Guillermo|Guglielmo|Guilherme|Willem|Charles|Karl|Carlos|Carlo|Carl|"
    "Karel|James|Jacques|Jakob|Jaime|Giacomo|Richard|Ricardo|Riccardo|John|Jean|Johann|Juan|Giovanni|João|"
    "Jan|Johan|Pius|Pie|Pio|Leo|Léon|Leone|León|Gregory|Grégoire|Gregor|Gregorio|Benedict|Benoît|Benedikt|"
    "Benedicto|Benedetto|Bento|Innocent|Innocenzo|Clement|Clément|Clemens|Clemente|Urban|Urbain|Urbano|"
    "Sixtus|Sixte|Sisto|Boniface|Bonifacio|Julius|Jules|Giulio|Paul|Paulus|Pablo|Paolo|Paulo|Alexander|"
    "Alexandre|Alessandro|Alejandro|Peter|Pierre|Pietro|Pedro|Pieter|Catherine|Katharina|Catalina|Caterina|"
    "Catarina|Frederick|Frédéric|Friedrich|Federico|Frederico|Frederik|Philip|Philippe|Philipp|Felipe|"
    "Filippo|Filipe|Filips|Ferdinand|Fernando|Ferdinando|Francis|François|Franz|Francisco|Francesco|"
    "Napoleon|Napoléon|Napoleone|Nicholas|Nicolas|Nikolaus|Nicolás|Niccolò|Nicola|Ivan|Mary|Marie|Maria|"
    "María|Anne|Victor Emmanuel|Vittorio Emanuele|Umberto|Ramesses|Ramses|Amenhotep|Thutmose|Ptolemy|"
    "Antiochus|Cleopatra|Darius|Xerxes|Artaxerxes|Cyrus|Constantine|Constantin|Konstantin|Justinian|Otto|"
    "Otton|Ottone|Rudolf|Rodolphe|Leopold|Léopold|Leopoldo|Joseph|Josef|José|Giuseppe|Maximilian|"
    "Sigismund|Casimir|Stanislaus|Vladimir|Basil|Michael|Manuel|Afonso|Alfonso|Alphonse|Sancho|Gustav|"
    "Gustavus|Gustave|Christian|Haakon|Olaf|Harald|Magnus|Eric|Erik|Valdemar|Mehmed|Suleiman|Selim|Murad|"
    "Bayezid|David|Malcolm|Robert|Kenneth|Duncan|Edmund|Ethelred|Æthelred|Canute|Harold|Stephen|Étienne|"
    "Stefan|Esteban|Matilda|Conrad|Konrad|Lothair|Baldwin|Baudouin|Amadeus|Sebastian|Sébastien|Sebastião|"
    "Kamehameha|Menelik|Farouk|Fuad|Hussein|Abdullah|Faisal|Hassan|Rama|Innocenzo|Adrian|Hadrian|Urbanus|"
    "Eugene|Eugène|Eugenio|Felix|Félix|Martin|Callixtus|Celestine|Honorius|Anastasius|Marcus|Alfred"
)
_NUM = r"(?P<num>[IVXLCDM]+)"
_END = r"(?![\w-]|\.\w|['’](?!s\b))"  # "VIII's" is fine, "VII-XI" and "V.I." are not


def _ordinal_name(n: int, lang: str) -> str:
    """How a regnal number is said after a name in ``lang`` ("the Eighth", "quatorze", "der Achte")."""
    if lang == "en":
        return "the " + _title(_words(n, "en", "ordinal"))
    if lang == "fr":
        return "premier" if n == 1 else _words(n, "fr")
    if lang in ("es", "pt"):
        return _words(n, lang, "ordinal") if n <= 10 else _words(n, lang)
    if lang == "de":
        return "der " + _title(_words(n, "de", "ordinal"))
    if lang == "nl":
        return "de " + _title(_words(n, "nl", "ordinal"))
    return _words(n, lang, "ordinal")


def _cardinal_kw(n: int, lang: str) -> str:
    w = _words(n, lang)
    return _title(w) if lang in ("en", "de") else w


@lru_cache(maxsize=None)
def _roman_patterns(lang: str) -> tuple[re.Pattern | None, re.Pattern | None, re.Pattern | None]:
    """The keyword and regnal patterns of ``lang``, and a cheap superset of the keyword one (no
    ``\\b`` or IGNORECASE, which stop the regex engine from skipping ahead): most sentences fail it."""
    kws = _KEYWORDS.get(lang)
    keyword = hint = None
    if kws:
        keyword = re.compile(rf"\b(?P<kw>{kws})\s+{_NUM}{_END}", flags=re.I if lang == "en" else 0)
        hint = re.compile(rf"(?:{kws.lower()})\s+[ivxlcdm]" if lang == "en" else rf"(?:{kws})\s+[IVXLCDM]")
    name = rf"(?P<name>(?:(?:{_REGNAL_TITLES})\s+(?:[A-Z][\w’'-]+\s+)?[A-Z][\w’'-]+)|\b(?:{_REGNAL_NAMES}))"
    dot = r"(?P<dot>\.)?" if lang == "de" else r"(?P<dot>)"
    regnal = re.compile(rf"{name}\s+{_NUM}{dot}{_END}") if lang in _REGNAL_LANGS else None
    return keyword, hint, regnal


def _may_have_keyword(text: str, hint: re.Pattern, lang: str) -> bool:
    if lang != "en":
        return hint.search(text) is not None
    # IGNORECASE also folds a few non-ASCII letters (ſ, ı, K) into ASCII ones: only ASCII is lowered.
    return not text.isascii() or hint.search(text.lower()) is not None


_REGNAL_LANGS = ("en", "fr", "de", "es", "it", "pt", "nl")
# Every regnal match holds one of these words and a space before a roman numeral.
_REGNAL_HINT = re.compile(rf"(?:{_REGNAL_TITLES}|{_REGNAL_NAMES})")
_SPACE_ROMAN = re.compile(r"\s[IVXLCDM]")


def _expand_roman(text: str, lang: str) -> str:
    """Roman numerals after keywords (cardinal) and after regnal names/titles (ordinal)."""
    keyword, hint, regnal_re = _roman_patterns(lang)
    if keyword is not None and _may_have_keyword(text, hint, lang):
        def kw(m: re.Match) -> str:
            num, word = m.group("num"), m.group("kw")
            val = roman_value(num)
            # "I" only after a capitalised keyword; single letters other than I/V/X are labels.
            if val is None or val >= 400 or (len(num) == 1 and num not in "IVX"):
                return m.group(0)
            if num == "I" and (not word[:1].isupper() or word.lower() not in _I_OK):
                return m.group(0)
            return f"{word} {_cardinal_kw(val, lang)}"

        text = keyword.sub(kw, text)

    if regnal_re is not None and _SPACE_ROMAN.search(text) and _REGNAL_HINT.search(text):
        def regnal(m: re.Match) -> str:
            num = m.group("num")
            val = roman_value(num)
            if val is None or val > 40:
                return m.group(0)
            after = m.string[m.end():m.end() + 5]
            if len(num) == 1 and not m.group("dot") and re.match(r"\.\s+[A-Z]", after):
                return m.group(0)  # an initial: "Robert V. Smith"
            if num == "I" and lang == "en" and not re.match(r"(?:'s|’s|\s+of\b|[.;:!?]|,\s+(?:King|Queen|"
                                                              r"Emperor|Pope)\b|$)", after):
                return m.group(0)  # "Elizabeth I was" is the pronoun
            dot = ""
            if lang == "de" and m.group("dot"):
                dot = "" if re.match(r"\s+[a-zäöü]", after) else "."
            return f"{m.group('name')} {_ordinal_name(val, lang)}{dot}"

        text = regnal_re.sub(regnal, text)
    if lang == "fr":
        text = _sub(r"\b(?P<name>[A-Z][\w-]+)\s+Ier\b", r"\g<name> premier", text)
        text = _sub(r"\b([IVXLC]{2,}|V|X)(?:e|ème|ᵉ)\b",  # "XIXe", "Ve"; not "Le", "Ce"
                      lambda m: _words(roman_value(m.group(1)), "fr", "ordinal")
                      if roman_value(m.group(1)) else m.group(0), text)
    return text


# --------------------------------------------------------------------------------------------
# Dates
# --------------------------------------------------------------------------------------------

_MONTHS = {
    "en": "January|February|March|April|May|June|July|August|September|October|November|December",
    "fr": "janvier|février|fevrier|mars|avril|mai|juin|juillet|août|aout|septembre|octobre|novembre|décembre|decembre",
    "de": "Januar|Jänner|Februar|März|April|Mai|Juni|Juli|August|September|Oktober|November|Dezember",
    "es": "enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre|octubre|noviembre|diciembre",
    "it": "gennaio|febbraio|marzo|aprile|maggio|giugno|luglio|agosto|settembre|ottobre|novembre|dicembre",
    "pt": "janeiro|fevereiro|março|abril|maio|junho|julho|agosto|setembro|outubro|novembro|dezembro",
    "nl": "januari|februari|maart|april|mei|juni|juli|augustus|september|oktober|november|december",
}
_EN_MONTH_ABBR = {"Jan.": "January", "Feb.": "February", "Mar.": "March", "Apr.": "April", "Aug.": "August",
                  "Sept.": "September", "Sep.": "September", "Oct.": "October", "Nov.": "November",
                  "Dec.": "December"}
_FIRST = {"fr": "premier", "it": "primo", "pt": "primeiro", "es": "primero"}


def _year_in(n: int, lang: str) -> str:
    return _year_words(n) if lang == "en" else _words(n, lang, "year")


def _expand_dates(text: str, lang: str) -> str:
    """Dates in the order ``lang`` writes them, said the way a narrator says them."""
    months = _MONTHS.get(lang)
    if not months or not _DIGIT.search(text):  # no date without a number
        return text
    if lang == "en":
        months = f"{months}|{months.upper()}"  # "MAY 10." in capitalised letter headings
        for abbr, full in _EN_MONTH_ABBR.items():
            if abbr in text:
                text = _sub(rf"\b{re.escape(abbr)}(?=\s+\d)", full, text)

        def mdy(m: re.Match) -> str:  # July 4, 1776
            out = f"{m.group('m')} {_words(int(m.group('d')), 'en', 'ordinal')}"
            if m.group("y"):
                out += f", {_year_words(int(m.group('y')))}"
            return out

        text = _sub(rf"\b(?P<m>{months})\s+(?P<d>[1-9]|[12]\d|3[01])(?:st|nd|rd|th)?(?:,\s*(?P<y>\d{{3,4}}))?"
                      r"(?![\d,.]\d|\w)", mdy, text)

        def dmy(m: re.Match) -> str:  # 4 July 1776
            the = "" if m.group("the") else "the "
            out = f"{m.group('the') or ''}{the}{_words(int(m.group('d')), 'en', 'ordinal')} of {m.group('m')}"
            if m.group("y"):
                out += f", {_year_words(int(m.group('y')))}"
            return out

        return _sub(rf"(?P<the>\b[Tt]he\s+)?\b(?P<d>[1-9]|[12]\d|3[01])(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<m>{months})"
                      r"(?:,?\s+(?P<y>\d{3,4}))?(?![\d,.]\d|\w)", dmy, text)

    if lang == "de":
        def de(m: re.Match) -> str:  # am 3. Oktober 1990 -> am dritten Oktober
            prev = (m.group("prev") or "").strip()
            ordinal = _words(int(m.group("d")), "de", "ordinal")
            if prev.lower() not in ("der", "die"):
                ordinal += "n"  # am/vom/zum/den/bis zum: dative/accusative
            out = f"{m.group('prev') or ''}{ordinal} {m.group('m')}"
            if m.group("y"):
                out += f" {_words(int(m.group('y')), 'de', 'year')}"
            return out

        return _sub(rf"(?P<prev>\b\w+\s+)?\b(?P<d>[1-9]|[12]\d|3[01])\.\s*(?P<m>{months})"
                      r"(?:\s+(?P<y>\d{3,4}))?(?![\d.,]\d|\w)", de, text)

    de_ = r"\s+de" if lang in ("es", "pt") else ""

    def dm(m: re.Match) -> str:  # le 14 juillet 1789, el 2 de mayo de 1808, 3 oktober 1990
        d = m.group("d")
        n = int(_sub(r"\D", "", d))
        first = n == 1 and (lang in ("fr", "it", "pt") or not d.isdigit())
        day = _FIRST.get(lang, _words(1, lang, "ordinal")) if first else _words(n, lang)
        out = f"{day}{m.group('de')}{m.group('m')}"
        if m.group("y"):
            out += f"{m.group('yde')}{_year_in(int(m.group('y')), lang)}"
        return out

    day = r"(?P<d>1(?:er|re|\.?º|\.?°)|[1-9]|[12]\d|3[01])"
    return _sub(rf"\b{day}(?P<de>{de_}\s+)(?P<m>{months})(?:(?P<yde>{de_ if lang in ('es', 'pt') else ''}\s+|"
                  rf"\s+del\s+)(?P<y>\d{{3,4}}))?(?![\d.,]\d|\w)", dm, text, flags=re.I)


# --------------------------------------------------------------------------------------------
# English
# --------------------------------------------------------------------------------------------

_TITLES_RE = re.compile(r"\b(" + "|".join(re.escape(a) for a in sorted(_TITLES, key=len, reverse=True))
                        + r")(?=\s)")


def _expand_titles_en(text: str) -> str:
    if "." not in text:  # every abbreviation ends in a dot: most sentences need no work
        return text
    text = _TITLES_RE.sub(lambda m: _TITLES[m.group(1)], text)
    if "St." not in text:
        return text
    # St. before a capitalised name is Saint; after a name/number ("Baker St.") it is Street.
    text = _sub(r"\bSt\.(?=\s+[A-Z])", "Saint", text)
    text = _sub(r"(?<=[A-Za-z0-9] )St\.", "Street", text)
    return _sub(r"\bSt\.", "Saint", text)


def _expand_en(text: str) -> str:
    text = _expand_titles_en(text)
    text = _expand_roman(text, "en")
    if not _DIGIT.search(text):  # everything below reads a number
        return text
    text = _expand_dates(text, "en")

    def scaled(m: re.Match) -> str:  # $5 million
        one, many = _CURRENCY[m.group(1)][:2]
        return f"{_number_en(m.group(2))} {m.group(3)} {many}"


    def money(m: re.Match) -> str:
        sym, whole, frac = m.group(1), int(m.group(2).replace(",", "")), m.group(3)
        one, many, sub1, subn = _CURRENCY[sym]
        out = f"{_words(whole, 'en')} {one if whole == 1 else many}"
        if frac and int(frac):
            c = int(frac.ljust(2, "0")[:2])
            out += f" and {_words(c, 'en')} {sub1 if c == 1 else subn}"
        return out

    if _MONEY.search(text):
        text = _sub(r"([£$€])\s?(\d+(?:\.\d+)?)\s+(thousand|million|billion|trillion)\b", scaled, text)
        text = _sub(r"([£$€])\s?(\d[\d,]*)(?:\.(\d{1,2}))?\b", money, text)
    if "%" in text:
        text = _sub(r"(\d+(?:\.\d+)?)\s?%", lambda m: f"{_number_en(m.group(1))} percent", text)
    text = _sub(r"\b(\d{1,3}(?:,\d{3})+|\d+)(st|nd|rd|th)\b",
                lambda m: _words(int(m.group(1).replace(",", "")), "en", "ordinal"), text)
    text = _sub(r"\b(\d+)s\b", lambda m: _plural_decade(int(m.group(1))), text)
    text = _sub(r"\b(1\d{3})\s?[-–]\s?(1\d{3}|20\d\d)\b",
                lambda m: f"{_year_words(int(m.group(1)))} to {_year_words(int(m.group(2)))}", text)
    text = _sub(r"\b(\d{1,3}(?:,\d{3})+)(?:\.(\d+))?(?![\d,])", _grouped_en, text)
    return _sub(r"(?<![\w.])\d+(?:\.\d+)?(?![\w])", lambda m: _number_en(m.group(0)), text)


def _grouped_en(m: re.Match) -> str:
    """ "1,234" / "1,234.5": a cardinal (never read as a year)."""
    out = _words(int(m.group(1).replace(",", "")), "en")
    if m.group(2):
        out += " point " + " ".join(_words(int(d), "en") for d in m.group(2))
    return out


def _number_en(s: str) -> str:
    if "." in s:
        whole, frac = s.split(".")
        return f"{_words(int(whole), 'en')} point {' '.join(_words(int(d), 'en') for d in frac)}"
    n = int(s)
    if len(s) == 4 and 1000 <= n <= 2099:
        return _year_words(n)
    return _words(n, "en")


def _plural_decade(n: int) -> str:
    w = _year_words(n) if n >= 1000 else _words(n, "en")
    return w[:-1] + "ies" if w.endswith("y") else w + "s"


# --------------------------------------------------------------------------------------------
# Other languages
# --------------------------------------------------------------------------------------------

# Thousands separators and the decimal mark each language writes.
_SPACE_SEP = "[ \u00a0\u202f]"
_THOUSANDS = {"fr": rf"(?:{_SPACE_SEP}|\.)", "de": r"[.\u202f]", "es": rf"(?:\.|{_SPACE_SEP})", "it": r"[.]",
              "pt": rf"(?:\.|{_SPACE_SEP})", "nl": r"[.]", "da": r"[.]", "tr": r"[.]", "no": _SPACE_SEP,
              "sv": _SPACE_SEP, "fi": _SPACE_SEP, "pl": _SPACE_SEP, "ru": _SPACE_SEP, "cs": _SPACE_SEP,
              "hu": _SPACE_SEP}
_DECIMAL_WORD = {"fr": "virgule", "de": "Komma", "es": "coma", "it": "virgola", "pt": "vírgula", "nl": "komma",
                 "da": "komma", "no": "komma", "sv": "komma", "fi": "pilkku", "pl": "przecinek",
                 "ru": "запятая", "cs": "celá", "hu": "egész", "tr": "virgül"}
_PERCENT = {"fr": "pour cent", "de": "Prozent", "es": "por ciento", "it": "per cento", "pt": "por cento",
            "nl": "procent"}
# Words before which a 4-digit number is a year (read "neunzehnhundertneunzig", not "tausend...").
_YEAR_LEAD = {"de": r"(?:[Ii]m\s+Jahre?|Jahre?|[Ss]eit|[Bb]is|[Uu]m|[Aa]b|[Aa]nno|[Ii]m\s+Sommer|[Ii]m\s+Winter)",
              "nl": r"(?:[Ii]n|[Ss]inds|[Tt]ot|[Rr]ond|[Oo]mstreeks|[Hh]et\s+jaar|[Aa]nno)"}
_ORD_SUFFIX = {"fr": r"(?:er|re|e|ème|ᵉ)", "es": r"(?:\.?º|\.?ª|\.?°)", "it": r"(?:\.?º|\.?ª|\.?°)",
               "pt": r"(?:\.?º|\.?ª|\.?°|\.o|\.a)", "nl": r"(?:ste|de|e)"}


def _expand_other(text: str, lang: str) -> str:
    text = _expand_roman(text, lang)
    if not _DIGIT.search(text):  # everything below reads a number
        return text
    text = _expand_dates(text, lang)
    lead = _YEAR_LEAD.get(lang)
    if lead:
        text = _sub(rf"\b({lead}\s+)(1[1-9]\d\d)(?![\w.,]\d|\w)",
                      lambda m: m.group(1) + _words(int(m.group(2)), lang, "year"), text)
    suffix = _ORD_SUFFIX.get(lang)
    if suffix:
        def ordinal(m: re.Match) -> str:
            n, suf = int(m.group(1)), m.group(2)
            if lang == "fr" and n == 1:
                return "première" if suf == "re" else "premier"
            w = _words(n, lang, "ordinal")
            return w[:-1] + "a" if suf.endswith(("ª", "a")) and w.endswith("o") else w
        text = _sub(rf"\b(\d+)({suffix})(?!\w)", ordinal, text)
    pct = _PERCENT.get(lang)
    if pct:
        text = _sub(r"(\d)\s?%", rf"\1 {pct}", text)
    sep = _THOUSANDS.get(lang)
    if sep:
        text = _sub(rf"(?<![\w.,])(\d{{1,3}}(?:{sep}\d{{3}})+)(?![\w]|[.,]\d)",
                      lambda m: re.sub(r"\D", "", m.group(1)), text)
    word = _DECIMAL_WORD.get(lang)
    if word:
        text = _sub(r"(?<![\w.,])(\d+),(\d+)(?![\w]|[.,]\d)",
                      lambda m: f"{_words(int(m.group(1)), lang)} {word} "
                                + " ".join(_words(int(d), lang) for d in m.group(2)), text)
    return _sub(r"(?<![\w.,])\d{1,12}(?![\w]|[.,]\d)", lambda m: _words(int(m.group(0)), lang), text)


# --------------------------------------------------------------------------------------------
# The one step
# --------------------------------------------------------------------------------------------

def speak(text: str, language: str = "en") -> str:
    """The exact text a voice should read for ``text`` (display cleanup plus expansion).

    Works on a sentence or on whole paragraphs (blank lines are kept).
    """
    lang = _lang(language)
    text = _clean_common(text)
    if lang == "en":
        text = _expand_en(text)
    elif lang in _N2W_LANGS:
        text = _expand_other(text, lang)
    else:
        return text
    return _SPACE_RUN.sub(" ", text) if "  " in text else text


def for_the_ear(text: str, language: str = "en") -> str:
    """Clean and expand ``text`` for narration (the same as ``speak``). Paragraph breaks are kept."""
    return speak(text, language)


_HEAD = re.compile(r"^(?P<kw>chapter|chap\.?|book|part|stave|letter|canto|section|adventure|capítulo|chapitre|"
                   r"kapitel)?\s*(?P<num>[IVXLCDM]+|\d+)\b\.?(?P<rest>.*)$", re.I)


def heading_for_the_eye(title: str, language: str = "en") -> str:
    """A chapter heading as subtitles show it: cleaned, capitals calmed, numerals as written."""
    return _calm(for_the_eye(re.sub(r"\s+", " ", title).strip(), language))


def heading_for_the_ear(title: str, language: str = "en") -> str:
    """A chapter heading as it should be spoken, through the same expansion as body text.

    "CHAPTER XIV. THE END" -> "Chapter Fourteen. The End"; "IX. THE ADVENTURE" -> "Nine. The
    Adventure"; "MR. BEDFORD MEETS MR. CAVOR" -> "Mister Bedford Meets Mister Cavor".
    """
    lang = _lang(language)
    t = heading_for_the_eye(title, language)
    m = _HEAD.match(t)
    if m and (m.group("kw") or m.group("rest").strip() == "" or m.group("rest")[:1] in ".: —-"):
        num, kw = m.group("num"), m.group("kw")
        val = int(num) if num.isdigit() else roman_value(num.upper())
        # A bare "I" is the pronoun unless a dot follows ("I. THE BURIAL OF THE DEAD").
        pronoun = not kw and num.upper() == "I" and not t[m.start("num") + 1:].startswith(".")
        # A lone "D." or "C." is an initial or abbreviation ("D. Gloria"), not 500 or 100.
        pronoun = pronoun or (not kw and not num.isdigit() and len(num) == 1 and num.upper() not in "IVX")
        if val is not None and not pronoun:
            kw = {"chap": "Chapter", "chap.": "Chapter"}.get(kw.lower(), kw.capitalize()) if kw else ""
            rest = m.group("rest").strip(" .:—-")
            number = _cardinal_kw(val, lang) if lang in _N2W_LANGS else str(val)
            if not kw and lang not in ("en", "de"):
                number = number[:1].upper() + number[1:]
            head = f"{kw} {number}".strip()
            return f"{head}. {speak(rest, language)}" if rest else head
    return speak(t, language)


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
        bare = w.strip(".,:;!?()—-")
        val = roman_value(bare)
        if val is not None and val < 400 and (len(bare) > 1 or bare in "IVX"):
            out.append(w)  # "CHAPTER XIV" -> "Chapter XIV", not "Xiv"
            continue
        small = i and low in _SMALL and not words[i - 1].endswith((".", ":", "—"))
        out.append(low if small else low[:1].upper() + low[1:])
    return " ".join(out)
