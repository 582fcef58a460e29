"""How much TLS a destination requires: the seam where MTA-STS (RFC 8461) applies today and
DANE (RFC 7672) will: both answer "which MX hosts, and must their certificates verify?"."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

Mode = Literal["opportunistic", "enforce", "testing"]


@dataclass(frozen=True)
class DestinationPolicy:
    """`enforce`: only listed hosts, verified TLS or no delivery (RFC 8461 §5).
    `testing`: try verified TLS, report failures, deliver anyway (§5)."""

    mode: Mode
    source: str  # "mta-sts", later "dane"; for logs and TLS reports
    policy_string: tuple[str, ...] = ()  # the policy as published, for TLS-RPT (RFC 8460 §4.4)
    allowed: tuple[str, ...] = ()  # MX patterns; empty means any

    def allows(self, host: str) -> bool:
        return not self.allowed or any(_matches(pattern, host) for pattern in self.allowed)


OPPORTUNISTIC = DestinationPolicy("opportunistic", "none")


class PolicySource(Protocol):
    async def policy_for(self, domain: str) -> DestinationPolicy: ...


def _matches(pattern: str, host: str) -> bool:
    """RFC 8461 §4.1: a leading `*.` matches exactly one extra label."""
    pattern, host = pattern.lower().rstrip("."), host.lower().rstrip(".")
    if pattern.startswith("*."):
        head, _, rest = host.partition(".")
        return bool(head) and rest == pattern[2:]
    return pattern == host
