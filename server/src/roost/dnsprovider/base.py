"""What every DNS provider offers Roost, and the errors it raises.

Names are absolute, lower-case, without the trailing dot (``_dmarc.example.org``;
the apex is the zone name itself): one spelling for every provider and for the
ACME code, which publishes ``_acme-challenge.<host>`` in whatever zone holds it.
Values are in presentation form (RFC 1035 §5.1) with host names absolute and
ending in a dot (``10 mail.example.org.``), except TXT: the value is the
character-strings joined, unquoted and unescaped (what a verifier reads, RFC 7208
§3.3, RFC 6376 §3.6.2.2), so providers that split, quote or re-quote long values
compare equal. The TTL is carried but never compared: a record is identified by
name, type and value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype

#: Longest character-string in a TXT record (RFC 1035 §3.3.14).
TXT_STRING_MAX = 255
DEFAULT_TTL = 600


class DNSProviderError(Exception):
    """A provider call failed; ``str()`` names the cause and the inventory variable to fix."""

    variable = "roost_dns_provider"

    def __init__(self, cause: str, fix: str | None = None) -> None:
        self.cause = cause
        self.fix = fix or f"check {self.variable}"
        super().__init__(f"{cause}; {self.fix}")


class CredentialsError(DNSProviderError):
    """The provider refused who we are (bad key, bad signature, unknown TSIG key)."""

    variable = "roost_dns_credentials"


class ZoneNotHostedError(DNSProviderError):
    """The zone is not on this provider's account (or the server is not its primary)."""

    variable = "roost_domains"


class ThrottledError(DNSProviderError):
    """The provider still refused after the bounded number of tries (rate limit)."""

    variable = "roost_dns_credentials"


class RefusedError(DNSProviderError):
    """The provider refused one change (a record it protects, a TTL below its floor, ...)."""

    variable = "roost_domains"


class UnreachableError(DNSProviderError):
    """The provider's API or server did not answer (address, port, CA, network)."""

    variable = "roost_dns_credentials"


class PropagationError(DNSProviderError):
    """An authoritative server did not serve the record before the deadline."""

    variable = "roost_dns_credentials"


class InvalidRecordError(DNSProviderError):
    """A record Roost was asked to write does not parse (a bad inventory value)."""

    variable = "roost_domains"


@dataclass(frozen=True, order=True)
class Record:
    """One resource record; ``ref`` is the provider's own id (DNSPod RecordId), if any."""

    name: str
    type: str
    value: str
    ttl: int = field(default=DEFAULT_TTL, compare=False)
    ref: str | None = field(default=None, compare=False, repr=False)

    @classmethod
    def make(cls, name: str, rtype: str, value: str, ttl: int = DEFAULT_TTL) -> Record:
        """A record with name and value in the canonical spelling (see the module doc)."""
        rtype = rtype.upper()
        return cls(normalize_name(name), rtype, normalize_value(rtype, value), ttl)

    def relative_to(self, zone: str) -> str:
        """The name relative to ZONE, ``@`` for the apex (the form DNSPod and zone files use)."""
        return relative_name(zone, self.name)

    def rdata(self) -> dns.rdata.Rdata:
        """The record's data as dnspython parses it (TXT split at 255 bytes)."""
        text = txt_rdata_text(self.value) if self.type == "TXT" else self.value
        return dns.rdata.from_text(dns.rdataclass.IN, self.type, text)

    def text(self) -> str:
        """One zone-file-like line, for diffs and summaries."""
        return f"{self.name}. {self.ttl} IN {self.type} {self.display_value()}"

    def display_value(self) -> str:
        return txt_rdata_text(self.value) if self.type == "TXT" else self.value


class Provider(Protocol):
    """A DNS hosting service Roost can read and change zones at.

    Implementations are one small module each (``rfc2136.py``, ``tencentcloud.py``)
    registered in ``roost.dnsprovider.PROVIDERS``. They never touch records they were
    not asked to change; deciding what to change is ``roost.dnsprovider.plan``'s job.
    """

    name: str

    def records(self, zone: str, name: str | None = None, rtype: str | None = None) -> list[Record]:
        """The zone's records (optionally only NAME and/or RTYPE), canonical spelling.

        Raises ZoneNotHostedError when the provider does not host ZONE.
        """
        ...

    def create(self, zone: str, record: Record) -> None:
        """Add RECORD beside whatever the name already holds; an identical one is success."""
        ...

    def delete(self, zone: str, record: Record) -> None:
        """Remove exactly RECORD (name, type, value); other values at the name stay."""
        ...

    def nameservers(self, zone: str) -> list[str]:
        """Host names of the zone's authoritative servers, as the provider knows them."""
        ...


def option_number(options: Mapping[str, Any], key: str, default: float) -> float:
    """A numeric provider option (port, timeout, tries): a clear error when it is not one."""
    value = options.get(key)
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = -1.0
    if number < 0:
        raise CredentialsError(
            f"{key} {value!r} is not a non-negative number",
            f"set roost_dns_credentials.{key} to a number (or leave it out: {default:g})",
        )
    return number


#: The numeric provider options (``option_number``): settings, never secrets.
NUMERIC_OPTIONS = ("port", "timeout", "max_tries", "retry_delay", "index_timeout")


def public_option_values(options: Mapping[str, Any]) -> set[str]:
    """The texts of OPTIONS' numbers, unless a secret option has the same text.

    Ansible masks every value of ``roost_dns_credentials`` in a module's output; masking a
    port of 53 too would turn every "53" in the records, dates and diffs into ``********``.
    """
    secrets = {str(v) for k, v in options.items() if k not in NUMERIC_OPTIONS}
    numbers = {str(options[k]) for k in NUMERIC_OPTIONS if options.get(k) not in (None, "")}
    return numbers - secrets


def normalize_name(name: str) -> str:
    """Absolute, lower-case, no trailing dot; IDNA-encoded (RFC 5890) for non-ASCII."""
    try:
        parsed = dns.name.from_text(name.strip())
    except dns.exception.DNSException as exc:
        raise InvalidRecordError(f"{name!r} is not a valid DNS name ({exc})") from exc
    return parsed.to_text(omit_final_dot=True).lower()


def relative_name(zone: str, name: str) -> str:
    """NAME relative to ZONE (``@`` for the apex); error if NAME is outside ZONE."""
    zone, name = normalize_name(zone), normalize_name(name)
    if name == zone:
        return "@"
    if not name.endswith("." + zone):
        raise InvalidRecordError(f"{name} is not inside the zone {zone}")
    return name[: -len(zone) - 1]


def in_zone(zone: str, name: str) -> bool:
    zone, name = normalize_name(zone), normalize_name(name)
    return name == zone or name.endswith("." + zone)


def zone_of(name: str, zones: Iterable[str]) -> str | None:
    """The longest of ZONES that contains NAME (where a record for NAME must be written)."""
    inside = [normalize_name(z) for z in zones if in_zone(z, name)]
    return max(inside, key=len) if inside else None


def split_txt(value: str) -> list[bytes]:
    """A TXT value as character-strings of at most 255 bytes (RFC 1035 §3.3.14).

    Split on UTF-8 character boundaries, so every chunk decodes on its own; a
    verifier joins them without separators (RFC 7208 §3.3, RFC 6376 §3.6.2.2).
    """
    chunks: list[bytes] = []
    current = b""
    for char in value:
        encoded = char.encode()
        if len(current) + len(encoded) > TXT_STRING_MAX:
            chunks.append(current)
            current = b""
        current += encoded
    chunks.append(current)
    return chunks


def txt_rdata_text(value: str) -> str:
    """The TXT value in zone-file syntax: 255-byte chunks, quoted, escaped."""
    return " ".join(_quote(chunk) for chunk in split_txt(value))


def _quote(chunk: bytes) -> str:
    out = []
    for byte in chunk:
        if byte in (0x22, 0x5C):  # " and \ are escaped (RFC 1035 §5.1)
            out.append("\\" + chr(byte))
        elif 0x20 <= byte < 0x7F:
            out.append(chr(byte))
        else:
            out.append(f"\\{byte:03d}")
    return '"' + "".join(out) + '"'


def join_txt(strings: Iterable[bytes]) -> str:
    """TXT character-strings as one value; bytes that are not UTF-8 are replaced."""
    return b"".join(strings).decode("utf-8", "replace")


def normalize_value(rtype: str, value: str) -> str:
    """VALUE in the canonical spelling for RTYPE (see the module doc).

    TXT is already canonical (joined, unquoted): a provider that returns quoted
    chunks turns them into that form with ``unquote_txt`` first.
    """
    rtype = rtype.upper()
    if rtype == "TXT":
        return value
    try:
        rdata = dns.rdata.from_text(
            dns.rdataclass.IN, rtype, value, origin=dns.name.root, relativize=False
        )
    except (dns.exception.DNSException, ValueError) as exc:
        raise InvalidRecordError(f"{value!r} is not a valid {rtype} value ({exc})") from exc
    return rdata.to_text().lower() if rtype in _HOST_TYPES else rdata.to_text()


_HOST_TYPES = frozenset({"CNAME", "MX", "NS", "SRV", "PTR"})


def unquote_txt(value: str) -> str:
    """Join a quoted TXT presentation (``"a" "b"``) into ``ab``; leave a plain value as is."""
    stripped = value.strip()
    if not (stripped.startswith('"') and stripped.endswith('"') and len(stripped) >= 2):
        return value
    try:
        rdata = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.TXT, stripped)
    except (dns.exception.DNSException, ValueError):
        return value
    return join_txt(rdata.strings)  # type: ignore[attr-defined]
