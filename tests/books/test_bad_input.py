"""Bad input: each case raises a clear BookError subclass (fixtures are built in tmp_path)."""

from __future__ import annotations

import zipfile

import pytest

from e3.books.detect import detect_format
from e3.books.errors import (
    BinaryGarbageError, BookError, EmptyBookError, NotAnEpubError, UnknownFormatError,
)
from e3.books.parse import parse_book
from tests.conftest import corpus_file


def test_empty_file(tmp_path):
    p = tmp_path / "empty.epub"
    p.write_bytes(b"")
    with pytest.raises(EmptyBookError, match="empty"):
        parse_book(p)


def test_whitespace_only_text_is_empty(tmp_path):
    p = tmp_path / "blank.txt"
    p.write_text("\n\n   \r\n")
    with pytest.raises(EmptyBookError):
        parse_book(p)


def test_zip_that_is_not_an_epub(tmp_path):
    p = tmp_path / "book.epub"
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr("hello.txt", "not a book")
    with pytest.raises(NotAnEpubError, match="not an EPUB"):
        parse_book(p)


def test_epub_whose_opf_is_missing(tmp_path):
    p = tmp_path / "noopf.epub"
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr("mimetype", "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        zf.writestr("META-INF/container.xml",
                    '<?xml version="1.0"?><container version="1.0" '
                    'xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles>'
                    '<rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>'
                    '</rootfiles></container>')
    with pytest.raises(NotAnEpubError, match="OPF.*missing|missing"):
        parse_book(p)


def test_truncated_epub(tmp_path):
    src = corpus_file("epub/idpf_wasteland_epub3.epub").read_bytes()
    p = tmp_path / "cut.epub"
    p.write_bytes(src[: len(src) // 2])
    with pytest.raises(NotAnEpubError, match="truncated|corrupt"):
        parse_book(p)


def test_binary_garbage_named_txt(tmp_path):
    p = tmp_path / "book.txt"
    p.write_bytes(bytes(range(256)) * 40)
    with pytest.raises(BinaryGarbageError):
        parse_book(p)
    png = tmp_path / "image.txt"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100)
    with pytest.raises(BinaryGarbageError, match="PNG"):
        parse_book(png)


def test_unknown_binary_format(tmp_path):
    p = tmp_path / "thing.bin"
    p.write_bytes(b"\x7fELF" + bytes(200))
    with pytest.raises(UnknownFormatError):
        parse_book(p)


def test_detect_sniffs_bytes_not_extension(tmp_path):
    html = tmp_path / "book.txt"
    html.write_text("<!DOCTYPE html><html><body><p>Hi</p></body></html>")
    assert detect_format(html) == "html"
    pdf = corpus_file("pdf/pdflatex-outline_4p.pdf")
    renamed = tmp_path / "x.epub"
    renamed.write_bytes(pdf.read_bytes())
    assert detect_format(renamed) == "pdf"


def test_errors_are_book_errors():
    for cls in (EmptyBookError, NotAnEpubError, BinaryGarbageError, UnknownFormatError):
        assert issubclass(cls, BookError)
