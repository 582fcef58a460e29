"""MTA-STS policies and ``_mta-sts`` TXT records: parsing and MX matching (RFC 8461 §3, §4.1).

Parsing is strict where the RFC is strict (field syntax, required fields, bounds) and
lenient where it asks to be (unknown keys and extension fields are ignored, LF is
accepted besides CRLF), so a policy that parses here means what the domain meant.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, cast

log = logging.getLogger("roost.mtasts")

Mode = Literal["enforce", "testing", "none"]

#: RFC 8461 §3.2: the largest max_age, 31557600 seconds (one year).
MAX_AGE_LIMIT = 31557600


#: The RFC 8460 §4.3.2.2 result types of policy discovery failures.
STSResultType = Literal["sts-policy-fetch-error", "sts-policy-invalid", "sts-webpki-invalid"]


class MTASTSError(Exception):
    """Base of the package's errors; ``result_type`` is the RFC 8460 §4.3 result to record."""

    result_type: STSResultType = "sts-policy-fetch-error"


class PolicyError(MTASTSError):
    """The policy text violates RFC 8461 §3.2.

    Recorded as ``sts-policy-invalid`` (RFC 8460 §4.3.2.2).
    """

    result_type: STSResultType = "sts-policy-invalid"


class RecordError(MTASTSError):
    """A ``v=STSv1`` TXT record violates RFC 8461 §3.1 (the domain then has no usable policy)."""


# RFC 8461 §3.1: sts-id = %s"id=" 1*32(ALPHA / DIGIT); extension names and values.
_ID = re.compile(r"[A-Za-z0-9]{1,32}")
_EXT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}")
_TXT_EXT_VALUE = re.compile(r"[\x21-\x3a\x3c\x3e-\x7e]+")
# RFC 8461 §3.2: sts-policy-ext-value = sts-policy-vchar [*(%x20 / sts-policy-vchar)
# sts-policy-vchar], vchar being VCHAR or any non-ASCII UTF-8 (so: no control characters).
_POLICY_EXT_VALUE = re.compile(r"[^\x00-\x20\x7f](?:[^\x00-\x1f\x7f]*[^\x00-\x20\x7f])?")
# RFC 5321 §4.1.2 Domain: labels of letters, digits and inner hyphens.
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_STS_PREFIX = re.compile(r"v=STSv1(?=$|[ \t;])")


def normalize_domain(name: str) -> str:
    """Lower-case A-label form without the trailing dot, as DNS and RFC 8461 §4.1 compare names."""
    name = name.strip().rstrip(".").lower()
    if not name.isascii():
        # Left as is if not convertible: it then matches nothing, the safe outcome.
        with contextlib.suppress(UnicodeError):
            name = name.encode("idna").decode("ascii")
    return name


def _valid_domain(name: str) -> bool:
    labels = name.split(".")
    return len(name) <= 253 and len(labels) >= 2 and all(_LABEL.fullmatch(x) for x in labels)


@dataclass(frozen=True)
class Policy:
    """A parsed policy (RFC 8461 §3.2) and the TXT ``id`` it was fetched under (§3.1).

    ``mx`` holds the lower-cased patterns, ``*.`` wildcards included, in the policy's order.
    """

    mode: Mode
    mx: tuple[str, ...]
    max_age: int
    id: str = ""

    def matches(self, mx_host: str) -> bool:
        """Whether an MX host name is allowed by the policy (RFC 8461 §4.1).

        A pattern ``*.example.com`` matches exactly one extra leftmost label:
        ``mail.example.com`` but neither ``example.com`` nor ``a.b.example.com``.
        Names compare case-insensitively, trailing dots ignored.
        """
        host = normalize_domain(mx_host)
        first, _, rest = host.partition(".")
        for pattern in self.mx:
            if pattern.startswith("*."):
                if first and rest == pattern[2:]:
                    return True
            elif host == pattern:
                return True
        return False

    def lines(self) -> list[str]:
        """The policy as text lines, for the ``policy-string`` of TLS-RPT (RFC 8460 §4.4)."""
        out = ["version: STSv1", f"mode: {self.mode}"]
        out += [f"mx: {pattern}" for pattern in self.mx]
        out.append(f"max_age: {self.max_age}")
        return out


def parse_policy(text: str, policy_id: str = "") -> Policy:
    """Parse a policy body (RFC 8461 §3.2) or raise :class:`PolicyError` saying why.

    Rules: lines end in CRLF or LF (the RFC allows senders to accept LF), a final
    line end is optional, blank lines are not allowed; each line is ``key: value``
    with optional whitespace after the colon and at the end; fields come in any
    order (the ABNF lists alternatives); ``version: STSv1``, ``mode`` and
    ``max_age`` are required, ``mx`` too unless the mode is ``none``; ``max_age``
    is 1-10 digits and at most 31557600. Unknown keys are ignored but must be
    well-formed extension fields. Of a duplicated field other than ``mx`` only the
    first counts (§3.2; mox reads it the same way), though every copy must be valid.
    """
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()  # a final line terminator
    lines = [line.removesuffix("\r") for line in lines]
    if not lines:
        raise PolicyError("empty policy")
    fields: dict[str, list[str]] = {}
    for number, line in enumerate(lines, 1):
        key, sep, value = line.partition(":")
        if not sep:
            raise PolicyError(f"line {number}: no ':' in {line!r}")
        if not _EXT_NAME.fullmatch(key):
            raise PolicyError(f"line {number}: bad key {key!r}")
        value = value.lstrip(" \t").rstrip(" \t")
        if not _POLICY_EXT_VALUE.fullmatch(value):
            raise PolicyError(f"line {number}: bad value for {key!r}: {value!r}")
        fields.setdefault(key, []).append(value)
    for key in ("version", "mode", "max_age"):
        if key not in fields:
            raise PolicyError(f"required field {key!r} missing")
    for version in fields["version"]:
        if version != "STSv1":
            raise PolicyError(f"unsupported version {version!r}")
    for mode in fields["mode"]:
        if mode not in ("enforce", "testing", "none"):
            raise PolicyError(f"unknown mode {mode!r}")
    mode = fields["mode"][0]
    max_age, *_ = (_max_age(value) for value in fields["max_age"])  # all checked
    patterns = tuple(_mx_pattern(value) for value in fields.get("mx", []))
    if not patterns and mode != "none":
        raise PolicyError(f"mode {mode!r} needs at least one mx line")
    return Policy(mode=cast(Mode, mode), mx=patterns, max_age=max_age, id=policy_id)


def _max_age(text: str) -> int:
    """RFC 8461 §3.2: sts-policy-max-age-value = 1*10(DIGIT), at most 31557600."""
    if not (text.isascii() and text.isdigit() and len(text) <= 10):
        raise PolicyError(f"max_age {text!r} is not 1 to 10 digits")
    if int(text) > MAX_AGE_LIMIT:
        raise PolicyError(f"max_age {text} exceeds {MAX_AGE_LIMIT} (RFC 8461 §3.2)")
    return int(text)


def _mx_pattern(value: str) -> str:
    """RFC 8461 §3.2 sts-policy-mx-value = ["*."] Domain."""
    pattern = value.lower()
    domain = pattern.removeprefix("*.")
    if not _valid_domain(domain):
        raise PolicyError(f"bad mx pattern {value!r}")
    return pattern


def parse_record(text: str) -> str:
    """The ``id`` of one ``v=STSv1`` TXT record, or :class:`RecordError` (RFC 8461 §3.1).

    The record is ``v=STSv1`` then ``;``-separated fields (whitespace around ``;``
    allowed, a final ``;`` allowed); ``id`` (1-32 letters and digits) is required;
    well-formed extension fields are ignored. Keys are case-sensitive (``%s`` in the
    ABNF). A duplicated ``id`` counts once, the first, as for policy fields (§3.2).
    """
    parts = [part.strip(" \t") for part in text.split(";")]
    if parts[0] != "v=STSv1":
        raise RecordError(f"record does not start with v=STSv1: {text!r}")
    if parts[-1] == "" and len(parts) > 1:
        parts.pop()
    ids: list[str] = []
    for field in parts[1:]:
        key, sep, value = field.partition("=")
        if not sep or not _EXT_NAME.fullmatch(key):
            raise RecordError(f"bad field {field!r} in {text!r}")
        if key == "id":
            if not _ID.fullmatch(value):
                raise RecordError(f"bad id {value!r}: 1 to 32 letters and digits")
            ids.append(value)
        elif not _TXT_EXT_VALUE.fullmatch(value):
            raise RecordError(f"bad value in field {field!r}")
    if not ids:
        raise RecordError(f"no id field in {text!r}")
    return ids[0]


def parse_txt(records: Iterable[bytes | str]) -> str | None:
    """The policy ``id`` from the ``_mta-sts`` TXT records, or ``None`` (RFC 8461 §3.1).

    Records not starting with ``v=STSv1`` are discarded; if not exactly one remains, or
    it is invalid, the domain has no available policy ("senders MUST assume the
    recipient domain does not have an available MTA-STS Policy"). The reason is logged.
    """
    texts = [r.decode("utf-8", "replace") if isinstance(r, bytes) else r for r in records]
    candidates = [text for text in texts if _STS_PREFIX.match(text)]
    if len(candidates) != 1:
        if candidates:
            log.info("MTA-STS: %d v=STSv1 TXT records, treated as none", len(candidates))
        return None
    try:
        return parse_record(candidates[0])
    except RecordError as err:
        log.info("MTA-STS: invalid TXT record: %s", err)
        return None
