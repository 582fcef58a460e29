"""Any DNS service dns-lexicon drives (Cloudflare, Aliyun, Hetzner, OVH, PowerDNS, ...).

Lexicon's own ``Client`` guesses the zone from the public suffix list (fetched over
the network, and wrong for private TLDs such as ``.test`` and for delegated
sub-zones). Roost always knows the zone, so the provider class is built directly
from a ``ConfigResolver`` naming that zone, one instance per call: some providers
(PowerDNS) cache the zone between calls.

Lexicon's record model, and how it maps onto ``Record`` (base.py):

- ``name`` is the full name without the final dot (some providers add it, a few
  give it relative to the zone): made absolute here;
- ``content`` is the value unquoted; providers that store TXT in presentation form
  leave the inner quotes of split values (``a" "b``) and escapes: joined and
  unescaped here when the text is exactly that form, taken as it is otherwise;
- ``id`` (kept as ``Record.ref``) is what ``delete_record`` takes; records listed
  without one are deleted by type, name and content;
- the TTL is lexicon's ``ttl`` option, set per created record.

Options (``roost_dns_credentials``): ``provider_name`` (a lexicon provider, e.g.
``powerdns``, ``cloudflare``), that provider's own options as lexicon names them
(``auth_token``, ``pdns_server``, ...), and ``timeout`` (seconds per call, 60):
lexicon's providers set none on their HTTP requests.
"""

from __future__ import annotations

import difflib
import queue
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any, TypeVar

import dns.exception
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import requests
from lexicon._private.discovery import find_providers, load_provider_module
from lexicon.config import ConfigResolver
from lexicon.exceptions import AuthenticationError
from lexicon.interfaces import Provider as LexiconProvider

from roost.dnsprovider.base import (
    CredentialsError,
    DNSProviderError,
    InvalidRecordError,
    Record,
    RefusedError,
    ThrottledError,
    UnreachableError,
    ZoneNotHostedError,
    join_txt,
    normalize_name,
    normalize_value,
    option_number,
)

T = TypeVar("T")
#: Options that are Roost's, not the lexicon provider's.
_OWN_OPTIONS = frozenset({"provider_name", "timeout"})


@dataclass
class LexiconDNSProvider:
    """One lexicon provider, by name, with its options."""

    provider_name: str
    options: dict[str, Any] = field(repr=False)  # secrets
    provider_class: type[LexiconProvider] = field(repr=False)
    timeout: float = 60.0
    name: str = "lexicon"

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> LexiconDNSProvider:
        provider_name = str(options.get("provider_name") or "").strip().lower()
        if not provider_name:
            raise CredentialsError(
                "the lexicon provider needs provider_name",
                "set roost_dns_credentials.provider_name to a lexicon provider "
                "(powerdns, cloudflare, hetzner, ...)",
            )
        available = find_providers()
        if provider_name not in available:
            close = difflib.get_close_matches(provider_name, list(available), n=3)
            hint = f"did you mean {' or '.join(close)}? " if close else ""
            raise CredentialsError(
                f"dns-lexicon has no provider named {provider_name!r}",
                f"{hint}set roost_dns_credentials.provider_name to one of lexicon's "
                "providers (`lexicon --help` lists them)",
            )
        if not available[provider_name]:
            raise DNSProviderError(
                f"the lexicon provider {provider_name} needs Python packages that are missing",
                f"install them where Roost runs: pip install 'dns-lexicon[{provider_name}]'",
            )
        provider_class = load_provider_module(provider_name).Provider
        return cls(
            provider_name=provider_name,
            options={
                k: _text(v) for k, v in options.items() if k not in _OWN_OPTIONS and v is not None
            },
            provider_class=provider_class,
            timeout=option_number(options, "timeout", 60.0),
        )

    # -- Provider --------------------------------------------------------------

    def records(self, zone: str, name: str | None = None, rtype: str | None = None) -> list[Record]:
        zone = normalize_name(zone)
        listed = self._call(
            zone, "listing the records", lambda p: p.list_records(rtype and rtype.upper(), name)
        )
        found = (_record(zone, item) for item in listed)
        return sorted(
            r
            for r in found
            if (name is None or r.name == normalize_name(name))
            and (rtype is None or r.type == rtype.upper())
        )

    def create(self, zone: str, record: Record) -> None:
        self._call(
            zone,
            f"creating {record.text()}",
            lambda p: p.create_record(record.type, record.name, record.value),
            ttl=record.ttl,
        )

    def delete(self, zone: str, record: Record) -> None:
        """By the listed id first, then by type, name and content if the record stayed.

        An id is exact where a provider has one, but some build it from the content and
        parse it back wrongly (lexicon's PowerDNS splits its ids at every "/", so an SPF
        ``ip4:192.0.2.0/24`` is never matched): the zone is listed again to be sure.
        """
        what = f"deleting {record.text()}"
        if record.ref is not None:
            self._call(zone, what, lambda p: p.delete_record(identifier=record.ref))
            if not self._listed(zone, record):
                return
        self._call(
            zone, what, lambda p: p.delete_record(None, record.type, record.name, record.value)
        )
        if self._listed(zone, record):
            raise RefusedError(
                f"lexicon's {self.provider_name} provider reported {what} in {zone} done, "
                "but the zone still lists it",
                "remove the record by hand at the provider and run again",
            )

    def _listed(self, zone: str, record: Record) -> bool:
        return record in self.records(zone, record.name, record.type)

    def nameservers(self, zone: str) -> list[str]:
        zone = normalize_name(zone)
        return sorted(r.value.rstrip(".") for r in self.records(zone, zone, "NS"))

    # -- internals -------------------------------------------------------------

    def _call(
        self, zone: str, what: str, action: Callable[[LexiconProvider], T], ttl: int | None = None
    ) -> T:
        """ACTION on a provider instance authenticated for ZONE, within the timeout."""
        zone = normalize_name(zone)
        settings: dict[str, Any] = {
            "provider_name": self.provider_name,
            "domain": zone,
            self.provider_name: dict(self.options),
        }
        if ttl is not None:
            settings["ttl"] = ttl

        def run() -> T:
            with _phase("configuring"):
                provider = self.provider_class(ConfigResolver().with_dict(settings))
            with _phase("finding the zone"):
                provider.authenticate()
            try:
                with _phase(what):
                    return action(provider)
            finally:
                provider.cleanup()

        try:
            return _within(self.timeout, run)
        except TimeoutError as exc:
            raise UnreachableError(
                f"the {self.provider_name} API did not answer {what} in {zone} within "
                f"{self.timeout:g} s",
                "check the provider's address in roost_dns_credentials and the network "
                "(a change may still land: running again changes nothing twice)",
            ) from exc
        except _StepError as failed:
            raise self._error(zone, failed.phase, failed.error) from failed.error

    def _error(self, zone: str, phase: str, exc: Exception) -> DNSProviderError:
        """The typed error for what lexicon's provider raised while doing PHASE."""
        cause = (
            f"lexicon's {self.provider_name} provider failed {phase} in {zone}: {_describe(exc)}"
        )
        status = getattr(getattr(exc, "response", None), "status_code", None)
        credentials = f"roost_dns_credentials (the {self.provider_name} options: {self._keys()})"
        if phase == "configuring":
            # The provider's own check of its options (PowerDNS: "API key not defined").
            return CredentialsError(cause, f"check {credentials}")
        if status in (401, 403):
            return CredentialsError(
                cause, f"set {credentials} to credentials allowed to manage {zone}"
            )
        if isinstance(exc, AuthenticationError):
            # Lexicon's providers say this for a refused key and for a zone not on the account.
            return CredentialsError(
                cause, f"check {credentials}, and that {zone} is on that account"
            )
        if phase == "finding the zone" and status in (404, 422):
            return ZoneNotHostedError(
                cause, f"add {zone} to the {self.provider_name} account, or remove it from "
                "roost_domains",
            )  # fmt: skip
        if status == 429:
            return ThrottledError(cause, "wait a few minutes and run again")
        if isinstance(exc, requests.ConnectionError | requests.Timeout):
            return UnreachableError(
                cause, f"check the API address in {credentials} and the network"
            )
        return RefusedError(cause, "check the records asked for in roost_domains")

    def _keys(self) -> str:
        return ", ".join(sorted(self.options)) or "none given"


class _StepError(Exception):
    """What lexicon's provider raised, and the step it was taking."""

    def __init__(self, phase: str, error: Exception) -> None:
        super().__init__(phase)
        self.phase, self.error = phase, error


@contextmanager
def _phase(phase: str) -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        raise _StepError(phase, exc) from exc


def _within(seconds: float, run: Callable[[], T]) -> T:
    """RUN in a daemon thread, given up on after SECONDS (lexicon sets no HTTP timeout)."""
    results: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=1)

    def target() -> None:
        try:
            results.put((True, run()))
        except BaseException as exc:
            results.put((False, exc))

    threading.Thread(target=target, name="lexicon-call", daemon=True).start()
    try:
        ok, value = results.get(timeout=seconds)
    except queue.Empty:
        raise TimeoutError from None
    if ok:
        return value  # type: ignore[no-any-return]
    raise value


def _text(value: Any) -> str:
    """An option as lexicon's providers expect it: text, as from its command line."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def _describe(exc: Exception) -> str:
    """The provider's own words: the HTTP status and body when there is one."""
    response = getattr(exc, "response", None)
    if response is not None:
        body = " ".join(str(getattr(response, "text", "")).split())[:300]
        return f"HTTP {response.status_code} {response.reason}: {body}".rstrip(": ")
    return f"{exc.__class__.__name__}: {exc}"


def _record(zone: str, item: Mapping[str, Any]) -> Record:
    rtype = str(item.get("type", "")).upper()
    raw = str(item.get("name") or "@")
    if raw.endswith("."):
        name = raw
    elif raw == "@":
        name = zone
    elif normalize_name(raw) == zone or normalize_name(raw).endswith("." + zone):
        name = raw
    else:
        name = f"{raw}.{zone}"
    content = str(item.get("content", ""))
    if rtype == "TXT":
        value = _txt_value(content)
    else:
        # Types Roost does not write may not parse: kept as the provider shows them.
        value = content
        with suppress(InvalidRecordError):
            value = normalize_value(rtype, content)
    ident = item.get("id")
    ttl = item.get("ttl")
    return Record(
        normalize_name(name),
        rtype,
        value,
        int(ttl) if ttl else 0,
        ref=None if ident is None else str(ident),
    )


def _txt_value(content: str) -> str:
    """Lexicon's TXT content as one joined, unescaped value.

    Providers storing presentation form hand back the text between the outer quotes
    (``a" "b`` for a split value, ``\\"`` for a quote). Such text, quoted again, parses
    and prints back identically; plain text with a stray quote or backslash does not,
    and is the value itself.
    """
    text = content[1:-1] if len(content) >= 2 and content[0] == content[-1] == '"' else content
    quoted = f'"{text}"'
    try:
        rdata = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.TXT, quoted)
    except (dns.exception.DNSException, ValueError):
        return text
    if rdata.to_text() != quoted:
        return text
    return join_txt(rdata.strings)  # type: ignore[attr-defined]
