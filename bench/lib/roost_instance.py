"""A private `roost serve` for a benchmark, set up the way a user would: `roost init --dev`.

Everything lives in one directory (which must be searchable by others: as root the server
drops to `nobody`); the server is a child process, stopped by its pid with SIGTERM.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from lib.ports import LOOPBACK, free_port_base

ROOST = [sys.executable, "-m", "roost"]
PORT_OFFSETS = {"smtp": 25, "submission": 587, "submissions": 465, "imap": 143, "imaps": 993}
START_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0


class RoostInstance:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.config = directory / "roost.toml"
        self.log = directory / "serve.log"
        self.base = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def smtp_port(self) -> int:
        return self.base + PORT_OFFSETS["smtp"]

    @property
    def submission_port(self) -> int:
        return self.base + PORT_OFFSETS["submission"]

    @property
    def queue_dir(self) -> Path:
        """Where the outbound queue keeps one file per queued message."""
        return self.directory / "state" / "queue" / "messages"

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError("roost serve is not running")
        return self.process.pid

    def init(self, domain: str, nameserver: str) -> None:
        self.base = free_port_base(PORT_OFFSETS.values())
        self._run(
            "init", "--dev", str(self.directory), "--domain", domain,
            "--port-base", str(self.base), "--nameserver", nameserver, config=False,
        )  # fmt: skip

    def append_config(self, text: str) -> None:
        """Add TOML (tables such as [[outbound.routes]]) to the config; before start()."""
        with self.config.open("a") as handle:
            handle.write("\n" + text.strip() + "\n")

    def queued(self) -> int:
        """Messages in the outbound queue (files under state/queue/messages)."""
        if not self.queue_dir.is_dir():
            return 0
        return sum(len(files) for _, _, files in os.walk(self.queue_dir))

    def add_user(self, address: str, password: str) -> None:
        self._run("user", "add", address, "--password-stdin", stdin=password + "\n")

    def folder_counts(self, address: str) -> dict[str, int]:
        """Messages per folder, from `roost mailbox list` (lines "NAME<TAB>COUNT[<TAB>USE]")."""
        counts = {}
        for line in self._run("mailbox", "list", address).splitlines():
            name, count = line.split("\t")[:2]
            counts[name] = int(count.split()[0])
        return counts

    def export(self, address: str, folder: str = "INBOX") -> bytes:
        result = subprocess.run(
            [*ROOST, "-c", str(self.config), "mailbox", "export", address, folder],
            capture_output=True,
            timeout=120,
            check=True,
        )
        return result.stdout

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [*ROOST, "-c", str(self.config), "serve"], stdout=log, stderr=log
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"roost serve exited at start:\n{self.log_tail()}")
            if "roost ready" in self.log.read_text(errors="replace") and self._accepts():
                return
            time.sleep(0.1)
        raise RuntimeError(f"roost serve not ready after {START_TIMEOUT:.0f}s:\n{self.log_tail()}")

    def stop(self) -> None:
        """SIGTERM the server (our child, by pid) and wait; SIGKILL only if it ignores that."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT)
            raise RuntimeError("roost serve ignored SIGTERM; killed it") from None

    def log_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(FileNotFoundError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return "(no log)"

    def _accepts(self) -> bool:
        try:
            with socket.create_connection((LOOPBACK, self.smtp_port), timeout=1):
                return True
        except OSError:
            return False

    def _run(self, *args: str, stdin: str | None = None, config: bool = True) -> str:
        command = [*ROOST, *(["-c", str(self.config)] if config else []), *args]
        result = subprocess.run(
            command, input=stdin, capture_output=True, text=True, timeout=120, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(f"roost {' '.join(args)} failed: {result.stderr.strip()}")
        return result.stdout
