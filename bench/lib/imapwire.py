"""A small, fast IMAP client for benchmarks: raw bytes over TLS, pipelining, literals skipped.

imaplib parses every response line with regular expressions, which for a 10,000-line FETCH
costs the client more than the server. This client only finds where each response ends (a
line, plus any `{n}` literal it announces) and counts, so the time measured is the server's.
"""

from __future__ import annotations

import contextlib
import re
import socket
import ssl

_LITERAL = re.compile(rb"\{(\d+)\+?\}\r\n$")


def tls_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # both servers use the same self-signed dev cert
    return context


class IMAPWire:
    def __init__(self, host: str, port: int, timeout: float = 600.0) -> None:
        raw = socket.create_connection((host, port), timeout)
        self.sock = tls_context().wrap_socket(raw)
        self.buffer = bytearray()
        self.counter = 0
        self.greeting = self._response_line()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()

    def _fill(self) -> None:
        chunk = self.sock.recv(1 << 18)
        if not chunk:
            raise ConnectionError(
                f"server closed the connection; last: {bytes(self.buffer[-200:])!r}"
            )
        self.buffer += chunk

    def _response_line(self) -> bytes:
        """One response line with any literals it carries."""
        out = bytearray()
        while True:
            end = self.buffer.find(b"\r\n")
            while end < 0:
                self._fill()
                end = self.buffer.find(b"\r\n")
            line = bytes(self.buffer[: end + 2])
            del self.buffer[: end + 2]
            out += line
            match = _LITERAL.search(line)
            if match is None:
                return bytes(out)
            size = int(match.group(1))
            while len(self.buffer) < size:
                self._fill()
            out += self.buffer[:size]
            del self.buffer[:size]

    def command(self, text: bytes) -> list[bytes]:
        """Run one command; its untagged responses. Raises unless it ends in OK."""
        self.counter += 1
        tag = b"b%d" % self.counter
        self.sock.sendall(tag + b" " + text + b"\r\n")
        return self._until(tag)

    def _until(self, tag: bytes) -> list[bytes]:
        responses = []
        while True:
            line = self._response_line()
            if line.startswith(tag + b" "):
                if not line.startswith(tag + b" OK"):
                    raise RuntimeError(f"{line!r} after {len(responses)} responses")
                return responses
            responses.append(line)

    def login(self, user: str, password: str) -> None:
        self.command(b'LOGIN "%s" "%s"' % (user.encode(), password.encode()))

    def append_many(self, mailbox: str, messages: list[bytes], window: int = 50) -> None:
        """APPENDs pipelined with LITERAL+ (RFC 7888), `window` in flight at a time."""
        pending: list[bytes] = []
        for message in messages:
            self.counter += 1
            tag = b"b%d" % self.counter
            self.sock.sendall(
                tag + b" APPEND %s {%d+}\r\n" % (mailbox.encode(), len(message)) + message + b"\r\n"
            )
            pending.append(tag)
            if len(pending) >= window:
                self._until(pending.pop(0))
        for tag in pending:
            self._until(tag)

    def start_idle(self) -> None:
        self.counter += 1
        self.sock.sendall(b"b%d IDLE\r\n" % self.counter)
        line = self._response_line()
        if not line.startswith(b"+"):
            raise RuntimeError(f"IDLE refused: {line!r}")
