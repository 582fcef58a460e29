"""A private `roost serve` for a benchmark, set up the way a user would: `roost init --dev`.

The life cycle (init, start, stop by pid) is the test suite's `RoostProcess`; this adds what
the benchmarks read: ports, pid, queue size, log tail.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

from lib.ports import free_port_base
from tests.roostproc import OFFSETS, RoostProcess

ROOST = [sys.executable, "-m", "roost"]


class RoostInstance(RoostProcess):
    def __init__(self, directory: Path) -> None:
        super().__init__(directory, base=0)

    @property
    def smtp_port(self) -> int:
        return self.port("smtp")

    @property
    def submission_port(self) -> int:
        return self.port("submission")

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
        self.base = free_port_base(OFFSETS.values())
        subprocess.run(
            [*ROOST, "init", "--dev", str(self.directory), "--domain", domain,
             "--port-base", str(self.base), "--nameserver", nameserver],
            capture_output=True, text=True, timeout=120, check=True,
        )  # fmt: skip

    def queued(self) -> int:
        """Messages in the outbound queue (files under state/queue/messages)."""
        if not self.queue_dir.is_dir():
            return 0
        return sum(len(files) for _, _, files in os.walk(self.queue_dir))

    def log_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(FileNotFoundError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return "(no log)"
