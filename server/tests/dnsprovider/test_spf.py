"""SPF merging: the user's record keeps every term and gains Roost's (RFC 7208)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roost.dnsprovider import spf

OURS = ["ip4:198.51.100.10", "ip6:2001:db8::10"]


def test_mechanisms_go_before_all_and_existing_terms_stay_in_order() -> None:
    merged = spf.merge("v=spf1 include:_spf.google.com mx ~all", OURS)
    assert merged == "v=spf1 include:_spf.google.com mx ip4:198.51.100.10 ip6:2001:db8::10 ~all"


def test_without_all_mechanisms_are_appended() -> None:
    assert spf.merge("v=spf1 redirect=_spf.example.net", ["a:relay.example.net"]) == (
        "v=spf1 redirect=_spf.example.net a:relay.example.net"
    )


def test_present_mechanisms_are_not_added_twice_case_insensitively() -> None:
    existing = "v=spf1 IP4:198.51.100.10 +ip6:2001:db8::10 -all"
    assert spf.merge(existing, OURS) == existing


def test_ten_lookups_is_the_limit() -> None:
    nine = "v=spf1 " + " ".join(f"include:s{i}.example.net" for i in range(9)) + " -all"
    assert spf.lookups(spf.merge(nine, ["a:relay.example.net"])) == 10
    ten = "v=spf1 " + " ".join(f"include:s{i}.example.net" for i in range(10)) + " -all"
    assert spf.merge(ten, OURS) != ten  # ip4/ip6 cost no look-up (RFC 7208 §4.6.4)
    with pytest.raises(spf.SPFMergeError) as err:
        spf.merge(ten, ["a:relay.example.net"])
    assert "11 DNS look-ups" in str(err.value) and "roost_domains" in str(err.value)


def test_lookup_counting() -> None:
    record = "v=spf1 a mx:x.example ptr exists:%{i}.x include:y redirect=z exp=w ip4:1.2.3.4 -all"
    assert spf.lookups(record) == 6


def test_version_needs_a_space_or_the_end() -> None:
    assert spf.is_spf("v=spf1") and spf.is_spf("V=SPF1 -all")
    assert not spf.is_spf("v=spf10 -all") and not spf.is_spf("spf2.0/pra")


_TERM = st.one_of(
    st.from_regex(r"[+~?-]?(a|mx|ptr|include|exists|ip4|ip6|all)(:[!-~]{1,20})?", fullmatch=True),
    st.from_regex(r"[a-z]{1,8}=[!-~]{0,20}", fullmatch=True),
    st.text(st.characters(min_codepoint=33, max_codepoint=0x2FFF), min_size=1, max_size=12),
)


@given(st.lists(_TERM, max_size=15), st.sampled_from(["", " ", "  "]))
def test_hostile_existing_records_keep_their_terms(terms: list[str], gap: str) -> None:
    existing = "v=spf1 " + gap + " ".join(terms)
    try:
        merged = spf.merge(existing, OURS)
    except spf.SPFMergeError:
        # Roost's ip4:/ip6: cost nothing: only a record already over the limit refuses them.
        assert spf.lookups(existing) > spf.LOOKUP_LIMIT
        return
    assert merged.startswith("v=spf1 ")
    kept = spf.terms(merged)
    it = iter(kept)
    assert all(term in it for term in existing.split()[1:])  # same order, none lost
    assert {t.lower() for t in OURS} <= {t.lower().lstrip("+") for t in kept}
    assert spf.merge(merged, OURS) == merged
    assert spf.lookups(merged) == spf.lookups(existing) <= spf.LOOKUP_LIMIT
