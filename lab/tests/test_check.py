"""`roost check` reads back, through the lab's DNS, what `roost dns sync` published.

A dev Roost (hostname mail.second.test, the lab's Knot as its resolver) publishes its
domain's records over RFC 2136 with `roost dns sync`, serves on loopback, and runs
`roost check`: the record checks pass; with the MX deleted behind its back, the MX check
fails and names the record to publish. The zone is put back as it was afterwards.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from roost.dnsprovider import open_provider

from conftest import Lab

ZONE = "second.test"
HOST = f"mail.{ZONE}"
ROOST = [sys.executable, "-m", "roost"]


def rfc2136_options(lab: Lab) -> dict[str, Any]:
    key = lab.json("dns", "tsig")
    return {"server": key["server"], "tsig_name": key["name"], "tsig_algorithm": key["algorithm"],
            "tsig_secret": key["secret"]}  # fmt: skip


def roost(config: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ROOST, "-c", str(config), *args], capture_output=True, text=True, timeout=180,
        check=check,
    )  # fmt: skip


@pytest.fixture
def server(lab: Lab, tmp_path: Path) -> Iterator[Path]:
    """A dev Roost for ZONE, serving on loopback, its records synced; all undone after."""
    # As root the server runs as nobody, who must reach its state: not under pytest's 0700 tmp.
    directory = Path(tempfile.mkdtemp(prefix="roost-check-", dir="/tmp")) / "roost"
    directory.parent.chmod(0o755)
    nameserver = lab.json("dns", "tsig")["server"]
    subprocess.run(
        [*ROOST, "init", "--dev", str(directory), "--domain", ZONE, "--hostname", HOST,
         "--port-base", "20000", "--nameserver", nameserver],
        check=True, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    config = directory / "roost.toml"
    credentials = tmp_path / "credentials.json"
    credentials.write_text(json.dumps(rfc2136_options(lab)))
    credentials.chmod(0o600)
    direct = open_provider("rfc2136", rfc2136_options(lab))
    before = set(direct.records(ZONE))
    log = (directory / "serve.log").open("wb")
    process = subprocess.Popen([*ROOST, "-c", str(config), "serve"], stdout=log, stderr=log)
    try:
        roost(config, "dns", "sync", ZONE, "--provider", "rfc2136", "--credentials",
              str(credentials), "--ipv4", "127.0.0.1", "--dmarc-policy", "quarantine",
              "--tlsrpt-rua", f"tls@{ZONE}")  # fmt: skip
        deadline = time.monotonic() + 30
        while b"roost ready" not in (directory / "serve.log").read_bytes():
            assert process.poll() is None, (directory / "serve.log").read_text()
            assert time.monotonic() < deadline, "roost serve did not start"
            time.sleep(0.1)
        yield config
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()
        for record in set(direct.records(ZONE)) - before:
            direct.delete(ZONE, record)
        shutil.rmtree(directory.parent, ignore_errors=True)


def check(config: Path) -> tuple[int, dict[str, dict[str, str]]]:
    result = roost(config, "check", "--domain", ZONE, "--format", "json", "--address",
                   "127.0.0.1", "--probe-host", "127.0.0.1", "--timeout", "3", check=False)  # fmt: skip
    assert result.returncode in (0, 1), result.stderr
    findings = json.loads(result.stdout)["results"]
    return result.returncode, {f["check"]: f for f in findings if f["subject"] == ZONE}


def test_check_reads_back_what_dns_sync_published(lab: Lab, server: Path) -> None:
    _, findings = check(server)
    dkim = [name for name in findings if name.startswith("dkim ")]
    assert len(dkim) == 2  # the RSA and the Ed25519 key of `roost init --dev`
    for name in ("mx", "spf", "dmarc", "tls-rpt", *dkim):
        assert findings[name]["status"] == "pass", findings[name]
    assert "passes this VPS" in findings["spf"]["detail"]

    direct = open_provider("rfc2136", rfc2136_options(lab))
    for record in direct.records(ZONE, ZONE, "MX"):
        direct.delete(ZONE, record)
    status, findings = check(server)
    assert status == 1
    assert findings["mx"]["status"] == "fail"
    assert f"publish MX 10 {HOST}. at {ZONE}" in findings["mx"]["fix"]
