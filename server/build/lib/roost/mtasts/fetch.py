"""Fetching a domain's policy over HTTPS (RFC 8461 §3.3).

``https://mta-sts.<domain>/.well-known/mta-sts.txt`` is fetched with the rules of
§3.3: HTTPS only, the certificate verified for ``mta-sts.<domain>`` against the
trusted roots, no redirects ("HTTP 3xx redirects MUST NOT be followed"), status 200
only, ``text/plain`` only (§3.2), a size cap and a timeout (64 KiB and 60 s, as
suggested).

The host's addresses come from the injected :class:`~roost.dns.resolver.Resolver`
(A, then AAAA) and the connection goes to them while SNI and the certificate check
use the host name, so tests can serve policies from loopback with a real DNS server.
The blocking work runs in a thread; :meth:`PolicyFetcher.fetch` is the async API.
"""

from __future__ import annotations

import asyncio
import http.client
import socket
import ssl
import time

from roost.dns.resolver import DNSError, Resolver
from roost.mtasts.policy import (
    MTASTSError,
    Policy,
    PolicyError,
    STSResultType,
    normalize_domain,
    parse_policy,
)

POLICY_PATH = "/.well-known/mta-sts.txt"
#: RFC 8461 §3.3 suggests a one-minute timeout and a 64 KiB limit on the policy.
MAX_POLICY_SIZE = 64 * 1024
FETCH_TIMEOUT = 60.0


class PolicyFetchError(MTASTSError):
    """No policy could be fetched (DNS, connection, HTTP status, type, size, time).

    Recorded as ``sts-policy-fetch-error`` (RFC 8460 §4.3.2.2).
    """

    result_type: STSResultType = "sts-policy-fetch-error"


class WebPKIError(PolicyFetchError):
    """The policy host's certificate failed verification: untrusted, expired, wrong name.

    Recorded as ``sts-webpki-invalid`` (RFC 8460 §4.3.2.2; RFC 8461 §3.3 requires a
    certificate valid for ``mta-sts.<domain>`` chaining to a trusted root).
    """

    result_type: STSResultType = "sts-webpki-invalid"


class PolicyFetcher:
    """Fetches and parses policies; one instance is shared by all deliveries.

    ``ssl_context`` defaults to :func:`ssl.create_default_context` (system roots,
    hostname checking on); tests pass one trusting their own CA. ``port`` is 443 except
    in tests. ``timeout`` bounds one fetch as a whole, DNS included.
    """

    def __init__(
        self,
        resolver: Resolver,
        *,
        ssl_context: ssl.SSLContext | None = None,
        port: int = 443,
        timeout: float = FETCH_TIMEOUT,
        max_size: int = MAX_POLICY_SIZE,
    ) -> None:
        self._resolver = resolver
        self._context = ssl_context if ssl_context is not None else ssl.create_default_context()
        if not self._context.check_hostname or self._context.verify_mode != ssl.CERT_REQUIRED:
            raise ValueError("MTA-STS needs an SSL context that verifies certificates and names")
        self._port = port
        self._timeout = timeout
        self._max_size = max_size

    async def fetch(self, domain: str, policy_id: str = "") -> Policy:
        """The domain's policy, tagged with ``policy_id`` (the TXT ``id``).

        Raises :class:`WebPKIError`, :class:`PolicyFetchError` or
        :class:`~roost.mtasts.policy.PolicyError`; each has ``result_type`` for TLS-RPT.
        """
        try:
            text = await asyncio.wait_for(
                asyncio.to_thread(self.fetch_text, domain), self._timeout + 1.0
            )
        except TimeoutError:
            raise PolicyFetchError(f"mta-sts.{domain}: timed out after {self._timeout}s") from None
        return parse_policy(text, policy_id)

    def fetch_text(self, domain: str) -> str:
        """Blocking: the policy body as text (run it in a thread)."""
        host = "mta-sts." + normalize_domain(domain)
        deadline = time.monotonic() + self._timeout
        tls = self._connect(host, deadline)
        try:
            return self._get(host, tls, deadline)
        finally:
            tls.close()

    def _addresses(self, host: str) -> list[str]:
        addresses: list[str] = []
        errors: list[str] = []
        for lookup in (self._resolver.a, self._resolver.aaaa):
            try:
                addresses += lookup(host)
            except DNSError as err:
                errors.append(str(err))
        if not addresses:
            detail = "; ".join(errors) or "no A or AAAA records"
            raise PolicyFetchError(f"{host}: cannot resolve: {detail}")
        return addresses

    def _connect(self, host: str, deadline: float) -> ssl.SSLSocket:
        errors: list[str] = []
        for address in self._addresses(host):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                sock = socket.create_connection((address, self._port), timeout=remaining)
            except OSError as err:
                errors.append(f"{address}: {err}")
                continue
            try:
                # SNI and the name check are for the host, not the address (RFC 8461 §3.3).
                return self._context.wrap_socket(sock, server_hostname=host)
            except ssl.SSLCertVerificationError as err:
                sock.close()
                raise WebPKIError(f"{host} ({address}): {err.verify_message}") from None
            except (ssl.SSLError, OSError) as err:
                sock.close()
                raise PolicyFetchError(f"{host} ({address}): TLS handshake: {err}") from None
        detail = "; ".join(errors) or "timed out"
        raise PolicyFetchError(f"cannot connect to {host} port {self._port}: {detail}")

    def _get(self, host: str, tls: ssl.SSLSocket, deadline: float) -> str:
        conn = http.client.HTTPSConnection(host, self._port, context=self._context)
        conn.sock = tls  # already connected and verified: http.client sends on it as is
        try:
            tls.settimeout(max(deadline - time.monotonic(), 0.001))
            conn.request("GET", POLICY_PATH, headers={"Connection": "close"})
            response = conn.getresponse()
            status = response.status
            if 300 <= status < 400:
                location = response.getheader("Location", "")
                raise PolicyFetchError(f"{host}: redirect ({status} to {location!r}) not followed")
            if status != 200:
                raise PolicyFetchError(f"{host}: HTTP status {status}, need 200")
            ctype = response.getheader("Content-Type", "")
            if ctype.partition(";")[0].strip().lower() != "text/plain":
                raise PolicyFetchError(f"{host}: Content-Type {ctype!r}, need text/plain")
            body = self._read(host, response, deadline)
        except (http.client.HTTPException, OSError) as err:
            raise PolicyFetchError(f"{host}: {type(err).__name__}: {err}") from None
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError as err:
            raise PolicyError(f"{host}: policy is not UTF-8: {err}") from None

    def _read(self, host: str, response: http.client.HTTPResponse, deadline: float) -> bytes:
        body = b""
        while True:
            # Each read is bounded by the socket timeout (the time left when the
            # request was sent); the deadline check bounds a server dripping bytes.
            if time.monotonic() > deadline:
                raise PolicyFetchError(f"{host}: timed out reading the policy")
            chunk = response.read(min(16384, self._max_size + 1 - len(body)))
            if not chunk:
                return body
            body += chunk
            if len(body) > self._max_size:
                raise PolicyFetchError(f"{host}: policy larger than {self._max_size} bytes")
