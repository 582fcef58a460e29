"""The records of a DNSPod domain, read from and written to the lab's Knot.

Knot is the only source of truth: the list is an AXFR, and every change is
one RFC 2136 UPDATE signed with the lab's TSIG key. So records the toolkit
writes through DNSPod are what resolvers see, and records written straight
through RFC 2136 show up in DNSPod too. DNSPod's record ids are kept in a
small JSON file, keyed by (name, type, value, MX).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path

import dns.name
import dns.query
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TXT
import dns.tsigkeyring
import dns.update
import dns.zone

from .errors import ApiError

# The two records DNSPod puts at the apex of every domain; listed, never deletable.
DEFAULT_NS = ("f1g1ns1.dnspod.net.", "f1g1ns2.dnspod.net.")
SUPPORTED_TYPES = ("A", "AAAA", "CNAME", "MX", "TXT", "NS", "CAA", "SRV")


@dataclass(frozen=True)
class Record:
    """One DNSPod record: SubDomain-style name ("@" for the apex), value as DNSPod shows it."""

    name: str
    type: str
    value: str
    mx: int
    ttl: int

    def key(self) -> str:
        return f"{self.name}|{self.type}|{self.value}|{self.mx}"


@dataclass(frozen=True)
class Tsig:
    name: str
    algorithm: str
    secret: str
    server: str
    port: int

    @classmethod
    def load(cls, path: Path) -> Tsig:
        data = json.loads(path.read_text())
        return cls(data["name"], data["algorithm"], data["secret"], data["server"], data["port"])


def _txt_value(rdata: dns.rdtypes.ANY.TXT.TXT) -> str:
    return b"".join(rdata.strings).decode("utf-8", "replace")


def _to_record(origin: dns.name.Name, name: dns.name.Name, ttl: int, rdata: object) -> Record:
    rel = "@" if name == origin else name.relativize(origin).to_text()
    rdtype = dns.rdatatype.to_text(rdata.rdtype)  # type: ignore[attr-defined]
    mx = 0
    if rdtype == "MX":
        value = rdata.exchange.to_text()  # type: ignore[attr-defined]
        mx = rdata.preference  # type: ignore[attr-defined]
    elif rdtype == "TXT":
        value = _txt_value(rdata)  # type: ignore[arg-type]
    else:
        value = rdata.to_text(origin=origin, relativize=False)  # type: ignore[attr-defined]
    return Record(rel, rdtype, value, mx, ttl)


def _rdata_text(record: Record) -> str:
    """The record in zone-file syntax, for dnspython's rdata parser."""
    if record.type == "MX":
        return f"{record.mx} {record.value}"
    if record.type == "TXT":
        data = record.value.encode()
        chunks = [data[i : i + 255] for i in range(0, len(data), 255)] or [b""]
        return " ".join('"' + c.decode().replace("\\", "\\\\").replace('"', '\\"') + '"' for c in chunks)
    return record.value


def normalize_value(rtype: str, value: str) -> str:
    """DNSPod shows host names absolute with a trailing dot; accept them either way."""
    if rtype in ("CNAME", "MX", "NS") and not value.endswith("."):
        return value + "."
    return value


class Zone:
    """Reads and changes one domain's records in Knot; hands out stable record ids."""

    _lock = threading.Lock()

    def __init__(self, domain: str, tsig: Tsig, ids_file: Path) -> None:
        self.domain = domain
        self.origin = dns.name.from_text(domain)
        self.tsig = tsig
        self.ids_file = ids_file
        self._keyring = dns.tsigkeyring.from_text({tsig.name: (tsig.algorithm, tsig.secret)})

    # -- ids ---------------------------------------------------------------
    def _ids(self) -> dict[str, int]:
        if self.ids_file.exists():
            return json.loads(self.ids_file.read_text())
        return {}

    def _save_ids(self, ids: dict[str, int]) -> None:
        tmp = self.ids_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(ids, indent=1, sort_keys=True))
        tmp.replace(self.ids_file)

    def _assign(self, ids: dict[str, int], key: str) -> int:
        if key not in ids:
            ids[key] = max([1_000_000, *ids.values()]) + 1
        return ids[key]

    # -- reading -----------------------------------------------------------
    def _axfr(self) -> dns.zone.Zone:
        xfr = dns.query.xfr(
            self.tsig.server,
            self.origin,
            port=self.tsig.port,
            keyring=self._keyring,
            keyname=self.tsig.name,
            keyalgorithm=self.tsig.algorithm,
            lifetime=10,
            relativize=False,
        )
        return dns.zone.from_xfr(xfr, relativize=False)

    def records(self) -> list[tuple[int, Record, bool]]:
        """(RecordId, record, is DefaultNS) for every record DNSPod would list, by id."""
        zone = self._axfr()
        out: list[tuple[int, Record, bool]] = []
        with self._lock:
            ids = self._ids()
            for i, ns in enumerate(DEFAULT_NS):
                out.append((1_000 + i, Record("@", "NS", ns, 0, 86400), True))
            for name, node in zone.nodes.items():
                for rdataset in node.rdatasets:
                    rtype = dns.rdatatype.to_text(rdataset.rdtype)
                    if rtype == "SOA" or (rtype == "NS" and name == self.origin):
                        continue  # the real service hides SOA and its own apex NS
                    if rtype not in SUPPORTED_TYPES:
                        continue
                    for rdata in rdataset:
                        rec = _to_record(self.origin, name, rdataset.ttl, rdata)
                        out.append((self._assign(ids, rec.key()), rec, False))
            self._save_ids(ids)
        out.sort(key=lambda item: item[0])
        return out

    # -- writing -----------------------------------------------------------
    def _update(self) -> dns.update.UpdateMessage:
        return dns.update.UpdateMessage(
            self.origin,
            keyring=self._keyring,
            keyname=self.tsig.name,
            keyalgorithm=self.tsig.algorithm,
        )

    def _send(self, update: dns.update.UpdateMessage) -> None:
        response = dns.query.tcp(update, self.tsig.server, port=self.tsig.port, timeout=10)
        if response.rcode() != dns.rcode.NOERROR:
            raise ApiError(
                "InternalError",
                f"DNS update refused: {dns.rcode.to_text(response.rcode())}",
            )

    def _owner(self, record: Record) -> dns.name.Name:
        if record.name == "@":
            return self.origin
        return dns.name.from_text(record.name, self.origin)

    def _rdata(self, record: Record) -> object:
        try:
            return dns.rdata.from_text(
                dns.rdataclass.IN, record.type, _rdata_text(record), origin=self.origin
            )
        except Exception as exc:
            raise ApiError("InvalidParameter.RecordValueInvalid", f"Invalid record value: {exc}") from exc

    def create(self, record: Record) -> int:
        rdata = self._rdata(record)
        update = self._update()
        update.add(self._owner(record), record.ttl, rdata)
        self._send(update)
        with self._lock:
            ids = self._ids()
            rid = self._assign(ids, record.key())
            self._save_ids(ids)
        return rid

    def replace(self, old: Record, new: Record, rid: int) -> None:
        """One UPDATE deletes the old rdata and adds the new, so readers never see neither."""
        update = self._update()
        update.delete(self._owner(old), self._rdata(old))
        update.add(self._owner(new), new.ttl, self._rdata(new))
        self._send(update)
        with self._lock:
            ids = self._ids()
            ids.pop(old.key(), None)
            ids[new.key()] = rid
            self._save_ids(ids)

    def delete(self, record: Record) -> None:
        update = self._update()
        update.delete(self._owner(record), self._rdata(record))
        self._send(update)
        with self._lock:
            ids = self._ids()
            ids.pop(record.key(), None)
            self._save_ids(ids)
