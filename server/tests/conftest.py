"""Fixtures shared by the end-to-end tests: one real DNS server (Knot) on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.knot import KnotServer


@pytest.fixture(scope="session")
def knot() -> Iterator[KnotServer]:
    """Zones are added by the tests that need them with `knot.set_zone`."""
    with KnotServer({"roost-tests.test": 'info TXT "zones are added by tests"'}) as server:
        yield server


@pytest.fixture(scope="session")
def knot_address(knot: KnotServer) -> str:
    return knot.nameserver
