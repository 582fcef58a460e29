"""Free TCP ports on 127.0.0.1 (the benchmarks listen on loopback only)."""

from __future__ import annotations

import socket
from collections.abc import Iterable

LOOPBACK = "127.0.0.1"


def is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return False
        return True


def free_port() -> int:
    """A port the kernel says is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def free_port_base(offsets: Iterable[int], start: int = 30000, stop: int = 60000) -> int:
    """A base such that base + offset is free for every offset (Roost's --port-base)."""
    wanted = list(offsets)
    for base in range(start, stop - max(wanted), 1000):
        if all(is_free(base + offset) for offset in wanted):
            return base
    raise RuntimeError(f"no free port base between {start} and {stop} on {LOOPBACK}")
