"""MTA-STS: the TXT id, the policy served over verified HTTPS, and MX patterns that fit.

The id must be the one Roost derives from the served policy (:mod:`roost.mtasts.publish`):
an id altered or left behind may be an older policy's, which senders then keep.

Senders fetch the policy exactly as :class:`~roost.mtasts.fetch.PolicyFetcher` does for
our own deliveries (RFC 8461 §3.3: HTTPS, a certificate valid for ``mta-sts.<domain>``,
status 200, no redirects), so the check uses that code and the same parser.
"""

from __future__ import annotations

import re
from datetime import timedelta

from roost.deliverability.context import REPUBLISH, Context
from roost.deliverability.report import Finding, failed, passed, warned
from roost.dns.resolver import DNSError
from roost.mtasts import publish
from roost.mtasts.fetch import POLICY_PATH, WebPKIError
from roost.mtasts.policy import MTASTSError, RecordError, parse_policy, parse_record

#: RFC 8461 §3.1: records not starting with exactly v=STSv1 are not MTA-STS records.
_STS_PREFIX = re.compile(r"v=STSv1(?=$|[ \t;])")
MTA_STS_ROLE = "re-run site.yml: the mta_sts role serves the policy and then publishes its id"
#: How far back TLS-RPT failures count against enforce mode (RFC 8460 §4.1 reports are daily).
TLSRPT_WINDOW = timedelta(days=14)


def check_mta_sts(ctx: Context, domain: str) -> list[Finding]:
    name = f"_mta-sts.{domain}"
    try:
        texts = [t.decode("ascii", "replace") for t in ctx.resolver.txt(name)]
        mx_hosts = [mx.exchange.lower() for mx in ctx.resolver.mx(domain)]
    except DNSError as err:
        return [warned(domain, "mta-sts", f"look-up failed: {err}", "check the domain's DNS")]
    records = [t for t in texts if _STS_PREFIX.match(t)]
    if len(records) != 1:
        detail = f"no MTA-STS record at {name}" if not records else f"{len(records)} at {name}"
        return [
            failed(
                domain,
                "mta-sts",
                detail + ": senders will not use TLS-checked delivery (RFC 8461 §3.1)",
                MTA_STS_ROLE,
            )
        ]
    try:
        policy_id = parse_record(records[0])
    except RecordError as err:
        return [failed(domain, "mta-sts", f"invalid record at {name}: {err}", MTA_STS_ROLE)]
    url = f"https://mta-sts.{domain}{POLICY_PATH}"
    try:
        text = ctx.fetcher.fetch_text(domain)
        policy = parse_policy(text, policy_id)
    except WebPKIError as err:
        return [
            failed(
                domain,
                "mta-sts",
                f"{url}: certificate not valid: {err}",
                f"get a certificate that covers mta-sts.{domain} (re-run site.yml: the "
                "certificates role adds it)",
            )
        ]
    except MTASTSError as err:
        return [
            failed(
                domain,
                "mta-sts",
                f"{url}: {err}",
                MTA_STS_ROLE + f"; mta-sts.{domain} must resolve to this VPS: " + REPUBLISH,
            )
        ]
    served_id = publish.policy_id(text)
    if policy_id != served_id:
        # RFC 8461 §3.1, §5.1: senders fetch the policy again only when the id changes.
        return [
            failed(
                domain,
                "mta-sts",
                f"{name} announces id {policy_id}, but the policy served at {url} has id "
                f"{served_id}: a sender that cached another policy under {policy_id} keeps it",
                f"publish TXT 'v=STSv1; id={served_id}' at {name}; " + MTA_STS_ROLE,
            )
        ]
    detail = f"id {policy_id}, mode {policy.mode}, mx {', '.join(policy.mx)}"
    if policy.mode == "none":  # RFC 8461 §3.2, §5: no mx lines needed, nothing enforced
        return [
            warned(
                domain,
                "mta-sts",
                detail + ": the policy is switched off",
                "set mta_sts_mode to testing or enforce and re-run site.yml",
            )
        ]
    uncovered = [h for h in mx_hosts if not policy.matches(h)]
    if uncovered:
        return [
            failed(
                domain,
                "mta-sts",
                f"the policy's mx lines ({', '.join(policy.mx)}) do "
                f"not cover the MX {', '.join(uncovered)}: senders in enforce mode will "
                "not deliver to it",
                MTA_STS_ROLE,
            )
        ]
    if policy.mode == "enforce":
        return [_enforce_against_reports(ctx, domain, detail)]
    return [passed(domain, "mta-sts", detail)]


def _enforce_against_reports(ctx: Context, domain: str, detail: str) -> Finding:
    """RFC 8461 §5: enforce only once TLS reports show senders get through; in enforce
    mode a sender whose TLS fails does not deliver at all (§5.1)."""
    if ctx.tls_reports is None:
        return passed(domain, "mta-sts", detail + " (no TLS-RPT data held to compare)")
    since = (ctx.now() - TLSRPT_WINDOW).date()
    failures = ctx.tls_reports.failures_since(domain, since)
    if not failures:
        return passed(domain, "mta-sts", detail + f", no TLS failures since {since}")
    counts = ", ".join(f"{n} {kind}" for kind, n in sorted(failures.items()))
    return warned(
        domain,
        "mta-sts",
        f"{detail}: enforce is set while the TLS-RPT data held shows failed sessions since "
        f"{since} ({counts}); senders that fail so will not deliver (RFC 8461 §5.1)",
        f"fix the cause (certificate, MX names), or set mta_sts_mode: testing on {domain} in "
        "roost_domains and re-run site.yml until the reports are clean",
    )
