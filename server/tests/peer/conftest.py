"""Fixtures for the tests of tests/postfix.py: one Postfix MX and one SASL smarthost per module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.postfix import PostfixPeer

REJECT = {
    "busy@peer.test": "450 4.2.0 try later",
    "gone@peer.test": "550 5.1.1 no such user",
}
SASL_USERS = {"roost": "relay password", "user@client.test": "another one"}


@pytest.fixture(scope="module")
def mx() -> Iterator[PostfixPeer]:
    """A remote MX for peer.test and other.test, refusing two recipients."""
    with PostfixPeer(["peer.test", "other.test"], reject=REJECT) as peer:
        yield peer


@pytest.fixture(scope="module")
def smarthost() -> Iterator[PostfixPeer]:
    """A smarthost: submission (STARTTLS + AUTH) and smtps (implicit TLS + AUTH)."""
    with PostfixPeer(["relay.test"], hostname="smtp.relay.test", sasl_users=SASL_USERS) as peer:
        yield peer
