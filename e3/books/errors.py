"""Errors for book input: each ends as one readable line for the user."""

from __future__ import annotations

from e3.errors import E3Error


class BookError(E3Error):
    """A book could not be read or fetched."""


class EmptyBookError(BookError):
    """The file is empty, or no readable words were found in it."""


class NotAnEpubError(BookError):
    """A zip that is not an EPUB: no container/OPF, truncated or corrupt."""


class EncryptedPDFError(BookError):
    """The PDF needs a password."""


class ScannedPDFError(BookError):
    """The PDF has pages but no text layer."""


class UnknownFormatError(BookError):
    """The bytes match no supported book format."""


class BinaryGarbageError(BookError):
    """A file that claims to be text (e.g. named .txt) holds binary data."""


class DownloadError(BookError):
    """A download failed or arrived incomplete."""
