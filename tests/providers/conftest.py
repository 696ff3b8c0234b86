"""Fixtures shared by the provider tests."""

import pytest

from tests.providers.fakes import Fake


@pytest.fixture
def fake():
    """A local fake service (tests/providers/fakes.py), closed afterwards."""
    f = Fake()
    yield f
    f.close()
