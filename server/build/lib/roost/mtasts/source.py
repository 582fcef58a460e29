"""MTA-STS as the delivery code's policy source (:class:`roost.delivery.tlspolicy.PolicySource`).

The deliverer asks one question per destination, "which MX hosts, and must their
certificates verify?"; this answers it from :class:`~roost.mtasts.lookup.MTASTS`. It
also records policy discovery failures for TLS-RPT, because the deliverer never sees
them: a policy host with a bad certificate is an ``sts-webpki-invalid`` session
failure (RFC 8460 §4.3.2.2) for every delivery it affects.
"""

from __future__ import annotations

from roost.delivery.tlspolicy import OPPORTUNISTIC, DestinationPolicy
from roost.mtasts.lookup import MTASTS
from roost.mtasts.policy import Policy
from roost.tlsrpt.results import Failure
from roost.tlsrpt.store import TLSReportStore


def destination_policy(policy: Policy | None) -> DestinationPolicy:
    """The delivery seam's view of a policy; mode ``none`` is no policy (RFC 8461 §5)."""
    if policy is None or policy.mode == "none":
        return OPPORTUNISTIC
    return DestinationPolicy(
        policy.mode, "mta-sts", tuple(policy.lines()), policy.mx, allows=policy.matches
    )


class MTASTSPolicySource:
    """Implements ``PolicySource``; ``reports`` (optional) receives discovery failures."""

    def __init__(self, mtasts: MTASTS, reports: TLSReportStore | None = None) -> None:
        self._mtasts = mtasts
        self._reports = reports

    async def policy_for(self, domain: str) -> DestinationPolicy:
        result = await self._mtasts.lookup(domain)
        if result.error is not None and self._reports is not None:
            failure = Failure(result.error.result_type, failure_reason_code=str(result.error))
            self._reports.record_failure(result.domain, result.policy, failure)
        return destination_policy(result.policy)
