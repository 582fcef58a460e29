"""DNS providers: one small module per hosting service behind one Protocol.

``open_provider(name, options)`` builds the provider the inventory names
(``roost_dns_provider``) from its credentials (``roost_dns_credentials``).
Adding a service is one file with a class implementing ``Provider`` and one line
in ``PROVIDERS``; the provider's third-party library is imported only when that
provider is used.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from roost.dnsprovider.base import (
    DEFAULT_TTL,
    CredentialsError,
    DNSProviderError,
    InvalidRecordError,
    PropagationError,
    Provider,
    Record,
    RefusedError,
    ThrottledError,
    UnreachableError,
    ZoneNotHostedError,
    normalize_name,
    public_option_values,
    relative_name,
    zone_of,
)
from roost.dnsprovider.propagation import wait_for_propagation

#: Provider name (the value of ``roost_dns_provider``) -> ("module:class", pip package).
PROVIDERS = {
    "lexicon": ("roost.dnsprovider.lexicon:LexiconDNSProvider", "roost[lexicon]"),
    "rfc2136": ("roost.dnsprovider.rfc2136:RFC2136Provider", "dnspython"),
    "tencentcloud": (
        "roost.dnsprovider.tencentcloud:TencentCloudProvider",
        "tencentcloud-sdk-python-dnspod",
    ),
}


def open_provider(name: str, options: Mapping[str, Any]) -> Provider:
    """The provider NAME configured from OPTIONS (the ``roost_dns_credentials`` dict).

    Raises DNSProviderError naming ``roost_dns_provider`` for an unknown name and
    CredentialsError naming the missing or malformed option otherwise.
    """
    if name not in PROVIDERS:
        raise DNSProviderError(
            f"unknown DNS provider {name!r}",
            f"set roost_dns_provider to one of: {', '.join(sorted(PROVIDERS))}",
        )
    target, package = PROVIDERS[name]
    module_name, class_name = target.split(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise DNSProviderError(
            f"the {name} DNS provider needs the Python package {package} ({exc.name} is missing)",
            f"install it where Roost runs: pip install {package}",
        ) from exc
    provider: Provider = getattr(module, class_name).from_options(options)
    return provider


__all__ = [
    "DEFAULT_TTL",
    "PROVIDERS",
    "CredentialsError",
    "DNSProviderError",
    "InvalidRecordError",
    "PropagationError",
    "Provider",
    "Record",
    "RefusedError",
    "ThrottledError",
    "UnreachableError",
    "ZoneNotHostedError",
    "normalize_name",
    "open_provider",
    "public_option_values",
    "relative_name",
    "wait_for_propagation",
    "zone_of",
]
