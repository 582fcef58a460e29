"""The checks the MX endpoint runs on every incoming message: SPF, DKIM, DMARC.

One synchronous call, meant for a worker thread: it does blocking DNS. The caller
removes forged Authentication-Results fields first (``authresults.strip_forged``)
and then prepends ``InboundVerdict.header``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from roost import authresults, dkim, dmarc, spf
from roost.dns.resolver import Resolver

Action = Literal["accept", "junk", "reject"]
_SEVERITY: dict[Action, int] = {"accept": 0, "junk": 1, "reject": 2}


@dataclass(frozen=True)
class InboundVerdict:
    """What to do with a message, and the header recording why."""

    header: bytes  # b"Authentication-Results: ...\r\n" to prepend
    action: Action
    reason: str  # detail for the log (never shown to the client)


def _action(
    result: dmarc.DMARCResult,
    reject_action: Literal["reject", "junk", "accept"],
    quarantine_action: Literal["junk", "accept"],
) -> Action:
    """Local policy for a DMARC failure (RFC 7489 §6.7: the receiver decides)."""
    if result.result != "fail":
        return "accept"
    if result.policy == "reject":
        return reject_action
    if result.policy == "quarantine":
        return quarantine_action
    return "accept"


def evaluate(
    message: bytes,
    *,
    client_ip: str,
    helo: str,
    mail_from: str,
    authserv_id: str,
    resolver: Resolver,
    reject_action: Literal["reject", "junk", "accept"] = "reject",
    quarantine_action: Literal["junk", "accept"] = "junk",
) -> InboundVerdict:
    """Check one message; ``mail_from`` is "" for the null reverse-path.

    DMARC is evaluated for every RFC5322.From domain and the strictest action wins,
    so adding a second From cannot dodge the first one's policy.
    """
    spf_result = spf.check(client_ip=client_ip, helo=helo, mail_from=mail_from, resolver=resolver)
    dkim_results = dkim.verify(message, resolver)
    domains = dmarc.from_domains(message)
    if domains:
        dmarc_results = [dmarc.evaluate(d, spf_result, dkim_results, resolver) for d in domains]
    else:
        # RFC 7489 §6.6.1: no From domain, nothing DMARC can evaluate.
        dmarc_results = [dmarc.DMARCResult("permerror", "", "none", None, "no From domain")]
    action: Action = max(
        (_action(r, reject_action, quarantine_action) for r in dmarc_results),
        key=_SEVERITY.__getitem__,
    )
    reason = "; ".join(
        [
            f"spf={spf_result.result} {spf_result.identity}={spf_result.domain}",
            *(
                f"dkim={s.result} d={s.domain} s={s.selector} {s.reason}".rstrip()
                for s in dkim_results
            ),
            *(f"dmarc={r.result} from={r.header_from} {r.reason}" for r in dmarc_results),
        ]
    )
    header = authresults.build(authserv_id, spf=spf_result, dkim=dkim_results, dmarc=dmarc_results)
    return InboundVerdict(header=header, action=action, reason=reason)
