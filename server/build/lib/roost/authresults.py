"""The Authentication-Results header field (RFC 8601): building ours, removing forgeries.

Downstream readers (the user's mail client, filters) trust an
Authentication-Results field only because it carries our authserv-id, so any
incoming field that claims it must go before ours is added (RFC 8601 §5).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from roost.dkim.verify import DKIMResult
from roost.dmarc import DMARCResult
from roost.spf import SPFResult

#: RFC 5322 §2.1.1: lines SHOULD be at most 78 characters, excluding CRLF.
_LINE_MAX = 78
_FIELD = "Authentication-Results"
#: RFC 2045 §5.1 tspecials: a property value containing one is sent quoted.
_TSPECIALS = set('()<>@,;:\\"/[]?=')


def _comment(text: str) -> str:
    """A ``(comment)``: escapes for parentheses and backslashes, no controls (RFC 5322 §3.2.2)."""
    clean = "".join(c if c.isprintable() else " " for c in text)
    return "(" + re.sub(r"([()\\])", r"\\\1", clean) + ")"


def _value(text: str) -> str:
    """A property value: a token, or a quoted-string when it has specials (RFC 8601 §2.2)."""
    if text and not any(c in _TSPECIALS or c.isspace() or not c.isprintable() for c in text):
        return text
    clean = "".join(c for c in text if c.isprintable())
    return '"' + re.sub(r'(["\\])', r"\\\1", clean) + '"'


def _resinfo(method: str, result: str, comment: str, props: Sequence[tuple[str, str]]) -> list[str]:
    words = [f"{method}={result}"]
    if comment:
        words.extend(w for w in _comment(comment).split(" ") if w)
    words.extend(f"{name}={_value(value)}" for name, value in props if value)
    return words


def _fold(first: str, resinfos: list[list[str]]) -> str:
    """One resinfo per line; over-long ones wrapped at spaces (RFC 5322 §2.2.3)."""
    lines = [first]
    for i, words in enumerate(resinfos):
        if i < len(resinfos) - 1:
            words = [*words[:-1], words[-1] + ";"]
        line = "\t" + words[0]
        for word in words[1:]:
            if len(line) + 1 + len(word) > _LINE_MAX:
                lines.append(line)
                line = "\t" + word
            else:
                line += " " + word
        lines.append(line)
    return "\r\n".join(lines) + "\r\n"


def build(
    authserv_id: str,
    *,
    spf: SPFResult,
    dkim: Sequence[DKIMResult],
    dmarc: Sequence[DMARCResult],
) -> bytes:
    """The complete field, CRLF-terminated, ready to prepend to the message.

    Methods and properties: spf with smtp.mailfrom or smtp.helo (RFC 8601 §2.7.2),
    one dkim per signature with header.d, header.s and header.b (RFC 6008 §4), or
    dkim=none when unsigned, and dmarc with header.from (RFC 7489 §11.2).
    """
    resinfos = [
        _resinfo(
            "spf",
            spf.result,
            spf.comment,
            [(f"smtp.{spf.identity}", spf.domain)],
        )
    ]
    for sig in dkim:
        resinfos.append(
            _resinfo(
                "dkim",
                sig.result,
                sig.reason,
                [("header.d", sig.domain), ("header.s", sig.selector), ("header.b", sig.header_b)],
            )
        )
    if not dkim:
        resinfos.append(["dkim=none"])
    for d in dmarc:
        comment = f"p={d.published} dis={d.policy}" if d.published else d.reason
        resinfos.append(_resinfo("dmarc", d.result, comment, [("header.from", d.header_from)]))
    return _fold(f"{_FIELD}: {_value(authserv_id)};", resinfos).encode("utf-8")


def _skip_cfws(value: str) -> str:
    """Drop leading whitespace and (nested) comments (RFC 5322 §3.2.2)."""
    value = value.lstrip()
    while value.startswith("("):
        depth, i = 0, 0
        while i < len(value):
            c = value[i]
            if c == "\\":
                i += 1
            elif c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
                if depth == 0:
                    break
            i += 1
        value = value[i + 1 :].lstrip()
    return value


def authserv_id_of(value: str) -> str:
    """The authserv-id an Authentication-Results value starts with (RFC 8601 §2.2)."""
    value = _skip_cfws(value.replace("\r", "").replace("\n", ""))
    if value.startswith('"'):
        m = re.match(r'"((?:\\.|[^"\\])*)"', value)
        return re.sub(r"\\(.)", r"\1", m.group(1)) if m else ""
    return re.split(r"[\s;()]", value, maxsplit=1)[0]


def strip_forged(message: bytes, authserv_id: str) -> bytes:
    """Remove every Authentication-Results field that claims ``authserv_id``.

    RFC 8601 §5: a border MTA MUST delete (or rename) such fields, or a sender
    could forge our verdicts. Field names and ids compare case-insensitively
    (RFC 5322 §1.2.2; ids are domain names). Folded fields go whole; the body and
    all other fields are kept byte for byte.
    """
    ours = authserv_id.lower().rstrip(".")
    out: list[bytes] = []
    pos = 0
    drop = False
    while pos < len(message):
        end = message.find(b"\n", pos)
        end = len(message) if end < 0 else end + 1
        line = message[pos:end]
        if line in (b"\r\n", b"\n"):  # end of the header section
            break
        if line[:1] not in (b" ", b"\t"):  # a new field starts here
            name, colon, _ = line.partition(b":")
            drop = False
            if colon and name.rstrip().lower() == _FIELD.lower().encode():
                # The id may sit on a continuation line: read the whole field.
                stop = end
                while message[stop : stop + 1] in (b" ", b"\t"):
                    nxt = message.find(b"\n", stop)
                    stop = len(message) if nxt < 0 else nxt + 1
                value = message[pos:stop].partition(b":")[2].decode("utf-8", "replace")
                drop = authserv_id_of(value).lower().rstrip(".") == ours
        if not drop:
            out.append(line)
        pos = end
    return b"".join(out) + message[pos:]
