"""Client discovery documents, parsed back as a client would read them."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from roost.autoconfig import AUTODISCOVER_NS, OUTLOOK_NS, AutoconfigError, outlook, thunderbird


def test_thunderbird_config_names_the_host_and_tls_ports() -> None:
    root = ET.fromstring(thunderbird("Example.test", "mail.example.test."))
    assert root.tag == "clientConfig" and root.get("version") == "1.1"
    provider = root.find("emailProvider")
    assert provider is not None and provider.get("id") == "example.test"
    assert provider.findtext("domain") == "example.test"
    servers = [
        (
            server.tag,
            server.get("type"),
            server.findtext("hostname"),
            server.findtext("port"),
            server.findtext("socketType"),
            server.findtext("username"),
        )
        for server in provider
        if server.tag.endswith("Server")
    ]
    assert servers == [
        ("incomingServer", "imap", "mail.example.test", "993", "SSL", "%EMAILADDRESS%"),
        ("outgoingServer", "smtp", "mail.example.test", "465", "SSL", "%EMAILADDRESS%"),
        ("outgoingServer", "smtp", "mail.example.test", "587", "STARTTLS", "%EMAILADDRESS%"),
    ]


def test_outlook_response_uses_the_2006a_schema() -> None:
    root = ET.fromstring(outlook("mail.example.test"))
    ns = {"a": AUTODISCOVER_NS, "o": OUTLOOK_NS}
    assert root.tag == f"{{{AUTODISCOVER_NS}}}Autodiscover"
    account = root.find("o:Response/o:Account", ns)
    assert account is not None
    assert account.findtext("o:AccountType", namespaces=ns) == "email"
    assert account.findtext("o:Action", namespaces=ns) == "settings"
    protocols = [
        tuple(p.findtext(f"o:{k}", namespaces=ns) for k in ("Type", "Server", "Port", "SSL"))
        for p in account.findall("o:Protocol", ns)
    ]
    assert protocols == [
        ("IMAP", "mail.example.test", "993", "on"),
        ("SMTP", "mail.example.test", "465", "on"),
    ]


@pytest.mark.parametrize("bad", ["", "localhost", "mail.example.test<x>", "a b.test"])
def test_names_that_are_not_domains_are_refused(bad: str) -> None:
    with pytest.raises(AutoconfigError, match="is not a domain name"):
        thunderbird(bad, "mail.example.test")
    with pytest.raises(AutoconfigError, match="mail host"):
        outlook(bad)
