"""RFC 2136 dynamic updates signed with TSIG (RFC 8945): BIND, Knot, PowerDNS.

The zone is read by AXFR (RFC 5936) signed with the same key, so the server must
allow the key both ``update`` and ``transfer`` (Knot: ``acl: action: [update,
transfer]``; BIND: ``allow-transfer { key ...; }``). Each change is one UPDATE
with one add or delete of a single RR (RFC 2136 §2.5.1, §2.5.4), so other values
at the same name are never touched.

Options (``roost_dns_credentials``): ``server`` (address or host name of the
primary), ``port`` (53), ``tsig_name``, ``tsig_algorithm`` (hmac-sha256),
``tsig_secret`` (base64), ``timeout`` (seconds per exchange, 10).
"""

from __future__ import annotations

import binascii
import socket
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import dns.exception
import dns.inet
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.tsig
import dns.tsigkeyring
import dns.update
import dns.xfr
import dns.zone

from roost.dnsprovider.base import (
    CredentialsError,
    DNSProviderError,
    Record,
    RefusedError,
    UnreachableError,
    ZoneNotHostedError,
    join_txt,
    normalize_name,
    normalize_value,
    option_number,
)

_ALGORITHMS = ("hmac-sha256", "hmac-sha384", "hmac-sha512", "hmac-sha224", "hmac-sha1", "hmac-md5")


@dataclass
class RFC2136Provider:
    """A primary server that takes TSIG-signed UPDATE and AXFR."""

    server: str
    port: int
    keyring: dict[dns.name.Name, dns.tsig.Key]
    keyname: dns.name.Name
    timeout: float = 10.0
    name: str = "rfc2136"

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> RFC2136Provider:
        missing = [k for k in ("server", "tsig_name", "tsig_secret") if not options.get(k)]
        if missing:
            raise CredentialsError(
                f"the rfc2136 provider needs {', '.join(missing)}",
                f"set {', '.join(missing)} in roost_dns_credentials",
            )
        algorithm = str(options.get("tsig_algorithm") or "hmac-sha256").lower()
        if algorithm not in _ALGORITHMS:
            raise CredentialsError(
                f"unknown TSIG algorithm {algorithm!r}",
                f"set roost_dns_credentials.tsig_algorithm to one of {', '.join(_ALGORITHMS)}",
            )
        try:
            keyring = dns.tsigkeyring.from_text(
                {str(options["tsig_name"]): (algorithm, str(options["tsig_secret"]))}
            )
        except (binascii.Error, ValueError, dns.exception.DNSException) as exc:
            raise CredentialsError(
                "the TSIG secret is not valid base64",
                "set roost_dns_credentials.tsig_secret to the key's secret as the server has it",
            ) from exc
        return cls(
            server=_address(str(options["server"])),
            port=int(option_number(options, "port", 53)),
            keyring=keyring,
            keyname=next(iter(keyring)),
            timeout=option_number(options, "timeout", 10.0),
        )

    def records(self, zone: str, name: str | None = None, rtype: str | None = None) -> list[Record]:
        origin = dns.name.from_text(normalize_name(zone))
        want_name = normalize_name(name) if name else None
        want_type = rtype.upper() if rtype else None
        contents = self._transfer(origin)
        found = []
        for owner, ttl, rdata in contents.iterate_rdatas():
            rtext = dns.rdatatype.to_text(rdata.rdtype)
            fqdn = owner.derelativize(origin).to_text(omit_final_dot=True).lower()
            if rtext in ("SOA", "RRSIG", "NSEC", "NSEC3", "DNSKEY", "NSEC3PARAM"):
                continue
            if (want_name and fqdn != want_name) or (want_type and rtext != want_type):
                continue
            value = (
                join_txt(rdata.strings)  # type: ignore[attr-defined]
                if rtext == "TXT"
                else normalize_value(rtext, rdata.to_text(origin=origin, relativize=False))
            )
            found.append(Record(fqdn, rtext, value, ttl))
        return sorted(found)

    def create(self, zone: str, record: Record) -> None:
        update = self._update(zone)
        update.add(record.name + ".", record.ttl, record.rdata())
        self._send(zone, update, f"adding {record.text()}")

    def delete(self, zone: str, record: Record) -> None:
        update = self._update(zone)
        update.delete(record.name + ".", record.rdata())
        self._send(zone, update, f"deleting {record.text()}")

    def nameservers(self, zone: str) -> list[str]:
        return sorted(r.value.rstrip(".") for r in self.records(zone, zone, "NS"))

    # -- internals -------------------------------------------------------------

    def _update(self, zone: str) -> dns.update.UpdateMessage:
        return dns.update.UpdateMessage(
            normalize_name(zone) + ".", keyring=self.keyring, keyname=self.keyname
        )

    def _transfer(self, origin: dns.name.Name) -> dns.zone.Zone:
        zone = origin.to_text(omit_final_dot=True)
        with self._exchange(zone, "the zone transfer"):
            try:
                return dns.zone.from_xfr(
                    dns.query.xfr(
                        self.server,
                        origin,
                        port=self.port,
                        timeout=self.timeout,
                        lifetime=self.timeout * 3,
                        keyring=self.keyring,
                        keyname=self.keyname,
                    ),
                    relativize=True,
                )
            except dns.xfr.TransferError as exc:
                raise self._rcode_error(zone, exc.rcode, "the zone transfer") from exc

    def _send(self, zone: str, update: dns.update.UpdateMessage, what: str) -> None:
        with self._exchange(zone, what):
            response = dns.query.tcp(update, self.server, port=self.port, timeout=self.timeout)
        if response.rcode() != dns.rcode.NOERROR:
            raise self._rcode_error(zone, response.rcode(), what)

    @contextmanager
    def _exchange(self, zone: str, what: str) -> Iterator[None]:
        """Turn what dnspython raises into the provider errors, naming the fix."""
        where = self._where()
        try:
            yield
        except (dns.tsig.PeerError, dns.tsig.BadSignature) as exc:
            raise CredentialsError(
                f"{where} rejected the TSIG key ({exc.__class__.__name__}: {exc})",
                "set roost_dns_credentials.tsig_name, tsig_algorithm and tsig_secret to the "
                "key the server has",
            ) from exc
        except dns.exception.FormError as exc:
            # An unsigned error answer (Knot's NOTAUTH for a zone it does not serve)
            # fails TSIG verification before its rcode can be read (RFC 8945 §5.3.2).
            raise ZoneNotHostedError(
                f"{where} gave an unsigned answer to {what} in {zone} ({exc})",
                "check that the domain in roost_domains is a zone on that server and that "
                "roost_dns_credentials.tsig_name may update and transfer it",
            ) from exc
        except (OSError, dns.exception.Timeout, EOFError) as exc:
            raise UnreachableError(
                f"{where} did not answer ({exc.__class__.__name__}: {exc})",
                "check roost_dns_credentials.server and port, and that the server is reachable",
            ) from exc

    def _rcode_error(self, zone: str, rcode: int, what: str) -> DNSProviderError:
        text = dns.rcode.to_text(rcode)
        cause = f"{self._where()} answered {text} to {what} in {zone}"
        if rcode == dns.rcode.NOTAUTH:
            # RFC 2136 §3.1.1 / RFC 8945 §5.3.2: not primary for the zone, or the key
            # is not accepted for it.
            return ZoneNotHostedError(
                cause,
                "check that the domain in roost_domains is a zone on that server and that "
                "roost_dns_credentials names a key it accepts",
            )
        if rcode == dns.rcode.REFUSED:
            return RefusedError(
                cause,
                "allow roost_dns_credentials.tsig_name to update and transfer the zone "
                "(and check the zone in roost_domains is served there)",
            )
        return RefusedError(cause, "see the server's log; check the record values in roost_domains")

    def _where(self) -> str:
        return f"the DNS server {self.server} port {self.port}"


def _address(server: str) -> str:
    """dnspython's queries take addresses: resolve a host name once, here."""
    try:
        dns.inet.af_for_address(server)
        return server
    except ValueError:
        pass
    try:
        return socket.getaddrinfo(server, 53, proto=socket.IPPROTO_TCP)[0][4][0]
    except OSError as exc:
        raise UnreachableError(
            f"the DNS server name {server!r} does not resolve ({exc})",
            "set roost_dns_credentials.server to the primary server's address",
        ) from exc
