"""Authentication-Results: building our field, stripping forged ones (RFC 8601)."""

from __future__ import annotations

import email
import email.policy

from hypothesis import given
from hypothesis import strategies as st

from roost.authresults import authserv_id_of, build, strip_forged
from roost.dkim import DKIMResult
from roost.dmarc import DMARCResult
from roost.spf import SPFResult

ID = "mx.example.org"
SPF_PASS = SPFResult("pass", "mailfrom", "example.com", "", "domain of example.com designates it")


def lines(header: bytes) -> list[str]:
    assert header.endswith(b"\r\n")
    return header.decode().removesuffix("\r\n").split("\r\n")


def test_build_full() -> None:
    header = build(
        ID,
        spf=SPF_PASS,
        dkim=[
            DKIMResult("pass", "example.com", "r1", "rsa-sha256", "ab/+cd=e", ""),
            DKIMResult(
                "fail", "example.net", "e1", "ed25519-sha256", "xyz", "body hash did not verify"
            ),
        ],
        dmarc=[DMARCResult("pass", "example.com", "none", None, "DKIM example.com aligned")],
    )
    assert lines(header) == [
        "Authentication-Results: mx.example.org;",
        "\tspf=pass (domain of example.com designates it) smtp.mailfrom=example.com;",
        '\tdkim=pass header.d=example.com header.s=r1 header.b="ab/+cd=e";',
        "\tdkim=fail (body hash did not verify) header.d=example.net header.s=e1",
        "\theader.b=xyz;",
        "\tdmarc=pass (DKIM example.com aligned) header.from=example.com",
    ]


def test_build_unsigned_helo_and_policy() -> None:
    spf = SPFResult("none", "helo", "mail.example.net", "", "")
    dmarc = [DMARCResult("fail", "example.com", "quarantine", "reject", "sampled")]
    header = build(ID, spf=spf, dkim=[], dmarc=dmarc)
    assert lines(header)[1:] == [
        "\tspf=none smtp.helo=mail.example.net;",
        "\tdkim=none;",
        "\tdmarc=fail (p=reject dis=quarantine) header.from=example.com",
    ]


def test_build_escapes_comments_and_folds() -> None:
    evil = "a (nested) comment \\ with\r\nCRLF injection: X-Evil: 1 " + "word " * 30
    spf = SPFResult("permerror", "mailfrom", "example.com", "", evil)
    header = build(ID, spf=spf, dkim=[], dmarc=[])
    for line in lines(header):
        assert len(line) <= 78
    assert header.count(b"\r\n") == len(lines(header))  # no bare CR or LF inside
    parsed = email.message_from_bytes(header + b"\r\n", policy=email.policy.default)
    assert list(parsed.keys()) == ["Authentication-Results"]
    assert r"a \(nested\) comment \\ with" in str(parsed["Authentication-Results"])


def test_build_parses_back_with_our_id() -> None:
    header = build(ID, spf=SPF_PASS, dkim=[], dmarc=[])
    assert authserv_id_of(header.decode().split(":", 1)[1]) == ID


BODY = b"Body line\r\nAuthentication-Results: mx.example.org; dkim=pass\r\n\r\nmore\r\n"


def test_strip_forged_removes_ours_only() -> None:
    msg = (
        b"Received: from x\r\n"
        b"Authentication-Results: mx.example.org; spf=pass smtp.mailfrom=bank.example\r\n"
        b"authentication-results: MX.Example.ORG.; dkim=pass header.d=bank.example\r\n"
        b"Authentication-Results: other.example; spf=fail\r\n"
        b"Authentication-Results: mx.example.org.evil; spf=pass\r\n"
        b"Subject: hi\r\n\r\n" + BODY
    )
    assert strip_forged(msg, ID) == (
        b"Received: from x\r\n"
        b"Authentication-Results: other.example; spf=fail\r\n"
        b"Authentication-Results: mx.example.org.evil; spf=pass\r\n"
        b"Subject: hi\r\n\r\n" + BODY
    )


def test_strip_forged_folded_and_odd_forms() -> None:
    msg = (
        b"Authentication-Results:\r\n mx.example.org;\r\n\tspf=pass\r\n"
        b"Authentication-Results : (comment (nested)) mx.example.org 1; dkim=pass\r\n"
        b'Authentication-Results: "mx.example.org"; dmarc=pass\r\n'
        b"Authentication-Results: mx.example.org(no space); arc=pass\r\n"
        b"X-Keep: Authentication-Results: mx.example.org; spf=pass\r\n"
        b"\r\n" + BODY
    )
    assert strip_forged(msg, ID) == (
        b"X-Keep: Authentication-Results: mx.example.org; spf=pass\r\n\r\n" + BODY
    )


def test_strip_forged_lf_only_and_headers_only() -> None:
    msg = b"Authentication-Results: mx.example.org; spf=pass\nSubject: x\n\nbody\n"
    assert strip_forged(msg, ID) == b"Subject: x\n\nbody\n"
    no_body = b"Subject: x\r\nAuthentication-Results: mx.example.org; x=y\r\n"
    assert strip_forged(no_body, ID) == b"Subject: x\r\n"


@given(
    st.lists(
        st.sampled_from(
            [
                b"Authentication-Results: mx.example.org; spf=pass\r\n",
                b"Authentication-Results: MX.EXAMPLE.ORG;\r\n\tdkim=pass\r\n",
                b"Authentication-Results: other.example; spf=pass\r\n",
                b"Subject: s\r\n",
                b"X-Folded: a\r\n b\r\n",
            ]
        ),
        max_size=8,
    ),
    st.binary(max_size=200),
)
def test_strip_forged_keeps_body_and_other_fields(fields: list[bytes], body: bytes) -> None:
    msg = b"".join(fields) + b"\r\n" + body
    out = strip_forged(msg, ID)
    kept = [f for f in fields if b"mx.example.org" not in f.lower()]
    assert out == b"".join(kept) + b"\r\n" + body
