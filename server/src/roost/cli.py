"""The `roost` command: run the server and administer its state.

Every failure ends in one line on stderr naming the cause and the fix, and exit status 1;
tracebacks are for bugs only. Run as root, state-changing commands first become the service
user, so files they create stay readable by the server after it drops privileges.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from roost import config as config_module
from roost.config import Config, ConfigError
from roost.control import wake_server
from roost.devinit import DevInitError, init_dev
from roost.dkim import rotation
from roost.dkim.keys import DKIMKeyError, DKIMKeyStore
from roost.dkim.rotation import Policy
from roost.dkim.state import DKIMStateError
from roost.dnsprovider import DNSProviderError
from roost.dnsprovider.cli import add_commands as add_dns_commands
from roost.privileges import PrivilegeError, drop_to
from roost.queue.spool import QueueError, Spool
from roost.store.errors import StoreError
from roost.store.sqlite import SQLiteStore


class CommandError(Exception):
    pass


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.run(args) or 0)
    except (
        ConfigError,
        CommandError,
        DevInitError,
        DKIMKeyError,
        DKIMStateError,
        PrivilegeError,
        StoreError,
        QueueError,
        DNSProviderError,
        OSError,
    ) as exc:
        print(f"roost: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="roost", description="Roost mail server")
    parser.add_argument(
        "-c", "--config", help=f"config file (default: ${config_module.ENV_VAR} or "
        f"{config_module.DEFAULT_PATH})",
    )  # fmt: skip
    commands = parser.add_subparsers(metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the server in the foreground")
    serve.set_defaults(run=cmd_serve)

    check = commands.add_parser("config", help="configuration").add_subparsers(metavar="ACTION")
    check.add_parser("check", help="validate the config file").set_defaults(run=cmd_config_check)

    init = commands.add_parser("init", help="write a ready-to-run configuration")
    init.add_argument("--dev", metavar="DIR", required=True, help="directory for everything")
    init.add_argument("--domain", required=True)
    init.add_argument("--port-base", type=int, default=10000)
    init.add_argument("--hostname", help="server name (default: mail.DOMAIN)")
    init.add_argument("--nameserver", action="append", help="DNS server IP[:PORT] (repeatable)")
    init.set_defaults(run=cmd_init)

    _add_user_commands(commands)
    _add_alias_commands(commands)
    _add_domain_commands(commands)
    _add_mailbox_commands(commands)
    _add_dkim_commands(commands)
    _add_queue_commands(commands)
    _add_accounts_commands(commands)
    add_dns_commands(commands, dkim_for_dns)
    _add_cert_commands(commands)
    _add_check_command(commands)
    return parser


def _group(
    commands: argparse._SubParsersAction, name: str, text: str
) -> argparse._SubParsersAction:
    return commands.add_parser(name, help=text).add_subparsers(metavar="ACTION")


def _action(
    group: argparse._SubParsersAction, name: str, run: Callable[..., int | None], text: str
) -> argparse.ArgumentParser:
    parser = group.add_parser(name, help=text)
    parser.set_defaults(run=run)
    return parser


def _add_user_commands(commands: argparse._SubParsersAction) -> None:
    users = _group(commands, "user", "mail accounts")
    for name, run, text in (
        ("add", cmd_user_add, "create an account (password read from stdin)"),
        ("passwd", cmd_user_passwd, "change a password (read from stdin)"),
    ):
        parser = _action(users, name, run, text)
        parser.add_argument("address")
        parser.add_argument("--password-stdin", action="store_true", required=True)
    _action(users, "del", cmd_user_del, "delete an account and its mail").add_argument("address")
    _action(users, "list", cmd_user_list, "list accounts")


def _add_alias_commands(commands: argparse._SubParsersAction) -> None:
    aliases = _group(commands, "alias", "aliases and catch-alls (@domain)")
    add = _action(aliases, "add", cmd_alias_add, "map an alias to one or more targets")
    add.add_argument("alias")
    add.add_argument("targets", nargs="+")
    _action(aliases, "del", cmd_alias_del, "remove an alias").add_argument("alias")
    _action(aliases, "list", cmd_alias_list, "list aliases")


def _add_domain_commands(commands: argparse._SubParsersAction) -> None:
    domains = _group(commands, "domain", "hosted domains")
    _action(domains, "add", cmd_domain_add, "host a domain (creates DKIM keys)").add_argument(
        "domain"
    )
    _action(domains, "del", cmd_domain_del, "stop hosting an empty domain").add_argument("domain")
    _action(domains, "list", cmd_domain_list, "list hosted domains")


def _add_mailbox_commands(commands: argparse._SubParsersAction) -> None:
    mailboxes = _group(commands, "mailbox", "mail folders")
    _action(mailboxes, "list", cmd_mailbox_list, "folders with counts").add_argument("address")
    export = _action(mailboxes, "export", cmd_mailbox_export, "write a folder as mbox to stdout")
    export.add_argument("address")
    export.add_argument("folder")


def _add_dkim_commands(commands: argparse._SubParsersAction) -> None:
    dkim = _group(commands, "dkim", "DKIM signing keys")
    keygen = _action(dkim, "keygen", cmd_dkim_keygen, "generate a signing key")
    keygen.add_argument("domain")
    keygen.add_argument("--algorithm", choices=("rsa2048", "ed25519"), default="rsa2048")
    keygen.add_argument("--selector")
    _action(dkim, "dns", cmd_dkim_dns, "print the TXT records to publish").add_argument("domain")
    ensure = _action(
        dkim, "ensure", cmd_dkim_ensure,
        "rotation phase 1: make missing and due keys (pending), drop retired ones; JSON out",
    )  # fmt: skip
    ensure.add_argument("domains", nargs="*", metavar="domain")
    ensure.add_argument("--force", action="store_true", help="rotate now, whatever the age")
    ensure.add_argument(
        "--absent", action="append", default=[], metavar="DOMAIN",
        help="a domain no longer hosted: remove all its keys (repeatable)",
    )  # fmt: skip
    _rotation_arguments(ensure)
    activate = _action(
        dkim, "activate", cmd_dkim_activate,
        "rotation phase 2, once DNS serves the pending keys: sign with them; JSON out",
    )  # fmt: skip
    activate.add_argument("domains", nargs="+", metavar="domain")
    _rotation_arguments(activate)
    status = _action(dkim, "status", cmd_dkim_status, "every selector, its state and dates")
    status.add_argument("domains", nargs="*", metavar="domain", help="default: every domain")
    status.add_argument("--json", action="store_true")
    _rotation_arguments(status)


def _rotation_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rotate-days", type=int, default=180, help="rotate keys this old")
    parser.add_argument("--retire-days", type=int, default=7, help="keep replaced keys this long")
    parser.add_argument("--now", type=_instant, help="the time to act at (ISO 8601; for tests)")
    parser.add_argument("--check", action="store_true", help="only report what would change")


def _instant(text: str) -> datetime:
    when = datetime.fromisoformat(text)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _add_queue_commands(commands: argparse._SubParsersAction) -> None:
    queue = _group(commands, "queue", "the outbound queue")
    _action(queue, "list", cmd_queue_list, "queued messages and why they wait")
    _action(queue, "retry", cmd_queue_retry, "retry now (all, or one message)").add_argument(
        "id", nargs="?"
    )
    _action(queue, "drop", cmd_queue_drop, "delete a message, no bounce").add_argument("id")
    _action(queue, "bounce", cmd_queue_bounce, "give up on a message and bounce it").add_argument(
        "id"
    )


def _add_accounts_commands(commands: argparse._SubParsersAction) -> None:
    accounts = _group(commands, "accounts", "domains, users and aliases as a whole")
    sync = _action(
        accounts,
        "sync",
        cmd_accounts_sync,
        "add or correct what a JSON document on stdin lists; never removes anything",
    )
    sync.add_argument("--check", action="store_true", help="only report what would change")


def _add_cert_commands(commands: argparse._SubParsersAction) -> None:
    """`roost cert renew|status` live with the ACME code (they need no server config)."""
    from roost.acme.commands import add_commands

    add_commands(commands)


def load_config(args: argparse.Namespace) -> Config:
    return config_module.load(config_module.config_path(args.config))


def open_store(config: Config) -> SQLiteStore:
    """As root, become the service user first: files SQLite creates must stay the server's."""
    drop_to(config.run_as_user, config.run_as_group)
    return SQLiteStore(config.state_dir)


def read_password() -> str:
    if sys.stdin.isatty():
        raise CommandError("--password-stdin reads the password from standard input; pipe it in")
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise CommandError("the password read from standard input is empty")
    return password


def cmd_serve(args: argparse.Namespace) -> int:
    from roost.logformat import configure as configure_logging
    from roost.serve import ListenError, run
    from roost.tlsconfig import TLSError

    config = load_config(args)
    configure_logging(config.log_level)
    try:
        run(config)
    except (ListenError, TLSError) as exc:
        raise CommandError(str(exc)) from None
    except PermissionError as exc:
        raise CommandError(
            f"{exc.filename}: permission denied for user {config.run_as_user}; the state "
            f"directory must belong to it: chown -R {config.run_as_user} {config.state_dir}"
        ) from None
    return 0


def cmd_config_check(args: argparse.Namespace) -> int:
    config = load_config(args)
    print(f"{config.source}: ok")
    return 0


def cmd_init(args: argparse.Namespace) -> int:
    path = init_dev(
        Path(args.dev).absolute(),
        domain=args.domain,
        port_base=args.port_base,
        hostname=args.hostname,
        nameservers=args.nameserver,
    )
    print(f"wrote {path}; start it with: roost -c {path} serve")
    return 0


def cmd_user_add(args: argparse.Namespace) -> int:
    from roost.passwords import hash_password

    password = read_password()
    store = open_store(load_config(args))
    store.add_user(args.address, hash_password(password))
    print(f"added {args.address}")
    return 0


def cmd_user_passwd(args: argparse.Namespace) -> int:
    from roost.passwords import hash_password

    password = read_password()
    open_store(load_config(args)).set_password(args.address, hash_password(password))
    print(f"password changed for {args.address}")
    return 0


def cmd_user_del(args: argparse.Namespace) -> int:
    open_store(load_config(args)).remove_user(args.address)
    print(f"deleted {args.address}")
    return 0


def cmd_user_list(args: argparse.Namespace) -> int:
    for user in open_store(load_config(args)).list_users():
        print(user)
    return 0


def cmd_alias_add(args: argparse.Namespace) -> int:
    open_store(load_config(args)).add_alias(args.alias, args.targets)
    print(f"{args.alias} -> {', '.join(args.targets)}")
    return 0


def cmd_alias_del(args: argparse.Namespace) -> int:
    open_store(load_config(args)).remove_alias(args.alias)
    print(f"deleted alias {args.alias}")
    return 0


def cmd_alias_list(args: argparse.Namespace) -> int:
    for alias, targets in sorted(open_store(load_config(args)).list_aliases().items()):
        print(f"{alias} -> {', '.join(targets)}")
    return 0


def cmd_domain_add(args: argparse.Namespace) -> int:
    config = load_config(args)
    store = open_store(config)
    store.add_domain(args.domain)
    keys = DKIMKeyStore(config.dkim_dir)
    created = []
    if not keys.current(args.domain):
        for algorithm in ("rsa2048", "ed25519"):
            created.append(keys.generate(args.domain, algorithm).selector)
    print(f"added domain {args.domain}")
    if created:
        print(f"created DKIM keys {', '.join(created)}; publish: roost dkim dns {args.domain}")
    return 0


def cmd_domain_del(args: argparse.Namespace) -> int:
    open_store(load_config(args)).remove_domain(args.domain)
    print(f"deleted domain {args.domain}")
    return 0


def cmd_domain_list(args: argparse.Namespace) -> int:
    for domain in open_store(load_config(args)).list_domains():
        print(domain)
    return 0


def cmd_mailbox_list(args: argparse.Namespace) -> int:
    for box in open_store(load_config(args)).list_mailboxes(args.address):
        use = f" {box.special_use}" if box.special_use else ""
        print(f"{box.name}\t{box.messages}{use}")
    return 0


def cmd_mailbox_export(args: argparse.Namespace) -> int:
    store = open_store(load_config(args))
    count = store.export_mbox(args.address, args.folder, sys.stdout.buffer)
    sys.stdout.buffer.flush()
    print(f"exported {count} messages", file=sys.stderr)
    return 0


def open_spool(config: Config) -> Spool:
    drop_to(config.run_as_user, config.run_as_group)
    return Spool(config.state_dir)


def cmd_queue_list(args: argparse.Namespace) -> int:
    messages = open_spool(load_config(args)).all()
    if not messages:
        print("the queue is empty")
    for message in messages:
        created = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(message.created))
        print(f"{message.id}  {message.size} bytes  queued {created} UTC  from <{message.sender}>")
        for rcpt in message.recipients:
            when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(rcpt.next_attempt))
            if rcpt.held:
                print(
                    f"    <{rcpt.address}>  attempts {rcpt.attempts}  HELD: attempts kept failing"
                    f" inside Roost; `roost queue retry {message.id}` or"
                    f" `roost queue bounce {message.id}`"
                )
            else:
                print(f"    <{rcpt.address}>  attempts {rcpt.attempts}  next {when} UTC")
            if rcpt.last_error:
                print(f"        last error: {rcpt.last_error}")
    return 0


def cmd_queue_retry(args: argparse.Namespace) -> int:
    config = load_config(args)
    count = open_spool(config).retry(args.id)
    woke = wake_server(config)
    print(f"{count} recipient(s) due now" + ("" if woke else "; the server is not running"))
    return 0


def cmd_queue_drop(args: argparse.Namespace) -> int:
    open_spool(load_config(args)).drop(args.id)
    print(f"dropped {args.id}")
    return 0


def cmd_queue_bounce(args: argparse.Namespace) -> int:
    from roost.delivery.outcome import permanent
    from roost.queue.bounce import Bouncer
    from roost.queue.dsn import RecipientStatus

    config = load_config(args)
    spool = open_spool(config)
    store = SQLiteStore(config.state_dir)
    messages = spool.all(args.id)
    if not messages:
        raise CommandError(f"no queued message {args.id}; see `roost queue list`")
    message = messages[0]
    reason = permanent("the postmaster gave up on this message", "5.3.0")
    statuses = [RecipientStatus(r.address, reason) for r in message.recipients]
    Bouncer(config.hostname, spool, store).send(
        message, spool.message_bytes(message.id), statuses, "failed"
    )
    spool.done(r.row for r in message.recipients)
    wake_server(config)
    print(f"bounced {args.id} to <{message.sender}>")
    return 0


def cmd_accounts_sync(args: argparse.Namespace) -> int:
    """Prints the changes as JSON, so scripts (and Ansible) know whether anything changed."""
    from roost.accounts import AccountsError, listing, parse_accounts, planned_listing, sync

    try:
        document = json.load(sys.stdin)
        wanted = parse_accounts(document)
    except (json.JSONDecodeError, AccountsError) as exc:
        raise CommandError(
            f"accounts sync reads {{domains, users, aliases, absent}} as JSON on stdin: {exc}"
        ) from None
    store = open_store(load_config(args))
    before = listing(store)
    try:
        changes = sync(store, wanted, check=args.check)
    except AccountsError as exc:
        raise CommandError(str(exc)) from None
    after = planned_listing(before, wanted, changes) if args.check else listing(store)
    print(json.dumps({**changes.as_dict(), "before": before, "after": after}, indent=2))
    return 0


def cmd_dkim_keygen(args: argparse.Namespace) -> int:
    config = load_config(args)
    drop_to(config.run_as_user, config.run_as_group)
    key = DKIMKeyStore(config.dkim_dir).generate(args.domain, args.algorithm, args.selector)
    print(f"created {key.algorithm} key {key.selector} for {key.domain}")
    return 0


def _rotation(args: argparse.Namespace) -> tuple[DKIMKeyStore, Policy, datetime]:
    """The key store (as the service user), the policy and the clock of a rotation command."""
    try:
        policy = Policy(args.rotate_days, args.retire_days, getattr(args, "force", False))
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    config = load_config(args)
    drop_to(config.run_as_user, config.run_as_group)
    return DKIMKeyStore(config.dkim_dir), policy, args.now or datetime.now(UTC)


def cmd_dkim_ensure(args: argparse.Namespace) -> int:
    """Prints {domain: {created, removed, records, retired, problems}}; only public halves."""
    store, policy, now = _rotation(args)
    found = {d: rotation.ensure(store, d, now, policy, check=args.check) for d in args.domains}
    found |= {d: rotation.drop(store, d, now, check=args.check) for d in args.absent}
    print(json.dumps({domain: asdict(keys) for domain, keys in found.items()}, indent=2))
    return 0


def cmd_dkim_activate(args: argparse.Namespace) -> int:
    """Prints {domain: [selectors now signing]}."""
    store, _, now = _rotation(args)
    found = {d: rotation.activate(store, d, now, check=args.check) for d in args.domains}
    print(json.dumps(found, indent=2))
    return 0


def cmd_dkim_status(args: argparse.Namespace) -> int:
    store, policy, now = _rotation(args)
    domains = args.domains
    if not domains and store.key_dir.is_dir():
        domains = sorted(p.name for p in store.key_dir.iterdir() if p.is_dir())
    rows = [row for d in domains for row in rotation.status(store, d, policy)]
    if args.json:
        print(json.dumps([r.as_json() for r in rows], indent=2))
    else:
        sys.stdout.write(rotation.status_table(rows, now))
    return 0


def dkim_for_dns(args: argparse.Namespace) -> list[tuple[str, str]]:
    """(selector, TXT value) of the domain's stored keys, when a config file is readable.

    Also records the config's hostname as the default mail host of `roost dns`.
    """
    try:
        config = load_config(args)
    except ConfigError:
        return []
    args.config_hostname = config.hostname
    keys = DKIMKeyStore(config.dkim_dir).keys(args.domain)
    return [(k.selector, k.dns_value()) for k in keys]


def cmd_dkim_dns(args: argparse.Namespace) -> int:
    config = load_config(args)
    records = DKIMKeyStore(config.dkim_dir).dns_records(args.domain)
    if not records:
        raise CommandError(
            f"no DKIM keys for {args.domain}; create them with `roost dkim keygen {args.domain}`"
        )
    for name, strings in records:
        quoted = " ".join(f'"{s}"' for s in strings)
        print(f"{name} IN TXT {quoted}")
    return 0


# -- roost check: the deliverability check (roost.deliverability) -----------------------------


def _add_check_command(commands: argparse._SubParsersAction) -> None:
    from roost.deliverability.context import DEFAULT_DNSBLS, DEFAULT_PROBE_HOSTS
    from roost.deliverability.run import DEFAULT_BUDGET

    check = commands.add_parser(
        "check", help="deliverability: DNS records, TLS, ports, blocklists, open relay"
    )
    check.add_argument("--domain", action="append", help="only this domain (repeatable)")
    check.add_argument("--format", choices=("table", "json"), default="table")
    check.add_argument(
        "--address", action="append", default=[],
        help="a public address of the VPS (repeatable; default: the mail host's A/AAAA)",
    )  # fmt: skip
    check.add_argument(
        "--dnsbl", action="append", metavar="ZONE",
        help=f"DNS blocklist zone (repeatable; default: {', '.join(DEFAULT_DNSBLS)})",
    )  # fmt: skip
    check.add_argument(
        "--probe-host", action="append", metavar="HOST",
        help=f"MX host the port 25 probe greets (repeatable; default: {DEFAULT_PROBE_HOSTS[0]}...)",
    )  # fmt: skip
    check.add_argument("--timeout", type=float, default=10.0, help="seconds per network step")
    check.add_argument(
        "--budget", type=float, default=DEFAULT_BUDGET, help="seconds for the whole run"
    )
    check.set_defaults(run=cmd_check)


def cmd_check(args: argparse.Namespace) -> int:
    from roost.deliverability.context import DEFAULT_DNSBLS, DEFAULT_PROBE_HOSTS
    from roost.deliverability.report import as_json, as_table, ok
    from roost.deliverability.run import context_from_config, run
    from roost.tlsrpt import TLSReportStore
    from roost.tlsrpt.store import DB_NAME as TLSRPT_DB

    for address in args.address:
        try:
            ipaddress.ip_address(address)
        except ValueError:
            raise CommandError(f"--address {address!r} is not an IP address") from None
    if args.timeout <= 0 or args.budget <= 0:
        raise CommandError("--timeout and --budget are seconds, more than 0")
    config = load_config(args)
    domains = args.domain or open_store(config).list_domains()
    drop_to(config.run_as_user, config.run_as_group)  # the TLS-RPT files stay the server's
    reports_path = config.state_dir / TLSRPT_DB
    ctx = context_from_config(
        config,
        args.address,
        dnsbls=args.dnsbl or DEFAULT_DNSBLS,
        probe_hosts=args.probe_host or DEFAULT_PROBE_HOSTS,
        timeout=args.timeout,
        tls_reports=TLSReportStore(reports_path) if reports_path.exists() else None,
    )
    findings = run(ctx, domains, budget=args.budget)
    print(as_json(findings) if args.format == "json" else as_table(findings))
    return 0 if ok(findings) else 1
