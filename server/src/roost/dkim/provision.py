"""Make sure every hosted domain has a signing key of each algorithm, and say what to publish.

This is what the `roost_dkim` Ansible module runs on the server: keys are made where they are
used and only the public half (the TXT value) leaves the machine. Existing keys are never
replaced here; rotation adds a selector beside them (see roost.dkim.keys).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from roost.dkim.keys import ALGORITHMS, DKIMKeyStore

#: The TXT value reported in check mode for a key not made yet (its public half is unknown).
PENDING_VALUE = "v=DKIM1; p=(made on the server when the play runs for real)"


@dataclass
class DomainKeys:
    """One domain's selectors: every stored key stays published, the newest ones sign."""

    created: list[str] = field(default_factory=list)
    records: list[dict[str, str]] = field(default_factory=list)


def ensure_keys(
    keys: DKIMKeyStore, domains: Iterable[str], *, check: bool = False
) -> dict[str, DomainKeys]:
    """Creates the missing key of each algorithm per domain (none in check mode)."""
    result: dict[str, DomainKeys] = {}
    for domain in domains:
        found = DomainKeys()
        have = {key.algorithm for key in keys.current(domain)}
        for algorithm in ALGORITHMS:
            if algorithm in have:
                continue
            if check:
                selector = f"{algorithm[0]}-new"
                found.created.append(selector)
                found.records.append({"selector": selector, "value": PENDING_VALUE})
            else:
                found.created.append(keys.generate(domain, algorithm).selector)
        found.records[:0] = [
            {"selector": key.selector, "value": key.dns_value()} for key in keys.keys(domain)
        ]
        result[domain] = found
    return result
