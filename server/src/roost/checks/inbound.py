"""The checks the MX endpoint runs on every incoming message: SPF, DKIM, DMARC.

One synchronous call, meant for a worker thread: it does blocking DNS. The caller
removes forged Authentication-Results fields first (``authresults.strip_forged``)
and then prepends ``InboundVerdict.header``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

from roost import authresults, dkim, dmarc, spf
from roost.dns.resolver import Resolver
from roost.fromheader import FromError, author_domain

Action = Literal["accept", "junk", "reject"]
DEFAULT_BUDGET = 30.0  # seconds for all the checks of one message


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
    budget: float = DEFAULT_BUDGET,
    spf_budget: float = spf.DEFAULT_BUDGET,
    max_signatures: int = dkim.MAX_SIGNATURES,
) -> InboundVerdict:
    """Check one message; ``mail_from`` is "" for the null reverse-path.

    A From field that does not name exactly one author domain gets `reject_action`: no
    domain's policy can be applied to it, and accepting it is how a spoofed From with a
    trailing comma once passed a p=reject domain (RFC 7489 §6.6.1).

    The checks together get `budget` seconds: what has not started by then is temperror in
    Authentication-Results, and DMARC decides with what it has (an aligned pass still
    passes; an aligned temperror gives no verdict, RFC 7489 §6.6.2).
    """
    deadline = time.monotonic() + budget
    spf_result = spf.check(
        client_ip=client_ip,
        helo=helo,
        mail_from=mail_from,
        resolver=resolver,
        budget=min(spf_budget, budget),
    )
    dkim_results = dkim.verify(message, resolver, max_signatures, deadline)
    try:
        domain = author_domain(message)
    except FromError as err:
        dmarc_result = dmarc.DMARCResult("permerror", "", "reject", None, f"From: {err}")
        action: Action = reject_action
    else:
        if time.monotonic() > deadline:
            reason = "the message's check time budget was spent"
            dmarc_result = dmarc.DMARCResult("temperror", domain, "none", None, reason)
        else:
            dmarc_result = dmarc.evaluate(domain, spf_result, dkim_results, resolver)
        action = _action(dmarc_result, reject_action, quarantine_action)
    dmarc_results = [dmarc_result]
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
