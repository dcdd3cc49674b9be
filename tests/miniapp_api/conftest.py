from __future__ import annotations

import pytest

from server import create_app


@pytest.fixture
def app(test_settings):
    """The production app on a fresh SQLite file, with the demo content loaded on start."""
    return create_app(test_settings)
