"""FETCH data items (RFC 9051 §6.4.5): what the client asked for, and each message's answer.

Items are parsed once per command into `FetchItem`s; each message is then rendered from its
index row (flags, dates, size, MODSEQ) and, only when an item needs it, its bytes and parsed
MIME structure. Rendering runs in a worker thread, a batch of messages at a time, so a large
FETCH neither blocks the event loop nor holds the whole mailbox in memory.
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

from roost.imap import bodystructure, mime
from roost.imap.errors import BadCommandError
from roost.imap.parser import Arg
from roost.imap.response import Encoded, Literal8, encode
from roost.imap.searchtext import searched_values
from roost.imap.sections import (
    Section,
    binary_section,
    body_section,
    header_section,
    parse_partial,
    partial,
)
from roost.store.errors import NoSuchMessage
from roost.store.interfaces import MessageInfo

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MACROS = {
    "ALL": ["FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"],
    "FAST": ["FLAGS", "INTERNALDATE", "RFC822.SIZE"],
    "FULL": ["FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"],
}
_SIMPLE = frozenset(
    {"UID", "FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY", "BODYSTRUCTURE", "MODSEQ"}
)
# RFC822, RFC822.HEADER, RFC822.TEXT are the rev1 spellings of body sections (RFC 3501 §6.4.5).
_RFC822 = {
    "RFC822": (Section(), False),
    "RFC822.HEADER": (Section(text="HEADER"), True),
    "RFC822.TEXT": (Section(text="TEXT"), False),
}
_SECTION = re.compile(
    r"(BODY|BODY\.PEEK|BINARY|BINARY\.PEEK|BINARY\.SIZE)\[([^\]]*)\](<\d{1,19}\.\d{1,19}>)?",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class FetchItem:
    name: str  # upper-cased item name: "FLAGS", "BODY", "BINARY.SIZE", "RFC822.HEADER", ...
    section: Section | None = None  # for BODY[...] / BINARY[...]
    partial: tuple[int, int] | None = None  # <origin.length>
    peek: bool = False

    @property
    def sets_seen(self) -> bool:
        """RFC 9051 §6.4.5: BODY[...] and BINARY[...] set \\Seen; .PEEK and headers do not."""
        return self.section is not None and not self.peek and self.name != "BINARY.SIZE"

    @property
    def needs_structure(self) -> bool:
        if self.section is None:
            return self.name in ("ENVELOPE", "BODY", "BODYSTRUCTURE")
        return self.section != Section() or self.binary

    @cached_property
    def label(self) -> bytes:
        """The item's name in the response (RFC 9051 §7.5.2: no PEEK, only the origin) and
        the space before its value; kept, as it is the same for every message of a FETCH."""
        if self.section is None or self.name in _RFC822:
            return self.name.encode() + b" "
        base = self.name.replace(".PEEK", "")
        origin = f"<{self.partial[0]}>" if self.partial else ""
        return f"{base}[{self.section}]{origin} ".encode()

    @property
    def binary(self) -> bool:
        return self.name.startswith("BINARY")


def parse_items(arg: Arg) -> list[FetchItem]:
    """The FETCH item list: a macro, one item, or a parenthesized list of items."""
    raw = arg if isinstance(arg, list) else [arg]
    if not raw:
        raise BadCommandError("FETCH needs at least one data item")
    if len(raw) == 1 and isinstance(raw[0], str) and raw[0].upper() in _MACROS:
        raw = list(_MACROS[raw[0].upper()])
    items = []
    for value in raw:
        if not isinstance(value, str):
            raise BadCommandError("FETCH data items are atoms like FLAGS or BODY.PEEK[HEADER]")
        items.append(_item(value))
    return items


def _item(text: str) -> FetchItem:
    upper = text.upper()
    if upper in _SIMPLE:
        return FetchItem(upper)
    if upper in _RFC822:
        section, peek = _RFC822[upper]
        return FetchItem(upper, section=section, peek=peek)
    match = _SECTION.fullmatch(text)
    if match is None:
        raise BadCommandError(f"unknown FETCH data item {text[:40]}")
    name = match.group(1).upper()
    partial = None
    if match.group(3) is not None:
        if name == "BINARY.SIZE":
            raise BadCommandError("BINARY.SIZE takes no <partial>")
        partial = parse_partial(match.group(3))
    section = Section.parse(match.group(2), binary=name.startswith("BINARY"))
    return FetchItem(name, section=section, partial=partial, peek=name.endswith(".PEEK"))


class Structures:
    """Parsed MIME structures for one batch of messages: those the store kept, plus those
    parsed now (first FETCH or SEARCH that needs one), which the caller saves back, so each
    message is parsed once in its life (issue 10 §6). The decoded values of the header
    SEARCH keys are kept apart from the structure (`mime.keep_searched`): `searched` holds
    those the store kept, `new_searched` those decoded now, to save with `new`."""

    def __init__(self, kept: dict[int, bytes], searched: dict[int, bytes] | None = None) -> None:
        self._kept = kept
        self._kept_searched = searched or {}
        self._loaded: dict[int, mime.Kept | None] = {}
        self._parsed: dict[int, mime.Structure] = {}
        self._searched: dict[int, dict[str, tuple[str, ...]]] = {}
        self.new: dict[int, bytes] = {}
        self.new_searched: dict[int, bytes] = {}

    def get(self, uid: int, raw: Callable[[], bytes]) -> mime.Structure:
        structure = self._parsed.get(uid)
        if structure is None:
            kept = self._load(uid)
            try:
                structure = kept.structure() if kept is not None else self._parse(uid, raw)
            except ValueError:  # the kept tree is damaged: parse again
                structure = self._parse(uid, raw)
            self._parsed[uid] = structure
        return structure

    def header(self, uid: int, raw: Callable[[], bytes]) -> bytes:
        """The message's header section, from what was kept without building its parts."""
        structure = self._parsed.get(uid)
        if structure is not None:
            return structure.header
        kept = self._load(uid)
        return kept.header if kept is not None else self.get(uid, raw).header

    def searched(self, uid: int, raw: Callable[[], bytes], name: str) -> tuple[str, ...]:
        """A `mime.SEARCHED` field's values as decoded when the message was first parsed,
        without loading its structure; decoded from the header section now when none (or
        another version's) were kept."""
        searched = self._searched.get(uid)
        if searched is None:
            data = self._kept_searched.get(uid)
            try:
                searched = mime.kept_searched(data) if data is not None else None
            except ValueError:  # kept by another version, or damaged: decode again
                searched = None
            if searched is None:
                searched = self._decode_searched(uid, self.header(uid, raw))
            self._searched[uid] = searched
        return searched.get(name, ())

    def text_parts(self, uid: int, raw: Callable[[], bytes]) -> list[mime.TextPart]:
        """The parts a SEARCH on body text reads, from what was kept without building the
        tree of parts (a third of such a SEARCH's work otherwise)."""
        structure = self._parsed.get(uid)
        if structure is None:
            kept = self._load(uid)
            if kept is not None:
                try:
                    return kept.text_parts
                except ValueError:  # the kept text parts are damaged: parse again
                    pass
            structure = self.get(uid, raw)
        return mime.text_parts(structure.root)

    def rendered(self, uid: int, raw: Callable[[], bytes], name: str) -> Encoded:
        """ENVELOPE, BODY or BODYSTRUCTURE as encoded when the message was first parsed."""
        kept = self._load(uid) if uid not in self._parsed else None
        if kept is not None and name in kept.rendered:
            return Encoded(kept.rendered[name])
        structure = self.get(uid, raw)
        if name not in structure.rendered:  # kept without it: encode now, once per batch
            structure.rendered.update(_renderings(structure))
        return Encoded(structure.rendered[name])

    def _load(self, uid: int) -> mime.Kept | None:
        if uid in self._loaded:
            return self._loaded[uid]
        data = self._kept.get(uid)
        kept = None
        if data is not None:
            try:
                kept = mime.Kept.load(data)
            except ValueError:  # kept by another version of the parser: parse again
                kept = None
        self._loaded[uid] = kept
        return kept

    def _parse(self, uid: int, raw: Callable[[], bytes]) -> mime.Structure:
        structure = mime.parse(raw())
        structure.rendered.update(_renderings(structure))
        self.new[uid] = structure.to_bytes()
        if uid not in self._searched:
            self._decode_searched(uid, structure.header)
        return structure

    def _decode_searched(self, uid: int, header: bytes) -> dict[str, tuple[str, ...]]:
        searched = self._searched[uid] = searched_values(header)
        self.new_searched[uid] = mime.keep_searched(searched)
        return searched


def _renderings(structure: mime.Structure) -> dict[str, bytes]:
    return {
        "ENVELOPE": encode(bodystructure.envelope(structure)),
        "BODY": encode(bodystructure.body(structure, extensible=False)),
        "BODYSTRUCTURE": encode(bodystructure.body(structure, extensible=True)),
    }


class Readers:
    """The message files of one batch, located (one query) only when a message's content
    is first needed: most FETCH and SEARCH commands are answered from the index and the
    kept structures alone."""

    def __init__(self, locate: Callable[[], dict[int, Callable[[], bytes]]]) -> None:
        self._locate = locate
        self._readers: dict[int, Callable[[], bytes]] | None = None

    def reader(self, uid: int) -> Callable[[], bytes]:
        return functools.partial(self._read, uid)

    def _read(self, uid: int) -> bytes:
        if self._readers is None:
            self._readers = self._locate()
        read = self._readers.get(uid)
        if read is None:  # expunged by another session since the batch's index rows
            raise NoSuchMessage("", uid)
        return read()


class Message:
    """One message of the selected mailbox (the `msgview.MessageView` contract)."""

    def __init__(
        self,
        seq: int,
        info: MessageInfo,
        read: Callable[[], bytes],
        structures: Structures,
    ) -> None:
        self.seq = seq
        self.info = info
        self._read = read
        self._structures = structures

    @property
    def uid(self) -> int:
        return self.info.uid

    @property
    def flags(self) -> tuple[str, ...]:
        return self.info.flags

    @property
    def internaldate(self) -> datetime:
        return self.info.internaldate

    @property
    def size(self) -> int:
        return self.info.size

    @property
    def modseq(self) -> int:
        return self.info.modseq

    @cached_property
    def _raw(self) -> bytes:
        return self._read()

    def raw(self) -> bytes:
        return self._raw

    def structure(self) -> mime.Structure:
        return self._structures.get(self.info.uid, self.raw)

    def header(self) -> bytes:
        return self._structures.header(self.info.uid, self.raw)

    def searched(self, name: str) -> tuple[str, ...]:
        return self._structures.searched(self.info.uid, self.raw, name)

    def text_parts(self) -> list[mime.TextPart]:
        return self._structures.text_parts(self.info.uid, self.raw)

    def rendered(self, name: str) -> Encoded:
        return self._structures.rendered(self.info.uid, self.raw, name)


_STATE_ITEMS = {"UID": (b"UID %d", 0), "MODSEQ": (b"MODSEQ (%d)", 1), "FLAGS": (b"FLAGS (%s)", 2)}
"""The items a FETCH can answer from (UID, MODSEQ, flags) alone: their form in the response
and where `StateLines.lines` finds their value in a store row (`flag_states`)."""


def state_only(items: list[FetchItem]) -> bool:
    return all(item.name in _STATE_ITEMS for item in items)


class StateLines:
    """FETCH lines for commands asking only UID, FLAGS and MODSEQ (what sync clients send
    most, e.g. `UID FETCH 1:* (FLAGS)`), formatted straight from the store's rows with one
    template per command: the same bytes as `render`, without a `Message` per row."""

    def __init__(self, items: list[FetchItem], *, uid: bool, modseq: bool) -> None:
        names = [item.name for item in items]
        if uid and "UID" not in names:
            names.insert(0, "UID")
        if modseq and "MODSEQ" not in names:
            names.append("MODSEQ")
        shown = b" ".join(_STATE_ITEMS[name][0] for name in names)
        self._template = b"* %%d FETCH (%s)\r\n" % shown
        places = [_STATE_ITEMS[name][1] for name in names]
        # Each item's value from a row, always as a tuple (itemgetter of one is the value).
        self._pick = (
            operator.itemgetter(*places) if len(places) > 1 else lambda row: (row[places[0]],)
        )

    def lines(
        self, seqs: Iterable[int | None], rows: Iterable[tuple[int, int, bytes]]
    ) -> list[bytes]:
        """The lines for (UID, MODSEQ, flags) rows, flags as stored (space-separated atoms,
        checked when stored: roost.store.flags), numbered by `seqs` (None: the message is
        not in the session's view, no line)."""
        template, pick = self._template, self._pick
        return [
            template % (seq, *pick(row))
            for seq, row in zip(seqs, rows, strict=True)
            if seq is not None
        ]


def render(message: Message, items: list[FetchItem], *, uid: bool, modseq: bool) -> bytes:
    """`* n FETCH (...)` for one message, CRLF included."""
    out: list[bytes] = []
    if uid and not any(item.name == "UID" for item in items):
        out.append(b"UID %d" % message.uid)
    for item in items:
        value = _value(message, item)
        out.append(item.label + (value if type(value) is Encoded else encode(value)))
    if modseq and not any(item.name == "MODSEQ" for item in items):
        out.append(b"MODSEQ (%d)" % message.modseq)
    return b"* %d FETCH (%s)\r\n" % (message.seq, b" ".join(out))


def _value(message: Message, item: FetchItem) -> object:
    name = item.name
    if name == "UID":
        return message.uid
    if name == "FLAGS":  # flags are atoms, checked when stored (roost.store.flags)
        return Encoded(b"(%s)" % " ".join(message.flags).encode())
    if name == "INTERNALDATE":
        return format_datetime(message.internaldate)
    if name == "RFC822.SIZE":
        return message.size
    if name == "MODSEQ":
        return [message.modseq]
    # BODY alone is the structure; BODY[section] (same name, a section) is content.
    if name == "ENVELOPE" or (name in ("BODY", "BODYSTRUCTURE") and item.section is None):
        return message.rendered(name)
    assert item.section is not None
    if item.binary:
        data = binary_section(message.raw(), message.structure(), item.section.path)
    elif item.section == Section():
        data = memoryview(message.raw())  # the whole message needs no MIME parse
    elif not item.section.path and item.section.text.startswith("HEADER"):
        data = header_section(message.header(), item.section)  # kept: no file read
    else:
        data = body_section(message.raw(), message.structure(), item.section)
    if name == "BINARY.SIZE":
        return len(data)
    if item.partial is not None:
        data = partial(data, *item.partial)
    if item.binary and b"\0" in bytes(data):
        return Literal8(data)  # RFC 3516 §4.3: NULs only inside literal8
    return data


def format_datetime(when: datetime) -> str:
    """RFC 9051 §9 date-time: "dd-Mon-yyyy hh:mm:ss +zzzz"."""
    offset = when.strftime("%z") or "+0000"
    return f"{when.day:02d}-{_MONTHS[when.month - 1]}-{when.year:04d} {when:%H:%M:%S} {offset}"
