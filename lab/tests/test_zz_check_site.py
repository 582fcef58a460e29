"""playbooks/check.yml against the lab VPS that site.yml provisions (issue 9, "Shown on the lab").

On a healthy lab the play passes and every row of the report passes. Two rows need the lab's
own help, as they would need the user's: the PTR of the VPS is vps.lab.test, which only the
address's owner can change (the play names what to ask the VPS provider; this test then does
that step in the lab's reverse zone and puts it back after), and the public blocklists are
out of the lab's reach (the lab inventory names the lab's own, dnsbl.lab.test; the public ones
come back "could not check", a warning, never a pass).

Then records are broken behind Roost's back, one at a time, through the lab inventory's DNS
provider (the DNSPod stand-in): the MX removed, the SPF record altered and removed, a DKIM key
replaced by another, the _mta-sts id altered; and the certificate on the VPS replaced by an
expired one. Each time the play fails, and both its failure message and the `roost check` JSON
it read name the check, the record and the fix; each is put back through the same API. Last,
all are broken at once and the fix the report names, re-running site.yml, repairs them all.

Named to run after test_zy_domains_site (which ends with second.test removed) and before
test_zz_down: site.yml with the lab inventory as it is hosts both domains again.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from roleplay import REPO, changed_count
from roost.dnsprovider import Provider, Record, open_provider
from test_check import rfc2136_options
from test_dnsprovider import dnspod_options
from test_zy_domains_site import FIRST, SECOND, dkim_status, site

from conftest import Lab

# Two runs of site.yml (a minute and a half each at most) and a dozen of check.yml (seconds each).
pytestmark = pytest.mark.timeout(900)

HOST = f"mail.{FIRST}"
CERT = "/etc/roost/tls/fullchain.pem"
REVERSE_ZONE = "100.51.198.in-addr.arpa"
DEFAULT_DNSBLS = ("zen.spamhaus.org", "bl.spamcop.net", "b.barracudacentral.org")

#: Run on the VPS with Roost's Python: the certificate, re-signed by its own key with an end
#: date in the past (argv: certificate, key, host name, end as ISO 8601).
EXPIRE = """\
import sys
from datetime import datetime, timedelta
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

cert_path, key_path, host, end = sys.argv[1:]
with open(key_path, "rb") as f:
    key = serialization.load_pem_private_key(f.read(), None)
not_after = datetime.fromisoformat(end)
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
cert = (
    x509.CertificateBuilder().subject_name(name).issuer_name(name)
    .public_key(key.public_key()).serial_number(x509.random_serial_number())
    .not_valid_before(not_after - timedelta(days=90)).not_valid_after(not_after)
    .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
    .sign(key, hashes.SHA256())
)
with open(cert_path, "wb") as f:  # written in place: the file keeps its owner and mode
    f.write(cert.public_bytes(serialization.Encoding.PEM))
"""


@dataclass(frozen=True)
class Play:
    """One run of check.yml: its exit status, the report it read, its failure message."""

    rc: int
    report: dict[str, Any]
    failure: str
    output: str

    def row(self, subject: str, check: str) -> dict[str, str]:
        rows = [r for r in self.report["results"] if (r["subject"], r["check"]) == (subject, check)]
        assert len(rows) == 1, (subject, check, self.report["results"])
        return rows[0]

    def not_passing(self) -> list[dict[str, str]]:
        return [r for r in self.report["results"] if r["status"] != "pass"]

    def failing(self) -> set[tuple[str, str]]:
        return {(r["subject"], r["check"]) for r in self.not_passing() if r["status"] == "fail"}


def check_play(tmp: Path, variables: dict[str, Any] | None = None) -> Play:
    """check.yml with the lab inventory; -v and JSON results, so the command's output (the
    report) and the assertion's message can be read back from the play's own output."""
    vars_file = tmp / f"check-{uuid.uuid4().hex}.json"
    vars_file.write_text(json.dumps(variables or {}))
    result = subprocess.run(
        [Path(sys.executable).parent / "ansible-playbook", "-v", "-i", REPO / "inventories" / "lab",
         REPO / "playbooks" / "check.yml", "-e", f"@{vars_file}"],
        capture_output=True, text=True, timeout=300, check=False, cwd=REPO,
        env={**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
             "ANSIBLE_CALLBACK_RESULT_FORMAT": "json"},
    )  # fmt: skip
    output = result.stdout + result.stderr
    decoder = json.JSONDecoder()
    results = [
        decoder.raw_decode(result.stdout, m.end())[0]
        for m in re.finditer(r"^(?:ok|fatal): \[vps\].*?=> ", result.stdout, re.MULTILINE)
    ]
    runs = [r for r in results if "cmd" in r]
    assert len(runs) == 1, output[-6000:]
    failure = " ".join(r["msg"] for r in results if "assertion" in r)
    return Play(result.returncode, json.loads(runs[0]["stdout"]), failure, output)


def dnspod(lab: Lab) -> Provider:
    """The lab inventory's DNS provider, as the user's own hand at the provider's console."""
    return open_provider("tencentcloud", dnspod_options(lab))


Undo = Callable[[], None]


def replace(
    provider: Provider, zone: str, name: str, rtype: str, value: str | None, match: str = ""
) -> tuple[list[Record], Undo]:
    """NAME's RTYPE records starting with MATCH, swapped for VALUE (None: only removed)
    through PROVIDER behind Roost's back: the records taken away, and how to put them back."""
    old = [r for r in provider.records(zone, name, rtype) if r.value.startswith(match)]
    assert old or value, f"nothing to break: no {rtype} {match!r} at {name}"
    new = [Record.make(name, rtype, value)] if value else []
    for record in old:
        provider.delete(zone, record)
    for record in new:
        provider.create(zone, record)

    def undo() -> None:
        for record in new:
            provider.delete(zone, record)
        for record in old:
            provider.create(zone, record)

    return old, undo


@dataclass(frozen=True)
class Broken:
    """One thing broken behind Roost's back: the row the check must fail, words of its
    detail and fix, and how to put the thing back."""

    subject: str
    check: str
    detail: str
    fix: str
    undo: Undo


def mx_removed(lab: Lab) -> Broken:
    _, undo = replace(dnspod(lab), FIRST, FIRST, "MX", None)
    return Broken(FIRST, "mx", f"{FIRST} has no MX record",
                  f"publish MX 10 {HOST}. at {FIRST}: re-run site.yml", undo)  # fmt: skip


def spf_altered(lab: Lab) -> Broken:
    other = "v=spf1 ip4:192.0.2.99 -all"
    _, undo = replace(dnspod(lab), SECOND, SECOND, "TXT", other, match="v=spf1")
    return Broken(SECOND, "spf", f"does not pass mail from this VPS ({lab.addr('vps')})",
                  f"publish an SPF record at {SECOND} with ip4:{lab.addr('vps')}", undo)  # fmt: skip


def spf_removed(lab: Lab) -> Broken:
    _, undo = replace(dnspod(lab), SECOND, SECOND, "TXT", None, match="v=spf1")
    return Broken(SECOND, "spf", f"{SECOND} has no SPF record",
                  f"publish an SPF record at {SECOND} with ip4:{lab.addr('vps')}", undo)  # fmt: skip


def dkim_altered(lab: Lab) -> Broken:
    """The Ed25519 selector's record now holds another key (RFC 8463: p= is the raw key)."""
    [selector] = [
        row["selector"] for row in dkim_status(lab, FIRST)
        if row["phase"] == "active" and row["algorithm"] == "ed25519"
    ]  # fmt: skip
    name = f"{selector}._domainkey.{FIRST}"
    raw = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    other = f"v=DKIM1; k=ed25519; p={base64.b64encode(raw).decode()}"
    [published], undo = replace(dnspod(lab), FIRST, name, "TXT", other, match="v=DKIM1")
    return Broken(FIRST, f"dkim {selector}",
                  f"the key published at {name} is not the key the server signs with",
                  f"publish TXT {published.value!r} at {name}: re-run site.yml", undo)  # fmt: skip


def mta_sts_id_altered(lab: Lab) -> Broken:
    name = f"_mta-sts.{FIRST}"
    altered = "v=STSv1; id=20260101altered"
    [published], undo = replace(dnspod(lab), FIRST, name, "TXT", altered, match="v=STSv1")
    served = published.value.partition("id=")[2]
    url = f"https://mta-sts.{FIRST}/.well-known/mta-sts.txt"
    return Broken(FIRST, "mta-sts",
                  f"{name} announces id 20260101altered, but the policy served at {url} has id {served}",
                  f"publish TXT 'v=STSv1; id={served}' at {name}; re-run site.yml", undo)  # fmt: skip


def certificate_expired(lab: Lab) -> Broken:
    original = lab.ssh(f"cat {CERT}").stdout
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)
    lab.ssh(f"/opt/roost/bin/python - {CERT} /etc/roost/tls/privkey.pem {HOST} {end.isoformat()}",
            stdin=EXPIRE)  # fmt: skip

    def undo() -> None:
        lab.ssh(f"cat > {CERT}", stdin=original)  # in place, as above

    return Broken(HOST, "certificate", f"{CERT} expired on {end:%Y-%m-%d %H:%M} UTC (3 days ago)",
                  "re-run site.yml (the certificates role issues a new certificate)", undo)  # fmt: skip


BREAKS: tuple[Callable[[Lab], Broken], ...] = (
    mx_removed, spf_altered, spf_removed, dkim_altered, mta_sts_id_altered, certificate_expired,
)  # fmt: skip


@pytest.fixture(scope="module")
def provisioned(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> None:
    """The VPS as site.yml makes it from the lab inventory (a re-run when it is already)."""
    site(tmp_path_factory.mktemp("site"), {})


@pytest.fixture(scope="module")
def healthy(lab: Lab, provisioned: None) -> Iterator[None]:
    """The user's manual step done: the VPS provider set the PTR to the mail host."""
    reverse = open_provider("rfc2136", rfc2136_options(lab))
    name = f"{lab.addr('vps').split('.')[-1]}.{REVERSE_ZONE}"
    _, undo = replace(reverse, REVERSE_ZONE, name, "PTR", f"{HOST}.")
    yield
    undo()


def test_the_ptr_is_named_as_the_one_thing_to_ask_the_vps_provider(
    lab: Lab, provisioned: None, tmp_path: Path
) -> None:
    play = check_play(tmp_path)
    vps = lab.addr("vps")
    assert play.rc != 0 and play.failing() == {(vps, "ptr")}, play.output[-6000:]
    fix = f"ask your VPS provider to set the reverse DNS (PTR) of {vps} to {HOST}"
    assert fix in play.row(vps, "ptr")["fix"]
    assert f"[{vps} ptr] PTR should be {HOST}, it is vps.lab.test; fix: {fix}" in play.failure


@pytest.mark.usefixtures("healthy")
def test_a_healthy_lab_passes_every_check(lab: Lab, tmp_path: Path) -> None:
    play = check_play(tmp_path)
    assert play.rc == 0 and not play.failure, play.output[-6000:]
    assert play.report["ok"] and play.not_passing() == []
    vps = lab.addr("vps")
    assert "forward-confirmed" in play.row(vps, "ptr")["detail"]
    assert play.row(vps, f"dnsbl {lab.facts['dns']['dnsbl']}")["detail"] == "not listed"
    assert "mx.peer.test" in play.row(HOST, "outbound 25")["detail"]
    for domain in (FIRST, SECOND):
        checks = {r["check"] for r in play.report["results"] if r["subject"] == domain}
        assert {"mx", "spf", "dmarc", "mta-sts", "tls-rpt"} <= checks
        assert len([c for c in checks if c.startswith("dkim ")]) == 2  # RSA and Ed25519


@pytest.mark.usefixtures("healthy")
def test_blocklists_listed_or_out_of_reach(lab: Lab, tmp_path: Path) -> None:
    vps = lab.addr("vps")
    # The public lists do not answer in the lab (REFUSED): unknown, a warning, not a pass.
    play = check_play(tmp_path, {"roost_check_dnsbls": []})
    assert play.rc == 0, play.output[-6000:]
    for zone in DEFAULT_DNSBLS:
        row = play.row(vps, f"dnsbl {zone}")
        assert row["status"] == "warn", row
        assert row["detail"].startswith("could not check: the look-up failed"), row
        assert f"must resolve names under {zone}" in row["fix"]

    zone = lab.facts["dns"]["dnsbl"]
    reverse = ".".join(reversed(vps.split(".")))
    rfc2136 = open_provider("rfc2136", rfc2136_options(lab))
    _, undo = replace(rfc2136, zone, f"{reverse}.{zone}", "A", "127.0.0.2")
    try:
        play = check_play(tmp_path)
    finally:
        undo()
    assert play.rc != 0 and play.failing() == {(vps, f"dnsbl {zone}")}, play.output[-6000:]
    row = play.row(vps, f"dnsbl {zone}")
    assert row["detail"].startswith("listed (127.0.0.2)")
    assert f"[{vps} dnsbl {zone}] listed (127.0.0.2)" in play.failure
    assert f"ask for removal at the web site of {zone}" in play.failure


@pytest.mark.usefixtures("healthy")
@pytest.mark.parametrize("breaking", BREAKS, ids=lambda b: b.__name__)
def test_a_record_broken_behind_roosts_back_is_named_with_its_fix(
    lab: Lab, tmp_path: Path, breaking: Callable[[Lab], Broken]
) -> None:
    named = breaking(lab)
    try:
        play = check_play(tmp_path)
    finally:
        named.undo()
    assert play.rc != 0, play.output[-6000:]
    assert play.failing() == {(named.subject, named.check)}, play.not_passing()
    row = play.row(named.subject, named.check)
    assert named.detail in row["detail"], row
    assert named.fix in row["fix"], row
    # The play's failure message names the same row, with its detail and the whole fix.
    assert f"[{named.subject} {named.check}] {row['detail']}; fix: {row['fix']}." in play.failure


@pytest.mark.usefixtures("healthy")
def test_re_running_site_yml_repairs_what_the_check_names(lab: Lab, tmp_path: Path) -> None:
    """Everything broken at once: one failure each; the fix they name heals them all."""
    breaks = (mx_removed, spf_removed, dkim_altered, mta_sts_id_altered, certificate_expired)
    with ExitStack() as undo:
        named = []
        for breaking in breaks:
            named.append(breaking(lab))
            undo.callback(named[-1].undo)
        play = check_play(tmp_path)
        assert play.failing() == {(n.subject, n.check) for n in named}, play.not_passing()
        assert play.failure.startswith(f"{len(breaks)} check(s) failed:"), play.failure
        undo.pop_all()  # from here site.yml puts things back, not the breaks' own undo
    assert changed_count(site(tmp_path, {})) > 0
    play = check_play(tmp_path)
    assert play.rc == 0 and play.not_passing() == [], play.output[-6000:]
