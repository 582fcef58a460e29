"""The one From parser: the header forms that once split DMARC from submission, a corpus of
real-world shapes, and generated input that either parses to the addresses written or fails
with FromError (never another exception, never in more than linear time)."""

from __future__ import annotations

from email.headerregistry import Address

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roost.fromheader import FromError, author_addresses, author_domain, parse_mailbox_list

PARSED = [
    ('"PayPal" <service@paypal.test>,', ["service@paypal.test"]),  # obs-mbox-list (§4.4)
    (" , ,a@b.test, ", ["a@b.test"]),
    ("Alice (work) <alice@Example.COM>, bob@example.net", ["alice@Example.COM", "bob@example.net"]),
    ('"a b"@x.test', ['"a b"@x.test']),
    ('"alice"@x.test', ["alice@x.test"]),  # the same mailbox, written two ways
    ("Jo . Smith <j@x.test>", ["j@x.test"]),  # obs-phrase
    ("=?utf-8?q?caf=C3=A9?= <ü@bü.test>", ["ü@bü.test"]),
    ('"x@y.test" <a@b.test>', ["a@b.test"]),
    ("a@[192.0.2.1]", ["a@[192.0.2.1]"]),
    ("(c (nested)) a@b.test (trailing)", ["a@b.test"]),
]

REFUSED = [
    "<service@paypal.test> x",  # the second half of the bypass
    "undisclosed",
    "",
    "group: a@b.test;",  # From is a mailbox-list: no groups (RFC 5322 §3.6.2)
    "<@route.test:a@b.test>",
    "a@b.test.",
    "a@",
    "@b.test",
    "Smith, John <j@x.test>",
    "alice@x.test <bob@y.test>",
    '"unclosed <a@b.test>',
    "(unclosed a@b.test",
    "<a@b.test",
    "a@b=c.test",
]


@pytest.mark.parametrize(("value", "addresses"), PARSED)
def test_parsed(value: str, addresses: list[str]) -> None:
    assert parse_mailbox_list(value) == addresses


@pytest.mark.parametrize("value", REFUSED)
def test_refused(value: str) -> None:
    with pytest.raises(FromError):
        parse_mailbox_list(value)


def test_author_domain_needs_exactly_one_field_and_one_domain() -> None:
    one = b"From: A <a@Example.TEST>, b@example.test\r\nSubject: x\r\n\r\nFrom: c@evil.test\r\n"
    assert author_domain(one) == "example.test"
    for message, reason in [
        (b"Subject: none\r\n\r\n", "no From field"),
        (b"From: a@x.test\r\nFrom: b@x.test\r\n\r\n", "2 From fields"),
        (b"From: a@x.test, b@y.test\r\n\r\n", "2 domains"),
        (b"From: a@[192.0.2.1]\r\n\r\n", "address literal"),
    ]:
        with pytest.raises(FromError, match=reason):
            author_domain(message)


def test_folded_field_is_unfolded() -> None:
    assert author_addresses(b"From: Alice\r\n <alice@x.test>,\r\n\tbob@x.test\r\n\r\n") == [
        "alice@x.test",
        "bob@x.test",
    ]


def test_twenty_thousand_addresses_stay_linear() -> None:
    value = "a@x.test," + " b@x.test," * 20000 + " c@x.test"
    assert len(parse_mailbox_list(value)) == 20002


LOCAL = st.text(alphabet="abcxyz019-_+=!", min_size=1, max_size=8)
LABEL = st.text(alphabet="abcxyz019-", min_size=1, max_size=8)
ADDRESS = st.builds(
    lambda local, labels: f"{local}@{'.'.join(labels)}",
    st.lists(LOCAL, min_size=1, max_size=2).map(".".join),
    st.lists(LABEL, min_size=1, max_size=3),
)
NAME = st.one_of(
    st.none(),
    st.text(alphabet="Ab c.", min_size=1, max_size=10).filter(str.strip),
)


@given(st.lists(st.tuples(NAME, ADDRESS), min_size=1, max_size=5))
def test_written_addresses_are_read_back(mailboxes: list[tuple[str | None, str]]) -> None:
    """What email.headerregistry writes, we read back unchanged."""
    value = ", ".join(
        str(Address(display_name=name or "", addr_spec=address)) for name, address in mailboxes
    )
    assert parse_mailbox_list(value) == [address for _, address in mailboxes]


@given(st.text(alphabet='a@b.<>,;:"()\\[] \t\r\nü\x00', max_size=60))
def test_any_input_parses_or_fails_cleanly(value: str) -> None:
    try:
        addresses = parse_mailbox_list(value)
    except FromError:
        return
    assert addresses and all("@" in a for a in addresses)
