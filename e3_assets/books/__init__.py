"""Books in: source, parsed chapters, narration chunks, and the inbox sensor."""

from e3_assets.books.assets import book_source, narration_chunks, parsed_chapters

assets = [book_source, parsed_chapters, narration_chunks]
