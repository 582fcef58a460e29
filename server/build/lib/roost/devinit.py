"""`roost init --dev`: a complete, ready-to-run setup in one directory, for trying Roost out
and for tests: config, self-signed certificate, SQLite state, a hosted domain with DKIM keys."""

from __future__ import annotations

import getpass
import os
import shutil
from pathlib import Path

from roost.config import parse
from roost.dkim.keys import DKIMKeyStore
from roost.store.sqlite import SQLiteStore
from roost.tlsconfig import write_self_signed

PORT_OFFSETS = {"smtp": 25, "submission": 587, "submissions": 465, "imap": 143, "imaps": 993}

TEMPLATE = """\
# Roost development configuration, written by `roost init --dev`.
hostname = "{hostname}"
state_dir = "{state}"
user = "{user}"
log_level = "info"

[tls]
cert = "{cert}"
key = "{key}"

[listeners]
{listeners}
{dns}"""


class DevInitError(Exception):
    pass


def init_dev(
    directory: Path,
    *,
    domain: str,
    port_base: int,
    hostname: str | None = None,
    nameservers: list[str] | None = None,
) -> Path:
    config_path = directory / "roost.toml"
    if config_path.exists():
        raise DevInitError(f"{config_path} exists already; choose an empty directory")
    if not 0 < port_base + max(PORT_OFFSETS.values()) < 65536:
        raise DevInitError(f"--port-base {port_base} puts ports outside 1-65535")
    domain = domain.lower().rstrip(".")
    hostname = (hostname or f"mail.{domain}").lower()
    # As root the server must drop to someone; "nobody" exists on every Debian system.
    user = "nobody" if os.geteuid() == 0 else getpass.getuser()
    directory.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        _check_reachable_by_others(directory, user)
    state = directory / "state"
    tls = directory / "tls"
    tls.mkdir(mode=0o700, exist_ok=True)
    write_self_signed(hostname, tls / "cert.pem", tls / "key.pem")
    listeners = "\n".join(
        f'{kind} = ["127.0.0.1:{port_base + offset}"]' for kind, offset in PORT_OFFSETS.items()
    )
    dns = ""
    if nameservers:
        dns = "\n[dns]\nnameservers = [{}]\n".format(", ".join(f'"{n}"' for n in nameservers))
    text = TEMPLATE.format(
        hostname=hostname,
        state=state,
        user=user,
        cert=tls / "cert.pem",
        key=tls / "key.pem",
        listeners=listeners,
        dns=dns,
    )
    config = parse(text, config_path)  # the template must always produce a valid config
    state.mkdir(mode=0o700, exist_ok=True)
    store = SQLiteStore(state)
    store.add_domain(domain)
    store.close()
    keys = DKIMKeyStore(config.dkim_dir)
    for algorithm in ("rsa2048", "ed25519"):
        keys.generate(domain, algorithm)
    if os.geteuid() == 0:
        _give_to(state, user)
    config_path.write_text(text)
    return config_path


def _give_to(path: Path, user: str) -> None:
    for root, dirs, files in os.walk(path):
        shutil.chown(root, user)
        for name in dirs + files:
            shutil.chown(Path(root) / name, user)


def _check_reachable_by_others(directory: Path, user: str) -> None:
    for folder in (directory, *directory.parents):
        if folder.stat().st_mode & 0o001 == 0:
            raise DevInitError(
                f"{folder} is not searchable by other users, so the server (running as {user}) "
                "could not reach its state; choose a directory under /tmp or /srv"
            )
