"""roost.acme against the lab: Pebble issues one certificate for the names of two domains,
its DNS-01 records published through each DNS provider (RFC 2136 with the lab's TSIG key,
and the DNSPod stand-in), and every challenge record is gone afterwards, failed or not."""

from __future__ import annotations

import base64
import grp
import json
import os
import subprocess
import uuid
from pathlib import Path
from typing import Any

import dns.message
import dns.query
import dns.rdatatype
import pytest
from cryptography import x509
from roost.acme import renew, settings
from roost.acme.errors import BackingOffError, ValidationFailedError
from roost.dnsprovider import Record, open_provider, wait_for_propagation

from conftest import LAB_DIR, Lab

ROOST = LAB_DIR.parent / ".venv" / "bin" / "roost"
HOST = "mail.example.test"
DOMAINS = ["example.test", "second.test"]


def credentials(lab: Lab, provider: str, **changes: Any) -> dict[str, Any]:
    if provider == "rfc2136":
        tsig = lab.json("dns", "tsig")
        creds = {
            "server": lab.addr("dns"),
            "tsig_name": tsig["name"],
            "tsig_algorithm": tsig["algorithm"],
            "tsig_secret": tsig["secret"],
        }
    else:
        api = lab.json("dnspod", "credentials")
        creds = {
            "secret_id": api["SecretId"],
            "secret_key": api["SecretKey"],
            "endpoint": api["Endpoint"],
            "ca_file": lab.ca,
        }
    return {**creds, **changes}


def write_settings(lab: Lab, tmp: Path, provider: str, hostname: str = HOST, **changes: Any) -> Path:
    data = {
        "directory": lab.facts["acme"]["directory"],
        "email": "postmaster@example.test",
        "ca_file": lab.ca,
        "dns": {"provider": provider, "credentials": credentials(lab, provider)},
        "hostname": hostname,
        "domains": DOMAINS,
        "account_key": str(tmp / "acme" / "account.key"),
        "state_file": str(tmp / "acme" / "state.json"),
        "tls_dir": str(tmp / "tls"),
        "tls_group": grp.getgrgid(os.getgid()).gr_name,
        "reload": [],
        "propagation_timeout": 120,
        "validation_timeout": 120,
    }
    data.update(changes)
    path = tmp / "acme.json"
    path.write_text(json.dumps(data))
    return path


def roost_cert(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ROOST), "cert", *args], capture_output=True, text=True, timeout=600, check=False
    )


def pebble_requests(lab: Lab) -> int:
    """Requests Pebble has logged so far (one 'calling handler' line each)."""
    return (lab.state / "logs" / "acme.log").read_text().count("-> calling handler")


def challenge_records(lab: Lab, names: list[str]) -> dict[str, list[str]]:
    """TXT records at each name's _acme-challenge, as the authoritative server serves them."""
    found = {}
    for name in names:
        query = dns.message.make_query(f"_acme-challenge.{name}.", dns.rdatatype.TXT)
        response = dns.query.udp(query, lab.addr("dns"), timeout=5)
        values = [str(rr) for rrset in response.answer for rr in rrset]
        if values:
            found[name] = values
    return found


def leaf_and_chain(path: Path) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(path.read_bytes())


@pytest.mark.parametrize("provider", ["rfc2136", "tencentcloud"])
def test_issue_keep_and_force_renew(lab: Lab, tmp_path: Path, provider: str) -> None:
    path = write_settings(lab, tmp_path, provider)
    names = settings.load(path).names
    assert roost_cert("status", "--settings", str(path)).returncode == 3  # nothing installed

    first = roost_cert("renew", "--settings", str(path), "--no-reload")
    assert first.returncode == 0, first.stderr
    assert "certificate issued" in first.stdout
    leaf, *chain = leaf_and_chain(tmp_path / "tls" / "fullchain.pem")
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sorted(san.get_values_for_type(x509.DNSName)) == sorted(names)
    leaf.verify_directly_issued_by(chain[0])
    root = x509.load_pem_x509_certificate(Path(lab.facts["acme"]["root"]).read_bytes())
    chain[-1].verify_directly_issued_by(root)
    assert challenge_records(lab, names) == {}
    account_key = tmp_path / "acme" / "account.key"
    assert account_key.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "tls" / "privkey.pem").stat().st_mode & 0o777 == 0o640

    before = pebble_requests(lab)
    second = roost_cert("renew", "--settings", str(path), "--no-reload")
    assert second.returncode == 0, second.stderr
    assert "certificate not due" in second.stdout
    assert pebble_requests(lab) == before  # not due: the CA was not contacted at all
    assert roost_cert("status", "--settings", str(path)).returncode == 0

    key_before = account_key.read_bytes()
    forced = roost_cert("renew", "--settings", str(path), "--no-reload", "--force")
    assert forced.returncode == 0, forced.stderr
    assert "renewal forced" in forced.stdout
    renewed = leaf_and_chain(tmp_path / "tls" / "fullchain.pem")[0]
    assert renewed.serial_number != leaf.serial_number
    assert account_key.read_bytes() == key_before  # the same account, reused
    assert challenge_records(lab, names) == {}


class WrongValues:
    """A provider that publishes a wrong TXT value, so the CA's validation fails for real."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = inner.name

    def _wrong(self, record: Record) -> Record:
        return Record.make(record.name, record.type, "wrong-" + record.value, record.ttl)

    def create(self, zone: str, record: Record) -> None:
        self.inner.create(zone, self._wrong(record))

    def delete(self, zone: str, record: Record) -> None:
        self.inner.delete(zone, self._wrong(record))

    def records(self, *args: Any) -> list[Record]:
        return self.inner.records(*args)

    def nameservers(self, zone: str) -> list[str]:
        return self.inner.nameservers(zone)


def wait_for_wrong(zone: str, name: str, rtype: str, values: list[str], **kwargs: Any) -> list[str]:
    return wait_for_propagation(zone, name, rtype, ["wrong-" + v for v in values], **kwargs)


@pytest.mark.parametrize("provider", ["rfc2136", "tencentcloud"])
def test_failed_validation_removes_the_records_and_backs_off(lab: Lab, tmp_path: Path, provider: str) -> None:
    host = f"h{uuid.uuid4().hex[:10]}.example.test"  # never validated: no authorization reuse
    config = settings.load(write_settings(lab, tmp_path, provider, hostname=host))
    wrong = WrongValues(open_provider(provider, config.dns_credentials))
    with pytest.raises(ValidationFailedError) as failed:
        renew.run(config, provider=wrong, wait=wait_for_wrong)
    message = str(failed.value)
    assert any(f"could not validate {name}: the CA said" in message for name in config.names)
    assert "Correct value not found for DNS challenge" in message  # Pebble's own words
    assert "roost_dns_provider" in str(failed.value)
    assert challenge_records(lab, config.names) == {}
    assert not (tmp_path / "tls" / "fullchain.pem").exists()

    before = pebble_requests(lab)
    with pytest.raises(BackingOffError, match="next attempt after"):
        renew.run(config)
    assert pebble_requests(lab) == before


def test_unreachable_directory_names_the_variable(lab: Lab, tmp_path: Path) -> None:
    path = write_settings(lab, tmp_path, "rfc2136", directory="https://acme.lab.test:1/dir")
    done = roost_cert("renew", "--settings", str(path), "--no-reload")
    assert done.returncode == 1
    assert "the ACME CA at https://acme.lab.test:1/dir is unreachable" in done.stderr
    assert "check roost_acme_directory" in done.stderr


@pytest.mark.parametrize(
    ("provider", "bad"),
    [("rfc2136", {"tsig_secret": "d3Jvbmcgc2VjcmV0"}), ("tencentcloud", {"secret_key": "wrong"})],
)
def test_dns_refusal_names_the_credentials(
    lab: Lab, tmp_path: Path, provider: str, bad: dict[str, str]
) -> None:
    host = f"h{uuid.uuid4().hex[:10]}.example.test"
    dns_settings = {"provider": provider, "credentials": credentials(lab, provider, **bad)}
    path = write_settings(lab, tmp_path, provider, hostname=host, dns=dns_settings)
    done = roost_cert("renew", "--settings", str(path), "--no-reload")
    assert done.returncode == 1
    assert "roost_dns_credentials" in done.stderr
    assert challenge_records(lab, [host]) == {}


def test_a_ca_that_requires_external_account_binding(lab: Lab, tmp_path: Path) -> None:
    """ZeroSSL's shape, on the lab's second Pebble: no account without EAB (RFC 8555 §7.3.4);
    a wrong key is refused naming roost_acme_eab; the right one gets the certificate."""
    eab = json.loads(Path(lab.facts["acme"]["eab"]).read_text())
    host = f"h{uuid.uuid4().hex[:10]}.example.test"

    def renew_with(**changes: Any) -> subprocess.CompletedProcess[str]:
        path = write_settings(lab, tmp_path, "rfc2136", hostname=host, directory=eab["directory"], **changes)
        return roost_cert("renew", "--settings", str(path), "--no-reload")

    without = renew_with()
    assert without.returncode == 1
    assert "requires External Account Binding" in without.stderr
    assert "set roost_acme_eab" in without.stderr

    wrong_key = base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
    wrong = renew_with(eab={"kid": eab["kid"], "hmac_key": wrong_key})
    assert wrong.returncode == 1
    assert "roost_acme_eab" in wrong.stderr, wrong.stderr
    unknown = renew_with(eab={"kid": "no-such-kid", "hmac_key": eab["hmac_key"]})
    assert unknown.returncode == 1
    assert "roost_acme_eab" in unknown.stderr, unknown.stderr
    assert not (tmp_path / "tls" / "fullchain.pem").exists()
    assert challenge_records(lab, [host]) == {}

    issued = renew_with(eab={"kid": eab["kid"], "hmac_key": eab["hmac_key"]})
    assert issued.returncode == 0, issued.stderr
    assert "certificate issued" in issued.stdout
    leaf = leaf_and_chain(tmp_path / "tls" / "fullchain.pem")[0]
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert host in san.get_values_for_type(x509.DNSName)
    assert challenge_records(lab, [host]) == {}
