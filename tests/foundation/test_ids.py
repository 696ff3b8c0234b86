"""Ids are checked whole: a trailing newline (which `$` lets through) is refused everywhere."""

import pytest

from e3.foundry import InvalidBookId, validate_book_id
from e3.intake import classify


@pytest.mark.parametrize("bad", ["nl\n", "book\n", "Book", "-x", "a/b", "", "x" * 64])
def test_bad_book_ids_are_refused(bad):
    with pytest.raises(InvalidBookId):
        validate_book_id(bad)


def test_good_book_ids_and_gutenberg_ids():
    assert validate_book_id("pg98") == "pg98"
    assert classify("98").kind == "gutenberg"


def test_video_job_keys_and_merge_refs_are_checked_whole():
    from e3.merge.jobs import JobNotFound, _hex_prefix
    from e3.studio import KEY

    assert KEY.fullmatch("vj-0123456789ab") and not KEY.fullmatch("vj-0123456789ab\n")
    with pytest.raises(JobNotFound):
        _hex_prefix("mj-0123\n0")
