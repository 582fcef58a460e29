"""The port 25 probe against real loopback sockets, and the outbound choice made from it."""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roost.delivery.probe import (
    OutboundChoiceError,
    ProbeResult,
    RelayMode,
    choose,
    port_open,
    probe,
    probe_address,
    read_greeting,
)
from tests.loopback import closed_port, greets, listener


def test_a_greeting_means_reachable() -> None:
    with listener(greets) as port:
        state, detail = probe_address("127.0.0.1", port, timeout=10)
    assert state == "reachable"
    assert detail == "220 mx.peer.test ESMTP ready"


def test_a_refused_connection_means_blocked() -> None:
    state, detail = probe_address("127.0.0.1", closed_port(), timeout=10)
    assert state == "blocked"
    assert "refused" in detail.lower()


def test_a_host_that_never_greets_means_blocked() -> None:
    with listener(None) as port:
        state, detail = probe_address("127.0.0.1", port, timeout=0.5)
    assert state == "blocked"
    assert "no SMTP greeting" in detail


@pytest.mark.parametrize(
    ("serve", "expected"),
    [
        (lambda conn: None, "closed before any SMTP greeting"),
        (lambda conn: conn.sendall(b"HTTP/1.1 400 Bad Request\r\n"), "not with an SMTP greeting"),
    ],
)
def test_other_answers_mean_blocked(serve: Callable[[socket.socket], None], expected: str) -> None:
    with listener(serve) as port:
        state, detail = probe_address("127.0.0.1", port, timeout=10)
    assert (state, expected in detail) == ("blocked", True)


def test_an_endless_line_is_capped() -> None:
    with listener(lambda conn: conn.sendall(b"2" * 4096)) as port:
        state, detail = probe_address("127.0.0.1", port, timeout=10)
    assert state == "blocked"
    assert "not with an SMTP greeting" in detail


@given(st.binary(max_size=600) | st.from_regex(rb"\A[1-6][0-9]{2}[ \r\n-]?.{0,20}", fullmatch=True))
def test_any_bytes_are_judged_without_error(data: bytes) -> None:
    """RFC 5321 §4.2: Reply-line = 3DIGIT (first 2-5) then SP, "-" or the line end."""
    greeting = data.split(b"\n", 1)[0].rstrip(b"\r")
    is_reply = (
        greeting[:1] in (b"2", b"3", b"4", b"5")
        and greeting[1:3].isdigit()
        and len(greeting) >= 3
        and greeting[3:4] in (b"", b" ", b"-")
    )
    state, detail = read_greeting(data)
    assert state == ("reachable" if is_reply else "blocked")
    assert isinstance(detail, str)


def test_probe_stops_at_the_first_host_that_greets() -> None:
    closed = closed_port()
    with listener(greets) as port:
        addresses = {"blocked.test": ["127.0.0.1"], "open.test": ["127.0.0.1"]}

        def resolve(host: str, _port: int) -> list[str]:
            if host == "nowhere.test":
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            return addresses[host]

        results = [
            *probe(["nowhere.test", "blocked.test"], port=closed, timeout=10, resolve=resolve),
            *probe(["open.test", "blocked.test"], port=port, timeout=10, resolve=resolve),
        ]
    assert [(r.host, r.state) for r in results] == [
        ("nowhere.test", "unresolved"),
        ("blocked.test", "blocked"),
        ("open.test", "reachable"),
    ]
    assert port_open(results[:2]) is False
    assert port_open(results) is True
    assert port_open(results[:1]) is None


BLOCKED = [ProbeResult("mx.peer.test", "203.0.113.25", "blocked", "no answer (dropped)")]
OPEN = [ProbeResult("mx.peer.test", "203.0.113.25", "reachable", "220 mx.peer.test")]
UNRESOLVED = [ProbeResult("mx.peer.test", None, "unresolved", "cannot resolve")]


@pytest.mark.parametrize(
    ("mode", "results", "relay", "expected"),
    [
        ("auto", OPEN, True, "direct"),
        ("auto", OPEN, False, "direct"),
        ("auto", BLOCKED, True, "smarthost"),
        ("always", OPEN, True, "smarthost"),
        ("never", BLOCKED, True, "direct"),
        ("never", BLOCKED, False, "direct"),
    ],
)
def test_choice(mode: RelayMode, results: list[ProbeResult], relay: bool, expected: str) -> None:
    assert choose(mode, results, relay) == expected


def test_blocked_without_relay_explains_both_ways_out() -> None:
    with pytest.raises(OutboundChoiceError) as error:
        choose("auto", BLOCKED, relay_configured=False)
    message = str(error.value)
    assert "mx.peer.test [203.0.113.25]: no answer (dropped)" in message
    assert "ask the VPS provider to unblock" in message
    assert "roost_relay" in message and "465, 587 or 2525" in message


@pytest.mark.parametrize(
    ("mode", "results", "message"),
    [
        ("always", OPEN, "roost_relay is not set"),
        ("auto", UNRESOLVED, "could not resolve any of its hosts"),
    ],
)
def test_no_guessing(mode: RelayMode, results: list[ProbeResult], message: str) -> None:
    with pytest.raises(OutboundChoiceError, match=message):
        choose(mode, results, relay_configured=False)
