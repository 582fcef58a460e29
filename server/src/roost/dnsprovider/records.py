"""Every record a mail domain needs, derived from the inventory's few inputs.

One function, used by the ``dns`` role (through ``roost_dns_records``) and by
``roost dns records``, so the CLI and Ansible publish the same thing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from roost.dnsprovider.base import DEFAULT_TTL, InvalidRecordError, in_zone, normalize_name
from roost.dnsprovider.plan import Plan, RecordSet

DMARC_POLICIES = ("none", "quarantine", "reject")
#: RFC 6186 §3.1 / RFC 8314 §5.1: service label -> port; all on the mail host.
CLIENT_SERVICES = (
    ("_submissions._tcp", 465),
    ("_submission._tcp", 587),
    ("_imaps._tcp", 993),
    ("_imap._tcp", 143),
)
#: Names mail clients look up for their settings (Thunderbird autoconfig, Outlook
#: autodiscover) and MTA-STS senders fetch the policy from (RFC 8461 §3.3).
WEB_NAMES = ("mta-sts", "autoconfig", "autodiscover")
_STS_ID = re.compile(r"[A-Za-z0-9]{1,32}")
#: The prefix of the DKIM key records Roost writes (RFC 6376 §3.6.1 v=).
DKIM_MATCH = "v=DKIM1"


@dataclass(frozen=True)
class MailDomain:
    """The inputs one domain's records come from (``roost_*`` inventory variables)."""

    domain: str
    mail_host: str
    ipv4: str | None = None
    ipv6: str | None = None
    #: (selector, TXT value) of every DKIM key to publish (``roost_dkim_records``).
    dkim: Sequence[tuple[str, str]] = ()
    #: Selectors Roost made and has retired: their records are deleted (roost.dkim.rotation).
    dkim_retired: Sequence[str] = ()
    dmarc_policy: str = "none"
    dmarc_rua: str | None = None
    tlsrpt_rua: str | None = None
    #: The MTA-STS policy id; the mta_sts role publishes it once the policy is served.
    mta_sts_id: str | None = None
    #: SPF mechanisms for a relay smarthost the VPS sends through (``a:relay.example``).
    relay_spf: Sequence[str] = ()
    ttl: int = DEFAULT_TTL


def mail_records(spec: MailDomain) -> list[RecordSet]:
    """The record sets SPEC's domain needs, in the order a reader expects them."""
    domain = normalize_name(spec.domain)
    host = normalize_name(spec.mail_host)
    if not (spec.ipv4 or spec.ipv6):
        raise InvalidRecordError(
            f"no address for {host}", "set roost_ipv4 (and roost_ipv6 if the VPS has one)"
        )
    if spec.dmarc_policy not in DMARC_POLICIES:
        raise InvalidRecordError(
            f"DMARC policy {spec.dmarc_policy!r} for {domain} is not one of "
            f"{', '.join(DMARC_POLICIES)} (RFC 7489 §6.3)",
            "set roost_dmarc_policy (or dmarc_policy on the domain in roost_domains)",
        )
    ttl = spec.ttl
    sets: list[RecordSet] = []

    def add(
        name: str,
        rtype: str,
        values: Sequence[str],
        match: str | None = None,
        replace: bool = False,
    ) -> None:
        sets.append(RecordSet.make(name, rtype, values, ttl=ttl, match=match, replace=replace))

    def addresses(name: str) -> None:
        if spec.ipv4:
            add(name, "A", [spec.ipv4])
        if spec.ipv6:
            add(name, "AAAA", [spec.ipv6])

    if in_zone(domain, host):
        addresses(host)
    add(domain, "MX", [f"10 {host}."])  # RFC 5321 §5.1
    mechanisms = [f"ip4:{spec.ipv4}"] if spec.ipv4 else []
    mechanisms += [f"ip6:{spec.ipv6}"] if spec.ipv6 else []
    add(domain, "TXT", [*mechanisms, *spec.relay_spf], match="v=spf1")
    retired = {s.lower() for s in spec.dkim_retired} & {s.lower() for s, _ in spec.dkim}
    if retired:
        raise InvalidRecordError(
            f"DKIM selector {', '.join(sorted(retired))} of {domain} is both published and retired",
            "see `roost dkim status` on the VPS; a removed selector is never used again",
        )
    for selector, value in spec.dkim:
        # RFC 6376 §3.6.2.1. The record must hold the server's key: one edited by hand
        # is replaced (see dkim_repairs), never left beside it (§3.6.2.2: several
        # records at a selector give undefined results).
        name = f"{selector}._domainkey.{domain}"
        add(name, "TXT", [value], match=DKIM_MATCH, replace=True)
    for selector in spec.dkim_retired:
        sets.append(RecordSet.absent(f"{selector}._domainkey.{domain}", DKIM_MATCH))
    dmarc = f"v=DMARC1; p={spec.dmarc_policy}"  # RFC 7489 §6.3
    if spec.dmarc_rua:
        dmarc += f"; rua={_mailto(spec.dmarc_rua)}"
    add(f"_dmarc.{domain}", "TXT", [dmarc], match="v=DMARC1")
    if spec.mta_sts_id:
        sets.append(mta_sts_record(domain, spec.mta_sts_id, ttl))
    if spec.tlsrpt_rua:
        tlsrpt = f"v=TLSRPTv1; rua={_mailto(spec.tlsrpt_rua)}"  # RFC 8460 §3
        add(f"_smtp._tls.{domain}", "TXT", [tlsrpt], match="v=TLSRPTv1")
    for label in WEB_NAMES:
        addresses(f"{label}.{domain}")
    for service, port in CLIENT_SERVICES:
        add(f"{service}.{domain}", "SRV", [f"0 1 {port} {host}."])
    return sets


def removed_mail_records(spec: MailDomain) -> list[RecordSet]:
    """What Roost published for SPEC's domain, to delete once it leaves roost_domains.

    SPEC is the domain as the inventory still describes it (``state: absent``), with its
    removed DKIM selectors in ``dkim_retired``: only the values Roost would write are
    deleted (see RecordSet.gone), a user's own records at the same names stay.
    """
    sets = [s if not s.present else s.gone() for s in mail_records(spec)]
    return [*sets, RecordSet.absent(f"_mta-sts.{normalize_name(spec.domain)}", "v=STSv1")]


def mta_sts_record(domain: str, policy_id: str, ttl: int = DEFAULT_TTL) -> RecordSet:
    """The ``_mta-sts`` TXT alone, for the mta_sts role once the policy is served.

    RFC 8461 §3.1: the id (1-32 letters and digits) changes with every policy, so an
    older ``v=STSv1`` value at the name is Roost's own and is replaced.
    """
    if not _STS_ID.fullmatch(policy_id):
        raise InvalidRecordError(
            f"MTA-STS policy id {policy_id!r} is not 1-32 letters and digits (RFC 8461 §3.1)",
            "derive the id from the policy (e.g. a timestamp or a hash prefix)",
        )
    return RecordSet.make(
        f"_mta-sts.{domain}", "TXT", [f"v=STSv1; id={policy_id}"],
        ttl=ttl, match="v=STSv1", replace=True,
    )  # fmt: skip


def dkim_repairs(result: Plan, published: Iterable[str] = ()) -> list[str]:
    """A message for each DKIM record that did not hold the server's key and was replaced,
    and for each one of PUBLISHED (names of keys already signing or retiring) that was
    missing and is published again.

    A record deleted without a new one at its name is a retired selector, not a repair.
    """
    created = {c.record.name for c in result.changes if c.action == "create"}
    deleted = {c.record.name for c in result.changes if c.action == "delete"}
    replaced = [
        f"the DKIM record {name} did not match the server's private key (edited by hand or "
        "left from another key); replaced with the server's key"
        for name in sorted(created & deleted)
        if "._domainkey." in name
    ]
    lost = [
        f"the DKIM record {name} of a key in use was missing (deleted by hand?); published again"
        for name in sorted(created - deleted)
        if name in {normalize_name(n) for n in published}
    ]
    return replaced + lost


def _mailto(address: str) -> str:
    """A report address as the URI DMARC and TLS-RPT take (RFC 7489 §6.4, RFC 8460 §3)."""
    return address if ":" in address else f"mailto:{address}"
