"""The mta_sts role on the lab VPS: nginx serves each domain's MTA-STS policy over a
certificate from the lab CA, autoconfig and autodiscover answer, and the _mta-sts TXT
(published through RFC 2136 to the lab's Knot) carries the id of the policy being served."""

from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import dns.resolver
import pytest
from roleplay import changed_count, prepare_vps, run_role
from roost.autoconfig import OUTLOOK_NS
from roost.mtasts.policy import parse_policy, parse_record
from roost.mtasts.publish import render

from conftest import Lab
from roostlab import ca

DOMAINS = ["example.test", "second.test"]


@pytest.fixture(scope="module")
def served(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The VPS with a lab-CA certificate for every name the site serves (standing in for the
    certificates role), after one run of the role."""
    tmp = tmp_path_factory.mktemp("mta_sts")
    prepare_vps(lab)
    shutil.copy(lab.state / "ca" / "ca.key", tmp / "ca.key")
    shutil.copy(lab.state / "ca" / "ca.crt", tmp / "ca.crt")
    names = [f"{p}.{d}" for d in DOMAINS for p in ("mta-sts", "autoconfig", "autodiscover")]
    ca.issue(tmp, "site", ["mail.example.test", *names])
    lab.ssh("cat > /etc/roost/tls/fullchain.pem", stdin=(tmp / "site.crt").read_text())
    lab.ssh(
        "umask 077; cat > /etc/roost/tls/privkey.pem; chgrp roost /etc/roost/tls/privkey.pem",
        stdin=(tmp / "site.key").read_text(),
    )
    yield tmp


def role_vars(lab: Lab, second_mode: str = "enforce") -> dict[str, object]:
    tsig = lab.json("dns", "tsig")
    return {
        "roost_hostname": "mail.example.test",
        "roost_domains": [{"name": "example.test"}, {"name": "second.test", "mta_sts_mode": second_mode}],
        "roost_dns_provider": "rfc2136",
        "roost_dns_credentials": {
            "server": tsig["server"],
            "port": tsig["port"],
            "tsig_name": tsig["name"],
            "tsig_algorithm": tsig["algorithm"],
            "tsig_secret": tsig["secret"],
        },
    }


def fetch(lab: Lab, url: str, *curl_args: str) -> subprocess.CompletedProcess[str]:
    """curl from the controller to the VPS (the names are not in DNS: --resolve), verifying
    the certificate against the lab CA only, following no redirect."""
    host = url.split("/")[2]
    port = "443" if url.startswith("https:") else "80"
    return subprocess.run(
        [
            "curl", "-sS", "--max-time", "20", "--cacert", lab.ca,
            "--resolve", f"{host}:{port}:{lab.addr('vps')}",
            "-o", "-", "-w", "\n%{http_code}|%{content_type}|%{redirect_url}", *curl_args, url,
        ],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip


def body_and_status(result: subprocess.CompletedProcess[str]) -> tuple[str, list[str]]:
    body, _, status = result.stdout.rpartition("\n")
    return body, status.split("|")


def txt(lab: Lab, name: str) -> list[str]:
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = [lab.addr("dns")]
    return [b"".join(r.strings).decode() for r in resolver.resolve(name, "TXT")]


def test_first_run_serves_and_publishes_then_converges(lab: Lab, served: Path) -> None:
    first = run_role(lab, "mta_sts", role_vars(lab), served)
    assert first.returncode == 0, first.stdout + first.stderr
    again = run_role(lab, "mta_sts", role_vars(lab), served)
    assert again.returncode == 0, again.stdout + again.stderr
    assert changed_count(again) == 0, again.stdout


def served_policy(lab: Lab, domain: str) -> str:
    body, (code, content_type, redirect) = body_and_status(
        fetch(lab, f"https://mta-sts.{domain}/.well-known/mta-sts.txt")
    )
    assert (code, content_type, redirect) == ("200", "text/plain", ""), body
    return body


def published_id(lab: Lab, domain: str) -> str:
    (record,) = [t for t in txt(lab, f"_mta-sts.{domain}") if t.startswith("v=STSv1")]
    return parse_record(record)


@pytest.mark.parametrize(("domain", "mode"), [("example.test", "testing"), ("second.test", "enforce")])
def test_policy_served_over_verified_tls_with_its_id_in_dns(
    lab: Lab, served: Path, domain: str, mode: str
) -> None:
    policy = parse_policy(served_policy(lab, domain))
    assert (policy.mode, policy.mx, policy.max_age) == (mode, ("mail.example.test",), 604800)
    assert published_id(lab, domain) == render(domain, mode, ["mail.example.test"], 604800).id


def test_autoconfig_answers_on_both_paths_and_over_http(lab: Lab, served: Path) -> None:
    urls = [
        "https://autoconfig.example.test/mail/config-v1.1.xml",
        "https://autoconfig.example.test/.well-known/autoconfig/mail/config-v1.1.xml",
        "http://autoconfig.example.test/mail/config-v1.1.xml",
    ]
    for url in urls:
        body, (code, content_type, _) = body_and_status(fetch(lab, url))
        assert (code, content_type) == ("200", "text/xml; charset=utf-8"), url
        provider = ET.fromstring(body).find("emailProvider")
        assert provider is not None and provider.findtext("domain") == "example.test"
        assert provider.findtext("incomingServer/hostname") == "mail.example.test"


def test_plain_http_redirects_everything_else_to_https(lab: Lab, served: Path) -> None:
    _, (code, _, redirect) = body_and_status(
        fetch(lab, "http://mta-sts.example.test/.well-known/mta-sts.txt")
    )
    assert (code, redirect) == ("301", "https://mta-sts.example.test/.well-known/mta-sts.txt")


@pytest.mark.parametrize("path", ["/autodiscover/autodiscover.xml", "/AutoDiscover/AutoDiscover.xml"])
def test_outlook_autodiscover_answers_a_post(lab: Lab, served: Path, path: str) -> None:
    request = (
        '<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="http://schemas.microsoft.com/'
        'exchange/autodiscover/outlook/requestschema/2006"><Request><EMailAddress>me@second.test'
        "</EMailAddress><AcceptableResponseSchema>http://schemas.microsoft.com/exchange/"
        "autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema></Request></Autodiscover>"
    )
    body, (code, _, _) = body_and_status(
        fetch(lab, f"https://autodiscover.second.test{path}", "-X", "POST",
              "-H", "Content-Type: text/xml", "--data-binary", request)
    )  # fmt: skip
    assert code == "200"
    ns = {"o": OUTLOOK_NS}
    protocols = ET.fromstring(body).findall("o:Response/o:Account/o:Protocol", ns)
    assert [(p.findtext("o:Type", namespaces=ns), p.findtext("o:Port", namespaces=ns),
             p.findtext("o:SSL", namespaces=ns)) for p in protocols] == [
        ("IMAP", "993", "on"), ("SMTP", "465", "on")]  # fmt: skip


def test_a_policy_change_gets_a_new_id_served_and_published(lab: Lab, served: Path) -> None:
    before = published_id(lab, "second.test")
    result = run_role(lab, "mta_sts", role_vars(lab, second_mode="testing"), served)
    assert result.returncode == 0, result.stdout + result.stderr
    assert parse_policy(served_policy(lab, "second.test")).mode == "testing"
    after = published_id(lab, "second.test")
    assert after != before
    assert after == render("second.test", "testing", ["mail.example.test"], 604800).id
    assert (
        published_id(lab, "example.test")
        == render("example.test", "testing", ["mail.example.test"], 604800).id
    )


def test_a_missing_certificate_is_noted_in_check_mode_and_stops_a_real_run(lab: Lab, served: Path) -> None:
    missing = {**role_vars(lab, second_mode="testing"), "mta_sts_tls_cert": "/etc/roost/tls/none.pem"}
    checked = run_role(lab, "mta_sts", missing, served, "--check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "/etc/roost/tls/none.pem does not exist yet" in checked.stdout
    real = run_role(lab, "mta_sts", missing, served)
    assert real.returncode != 0
    assert "the certificates role issues it" in real.stdout
    assert parse_policy(served_policy(lab, "example.test")).mode == "testing"


def test_check_mode_on_the_converged_vps_changes_nothing(lab: Lab, served: Path) -> None:
    result = run_role(lab, "mta_sts", role_vars(lab, second_mode="testing"), served, "--check", "--diff")
    assert result.returncode == 0, result.stdout + result.stderr
    assert changed_count(result) == 0, result.stdout
