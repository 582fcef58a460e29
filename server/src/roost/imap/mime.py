"""A message's MIME structure, parsed once into byte offsets (RFC 2045, RFC 2046).

`parse` walks the raw bytes once per nesting level and records, for every part, where its
header and body lie and what FETCH needs from its MIME fields, plus the message's header
section itself; `Structure.to_bytes` / `Kept.load` let the caller keep it beside the message
so ENVELOPE, BODYSTRUCTURE, BODY[section], header FETCH and header SEARCH never re-parse, and
header FETCH and SEARCH never read the message file (the header SEARCH keys find their fields
already decoded, kept apart: `keep_searched`). Bodies are never copied: sections are
offsets into the raw message. Broken MIME is parsed the way Dovecot does rather than refused:
a missing closing boundary ends the part at its parent's end, a multipart without a boundary
parameter is a single text part, bare LF counts as a line end, and nesting and part counts
are capped so hostile messages cost linear work.
"""

from __future__ import annotations

import itertools
import marshal
import struct
from dataclasses import dataclass, field
from typing import Any

from roost.imap import mimeheaders as mh
from roost.imap.envelope import ENVELOPE_FIELDS, envelope

MAX_DEPTH = 50
"""Nesting beyond this is kept as an opaque leaf (Dovecot caps at 100)."""
MAX_PARTS = 5000
"""Parts beyond this stay inside their predecessor's body."""
WANTED = mh.MIME_FIELDS | ENVELOPE_FIELDS
MESSAGE_TYPES = frozenset({"rfc822", "global"})  # RFC 9051 §7.5.2 body-type-msg


@dataclass(slots=True)
class Part:
    """One body part, or a whole (possibly encapsulated) message. Offsets index the raw
    message: header section [start, body) incl. its empty line, body [body, end)."""

    start: int
    body: int
    end: int
    type: str = "text"
    subtype: str = "plain"
    params: list[tuple[str, str]] = field(default_factory=list)
    id: str | None = None
    description: str | None = None
    encoding: str | None = None
    md5: str | None = None
    disposition: tuple[str, list[tuple[str, str]]] | None = None
    language: list[str] | None = None
    location: str | None = None
    lines: int = 0
    parts: list[Part] = field(default_factory=list)
    message: Part | None = None
    envelope: tuple[object, ...] | None = None

    @property
    def is_multipart(self) -> bool:
        return self.type.lower() == "multipart"

    @property
    def is_message(self) -> bool:
        """message/rfc822 or message/global: the body is a message of its own."""
        return self.type.lower() == "message" and self.subtype.lower() in MESSAGE_TYPES

    @property
    def size(self) -> int:
        return self.end - self.body

    def param(self, name: str) -> str | None:
        return next((v for k, v in self.params if k == name), None)

    def to_list(self) -> list[object]:
        return [
            self.start,
            self.body,
            self.end,
            self.type,
            self.subtype,
            self.params,
            self.id,
            self.description,
            self.encoding,
            self.md5,
            self.disposition,
            self.language,
            self.location,
            self.lines,
            [p.to_list() for p in self.parts],
            self.message.to_list() if self.message else None,
            self.envelope,
        ]

    @classmethod
    def from_list(cls, data: list) -> Part:  # type: ignore[type-arg]
        """From `to_list` after a marshal round trip, which keeps tuples as tuples."""
        part = cls(*data[:14])
        part.parts = [cls.from_list(p) for p in data[14]]
        if data[15] is not None:
            part.message = cls.from_list(data[15])
        part.envelope = data[16]
        return part


@dataclass(slots=True)
class Structure:
    """The parsed message: `root` is the whole message as a part (its envelope set),
    `header` its header section as written (`root.start` to `root.body`), `rendered`
    FETCH values derived from the rest, already encoded (filled and read by the FETCH code:
    ENVELOPE and BODYSTRUCTURE then cost no rebuilding of the parts)."""

    root: Part
    size: int
    header: bytes
    rendered: dict[str, bytes] = field(default_factory=dict)

    def to_bytes(self) -> bytes:
        """The kept form, read back by `Kept.load`: the version tag, a fixed-size head, the
        header section, the rendered values as they go out (in `RENDERED` order, their
        lengths in the head, so a FETCH slices them out without decoding anything), the
        text parts (`text_parts`: a SEARCH on body text), then the tree of parts. The text
        parts and tree are in marshal (lists, tuples, strings and numbers only; decoded in
        C, tuples intact), so what most FETCH and SEARCH commands need is had without
        decoding the tree."""
        rendered = [self.rendered.get(name, b"") for name in RENDERED]
        texts = marshal.dumps(text_parts(self.root), 4)
        head = _HEAD.pack(self.size, len(self.header), *map(len, rendered), len(texts))
        tree = marshal.dumps(self.root.to_list(), 4)
        return b"".join((_MAGIC, head, self.header, *rendered, texts, tree))


TextPart = tuple[int, int, str, str | None]
"""A part a SEARCH on body text reads: where its body starts and ends in the message, its
transfer encoding (lower-cased; "7bit" when none is named) and its charset parameter."""


def text_parts(root: Part) -> list[TextPart]:
    """The text/* and message/* leaves (message/delivery-status is text too, RFC 3464), those
    inside attached messages included (RFC 9051 §6.4.4 BODY searches the body, which holds
    them), in message order. Other types are binary data, unsearched as in Dovecot."""
    found: list[TextPart] = []
    stack = [root]
    while stack:
        node = stack.pop()
        if node.is_multipart:
            stack.extend(reversed(node.parts))
        elif node.is_message and node.message is not None:
            stack.append(node.message)
        elif node.type.lower() in ("text", "message"):
            encoding = (node.encoding or "7bit").lower()
            found.append((node.body, node.end, encoding, node.param("charset")))
    return found


SEARCHED = ("bcc", "cc", "from", "subject", "to")
"""The fields of the SEARCH keys BCC, CC, FROM, SUBJECT and TO (RFC 9051 §6.4.4)."""
RENDERED = ("ENVELOPE", "BODY", "BODYSTRUCTURE")
"""The FETCH values kept encoded, in their order in the kept form."""
_MAGIC = b"roost-structure-5\0"
"""Versions the kept form: data without it (JSON from version 1, version 2 without the
searched values, version 3 with the rendered values in marshal, version 4 with the searched
values inside, another layout) is parsed again from the message."""
_HEAD = struct.Struct("<QIIIII")
"""Message size, header section length, each `RENDERED` value's length (0: not kept), then
the text parts' length."""
_SEARCHED_MAGIC = b"roost-searched-1\0"
"""Versions the kept searched values (`keep_searched`) as `_MAGIC` the structure."""


@dataclass(frozen=True, slots=True)
class Kept:
    """A kept structure decoded only as far as asked: the header section and rendered
    values at once (header FETCH, ENVELOPE, BODYSTRUCTURE), the text parts and the tree of
    parts on first need (SEARCH on body text; body sections)."""

    size: int
    header: bytes
    rendered: dict[str, bytes]
    texts: memoryview
    tree: memoryview

    @classmethod
    def load(cls, data: bytes) -> Kept:
        """Raises ValueError for data written by another version: parse the message again."""
        size, bounds = _layout(data)
        view = memoryview(data)
        rendered = {
            name: data[start:end]
            for name, start, end in zip(RENDERED, bounds[1:], bounds[2:], strict=False)
            if end > start
        }
        header, texts = data[bounds[0] : bounds[1]], view[bounds[-2] : bounds[-1]]
        return cls(size, header, rendered, texts, view[bounds[-1] :])

    @property
    def text_parts(self) -> list[TextPart]:
        return _unmarshal(self.texts)

    def structure(self) -> Structure:
        tree = _unmarshal(self.tree)
        return Structure(Part.from_list(tree), self.size, self.header, self.rendered)


def kept_bounds(data: bytes) -> tuple[int, ...]:
    """Where the header section and the rendered values lie in a kept structure, for a
    FETCH that slices its answer out of it (`roost.imap.fetchkept`): the header section is
    `data[b[0]:b[1]]`, `RENDERED[i]` is `data[b[i + 1]:b[i + 2]]` (empty: not kept), the
    text parts end at `b[-1]`.
    Raises ValueError as `Kept.load` does."""
    return _layout(data)[1]


def keep_searched(values: dict[str, tuple[str, ...]]) -> bytes:
    """The values of the SEARCHED fields as the header SEARCH keys compare them (decoded,
    case-folded: `searchtext.searched_values`), in the form the store keeps apart from the
    structure: a narrow row its SQL reads for `searched_filter` without touching the wide
    structure, which only the messages left in are read for."""
    return _SEARCHED_MAGIC + marshal.dumps(values, 4)


def kept_searched(data: bytes) -> dict[str, tuple[str, ...]]:
    """`keep_searched`'s values back; ValueError for another version's or damaged data."""
    if not data.startswith(_SEARCHED_MAGIC):
        raise ValueError("searched values kept by another version")
    values = _unmarshal(memoryview(data)[len(_SEARCHED_MAGIC) :])
    if not isinstance(values, dict):
        raise ValueError("damaged kept searched values")
    return values


def searched_filter(needles: tuple[str, ...]) -> tuple[bytes, tuple[bytes, ...]]:
    """For the store's `search_rows`: kept searched values (`keep_searched`) that start
    with this tag and lack one of these texts (decoded, case-folded) cannot match a header
    SEARCH that requires them all. Marshal writes each string whole, ASCII as is and the
    rest as UTF-8 (a repeated object refers back to its first, full copy), so values
    holding a needle hold its UTF-8 bytes."""
    return _SEARCHED_MAGIC, tuple(needle.encode("utf-8", "surrogatepass") for needle in needles)


def _layout(data: bytes) -> tuple[int, tuple[int, ...]]:
    """(message size, `kept_bounds`) of a kept structure; ValueError for another version's
    data or a short one."""
    if not data.startswith(_MAGIC):
        raise ValueError("structure kept by another version")
    start = len(_MAGIC) + _HEAD.size
    if start > len(data):
        raise ValueError("damaged kept structure: shorter than its head says")
    size, *lengths = _HEAD.unpack_from(data, len(_MAGIC))
    bounds = tuple(itertools.accumulate(lengths, initial=start))
    if bounds[-1] > len(data):
        raise ValueError("damaged kept structure: shorter than its head says")
    return size, bounds


def _unmarshal(data: memoryview) -> Any:
    try:
        return marshal.loads(data)
    except (EOFError, TypeError, ValueError) as exc:
        raise ValueError(f"damaged kept structure: {exc}") from None


def parse(msg: bytes) -> Structure:
    counter = [0]
    root = _part(msg, 0, len(msg), counter, 0, digest=False, is_message=True)
    return Structure(root, len(msg), msg[: root.body])


def _lines(msg: bytes, start: int, end: int) -> int:
    """Body lines (RFC 9051 §7.5.2 body-fld-lines) counted as line ends, as Dovecot does: a
    last line without one (the line break before a boundary is the boundary's) adds none."""
    return msg.count(b"\n", start, end)


def _part(
    msg: bytes,
    start: int,
    end: int,
    counter: list[int],
    depth: int,
    *,
    digest: bool,
    is_message: bool,
    slack: int | None = None,
) -> Part:
    """The part in msg[start:end]. `slack` is where the enclosing delimiter starts when the
    line break before it was left out of `end`: a multipart whose closing delimiter line
    runs to `end` takes that line break back, as Dovecot counts it (RFC 2046 §5.1.1 leaves
    the line break after a close-delimiter ambiguous)."""
    counter[0] += 1
    header_stop, body = mh.header_end(msg, start, end)
    # The first of repeated fields counts: reversed, dict() keeps it.
    found = dict(
        reversed(mh.fields(msg, start, header_stop, WANTED if is_message else mh.MIME_FIELDS))
    )
    part = Part(start, body, end)
    ctype = mh.content_type(found.get("content-type"))
    if ctype is None:
        # RFC 2045 §5.2 default; RFC 2046 §5.1.5: message/rfc822 inside multipart/digest.
        if digest:
            part.type, part.subtype = "message", "rfc822"
        else:
            part.params = [("charset", "us-ascii")]
    else:
        part.type, part.subtype, part.params = ctype
        if part.type.lower() == "text" and part.param("charset") is None:
            part.params.append(("charset", "us-ascii"))  # RFC 2045 §5.2 default, as Dovecot
    part.encoding = mh.token(found.get("content-transfer-encoding"))
    part.id = found.get("content-id")
    part.description = found.get("content-description")
    part.md5 = found.get("content-md5")
    part.disposition = mh.disposition(found.get("content-disposition"))
    part.language = mh.language(found.get("content-language"))
    part.location = found.get("content-location")
    if is_message:
        part.envelope = envelope(found)
    kind = part.type.lower()
    if depth >= MAX_DEPTH or counter[0] >= MAX_PARTS:
        if kind == "multipart" or part.is_message:
            part.type, part.subtype, part.params = "application", "octet-stream", []
        return part
    if kind == "multipart":
        # Without a boundary parameter nothing can be split: no parts (Dovecot agrees).
        boundary = (part.param("boundary") or "").encode("latin-1")
        child_digest = part.subtype.lower() == "digest"
        children, closed_at_end = _split(msg, body, end, boundary) if boundary else ([], False)
        for child_start, child_end, child_slack in children:
            if counter[0] >= MAX_PARTS:
                break
            child = _part(
                msg,
                child_start,
                child_end,
                counter,
                depth + 1,
                digest=child_digest,
                is_message=False,
                slack=child_slack,
            )
            part.parts.append(child)
        if closed_at_end and slack is not None:
            part.end = slack
    elif part.is_message:
        part.message = _part(
            msg, body, end, counter, depth + 1, digest=False, is_message=True, slack=slack
        )
        part.end = part.message.end
        part.lines = _lines(msg, body, part.end)
    elif kind == "text":
        part.lines = _lines(msg, body, end)
    return part


def _split(
    msg: bytes, body: int, end: int, boundary: bytes
) -> tuple[list[tuple[int, int, int | None]], bool]:
    """(start, end, slack) of each body part between `--boundary` lines (RFC 2046 §5.1.1),
    and whether the closing delimiter line runs to `end`.

    A delimiter line starts with the boundary, may carry trailing whitespace, and owns the
    line break before it (slack is where the delimiter starts, if a break was left out);
    the closing delimiter adds `--`. Preamble and epilogue are dropped; without a closing
    delimiter the last part runs to the end."""
    delimiter = b"--" + boundary
    parts: list[tuple[int, int, int | None]] = []
    current: int | None = None
    pos = body
    while True:
        i = msg.find(delimiter, pos, end)
        if i < 0:
            break
        pos = i + 1
        if i > body and msg[i - 1] != 0x0A:
            continue
        eol = msg.find(b"\n", i, end)
        line_end = end if eol < 0 else eol + 1
        after = i + len(delimiter)
        closing = msg.startswith(b"--", after, line_end)
        if not closing and msg[after:line_end].strip(b" \t\r\n"):
            continue  # a longer boundary that merely starts with ours
        if current is not None:
            stop = i
            if stop > current and msg[stop - 1] == 0x0A:
                stop -= 1
                if stop > current and msg[stop - 1] == 0x0D:
                    stop -= 1
            parts.append((current, stop, i if stop < i else None))
        if closing:
            return parts, eol < 0
        current = line_end
        pos = line_end
    if current is not None:
        parts.append((current, end, None))
    return parts, False
