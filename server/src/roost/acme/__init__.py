"""Certificates through ACME (RFC 8555) DNS-01, for the mail host and each domain's web names.

One certificate covers every name Roost serves over TLS (the mail host, ``mta-sts.<d>``,
``autoconfig.<d>``, ``autodiscover.<d>``): one order, one renewal schedule, one file pair that
Roost and nginx both read. The same code runs from ``roost cert renew`` (the VPS's timer) and
from the ``roost_certificate`` Ansible module.

- ``settings``: the renewal settings (``/etc/roost/acme.json``) and the names they imply.
- ``certfiles``: the installed certificate, read and written atomically.
- ``state``: what the last runs learnt (failures to back off from, the CA's ARI window).
- ``due``: whether a renewal is due, decided from the above without the CA where possible.
- ``account``: the ACME account key and the client that signs with it.
- ``dns01``: challenge TXT records published, awaited on every server, always removed.
- ``renew``: the one entry point both doors call.
"""
