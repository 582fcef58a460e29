"""The MTA-STS policy Roost publishes for a hosted domain, and its ``_mta-sts`` TXT record.

The ``id`` is derived from the policy text, so it changes exactly when the policy does
(RFC 8461 §3.1: senders refetch only when the id changes) and a re-run that changes nothing
publishes the same record. What we render is parsed back with our own receiving-side parser,
so we never publish a policy Roost itself would refuse.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from roost.mtasts.policy import PolicyError, parse_policy, parse_record

#: One week: RFC 8461 §3.2 recommends max_age "in the range of weeks or greater"; short
#: enough that a mistake made while in ``testing`` mode does not linger.
DEFAULT_MAX_AGE = 604800

#: Hex characters of SHA-256 kept as the id: 80 bits, well inside the 32 allowed (§3.1).
ID_LENGTH = 20


@dataclass(frozen=True)
class PublishedPolicy:
    """What to serve at ``https://mta-sts.<domain>/.well-known/mta-sts.txt`` and publish at
    ``_mta-sts.<domain>`` TXT."""

    domain: str
    text: str
    id: str

    @property
    def record(self) -> str:
        return f"v=STSv1; id={self.id}"


def policy_id(text: str) -> str:
    """The id Roost publishes for the policy TEXT, byte for byte as served.

    ``roost check`` compares it with the ``_mta-sts`` TXT: an id that is not the served
    policy's may be an older policy's, and senders that cached that one never refetch.
    """
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:ID_LENGTH]


def render(domain: str, mode: str, mx: Sequence[str], max_age: int) -> PublishedPolicy:
    """The policy for DOMAIN, or :class:`~roost.mtasts.policy.PolicyError` naming the problem.

    Lines end in CRLF, the terminator RFC 8461 §3.2 names first; every sender also takes LF.
    ``mx`` lines keep the given order, lower-cased and without trailing dots, so the same
    inventory always yields the same text and id.
    """
    lines = ["version: STSv1", f"mode: {mode}"]
    lines += [f"mx: {host.strip().rstrip('.').lower()}" for host in mx]
    lines.append(f"max_age: {max_age}")
    text = "".join(f"{line}\r\n" for line in lines)
    try:
        parsed = parse_policy(text)
    except PolicyError as exc:
        raise PolicyError(f"MTA-STS policy for {domain}: {exc}") from None
    if parsed.lines() != lines:  # a line break smuggled inside a value adds fields
        raise PolicyError(f"MTA-STS policy for {domain}: a value holds a line break: {lines}")
    published = PublishedPolicy(domain=domain.rstrip(".").lower(), text=text, id=policy_id(text))
    parse_record(published.record)
    return published
