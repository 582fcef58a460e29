"""Can this machine deliver mail directly? A probe of outbound TCP port 25, and the choice
between direct delivery and a smarthost that follows from it.

Many VPS providers drop or refuse outbound port 25 to fight spam. What tells us the port is
open is an SMTP greeting from a real MX (RFC 5321 §4.2: a three-digit reply code): a
completed TCP handshake alone is not enough, since some networks accept the connection and
then say nothing. Every attempt has a timeout and reads at most one reply line.
"""

from __future__ import annotations

import contextlib
import re
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

ProbeState = Literal["reachable", "blocked", "unresolved"]
RelayMode = Literal["auto", "always", "never"]
Outbound = Literal["direct", "smarthost"]

#: RFC 5321 §4.5.3.1.5: a reply line is at most 512 octets including CRLF.
MAX_REPLY_LINE = 512
#: Addresses tried per host: enough to get past a host's unreachable IPv6, few enough that
#: a blocked port costs at most this many timeouts per host.
MAX_ADDRESSES = 2
_REPLY = re.compile(rb"[2-5][0-9][0-9][ -]")

Resolver = Callable[[str, int], Sequence[str]]


@dataclass(frozen=True)
class ProbeResult:
    host: str
    address: str | None
    state: ProbeState
    detail: str


def system_addresses(host: str, port: int) -> list[str]:
    """The host's addresses from the system resolver, IPv4 first (more often routed on a VPS)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = dict.fromkeys(str(info[4][0]) for info in infos)
    return sorted(addresses, key=lambda address: ":" in address)


def probe_address(address: str, port: int, timeout: float) -> tuple[ProbeState, str]:
    """Connect and wait for the greeting; ``blocked`` says why there was none."""
    deadline = time.monotonic() + timeout
    try:
        sock = socket.create_connection((address, port), timeout=timeout)
    except TimeoutError:
        return "blocked", f"no answer to the connection within {timeout:g} s (dropped)"
    except OSError as exc:
        return "blocked", f"connection failed: {exc.strerror or exc}"
    with sock:
        line = b""
        try:
            while b"\n" not in line and len(line) < MAX_REPLY_LINE:
                sock.settimeout(max(deadline - time.monotonic(), 0.001))
                chunk = sock.recv(MAX_REPLY_LINE - len(line))
                if not chunk:
                    return "blocked", "connection closed before any SMTP greeting"
                line += chunk
        except TimeoutError:
            return "blocked", f"connected, but no SMTP greeting within {timeout:g} s"
        except OSError as exc:
            return "blocked", f"connection broken before the greeting: {exc.strerror or exc}"
        state, detail = read_greeting(line)
        if state == "reachable":
            with contextlib.suppress(OSError):
                sock.sendall(b"QUIT\r\n")  # polite to the MX we borrowed; no answer needed
        return state, detail


def read_greeting(data: bytes) -> tuple[ProbeState, str]:
    """Judge the first line a server sent: an SMTP reply code, or something else."""
    greeting = data.split(b"\n", 1)[0].rstrip(b"\r")
    if not _REPLY.match(greeting + b" "):
        return "blocked", f"answered, but not with an SMTP greeting: {greeting[:80]!r}"
    return "reachable", greeting.decode("ascii", "replace")


def probe(
    hosts: Sequence[str],
    *,
    port: int = 25,
    timeout: float = 10.0,
    resolve: Resolver = system_addresses,
) -> list[ProbeResult]:
    """Probe HOSTS in order until one greets us; every attempt is in the result."""
    results: list[ProbeResult] = []
    for host in hosts:
        try:
            addresses = list(resolve(host, port))[:MAX_ADDRESSES]
        except OSError as exc:
            results.append(ProbeResult(host, None, "unresolved", f"cannot resolve: {exc}"))
            continue
        for address in addresses:
            state, detail = probe_address(address, port, timeout)
            results.append(ProbeResult(host, address, state, detail))
            if state == "reachable":
                return results
    return results


def port_open(results: Sequence[ProbeResult]) -> bool | None:
    """True if any MX greeted us, False if attempts were made and none did, None if no
    host could even be resolved (then nothing is known about the port)."""
    states = {result.state for result in results}
    if "reachable" in states:
        return True
    return False if "blocked" in states else None


class OutboundChoiceError(Exception):
    """No safe way to send: the message says what the person can do."""


BLOCKED_NO_RELAY = (
    "Outbound port 25 is blocked on this VPS ({detail}), so it cannot deliver mail to other "
    "servers directly, and no relay is configured. Either ask the VPS provider to unblock "
    "outbound port 25 (many do on request, for a mail server with correct reverse DNS), or set "
    "roost_relay in the inventory to a smarthost that accepts authenticated mail on port 465, "
    "587 or 2525 ({{host, port, username, password, tls}}) and run the play again."
)


def choose(mode: RelayMode, results: Sequence[ProbeResult], relay_configured: bool) -> Outbound:
    """Direct delivery or the smarthost, from roost_relay_mode and what the probe found.

    ``never`` and ``always`` are the person's explicit choice; ``auto`` goes direct when the
    port is open and through the relay when it is not, and refuses to guess otherwise.
    """
    if mode == "never":
        return "direct"
    if mode == "always":
        if not relay_configured:
            raise OutboundChoiceError(
                'roost_relay_mode is "always" but roost_relay is not set: give the relay\'s '
                'host, port, username, password and tls, or set roost_relay_mode to "auto"'
            )
        return "smarthost"
    is_open = port_open(results)
    if is_open:
        return "direct"
    if is_open is None:
        raise OutboundChoiceError(
            "the port 25 probe could not resolve any of its hosts ("
            + "; ".join(f"{r.host}: {r.detail}" for r in results)
            + "): check the VPS's DNS resolver, or the probe hosts (relay_probe_hosts)"
        )
    if relay_configured:
        return "smarthost"
    detail = "; ".join(f"{r.host} [{r.address}]: {r.detail}" for r in results if r.address)
    raise OutboundChoiceError(BLOCKED_NO_RELAY.format(detail=detail))
