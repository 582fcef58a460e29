"""An HTTPS server on loopback serving MTA-STS policies, with its own test CAs.

The server picks its certificate by SNI, so one server can play many policy hosts:
``mta-sts.<domain>`` gets a certificate for that name from the trusted test CA unless
``PolicyServer.certs`` says otherwise (``"wrong-name"``, ``"untrusted"``,
``"expired"``), which is how the tests reach the RFC 8461 §3.3 certificate rules.
"""

from __future__ import annotations

import ssl
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from tests.testca import TestCA

CertKind = Literal["good", "wrong-name", "untrusted", "expired"]


@dataclass
class Response:
    """What the server answers for one host."""

    body: bytes | str = b""
    status: int = 200
    content_type: str | None = "text/plain"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: PolicyServer

    def get_request(self) -> tuple[Any, Any]:
        sock, address = self.socket.accept()
        context = self.owner.context_for("localhost", "good")
        return context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), address

    def finish_request(self, request: Any, client_address: Any) -> None:
        try:
            request.do_handshake()  # in the request's thread, not the accept loop
        except (ssl.SSLError, OSError):
            return
        super().finish_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients hanging up mid-response are part of the tests


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        owner = self.server.owner
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0].lower()
        owner.requests.append((host, self.path))
        response = owner.routes.get(host)
        if response is None or self.path != "/.well-known/mta-sts.txt":
            response = Response(b"not found\n", status=404)
        time.sleep(response.delay)
        body = response.body.encode() if isinstance(response.body, str) else response.body
        self.send_response(response.status)
        if response.content_type is not None:
            self.send_header("Content-Type", response.content_type)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class PolicyServer:
    """HTTPS on 127.0.0.1 and a free port; ``routes`` maps host names to responses."""

    def __init__(self, ca: TestCA, untrusted_ca: TestCA) -> None:
        self.ca = ca
        self.untrusted_ca = untrusted_ca
        self.routes: dict[str, Response] = {}
        self.certs: dict[str, CertKind] = {}
        self.requests: list[tuple[str, str]] = []
        self.port = 0
        self._contexts: dict[tuple[str, CertKind], ssl.SSLContext] = {}
        self._lock = threading.Lock()
        self._tmp = tempfile.TemporaryDirectory(prefix="roost-mtasts-")
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def serve(self, domain: str, policy: str, **kwargs: Any) -> None:
        """Serve ``policy`` as ``https://mta-sts.<domain>/.well-known/mta-sts.txt``."""
        self.routes[f"mta-sts.{domain}"] = Response(policy, **kwargs)

    def fetched(self, domain: str) -> int:
        """How many requests reached ``mta-sts.<domain>``."""
        return sum(1 for host, _ in self.requests if host == f"mta-sts.{domain}")

    def context_for(self, name: str, kind: CertKind) -> ssl.SSLContext:
        with self._lock:
            context = self._contexts.get((name, kind))
            if context is None:
                ca = self.untrusted_ca if kind == "untrusted" else self.ca
                cert_name = "wrong-name.invalid" if kind == "wrong-name" else name
                cert, key = ca.issue(cert_name, expired=kind == "expired")
                base = Path(self._tmp.name) / f"{len(self._contexts)}"
                base.with_suffix(".crt").write_bytes(cert)
                base.with_suffix(".key").write_bytes(key)
                context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                context.load_cert_chain(base.with_suffix(".crt"), base.with_suffix(".key"))
                context.sni_callback = self._sni
                self._contexts[(name, kind)] = context
            return context

    def _sni(self, sslobj: ssl.SSLObject, server_name: str | None, _: ssl.SSLContext) -> None:
        name = (server_name or "localhost").lower()
        sslobj.context = self.context_for(name, self.certs.get(name, "good"))

    def __enter__(self) -> PolicyServer:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._tmp.cleanup()
