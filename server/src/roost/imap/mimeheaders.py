"""Header sections of a message or body part, read from byte offsets (RFC 5322 §2.2, RFC 2045).

Everything here works on latin-1 text: every byte maps to one character and back, so 8-bit
and malformed headers survive untouched into ENVELOPE and BODYSTRUCTURE (servers return
header values raw, RFC 2047 encoded words included). Nothing raises on bad input; a field
that cannot be understood is treated as absent or taken as written.
"""

from __future__ import annotations

from collections.abc import Collection

MIME_FIELDS = frozenset(
    {
        "content-type",
        "content-transfer-encoding",
        "content-id",
        "content-description",
        "content-md5",
        "content-disposition",
        "content-language",
        "content-location",
    }
)
TSPECIALS = '()<>@,;:\\"/[]?='  # RFC 2045 §5.1


def header_end(msg: bytes, start: int, end: int) -> tuple[int, int]:
    """(end of the header fields, start of the body) for the part in msg[start:end].

    The header ends at the first empty line (RFC 5322 §2.1), CRLF or bare LF; the empty
    line belongs to the header section (RFC 9051 §6.4.5 HEADER). With no empty line the
    whole part is header and the body is empty."""
    if msg.startswith(b"\r\n", start, end):
        return start, start + 2
    if msg.startswith(b"\n", start, end):
        return start, start + 1
    crlf = msg.find(b"\n\r\n", start, end)
    lf = msg.find(b"\n\n", start, end if crlf < 0 else crlf + 1)
    if lf >= 0:
        return lf + 1, lf + 2
    if crlf >= 0:
        return crlf + 1, crlf + 3
    return end, end


def fields(
    msg: bytes, start: int, end: int, wanted: Collection[str] | None = None
) -> list[tuple[str, str]]:
    """(lower-cased name, unfolded value) of the header fields in msg[start:end], in order;
    only the names in `wanted` if given. Folding line breaks are removed, the whitespace
    after them kept (RFC 5322 §2.2.3); leading whitespace is stripped, trailing kept (as
    Dovecot does)."""
    found: list[tuple[str, list[str]]] = []
    keep = False
    text = msg[start:end].decode("latin-1")
    for line in text.split("\n"):
        line = line.removesuffix("\r")
        if line[:1] in (" ", "\t"):
            if keep and found:
                found[-1][1].append(line)  # joined once below: no quadratic concatenation
            continue
        name, colon, value = line.partition(":")
        name = name.strip().lower()
        keep = bool(colon) and (wanted is None or name in wanted)
        if keep:
            found.append((name, [value]))
    return [(name, "".join(pieces).lstrip(" \t")) for name, pieces in found]


def first(found: list[tuple[str, str]], name: str) -> str | None:
    for field, value in found:
        if field == name:
            return value
    return None


def _skip_comment(text: str, i: int) -> int:
    """Index after the comment opening at text[i] (nested, backslash escapes; RFC 5322 §3.2.2)."""
    depth = 0
    while i < len(text):
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return i


def _quoted(text: str, i: int) -> tuple[str, int]:
    """The unescaped quoted string opening at text[i], and the index after it."""
    out = []
    i += 1
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        if c == '"':
            return "".join(out), i + 1
        out.append(c)
        i += 1
    return "".join(out), i


def tokenize(text: str, specials: str, *, literals: bool = False) -> list[tuple[str, str]]:
    """Structured header field tokens (RFC 5322 §3.2, RFC 2045 §5.1): (kind, text) with
    kind 'atom', 'quoted' (unescaped), 'comment', 'literal' (a [domain literal], if
    `literals`) or the special character itself. Whitespace is dropped."""
    out: list[tuple[str, str]] = []
    stops = specials + ' \t\r\n("'
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in " \t\r\n":
            i += 1
        elif c == "(":
            j = _skip_comment(text, i)
            out.append(("comment", text[i + 1 : j - 1].strip()))
            i = j
        elif c == '"':
            value, i = _quoted(text, i)
            out.append(("quoted", value))
        elif c == "[" and literals:
            j = text.find("]", i)
            j = n if j < 0 else j + 1
            out.append(("literal", text[i:j]))
            i = j
        elif c in specials:
            out.append((c, c))
            i += 1
        else:
            j = i
            while j < n and text[j] not in stops:
                j += 1
            out.append(("atom", text[i:j]))
            i = j
    return out


def mime_tokens(text: str) -> list[str]:
    """RFC 2045 §5.1 tokens: words (quoted strings unquoted, prefixed by '"' to tell them
    apart) and single tspecials; comments dropped."""
    return [
        '"' + value if kind == "quoted" else value
        for kind, value in tokenize(text, TSPECIALS)
        if kind != "comment"
    ]


def _word(token: str) -> str:
    return token[1:] if token.startswith('"') else token


def _special(token: str) -> bool:
    return len(token) == 1 and token in TSPECIALS and token != '"'


def _params(tokens: list[str], i: int) -> list[tuple[str, str]]:
    """`; name=value` pairs from tokens[i:], with RFC 2231 §3 continuations joined."""
    raw: list[tuple[str, str]] = []
    n = len(tokens)
    while i < n:
        if tokens[i] == ";" and i + 2 < n and not _special(tokens[i + 1]) and tokens[i + 2] == "=":
            name = _word(tokens[i + 1]).lower()
            if i + 3 < n and not _special(tokens[i + 3]):
                raw.append((name, _word(tokens[i + 3])))
                i += 4
            else:
                raw.append((name, ""))
                i += 3
        else:
            i += 1
    return _join_continuations(raw)


def _join_continuations(raw: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """RFC 2231 §3: name*0, name*1*, ... become one parameter, `name*` if any segment is
    extended (its value then stays percent-encoded with its charset'language' prefix)."""
    segments: dict[str, list[tuple[int, bool, str]]] = {}
    order: list[str] = []
    plain: list[tuple[str, str]] = []
    for name, value in raw:
        base, star, number = name.partition("*")
        digits = number.removesuffix("*")
        if star and digits.isdigit() and len(digits) < 5:
            if base not in segments:
                segments[base] = []
                order.append(base)
            segments[base].append((int(digits), number.endswith("*"), value))
        else:
            plain.append((name, value))
    joined = plain  # joined parameters go after the plain ones, as Dovecot lists them
    for base in order:
        parts = sorted(segments.pop(base, []))
        if parts:
            extended = parts[0][1]
            joined.append((base + ("*" if extended else ""), "".join(v for _, _, v in parts)))
    return joined


def content_type(value: str | None) -> tuple[str, str, list[tuple[str, str]]] | None:
    """(type, subtype, params) as written, or None if absent or unreadable (RFC 2045 §5.2:
    then the default applies)."""
    if value is None:
        return None
    tokens = mime_tokens(value)
    if len(tokens) < 3 or tokens[1] != "/" or _special(tokens[0]) or _special(tokens[2]):
        return None
    return _word(tokens[0]), _word(tokens[2]), _params(tokens, 3)


def disposition(value: str | None) -> tuple[str, list[tuple[str, str]]] | None:
    """RFC 2183 Content-Disposition: (type, params) or None."""
    if value is None:
        return None
    tokens = mime_tokens(value)
    if not tokens or _special(tokens[0]):
        return None
    return _word(tokens[0]), _params(tokens, 1)


def token(value: str | None) -> str | None:
    """The first token of a field such as Content-Transfer-Encoding (RFC 2045 §6.1)."""
    if value is None:
        return None
    tokens = mime_tokens(value)
    return _word(tokens[0]) if tokens and not _special(tokens[0]) else None


def language(value: str | None) -> list[str] | None:
    """RFC 3282 Content-Language: the comma-separated language tags."""
    if value is None:
        return None
    tags = [_word(t) for t in mime_tokens(value) if not _special(t)]
    return tags or None
