"""How much TLS a destination requires: the seam where MTA-STS (RFC 8461) applies today and
DANE (RFC 7672) will: both answer "which MX hosts, and must their certificates verify?"."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

Mode = Literal["opportunistic", "enforce", "testing"]


@dataclass(frozen=True)
class DestinationPolicy:
    """`enforce`: only listed hosts, verified TLS or no delivery (RFC 8461 §5).
    `testing`: try verified TLS, report failures, deliver anyway (§5)."""

    mode: Mode
    source: str  # "mta-sts", later "dane"; for logs and TLS reports
    policy_string: tuple[str, ...] = ()  # the policy as published, for TLS-RPT (RFC 8460 §4.4)
    allowed: tuple[str, ...] = ()  # MX patterns as published, for TLS-RPT
    allows: Callable[[str], bool] = field(default=lambda host: True, compare=False)


OPPORTUNISTIC = DestinationPolicy("opportunistic", "none")


class PolicySource(Protocol):
    async def policy_for(self, domain: str) -> DestinationPolicy: ...


class TLSReporter(Protocol):
    """Where TLS results go (RFC 8460 §4.3): one call per session, success or failure."""

    def success(self, domain: str, policy: DestinationPolicy) -> None: ...

    def failure(
        self, domain: str, policy: DestinationPolicy, result_type: str, mx_host: str, detail: str
    ) -> None: ...
