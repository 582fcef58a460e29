"""FETCH lines from index rows and kept structures alone, for the item lists mail clients
send to list a mailbox (e.g. Thunderbird's headers + BODYSTRUCTURE, or FAST / ALL).

The general renderer (`fetch.render`) builds a `Message` per row and dispatches on every
item of every message; here the items are resolved once per command into one small step
each, and a message costs its slices of the kept structure and one join. A message this
path cannot answer from what was kept (no structure kept yet, one kept by another parser
version or damaged, a rendered value missing) gets None, and the caller renders it the
general way, which also parses and keeps its structure: the bytes are the same either way
(tests/imap/test_fetch_kept.py compares them).

The first HEADER.FIELDS item's answer comes from the store when it keeps that field list
(`kept_fields`; roost/store/sqlite_header_fields.py): picking fields out of a header is
most of a listing's cost otherwise. Answers picked here for a kept list are collected in
`picked` for the caller to keep.
"""

from __future__ import annotations

from collections.abc import Callable

from roost.imap import mime
from roost.imap.fetch import FetchItem, format_datetime
from roost.imap.response import encode, string
from roost.imap.sections import field_list, header_picker, partial
from roost.store.interfaces import KeptRow, from_stored_time

KEEP_FROM = 20
"""A FETCH of a HEADER.FIELDS list over this many messages is a listing (a client filling
its message list, which it does with the same list every time), whose answers the store
then keeps; a message opened now and then is not."""

_Step = Callable[[KeptRow, bytes, tuple[int, ...]], bytes]
"""One item's value for a message: from its row, kept structure and `mime.kept_bounds`."""

_ROW_STEPS: dict[str, _Step] = {
    "UID": lambda row, kept, bounds: b"%d" % row[0],
    # Flags are atoms, checked when stored (roost.store.flags).
    "FLAGS": lambda row, kept, bounds: b"(%s)" % row[2],
    "MODSEQ": lambda row, kept, bounds: b"(%d)" % row[1],
    "RFC822.SIZE": lambda row, kept, bounds: b"%d" % row[3],
    "INTERNALDATE": lambda row, kept, bounds: encode(
        format_datetime(from_stored_time(row[4], row[5]))
    ),
}


class _NotKeptError(Exception):
    """A rendered value the kept structure lacks (kept before it was rendered)."""


def _is_header(item: FetchItem) -> bool:
    """BODY[HEADER], BODY[HEADER.FIELDS (...)], BODY[HEADER.FIELDS.NOT (...)] (PEEK or not,
    <partial> or not) and RFC822.HEADER: the top-level header, kept whole."""
    section = item.section
    return (
        section is not None
        and not item.binary
        and not section.path
        and section.text.startswith("HEADER")
    )


def kept_only(items: list[FetchItem]) -> bool:
    """Whether every item comes from the index row or the kept structure."""
    return all(
        _is_header(item)
        or (item.section is None and (item.name in _ROW_STEPS or item.name in mime.RENDERED))
        for item in items
    )


def _header_step(item: FetchItem, picked: dict[int, bytes] | None) -> _Step:
    """With `picked`, the answer kept with the row is used, and one picked now is put there."""
    assert item.section is not None
    pick = header_picker(item.section)
    window = item.partial

    def step(row: KeptRow, kept: bytes, bounds: tuple[int, ...]) -> bytes:
        data = row[7] if picked is not None else None
        if data is None:
            data = bytes(pick(kept[bounds[0] : bounds[1]]))
            if picked is not None:
                picked[row[0]] = data
        if window is not None:
            return string(bytes(partial(data, *window)))
        # A whole answer ends in its empty line, so it is never a quoted string (`string`
        # would find that out by scanning it): a literal.
        return b"{%d}\r\n%s" % (len(data), data) if data[-1:] == b"\n" else string(data)

    return step


def _rendered_step(name: str) -> _Step:
    index = mime.RENDERED.index(name) + 1

    def step(row: KeptRow, kept: bytes, bounds: tuple[int, ...]) -> bytes:
        start, end = bounds[index], bounds[index + 1]
        if start == end:
            raise _NotKeptError
        return kept[start:end]

    return step


def _kept_fields_item(items: list[FetchItem]) -> FetchItem | None:
    return next((item for item in items if item.section and field_list(item.section)), None)


def kept_fields(items: list[FetchItem]) -> str | None:
    """The field list (`sections.field_list`) whose answers the store may keep for this
    FETCH: its first HEADER.FIELDS item's."""
    item = _kept_fields_item(items)
    return field_list(item.section) if item is not None and item.section is not None else None


class KeptLines:
    """`* n FETCH (...)` lines for a `kept_only` item list, with the UID and MODSEQ that
    UID FETCH and CHANGEDSINCE add (RFC 9051 §6.4.9, RFC 7162 §3.1.4.1) as `render` adds
    them. \\Seen set by the FETCH itself is not handled here: the caller renders those
    messages the general way."""

    def __init__(
        self, items: list[FetchItem], *, uid: bool, modseq: bool, keep_fields: bool = False
    ) -> None:
        """`keep_fields`: the store keeps the answers of `kept_fields(items)` (found in the
        rows' last column then), and those picked now are to be kept."""
        shown = list(items)
        kept_item = _kept_fields_item(items)
        self.picked: dict[int, bytes] = {}
        if uid and not any(item.name == "UID" for item in items):
            shown.insert(0, FetchItem("UID"))
        if modseq and not any(item.name == "MODSEQ" for item in items):
            shown.append(FetchItem("MODSEQ"))
        labels = b" ".join(item.label.replace(b"%", b"%%") + b"%s" for item in shown)
        self._template = b"* %%d FETCH (%s)\r\n" % labels
        picked = self.picked if keep_fields else None
        self._kept_pick = (
            header_picker(kept_item.section)
            if keep_fields and kept_item is not None and kept_item.section is not None
            else None
        )
        self._steps = [
            _header_step(item, picked if item is kept_item else None)
            if item.section is not None
            else self._step(item)
            for item in shown
        ]
        self._needs_kept = any(item.name not in _ROW_STEPS for item in shown)

    @staticmethod
    def _step(item: FetchItem) -> _Step:
        if item.name in mime.RENDERED:
            return _rendered_step(item.name)
        return _ROW_STEPS[item.name]

    def pick(self, uid: int, header: bytes) -> None:
        """Put the kept field list's answer for a message the general way answered (its
        structure was not kept yet) in `picked`, so the list's answers are kept for every
        message of the listing."""
        if self._kept_pick is not None:
            self.picked[uid] = bytes(self._kept_pick(header))

    def line(self, seq: int, row: KeptRow) -> bytes | None:
        """The message's line, or None when what was kept cannot answer it."""
        kept, bounds = b"", ()
        if self._needs_kept:
            kept = row[6]
            if kept is None:
                return None
            try:
                bounds = mime.kept_bounds(kept)
            except ValueError:  # kept by another version, or damaged
                return None
        try:
            values = [step(row, kept, bounds) for step in self._steps]
        except _NotKeptError:
            return None
        return self._template % (seq, *values)
