"""A domain taken out of roost_domains loses Roost's records and nothing else (issue 9 §2)."""

from __future__ import annotations

from dataclasses import replace

from roost.dnsprovider import Record, spf
from roost.dnsprovider.plan import plan
from roost.dnsprovider.records import mail_records, mta_sts_record, removed_mail_records

from .test_plan import SPEC, ZONE, rec

#: The domain as the inventory describes it once marked absent: its keys were removed.
GONE = replace(SPEC, dkim=[], dkim_retired=["r1", "e1"])

FOREIGN = [
    rec(ZONE, "TXT", "google-site-verification=abc"),
    rec("www.example.org", "A", "198.51.100.80"),
    rec("mta-sts.example.org", "A", "198.51.100.99"),  # not the address Roost wrote
    rec("_dmarc.example.org", "TXT", "v=DMARC1; p=reject"),  # the user's own policy
    rec("s1._domainkey.example.org", "TXT", "v=DKIM1; k=rsa; p=FOREIGN"),  # another sender's key
    rec("other.test", "MX", "10 mx.other.test."),
]


def published() -> list[Record]:
    """The zone after Roost published SPEC's records and its MTA-STS id."""
    wanted = [*mail_records(SPEC), mta_sts_record(ZONE, "20261130")]
    return plan(ZONE, wanted, []).after


def applied(existing: list[Record], result) -> list[Record]:  # type: ignore[no-untyped-def]
    deleted = {c.record for c in result.changes if c.action == "delete"}
    return [r for r in existing if r not in deleted] + [
        c.record for c in result.changes if c.action == "create"
    ]


def test_everything_roost_published_goes() -> None:
    result = plan(ZONE, removed_mail_records(GONE), published())
    assert {c.action for c in result.changes} == {"delete"}
    assert applied(published(), result) == []


def test_foreign_records_stay_even_at_roosts_names() -> None:
    zone = published() + FOREIGN
    result = plan(ZONE, removed_mail_records(GONE), zone)
    assert sorted(applied(zone, result)) == sorted(FOREIGN)


def test_a_merged_spf_record_gets_its_own_terms_back() -> None:
    theirs = "v=spf1 include:_spf.google.com ~all"
    zone = [rec(ZONE, "TXT", theirs)]
    merged = applied(zone, plan(ZONE, mail_records(SPEC), zone))
    assert any("ip4:198.51.100.10" in r.value for r in merged)
    result = plan(ZONE, removed_mail_records(GONE), merged)
    assert applied(merged, result) == zone


def test_an_spf_record_roost_wrote_is_deleted_whole() -> None:
    mechanisms = ["ip4:198.51.100.10", "ip6:2001:db8::10", "a:relay.example.net"]
    zone = [rec(ZONE, "TXT", spf.record(mechanisms))]
    assert applied(zone, plan(ZONE, removed_mail_records(GONE), zone)) == []


def test_a_second_removal_changes_nothing() -> None:
    zone = published() + FOREIGN
    after = applied(zone, plan(ZONE, removed_mail_records(GONE), zone))
    again = plan(ZONE, removed_mail_records(GONE), after)
    assert again.changes == [] and again.conflicts == []


def test_unmerge_keeps_order_and_foreign_terms() -> None:
    assert spf.unmerge("v=spf1 mx ip4:1.2.3.4 include:x -all", ["IP4:1.2.3.4"]) == (
        "v=spf1 mx include:x -all"
    )
    assert spf.unmerge("v=spf1 mx -all", ["ip4:1.2.3.4"]) == "v=spf1 mx -all"
