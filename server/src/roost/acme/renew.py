"""One run of certificate upkeep: decide, and when due, order, validate, install, remember.

``roost cert renew`` (the VPS's timer), ``roost cert status`` and the ``roost_certificate``
Ansible module all call ``run``/``inspect``; reloading the services that read the certificate
is left to the caller (the CLI runs systemctl, Ansible notifies handlers).

The ACME client and the DNS provider are imported where an order or a CA question needs
them: most runs (every re-run of site.yml, most timer runs) find the certificate not due and
only read files, and those imports were most of their time.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from roost.acme import certfiles, state
from roost.acme.certfiles import CurrentCert
from roost.acme.due import Action, Decision, decide
from roost.acme.errors import BackingOffError, CertificateError, DNSChallengeError
from roost.acme.settings import Settings
from roost.acme.state import RenewalInfo, State

if TYPE_CHECKING:
    import josepy as jose

    from roost.acme.dns01 import Wait
    from roost.dnsprovider import Provider

#: When the CA gives no Retry-After for its renewal information (RFC 9773 §4.3.3).
ARI_RECHECK = dt.timedelta(hours=6)
#: A CA without ARI is asked again only weekly whether it offers it now.
NO_ARI_RECHECK = dt.timedelta(days=7)


@dataclass
class Result:
    """What a run did or, in check mode, would do."""

    action: Action
    reason: str
    names: list[str]
    previous_names: list[str]
    not_after: dt.datetime | None
    changed: bool = False
    warnings: list[str] = field(default_factory=list)


def inspect(settings: Settings, now: dt.datetime | None = None) -> tuple[CurrentCert, Decision]:
    """The installed certificate and what a run would do, without contacting anyone."""
    now = now or _now()
    current = certfiles.read_current(settings.fullchain, settings.privkey)
    saved = state.load(settings.state_file)
    digest = state.settings_digest(settings)
    return current, decide(settings.names, current, saved, digest, now, may_ask=False)


def run(
    settings: Settings,
    *,
    force: bool = False,
    check: bool = False,
    provider: Provider | None = None,
    wait: Wait | None = None,
) -> Result:
    """Renew if due (always with FORCE); in CHECK mode only say what would happen.

    PROVIDER defaults to the one the settings name, WAIT to polling every authoritative
    server; tests pass wrapped ones.
    """
    now = _now()
    if check:
        current, decision = inspect(settings, now)
        return _result(settings, current, decision, changed=decision.due)
    gid = certfiles.tls_gid(settings.tls_group)
    with _lock(settings.state_file.with_name("lock")):
        current = certfiles.read_current(settings.fullchain, settings.privkey)
        saved = state.load(settings.state_file)
        digest = state.settings_digest(settings)
        decision = decide(settings.names, current, saved, digest, now, force=force)
        warnings: list[str] = []
        if decision.action is Action.ASK_CA:
            try:
                saved = dataclasses.replace(saved, ari=_ask_ca(settings, current, now))
                state.save(settings.state_file, saved)
            except CertificateError as exc:
                warnings.append(f"renewal information not fetched, deciding without it: {exc}")
            decision = decide(settings.names, current, saved, digest, now, may_ask=False)
        if decision.action is Action.BACKOFF:
            if not current.usable or current.names != set(settings.names):
                raise BackingOffError(decision.reason, fix="fix the cause, or run with --force")
            return _result(settings, current, decision, warnings=[*warnings, decision.reason])
        if not decision.due:
            return _result(settings, current, decision, warnings=warnings)
        try:
            chain_pem, ari_supported, leftovers = _issue(settings, gid, provider, wait)
        except CertificateError as exc:
            state.save(settings.state_file, state.record_failure(saved, digest, str(exc), now))
            raise
        recheck = ARI_RECHECK if ari_supported else NO_ARI_RECHECK
        ari = RenewalInfo(state.cert_digest(chain_pem), ari_supported, None, now + recheck)
        state.save(settings.state_file, State(failure=None, ari=ari))
    installed = certfiles.read_current(settings.fullchain, settings.privkey)
    result = _result(settings, current, decision, changed=True, warnings=warnings + leftovers)
    result.not_after = installed.not_after
    return result


def _issue(
    settings: Settings, gid: int, provider: Provider | None, wait: Wait | None
) -> tuple[bytes, bool, list[str]]:
    """Order and install a certificate for the settings' names with a fresh key."""
    from acme import crypto_util

    from roost.acme.account import ca_errors, load_or_create_key, offers_ari, open_client, register
    from roost.acme.dns01 import validate_and_finalize
    from roost.dnsprovider import DNSProviderError, open_provider, wait_for_propagation

    account_key = load_or_create_key(settings.account_key)
    acme = open_client(settings, account_key)
    register(acme, account_key, settings)
    if provider is None:
        try:
            provider = open_provider(settings.dns_provider, settings.dns_credentials)
        except DNSProviderError as exc:
            raise DNSChallengeError(exc.cause, exc.variable, fix=exc.fix) from None
    cert_key = ec.generate_private_key(ec.SECP256R1())
    key_pem = cert_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with ca_errors(settings):
        order = acme.new_order(crypto_util.make_csr(key_pem, settings.names))
        outcome = validate_and_finalize(
            acme,
            order,
            account_key,
            provider,
            settings.domains or _parent_zone(settings.hostname),
            propagation_timeout=settings.propagation_timeout,
            validation_timeout=settings.validation_timeout,
            wait=wait or wait_for_propagation,
        )
    chain_pem = outcome.order.fullchain_pem.encode()
    certfiles.install(settings.fullchain, settings.privkey, chain_pem, key_pem, gid)
    warnings = [f"challenge record left in DNS, remove it by hand: {r}" for r in outcome.leftovers]
    return chain_pem, offers_ari(acme), warnings


def _ask_ca(settings: Settings, current: CurrentCert, now: dt.datetime) -> RenewalInfo:
    """The CA's suggested renewal time for CURRENT (RFC 9773), or that it offers none."""
    from acme import errors

    from roost.acme.account import ca_errors, offers_ari, open_client

    acme = open_client(settings, _client_key(settings))
    digest = state.cert_digest(current.pem)
    try:
        with ca_errors(settings):
            renew_at, next_check = acme.renewal_time(current.pem)
    except errors.ARIError as exc:
        return RenewalInfo(digest, True, None, _utc(exc.retry_after))
    if not offers_ari(acme):
        return RenewalInfo(digest, False, None, now + NO_ARI_RECHECK)
    return RenewalInfo(digest, True, _utc(renew_at) if renew_at else None, _utc(next_check))


def _client_key(settings: Settings) -> jose.JWK:
    """ARI is fetched unsigned: any key will do, so no account key is made just for it."""
    import josepy as jose

    from roost.acme.account import load_or_create_key

    if settings.account_key.exists():
        return load_or_create_key(settings.account_key)
    return jose.JWKEC(key=ec.generate_private_key(ec.SECP256R1()))


def _parent_zone(hostname: str) -> tuple[str, ...]:
    return (hostname.split(".", 1)[1],)


def _result(
    settings: Settings,
    current: CurrentCert,
    decision: Decision,
    *,
    changed: bool = False,
    warnings: list[str] | None = None,
) -> Result:
    return Result(
        action=decision.action,
        reason=decision.reason,
        names=settings.names,
        previous_names=sorted(current.names),
        not_after=current.not_after,
        changed=changed,
        warnings=warnings or [],
    )


@contextmanager
def _lock(path: Path) -> Iterator[None]:
    """One run at a time (the timer and an Ansible run may meet): the second waits its turn."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _utc(moment: dt.datetime) -> dt.datetime:
    """The acme library mixes naive local times (its clock) and aware ones (the CA's)."""
    return moment.astimezone(dt.UTC)
