"""The deliverer's TLS result hooks (``roost.delivery.deliverer.TLSReporter``) over the store.

The deliverer reports per session: a success when TLS went as the policy asked, a
failure with its RFC 8460 §4.3 result type otherwise. This turns those calls into
counters of :class:`~roost.tlsrpt.store.TLSReportStore` (RFC 8460 §4.4 shape).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from roost.tlsrpt.results import Failure, PolicyType, ReportPolicy, ResultType
from roost.tlsrpt.store import TLSReportStore

if TYPE_CHECKING:
    from roost.delivery.tlspolicy import DestinationPolicy

#: DestinationPolicy.source to the RFC 8460 §4.4 policy-type.
_POLICY_TYPES: dict[str, PolicyType] = {"mta-sts": "sts", "dane": "tlsa"}


def report_policy(policy: DestinationPolicy) -> ReportPolicy:
    policy_type = _POLICY_TYPES.get(policy.source, "no-policy-found")
    if policy_type == "no-policy-found":
        return ReportPolicy("no-policy-found")
    return ReportPolicy(policy_type, policy.policy_string, policy.allowed)


class StoreReporter:
    """Same methods as the deliverer's ``TLSReporter``; records into ``store``."""

    def __init__(self, store: TLSReportStore) -> None:
        self._store = store

    def success(self, domain: str, policy: DestinationPolicy) -> None:
        self._store.record_success(domain, report_policy(policy))

    def failure(
        self, domain: str, policy: DestinationPolicy, result_type: str, mx_host: str, detail: str
    ) -> None:
        failure = Failure(
            cast(ResultType, result_type),
            receiving_mx_hostname=mx_host or None,
            failure_reason_code=detail or None,
        )
        self._store.record_failure(domain, report_policy(policy), failure)
