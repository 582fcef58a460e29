"""Ports: the server answers on the VPS's public addresses, and can reach port 25 out.

Run on the VPS itself, a connection to its own public address shows the port is
listening there and not firewalled on the host; a provider's firewall in front of the
VPS is not seen from here, and the detail says so.
"""

from __future__ import annotations

import socket

from roost.deliverability.context import Context
from roost.deliverability.report import Finding, failed, passed, warned
from roost.delivery.probe import BLOCKED_NO_RELAY, port_open, probe, probe_address

FROM_HERE = "checked from the VPS itself: this shows the ports listen on the public address"


def check_ports(ctx: Context) -> list[Finding]:
    findings = []
    for address in ctx.addresses:
        closed = []
        for kind, port in ctx.ports.items():
            reason = _closed(address, port, ctx.timeout, smtp=kind == "smtp")
            if reason:
                closed.append(f"{port} ({kind}): {reason}")
        opened = ", ".join(str(p) for p in ctx.ports.values())
        if closed:
            findings.append(
                failed(
                    address,
                    "ports",
                    "not answering: " + "; ".join(closed) + f" ({FROM_HERE})",
                    "start the server (systemctl start roost) and let these ports in on the "
                    "VPS firewall and the provider's (security group)",
                )
            )
        else:
            findings.append(passed(address, "ports", f"{opened} answer ({FROM_HERE})"))
    return findings


def _closed(address: str, port: int, timeout: float, smtp: bool) -> str:
    """Why ADDRESS:PORT is not usable, or "" if it is. SMTP must greet (RFC 5321 §4.2)."""
    if smtp:
        state, detail = probe_address(address, port, timeout)
        return "" if state == "reachable" else detail
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return ""
    except OSError as err:
        return err.strerror or str(err)


def check_outbound(ctx: Context) -> list[Finding]:
    """Can this VPS deliver directly (outbound TCP 25 to real MX hosts)?"""
    host = ctx.hostname
    results = probe(ctx.probe_hosts, port=ctx.probe_port, timeout=ctx.timeout)
    tried = "; ".join(f"{r.host} [{r.address or '-'}]: {r.detail}" for r in results)
    is_open = port_open(results)
    if is_open:
        return [passed(host, "outbound 25", tried)]
    if is_open is None:
        return [
            warned(
                host,
                "outbound 25",
                f"no probe host resolved: {tried}",
                "check the VPS's DNS resolver",
            )
        ]
    if ctx.relay:
        return [
            passed(
                host, "outbound 25", f"blocked ({tried}); mail goes through the relay {ctx.relay}"
            )
        ]
    fix = BLOCKED_NO_RELAY.format(detail="as probed")
    return [failed(host, "outbound 25", f"blocked: {tried}", fix)]
