"""A real `roost serve` process for tests: made with `roost init --dev`, driven by real clients.

Tests talk to it over loopback exactly as a mail client or MTA would; the only knobs are the
config file and the `roost` command line.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOST = [sys.executable, "-m", "roost"]
OFFSETS = {"smtp": 25, "submission": 587, "submissions": 465, "imap": 143, "imaps": 993}


def tls_client() -> ssl.SSLContext:
    """A client context for the dev certificate, which is self-signed."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def free_port_base() -> int:
    """A base whose five derived ports are all free right now on 127.0.0.1."""
    for base in range(20000 + (os.getpid() % 200) * 100, 60000, 1000):
        socks = []
        try:
            for offset in OFFSETS.values():
                sock = socket.socket()
                socks.append(sock)
                sock.bind(("127.0.0.1", base + offset))
            return base
        except OSError:
            continue
        finally:
            for sock in socks:
                sock.close()
    raise RuntimeError("no free port range on 127.0.0.1")


class RoostProcess:
    def __init__(self, directory: Path, base: int) -> None:
        self.directory = directory
        self.base = base
        self.config = directory / "roost.toml"
        self.log = directory / "serve.log"
        self.process: subprocess.Popen[bytes] | None = None

    def port(self, kind: str) -> int:
        return self.base + OFFSETS[kind]

    def cli(
        self, *args: str, stdin: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [*ROOST, "-c", str(self.config), *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"roost {' '.join(args)} failed: {result.stderr}")
        return result

    def add_user(self, address: str, password: str) -> None:
        self.cli("user", "add", address, "--password-stdin", stdin=password + "\n")

    def append_config(self, text: str) -> None:
        with self.config.open("a") as handle:
            handle.write("\n" + text + "\n")

    def start(self) -> None:
        ready_before = self._ready_count()
        log = self.log.open("ab")
        self.process = subprocess.Popen(
            [*ROOST, "-c", str(self.config), "serve"], stdout=log, stderr=log
        )
        # "roost ready" is logged once every listener accepts; probing the ports instead would
        # leave connections the per-IP limiter counts until the server notices them closed.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"roost serve exited: {self.log.read_text()}")
            if self._ready_count() > ready_before:
                return
            time.sleep(0.05)
        raise AssertionError(f"roost serve did not start: {self.log.read_text()}")

    def _ready_count(self) -> int:
        return self.log.read_text().count("roost ready") if self.log.exists() else 0

    def kill(self) -> None:
        """SIGKILL: the crash no code of ours gets to react to."""
        assert self.process is not None
        self.process.kill()
        self.process.wait()
        self.process = None

    def stop(self) -> int:
        """SIGTERM and wait; returns the exit status (a clean stop is 0)."""
        if self.process is None:
            return 0
        process, self.process = self.process, None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                return process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                raise AssertionError("roost serve ignored SIGTERM") from None
        return process.returncode

    def restart(self) -> None:
        assert self.stop() == 0
        self.start()

    def mailbox_counts(self, address: str) -> dict[str, int]:
        counts = {}
        for line in self.cli("mailbox", "list", address).stdout.splitlines():
            name, count = line.split("\t")[:2]
            counts[name] = int(count.split()[0])
        return counts

    def export(self, address: str, folder: str = "INBOX") -> bytes:
        result = subprocess.run(
            [*ROOST, "-c", str(self.config), "mailbox", "export", address, folder],
            capture_output=True,
            timeout=60,
            check=True,
        )
        return result.stdout


@contextlib.contextmanager
def roost_dev(
    domain: str = "example.test", nameserver: str | None = None, extra_config: str = ""
) -> Iterator[RoostProcess]:
    """A fresh dev setup (not yet started); removed afterwards whatever happens."""
    directory = Path(tempfile.mkdtemp(prefix="roost-test-", dir="/tmp"))
    directory.chmod(0o755)  # the server may run as nobody after dropping root
    base = free_port_base()
    args = ["init", "--dev", str(directory), "--domain", domain, "--port-base", str(base)]
    if nameserver:
        args += ["--nameserver", nameserver]
    result = subprocess.run([*ROOST, *args], capture_output=True, text=True, timeout=60)
    try:
        assert result.returncode == 0, result.stderr
        proc = RoostProcess(directory, base)
        if extra_config:
            proc.append_config(extra_config)
        yield proc
    finally:
        with contextlib.suppress(Exception):
            if "proc" in locals():
                proc.stop()
        shutil.rmtree(directory, ignore_errors=True)


#: The one account of ``relay_smarthost``.
RELAY_USER, RELAY_PASSWORD = "relay@example.test", "correct horse battery staple"


@contextlib.contextmanager
def relay_smarthost() -> Iterator[RoostProcess]:
    """A started `roost serve` standing in for a relay smarthost (465 implicit TLS, 587
    STARTTLS, AUTH over TLS only); its self-signed tls/cert.pem is its own trust anchor."""
    with roost_dev() as proc:
        proc.add_user(RELAY_USER, RELAY_PASSWORD)
        proc.start()
        yield proc
