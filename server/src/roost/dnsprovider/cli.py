"""``roost dns``: the same record planning the ``roost_dns_records`` module does.

``records`` prints what a domain needs, ``sync`` pushes it through a provider
(``--check`` only shows the changes), ``ptr`` checks the reverse DNS of the VPS.
DKIM keys come from the server's key store when a config file is readable, or
from ``--dkim SELECTOR=VALUE``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from roost.dnsprovider import DNSProviderError, open_provider, spf
from roost.dnsprovider.base import CredentialsError, Record
from roost.dnsprovider.plan import Plan, sync
from roost.dnsprovider.ptr import check_ptr
from roost.dnsprovider.records import DMARC_POLICIES, MailDomain, mail_records

LoadDKIM = Callable[[argparse.Namespace], list[tuple[str, str]]]


def add_commands(commands: argparse._SubParsersAction, load_dkim: LoadDKIM) -> None:
    group = commands.add_parser("dns", help="DNS records and providers").add_subparsers(
        metavar="ACTION"
    )
    records = group.add_parser("records", help="print every record a domain needs")
    _mail_arguments(records)
    records.set_defaults(run=lambda args: cmd_records(args, load_dkim))
    push = group.add_parser("sync", help="publish them through a DNS provider")
    _mail_arguments(push)
    push.add_argument("--provider", required=True, help="lexicon, rfc2136 or tencentcloud")
    push.add_argument("--credentials", required=True, type=Path, help="JSON file (mode 0600)")
    push.add_argument("--check", action="store_true", help="show the changes, make none")
    push.add_argument("--replace-conflicts", action="store_true")
    push.set_defaults(run=lambda args: cmd_sync(args, load_dkim))
    ptr = group.add_parser("ptr", help="check the reverse DNS of an address (JSON)")
    ptr.add_argument("address")
    ptr.add_argument("hostname")
    ptr.set_defaults(run=cmd_ptr)


def _mail_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("domain")
    parser.add_argument("--hostname", help="mail host FQDN (default: the config's hostname)")
    parser.add_argument("--ipv4")
    parser.add_argument("--ipv6")
    parser.add_argument("--dkim", action="append", default=[], metavar="SELECTOR=VALUE")
    parser.add_argument("--dmarc-policy", choices=DMARC_POLICIES, default="none")
    parser.add_argument("--dmarc-rua")
    parser.add_argument("--tlsrpt-rua")
    parser.add_argument("--mta-sts-id")
    parser.add_argument("--relay-spf", action="append", default=[], metavar="MECHANISM")


def _spec(args: argparse.Namespace, load_dkim: LoadDKIM) -> MailDomain:
    dkim = [tuple(item.split("=", 1)) for item in args.dkim if "=" in item]
    if len(dkim) != len(args.dkim):
        raise DNSProviderError("--dkim takes SELECTOR=VALUE", "e.g. --dkim 'r202611=v=DKIM1; ...'")
    if not dkim:
        dkim = load_dkim(args)
    hostname = args.hostname or getattr(args, "config_hostname", None)
    if not hostname:
        raise DNSProviderError("no mail host name", "give --hostname mail.example.org")
    return MailDomain(
        domain=args.domain,
        mail_host=hostname,
        ipv4=args.ipv4,
        ipv6=args.ipv6,
        dkim=dkim,  # type: ignore[arg-type]
        dmarc_policy=args.dmarc_policy,
        dmarc_rua=args.dmarc_rua,
        tlsrpt_rua=args.tlsrpt_rua,
        mta_sts_id=args.mta_sts_id,
        relay_spf=args.relay_spf,
    )


def cmd_records(args: argparse.Namespace, load_dkim: LoadDKIM) -> int:
    for record_set in mail_records(_spec(args, load_dkim)):
        values = [spf.record(record_set.values)] if record_set.is_spf else record_set.values
        note = "  ; merged into an existing SPF record" if record_set.is_spf else ""
        for value in values:
            print(Record(record_set.name, record_set.type, value, record_set.ttl).text() + note)
    return 0


def cmd_sync(args: argparse.Namespace, load_dkim: LoadDKIM) -> int:
    spec = _spec(args, load_dkim)
    provider = open_provider(args.provider, _credentials(args.credentials))
    result = sync(
        provider,
        spec.domain,
        mail_records(spec),
        replace_conflicts=args.replace_conflicts,
        check=args.check,
    )
    _print_plan(result, args.check)
    return 0


def cmd_ptr(args: argparse.Namespace) -> int:
    result = check_ptr(args.address, args.hostname)
    json.dump(
        {"address": result.address, "hostname": result.hostname, "names": list(result.names),
         "ok": result.ok, "message": result.message},
        sys.stdout,
    )  # fmt: skip
    print()
    return 0


def _credentials(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise CredentialsError(
            f"cannot read the credentials file {path} ({exc})",
            "give --credentials a JSON object with the provider's settings",
        ) from exc
    if not isinstance(data, dict):
        raise CredentialsError(f"{path} is not a JSON object", "write the settings as {...}")
    return data


def _print_plan(result: Plan, check: bool) -> None:
    verb = "would " if check else ""
    for change in result.changes:
        print(f"{verb}{change.action} {change.record.text()}")
    for conflict in result.conflicts:
        print(f"conflict: {conflict.message()}", file=sys.stderr)
    if not result.changes:
        print(f"{result.zone}: nothing to change")
