"""The renewal settings: ``/etc/roost/acme.json`` on the VPS, or the module's arguments.

The Ansible role writes the file from inventory and the module receives the same mapping, so
both doors parse it here. Every error names the inventory variable the value came from.
The file holds DNS credentials and the EAB key: it is 0600 root (written by the role).

One certificate carries every name (mail host first, then ``mta-sts``, ``autoconfig`` and
``autodiscover`` of each domain): one order and one renewal per run, and within the 100-name
limit of Let's Encrypt and ZeroSSL up to 33 domains.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from roost.acme.errors import SettingsError

DEFAULT_PATH = Path("/etc/roost/acme.json")
#: Web names each domain gets on the certificate (MTA-STS RFC 8461 §3.3, client autoconfig).
DOMAIN_PREFIXES = ("mta-sts", "autoconfig", "autodiscover")
#: Let's Encrypt and ZeroSSL accept at most 100 names per certificate.
MAX_NAMES = 100

#: Settings key -> the inventory variable it comes from (what an error tells the user to fix).
VARIABLES = {
    "directory": "roost_acme_directory",
    "email": "roost_acme_email",
    "eab": "roost_acme_eab",
    "ca_file": "roost_acme_ca_file",
    "dns.provider": "roost_dns_provider",
    "dns.credentials": "roost_dns_credentials",
    "hostname": "roost_hostname",
    "domains": "roost_domains",
}

# RFC 1035 §2.3.1 labels (with RFC 1123 §2.1 leading digits), at least two of them.
_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_HOSTNAME_RE = re.compile(rf"^{_LABEL}(\.{_LABEL})+$")
_KEYS = {
    "directory", "email", "eab", "ca_file", "dns", "hostname", "domains", "account_key",
    "tls_dir", "tls_group", "state_file", "reload", "propagation_timeout", "validation_timeout",
}  # fmt: skip


@dataclass(frozen=True)
class EAB:
    """External Account Binding (RFC 8555 §7.3.4), which ZeroSSL requires."""

    kid: str
    hmac_key: str = field(repr=False)


@dataclass(frozen=True)
class Settings:
    directory: str
    email: str | None
    eab: EAB | None
    ca_file: Path | None
    dns_provider: str
    dns_credentials: Mapping[str, Any] = field(repr=False)
    hostname: str = ""
    domains: tuple[str, ...] = ()
    account_key: Path = Path("/etc/roost/acme/account.key")
    tls_dir: Path = Path("/etc/roost/tls")
    tls_group: str = "roost"
    state_file: Path = Path("/etc/roost/acme/state.json")
    reload: tuple[str, ...] = ("roost.service", "nginx.service")
    propagation_timeout: float = 600.0
    validation_timeout: float = 180.0

    @property
    def names(self) -> list[str]:
        return certificate_names(self.hostname, self.domains)

    @property
    def fullchain(self) -> Path:
        return self.tls_dir / "fullchain.pem"

    @property
    def privkey(self) -> Path:
        return self.tls_dir / "privkey.pem"


def certificate_names(hostname: str, domains: tuple[str, ...] | list[str]) -> list[str]:
    """The mail host first, then each domain's web names; no duplicates, order kept."""
    names = [hostname, *(f"{p}.{d}" for d in domains for p in DOMAIN_PREFIXES)]
    return list(dict.fromkeys(names))


def load(path: Path = DEFAULT_PATH) -> Settings:
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise SettingsError(
            f"{path} does not exist",
            fix="run the certificates role (site.yml) to write it, or pass --settings FILE",
        ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SettingsError(
            f"{path} is not JSON: {exc.msg} at line {exc.lineno}",
            fix="run the certificates role again to rewrite it",
        ) from None
    return parse(data, source=str(path))


def parse(data: Any, source: str = "settings") -> Settings:
    """Settings from the mapping the role writes; unknown keys are errors (typos)."""
    if not isinstance(data, Mapping):
        raise SettingsError(f"{source}: expected a JSON object", fix="rewrite it with the role")
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise SettingsError(
            f"{source}: unknown key(s) {', '.join(unknown)}", fix=f"use only {', '.join(_KEYS)}"
        )
    reader = _Reader(data, source)
    dns = reader.mapping("dns", required=True)
    provider = dns.get("provider")
    if not isinstance(provider, str) or not provider:
        raise reader.error("dns.provider", "must name the DNS provider (tencentcloud, rfc2136)")
    credentials = dns.get("credentials")
    if not isinstance(credentials, Mapping):
        raise reader.error("dns.credentials", "must be a mapping of the provider's options")
    hostname = _hostname(reader, "hostname", reader.text("hostname", required=True))
    domains = reader.data.get("domains", [])
    if not isinstance(domains, list):
        raise reader.error("domains", "must be a list of domain names")
    domain_names = tuple(_hostname(reader, "domains", d) for d in domains)
    names = certificate_names(hostname, domain_names)
    if len(names) > MAX_NAMES:
        raise reader.error("domains", f"gives {len(names)} names; a certificate holds {MAX_NAMES}")
    defaults = Settings("", None, None, None, "", {})
    return Settings(
        directory=_url(reader),
        email=reader.text("email"),
        eab=_eab(reader),
        ca_file=_ca_file(reader),
        dns_provider=provider,
        dns_credentials=dict(credentials),
        hostname=hostname,
        domains=domain_names,
        account_key=reader.path("account_key", defaults.account_key),
        tls_dir=reader.path("tls_dir", defaults.tls_dir),
        tls_group=reader.text("tls_group") or defaults.tls_group,
        state_file=reader.path("state_file", defaults.state_file),
        reload=reader.strings("reload", defaults.reload),
        propagation_timeout=reader.seconds("propagation_timeout", defaults.propagation_timeout),
        validation_timeout=reader.seconds("validation_timeout", defaults.validation_timeout),
    )


class _Reader:
    def __init__(self, data: Mapping[str, Any], source: str) -> None:
        self.data = data
        self.source = source

    def error(self, key: str, problem: str) -> SettingsError:
        variable = VARIABLES.get(key)
        return SettingsError(f"{self.source}: {key} {problem}", variable)

    def text(self, key: str, *, required: bool = False) -> str | None:
        value = self.data.get(key)
        if value is None or value == "":
            if required:
                raise self.error(key, "is required")
            return None
        if not isinstance(value, str):
            raise self.error(key, f"must be a string, not {type(value).__name__}")
        return value

    def mapping(self, key: str, *, required: bool = False) -> Mapping[str, Any]:
        value = self.data.get(key)
        if value is None and not required:
            return {}
        if not isinstance(value, Mapping):
            raise self.error(key, "must be a mapping")
        return value

    def path(self, key: str, default: Path) -> Path:
        value = self.text(key)
        if value is None:
            return default
        if not value.startswith("/"):
            raise self.error(key, f"must be an absolute path, not {value!r}")
        return Path(value)

    def strings(self, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
        value = self.data.get(key, list(default))
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error(key, "must be a list of strings")
        return tuple(value)

    def seconds(self, key: str, default: float) -> float:
        value = self.data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or not 1 <= value <= 3600:
            raise self.error(key, "must be a number of seconds from 1 to 3600")
        return float(value)


def _url(reader: _Reader) -> str:
    url = reader.text("directory", required=True)
    assert url is not None
    if not url.startswith("https://"):
        # RFC 8555 §6.1: ACME is HTTPS only.
        raise reader.error("directory", f"must be an https:// URL (RFC 8555 §6.1), not {url!r}")
    return url


def _eab(reader: _Reader) -> EAB | None:
    eab = reader.data.get("eab")
    if not eab:
        return None
    if not isinstance(eab, Mapping) or not {"kid", "hmac_key"} <= set(eab):
        raise reader.error("eab", "must have kid and hmac_key (from the CA's account page)")
    kid, hmac_key = eab["kid"], eab["hmac_key"]
    if not (isinstance(kid, str) and kid and isinstance(hmac_key, str) and hmac_key):
        raise reader.error("eab", "kid and hmac_key must be non-empty strings")
    return EAB(kid, hmac_key)


def _ca_file(reader: _Reader) -> Path | None:
    value = reader.text("ca_file")
    if value is None:
        return None
    path = Path(value)
    if not path.is_absolute() or not path.is_file():
        raise reader.error("ca_file", f"must be an existing file on the VPS, not {value!r}")
    return path


def _hostname(reader: _Reader, key: str, value: Any) -> str:
    if not isinstance(value, str) or not _HOSTNAME_RE.match(value.lower().rstrip(".")):
        raise reader.error(key, f"holds {value!r}, which is not a fully qualified domain name")
    return value.lower().rstrip(".")
