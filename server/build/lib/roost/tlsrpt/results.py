"""What one TLS session result is, in RFC 8460's vocabulary (§4.3, §4.4).

The delivery code says per session which policy applied and, on failure, why; the
store keeps counts per policy domain and UTC day, the unit of a report (§4.1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from roost.mtasts.policy import Policy, STSResultType

#: RFC 8460 §4.3: negotiation failures (§4.3.1), DANE (§4.3.2.1), MTA-STS (§4.3.2.2).
ResultType = Literal[
    "starttls-not-supported",
    "certificate-host-mismatch",
    "certificate-expired",
    "certificate-not-trusted",
    "validation-failure",
    "tlsa-invalid",
    "dnssec-invalid",
    "dane-required",
    STSResultType,
]

PolicyType = Literal["sts", "tlsa", "no-policy-found"]


@dataclass(frozen=True)
class ReportPolicy:
    """The ``policy`` object of a report (RFC 8460 §4.4): type, text lines, MX patterns.

    Sessions are counted per distinct value, so a policy changing during a day gives
    two entries in that day's report, as §4.4 expects ("policies" is a list).
    """

    policy_type: PolicyType
    policy_string: tuple[str, ...] = ()
    mx_host: tuple[str, ...] = ()

    @classmethod
    def of(
        cls, policy: Policy | ReportPolicy | None, result_type: str | None = None
    ) -> ReportPolicy:
        """The report policy for an MTA-STS policy, or for none.

        Without a policy, an ``sts-*`` failure (the policy could not be fetched or
        parsed) still belongs under type ``sts``: the domain does publish MTA-STS.
        Otherwise the type is ``no-policy-found`` (§4.4).
        """
        if isinstance(policy, ReportPolicy):
            return policy
        if policy is not None:
            return cls("sts", tuple(policy.lines()), policy.mx)
        if result_type is not None and result_type.startswith("sts-"):
            return cls("sts")
        return cls("no-policy-found")


@dataclass(frozen=True)
class Failure:
    """One failed session's details (RFC 8460 §4.4 ``failure-details``); ``None`` = absent.

    ``failure_reason_code`` is free text (§4.4), e.g. the TLS alert or the verifier's
    message.
    """

    result_type: ResultType
    sending_mta_ip: str | None = None
    receiving_mx_hostname: str | None = None
    receiving_mx_helo: str | None = None
    receiving_ip: str | None = None
    failure_reason_code: str | None = None
    additional_information: str | None = None

    def json_fields(self) -> dict[str, str]:
        """The RFC 8460 §4.4 keys of the fields that are set."""
        fields = {
            "result-type": self.result_type,
            "sending-mta-ip": self.sending_mta_ip,
            "receiving-mx-hostname": self.receiving_mx_hostname,
            "receiving-mx-helo": self.receiving_mx_helo,
            "receiving-ip": self.receiving_ip,
            "additional-information": self.additional_information,
            "failure-reason-code": self.failure_reason_code,
        }
        return {key: value for key, value in fields.items() if value}
