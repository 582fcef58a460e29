"""library/roost_port25_probe against loopback listeners standing in for remote MX hosts."""

from __future__ import annotations

import pytest

from tests.loopback import closed_port, greets, listener
from tests.modules.harness import run_module

MODULE = "roost_port25_probe"


@pytest.mark.parametrize("check", [False, True])
def test_a_greeting_means_direct_delivery_in_check_mode_too(check: bool) -> None:
    with listener(greets) as port:
        result, raw = run_module(
            MODULE, {"hosts": ["127.0.0.1"], "port": port, "timeout": 10}, check=check
        )
    assert result["changed"] is False, raw
    assert result["outbound"] == "direct"
    assert result["port_open"] is True
    assert result["results"] == [
        {
            "host": "127.0.0.1",
            "address": "127.0.0.1",
            "state": "reachable",
            "detail": "220 mx.peer.test ESMTP ready",
        }
    ]


def test_blocked_with_a_relay_chooses_the_smarthost() -> None:
    args = {"hosts": ["127.0.0.1"], "port": closed_port(), "relay_configured": True}
    result, raw = run_module(MODULE, args)
    assert result["changed"] is False, raw
    assert (result["outbound"], result["port_open"]) == ("smarthost", False)
    assert result["results"][0]["state"] == "blocked"


def test_blocked_without_a_relay_stops_with_the_choices_and_what_was_seen() -> None:
    with listener(None) as silent:
        args = {"hosts": ["127.0.0.1"], "port": silent, "timeout": 1}
        result, raw = run_module(MODULE, args)
    assert result["failed"] is True, raw
    assert "roost_relay" in result["msg"]
    assert "no SMTP greeting within 1 s" in result["msg"]
    assert result["port_open"] is False
    assert result["results"][0]["state"] == "blocked"


def test_a_forced_relay_probes_nothing() -> None:
    args = {"hosts": ["127.0.0.1"], "port": closed_port(), "relay_mode": "always"}
    result, raw = run_module(MODULE, {**args, "relay_configured": True})
    assert (result["outbound"], result["port_open"], result["results"]) == ("smarthost", None, [])
    refused, raw = run_module(MODULE, args)
    assert refused["failed"] is True, raw
    assert 'roost_relay_mode is "always" but roost_relay is not set' in refused["msg"]


def test_never_goes_direct_through_a_blocked_port_with_a_warning() -> None:
    args = {"hosts": ["127.0.0.1"], "port": closed_port(), "relay_mode": "never"}
    result, raw = run_module(MODULE, args)
    assert (result["outbound"], result["port_open"]) == ("direct", False), raw
    assert "looks blocked but roost_relay_mode is never" in raw


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({}, "missing required arguments: hosts"),
        ({"hosts": ["mx.test"], "relay_mode": "sometimes"}, "value of relay_mode must be one of"),
        ({"hosts": ["mx.test"], "port": "twenty-five"}, "port"),
    ],
)
def test_bad_arguments_fail_before_any_probe(args: dict[str, object], message: str) -> None:
    result, raw = run_module(MODULE, args)
    assert result["failed"] is True, raw
    assert message in result["msg"]
