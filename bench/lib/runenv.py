"""What every benchmark's main() needs first: root, its tools, SIGTERM cleanup, a work dir."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from types import FrameType


def missing_requirement(tools: Iterable[str], script: str) -> str | None:
    """Why the benchmark cannot run here, or None."""
    if os.geteuid() != 0:
        return "run as root (the private Postfix or Dovecot instance needs it)"
    for tool in tools:
        if shutil.which(tool, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin") is None:
            return f"{tool} is missing; {script} installs it"
    return None


def exit_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit so ExitStack cleanups run (servers stopped by pid)."""

    def terminate(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)


def work_dir(prefix: str, keep: bool, cleanup: contextlib.ExitStack) -> Path:
    """A fresh directory the unprivileged `roost serve` (user nobody) can reach; removed at
    the end unless `keep`."""
    work = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    work.chmod(0o755)
    if keep:
        print(f"work directory (kept): {work}")
    else:
        cleanup.callback(shutil.rmtree, work, ignore_errors=True)
    return work


def alternating_rounds(
    rounds: int, step: Callable[[int, str], None], sides: tuple[str, str] = ("roost", "postfix")
) -> None:
    """Call `step(round, side)` for both sides `rounds` times, swapping who goes first each
    round: machine noise drifts, and alternating spreads it over both sides."""
    for number in range(rounds):
        for side in sides if number % 2 == 0 else sides[::-1]:
            step(number, side)
