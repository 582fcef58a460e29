"""A real PowerDNS authoritative server with its HTTP API on loopback, for the lexicon provider.

Usage::

    with PowerDNSServer(["example.org"]) as pdns:
        pdns.api("PATCH", "/zones/example.org.", {"rrsets": [...]})   # as a user would
        pdns.serial("example.org"), pdns.changing_calls()              # what a run did

pdns_server (Debian ``pdns-server`` + ``pdns-backend-sqlite3``) runs as a child process
with its SQLite database, config and log under a temporary directory, on free high
ports, and is stopped by its pid. Zones are made through the API, so each change made
through it bumps the SOA serial (``soa_edit_api`` DEFAULT).
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from contextlib import closing
from pathlib import Path
from typing import Any

import dns.exception
import dns.message
import dns.query
import dns.rdatatype

from tests.knot import free_dns_port
from tests.procs import StartStop, free_port, stop_process
from tests.sbin import find_program

SCHEMA = Path("/usr/share/doc/pdns-backend-sqlite3/schema.sqlite3.sql")
HOW_TO_GET_IT = (
    "the lexicon tests need PowerDNS. Run `make test` (it installs the Debian packages the "
    "tests use) or `apt-get install pdns-server pdns-backend-sqlite3`."
)


class PowerDNSNotInstalledError(RuntimeError):
    """pdns_server or its SQLite backend is missing; the message says how to get them."""


class PowerDNSServer(StartStop):
    """pdns_server authoritative for ``zones``, its API at ``url`` with key ``api_key``."""

    def __init__(self, zones: Iterable[str], address: str = "127.0.0.1") -> None:
        self.zones = [z.rstrip(".").lower() for z in zones]
        self.address = address
        self.port = 0
        self.api_port = 0
        self.api_key = secrets.token_hex(16)
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log = Path()

    @property
    def url(self) -> str:
        """What lexicon's ``pdns_server`` option takes."""
        return f"http://{self.address}:{self.api_port}"

    def start(self) -> None:
        pdns_server = find_program("pdns_server", PowerDNSNotInstalledError, HOW_TO_GET_IT)
        if not SCHEMA.exists():
            raise PowerDNSNotInstalledError(f"{SCHEMA} not found: {HOW_TO_GET_IT}")
        self._tmp = tempfile.TemporaryDirectory(prefix="roost-pdns-")
        root = Path(self._tmp.name)
        database = root / "pdns.sqlite3"
        with closing(sqlite3.connect(database)) as db:
            db.executescript(SCHEMA.read_text())
        self.port = free_dns_port(self.address)
        self.api_port = free_port(self.address)
        (root / "pdns.conf").write_text(self._config(root, database))
        self._log = root / "pdns.log"
        with self._log.open("wb") as log:
            self._proc = subprocess.Popen(
                [pdns_server, f"--config-dir={root}"], stdout=log, stderr=subprocess.STDOUT
            )
        try:
            self._wait_ready()
            for zone in self.zones:
                self.api("POST", "/zones", {"name": f"{zone}.", "kind": "Native",
                                            "nameservers": [f"ns.{zone}."]})  # fmt: skip
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        if self._proc is not None:
            stop_process(self._proc)
            self._proc = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def api(self, method: str, path: str, body: Any = None) -> Any:
        """One call to the HTTP API under ``/api/v1/servers/localhost``; the JSON answer."""
        request = urllib.request.Request(
            f"{self.url}/api/v1/servers/localhost{path}",
            data=None if body is None else json.dumps(body).encode(),
            method=method,
            headers={"X-API-Key": self.api_key, "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            text = response.read()
        return json.loads(text) if text else None

    def add(self, zone: str, name: str, rtype: str, *contents: str, ttl: int = 3600) -> None:
        """Write an RRset straight through the API (what a user does by hand)."""
        self.api("PATCH", f"/zones/{zone}.", {"rrsets": [{
            "name": f"{name}.", "type": rtype, "ttl": ttl, "changetype": "REPLACE",
            "records": [{"content": c, "disabled": False} for c in contents],
        }]})  # fmt: skip

    def query(self, name: str, rtype: str) -> dns.message.Message:
        """Ask the server itself over DNS, as a resolver would."""
        return dns.query.udp(
            dns.message.make_query(name, rtype), self.address, port=self.port, timeout=3
        )

    def serial(self, zone: str) -> int:
        answer = self.query(f"{zone}.", "SOA").answer
        return int(answer[0][0].serial)

    def changing_calls(self) -> int:
        """How many change requests (PATCH, POST, PUT, DELETE) the API has answered so far."""
        lines = self._log.read_text(errors="replace").splitlines()
        verbs = ('"PATCH ', '"POST ', '"PUT ', '"DELETE ')
        return sum(1 for line in lines if any(verb in line for verb in verbs))

    # -- internals -------------------------------------------------------------

    def _config(self, root: Path, database: Path) -> str:
        return f"""\
launch=gsqlite3
gsqlite3-database={database}
local-address={self.address}:{self.port}
socket-dir={root}
guardian=no
daemon=no
disable-syslog=yes
write-pid=no
loglevel=6
security-poll-suffix=
api=yes
api-key={self.api_key}
webserver=yes
webserver-address={self.address}
webserver-port={self.api_port}
webserver-allow-from=127.0.0.0/8
webserver-loglevel=normal
"""

    def _wait_ready(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise RuntimeError(f"pdns_server exited: {self._log.read_text()}")
            try:
                self.api("GET", "")
                self.query(".", "SOA")
                return
            except (OSError, urllib.error.URLError, dns.exception.DNSException):
                time.sleep(0.1)
        raise RuntimeError(f"pdns_server did not answer in {timeout} s: {self._log.read_text()}")
