"""Record spelling: names, values and TXT splitting/joining (RFC 1035 §3.3.14)."""

from __future__ import annotations

import dns.rdata
import pytest
from hypothesis import given
from hypothesis import strategies as st

from roost.dnsprovider import InvalidRecordError, Record, open_provider, relative_name, zone_of
from roost.dnsprovider.base import (
    join_txt,
    public_option_values,
    split_txt,
    txt_rdata_text,
    unquote_txt,
)


def test_names_and_values_have_one_spelling() -> None:
    a = Record.make("Mail.Example.ORG.", "mx", "10 MAIL.example.org")
    assert (a.name, a.type, a.value) == ("mail.example.org", "MX", "10 mail.example.org.")
    assert Record.make("x.org", "AAAA", "2001:DB8:0::1").value == "2001:db8::1"
    assert relative_name("example.org", "_dmarc.example.org") == "_dmarc"
    assert relative_name("example.org", "EXAMPLE.org.") == "@"
    assert zone_of("_acme-challenge.mail.a.example.org", ["example.org", "a.example.org"]) == (
        "a.example.org"
    )
    with pytest.raises(InvalidRecordError, match="not inside the zone"):
        relative_name("example.org", "example.net")
    with pytest.raises(InvalidRecordError, match="not a valid MX value"):
        Record.make("x.org", "MX", "mail.example.org")


def test_unknown_provider_names_the_variable() -> None:
    with pytest.raises(Exception, match="roost_dns_provider"):
        open_provider("route53", {})
    with pytest.raises(Exception, match="tsig_name, tsig_secret in roost_dns_credentials"):
        open_provider("rfc2136", {"server": "192.0.2.1"})
    with pytest.raises(Exception, match="secret_id and secret_key"):
        open_provider("tencentcloud", {})


@given(st.text(max_size=1200))
def test_txt_splits_into_255_byte_strings_that_join_back(value: str) -> None:
    chunks = split_txt(value)
    assert all(len(c) <= 255 for c in chunks)
    assert all(c.decode() for c in chunks if c)  # cut on character boundaries
    assert join_txt(chunks) == value
    rdata = dns.rdata.from_text("IN", "TXT", txt_rdata_text(value))
    assert join_txt(rdata.strings) == value  # type: ignore[attr-defined]


@given(st.lists(st.text(max_size=300), min_size=1, max_size=4))
def test_quoted_txt_from_a_provider_is_joined(parts: list[str]) -> None:
    value = "".join(parts)
    assert unquote_txt(txt_rdata_text(value)) == value


def test_unquote_leaves_plain_values_alone() -> None:
    assert unquote_txt("v=spf1 -all") == "v=spf1 -all"
    assert unquote_txt('"v=spf1 " "-all"') == "v=spf1 -all"
    assert unquote_txt('"unbalanced') == '"unbalanced'


def test_numeric_options_are_checked() -> None:
    with pytest.raises(Exception, match=r"roost_dns_credentials\.port"):
        open_provider("rfc2136", {"server": "192.0.2.1", "tsig_name": "k", "tsig_secret": "AAAA",
                                  "port": "fifty-three"})  # fmt: skip
    with pytest.raises(Exception, match=r"roost_dns_credentials\.max_tries"):
        open_provider("tencentcloud", {"secret_id": "id", "secret_key": "k", "max_tries": -1})


def test_only_numbers_are_public_and_never_a_secret_of_the_same_text() -> None:
    options = {"server": "192.0.2.53", "port": 53, "timeout": "3", "tsig_secret": "c2VjcmV0"}
    assert public_option_values(options) == {"53", "3"}
    assert public_option_values({"port": 5353, "tsig_name": "5353", "timeout": ""}) == set()
