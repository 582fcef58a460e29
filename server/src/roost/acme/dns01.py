"""DNS-01 (RFC 8555 §8.4): publish each challenge's TXT, wait, answer, finalize, clean up.

The CA may ask any authoritative server of the zone, so a challenge is answered only once
every one of them serves its TXT (``wait_for_propagation``); answering earlier spends one of
the few failed validations Let's Encrypt allows per name and hour. Whatever happens after the
first record is published (a refusal, a timeout, a failed validation, an interrupt), every
record published is removed again before this returns or raises.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import josepy as jose
from acme import challenges, client, errors, messages

from roost.acme.account import describe
from roost.acme.errors import (
    CARefusedError,
    CertificateError,
    DNSChallengeError,
    SettingsError,
    ValidationFailedError,
)
from roost.dnsprovider import DNSProviderError, Provider, Record, wait_for_propagation, zone_of

log = logging.getLogger(__name__)

#: TTL of challenge records: DNSPod's free plan refuses less than 600 (acme.sh and lego use it).
CHALLENGE_TTL = 600

Wait = Callable[..., object]


@dataclass
class Challenge:
    zone: str
    record: Record
    body: messages.ChallengeBody


@dataclass
class Outcome:
    order: messages.OrderResource
    #: Records that could not be removed after the order (the certificate is still good).
    leftovers: list[str] = field(default_factory=list)


def validate_and_finalize(
    acme: client.ClientV2,
    order: messages.OrderResource,
    key: jose.JWK,
    provider: Provider,
    zones: Sequence[str],
    *,
    propagation_timeout: float,
    validation_timeout: float,
    wait: Wait = wait_for_propagation,
) -> Outcome:
    """Prove control of every name of ORDER through PROVIDER and return the issued order."""
    pending = [_challenge(authz, key, zones) for authz in order.authorizations if _pending(authz)]
    published: list[Challenge] = []
    try:
        for challenge in pending:
            _provider_call(provider.create, challenge.zone, challenge.record)
            published.append(challenge)
        for (zone, name), values in _by_name(pending).items():
            _provider_call(wait, zone, name, "TXT", values, timeout=propagation_timeout)
        for challenge in pending:
            acme.answer_challenge(challenge.body, challenge.body.response(key))
        outcome = Outcome(_finalize(acme, order, validation_timeout))
    except CertificateError as exc:
        leftovers = _remove(provider, published)
        if leftovers:
            raise exc.plus(f"the challenge records {'; '.join(leftovers)} are left") from None
        raise
    except BaseException:
        leftovers = _remove(provider, published)
        if leftovers:
            log.error("challenge records left in DNS: %s", "; ".join(leftovers))
        raise
    outcome.leftovers = _remove(provider, published)
    return outcome


def _finalize(
    acme: client.ClientV2, order: messages.OrderResource, timeout: float
) -> messages.OrderResource:
    """Wait for the CA's verdict on every authorization, then for the certificate."""
    deadline = dt.datetime.now() + dt.timedelta(seconds=timeout)
    try:
        return acme.poll_and_finalize(order, deadline)
    except errors.ValidationError as exc:
        raise ValidationFailedError(
            f"the CA could not validate {_what_the_ca_said(exc.failed_authzrs)}",
            "roost_dns_provider",
            fix="check that each domain's NS records point at the provider in "
            "roost_dns_provider (the CA asks the delegated servers)",
        ) from None
    except errors.TimeoutError:
        raise ValidationFailedError(
            f"the CA did not finish validating and issuing within {timeout:.0f} s",
            fix="run again later (the order is abandoned; nothing is left in DNS)",
        ) from None


def _pending(authz: messages.AuthorizationResource) -> bool:
    """A still-valid authorization (RFC 8555 §7.1.4; reused within hours) needs no challenge."""
    return authz.body.status != messages.STATUS_VALID


def _challenge(
    authz: messages.AuthorizationResource, key: jose.JWK, zones: Sequence[str]
) -> Challenge:
    domain = authz.body.identifier.value
    found = [c for c in authz.body.challenges if isinstance(c.chall, challenges.DNS01)]
    if not found:
        raise CARefusedError(
            f"the CA offers no dns-01 challenge for {domain}",
            "roost_acme_directory",
            fix="use a CA that validates by DNS (Let's Encrypt, ZeroSSL) in roost_acme_directory",
        )
    body = found[0]
    name = body.chall.validation_domain_name(domain)
    zone = zone_of(name, zones)
    if zone is None:
        raise SettingsError(
            f"{domain} is in none of the domains Roost manages DNS for ({', '.join(zones)})",
            "roost_hostname",
            fix="use a mail host name inside one of roost_domains",
        )
    value = body.chall.validation(key)
    return Challenge(zone, Record.make(name, "TXT", value, CHALLENGE_TTL), body)


def _by_name(pending: Iterable[Challenge]) -> dict[tuple[str, str], list[str]]:
    """Values per name: several challenges may share one ``_acme-challenge`` name."""
    grouped: dict[tuple[str, str], list[str]] = {}
    for challenge in pending:
        grouped.setdefault((challenge.zone, challenge.record.name), []).append(
            challenge.record.value
        )
    return grouped


def _provider_call(call: Callable[..., object], *args: object, **kwargs: object) -> None:
    try:
        call(*args, **kwargs)
    except DNSProviderError as exc:
        raise DNSChallengeError(
            f"DNS-01 challenge record: {exc.cause}", exc.variable, fix=exc.fix
        ) from None


def _remove(provider: Provider, published: Iterable[Challenge]) -> list[str]:
    """Delete every record we published; a failure of one does not stop the others."""
    leftovers = []
    for challenge in published:
        try:
            provider.delete(challenge.zone, challenge.record)
        except (DNSProviderError, OSError) as exc:
            leftovers.append(f"{challenge.record.name} TXT {challenge.record.value} ({exc})")
    return leftovers


def _what_the_ca_said(failed: Iterable[messages.AuthorizationResource]) -> str:
    parts = []
    for authz in failed:
        said = [describe(c.error) for c in authz.body.challenges if c.error is not None]
        parts.append(f"{authz.body.identifier.value}: the CA said {'; '.join(said) or 'nothing'}")
    return "; ".join(parts)
