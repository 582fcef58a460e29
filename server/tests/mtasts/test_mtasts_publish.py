"""The policy Roost publishes: valid by our own parser, id stable for equal text and new for
any change (RFC 8461 §3.1), and nothing smuggled in through a value."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roost.mtasts.policy import PolicyError, parse_policy, parse_record
from roost.mtasts.publish import DEFAULT_MAX_AGE, render


def test_rendered_policy_parses_back_to_what_was_asked() -> None:
    published = render("Example.TEST.", "testing", ["Mail.Example.test."], DEFAULT_MAX_AGE)
    assert published.domain == "example.test"
    assert published.text == (
        "version: STSv1\r\nmode: testing\r\nmx: mail.example.test\r\nmax_age: 604800\r\n"
    )
    policy = parse_policy(published.text)
    assert (policy.mode, policy.mx, policy.max_age) == ("testing", ("mail.example.test",), 604800)
    assert parse_record(published.record) == published.id
    assert published.record == f"v=STSv1; id={published.id}"


def test_id_changes_exactly_when_the_policy_does() -> None:
    base = render("example.test", "testing", ["mail.example.test"], 86400)
    assert render("example.test", "testing", ["mail.example.test"], 86400).id == base.id
    changed = {
        render("example.test", "enforce", ["mail.example.test"], 86400).id,
        render("example.test", "testing", ["mx2.example.test"], 86400).id,
        render("example.test", "testing", ["mail.example.test"], 86401).id,
        render("example.test", "testing", ["mail.example.test", "*.example.test"], 86400).id,
    }
    assert base.id not in changed
    assert len(changed) == 4


@pytest.mark.parametrize(
    ("mode", "mx", "max_age", "message"),
    [
        ("enforcing", ["mail.example.test"], 86400, "unknown mode 'enforcing'"),
        ("testing", [], 86400, "needs at least one mx line"),
        ("testing", ["mail.example.test"], 31557601, "exceeds 31557600"),
        ("testing", ["mail_host"], 86400, "bad mx pattern"),
        ("testing", ["mail.example.test\r\nmode: enforce"], 86400, "line break"),
    ],
)
def test_bad_inputs_name_the_domain_and_the_problem(
    mode: str, mx: list[str], max_age: int, message: str
) -> None:
    with pytest.raises(PolicyError, match=message) as error:
        render("example.test", mode, mx, max_age)
    assert str(error.value).startswith("MTA-STS policy for example.test: ")


def test_mode_none_may_list_no_mx() -> None:
    assert parse_policy(render("example.test", "none", [], 86400).text).mode == "none"


@given(
    mode=st.sampled_from(["enforce", "testing", "none"]),
    mx=st.lists(st.from_regex(r"(\*\.)?[a-z0-9]{1,10}\.[a-z]{2,5}", fullmatch=True), max_size=4),
    max_age=st.integers(min_value=1, max_value=31557600),
)
def test_whatever_renders_is_a_valid_policy_with_a_valid_id(
    mode: str, mx: list[str], max_age: int
) -> None:
    try:
        published = render("example.test", mode, mx, max_age)
    except PolicyError:
        assert not mx and mode != "none"
        return
    assert parse_policy(published.text).mx == tuple(mx)
    assert parse_record(published.record) == published.id
