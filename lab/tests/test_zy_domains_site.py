"""Domains from inventory through the whole site.yml on the lab VPS (issue 9 §2).

The VPS starts hosting example.test alone; a re-run with second.test added gives it DNS
records, DKIM keys, certificate names, its MTA-STS site, users and aliases, leaves every
record of example.test as it was, and mail for it flows both ways with SPF, DKIM and DMARC
passing at the peer. Marked `state: absent` while mail is stored for it, the run is refused
naming the mailbox; with `mail: keep` its records and aliases go but the mailbox stays,
readable over IMAP; with `mail: delete` the rest goes, with only what Roost made for it (a
record added by hand at second.test stays). Every run repeated reports changed=0.

Named to run after the other lab tests (before test_zz_check_site and test_zz_down): it
provisions the whole VPS.
"""

from __future__ import annotations

import json
import os
import re
import ssl
import subprocess
import sys
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.tsigkeyring
import dns.update
import pytest
from roleplay import REPO, changed_count
from test_smtp import wait_for_mail

from conftest import LAB_DIR, Lab

FIRST, SECOND = "example.test", "second.test"
ME = {
    "address": f"me@{FIRST}",
    "password": "{{ lookup('ansible.builtin.password', lab_state_dir ~ '/roost/me.pass', "
    "chars=['ascii_letters', 'digits'], length=24) }}",
}
#: Names Roost publishes at in each domain (roost.dnsprovider.records), with their types.
NAMES = (
    ("", "MX"), ("", "TXT"), ("_dmarc", "TXT"), ("_mta-sts", "TXT"), ("mta-sts", "A"),
    ("autoconfig", "A"), ("_submission._tcp", "SRV"), ("_imaps._tcp", "SRV"),
)  # fmt: skip
FOREIGN_TXT = "foreign-site-verification=kept"


def site(tmp: Path, variables: dict[str, Any], *, ok: bool = True) -> subprocess.CompletedProcess[str]:
    """One run of site.yml with the lab inventory, VARIABLES overriding it."""
    vars_file = tmp / f"site-{uuid.uuid4().hex}.json"
    vars_file.write_text(json.dumps(variables))
    result = subprocess.run(
        [Path(sys.executable).parent / "ansible-playbook", "-i", REPO / "inventories" / "lab",
         REPO / "site.yml", "-e", f"@{vars_file}"],
        capture_output=True, text=True, timeout=1500, check=False, cwd=REPO,
        env={**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"},
    )  # fmt: skip
    if ok:
        assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    return result


def served(lab: Lab, name: str, rtype: str) -> list[str]:
    """What the lab's authoritative server gives for NAME/RTYPE, sorted."""
    query = dns.message.make_query(name, rtype)
    response = dns.query.udp(query, lab.addr("dns"), timeout=5)
    if response.rcode() == dns.rcode.NXDOMAIN:
        return []
    wanted = dns.rdatatype.from_text(rtype)
    return sorted(r.to_text() for rrset in response.answer if rrset.rdtype == wanted for r in rrset)


def snapshot(lab: Lab, domain: str) -> dict[str, list[str]]:
    """Every record of DOMAIN at the names Roost publishes at, DKIM selectors included."""
    names = [(f"{label}.{domain}" if label else domain, rtype) for label, rtype in NAMES]
    names += [(f"{row['selector']}._domainkey.{domain}", "TXT") for row in dkim_status(lab, domain)]
    return {f"{name} {rtype}": served(lab, name, rtype) for name, rtype in names}


def dkim_status(lab: Lab, *domains: str) -> list[dict[str, str]]:
    out = lab.ssh(f"/opt/roost/bin/roost dkim status --json {' '.join(domains)}").stdout
    return json.loads(out)


def certificate_names(lab: Lab) -> str:
    return lab.ssh("openssl x509 -noout -ext subjectAltName -in /etc/roost/tls/fullchain.pem").stdout


def add_by_hand(lab: Lab, domain: str, name: str, rtype: str, value: str) -> None:
    """A record the user added at DOMAIN behind the toolkit's back (RFC 2136, TSIG)."""
    key = lab.json("dns", "tsig")
    keyring = dns.tsigkeyring.from_text({key["name"]: key["secret"]})
    update = dns.update.UpdateMessage(
        domain, keyring=keyring, keyname=key["name"], keyalgorithm=key["algorithm"]
    )
    update.add(name, 600, rtype, value)
    assert dns.query.tcp(update, lab.addr("dns"), timeout=5).rcode() == dns.rcode.NOERROR


def password(lab: Lab, user: str) -> str:
    return (lab.state / "roost" / f"{user}.pass").read_text().split()[0]


def read_over_imap(lab: Lab, user: str, subject: str) -> str:
    """The newest message in USER's inbox with SUBJECT, over IMAPS as a mail client reads it."""
    return subprocess.run(
        [sys.executable, REPO / "scripts" / "imap-read", "--host", f"mail.{FIRST}",
         "--cafile", str(lab.state / "acme" / "pebble-root.pem"), "--user", user,
         "--subject", subject],
        check=True, capture_output=True, text=True, timeout=120,
        env={**os.environ, "ROOST_IMAP_PASSWORD": password(lab, user.partition("@")[0])},
    ).stdout  # fmt: skip


def mail_both_ways(lab: Lab) -> str:
    """friend@second.test writes to the peer (587, certificate verified) and gets a reply,
    read over IMAPS as a mail client reads it; the reply's subject."""
    token = uuid.uuid4().hex
    pebble_root = str(lab.state / "acme" / "pebble-root.pem")
    subprocess.run(
        ["swaks", "--server", f"mail.{FIRST}", "--port", "587", "--tls", "--tls-verify",
         "--tls-ca-path", pebble_root, "--auth", "PLAIN", "--auth-user", f"friend@{SECOND}",
         "--auth-password", password(lab, "friend"), "--from", f"friend@{SECOND}",
         "--to", "alice@peer.test", "--header", f"Subject: {token}", "--body", "second"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    received = wait_for_mail(lab, "alice", token, timeout=60)
    results = " ".join(
        " ".join(str(h).split())
        for h in received.get_all("Authentication-Results")
        if str(h).startswith("mx.peer.test")
    )
    for verdict in ("spf=pass", "dkim=pass", "dmarc=pass"):
        assert verdict in results, results
    assert f"header.d={SECOND}" in results or f"header.i=@{SECOND}" in results, results
    reply = f"Re: {token}"
    subprocess.run(
        [LAB_DIR / "bin" / "lab-exec", "peer", "swaks", "--server", "127.0.0.1",
         "--from", "alice@peer.test", "--to", f"hello@{SECOND}", "--header", f"Subject: {reply}"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    assert f"Subject: {reply}" in read_over_imap(lab, f"friend@{SECOND}", reply)
    return reply


def policy(lab: Lab, domain: str) -> str:
    context = ssl.create_default_context(cafile=str(lab.state / "acme" / "pebble-root.pem"))
    url = f"https://mta-sts.{domain}/.well-known/mta-sts.txt"
    with urllib.request.urlopen(url, context=context, timeout=10) as response:
        return response.read().decode()


# Eight runs of the whole site.yml (about a minute each on the lab, three when it is fresh).
@pytest.mark.timeout(2400)
def test_a_domain_added_then_removed_touches_nothing_else(lab: Lab, tmp_path: Path) -> None:
    alone = {"roost_domains": [{"name": FIRST}], "roost_users": [ME], "roost_aliases": []}
    site(tmp_path, alone)
    first = snapshot(lab, FIRST)
    assert first[f"{FIRST} MX"] == [f"10 mail.{FIRST}."]
    assert served(lab, SECOND, "MX") == []
    assert f"mta-sts.{SECOND}" not in certificate_names(lab)

    # Added: the lab inventory hosts both, with friend@second.test and hello@second.test.
    added = site(tmp_path, {})
    assert changed_count(added) > 0
    # The closing summary lists each domain's MTA-STS policy with its id and mode.
    for domain in (FIRST, SECOND):
        assert re.search(rf"{domain}: id [0-9a-z]+, mode: testing", added.stdout), added.stdout[-4000:]
    assert snapshot(lab, FIRST) == first  # nothing of example.test changed
    second = snapshot(lab, SECOND)
    assert second[f"{SECOND} MX"] == [f"10 mail.{FIRST}."]
    assert any("v=spf1" in v for v in second[f"{SECOND} TXT"])
    assert second[f"_dmarc.{SECOND} TXT"] and second[f"_mta-sts.{SECOND} TXT"]
    # (A lab where second.test was hosted before also lists that time's removed selectors.)
    selectors = [row["selector"] for row in dkim_status(lab, SECOND) if row["phase"] == "active"]
    assert len(selectors) == 2
    assert all(served(lab, f"{s}._domainkey.{SECOND}", "TXT") for s in selectors)
    assert f"mta-sts.{SECOND}" in certificate_names(lab)
    assert "mode: testing" in policy(lab, SECOND)
    assert lab.ssh("/opt/roost/bin/roost domain list").stdout.split() == [FIRST, SECOND]
    assert changed_count(site(tmp_path, {})) == 0
    reply = mail_both_ways(lab)

    # Marked absent while friend@second.test holds mail: refused, naming it; nothing goes.
    add_by_hand(lab, SECOND, "@", "TXT", f'"{FOREIGN_TXT}"')
    add_by_hand(lab, SECOND, "www", "A", "198.51.100.80")
    gone: dict[str, Any] = {"name": SECOND, "state": "absent"}
    without = {"roost_domains": [{"name": FIRST}, gone], "roost_users": [ME], "roost_aliases": []}
    refused = site(tmp_path, without, ok=False)
    output = " ".join((refused.stdout + refused.stderr).split())
    assert refused.returncode != 0
    assert f"friend@{SECOND}" in output and "mail: keep" in output, output[-3000:]
    assert served(lab, SECOND, "MX") == [f"10 mail.{FIRST}."]
    assert lab.ssh("/opt/roost/bin/roost domain list").stdout.split() == [FIRST, SECOND]

    # Told to keep the mail: second.test is no longer served (its records go) but friend's
    # mailbox stays, readable over IMAP, and the play says how to remove it for good.
    gone["mail"] = "keep"
    kept = site(tmp_path, without)
    output = " ".join((kept.stdout + kept.stderr).split())
    assert f"friend@{SECOND} is kept with its mail" in output, output[-3000:]
    assert served(lab, SECOND, "MX") == [] and served(lab, f"_dmarc.{SECOND}", "TXT") == []
    assert f"friend@{SECOND}" in lab.ssh("/opt/roost/bin/roost user list").stdout
    assert f"hello@{SECOND}" not in lab.ssh("/opt/roost/bin/roost alias list").stdout
    assert f"Subject: {reply}" in read_over_imap(lab, f"friend@{SECOND}", reply)

    # Told to delete the mail: only what Roost made for second.test goes.
    gone["mail"] = "delete"
    assert changed_count(site(tmp_path, without)) > 0
    assert snapshot(lab, FIRST) == first
    left = {k: v for k, v in snapshot(lab, SECOND).items() if v}
    assert left == {f"{SECOND} TXT": [f'"{FOREIGN_TXT}"']}, left
    assert served(lab, f"www.{SECOND}", "A") == ["198.51.100.80"]
    for selector in selectors:
        assert served(lab, f"{selector}._domainkey.{SECOND}", "TXT") == []
    assert {row["phase"] for row in dkim_status(lab, SECOND)} == {"removed"}
    assert lab.ssh("/opt/roost/bin/roost domain list").stdout.split() == [FIRST]
    assert f"friend@{SECOND}" not in lab.ssh("/opt/roost/bin/roost user list").stdout
    assert f"mta-sts.{SECOND}" not in certificate_names(lab)
    assert lab.ssh(f"test -e /var/www/roost/{SECOND}", check=False).returncode != 0
    assert SECOND not in lab.ssh("cat /etc/nginx/conf.d/roost-mail.conf").stdout
    assert changed_count(site(tmp_path, without)) == 0
