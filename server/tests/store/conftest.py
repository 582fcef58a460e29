"""A real SQLite store in a temporary directory, with one hosted domain and two users."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from store_fixtures import ALICE, BOB, DOMAIN

from roost.store import SQLiteStore


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    opened = SQLiteStore(tmp_path / "state")
    opened.add_domain(DOMAIN)
    opened.add_user(ALICE, "hash-a")
    opened.add_user(BOB, "hash-b")
    yield opened
    opened.close()
