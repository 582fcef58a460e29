"""A forced DKIM rotation on the lab VPS, through the roost role's DKIM step and the dns role
(publishing to the lab's Knot over RFC 2136), with the clock moved by roost_dkim_now.

Mail signed before the switch still verifies at the peer (OpenDKIM) during the grace period;
mail after it is signed with the new selectors; a run after the grace period deletes the old
records; every run repeated reports changed=0."""

from __future__ import annotations

import json
import smtplib
import subprocess
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import dns.message
import dns.query
import dns.rcode
import dns.tsigkeyring
import dns.update
import pytest
from roleplay import REPO, changed_count, prepare_vps, run_role
from test_smtp import message, wait_for_mail

from conftest import Lab

PLAYBOOK = REPO / "lab" / "tests" / "playbooks" / "dkim_rotation.yml"
DOMAIN = "example.test"
T0 = datetime.fromisoformat("2026-12-01T00:00:00+00:00")


@pytest.fixture(scope="module")
def vps(lab: Lab) -> Lab:
    """Roost installed, no DKIM keys yet."""
    prepare_vps(lab)
    lab.ssh("install -d -o roost -g roost -m 0750 /var/lib/roost; rm -rf /var/lib/roost/dkim")
    return lab


def converge(lab: Lab, tmp: Path, now: datetime, *flags: str, **extra: Any) -> int:
    """One run of the playbook at NOW (ansible-playbook FLAGS); returns changed=N of the VPS."""
    return changed_count(run(lab, tmp, now, *flags, **extra))


def converge_output(lab: Lab, tmp: Path, now: datetime) -> str:
    """What the run printed, warnings included, unwrapped."""
    result = run(lab, tmp, now)
    return " ".join((result.stdout + result.stderr).split())


def run(lab: Lab, tmp: Path, now: datetime, *flags: str, **extra: Any) -> subprocess.CompletedProcess[str]:
    tsig = lab.json("dns", "tsig")
    variables = {
        "roost_domains": [{"name": DOMAIN}],
        "roost_dns_provider": "rfc2136",
        "roost_dns_credentials": {
            "server": tsig["server"], "port": tsig["port"], "tsig_name": tsig["name"],
            "tsig_algorithm": tsig["algorithm"], "tsig_secret": tsig["secret"],
        },
        "dns_check_ptr": False,
        "roost_dkim_now": now.isoformat(),
        **extra,
    }  # fmt: skip
    result = run_role(lab, "roost", variables, tmp, *flags, playbook=PLAYBOOK)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    return result


def status(lab: Lab, now: datetime) -> dict[str, str]:
    out = lab.ssh(f"/opt/roost/bin/roost dkim status --json --now {now.isoformat()}").stdout
    return {row["selector"]: row["phase"] for row in json.loads(out)}


def served(lab: Lab, selector: str) -> list[str]:
    """The DKIM TXT values the lab's authoritative server gives for SELECTOR."""
    query = dns.message.make_query(f"{selector}._domainkey.{DOMAIN}", "TXT")
    response = dns.query.udp(query, lab.addr("dns"), timeout=5)
    if response.rcode() == dns.rcode.NXDOMAIN:
        return []
    return [b"".join(rdata.strings).decode() for rrset in response.answer for rdata in rrset]


def edit_by_hand(lab: Lab, selector: str, value: str) -> None:
    """Replace the selector's record in Knot behind the toolkit's back (RFC 2136, TSIG)."""
    key = lab.json("dns", "tsig")
    keyring = dns.tsigkeyring.from_text({key["name"]: key["secret"]})
    update = dns.update.UpdateMessage(
        DOMAIN, keyring=keyring, keyname=key["name"], keyalgorithm=key["algorithm"]
    )
    update.replace(f"{selector}._domainkey", 600, "TXT", f'"{value}"')
    assert dns.query.tcp(update, lab.addr("dns"), timeout=5).rcode() == dns.rcode.NOERROR


def signed_on_vps(lab: Lab, token: str) -> bytes:
    """A message signed on the VPS with the keys the server signs with right now."""
    code = (
        "import sys\n"
        "from roost.dkim import DKIMKeyStore, sign\n"
        f"keys = DKIMKeyStore('/var/lib/roost/dkim').current({DOMAIN!r})\n"
        f"sys.stdout.buffer.write(sign(sys.stdin.buffer.read(), {DOMAIN!r}, keys))\n"
    )
    body = message(f"me@{DOMAIN}", "alice@peer.test", token).decode()
    script = f"/tmp/sign-{token}.py"
    lab.ssh(f"cat > {script}", stdin=code)
    signed = lab.ssh(f"runuser -u roost -- /opt/roost/bin/python {script}", stdin=body).stdout
    return signed.encode()


def verdict_at_peer(lab: Lab, signed: bytes, token: str) -> tuple[str, list[str]]:
    """Hand SIGNED to the peer (the controller is in its mynetworks); its DKIM verdict and
    the selectors the message carries."""
    with smtplib.SMTP("mx.peer.test", 25, timeout=10) as smtp:
        smtp.sendmail(f"me@{DOMAIN}", ["alice@peer.test"], signed)
    received = wait_for_mail(lab, "alice", token)
    results = " ".join(received.get_all("Authentication-Results"))
    selectors = sorted(
        tag.split("=", 1)[1].strip()
        for header in received.get_all("DKIM-Signature")
        for tag in str(header).split(";")
        if tag.strip().startswith("s=")
    )
    return results, selectors


def test_forced_rotation_keeps_mail_verifying(vps: Lab, tmp_path: Path) -> None:
    first = converge(vps, tmp_path, T0)
    assert first > 0
    old = status(vps, T0)
    assert old == {"r20261201": "active", "e20261201": "active"}
    assert converge(vps, tmp_path, T0) == 0
    assert all(served(vps, s) for s in old)

    before, in_flight = uuid.uuid4().hex, uuid.uuid4().hex
    results, selectors = verdict_at_peer(vps, signed_on_vps(vps, before), before)
    assert "dkim=pass" in results and selectors == sorted(old), results
    signed_in_flight = signed_on_vps(vps, in_flight)  # delivered after the switch

    day1 = T0 + timedelta(days=1)
    assert converge(vps, tmp_path, day1, roost_dkim_rotate=True) > 0
    phases = status(vps, day1)
    assert phases == {
        "r20261201": "retiring", "e20261201": "retiring",
        "r20261202": "active", "e20261202": "active",
    }  # fmt: skip
    assert all(served(vps, s) for s in phases)  # old and new published side by side
    assert converge(vps, tmp_path, day1) == 0

    # In the grace period, mail signed before the switch (still in flight) verifies.
    results, selectors = verdict_at_peer(vps, signed_in_flight, in_flight)
    assert "dkim=pass" in results and "dkim=fail" not in results, results
    assert selectors == sorted(old)
    after = uuid.uuid4().hex
    results, selectors = verdict_at_peer(vps, signed_on_vps(vps, after), after)
    assert "dkim=pass" in results and "dkim=fail" not in results, results
    assert selectors == ["e20261202", "r20261202"]

    day9 = T0 + timedelta(days=9)
    assert converge(vps, tmp_path, day9) > 0
    assert status(vps, day9) == {
        "r20261201": "removed", "e20261201": "removed",
        "r20261202": "active", "e20261202": "active",
    }  # fmt: skip
    assert served(vps, "r20261201") == [] and served(vps, "e20261201") == []
    assert served(vps, "r20261202") and served(vps, "e20261202")
    assert converge(vps, tmp_path, day9) == 0

    # A record edited by hand is reported and repaired: the server's key is published again.
    good = served(vps, "e20261202")
    edit_by_hand(vps, "e20261202", "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=")
    output = converge_output(vps, tmp_path, day9)
    assert "did not match the server's private key" in output
    assert served(vps, "e20261202") == good
    assert converge(vps, tmp_path, day9) == 0

    # Rotation due again (180 days after day 1): check mode shows it and changes nothing.
    day200 = T0 + timedelta(days=200)
    assert converge(vps, tmp_path, day200, "--check", "--diff") > 0
    assert status(vps, day200)["r20261202"] == "active"
    assert "r20270619" not in status(vps, day200) and served(vps, "r20270619") == []
