"""What mail clients are told when they look up a domain's settings: Thunderbird's
autoconfig (draft-ietf-mailmaint-autoconfig, ``config-v1.1.xml``) and Outlook's POX
autodiscover (the ``outlook/responseschema/2006a`` response).

Both name the mail host and the TLS-from-the-first-byte ports: IMAP on 993 and submission
on 465 (RFC 8314 §3: implicit TLS is preferred to STARTTLS); Thunderbird also learns 587
with STARTTLS as a second choice. The user name is the full address, as Roost logs in
users by address. The documents are the same for every user of a domain, so they can be
served as static text.
"""

from __future__ import annotations

import re
from xml.sax.saxutils import escape

_HOST = re.compile(r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}")

AUTODISCOVER_NS = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"
OUTLOOK_NS = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"


class AutoconfigError(ValueError):
    """A name that cannot go into the documents (they would point clients nowhere)."""


def _name(value: str, what: str) -> str:
    name = value.strip().rstrip(".").lower()
    if not _HOST.fullmatch(name):
        raise AutoconfigError(f"{what} {value!r} is not a domain name like mail.example.org")
    return name


def thunderbird(domain: str, mail_host: str) -> str:
    """``config-v1.1.xml`` for DOMAIN, served at ``https://autoconfig.<domain>/mail/``."""
    domain = escape(_name(domain, "domain"))
    host = escape(_name(mail_host, "mail host"))
    return f"""\
<?xml version="1.0" encoding="UTF-8"?>
<clientConfig version="1.1">
  <emailProvider id="{domain}">
    <domain>{domain}</domain>
    <displayName>{domain}</displayName>
    <displayShortName>{domain}</displayShortName>
    <incomingServer type="imap">
      <hostname>{host}</hostname>
      <port>993</port>
      <socketType>SSL</socketType>
      <authentication>password-cleartext</authentication>
      <username>%EMAILADDRESS%</username>
    </incomingServer>
    <outgoingServer type="smtp">
      <hostname>{host}</hostname>
      <port>465</port>
      <socketType>SSL</socketType>
      <authentication>password-cleartext</authentication>
      <username>%EMAILADDRESS%</username>
    </outgoingServer>
    <outgoingServer type="smtp">
      <hostname>{host}</hostname>
      <port>587</port>
      <socketType>STARTTLS</socketType>
      <authentication>password-cleartext</authentication>
      <username>%EMAILADDRESS%</username>
    </outgoingServer>
  </emailProvider>
</clientConfig>
"""


def outlook(mail_host: str) -> str:
    """The POX autodiscover response: IMAP 993 and SMTP 465, both ``SSL on``.

    No ``LoginName``: Outlook then uses the address the user typed, which is the login.
    """
    host = escape(_name(mail_host, "mail host"))
    protocols = "".join(
        f"""\
      <Protocol>
        <Type>{kind}</Type>
        <Server>{host}</Server>
        <Port>{port}</Port>
        <DomainRequired>off</DomainRequired>
        <SPA>off</SPA>
        <SSL>on</SSL>
        <AuthRequired>on</AuthRequired>
      </Protocol>
"""
        for kind, port in (("IMAP", 993), ("SMTP", 465))
    )
    return f"""\
<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="{AUTODISCOVER_NS}">
  <Response xmlns="{OUTLOOK_NS}">
    <Account>
      <AccountType>email</AccountType>
      <Action>settings</Action>
{protocols}    </Account>
  </Response>
</Autodiscover>
"""
