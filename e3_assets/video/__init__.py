"""Book video: the narrated video of a book (partitioned by book): the m4b's audio over its
illustrations, one picture per chapter opening, burned-in subtitles as a separate track."""

from e3_assets.video.book import book_video

assets = [book_video]
