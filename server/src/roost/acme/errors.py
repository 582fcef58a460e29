"""The errors certificate work ends in: each names its cause and the inventory variable to fix."""

from __future__ import annotations


class CertificateError(Exception):
    """Issuance or renewal failed; ``str()`` is the one line a user acts on."""

    def __init__(self, cause: str, variable: str | None = None, fix: str | None = None) -> None:
        self.cause = cause
        self.variable = variable
        if fix is None and variable is not None:
            fix = f"check {variable}"
        self.fix = fix
        super().__init__(f"{cause}; {fix}" if fix else cause)

    def plus(self, more: str) -> CertificateError:
        """The same error with MORE added to its cause."""
        return type(self)(f"{self.cause}; {more}", self.variable, self.fix)


class SettingsError(CertificateError):
    """The settings file (or the module's arguments) is missing a value or holds a bad one."""


class CAUnreachableError(CertificateError):
    """The ACME directory did not answer (address, TLS trust, network)."""


class CARefusedError(CertificateError):
    """The CA answered with an error problem document (RFC 8555 §6.7) outside validation."""


class ValidationFailedError(CertificateError):
    """The CA could not validate a DNS-01 challenge; the message carries what the CA said."""


class DNSChallengeError(CertificateError):
    """The DNS provider refused or failed a challenge record; the message is the provider's."""


class BackingOffError(CertificateError):
    """A recent attempt with the same settings failed; the next one waits (never a retry loop)."""
