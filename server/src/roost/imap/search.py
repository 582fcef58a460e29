"""SEARCH programs (RFC 9051 §6.4.4, RFC 3501 §6.4.4, RFC 7162 §3.1.5 MODSEQ, RFC 4731 /
RFC 9051 ESEARCH return options, RFC 5182 SAVE and `$`).

`parse_search` turns the engine's tokenized arguments into a `SearchProgram`;
`SearchProgram.matcher` compiles it once per command against the mailbox (sequence sets
resolved, `$` bound) into a predicate over `MessageView`s. In every AND the keys that need
only the index (flags, UIDs, sizes, dates, MODSEQ) run before those that read the message,
and a message's bytes are read and decoded at most once per search.
"""

from __future__ import annotations

import email.utils
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import date

from roost.imap import mimeheaders
from roost.imap.errors import BadCharsetError, BadCommandError
from roost.imap.mime import SEARCHED, Structure
from roost.imap.msgview import MessageView, Value
from roost.imap.searchtext import body_text, decode_header, folded_header
from roost.imap.seqset import SequenceSet, format_set, ranges_contain

MAX_DEPTH = 50
"""Nesting of NOT/OR/parentheses we follow; deeper programs are refused with BAD."""
CHARSETS = frozenset({"UTF-8", "US-ASCII"})
RETURN_OPTIONS = frozenset({"MIN", "MAX", "ALL", "COUNT", "SAVE"})
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
FLAG_KEYS = {
    "ANSWERED": ("\\Answered", True),
    "DELETED": ("\\Deleted", True),
    "DRAFT": ("\\Draft", True),
    "FLAGGED": ("\\Flagged", True),
    "RECENT": ("\\Recent", True),
    "SEEN": ("\\Seen", True),
    "OLD": ("\\Recent", False),
    "UNANSWERED": ("\\Answered", False),
    "UNDELETED": ("\\Deleted", False),
    "UNDRAFT": ("\\Draft", False),
    "UNFLAGGED": ("\\Flagged", False),
    "UNSEEN": ("\\Seen", False),
}
HEADER_KEYS = frozenset({"BCC", "CC", "FROM", "SUBJECT", "TO"})
DATE_KEYS = frozenset({"BEFORE", "ON", "SINCE", "SENTBEFORE", "SENTON", "SENTSINCE"})
CHEAP, HEADERS, BODY = 0, 1, 2  # what a key costs: index only, header fields, whole body


class _Message:
    """One message during one search: its content read and decoded on first need only."""

    __slots__ = ("_all", "_body", "_fields", "_headers", "_raw", "_structure", "view")

    def __init__(self, view: MessageView) -> None:
        self.view = view
        self._raw: bytes | None = None
        self._structure: Structure | None = None
        self._fields: list[tuple[str, str]] | None = None
        self._headers: dict[str, Sequence[str]] = {}
        self._body: str | None = None
        self._all: str | None = None

    def raw(self) -> bytes:
        if self._raw is None:
            self._raw = self.view.raw()
        return self._raw

    def structure(self) -> Structure:
        if self._structure is None:
            self._structure = self.view.structure()
        return self._structure

    def fields(self) -> list[tuple[str, str]]:
        if self._fields is None:  # the kept header section: no file read
            header = self.view.header()
            self._fields = mimeheaders.fields(header, 0, len(header))
        return self._fields

    def header(self, name: str) -> Sequence[str]:
        """Decoded, case-folded values of every field of this name: kept for the message
        for the SEARCHED fields, else decoded from the header section now."""
        values = self._headers.get(name)
        if values is None:
            values = self.view.searched(name) if name in SEARCHED else None
            if values is None:
                values = [folded_header(value) for field, value in self.fields() if field == name]
            self._headers[name] = values
        return values

    def all_headers(self) -> str:
        if self._all is None:
            self._all = "\n".join(
                f"{name}: {decode_header(value)}".casefold() for name, value in self.fields()
            )
        return self._all

    def body(self) -> str:
        if self._body is None:
            self._body = body_text(self.raw(), self.view.text_parts())
        return self._body


Test = Callable[[_Message], bool]


@dataclass(frozen=True, slots=True)
class Bounds:
    """What a program is compiled against: the mailbox when the command runs."""

    count: int
    largest_uid: int
    saved_uids: Collection[int] = ()


@dataclass(slots=True)
class Key:
    """A parsed search key: `compile` makes its test once the mailbox is known. `needles`
    are texts every matching message holds in one of its `mime.SEARCHED` fields (decoded,
    case-folded): the store can pass over messages whose kept values lack one."""

    cost: int
    compile: Callable[[Bounds], Test]
    needles: tuple[str, ...] = ()


@dataclass(slots=True)
class SearchProgram:
    """A parsed SEARCH command: what to match and how the answer is shaped."""

    key: Key
    charset: str = "US-ASCII"
    return_options: tuple[str, ...] | None = None
    """None: a plain SEARCH answer; a tuple (possibly empty = ALL): ESEARCH (RFC 9051
    §6.4.4 search-return-opts)."""
    uses_modseq: bool = False
    """RFC 7162 §3.1.5: a MODSEQ key makes the answer carry the highest mod-sequence."""

    @property
    def save(self) -> bool:
        return self.return_options is not None and "SAVE" in self.return_options

    def matcher(self, bounds: Bounds) -> Callable[[MessageView], bool]:
        test = self.key.compile(bounds)
        return lambda view: test(_Message(view))


@dataclass(slots=True)
class _Parser:
    args: Sequence[Value]
    pos: int = 0
    modseq: bool = False

    def take(self, what: str, after: str) -> Value:
        if self.pos >= len(self.args):
            raise BadCommandError(" ".join(filter(None, ("SEARCH", after, "needs", what))))
        value = self.args[self.pos]
        self.pos += 1
        return value

    def string(self, after: str) -> str:
        value = self.take("a string", after)
        if isinstance(value, bytes):
            return value.decode("utf-8", "replace")
        if isinstance(value, str):
            return value
        raise BadCommandError(f"SEARCH {after} needs a string, not a list")

    def atom(self, after: str) -> str:
        value = self.take("an argument", after)
        if not isinstance(value, str):
            raise BadCommandError(f"SEARCH {after} needs an atom")
        return value

    def number(self, after: str) -> int:
        text = self.atom(after)
        if not text.isascii() or not text.isdigit() or len(text) > 20:
            raise BadCommandError(f"SEARCH {after} needs a number, got {text[:20]!r}")
        return int(text)

    def day(self, after: str) -> date:
        value = self.take("a date", after)
        text = value.decode("latin-1") if isinstance(value, bytes) else value
        if not isinstance(text, str):
            raise BadCommandError(f"SEARCH {after} needs a date like 1-Feb-1994")
        parts = text.split("-")
        # RFC 9051 §9 date-text = date-day "-" date-month "-" date-year
        if (
            len(parts) == 3
            and parts[0].isascii()
            and parts[0].isdigit()
            and len(parts[0]) <= 2
            and parts[1].upper() in MONTHS
            and parts[2].isascii()
            and parts[2].isdigit()
            and len(parts[2]) == 4
        ):
            try:
                return date(int(parts[2]), MONTHS.index(parts[1].upper()) + 1, int(parts[0]))
            except ValueError:
                pass
        raise BadCommandError(f"SEARCH {after}: {text[:30]!r} is not a date like 1-Feb-1994")

    def keys_until_end(self, depth: int) -> Key:
        keys = []
        while self.pos < len(self.args):
            keys.append(self.key(depth))
        if not keys:
            raise BadCommandError("SEARCH needs at least one search key, e.g. ALL")
        return _and(keys)

    def key(self, depth: int, after: str = "") -> Key:
        if depth > MAX_DEPTH:
            raise BadCommandError(f"SEARCH nests deeper than {MAX_DEPTH} levels")
        value = self.take("a search key", after)
        if isinstance(value, list | tuple):
            inner = _Parser(value, modseq=self.modseq)
            key = inner.keys_until_end(depth + 1)
            self.modseq = inner.modseq
            return key
        if not isinstance(value, str):
            raise BadCommandError("SEARCH expected a search key but got a string")
        name = value.upper()
        if name in FLAG_KEYS:
            flag, present = FLAG_KEYS[name]
            return _flag(flag, present)
        if name in ("KEYWORD", "UNKEYWORD"):
            return _flag(self.atom(name), name == "KEYWORD")
        if name == "ALL":
            return Key(CHEAP, lambda _b: lambda _m: True)
        if name == "NEW":  # RFC 3501: RECENT UNSEEN
            return _and([_flag("\\Recent", True), _flag("\\Seen", False)])
        if name == "NOT":
            return _not(self.key(depth + 1, name))
        if name == "OR":
            return _or(self.key(depth + 1, name), self.key(depth + 1, name))
        if name in ("LARGER", "SMALLER"):
            return _size(name, self.number(name))
        if name in DATE_KEYS:
            return _date(name, self.day(name))
        if name in HEADER_KEYS:
            return _header(name.lower(), self.string(name))
        if name == "HEADER":
            field_name = self.string(name).strip().lower()
            return _header(field_name, self.string(f"HEADER {field_name}"))
        if name in ("BODY", "TEXT"):
            return _text(name, self.string(name))
        if name == "UID":
            return _sequence(SequenceSet.parse(self.atom(name)), uid=True)
        if name == "MODSEQ":
            return self.modseq_key()
        if value[:1].isdigit() or value[:1] in ("*", "$"):
            return _sequence(SequenceSet.parse(value), uid=False)
        raise BadCommandError(f"unknown SEARCH key {value[:30]!r}")

    def modseq_key(self) -> Key:
        """RFC 7162 §3.1.5: MODSEQ [entry-name entry-type-req] mod-sequence-valzer. The
        entry (a flag's own mod-sequence) is accepted and ignored: we keep one per message."""
        if self.pos < len(self.args) and isinstance(self.args[self.pos], bytes):
            self.pos += 1
            kind = self.atom("MODSEQ entry")
            if kind.lower() not in ("priv", "shared", "all"):
                raise BadCommandError("SEARCH MODSEQ entry type must be priv, shared or all")
        least = self.number("MODSEQ")
        self.modseq = True
        return Key(CHEAP, lambda _b: lambda m: m.view.modseq >= least)


def _and(keys: list[Key]) -> Key:
    if len(keys) == 1:
        return keys[0]
    ordered = sorted(keys, key=lambda k: k.cost)

    def compile_all(bounds: Bounds) -> Test:
        tests = [k.compile(bounds) for k in ordered]
        return lambda m: all(test(m) for test in tests)

    needles = tuple(needle for key in keys for needle in key.needles)
    return Key(max(k.cost for k in keys), compile_all, needles)


def _or(left: Key, right: Key) -> Key:
    first, second = sorted((left, right), key=lambda k: k.cost)

    def compile_or(bounds: Bounds) -> Test:
        a, b = first.compile(bounds), second.compile(bounds)
        return lambda m: a(m) or b(m)

    return Key(max(left.cost, right.cost), compile_or)


def _not(key: Key) -> Key:
    def compile_not(bounds: Bounds) -> Test:
        test = key.compile(bounds)
        return lambda m: not test(m)

    return Key(key.cost, compile_not)


def has_flag(flags: Collection[str], flag: str) -> bool:
    """Flags compare case-insensitively (RFC 9051 §2.3.2)."""
    if flag in flags:
        return True
    folded = flag.lower()
    return any(f.lower() == folded for f in flags)


def _flag(flag: str, present: bool) -> Key:
    return Key(CHEAP, lambda _b: lambda m: has_flag(m.view.flags, flag) == present)


def _size(name: str, limit: int) -> Key:
    if name == "LARGER":
        return Key(CHEAP, lambda _b: lambda m: m.view.size > limit)
    return Key(CHEAP, lambda _b: lambda m: m.view.size < limit)


def _compare(name: str, day: date) -> Callable[[date], bool]:
    if name.endswith("BEFORE"):
        return lambda d: d < day
    if name.endswith("ON"):
        return lambda d: d == day
    return lambda d: d >= day


NO_DATE = date(1970, 1, 1)


def sent_date(value: str | None) -> date:
    """The date of a Date: field in its own zone (RFC 9051 §6.4.4: "disregarding time and
    timezone"). A missing or unreadable one counts as 1970-01-01, as in Dovecot."""
    if not value:
        return NO_DATE
    try:
        parsed = email.utils.parsedate_tz(value)
        return date(parsed[0], parsed[1], parsed[2]) if parsed else NO_DATE
    except (ValueError, TypeError, IndexError, OverflowError):
        return NO_DATE


def _date(name: str, day: date) -> Key:
    compare = _compare(name, day)
    if not name.startswith("SENT"):
        return Key(CHEAP, lambda _b: lambda m: compare(m.view.internaldate.date()))

    return Key(
        HEADERS, lambda _b: lambda m: compare(sent_date(mimeheaders.first(m.fields(), "date")))
    )


def _header(name: str, text: str) -> Key:
    needle = text.casefold()
    if not needle:  # RFC 9051 §6.4.4: HEADER with "" matches any message with the field
        return Key(HEADERS, lambda _b: lambda m: any(f == name for f, _ in m.fields()))
    needles = (needle,) if name in SEARCHED else ()
    return Key(HEADERS, lambda _b: lambda m: any(needle in v for v in m.header(name)), needles)


def _text(name: str, text: str) -> Key:
    needle = text.casefold()
    if name == "BODY":
        return Key(BODY, lambda _b: lambda m: needle in m.body())
    return Key(BODY, lambda _b: lambda m: needle in m.all_headers() or needle in m.body())


def _sequence(numbers: SequenceSet, *, uid: bool) -> Key:
    """A sequence set matches by sequence number, a UID set by UID; `$` is the saved
    result (RFC 5182 §2.1), kept by UID."""

    def compile_set(bounds: Bounds) -> Test:
        if numbers.saved:
            saved = frozenset(bounds.saved_uids)
            return lambda m: m.view.uid in saved
        ranges = numbers.resolve(bounds.largest_uid if uid else bounds.count)
        if uid:
            return lambda m: ranges_contain(ranges, m.view.uid)
        return lambda m: ranges_contain(ranges, m.view.seq)

    return Key(CHEAP, compile_set)


def parse_search(args: Sequence[Value]) -> SearchProgram:
    """The arguments after SEARCH (or UID SEARCH): [RETURN (options)] [CHARSET name] keys."""
    parser = _Parser(args)
    options: tuple[str, ...] | None = None
    if args and isinstance(args[0], str) and args[0].upper() == "RETURN":
        parser.pos = 1
        listed = parser.take("a parenthesized list of options", "RETURN")
        if not isinstance(listed, list | tuple) or not all(isinstance(o, str) for o in listed):
            raise BadCommandError("SEARCH RETURN needs a list such as (MIN MAX COUNT)")
        options = tuple(str(o).upper() for o in listed)
        unknown = [o for o in options if o not in RETURN_OPTIONS]
        if unknown:
            raise BadCommandError(
                f"unknown SEARCH RETURN option {unknown[0][:20]}; use MIN, MAX, ALL, COUNT, SAVE"
            )
    charset = "US-ASCII"
    following = args[parser.pos] if parser.pos < len(args) else None
    if isinstance(following, str) and following.upper() == "CHARSET":
        parser.pos += 1
        charset = parser.string("CHARSET").upper()
        if charset not in CHARSETS:  # RFC 9051 §6.4.4: NO [BADCHARSET] listing ours
            raise BadCharsetError(charset)
    key = parser.keys_until_end(0)
    return SearchProgram(key, charset, options, parser.modseq)


def esearch_data(
    numbers: Sequence[int], options: Sequence[str], highest_modseq: int | None = None
) -> list[Value]:
    """The result items of an ESEARCH response (RFC 4731 §3.1, RFC 9051 §7.3.4) for the
    matching numbers in ascending order: MIN/MAX/ALL only when something matched, COUNT
    always; RETURN () means ALL. Add MODSEQ when the program used it (RFC 7162 §3.1.5)."""
    wanted = set(options) or {"ALL"}
    items: list[Value] = []
    if numbers and "MIN" in wanted:
        items += ["MIN", numbers[0]]
    if numbers and "MAX" in wanted:
        items += ["MAX", numbers[-1]]
    if "COUNT" in wanted:
        items += ["COUNT", len(numbers)]
    if numbers and "ALL" in wanted:
        items += ["ALL", format_set(numbers)]
    if numbers and highest_modseq is not None:
        items += ["MODSEQ", highest_modseq]
    return items
