"""How `roost` commands reach a running server: a pid file in the state directory, and
SIGUSR1 meaning "look at the queue now" (after `roost queue retry`, say)."""

from __future__ import annotations

import os
import signal

from roost.config import Config

PIDFILE = "roost.pid"


def write_pidfile(config: Config) -> None:
    (config.state_dir / PIDFILE).write_text(f"{os.getpid()}\n")


def remove_pidfile(config: Config) -> None:
    (config.state_dir / PIDFILE).unlink(missing_ok=True)


def wake_server(config: Config) -> bool:
    """False when no server is running (or it runs as someone we may not signal)."""
    try:
        pid = int((config.state_dir / PIDFILE).read_text())
        os.kill(pid, signal.SIGUSR1)
    except (OSError, ValueError):
        return False
    return True
