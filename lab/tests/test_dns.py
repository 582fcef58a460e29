"""The lab DNS (Knot): authoritative for the lab zones, RFC 2136 updates with TSIG only."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.tsigkeyring
import dns.update
import pytest

from conftest import Lab


def ask(lab: Lab, name: str, rdtype: str) -> dns.message.Message:
    return dns.query.udp(dns.message.make_query(name, rdtype), lab.addr("dns"), timeout=3)


def tsig_keyring(lab: Lab) -> tuple[dict, str, str]:
    key = json.loads(Path(lab.facts["dns"]["tsig"]).read_text())
    return dns.tsigkeyring.from_text({key["name"]: key["secret"]}), key["name"], key["algorithm"]


@pytest.mark.parametrize("zone", ["example.test", "second.test", "peer.test", "lab.test"])
def test_zones_answered_authoritatively(lab: Lab, zone: str) -> None:
    answer = ask(lab, zone, "SOA")
    assert answer.rcode() == dns.rcode.NOERROR
    assert answer.flags & dns.flags.AA
    assert answer.answer[0][0].mname.to_text() == "ns.lab.test."


def test_infrastructure_names_resolve(lab: Lab) -> None:
    for name, part in [
        ("dnspod", "dnspod"),
        ("acme", "acme"),
        ("mirror", "mirror"),
        ("relay", "relay"),
        ("vps", "vps"),
    ]:
        answer = ask(lab, f"{name}.lab.test", "A")
        assert answer.answer[0][0].address == lab.addr(part)


def test_peer_domain_publishes_mail_authentication(lab: Lab) -> None:
    assert ask(lab, "peer.test", "MX").answer[0][0].exchange.to_text() == "mx.peer.test."
    spf = b"".join(ask(lab, "peer.test", "TXT").answer[0][0].strings)
    assert spf == f"v=spf1 ip4:{lab.addr('peer')} -all".encode()
    assert b"".join(ask(lab, "_dmarc.peer.test", "TXT").answer[0][0].strings).startswith(b"v=DMARC1")
    assert b"".join(ask(lab, "lab._domainkey.peer.test", "TXT").answer[0][0].strings).startswith(b"v=DKIM1")


def test_reverse_dns_of_the_vps(lab: Lab) -> None:
    answer = ask(lab, "10.100.51.198.in-addr.arpa", "PTR")
    assert answer.answer[0][0].target.to_text() == "vps.lab.test."


def test_rfc2136_update_signed_with_tsig_is_applied(lab: Lab) -> None:
    keyring, name, alg = tsig_keyring(lab)
    token = uuid.uuid4().hex
    update = dns.update.UpdateMessage("second.test", keyring=keyring, keyname=name, keyalgorithm=alg)
    update.replace("_rfc2136-test", 60, "TXT", f'"{token}"')
    assert dns.query.tcp(update, lab.addr("dns"), timeout=5).rcode() == dns.rcode.NOERROR
    assert ask(lab, "_rfc2136-test.second.test", "TXT").answer[0][0].strings == (token.encode(),)

    update = dns.update.UpdateMessage("second.test", keyring=keyring, keyname=name, keyalgorithm=alg)
    update.delete("_rfc2136-test", "TXT")
    assert dns.query.tcp(update, lab.addr("dns"), timeout=5).rcode() == dns.rcode.NOERROR
    assert ask(lab, "_rfc2136-test.second.test", "TXT").rcode() == dns.rcode.NXDOMAIN


def test_rfc2136_update_without_the_key_is_refused(lab: Lab) -> None:
    unsigned = dns.update.UpdateMessage("second.test")
    unsigned.replace("intruder", 60, "A", "192.0.2.66")
    assert dns.query.tcp(unsigned, lab.addr("dns"), timeout=5).rcode() in (
        dns.rcode.REFUSED,
        dns.rcode.NOTAUTH,
    )

    wrong = dns.tsigkeyring.from_text({"roost-lab": "d3JvbmcgayBlIHkgd3JvbmcgayBlIHkgd3Jvbmc="})
    forged = dns.update.UpdateMessage(
        "second.test", keyring=wrong, keyname="roost-lab", keyalgorithm="hmac-sha256"
    )
    forged.replace("intruder", 60, "A", "192.0.2.66")
    with pytest.raises(dns.tsig.PeerBadSignature):
        dns.query.tcp(forged, lab.addr("dns"), timeout=5)
    assert ask(lab, "intruder.second.test", "A").rcode() == dns.rcode.NXDOMAIN
