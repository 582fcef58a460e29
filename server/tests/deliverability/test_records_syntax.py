"""The parsers of records read from the outside: SPF (RFC 7208 §12), DKIM/DMARC/TLS-RPT tag
lists (RFC 6376 §3.2, RFC 7489 §6.4, RFC 8460 §3). Whatever DNS serves, they answer with a
value or their own error, never anything else."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roost.deliverability import spfrecord
from roost.deliverability.dmarcrecord import RecordSyntaxError, parse_dmarc, parse_tlsrpt
from roost.deliverability.tags import TagListError, parse_tags

printable = st.text(st.characters(min_codepoint=0, max_codepoint=0x2FF), max_size=120)
names = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,8}", fullmatch=True)
values = st.from_regex(r"[!-:<-~]{0,12}", fullmatch=True)


@given(printable)
def test_tag_lists_parse_or_raise_their_error(text: str) -> None:
    try:
        tags = parse_tags(text)
    except TagListError:
        return
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items())


@given(st.dictionaries(names, values, min_size=1, max_size=6), st.sampled_from(["; ", ";", " ; "]))
def test_tag_lists_round_trip(tags: dict[str, str], separator: str) -> None:
    assert parse_tags(separator.join(f"{k}={v}" for k, v in tags.items())) == tags


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("v=DKIM1; p=AB; p=CD", "appears twice"),
        ("v=DKIM1; nonsense", "is not tag=value"),
        ("1v=DKIM1", "is not tag=value"),
    ],
)
def test_tag_list_errors_name_the_tag(text: str, error: str) -> None:
    with pytest.raises(TagListError, match=error):
        parse_tags(text)


@given(st.one_of(printable, printable.map(lambda s: "v=spf1 " + s)))
def test_spf_parses_or_raises_its_error(text: str) -> None:
    try:
        terms = spfrecord.parse(text)
    except spfrecord.SPFSyntaxError:
        return
    assert all(t.name == t.name.lower() for t in terms)


mechanisms = st.one_of(
    st.sampled_from(["a", "mx", "ptr", "-all", "~all", "?all", "+all", "a/24", "mx//64"]),
    st.ip_addresses(v=4).map(lambda a: f"ip4:{a}"),
    st.ip_addresses(v=6).map(lambda a: f"ip6:{a}"),
    st.from_regex(r"(include|exists|a|mx):[a-z]{1,8}\.test", fullmatch=True),
    st.from_regex(r"(redirect|exp|x-custom)=[a-z]{1,8}\.test", fullmatch=True),
    st.just("exists:%{i}._spf.%{d}"),
)


@given(st.lists(mechanisms, max_size=8))
def test_valid_spf_records_parse_term_by_term(terms: list[str]) -> None:
    for once in ("redirect=", "exp="):
        if sum(t.startswith(once) for t in terms) > 1:
            return
    parsed = spfrecord.parse(" ".join(["v=spf1", *terms]))
    assert len(parsed) == len(terms)
    for term, text in zip(parsed, terms, strict=True):
        assert term.name == text.lstrip("+-~?").split(":")[0].split("=")[0].split("/")[0]


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("v=spf1 ip4:300.1.1.1 -all", "not an ip4 network"),
        ("v=spf1 ip4:2001:db8::1 -all", "not an IPv4 address"),
        ("v=spf1 include -all", "include needs ':' and a domain"),
        ("v=spf1 a/33 -all", "bad prefix length"),
        ("v=spf1 foo:bar -all", "unknown mechanism 'foo'"),
        ("v=spf1 redirect=a.test redirect=b.test", "redirect= appears more than once"),
        ("v=spf1 all:x", "all takes no argument"),
        ("v=spf1 exists:%{z}.test", "bad domain or macro"),
        ("spf1 -all", "does not start with v=spf1"),
    ],
)
def test_spf_errors_name_the_term(text: str, error: str) -> None:
    with pytest.raises(spfrecord.SPFSyntaxError, match=error):
        spfrecord.parse(text)


@given(st.one_of(printable, printable.map(lambda s: "v=DMARC1; " + s)))
def test_dmarc_parses_or_raises_its_error(text: str) -> None:
    try:
        tags = parse_dmarc(text)
    except RecordSyntaxError:
        return
    assert tags["p"].lower() in ("none", "quarantine", "reject")


@given(st.one_of(printable, printable.map(lambda s: "v=TLSRPTv1; " + s)))
def test_tlsrpt_parses_or_raises_its_error(text: str) -> None:
    try:
        tags = parse_tlsrpt(text)
    except RecordSyntaxError:
        return
    assert "rua" in tags


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("p=reject; v=DMARC1", "first tag must be v=DMARC1"),
        ("v=DMARC1; rua=mailto:a@b.test", "no p= tag"),
        ("v=DMARC1; p=block", "p=block is not one of"),
        ("v=DMARC1; p=none; pct=150", "pct=150"),
        ("v=DMARC1; p=none; adkim=x", "adkim=x"),
        ("v=DMARC1; p=none; rua=a@b.test", "bad URI"),
    ],
)
def test_dmarc_errors_name_the_tag(text: str, error: str) -> None:
    with pytest.raises(RecordSyntaxError, match=error):
        parse_dmarc(text)


def test_dmarc_accepts_what_roost_publishes() -> None:
    tags = parse_dmarc("v=DMARC1; p=quarantine; rua=mailto:dmarc@example.test!10m;")
    assert tags == {"v": "DMARC1", "p": "quarantine", "rua": "mailto:dmarc@example.test!10m"}


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("v=TLSRPTv1", "no rua= tag"),
        ("v=TLSRPTv1; rua=ftp://x.test", "bad URI"),
        ("rua=mailto:a@b.test", "first tag must be v=TLSRPTv1"),
    ],
)
def test_tlsrpt_errors(text: str, error: str) -> None:
    with pytest.raises(RecordSyntaxError, match=error):
        parse_tlsrpt(text)
