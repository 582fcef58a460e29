"""The renewal decision: every reason to order, the CA's window, and back-off."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from roost.acme.certfiles import CurrentCert
from roost.acme.due import Action, decide
from roost.acme.state import Failure, RenewalInfo, State, cert_digest

NAMES = ["mail.example.test", "mta-sts.example.test"]
ISSUED = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
EXPIRES = ISSUED + dt.timedelta(days=90)
PEM = b"-----BEGIN CERTIFICATE-----\nfake\n-----END CERTIFICATE-----\n"


def cert(names: list[str] = NAMES) -> CurrentCert:
    return CurrentCert(frozenset(names), ISSUED, EXPIRES, PEM)


def known(renew_at: dt.datetime | None = None, supported: bool = False) -> State:
    """State with a fresh ARI answer about the certificate (re-asked only after a year)."""
    return State(
        ari=RenewalInfo(cert_digest(PEM), supported, renew_at, ISSUED + dt.timedelta(days=365))
    )


def at(days: float) -> dt.datetime:
    return ISSUED + dt.timedelta(days=days)


def test_force_orders_whatever_the_certificate() -> None:
    assert decide(NAMES, cert(), known(), "d", at(1), force=True).action is Action.RENEW
    missing = CurrentCert(problem="x does not exist")
    assert decide(NAMES, missing, State(), "d", at(1), force=True).action is Action.ISSUE


def test_missing_or_broken_certificate_is_issued() -> None:
    broken = CurrentCert(problem="/etc/roost/tls/privkey.pem does not match the certificate")
    decision = decide(NAMES, broken, State(), "d", at(1))
    assert decision.action is Action.ISSUE
    assert "does not match" in decision.reason


def test_changed_names_are_issued_and_named() -> None:
    decision = decide([*NAMES, "autoconfig.example.test"], cert(), known(), "d", at(1))
    assert decision.action is Action.ISSUE
    assert "added: autoconfig.example.test" in decision.reason
    decision = decide(NAMES[:1], cert(), known(), "d", at(1))
    assert "removed: mta-sts.example.test" in decision.reason


def test_one_third_of_the_lifetime_left_without_ari() -> None:
    assert decide(NAMES, cert(), known(), "d", at(59)).action is Action.KEEP
    assert decide(NAMES, cert(), known(), "d", at(61)).action is Action.RENEW
    assert decide(NAMES, cert(), known(), "d", at(91)).action is Action.RENEW


def test_the_cas_window_decides_when_it_offers_one() -> None:
    window = known(renew_at=at(75), supported=True)
    keep = decide(NAMES, cert(), window, "d", at(70))
    assert keep.action is Action.KEEP  # past the one-third point, but the CA says later
    assert "2026-03-17" in keep.reason
    assert decide(NAMES, cert(), window, "d", at(76)).action is Action.RENEW
    early = known(renew_at=at(10), supported=True)  # e.g. a revocation is coming
    assert decide(NAMES, cert(), early, "d", at(11)).action is Action.RENEW


def test_stale_or_foreign_ari_answer_is_asked_again_unless_checking() -> None:
    assert decide(NAMES, cert(), State(), "d", at(1)).action is Action.ASK_CA
    stale = State(ari=RenewalInfo(cert_digest(PEM), True, at(75), at(0.25)))
    assert decide(NAMES, cert(), stale, "d", at(1)).action is Action.ASK_CA
    other = State(ari=RenewalInfo("another certificate", True, at(1), at(300)))
    assert decide(NAMES, cert(), other, "d", at(1)).action is Action.ASK_CA
    assert decide(NAMES, cert(), other, "d", at(1), may_ask=False).action is Action.KEEP


def test_a_recent_failure_with_the_same_settings_backs_off() -> None:
    failure = Failure("d", 1, at(61), "the CA said no")
    state = State(failure=failure, ari=known().ari)
    backoff = decide(NAMES, cert(), state, "d", at(61) + dt.timedelta(minutes=30))
    assert backoff.action is Action.BACKOFF
    assert "the CA said no" in backoff.reason
    assert decide(NAMES, cert(), state, "d", at(61) + dt.timedelta(hours=2)).due
    assert decide(NAMES, cert(), state, "changed settings", at(61.01)).due
    assert decide(NAMES, cert(), state, "d", at(61.01), force=True).due


def test_backoff_doubles_up_to_a_day() -> None:
    start = at(0)
    waits = [Failure("d", n, start, "x").retry_at() - start for n in (1, 2, 3, 6, 20)]
    assert waits == [dt.timedelta(hours=h) for h in (1, 2, 4, 24, 24)]


@given(
    days=st.floats(min_value=-10, max_value=200),
    names=st.lists(st.sampled_from([*NAMES, "autodiscover.example.test"]), min_size=1, unique=True),
    renew_at=st.none() | st.floats(min_value=0, max_value=100),
)
def test_never_keeps_an_expired_or_wrong_certificate(
    days: float, names: list[str], renew_at: float | None
) -> None:
    state = known(at(renew_at) if renew_at is not None else None, supported=renew_at is not None)
    decision = decide(names, cert(), state, "d", at(days), may_ask=False)
    if decision.action is Action.KEEP:
        assert at(days) < EXPIRES
        assert set(names) == set(NAMES)
