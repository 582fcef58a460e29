"""SMTP AUTH for submission: SASL PLAIN (RFC 4616) and LOGIN decoding, then a throttled
password check with Argon2 off the event loop (an Argon2id check takes tens of milliseconds,
which would stall every other session)."""

from __future__ import annotations

import asyncio
import binascii
import logging
import unicodedata
from base64 import b64decode, b64encode
from collections.abc import Callable

from roost.smtp.limits import AuthThrottle
from roost.smtp.replies import SMTPError
from roost.store.addresses import normalize_address
from roost.store.errors import InvalidAddress

log = logging.getLogger("roost.smtp.auth")

# Returns the canonical user address when the password is right, else None.
Verifier = Callable[[str, str], str | None]

MECHANISMS = ("PLAIN", "LOGIN")
_INVALID = SMTPError(535, "5.7.8", "Authentication credentials invalid")


def challenge(prompt: str) -> str:
    """A 334 server challenge (RFC 4954 §4): the prompt in base64."""
    return "334 " + b64encode(prompt.encode()).decode()


def decode_response(text: str) -> bytes:
    """A client's base64 SASL response; "=" is the empty one (RFC 4954 §4)."""
    if text == "=":
        return b""
    try:
        return b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise SMTPError(501, "5.5.2", "Cannot decode base64") from None


def plain_credentials(blob: bytes) -> tuple[bytes, bytes]:
    parts = blob.split(b"\x00")
    if len(parts) != 3:
        raise SMTPError(501, "5.5.2", "Cannot split PLAIN credentials")
    authzid, login, password = parts
    if authzid and authzid != login:
        # RFC 4616 §2: acting for another identity needs authorization we do not grant.
        raise SMTPError(535, "5.7.8", "Authorization identity not permitted")
    return login, password


class Authenticator:
    def __init__(self, verifier: Verifier, throttle: AuthThrottle) -> None:
        self._verify = verifier
        self._throttle = throttle

    async def authenticate(self, ip: str, login_bytes: bytes, password_bytes: bytes) -> str:
        """The canonical address of the user, or SMTPError 535 (wrong) / 454 (throttled)."""
        try:
            account = login_bytes.decode("utf-8").strip()
            password = password_bytes.decode("utf-8")
        except UnicodeDecodeError:
            raise _INVALID from None
        key = throttle_key(account)
        if not self._throttle.begin(ip, key):
            log.warning("auth throttled for %s (account %r)", ip, key)
            raise SMTPError(454, "4.7.0", "Too many failed authentications, try again later")
        user = None
        try:
            user = await asyncio.to_thread(self._verify, account, password)
        finally:
            self._throttle.end(ip, key, failed=user is None)
        if user is None:
            log.info("auth failed for %r from %s", account, ip)
            raise _INVALID
        log.info("auth ok for %s from %s", user, ip)
        return user


def throttle_key(login: str) -> str:
    """The account a login names, as the password check will read it: a@example.test written
    with a fullwidth e logs in as a@example.test, so it must share its failure count."""
    try:
        return normalize_address(login)
    except InvalidAddress:
        return unicodedata.normalize("NFKC", login).lower()
