"""What a policy asks of one delivery attempt to one MX host (RFC 8461 §4, §5).

The delivery code asks :func:`tls_requirement` per MX host, in MX order, and acts:

``"opportunistic"``
    No policy, or mode ``none`` (§5: treated as no policy at all). STARTTLS if offered,
    certificate not required to verify, plain text allowed.
``"required-verified"``
    Mode ``enforce`` and the host matches the policy (§4.1). STARTTLS is required and
    the certificate must verify for the MX host name (§4.2). On any failure do not
    send to this host: try the next MX, else defer (never fall back to plain text),
    and record the failure for TLS-RPT (``starttls-not-supported``,
    ``certificate-host-mismatch``, ``certificate-expired``, ``certificate-not-trusted``,
    ``validation-failure``; RFC 8460 §4.3.1).
``"testing"``
    Mode ``testing`` (§5: report, but deliver anyway). Try as for
    ``required-verified``; on failure record it, then deliver as ``"opportunistic"``.
    A host outside the policy is also recorded (``validation-failure``).
``"refuse"``
    Mode ``enforce`` and the host does not match: do not connect (§4.1, §5; Appendix
    B's ``tryMxAccordingTo``). Record ``validation-failure`` with failure-reason-code
    :data:`MX_MISMATCH` for TLS-RPT.

Per §5.1, before failing a message permanently the caller asks
:meth:`roost.mtasts.lookup.MTASTS.refresh` whether the policy changed.
"""

from __future__ import annotations

from typing import Literal

from roost.mtasts.policy import Policy

TLSRequirement = Literal["opportunistic", "required-verified", "testing", "refuse"]

#: failure-reason-code recorded when an enforce/testing policy does not list the MX.
MX_MISMATCH = "mx-not-in-mta-sts-policy"


def tls_requirement(policy: Policy | None, mx_host: str) -> TLSRequirement:
    """The TLS requirement for delivering to ``mx_host`` under ``policy`` (see module doc)."""
    if policy is None or policy.mode == "none":
        return "opportunistic"
    if policy.mode == "testing":
        return "testing"
    return "required-verified" if policy.matches(mx_host) else "refuse"
