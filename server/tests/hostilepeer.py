"""A hand-made SMTP server that answers what a test tells it to, byte for byte: the odd peers
of the internet (Latin-1 reply text, no SMTPUTF8) that Postfix cannot be made to imitate.

It speaks just enough SMTP for a client to reach DATA, and counts sessions, so a test can see
that a failing delivery is retried with back-off rather than in a loop."""

from __future__ import annotations

import socketserver
import threading
from types import TracebackType
from typing import Self


class HostilePeer:
    """``replies`` maps an upper-case command (``EHLO``, ``MAIL``, ``RCPT``, ``DATA``, ``.``) to
    the raw reply bytes sent for it; the rest get a plain 250 (354 for DATA)."""

    def __init__(self, replies: dict[str, bytes] | None = None, ehlo: tuple[str, ...] = ()) -> None:
        self.replies = dict(replies or {})
        self.ehlo_keywords = ehlo
        self.sessions = 0
        self.commands: list[bytes] = []
        self._lock = threading.Lock()
        peer = self

        class Handler(socketserver.StreamRequestHandler):
            timeout = 30

            def handle(self) -> None:
                peer._session(self.rfile, self.wfile)

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])

    def __enter__(self) -> Self:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _session(self, rfile, wfile) -> None:  # type: ignore[no-untyped-def]
        with self._lock:
            self.sessions += 1
        wfile.write(b"220 hostile.test ESMTP\r\n")
        while line := rfile.readline(65536):
            with self._lock:
                self.commands.append(line)
            verb = line.split(b" ", 1)[0].split(b":", 1)[0].strip().upper().decode("latin-1")
            if verb == "EHLO":
                keywords = ["hostile.test", *self.ehlo_keywords]
                text = "".join(
                    f"250{'-' if n < len(keywords) - 1 else ' '}{k}\r\n"
                    for n, k in enumerate(keywords)
                )
                wfile.write(self.replies.get("EHLO", text.encode()))
            elif verb == "DATA":
                reply = self.replies.get("DATA", b"354 go ahead\r\n")
                wfile.write(reply)
                if reply.startswith(b"354"):
                    while rfile.readline(65536) not in (b".\r\n", b""):
                        pass
                    wfile.write(self.replies.get(".", b"250 2.0.0 stored\r\n"))
            elif verb == "QUIT":
                wfile.write(b"221 bye\r\n")
                return
            else:
                wfile.write(self.replies.get(verb, b"250 ok\r\n"))
