"""Pebble: its ACME directory over HTTPS (lab CA), its issuing root published."""

from __future__ import annotations

import json
import ssl
import urllib.request
from pathlib import Path

from cryptography import x509

from conftest import Lab


def fetch(lab: Lab, url: str) -> bytes:
    context = ssl.create_default_context(cafile=lab.ca)
    with urllib.request.urlopen(url, context=context, timeout=10) as response:
        return response.read()


def test_directory_over_https(lab: Lab) -> None:
    directory = json.loads(fetch(lab, lab.facts["acme"]["directory"]))
    assert {"newNonce", "newAccount", "newOrder"} <= directory.keys()
    assert directory["newOrder"].startswith("https://acme.lab.test/")


def test_published_root_is_pebbles_current_root(lab: Lab) -> None:
    published = Path(lab.facts["acme"]["root"]).read_bytes()
    live = fetch(lab, lab.facts["acme"]["management"] + "/roots/0")
    assert published == live
    root = x509.load_pem_x509_certificate(published)
    assert root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_vps_trusts_the_lab_roots_once_ca_certificates_runs(lab: Lab) -> None:
    """Both roots sit where Debian's update-ca-certificates collects them."""
    listing = lab.ssh("ls /usr/local/share/ca-certificates/").stdout.split()
    assert {"roost-lab-ca.crt", "roost-lab-pebble-root.crt"} <= set(listing)
