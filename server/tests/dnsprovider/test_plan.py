"""Change sets: only Roost's records change, nothing else is ever deleted (issue 8)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roost.dnsprovider import Record, spf
from roost.dnsprovider.base import InvalidRecordError
from roost.dnsprovider.plan import RecordSet, plan
from roost.dnsprovider.records import MailDomain, dkim_repairs, mail_records, mta_sts_record
from roost.dnsprovider.spf import SPFMergeError

ZONE = "example.org"
SPEC = MailDomain(
    ZONE,
    "mail.example.org",
    "198.51.100.10",
    "2001:db8::10",
    dkim=[("r1", "v=DKIM1; k=rsa; p=" + "A" * 392), ("e1", "v=DKIM1; k=ed25519; p=B")],
    dmarc_policy="quarantine",
    dmarc_rua="dmarc@example.org",
    tlsrpt_rua="tls@example.org",
    relay_spf=["a:relay.example.net"],
)


def rec(name: str, rtype: str, value: str) -> Record:
    return Record.make(name, rtype, value)


def changes(result) -> set[tuple[str, str, str, str]]:  # type: ignore[no-untyped-def]
    return {(c.action, c.record.name, c.record.type, c.record.value) for c in result.changes}


def test_empty_zone_gets_every_record() -> None:
    result = plan(ZONE, mail_records(SPEC), [])
    created = {(name, rtype) for action, name, rtype, _ in changes(result) if action == "create"}
    assert created == {
        ("mail.example.org", "A"), ("mail.example.org", "AAAA"), ("example.org", "MX"),
        ("example.org", "TXT"), ("r1._domainkey.example.org", "TXT"),
        ("e1._domainkey.example.org", "TXT"), ("_dmarc.example.org", "TXT"),
        ("_smtp._tls.example.org", "TXT"),
        *((f"{n}.example.org", t) for n in ("mta-sts", "autoconfig", "autodiscover")
          for t in ("A", "AAAA")),
        ("_submissions._tcp.example.org", "SRV"), ("_submission._tcp.example.org", "SRV"),
        ("_imaps._tcp.example.org", "SRV"), ("_imap._tcp.example.org", "SRV"),
    }  # fmt: skip
    assert not any(action == "delete" for action, *_ in changes(result))
    srv = {c.record.name: c.record.value for c in result.changes if c.record.type == "SRV"}
    assert srv["_submissions._tcp.example.org"] == "0 1 465 mail.example.org."  # RFC 8314 §5.1
    assert srv["_imap._tcp.example.org"] == "0 1 143 mail.example.org."  # RFC 6186 §3.1
    [spf_record] = [
        c.record for c in result.changes if c.record.name == ZONE and c.record.type == "TXT"
    ]
    assert spf_record.value == "v=spf1 ip4:198.51.100.10 ip6:2001:db8::10 a:relay.example.net -all"


def test_converged_zone_needs_nothing() -> None:
    first = plan(ZONE, mail_records(SPEC), [])
    second = plan(ZONE, mail_records(SPEC), first.after)
    assert second.changes == [] and second.conflicts == []
    assert sorted(second.before) == sorted(first.after)


def test_foreign_records_are_never_deleted() -> None:
    foreign = [
        rec(ZONE, "TXT", "google-site-verification=abc"),
        rec("www.example.org", "A", "192.0.2.80"),
        rec("_dmarc.example.org", "TXT", "some-other-verification"),
        rec("old._domainkey.example.org", "TXT", "v=DKIM1; p=OLD"),
        rec("r1._domainkey.example.org", "TXT", "site-verification=xyz"),
    ]
    result = plan(ZONE, mail_records(SPEC), foreign, replace_conflicts=True)
    assert not [c for c in result.changes if c.action == "delete"]


def test_dkim_record_not_holding_the_servers_key_is_replaced_and_reported() -> None:
    edited = rec("r1._domainkey.example.org", "TXT", "v=DKIM1; k=rsa; p=EDITEDBYHAND")
    result = plan(ZONE, mail_records(SPEC), [edited])
    assert ("delete", edited.name, "TXT", edited.value) in changes(result)
    assert ("create", edited.name, "TXT", SPEC.dkim[0][1]) in changes(result)
    assert not result.conflicts
    [message] = dkim_repairs(result)
    assert "r1._domainkey.example.org" in message and "private key" in message
    assert dkim_repairs(plan(ZONE, mail_records(SPEC), result.after)) == []


def test_a_missing_dkim_record_of_a_key_in_use_is_reported() -> None:
    e1 = "e1._domainkey.example.org"
    result = plan(ZONE, mail_records(SPEC), [])
    [message] = dkim_repairs(result, published=[e1])
    assert e1 in message and "missing" in message
    assert dkim_repairs(result) == []  # a new (pending) key is no repair


def test_only_the_named_retired_selectors_are_deleted() -> None:
    spec = replace(SPEC, dkim=SPEC.dkim[:1], dkim_retired=["e0"])
    zone = [
        rec("e0._domainkey.example.org", "TXT", "v=DKIM1; k=ed25519; p=RETIRED"),
        rec("e0._domainkey.example.org", "TXT", "not-a-dkim-key"),
        rec("other._domainkey.example.org", "TXT", "v=DKIM1; p=FOREIGN"),
        rec("google._domainkey.example.org", "TXT", "v=DKIM1; k=rsa; p=GOOGLE"),
    ]
    result = plan(ZONE, mail_records(spec), zone)
    deleted = {(c.record.name, c.record.value) for c in result.changes if c.action == "delete"}
    assert deleted == {("e0._domainkey.example.org", "v=DKIM1; k=ed25519; p=RETIRED")}
    assert dkim_repairs(result) == []  # a retirement, not a repair
    again = plan(ZONE, mail_records(spec), result.after + zone[1:])
    assert not [c for c in again.changes if c.action == "delete"]


def test_a_selector_both_published_and_retired_is_refused() -> None:
    with pytest.raises(InvalidRecordError, match="both published and retired"):
        mail_records(replace(SPEC, dkim_retired=["R1"]))


def test_existing_spf_is_merged_once() -> None:
    existing = [rec(ZONE, "TXT", "v=spf1 include:_spf.mailer.example ~all"),
                rec(ZONE, "TXT", "v=verification")]  # fmt: skip
    result = plan(ZONE, [s for s in mail_records(SPEC) if s.is_spf], existing)
    assert changes(result) == {
        ("create", ZONE, "TXT",
         "v=spf1 include:_spf.mailer.example ip4:198.51.100.10 ip6:2001:db8::10 "
         "a:relay.example.net ~all"),
        ("delete", ZONE, "TXT", "v=spf1 include:_spf.mailer.example ~all"),
    }  # fmt: skip


def test_spf_over_ten_lookups_is_an_error_unless_replacing() -> None:
    full = "v=spf1 " + " ".join(f"include:s{i}.example" for i in range(10)) + " -all"
    sets = [s for s in mail_records(SPEC) if s.is_spf]
    with pytest.raises(SPFMergeError):
        plan(ZONE, sets, [rec(ZONE, "TXT", full)])
    result = plan(ZONE, sets, [rec(ZONE, "TXT", full)], replace_conflicts=True)
    assert ("delete", ZONE, "TXT", full) in changes(result)


def test_two_spf_records_are_a_conflict() -> None:
    two = [rec(ZONE, "TXT", "v=spf1 mx -all"), rec(ZONE, "TXT", "v=spf1 a -all")]
    sets = [s for s in mail_records(SPEC) if s.is_spf]
    result = plan(ZONE, sets, two)
    assert result.changes == [] and "RFC 7208 §4.5" in result.conflicts[0].message()
    fixed = plan(ZONE, sets, two, replace_conflicts=True)
    assert {c.action for c in fixed.changes} == {"create", "delete"}
    assert len([c for c in fixed.changes if c.action == "create"]) == 1


@pytest.mark.parametrize(
    ("name", "rtype", "theirs"),
    [
        (ZONE, "MX", "10 mx.elsewhere.example."),
        ("_dmarc.example.org", "TXT", "v=DMARC1; p=none"),
        ("mail.example.org", "A", "192.0.2.99"),
    ],
)
def test_conflicts_are_reported_and_kept_unless_replacing(
    name: str, rtype: str, theirs: str
) -> None:
    existing = [rec(name, rtype, theirs)]
    kept = plan(ZONE, mail_records(SPEC), existing)
    [conflict] = kept.conflicts
    assert theirs in conflict.message() and "replace_conflicts" in conflict.message()
    assert not [c for c in kept.changes if c.record.name == name and c.record.type == rtype]
    replaced = plan(ZONE, mail_records(SPEC), existing, replace_conflicts=True)
    assert ("delete", name, rtype, theirs) in changes(replaced)
    assert replaced.conflicts == []


def test_mta_sts_id_is_replaced_and_other_txt_kept() -> None:
    existing = [rec("_mta-sts.example.org", "TXT", "v=STSv1; id=old"),
                rec("_mta-sts.example.org", "TXT", "unrelated")]  # fmt: skip
    result = plan(ZONE, [mta_sts_record(ZONE, "new1")], existing)
    assert changes(result) == {
        ("create", "_mta-sts.example.org", "TXT", "v=STSv1; id=new1"),
        ("delete", "_mta-sts.example.org", "TXT", "v=STSv1; id=old"),
    }
    assert result.conflicts == []


def test_mail_host_outside_the_zone_gets_no_address_here() -> None:
    spec = MailDomain("second.example", "mail.example.org", "198.51.100.10")
    names = {(s.name, s.type) for s in mail_records(spec)}
    assert ("mail.example.org", "A") not in names
    assert ("second.example", "MX") in names


def test_diff_shows_before_and_after() -> None:
    existing = [rec(ZONE, "TXT", "v=spf1 mx -all")]
    diff = plan(ZONE, mail_records(SPEC), existing).diff()
    assert 'example.org. 600 IN TXT "v=spf1 mx -all"' in diff["before"]
    assert (
        '"v=spf1 mx ip4:198.51.100.10 ip6:2001:db8::10 a:relay.example.net -all"' in diff["after"]
    )
    assert 'v=spf1 mx -all"\n' not in diff["after"]


def test_records_outside_the_zone_are_refused() -> None:
    with pytest.raises(Exception, match="not inside the zone"):
        plan(ZONE, [RecordSet.make("www.other.org", "A", ["192.0.2.1"])], [])


_NAMES = st.sampled_from(
    [ZONE, "_dmarc.example.org", "mail.example.org", "r1._domainkey.example.org", "www.example.org",
     "_smtp._tls.example.org", "_imaps._tcp.example.org", "mta-sts.example.org"]
)  # fmt: skip
_TXT = st.one_of(
    st.text(max_size=300),
    st.builds(lambda rest: "v=spf1 " + rest, st.text(max_size=80)),
    st.builds(lambda rest: "v=DMARC1" + rest, st.text(max_size=40)),
    st.sampled_from(["v=spf1", "V=SPF1 -all", "v=spf1 include:a include:b -all", '"quoted"']),
)
_EXISTING = st.lists(
    st.one_of(
        st.builds(lambda n, v: Record(n, "TXT", v), _NAMES, _TXT),
        st.builds(lambda n, v: Record.make(n, "A", v), _NAMES, st.ip_addresses(v=4).map(str)),
        st.builds(
            lambda v: Record.make(ZONE, "MX", f"{v} mx.elsewhere.example."), st.integers(0, 99)
        ),
    ),
    max_size=12,
)


@given(_EXISTING, st.booleans())
def test_hostile_zones_lose_only_what_roost_manages(existing: list[Record], replace: bool) -> None:
    sets = mail_records(SPEC)
    try:
        result = plan(ZONE, sets, existing, replace_conflicts=replace)
    except SPFMergeError:
        return  # the user's SPF record is already over 10 look-ups: nothing is changed
    for change in result.changes:
        if change.action == "delete":
            assert change.record in existing
            owner = [s for s in sets if s.owns(change.record)]
            assert owner, f"deleted {change.record} that no Roost set owns"
            assert replace or owner[0].is_spf or owner[0].replace
    spf_after = [r for r in result.after if r.name == ZONE and r.type == "TXT"]
    if replace or len([r for r in existing if r.name == ZONE and spf.is_spf(r.value)]) <= 1:
        assert len(spf_after) == 1  # RFC 7208 §3.2: one SPF record
    again = plan(ZONE, sets, _applied(existing, result), replace_conflicts=replace)
    assert again.changes == []


def _applied(existing: list[Record], result) -> list[Record]:  # type: ignore[no-untyped-def]
    deleted = {c.record for c in result.changes if c.action == "delete"}
    return [r for r in existing if r not in deleted] + [
        c.record for c in result.changes if c.action == "create"
    ]


def test_mta_sts_id_is_checked() -> None:
    with pytest.raises(Exception, match=r"RFC 8461 §3\.1"):
        mta_sts_record(ZONE, "not valid!")
