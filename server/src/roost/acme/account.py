"""The ACME account: its key on the VPS, the client that signs with it, the registration.

The key (``/etc/roost/acme/account.key``, 0600 root, EC P-256 signing ES256, RFC 7518 §3.4)
is made once and reused: Let's Encrypt counts orders per account, and an account that keeps
its key keeps its history. Registering an existing key answers with its account URL (RFC 8555
§7.3.1), so every run may register.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import josepy as jose
import requests
from acme import client, errors, messages
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from roost.acme.errors import CARefusedError, CAUnreachableError, SettingsError
from roost.acme.settings import Settings
from roost.durable import write_durably

USER_AGENT = "roost-acme"
#: Seconds one HTTP request to the CA may take.
HTTP_TIMEOUT = 30


def load_or_create_key(path: Path) -> jose.JWK:
    """The account key at PATH, made (0600, directory 0700) if there is none yet."""
    try:
        pem = path.read_bytes()
    except FileNotFoundError:
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_durably(path, pem)
        return jose.JWKEC(key=key)
    try:
        loaded = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise SettingsError(
            f"the ACME account key {path} is not a readable unencrypted PEM key",
            fix="restore it from a backup, or move it away to register a new account",
        ) from None
    if isinstance(loaded, ec.EllipticCurvePrivateKey):
        return jose.JWKEC(key=loaded)
    if isinstance(loaded, rsa.RSAPrivateKey):
        return jose.JWKRSA(key=loaded)
    raise SettingsError(
        f"the ACME account key {path} is neither EC nor RSA",
        fix="move it away to register a new account",
    )


def _algorithm(key: jose.JWK) -> jose.JWASignature:
    if isinstance(key, jose.JWKEC):
        curve_bits = key.key.curve.key_size
        return {256: jose.ES256, 384: jose.ES384, 521: jose.ES512}[curve_bits]
    return jose.RS256


def open_client(settings: Settings, key: jose.JWK) -> client.ClientV2:
    """A client for the CA's directory; an unreachable or untrusted CA is CAUnreachableError."""
    # requests takes a CA bundle path where ClientNetwork's type says bool.
    verify: bool | str = str(settings.ca_file) if settings.ca_file else True
    net = client.ClientNetwork(
        key,
        alg=_algorithm(key),
        verify_ssl=verify,  # type: ignore[arg-type]
        user_agent=USER_AGENT,
        timeout=HTTP_TIMEOUT,
    )
    with ca_errors(settings):
        directory = client.ClientV2.get_directory(settings.directory, net)
    return client.ClientV2(directory, net)


def register(acme: client.ClientV2, key: jose.JWK, settings: Settings) -> None:
    """Make sure the CA knows our key (new or existing account) and sign as that account."""
    binding = None
    if settings.eab is not None:
        binding = messages.ExternalAccountBinding.from_data(
            key.public_key(), settings.eab.kid, settings.eab.hmac_key, acme.directory
        )
    elif acme.external_account_required():
        raise SettingsError(
            f"the CA at {settings.directory} requires External Account Binding",
            "roost_acme_eab",
            fix="set roost_acme_eab (kid and hmac_key from the CA's account page)",
        )
    registration = messages.NewRegistration.from_data(
        email=settings.email, terms_of_service_agreed=True, external_account_binding=binding
    )
    try:
        with ca_errors(settings):
            try:
                acme.new_account(registration)
            except errors.ConflictError as exc:
                acme.net.account = messages.RegistrationResource(
                    uri=exc.location, body=messages.Registration()
                )
    except CARefusedError as exc:
        if binding is None:
            raise
        # A CA refuses a wrong binding with its own words and types (Pebble: "unauthorized",
        # others "malformed"); with a binding sent, it is the first thing to check.
        raise CARefusedError(
            exc.cause,
            "roost_acme_eab",
            fix="check roost_acme_eab: the kid and hmac_key exactly as the CA's account page "
            "shows them (each pair binds one account; make a new pair if in doubt)",
        ) from None


@contextmanager
def ca_errors(settings: Settings) -> Iterator[None]:
    """Turn network and protocol errors from the CA into errors naming the variable to fix."""
    url = settings.directory
    try:
        yield
    except requests.exceptions.SSLError as exc:
        raise CAUnreachableError(
            f"the CA at {url} presented a certificate this host does not trust ({_short(exc)})",
            "roost_acme_directory",
            fix="check roost_acme_directory, or set roost_acme_ca_file to the CA's bundle",
        ) from None
    except requests.exceptions.RequestException as exc:
        raise CAUnreachableError(
            f"the ACME CA at {url} is unreachable ({_short(exc)})",
            "roost_acme_directory",
            fix="check roost_acme_directory and that this host reaches it over HTTPS",
        ) from None
    except messages.Error as exc:
        eab = "externalAccount" in (exc.typ or "")
        raise CARefusedError(
            f"the CA at {url} refused: {describe(exc)}",
            "roost_acme_eab" if eab else "roost_acme_directory",
            fix=None if eab else "check roost_acme_directory and roost_acme_email",
        ) from None
    except errors.IssuanceError as exc:
        raise CARefusedError(
            f"the CA at {url} refused to issue: {describe(exc.error)}",
            "roost_domains",
            fix="check the names (roost_hostname, roost_domains) against the CA's policy",
        ) from None
    except (errors.ClientError, ValueError) as exc:
        raise CARefusedError(
            f"{url} did not answer like an ACME server ({_short(exc)})",
            "roost_acme_directory",
            fix="set roost_acme_directory to the CA's ACME directory URL",
        ) from None


def describe(problem: messages.Error) -> str:
    """A problem document (RFC 8555 §6.7, RFC 7807) as one line, subproblems included."""
    text = problem.detail or problem.description or problem.typ or "no detail given"
    code = problem.code
    line = f"{text} ({code})" if code else text
    for sub in problem.subproblems or ():
        who = f"{sub.identifier.value}: " if sub.identifier else ""
        line += f"; {who}{sub.detail or sub.code}"
    return line


def _short(exc: BaseException) -> str:
    """The innermost cause of a requests error (urllib3 nests it two or three deep)."""
    while True:
        inner = getattr(exc, "reason", None)
        if not isinstance(inner, BaseException) and exc.args:
            inner = exc.args[0]
        if not isinstance(inner, BaseException) or inner is exc:
            break
        exc = inner
    text = str(exc) or exc.__class__.__name__
    return text if len(text) <= 200 else text[:200] + "..."


def offers_ari(acme: client.ClientV2) -> bool:
    """Whether the directory names a renewalInfo resource (RFC 9773 §3)."""
    try:
        acme.directory["renewalInfo"]
    except KeyError:
        return False
    return True
