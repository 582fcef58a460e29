"""SMTP AUTH for submission: SASL PLAIN (RFC 4616) and LOGIN decoding, then a throttled
password check with Argon2 off the event loop (an Argon2id check takes tens of milliseconds,
which would stall every other session)."""

from __future__ import annotations

import asyncio
import binascii
import logging
from base64 import b64decode, b64encode
from collections.abc import Callable

from roost.smtp.limits import AuthThrottle
from roost.smtp.replies import SMTPError

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
            account = login_bytes.decode("utf-8").strip().lower()
            password = password_bytes.decode("utf-8")
        except UnicodeDecodeError:
            raise _INVALID from None
        if self._throttle.blocked(ip, account):
            log.warning("auth throttled for %s (account %s)", ip, account)
            raise SMTPError(454, "4.7.0", "Too many failed authentications, try again later")
        user = await asyncio.to_thread(self._verify, account, password)
        if user is None:
            self._throttle.failed(ip, account)
            log.info("auth failed for %s from %s", account, ip)
            raise _INVALID
        log.info("auth ok for %s from %s", user, ip)
        return user
