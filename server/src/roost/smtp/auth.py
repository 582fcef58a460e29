"""SASL PLAIN (RFC 4616) and LOGIN for submission, with Argon2 checks off the event loop.

aiosmtpd's built-in mechanisms call a synchronous authenticator on the event loop; an Argon2id
check takes tens of milliseconds, which would stall every other session. These replacements
parse the exchange with aiosmtpd's own `challenge_auth` and verify in a worker thread.
"""

from __future__ import annotations

import asyncio
import binascii
import logging
from base64 import b64decode
from collections.abc import Callable

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

from roost.smtp.limits import AuthThrottle

log = logging.getLogger("roost.smtp.auth")

# Returns the canonical user address when the password is right, else None.
Verifier = Callable[[str, str], str | None]

_THROTTLED = "454 4.7.0 Too many failed authentications, try again later"
_INVALID = "535 5.7.8 Authentication credentials invalid"


class SASLMechanisms:
    """Mix-in for a handler: aiosmtpd discovers `auth_<MECHANISM>` methods on the handler."""

    def __init__(self, verifier: Verifier, throttle: AuthThrottle) -> None:
        self._verify = verifier
        self._throttle = throttle

    async def auth_PLAIN(self, server: SMTP, args: list[str]) -> AuthResult:
        if len(args) == 1:
            blob = await server.challenge_auth("")
            if not isinstance(blob, bytes):
                return AuthResult(success=False, handled=True)
        else:
            blob = _decode(args[1])
            if blob is None:
                await server.push("501 5.5.2 Cannot decode base64")
                return AuthResult(success=False, handled=True)
        parts = blob.split(b"\x00")
        if len(parts) != 3:
            await server.push("501 5.5.2 Cannot split PLAIN credentials")
            return AuthResult(success=False, handled=True)
        authzid, login, password = parts
        if authzid and authzid != login:
            # RFC 4616 §2: acting for another identity needs authorization we do not grant.
            await server.push("535 5.7.8 Authorization identity not permitted")
            return AuthResult(success=False, handled=True)
        return await self._check(server, login, password)

    async def auth_LOGIN(self, server: SMTP, args: list[str]) -> AuthResult:
        if len(args) == 1:
            login = await server.challenge_auth("Username:")
            if not isinstance(login, bytes):
                return AuthResult(success=False, handled=True)
        else:
            decoded = _decode(args[1])
            if decoded is None:
                await server.push("501 5.5.2 Cannot decode base64")
                return AuthResult(success=False, handled=True)
            login = decoded
        password = await server.challenge_auth("Password:")
        if not isinstance(password, bytes):
            return AuthResult(success=False, handled=True)
        return await self._check(server, login, password)

    async def _check(self, server: SMTP, login_bytes: bytes, password_bytes: bytes) -> AuthResult:
        peer = server.session.peer if server.session else None
        ip = peer[0] if peer else "unknown"
        try:
            login = login_bytes.decode("utf-8")
            password = password_bytes.decode("utf-8")
        except UnicodeDecodeError:
            return AuthResult(success=False, handled=False, message=_INVALID)
        account = login.strip().lower()
        if self._throttle.blocked(ip, account):
            log.warning("auth throttled for %s (account %s)", ip, account)
            return AuthResult(success=False, handled=False, message=_THROTTLED)
        user = await asyncio.to_thread(self._verify, account, password)
        if user is None:
            self._throttle.failed(ip, account)
            log.info("auth failed for %s from %s", account, ip)
            return AuthResult(success=False, handled=False, message=_INVALID)
        log.info("auth ok for %s from %s", user, ip)
        return AuthResult(success=True, auth_data=LoginPassword(user.encode(), b""))


def _decode(text: str) -> bytes | None:
    try:
        return b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        return None


def authenticated_user(server: SMTP) -> str | None:
    """The canonical address the session authenticated as (never the password)."""
    session = server.session
    if session is None or not session.authenticated:
        return None
    data = session.auth_data
    login = data.login if isinstance(data, LoginPassword) else None
    return login.decode() if isinstance(login, bytes) else None
