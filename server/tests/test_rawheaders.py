"""Header fields from raw bytes agree with what the email package reads."""

from __future__ import annotations

from email.parser import BytesHeaderParser
from email.policy import compat32

from hypothesis import given
from hypothesis import strategies as st

from roost.rawheaders import fields, header_block

MESSAGE = (
    b"Received: from a\r\n\tby b; Mon, 23 Nov 2026 10:00:00 +0000\r\n"
    b"From: Someone\r\n <someone@example.test>\r\n"
    b"RECEIVED: from c\r\n"
    b"Subject: two: colons\r\n"
    b"\r\n"
    b"Received: in the body, not a header\r\n"
)


def test_fields_unfolds_and_lowercases_names() -> None:
    assert fields(MESSAGE) == [
        (b"received", b" from a\tby b; Mon, 23 Nov 2026 10:00:00 +0000"),
        (b"from", b" Someone <someone@example.test>"),
        (b"received", b" from c"),
        (b"subject", b" two: colons"),
    ]


def test_header_block_ends_at_the_first_blank_line() -> None:
    assert header_block(MESSAGE).endswith(b"Subject: two: colons\r\n\r\n")
    assert header_block(b"A: 1\nB: 2\n\nbody\r\n\r\nmore") == b"A: 1\nB: 2\n\n"
    assert header_block(b"A: 1\r\n") == b"A: 1\r\n"  # no body at all


NAMES = st.sampled_from([b"From", b"To", b"Received", b"X-A"])
VALUES = st.text(alphabet="ab <>@.,", max_size=12).map(str.encode)


@given(st.lists(st.tuples(NAMES, VALUES, st.booleans()), max_size=6))
def test_names_and_values_match_the_email_package(
    headers: list[tuple[bytes, bytes, bool]],
) -> None:
    message = b"".join(
        name + b": " + value + (b"\r\n folded" if fold else b"") + b"\r\n"
        for name, value, fold in headers
    )
    message += b"\r\nbody\r\n"
    parsed = BytesHeaderParser(policy=compat32).parsebytes(message, headersonly=True)
    expected = [
        (name.lower().encode(), value.replace("\r\n", "").strip()) for name, value in parsed.items()
    ]
    got = [(name, value.decode().strip()) for name, value in fields(message)]
    assert got == expected
