"""The server's TLS certificate: valid now, for the mail host name, and not about to lapse.

Senders using MTA-STS or DANE refuse a certificate that is expired or names another
host (RFC 8461 §4.2), and mail clients refuse it outright.
"""

from __future__ import annotations

import ipaddress
from datetime import timedelta

from cryptography import x509

from roost.deliverability.context import Context
from roost.deliverability.report import Finding, failed, passed, warned

#: Renewal runs at a third of the lifetime left (a 90-day certificate: 30 days before the
#: end); two weeks left means it has failed for a while.
WARN_DAYS = 14
RENEW = (
    "re-run site.yml (the certificates role issues a new certificate), then find why renewal "
    "on the VPS stopped: systemctl status roost-cert-renew.timer, journalctl -u roost-cert-renew"
)


def check_certificate(ctx: Context) -> list[Finding]:
    path = ctx.cert_path
    host = ctx.hostname
    try:
        certs = x509.load_pem_x509_certificates(path.read_bytes())
    except PermissionError as err:
        return [
            failed(
                host,
                "certificate",
                f"cannot read {path}: {err.strerror}",
                "roost check reads it as the service user: give the file group roost and mode "
                "0640 (re-run site.yml)",
            )
        ]
    except (OSError, ValueError) as err:
        return [failed(host, "certificate", f"cannot read {path}: {err}", RENEW)]
    cert = certs[0]
    now = ctx.now()
    end = cert.not_valid_after_utc
    left = end - now
    if now < cert.not_valid_before_utc:
        return [
            failed(
                host,
                "certificate",
                f"{path} is not valid before {cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC",
                RENEW,
            )
        ]
    if left <= timedelta(0):
        return [
            failed(
                host,
                "certificate",
                f"{path} expired on {end:%Y-%m-%d %H:%M} UTC ({_days(-left)} ago)",
                RENEW,
            )
        ]
    names = _names(cert)
    if not any(_matches(pattern, host) for pattern in names):
        return [
            failed(
                host,
                "certificate",
                f"{path} is for {', '.join(names) or 'no name'}, not {host}",
                RENEW,
            )
        ]
    detail = f"valid until {end:%Y-%m-%d} ({left.days} days left), for {', '.join(names)}"
    if left < timedelta(days=WARN_DAYS):
        return [warned(host, "certificate", detail + ": renewal is overdue", RENEW)]
    return [passed(host, "certificate", detail)]


def _days(span: timedelta) -> str:
    """Whole days of SPAN, as a person says it ("1 day", "3 days", "less than a day")."""
    days = span.days
    return "less than a day" if days < 1 else f"{days} day{'s' if days > 1 else ''}"


def _names(cert: x509.Certificate) -> list[str]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    names = [n.lower() for n in san.get_values_for_type(x509.DNSName)]
    return names + [str(a) for a in san.get_values_for_type(x509.IPAddress)]


def _matches(pattern: str, host: str) -> bool:
    """RFC 6125 §6.4.3: a wildcard stands for the whole leftmost label, nothing more."""
    try:
        ipaddress.ip_address(host)
        return pattern == host
    except ValueError:
        pass
    if pattern.startswith("*."):
        first, _, rest = host.partition(".")
        return bool(first) and rest == pattern[2:]
    return pattern == host
