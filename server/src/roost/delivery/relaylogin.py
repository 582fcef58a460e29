"""Try a smarthost's credentials before mail is switched to it.

A wrong password found by the queue means mail piling up unseen; found while provisioning, it
is one clear message and nothing changed. The login runs exactly as the deliverer will later
connect: implicit TLS (465) or STARTTLS (587/2525, required), the certificate verified
against the system's trust store plus an optional CA file, then SMTP AUTH (RFC 4954).
"""

from __future__ import annotations

import smtplib
import ssl
from typing import Literal

from roost.delivery.client import tls_contexts

FailureKind = Literal["connect", "tls", "auth", "protocol"]


class RelayLoginError(Exception):
    """The relay cannot be used as configured; ``kind`` tells which setting is at fault."""

    def __init__(self, kind: FailureKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def check_login(
    host: str,
    port: int,
    tls: Literal["implicit", "starttls"],
    username: str,
    password: str,
    *,
    ca_file: str | None = None,
    local_hostname: str | None = None,
    timeout: float = 30.0,
) -> str:
    """Log in and log out; return the relay's reply to AUTH, or raise :class:`RelayLoginError`."""
    remote = f"{host}:{port}"
    context = tls_contexts(ca_file)[0]
    client: smtplib.SMTP | None = None
    try:
        if tls == "implicit":
            client = smtplib.SMTP_SSL(
                host, port, local_hostname=local_hostname, timeout=timeout, context=context
            )
        else:
            client = smtplib.SMTP(host, port, local_hostname=local_hostname, timeout=timeout)
            client.ehlo()
            if not client.has_extn("starttls"):
                raise RelayLoginError(
                    "protocol", f"{remote} does not offer STARTTLS; use its implicit TLS port"
                )
            client.starttls(context=context)
            client.ehlo()
        code, reply = client.login(username, password)
        return f"{code} {reply.decode('utf-8', 'replace')}"
    except smtplib.SMTPAuthenticationError as exc:
        text = exc.smtp_error.decode("utf-8", "replace")
        raise RelayLoginError(
            "auth", f"{remote} refused the username and password ({exc.smtp_code} {text})"
        ) from None
    except smtplib.SMTPNotSupportedError:
        raise RelayLoginError(
            "protocol", f"{remote} does not offer SMTP AUTH over TLS; is this the submission port?"
        ) from None
    except ssl.SSLCertVerificationError as exc:
        raise RelayLoginError(
            "tls", f"{remote}: TLS certificate not valid: {exc.verify_message}"
        ) from None
    except ssl.SSLError as exc:
        raise RelayLoginError(
            "tls", f"{remote}: TLS failed ({exc.reason}); implicit TLS is port 465, STARTTLS 587"
        ) from None
    except smtplib.SMTPException as exc:
        raise RelayLoginError("protocol", f"{remote}: unexpected SMTP reply: {exc}") from None
    except (OSError, TimeoutError) as exc:
        reason = "no answer" if isinstance(exc, TimeoutError) else exc.strerror or str(exc)
        raise RelayLoginError("connect", f"cannot reach {remote}: {reason}") from None
    finally:
        if client is not None:
            try:
                client.quit()
            except (smtplib.SMTPException, OSError):
                client.close()
