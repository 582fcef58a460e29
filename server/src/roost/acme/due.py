"""Whether to order a certificate now, decided without the CA whenever possible.

In order: ``--force``; no usable certificate (missing, unreadable, key mismatch); the names
changed; the certificate expired; the CA's renewal window (ARI, RFC 9773 §4.2) when the CA
offers one, otherwise one third of the lifetime left (Let's Encrypt's integration guide: 30
of 90 days). A due renewal that failed recently with the same settings waits for its
back-off instead (``Action.BACKOFF``), so a timer never retries in a loop.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from roost.acme.certfiles import CurrentCert
from roost.acme.state import State, cert_digest

#: Renew once this share of the lifetime is left, when the CA offers no ARI window.
RENEW_AT_REMAINING = 1 / 3


class Action(enum.Enum):
    ISSUE = "issue"  # no usable certificate for these names: a new one is needed
    RENEW = "renew"  # the certificate is fine but its renewal time has come
    KEEP = "keep"  # nothing to do
    ASK_CA = "ask"  # the CA's ARI answer is stale: fetch it, then decide again
    BACKOFF = "backoff"  # due, but the last attempt failed too recently


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str

    @property
    def due(self) -> bool:
        return self.action in (Action.ISSUE, Action.RENEW)


def decide(
    names: list[str],
    current: CurrentCert,
    state: State,
    digest: str,
    now: dt.datetime,
    *,
    force: bool = False,
    may_ask: bool = True,
) -> Decision:
    """The action for a run at NOW with settings digest DIGEST (see the module doc).

    With MAY_ASK false (check mode: the CA is not contacted) a stale ARI answer is used as
    it is, and without one the one-third rule decides.
    """
    if force:
        return Decision(Action.RENEW if current.usable else Action.ISSUE, "renewal forced")
    decision = _by_certificate(names, current, state, now, may_ask)
    failure = state.failure
    if decision.due and failure and failure.digest == digest and now < failure.retry_at():
        return Decision(
            Action.BACKOFF,
            f"{decision.reason}, but attempt {failure.count} failed at "
            f"{failure.at:%Y-%m-%d %H:%M} UTC ({failure.error}); next attempt after "
            f"{failure.retry_at():%Y-%m-%d %H:%M} UTC, or at once when a setting changes",
        )
    return decision


def _by_certificate(
    names: list[str], current: CurrentCert, state: State, now: dt.datetime, may_ask: bool
) -> Decision:
    if not current.usable:
        return Decision(Action.ISSUE, f"no usable certificate: {current.problem}")
    wanted = set(names)
    if current.names != wanted:
        added = ", ".join(sorted(wanted - current.names)) or "none"
        removed = ", ".join(sorted(current.names - wanted)) or "none"
        return Decision(Action.ISSUE, f"the names changed (added: {added}; removed: {removed})")
    assert current.not_after is not None
    if now >= current.not_after:
        return Decision(
            Action.RENEW, f"the certificate expired at {current.not_after:%Y-%m-%d %H:%M} UTC"
        )
    ari = state.ari if state.ari and state.ari.cert == cert_digest(current.pem) else None
    if may_ask and (ari is None or now >= ari.next_check):
        return Decision(Action.ASK_CA, "the CA's renewal information (ARI) is stale")
    if ari and ari.supported and ari.renew_at is not None:
        if now >= ari.renew_at:
            return Decision(
                Action.RENEW,
                f"the CA's renewal window (ARI) opened at {ari.renew_at:%Y-%m-%d %H:%M} UTC",
            )
        return Decision(
            Action.KEEP,
            f"valid until {current.not_after:%Y-%m-%d %H:%M} UTC; the CA's renewal window "
            f"opens at {ari.renew_at:%Y-%m-%d %H:%M} UTC",
        )
    assert current.not_before is not None
    renew_at = current.not_after - (current.not_after - current.not_before) * RENEW_AT_REMAINING
    if now >= renew_at:
        return Decision(Action.RENEW, "a third of the certificate's lifetime is left")
    return Decision(
        Action.KEEP,
        f"valid until {current.not_after:%Y-%m-%d %H:%M} UTC; renewal due from "
        f"{renew_at:%Y-%m-%d %H:%M} UTC",
    )
