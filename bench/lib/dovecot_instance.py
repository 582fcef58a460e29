"""A private Dovecot IMAP server (Debian's dovecot-imapd, its default tuning) for benchmarks:
own config, base, state and mail directories under one temporary directory, IMAPS on its
own loopback port with the same certificate Roost uses, users in a passwd-file. The system's
Dovecot (if any) is never touched; this one is stopped by its pid.

COMPRESS=DEFLATE (RFC 4978) is on, as in Roost: Debian's Dovecot has it as the imap_zlib
plugin, off unless listed. Without it the clients that use it when offered (mbsync does)
would compress with Roost and not with Dovecot, and the two would not do the same work.
Level 6 is the plugin's default and Roost's."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from lib.ports import LOOPBACK, free_port

NOBODY = 65534


class DovecotInstance:
    def __init__(self, directory: Path, cert: Path, key: Path) -> None:
        self.directory = directory
        self.cert = cert
        self.key = key
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def configure(self, users: dict[str, str], connections: int) -> None:
        root = self.directory
        for name in ("run", "state", "mail", "home"):
            (root / name).mkdir(parents=True, exist_ok=True)
        (root / "users").write_text("".join(f"{u}:{{PLAIN}}{p}::::::\n" for u, p in users.items()))
        (root / "dovecot.conf").write_text(
            f"""protocols = imap
listen = {LOOPBACK}
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = required
ssl_cert = <{self.cert}
ssl_key = <{self.key}
auth_mechanisms = plain
mail_location = maildir:{root}/mail/%u
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid={NOBODY} gid={NOBODY} home={root}/home/%u
}}
protocol imap {{
  mail_max_userip_connections = {connections}
  mail_plugins = $mail_plugins imap_zlib
}}
plugin {{
  imap_zlib_compress_level = 6
}}
service imap-login {{
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    port = {self.port}
    ssl = yes
  }}
  process_limit = {connections}
}}
service imap {{
  process_limit = {connections}
}}
"""
        )
        for folder in ("mail", "home"):
            for path in [root / folder, *(root / folder).rglob("*")]:
                os.chown(path, NOBODY, NOBODY)

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["dovecot", "-F", "-c", str(self.directory / "dovecot.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"dovecot exited: {self.log_tail()}")
            try:
                with socket.create_connection((LOOPBACK, self.port), 1):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"dovecot did not listen on {self.port}: {self.log_tail()}")

    def stop(self) -> None:
        if self.process is None:
            return
        process, self.process = self.process, None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def log_tail(self, lines: int = 20) -> str:
        log = self.directory / "dovecot.log"
        if not log.exists():
            return ""
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)
