"""A real authoritative DNS server (Knot DNS) on loopback, for tests that need DNS.

Usage::

    with KnotServer({"example.com": "@ TXT \\"v=spf1 -all\\""}) as knot:
        resolver = DNSResolver([f"{knot.address}:{knot.port}"])
        ...
        knot.set_zone("example.com", "@ TXT \\"v=spf1 +all\\"")   # reloaded at once

Each zone is given as its records only (any zone-file syntax, relative names
allowed); the helper adds $ORIGIN, $TTL, the SOA (with a serial that grows on
every change, so Knot always takes the new contents) and an NS record.
knotd runs as a child process with everything under a temporary directory and is
stopped by its pid.
"""

from __future__ import annotations

import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType

import dns.exception
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype

from tests.procs import stop_process
from tests.sbin import find_program


class KnotNotInstalledError(RuntimeError):
    """knotd/knotc are missing; the message says how to get them."""


def _tool(name: str) -> str:
    return find_program(
        name,
        KnotNotInstalledError,
        "the DNS tests need Knot DNS. Run `make test` (it installs the Debian packages the "
        "tests use) or `apt-get install knot`.",
    )


def txt(strings: Iterable[str]) -> str:
    """TXT rdata in zone-file syntax: each string quoted, quotes and backslashes escaped."""
    return " ".join('"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"' for s in strings)


def free_dns_port(address: str) -> int:
    """A port free for both UDP and TCP on ``address`` (knotd binds both)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind((address, 0))
            port = tcp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind((address, port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no free port for knotd")


class KnotServer:
    """knotd serving ``zones`` (name -> records) on ``address``:``port``."""

    def __init__(
        self,
        zones: dict[str, str],
        address: str = "127.0.0.1",
        ttl: int = 0,
        tsig: tuple[str, str, str] | None = None,
    ) -> None:
        if not zones:
            raise ValueError("KnotServer needs at least one zone")
        self.address = address
        self.ttl = ttl  # 0 by default: tests change zones and must not see cached answers
        # (name, algorithm, base64 secret): the key may update (RFC 2136) and transfer.
        self.tsig = tsig
        self.port = 0
        self._zones = {name.rstrip(".").lower(): records for name, records in zones.items()}
        self._serial = int(time.time())
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._conf = Path()  # set by __enter__
        self._log = Path()

    @property
    def nameserver(self) -> str:
        """``"IP:PORT"``, as roost's DNSResolver takes it."""
        return f"{self.address}:{self.port}"

    def __enter__(self) -> KnotServer:
        knotd = _tool("knotd")
        _tool("knotc")
        self._tmp = tempfile.TemporaryDirectory(prefix="roost-knot-")
        root = Path(self._tmp.name)
        for sub in ("zones", "run", "db"):
            (root / sub).mkdir()
        for name in self._zones:
            self._write_zone(name)
        self.port = free_dns_port(self.address)
        self._conf = root / "knot.conf"
        self._conf.write_text(self._config(root))
        self._log = root / "knotd.log"
        with self._log.open("wb") as log:
            self._proc = subprocess.Popen(
                [knotd, "-c", str(self._conf)], stdout=log, stderr=subprocess.STDOUT
            )
        try:
            self._wait_ready()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._proc is not None:
            stop_process(self._proc)
            self._proc = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def set_zone(self, name: str, records: str) -> None:
        """Replace (or add) a zone's records and wait until knotd serves them."""
        name = name.rstrip(".").lower()
        is_new = name not in self._zones
        self._zones[name] = records
        self._write_zone(name)
        if is_new:
            self._conf.write_text(self._config(self._conf.parent))
            self._knotc("reload")
        else:
            self._knotc("zone-reload", name)
        self._wait_serial(name)

    # -- internals -------------------------------------------------------------

    def _config(self, root: Path) -> str:
        zones = "\n".join(f"  - domain: {name}." for name in self._zones)
        acl = ""
        if self.tsig:
            name, algorithm, secret = self.tsig
            acl = (
                f"key:\n  - id: {name}\n    algorithm: {algorithm}\n    secret: {secret}\n"
                f"acl:\n  - id: tsig\n    key: {name}\n    action: [update, transfer]\n"
            )
        return f"""\
{acl}server:
    rundir: "{root}/run"
    user: root:root
    listen: {self.address}@{self.port}
control:
    listen: "{root}/run/knot.sock"
database:
    storage: "{root}/db"
log:
  - target: stderr
    any: warning
template:
  - id: default
    storage: "{root}/zones"
    file: "%s.zone"
    zonefile-sync: -1
    journal-content: none
{"    acl: tsig" if self.tsig else ""}
zone:
{zones}
"""

    def _write_zone(self, name: str) -> None:
        assert self._tmp is not None
        self._serial += 1
        text = (
            f"$ORIGIN {name}.\n$TTL {self.ttl}\n"
            f"@ SOA ns.{name}. hostmaster.{name}. {self._serial} 3600 600 86400 60\n"
            f"@ NS ns.invalid.\n{self._zones[name]}\n"
        )
        path = Path(self._tmp.name) / "zones" / f"{name}.zone"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text)
        tmp.replace(path)

    def _knotc(self, *args: str) -> None:
        result = subprocess.run(
            [_tool("knotc"), "-c", str(self._conf), "-b", *args],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"knotc {' '.join(args)} failed: {result.stdout}{result.stderr}")

    def _soa_serial(self, name: str) -> int | None:
        query = dns.message.make_query(f"{name}.", dns.rdatatype.SOA)
        try:
            response = dns.query.udp(query, self.address, port=self.port, timeout=0.5)
        except (OSError, dns.exception.Timeout):
            return None
        if response.rcode() != dns.rcode.NOERROR or not response.answer:
            return None
        return response.answer[0][0].serial

    def _wait_serial(self, name: str, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._soa_serial(name) == self._serial_of(name):
                return
            if self._proc is not None and self._proc.poll() is not None:
                raise RuntimeError(f"knotd exited: {self._log.read_text()}")
            time.sleep(0.05)
        raise RuntimeError(f"knotd did not load zone {name}: {self._log.read_text()}")

    def _serial_of(self, name: str) -> int:
        assert self._tmp is not None
        zone = (Path(self._tmp.name) / "zones" / f"{name}.zone").read_text()
        return int(zone.split(" SOA ", 1)[1].split()[2])

    def _wait_ready(self) -> None:
        for name in self._zones:
            self._wait_serial(name)
