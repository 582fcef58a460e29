"""DKIM: every key the server signs with is published, and published unchanged.

A verifier fetches ``<selector>._domainkey.<domain>`` and checks the signature with the
``p=`` key there (RFC 6376 §3.6.2.1, §6.1.2); a record that differs from the private key
(edited by hand, a key regenerated on the server) makes every message fail DKIM.
"""

from __future__ import annotations

import base64
import binascii

from roost.deliverability.context import REPUBLISH, Context
from roost.deliverability.report import Finding, failed, passed, warned
from roost.deliverability.tags import TagListError, parse_tags
from roost.dkim.keys import DKIMKey
from roost.dns.resolver import DNSError


def check_dkim(ctx: Context, domain: str) -> list[Finding]:
    keys = ctx.dkim.current(domain)
    if not keys:
        return [
            failed(
                domain,
                "dkim",
                f"the server has no DKIM key for {domain}, so it signs nothing",
                f"create keys with `roost domain add {domain}` (or re-run site.yml)",
            )
        ]
    return [_check_key(ctx, key) for key in keys]


def _check_key(ctx: Context, key: DKIMKey) -> Finding:
    name = key.dns_name().rstrip(".")
    check = f"dkim {key.selector}"
    fix = f"publish TXT {key.dns_value()!r} at {name}: " + REPUBLISH
    try:
        records = [t.decode("ascii", "replace") for t in ctx.resolver.txt(name)]
    except DNSError as err:
        return warned(key.domain, check, f"DKIM look-up failed: {err}", "check the domain's DNS")
    if not records:
        return failed(
            key.domain,
            check,
            f"no key record at {name}: mail signed with {key.selector} fails DKIM",
            fix,
        )
    if len(records) > 1:
        return failed(key.domain, check, f"{len(records)} TXT records at {name}", fix)
    try:
        published = _public_key(records[0])
    except ValueError as err:
        return failed(key.domain, check, f"invalid key record at {name}: {err}", fix)
    if published != key.public_key():
        return failed(
            key.domain,
            check,
            f"the key published at {name} is not the key the "
            "server signs with: every signature fails",
            fix,
        )
    return passed(key.domain, check, f"{key.algorithm} key published at {name} matches")


def _public_key(record: str) -> bytes:
    """The decoded ``p=`` of a key record (RFC 6376 §3.6.1); ValueError saying why not."""
    try:
        tags = parse_tags(record)
    except TagListError as err:
        raise ValueError(str(err)) from None
    if tags.get("v", "DKIM1") != "DKIM1":
        raise ValueError(f"v={tags['v']}, need DKIM1")
    p = "".join(tags.get("p", "").split())  # FWS inside base64 is allowed
    if not p:
        raise ValueError("empty p= (the key is revoked)" if "p" in tags else "no p= tag")
    try:
        return base64.b64decode(p, validate=True)
    except binascii.Error as err:
        raise ValueError(f"p= is not base64: {err}") from None
