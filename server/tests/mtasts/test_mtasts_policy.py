"""Parsing of policies and TXT records, and MX matching (RFC 8461 §3.1, §3.2, §4.1)."""

from __future__ import annotations

import pytest

from roost.mtasts import (
    MX_MISMATCH,
    Policy,
    PolicyError,
    RecordError,
    parse_policy,
    parse_record,
    parse_txt,
    tls_requirement,
)

GOOD = (
    "version: STSv1\r\nmode: enforce\r\n"
    "mx: mail.example.com\r\nmx: *.example.net\r\nmax_age: 604800\r\n"
)


def test_parse_rfc_example_with_crlf() -> None:
    policy = parse_policy(GOOD, "20160831085700Z")
    assert policy == Policy(
        "enforce", ("mail.example.com", "*.example.net"), 604800, "20160831085700Z"
    )


@pytest.mark.parametrize(
    "text",
    [
        GOOD.replace("\r\n", "\n"),  # LF only (§3.2 lets senders accept it)
        GOOD.rstrip("\r\n"),  # no final line break
        GOOD.replace(": ", ":"),  # no space after the colon
        GOOD.replace("604800\r\n", "604800  \r\n"),  # trailing whitespace
        GOOD + "extension_1.x: some value\r\n",  # unknown keys are ignored
        GOOD.replace("mx: mail.example.com", "mx: MAIL.Example.COM"),  # case folded
    ],
)
def test_parse_accepts(text: str) -> None:
    policy = parse_policy(text)
    assert policy.mode == "enforce"
    assert policy.mx == ("mail.example.com", "*.example.net")
    assert policy.max_age == 604800


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "empty"),
        (GOOD.replace("version: STSv1\r\n", ""), "'version' missing"),
        (GOOD.replace("STSv1", "STSv2"), "version"),
        (GOOD.replace("mode: enforce", "mode: Enforce"), "mode"),
        (GOOD.replace("mode: enforce\r\n", ""), "'mode' missing"),
        (GOOD + "mode: sometimes\r\n", "unknown mode"),  # an ignored copy must be valid
        (GOOD.replace("max_age: 604800\r\n", ""), "'max_age' missing"),
        (GOOD.replace("604800", "31557601"), "exceeds"),
        (GOOD.replace("604800", "-1"), "digits"),
        (GOOD.replace("604800", "12345678901"), "digits"),
        (GOOD.replace("604800", "1e5"), "digits"),
        (GOOD.replace("mx: mail.example.com\r\nmx: *.example.net\r\n", ""), "mx line"),
        (GOOD.replace("mail.example.com", "mail..example.com"), "mx pattern"),
        (GOOD.replace("mail.example.com", "mail.*.example.com"), "mx pattern"),
        (GOOD.replace("mail.example.com", "-mail.example.com"), "mx pattern"),
        (GOOD.replace("mail.example.com", "localhost"), "mx pattern"),
        (GOOD + "garbage line\r\n", "no ':'"),
        (GOOD + "bad key!: x\r\n", "bad key"),
        (GOOD + "\r\n", "no ':'"),  # an empty line in the middle of fields
        (GOOD + "ext: \x01\r\n", "bad value"),
    ],
)
def test_parse_rejects(text: str, why: str) -> None:
    with pytest.raises(PolicyError, match=why) as info:
        parse_policy(text)
    assert info.value.result_type == "sts-policy-invalid"


def test_field_order_is_free_and_first_duplicate_wins() -> None:
    """§3.2: fields in any order; of a duplicated non-mx field the first counts."""
    text = "mode: testing\nmx: a.example.com\nversion: STSv1\nmax_age: 60\n"
    text += "mode: enforce\nmax_age: 120\nmx: b.example.com\n"
    policy = parse_policy(text)
    assert policy == Policy("testing", ("a.example.com", "b.example.com"), 60)


def test_max_age_bounds() -> None:
    assert parse_policy(GOOD.replace("604800", "31557600")).max_age == 31557600
    assert parse_policy(GOOD.replace("604800", "0")).max_age == 0


def test_mode_none_needs_no_mx() -> None:
    policy = parse_policy("version: STSv1\nmode: none\nmax_age: 86400\n")
    assert policy.mode == "none" and policy.mx == ()
    assert tls_requirement(policy, "anything.example") == "opportunistic"


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("mail.example.com", True),
        ("MAIL.example.com.", True),  # case and trailing dot
        ("mx1.example.net", True),  # one extra label under *.example.net
        ("example.net", False),  # the wildcard needs a label
        ("a.b.example.net", False),  # and exactly one
        ("other.example.com", False),
        ("mail.example.com.evil.test", False),
        ("xexample.net", False),
    ],
)
def test_matches(host: str, expected: bool) -> None:
    assert parse_policy(GOOD).matches(host) is expected


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ("v=STSv1; id=20160831085700Z;", "20160831085700Z"),
        ("v=STSv1;id=abc", "abc"),
        ("v=STSv1 ;  id=abc ; ext-1=value", "abc"),
        ("v=STSv1; ext.x=1; id=" + "a" * 32, "a" * 32),
        ("v=STSv1; id=first; id=second", "first"),
    ],
)
def test_parse_record(record: str, expected: str) -> None:
    assert parse_record(record) == expected


@pytest.mark.parametrize(
    "record",
    [
        "v=STSv1",
        "v=STSv1;",
        "v=STSv1; id=",
        "v=STSv1; id=" + "a" * 33,
        "v=STSv1; id=abc-1",
        "v=STSv1; ID=abc",  # %s: keys are case-sensitive
        "v=STSv1; id=abc; ext=has space",
        "v=STSv1; id=abc; =x",
        "v=stsv1; id=abc",
    ],
)
def test_parse_record_rejects(record: str) -> None:
    with pytest.raises(RecordError):
        parse_record(record)


def test_parse_txt() -> None:
    assert parse_txt([b"v=STSv1; id=one"]) == "one"
    # Records not starting with v=STSv1 are discarded (§3.1).
    assert parse_txt([b"v=spf1 -all", "v=STSv1; id=one", b"hello"]) == "one"
    assert parse_txt([b"v=STSv10; id=x", b"v=STSv1; id=one"]) == "one"
    # No record, several, or an invalid one: no policy available.
    assert parse_txt([]) is None
    assert parse_txt([b"v=spf1 -all"]) is None
    assert parse_txt([b"v=STSv1; id=one", b"v=STSv1; id=two"]) is None
    assert parse_txt([b"v=STSv1; id=one", b"v=STSv1; id=one"]) is None
    assert parse_txt([b"v=STSv1; id=bad-id"]) is None


def test_policy_lines_round_trip() -> None:
    policy = parse_policy(GOOD, "x")
    assert parse_policy("\n".join(policy.lines()), "x") == policy


def test_tls_requirement() -> None:
    enforce = parse_policy(GOOD)
    testing = parse_policy(GOOD.replace("enforce", "testing"))
    assert tls_requirement(None, "mail.example.com") == "opportunistic"
    assert tls_requirement(enforce, "mail.example.com") == "required-verified"
    assert tls_requirement(enforce, "mx.elsewhere.example") == "refuse"
    assert tls_requirement(testing, "mail.example.com") == "testing"
    assert tls_requirement(testing, "mx.elsewhere.example") == "testing"
    assert MX_MISMATCH
