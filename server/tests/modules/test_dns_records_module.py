"""library/roost_dns_records against a real Knot through the rfc2136 provider (TSIG): check
mode and diff on a fresh zone, one change then none, hand-made records kept, conflicts
reported, and every failure one message naming the variable to fix, with the zone as it was."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest

from roost.dnsprovider import Record, open_provider
from tests.dnsprovider.conftest import HAND_MADE, SECRET, ZONE, options
from tests.knot import KnotServer
from tests.loopback import closed_port
from tests.modules.harness import run_module

MODULE = "roost_dns_records"
MAIL = {"host": f"mail.{ZONE}", "ipv4": "198.51.100.10", "dmarc_rua": f"dmarc@{ZONE}"}
KEPT = {
    Record.make(ZONE, "TXT", "google-site-verification=abc"),
    Record.make(f"www.{ZONE}", "A", "192.0.2.80"),
    Record.make(f"_dmarc.{ZONE}", "TXT", "unrelated"),
}


@pytest.fixture
def knot() -> Iterator[KnotServer]:
    zone = HAND_MADE + "\n@ MX 5 mx.elsewhere.test."  # the user's old mail host
    with KnotServer({ZONE: zone}, tsig=("roost-test", "hmac-sha256", SECRET)) as server:
        yield server


def held(knot: KnotServer) -> set[Record]:
    return set(open_provider("rfc2136", options(knot)).records(ZONE))


def arguments(knot: KnotServer, **changes: object) -> dict[str, object]:
    args = {"provider": "rfc2136", "credentials": options(knot), "zone": ZONE, "mail": MAIL}
    return {**args, **changes}


def test_check_mode_lists_the_records_and_changes_nothing(knot: KnotServer) -> None:
    before = held(knot)
    result, raw = run_module(MODULE, arguments(knot), check=True)
    assert result["changed"] is True, raw
    after = result["diff"]["after"].splitlines()
    assert f'{ZONE}. 600 IN TXT "v=spf1 ip4:198.51.100.10 -all"' in after
    assert f"mail.{ZONE}. 600 IN A 198.51.100.10" in after
    # The credentials' port and timeout (3) are not masked out of the results: no_log is
    # for secrets.
    assert f"_imap._tcp.{ZONE}. 600 IN SRV 0 1 143 mail.{ZONE}." in after
    created = {(c["name"], c["type"]) for c in result["changes"] if c["action"] == "create"}
    assert {(f"mail.{ZONE}", "A"), (f"_dmarc.{ZONE}", "TXT"), (ZONE, "TXT")} <= created
    assert held(knot) == before
    assert SECRET not in raw and "roost-test" not in raw


def test_one_run_changes_the_next_does_not_and_hand_made_records_stay(knot: KnotServer) -> None:
    first, raw = run_module(MODULE, arguments(knot))
    assert first["changed"] is True, raw
    after = held(knot)
    assert after >= KEPT
    assert {Record.make(r["name"], r["type"], r["value"]) for r in first["records"]} <= after
    again, raw = run_module(MODULE, arguments(knot))
    assert (again["changed"], again["changes"]) == (False, []), raw
    assert held(knot) == after


def test_a_conflicting_mx_is_kept_with_a_warning_unless_replacing_is_asked(
    knot: KnotServer,
) -> None:
    old_mx = Record.make(ZONE, "MX", "5 mx.elsewhere.test.")
    result, raw = run_module(MODULE, arguments(knot))
    assert result["conflicts"] and "replace_conflicts" in result["conflicts"][0], raw
    assert "mx.elsewhere.test" in raw and '"warnings"' in raw
    assert old_mx in held(knot)
    replaced, raw = run_module(MODULE, arguments(knot, replace_conflicts=True))
    assert replaced["changed"] is True and not replaced["conflicts"], raw
    mx = {r for r in held(knot) if r.type == "MX"}
    assert old_mx not in mx and len(mx) == 1


def test_extra_record_sets_replace_only_what_they_match(knot: KnotServer) -> None:
    def sts(policy_id: str) -> dict[str, object]:
        record = {"name": "_mta-sts", "type": "TXT", "values": [f"v=STSv1; id={policy_id}"]}
        return {**record, "match": "v=STSv1", "replace": True}

    first, raw = run_module(MODULE, arguments(knot, mail=None, records=[sts("one")]))
    assert first["changed"] is True, raw
    second, raw = run_module(MODULE, arguments(knot, mail=None, records=[sts("two")]))
    assert second["changed"] is True, raw
    values = {r.value for r in held(knot) if r.name == f"_mta-sts.{ZONE}"}
    assert values == {"v=STSv1; id=two"}
    assert held(knot) >= KEPT


@pytest.mark.parametrize(
    ("changes", "variable"),
    [
        ({"tsig_secret": base64.b64encode(b"w" * 32).decode()}, "roost_dns_credentials"),
        ({"tsig_name": "nobody"}, "roost_dns_credentials"),
        ({"port": None}, "roost_dns_credentials"),
        ({"zone": "not-here.org"}, "roost_domains"),
    ],
)
def test_each_failure_is_one_message_naming_the_variable_and_the_zone_is_unchanged(
    knot: KnotServer, changes: dict[str, object], variable: str
) -> None:
    before = held(knot)
    credentials = options(knot, **{k: v for k, v in changes.items() if k != "zone"})
    if changes.get("port", 0) is None:
        credentials["port"] = closed_port()
    zone = str(changes.get("zone", ZONE))
    args = arguments(
        knot, credentials=credentials, zone=zone, mail={**MAIL, "host": f"mail.{zone}"}
    )
    result, raw = run_module(MODULE, args)
    assert result["failed"] is True, raw
    assert variable in result["msg"]
    assert "\n" not in result["msg"].strip()
    assert SECRET not in raw
    assert held(knot) == before


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"provider": "route53"}, "value of provider must be one of"),
        ({"mail": {"ipv4": "198.51.100.10"}}, "missing required arguments: host"),
        (
            {"records": [{"name": "x", "type": "PTR", "values": ["y."]}]},
            "value of type must be one of",
        ),
    ],
)
def test_bad_arguments_fail_before_any_call(
    knot: KnotServer, changes: dict[str, object], message: str
) -> None:
    before = held(knot)
    result, raw = run_module(MODULE, arguments(knot, **changes))
    assert result["failed"] is True, raw
    assert message in result["msg"]
    assert held(knot) == before
