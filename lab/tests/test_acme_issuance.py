"""A certificate end to end: ACME order at Pebble, the DNS-01 TXT record published
through the DNSPod stand-in (so into Knot), Pebble validating it against Knot."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import josepy as jose
import pytest
from acme import challenges, client, crypto_util, messages
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from tencentcloud.common import credential
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.dnspod.v20210323 import dnspod_client, models

from conftest import Lab


def dnspod(lab: Lab) -> dnspod_client.DnspodClient:
    creds = lab.json("dnspod", "credentials")
    http = HttpProfile(endpoint=creds["Endpoint"], certification=lab.ca)
    return dnspod_client.DnspodClient(
        credential.Credential(creds["SecretId"], creds["SecretKey"]), "", ClientProfile(httpProfile=http)
    )


def publish_txt(lab: Lab, name: str, value: str) -> int:
    req = models.CreateRecordRequest()
    req.Domain, req.SubDomain, req.RecordType, req.RecordLine, req.Value, req.TTL = (
        "example.test",
        name.removesuffix(".example.test"),
        "TXT",
        "默认",
        value,
        60,
    )
    return dnspod(lab).CreateRecord(req).RecordId


def delete_record(lab: Lab, record_id: int) -> None:
    req = models.DeleteRecordRequest()
    req.Domain, req.RecordId = "example.test", record_id
    dnspod(lab).DeleteRecord(req)


def test_dns01_certificate_through_dnspod_and_pebble(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", lab.ca)  # Pebble's API has a lab-CA certificate
    domain = f"mail-{uuid.uuid4().hex[:8]}.example.test"

    account_key = jose.JWKRSA(key=rsa.generate_private_key(public_exponent=65537, key_size=2048))
    net = client.ClientNetwork(account_key, user_agent="roost-lab-tests")
    acme = client.ClientV2(client.ClientV2.get_directory(lab.facts["acme"]["directory"], net), net)
    acme.new_account(messages.NewRegistration.from_data(terms_of_service_agreed=True))

    cert_key = ec.generate_private_key(ec.SECP256R1())
    key_pem = cert_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    order = acme.new_order(crypto_util.make_csr(key_pem, [domain]))

    published = []
    try:
        for authz in order.authorizations:
            [dns01] = [c for c in authz.body.challenges if isinstance(c.chall, challenges.DNS01)]
            name = dns01.chall.validation_domain_name(authz.body.identifier.value)
            published.append(publish_txt(lab, name, dns01.chall.validation(account_key)))
            acme.answer_challenge(dns01, dns01.chall.response(account_key))
        deadline = dt.datetime.now() + dt.timedelta(seconds=60)
        order = acme.poll_and_finalize(order, deadline)
    finally:
        for record_id in published:
            delete_record(lab, record_id)

    chain = x509.load_pem_x509_certificates(order.fullchain_pem.encode())
    leaf, intermediate = chain[0], chain[1]
    assert leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
        x509.DNSName
    ) == [domain]
    leaf.verify_directly_issued_by(intermediate)
    root = x509.load_pem_x509_certificate(Path(lab.facts["acme"]["root"]).read_bytes())
    intermediate.verify_directly_issued_by(root)
