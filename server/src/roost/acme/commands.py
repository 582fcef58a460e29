"""``roost cert renew`` and ``roost cert status``: the VPS's own door onto ``roost.acme.renew``.

The systemd timer runs ``roost cert renew`` twice a day; it contacts the CA only when a
renewal is due, then reloads the services that read the certificate. Exit status: 0 done or
nothing due, 1 failed (the message names the cause and the variable to fix), 3 (status only)
no usable certificate for the configured names.
"""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys
from pathlib import Path

from roost.acme import settings
from roost.acme.due import Action
from roost.acme.errors import CertificateError

#: `roost cert status`: the installed certificate is missing, broken, expired or for other names.
EXIT_UNUSABLE = 3


def add_commands(commands: argparse._SubParsersAction) -> None:
    group = commands.add_parser("cert", help="the TLS certificate (ACME DNS-01)")
    actions = group.add_subparsers(metavar="ACTION")
    renew_cmd = actions.add_parser("renew", help="renew the certificate when due, then reload")
    renew_cmd.add_argument("--force", action="store_true", help="renew even if not due")
    renew_cmd.add_argument(
        "--no-reload", action="store_true", help="do not reload the services afterwards"
    )
    renew_cmd.set_defaults(run=cmd_renew)
    status = actions.add_parser("status", help="names, expiry and when renewal is due")
    status.set_defaults(run=cmd_status)
    for parser in (renew_cmd, status):
        parser.add_argument(
            "--settings",
            type=Path,
            default=settings.DEFAULT_PATH,
            help=f"ACME and DNS settings (default {settings.DEFAULT_PATH})",
        )


def cmd_renew(args: argparse.Namespace) -> int:
    from roost.acme import renew  # the acme library is loaded only for certificate work

    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="roost: %(message)s")
    try:
        config = settings.load(args.settings)
        result = renew.run(config, force=args.force)
    except CertificateError as exc:
        print(f"roost: certificate not renewed: {exc}", file=sys.stderr)
        return 1
    for warning in result.warnings:
        print(f"roost: warning: {warning}", file=sys.stderr)
    if not result.changed:
        print(f"certificate not due: {result.reason}")
        return 0
    expiry = f"{result.not_after:%Y-%m-%d %H:%M} UTC" if result.not_after else "unknown"
    done = "issued" if result.action is Action.ISSUE else "renewed"
    print(f"certificate {done} ({result.reason}): {', '.join(result.names)}")
    print(f"valid until {expiry}; written to {config.fullchain} and {config.privkey}")
    if args.no_reload:
        return 0
    return _reload(config.reload)


def _reload(units: tuple[str, ...]) -> int:
    """Make Roost and nginx load the new certificate.

    A unit that is stopped stays stopped (``try-reload-or-restart``), and one that is not
    installed (no nginx without the MTA-STS site) is skipped.
    """
    failed, reloaded = [], []
    for unit in units:
        if _systemctl("show", "--property=LoadState", "--value", unit).stdout.strip() != "loaded":
            continue
        done = _systemctl("try-reload-or-restart", unit)
        if done.returncode != 0:
            failed.append(f"{unit} ({done.stderr.strip() or f'exit {done.returncode}'})")
        else:
            reloaded.append(unit)
    if failed:
        print(
            f"roost: the new certificate is installed, but reloading failed: {'; '.join(failed)};"
            " see journalctl -u UNIT, then systemctl restart UNIT",
            file=sys.stderr,
        )
        return 1
    print(f"reloaded {', '.join(reloaded)}" if reloaded else "no service to reload")
    return 0


def _systemctl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["systemctl", *args], capture_output=True, text=True, timeout=120, check=False
    )


def cmd_status(args: argparse.Namespace) -> int:
    from roost.acme import renew

    try:
        config = settings.load(args.settings)
    except CertificateError as exc:
        print(f"roost: {exc}", file=sys.stderr)
        return 1
    current, decision = renew.inspect(config)
    print(f"names wanted: {', '.join(config.names)}")
    print(f"CA directory: {config.directory}")
    if current.usable:
        print(f"installed:    {', '.join(sorted(current.names))}")
        start, end = current.not_before, current.not_after
        print(f"valid:        {start:%Y-%m-%d %H:%M} UTC to {end:%Y-%m-%d %H:%M} UTC")
    print(f"next:         {decision.action.value}: {decision.reason}")
    if not current.usable or current.names != set(config.names):
        return EXIT_UNUSABLE
    return 0
