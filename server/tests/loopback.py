"""Loopback TCP listeners standing in for remote MX hosts: one that greets, one that stays
silent, a port nobody listens on (the port 25 probe's tests and its module's)."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator


@contextlib.contextmanager
def listener(serve: Callable[[socket.socket], None] | None) -> Iterator[int]:
    """A loopback listener; SERVE handles each accepted connection, None never accepts (the
    kernel still completes the handshake: a silent host)."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                assert serve is not None
                serve(conn)

    thread = threading.Thread(target=loop, daemon=True) if serve else None
    if thread:
        thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        with contextlib.suppress(OSError):
            server.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept() (Linux)
        server.close()
        if thread:
            thread.join(timeout=10)


def greets(conn: socket.socket) -> None:
    conn.sendall(b"220 mx.peer.test ESMTP ready\r\n")
    conn.settimeout(5)
    with contextlib.suppress(OSError):
        conn.recv(64)  # the probe's QUIT


def closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port
