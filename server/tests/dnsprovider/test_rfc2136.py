"""The rfc2136 provider and the propagation wait against a real Knot with TSIG."""

from __future__ import annotations

import base64

import pytest

from roost.dnsprovider import (
    CredentialsError,
    PropagationError,
    Record,
    UnreachableError,
    ZoneNotHostedError,
    open_provider,
    wait_for_propagation,
)
from roost.dnsprovider.plan import sync
from roost.dnsprovider.records import MailDomain, mail_records
from tests.dnsprovider.conftest import ZONE, options
from tests.knot import KnotServer

SPEC = MailDomain(
    ZONE,
    "mail.example.org",
    "198.51.100.10",
    dkim=[("r1", "v=DKIM1; k=rsa; p=" + "Q" * 392)],
    dmarc_rua="dmarc@example.org",
)


def test_records_land_hand_made_ones_survive_and_a_second_sync_changes_nothing(
    tsig_knot: KnotServer,
) -> None:
    provider = open_provider("rfc2136", options(tsig_knot))
    first = sync(provider, ZONE, mail_records(SPEC))
    assert first.changes and not first.conflicts
    held = set(provider.records(ZONE))
    assert set(first.after) <= held
    assert {
        Record.make(ZONE, "TXT", "google-site-verification=abc"),
        Record.make("www.example.org", "A", "192.0.2.80"),
        Record.make("_dmarc.example.org", "TXT", "unrelated"),
    } <= held
    dkim = provider.records(ZONE, "r1._domainkey.example.org", "TXT")
    assert [r.value for r in dkim] == [SPEC.dkim[0][1]]  # 411 bytes, split and joined back
    second = sync(provider, ZONE, mail_records(SPEC))
    assert second.changes == []
    assert set(provider.records(ZONE)) == held


def test_check_mode_changes_nothing(tsig_knot: KnotServer) -> None:
    provider = open_provider("rfc2136", options(tsig_knot))
    before = provider.records(ZONE)
    assert sync(provider, ZONE, mail_records(SPEC), check=True).changes
    assert provider.records(ZONE) == before


def test_delete_removes_one_value_only(tsig_knot: KnotServer) -> None:
    provider = open_provider("rfc2136", options(tsig_knot))
    provider.create(ZONE, Record.make(ZONE, "TXT", "v=spf1 -all"))
    provider.delete(ZONE, Record.make(ZONE, "TXT", "v=spf1 -all"))
    assert [r.value for r in provider.records(ZONE, ZONE, "TXT")] == [
        "google-site-verification=abc"
    ]


def test_wrong_key_unknown_zone_and_dead_server_name_the_fix(tsig_knot: KnotServer) -> None:
    wrong = base64.b64encode(b"w" * 32).decode()
    with pytest.raises(CredentialsError, match="roost_dns_credentials"):
        open_provider("rfc2136", options(tsig_knot, tsig_secret=wrong)).records(ZONE)
    with pytest.raises(CredentialsError, match="roost_dns_credentials"):
        open_provider("rfc2136", options(tsig_knot, tsig_name="nobody")).create(
            ZONE, Record.make("x.example.org", "A", "192.0.2.1")
        )
    provider = open_provider("rfc2136", options(tsig_knot))
    with pytest.raises(ZoneNotHostedError, match="roost_domains"):
        provider.records("not-here.org")
    with pytest.raises(ZoneNotHostedError, match="roost_domains"):
        provider.create("not-here.org", Record.make("x.not-here.org", "A", "192.0.2.1"))
    with pytest.raises(CredentialsError, match="base64"):
        open_provider("rfc2136", options(tsig_knot, tsig_secret="not base64!"))
    dead = open_provider("rfc2136", options(tsig_knot, port=1, timeout=1))
    with pytest.raises(UnreachableError, match=r"roost_dns_credentials\.server and port"):
        dead.records(ZONE)


def test_wait_for_propagation_polls_the_authoritative_server(tsig_knot: KnotServer) -> None:
    provider = open_provider("rfc2136", options(tsig_knot))
    ask = {"nameservers": [tsig_knot.address], "port": tsig_knot.port}
    with pytest.raises(PropagationError, match=rf"{tsig_knot.address}: serves nothing"):
        wait_for_propagation(ZONE, "_acme-challenge.example.org", "TXT", ["token"],
                             timeout=0.5, interval=0.1, **ask)  # fmt: skip
    provider.create(ZONE, Record.make("_acme-challenge.example.org", "TXT", "token"))
    polled = wait_for_propagation(ZONE, "_acme-challenge.example.org", "TXT", ["token"],
                                  timeout=10, **ask)  # fmt: skip
    assert polled == [tsig_knot.address]
