"""EPUB 2 and 3 parsing.

The package is read with ebooklib; when ebooklib rejects a malformed but recoverable package (a
manifest item that is missing from the zip, a broken NCX...), a lenient zipfile + lxml reader
takes over. Chapters come from the EPUB3 nav, else the NCX, else the spine:

- TOC entries are flattened in reading order; unlinked group labels (``<span>``) are transparent
  and ``hidden`` sub-lists (sub-parts of one story) are ignored; sub-entries that all point inside
  their parent's document (the scenes of an act) stay inside it.
- A chapter that is a run of 20+ pieces headed only by a bare number line (a poetry collection
  with no headings in its markup) is split into one chapter per piece.
- The spine documents are flattened into one stream of text blocks and cut at the anchors the
  entries point to, so many chapters in one file and one chapter across files both come out right.
- Cover, title page, contents, copyright and colophon are skipped (``epub:type`` where present,
  else the entry title); entries with no text of their own (a title, "BY", an author line, a part
  heading, "THE END") are dropped; preface/epilogue-like entries become ``kind="section"``.
- Without any usable TOC, each spine document with a heading is a chapter; a book whose documents
  carry no headings (split by size) becomes one chapter titled with the book title.
"""

from __future__ import annotations

import posixpath
import re
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from lxml import etree

from e3.books import ledger
from e3.books.errors import NotAnEpubError
from e3.books.model import Book, Chapter
from e3.books.structure import (
    Block, Entry, HtmlDoc, build_chapters, clean_space, cut_gutenberg_footer, cut_gutenberg_header, is_skip_title,
    parse_html, split_numbered_pieces,
)

_NS = {
    "c": "urn:oasis:names:tc:opendocument:xmlns:container",
    "opf": "http://www.idpf.org/2007/opf",
    "dc": "http://purl.org/dc/elements/1.1/",
    "ncx": "http://www.daisy.org/z3986/2005/ncx/",
    "x": "http://www.w3.org/1999/xhtml",
}
_XML = etree.XMLParser(recover=True, resolve_entities=False, no_network=True, huge_tree=True)


@dataclass
class _Package:
    meta: dict[str, list[str]] = field(default_factory=dict)
    spine: list[tuple[str, bool]] = field(default_factory=list)  # (name, linear)
    docs: dict[str, bytes] = field(default_factory=dict)  # name (relative to OPF dir) -> bytes
    nav: str | None = None
    ncx: str | None = None
    cover: tuple[bytes, str] | None = None


def _norm(name: str) -> str:
    return posixpath.normpath(unquote(name)).lstrip("/")


def _read_opf(zf: zipfile.ZipFile, label: str) -> tuple[str, etree._Element]:
    names = set(zf.namelist())
    if "META-INF/container.xml" not in names:
        raise NotAnEpubError(f"{label}: not an EPUB (META-INF/container.xml is missing)")
    container = etree.fromstring(zf.read("META-INF/container.xml"), _XML)
    if container is None:
        raise NotAnEpubError(f"{label}: META-INF/container.xml is unreadable")
    paths = [r.get("full-path") for r in container.iter("{*}rootfile") if r.get("full-path")]
    if not paths:
        raise NotAnEpubError(f"{label}: container.xml names no package (OPF) file")
    opf_path = unquote(paths[0])
    if opf_path not in names:
        raise NotAnEpubError(f"{label}: the package file {opf_path} named in container.xml is missing")
    root = etree.fromstring(zf.read(opf_path), _XML)
    if root is None:
        raise NotAnEpubError(f"{label}: the package file {opf_path} is unreadable")
    return opf_path, root


def _load_zip(path: Path) -> _Package:
    """Lenient reader: only zipfile and a recovering XML parser."""
    label = path.name
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise NotAnEpubError(f"{label}: truncated or corrupt zip ({exc})") from None
    with zf:
        opf_path, root = _read_opf(zf, label)
        base = posixpath.dirname(opf_path)
        names = set(zf.namelist())
        pkg = _Package()
        for el in root.iterfind(".//{*}metadata/*"):
            if not isinstance(el.tag, str):
                continue
            tag = etree.QName(el).localname
            if el.text and el.text.strip():
                pkg.meta.setdefault(tag, []).append(el.text.strip())
            if tag == "meta" and el.get("name") == "cover" and el.get("content"):
                pkg.meta.setdefault("cover-id", []).append(el.get("content"))
        manifest: dict[str, tuple[str, str, str]] = {}
        for it in root.iterfind(".//{*}manifest/{*}item"):
            href = it.get("href")
            if href:
                manifest[it.get("id", "")] = (_norm(href), it.get("media-type", ""), it.get("properties", ""))

        def read(name: str) -> bytes | None:
            full = posixpath.join(base, name) if base else name
            if full in names:
                try:
                    return zf.read(full)
                except (zipfile.BadZipFile, OSError, EOFError) as exc:
                    raise NotAnEpubError(f"{label}: truncated or corrupt zip ({exc})") from None
            return None

        spine_el = root.find(".//{*}spine")
        for ref in (spine_el.iterfind("{*}itemref") if spine_el is not None else []):
            item = manifest.get(ref.get("idref", ""))
            if item and (data := read(item[0])) is not None:
                pkg.spine.append((item[0], ref.get("linear", "yes") != "no"))
                pkg.docs[item[0]] = data
        for _id, (name, mt, props) in manifest.items():
            if "nav" in props.split() and (data := read(name)) is not None:
                pkg.nav, pkg.docs[name] = name, data
            elif mt == "application/x-dtbncx+xml" and (data := read(name)) is not None:
                pkg.ncx, pkg.docs[name] = name, data
        if pkg.ncx is None and spine_el is not None and spine_el.get("toc") in manifest:
            name = manifest[spine_el.get("toc")][0]
            if (data := read(name)) is not None:
                pkg.ncx, pkg.docs[name] = name, data
        cover_ids = pkg.meta.get("cover-id", [])
        for _id, (name, mt, props) in manifest.items():
            if mt.startswith("image/") and ("cover-image" in props.split() or _id in cover_ids):
                if (data := read(name)) is not None:
                    pkg.cover = (data, posixpath.splitext(name)[1].lstrip(".").lower() or "jpg")
                    break
        # Documents a TOC may point at that are not in the spine.
        for _id, (name, mt, _p) in manifest.items():
            if "html" in mt and name not in pkg.docs and (data := read(name)) is not None:
                pkg.docs[name] = data
        return pkg


def _load_ebooklib(path: Path) -> _Package:
    import ebooklib
    from ebooklib import epub

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        book = epub.read_epub(str(path), options={"ignore_ncx": True})
    pkg = _Package()
    for key in ("title", "creator", "language", "date", "subject", "description", "publisher"):
        vals = [v for v, _attrs in book.get_metadata("DC", key) if v and str(v).strip()]
        if vals:
            pkg.meta[key] = [str(v).strip() for v in vals]
    for idref, linear in book.spine:
        item = book.get_item_with_id(idref)
        if item is None:
            continue
        name = _norm(item.get_name())
        pkg.spine.append((name, linear != "no"))
    for item in book.get_items():
        name = _norm(item.get_name())
        if isinstance(item, epub.EpubNav):
            pkg.nav = name
        elif item.media_type == "application/x-dtbncx+xml":
            pkg.ncx = name
        if item.get_type() in (ebooklib.ITEM_DOCUMENT, ebooklib.ITEM_NAVIGATION) or "html" in (item.media_type or ""):
            pkg.docs[name] = item.get_content()
        if item.get_type() == ebooklib.ITEM_COVER and pkg.cover is None:
            pkg.cover = (item.get_content(), posixpath.splitext(name)[1].lstrip(".").lower() or "jpg")
    return pkg


def _load(path: Path) -> _Package:
    try:
        with zipfile.ZipFile(path) as zf:
            bad = zf.testzip()
            if bad is not None:
                raise NotAnEpubError(f"{path.name}: corrupt zip member {bad}")
            _read_opf(zf, path.name)  # clear errors for missing container/OPF
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise NotAnEpubError(f"{path.name}: truncated or corrupt zip ({exc})") from None
    lenient = _load_zip(path)
    try:
        pkg = _load_ebooklib(path)
    except NotAnEpubError:
        raise
    except Exception:  # noqa: BLE001 - ebooklib raises many types on malformed packages
        return lenient
    # ebooklib drops OPF details we need (cover meta, nav properties in EPUB2 books): merge them.
    pkg.cover = pkg.cover or lenient.cover
    pkg.nav = pkg.nav or lenient.nav
    pkg.ncx = pkg.ncx or lenient.ncx
    for k, v in lenient.meta.items():
        pkg.meta.setdefault(k, v)
    for k, v in lenient.docs.items():
        pkg.docs.setdefault(k, v)
    if not pkg.spine:
        pkg.spine = lenient.spine
    return pkg


# --- TOC ----------------------------------------------------------------------------------------


def _resolve(base_doc: str, href: str) -> tuple[str, str]:
    target, _, frag = href.partition("#")
    name = _norm(posixpath.join(posixpath.dirname(base_doc), target)) if target else base_doc
    return name, unquote(frag)


def _nav_entries(pkg: _Package) -> list[tuple[str, str, str]]:
    root = etree.fromstring(pkg.docs[pkg.nav], _XML) if pkg.nav in pkg.docs else None
    if root is None:
        return []
    toc = None
    for nav in root.iter("{*}nav"):
        t = " ".join(v for k, v in nav.attrib.items() if k.endswith("type"))
        if "toc" in t.split():
            toc = nav
            break
    if toc is None:
        return []
    out: list[tuple[str, str, str]] = []

    def walk(ol) -> None:
        for li in ol.iterfind("{*}li"):
            a = li.find("{*}a")
            parent = None
            if a is not None and a.get("href"):
                title = clean_space("".join(a.itertext()))
                name, frag = _resolve(pkg.nav, a.get("href"))
                out.append((title, name, frag))
                parent = (name, frag)
            mark = len(out)
            for sub in li.iterfind("{*}ol"):
                if sub.get("hidden") is None:
                    walk(sub)
            kids = out[mark:]
            # A whole document whose sub-entries all point inside it (an act and its scenes): the
            # document is the chapter, the sub-entries stay inside it.
            if parent and not parent[1] and kids and all(k[1] == parent[0] and k[2] for k in kids):
                del out[mark:]

    for ol in toc.iterfind("{*}ol"):
        walk(ol)
    return out


def _ncx_entries(pkg: _Package) -> list[tuple[str, str, str]]:
    root = etree.fromstring(pkg.docs[pkg.ncx], _XML) if pkg.ncx in pkg.docs else None
    if root is None:
        return []
    out = []
    for np in root.iter("{*}navPoint"):
        label = np.find("{*}navLabel/{*}text")
        content = np.find("{*}content")
        if content is None or not content.get("src"):
            continue
        title = clean_space(label.text or "") if label is not None else ""
        name, frag = _resolve(pkg.ncx, content.get("src"))
        out.append((title, name, frag))
    return out


# --- assembly -----------------------------------------------------------------------------------


def _first(meta: dict[str, list[str]], key: str) -> str | None:
    vals = meta.get(key)
    return vals[0] if vals else None


def _year(meta: dict[str, list[str]]) -> int | None:
    """The EPUB's dc:date year: when its packager made it, not when the work appeared."""
    for d in meta.get("date", []):
        m = re.search(r"\b(1[0-9]{3}|20[0-9]{2})\b", d)
        if m:
            return int(m.group(1))
    return None


def parse_epub(path: Path | str) -> Book:
    """Parse an EPUB 2/3 file into a Book (see the module docstring for the rules)."""
    path = Path(path)
    pkg = _load(path)
    title = _first(pkg.meta, "title") or path.stem
    language = (_first(pkg.meta, "language") or "en").strip()

    # Flatten the linear spine (plus non-linear documents only if the TOC points into them).
    toc = _nav_entries(pkg) if pkg.nav else []
    if not toc and pkg.ncx:
        toc = _ncx_entries(pkg)
    toc_docs = {name for _t, name, _f in toc}
    blocks: list[Block] = []
    where: dict[tuple[str, str], int] = {}
    id_types: dict[tuple[str, str], set[str]] = {}
    doc_heads: list[tuple[str, int, HtmlDoc]] = []
    for name, linear in pkg.spine:
        data = pkg.docs.get(name)
        if data is None:
            continue
        if (not linear or name == pkg.nav) and name not in toc_docs:
            # In the spine, so in the body, but not read: count it and say why.
            if ledger.current() is not None:
                ledger.set_aside("contents" if name == pkg.nav else "outside the reading order",
                                 [b.text for b in parse_html(data).blocks])
            continue
        doc = parse_html(data)
        offset = len(blocks)
        where[(name, "")] = offset
        id_types[(name, "")] = doc.start_types
        for i, pos in doc.ids.items():
            where[(name, i)] = offset + pos
            id_types[(name, i)] = doc.id_types.get(i, set())
        doc_heads.append((name, offset, doc))
        blocks.extend(doc.blocks)

    entries: list[Entry] = []
    for t, name, frag in toc:
        pos = where.get((name, frag), where.get((name, "")))
        if pos is None:
            continue
        types = id_types.get((name, frag), set()) | (id_types.get((name, ""), set()) if not frag else set())
        entries.append(Entry(pos, t or title, types))
    chapters, aside = _attempt(
        lambda: split_numbered_pieces(build_chapters(cut_gutenberg_footer(blocks), entries)) if entries else [])
    def spine_cut():
        return _spine_chapters(doc_heads, cut_gutenberg_header(cut_gutenberg_footer(blocks)), title)

    if len(chapters) <= 1 and len(doc_heads) >= 3:
        # A TOC that lists only the licence or the cover, over a spine of headed chapter files.
        spine, spine_aside = _attempt(spine_cut)
        if len(spine) >= 3:
            chapters, aside = spine, spine_aside
    if not chapters:
        chapters, aside = _attempt(spine_cut)
    if (outer := ledger.current()) is not None:
        outer.aside.extend(aside)  # only the cut that was kept says what it set aside

    authors = pkg.meta.get("creator", [])
    return Book(
        title=title,
        author=", ".join(authors) if authors else None,
        language=language,
        release_year=_year(pkg.meta),
        subjects=pkg.meta.get("subject", []),
        description=clean_space(re.sub(r"<[^>]+>", " ", _first(pkg.meta, "description") or "")) or None,
        cover=pkg.cover[0] if pkg.cover else None,
        cover_ext=pkg.cover[1] if pkg.cover else None,
        chapters=chapters,
        source_format="epub",
    )


def _attempt(build):
    """Run one way of cutting chapters with its own ledger records: (chapters, set-aside claims)."""
    with ledger.recording() as trial:
        chapters = build()
    return chapters, trial.aside


def _spine_chapters(doc_heads: list[tuple[str, int, HtmlDoc]], blocks: list[Block], title: str) -> list[Chapter]:
    """No usable TOC: one chapter per spine document that opens with a heading, else one chapter."""
    entries = []
    headed = 0
    for _name, offset, doc in doc_heads:
        head = next((b.text for b in doc.blocks[:3] if b.heading), None)
        if head:
            headed += 1
        if doc.start_types & {"cover", "titlepage", "toc", "copyright-page"}:
            continue
        entries.append(Entry(offset, head or doc.title or title, doc.start_types))
    if entries and headed >= max(2, len(doc_heads) // 2):
        chapters = build_chapters(blocks, entries)
        if chapters:
            return chapters
    ledger.set_aside("contents", [b.text for b in blocks if is_skip_title(b.text)])
    paras = [b.text for b in blocks if not is_skip_title(b.text)]
    return [Chapter(title=title, paragraphs=paras)] if paras else []
