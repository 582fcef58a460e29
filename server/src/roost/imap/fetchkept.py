"""FETCH lines from index rows and kept structures alone, for the item lists mail clients
send to list a mailbox (e.g. Thunderbird's headers + BODYSTRUCTURE, or FAST / ALL).

The general renderer (`fetch.render`) builds a `Message` per row and dispatches on every
item of every message; here the items are resolved once per command into one small step
each, and a message costs its slices of the kept structure and one join. A message this
path cannot answer from what was kept (no structure kept yet, one kept by another parser
version or damaged, a rendered value missing) gets None, and the caller renders it the
general way, which also parses and keeps its structure: the bytes are the same either way
(tests/imap/test_fetch_kept.py compares them).
"""

from __future__ import annotations

from collections.abc import Callable

from roost.imap import mime
from roost.imap.fetch import FetchItem, format_datetime
from roost.imap.response import encode, string
from roost.imap.sections import header_picker, partial
from roost.store.interfaces import KeptRow, from_stored_time

_Step = Callable[[KeptRow, bytes, dict[str, bytes]], bytes]
"""One item's value for a message: from its row, header section and rendered values."""

_ROW_STEPS: dict[str, _Step] = {
    "UID": lambda row, header, rendered: b"%d" % row[0],
    # Flags are atoms, checked when stored (roost.store.flags).
    "FLAGS": lambda row, header, rendered: b"(%s)" % row[2],
    "MODSEQ": lambda row, header, rendered: b"(%d)" % row[1],
    "RFC822.SIZE": lambda row, header, rendered: b"%d" % row[3],
    "INTERNALDATE": lambda row, header, rendered: encode(
        format_datetime(from_stored_time(row[4], row[5]))
    ),
}
_RENDERED = ("ENVELOPE", "BODY", "BODYSTRUCTURE")


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
        or (item.section is None and (item.name in _ROW_STEPS or item.name in _RENDERED))
        for item in items
    )


def _header_step(item: FetchItem) -> _Step:
    assert item.section is not None
    pick = header_picker(item.section)
    window = item.partial

    def step(row: KeptRow, header: bytes, rendered: dict[str, bytes]) -> bytes:
        data = pick(header)
        if window is not None:
            data = partial(data, *window)
        return string(bytes(data))

    return step


def _rendered_step(name: str) -> _Step:
    return lambda row, header, rendered: rendered[name]


class KeptLines:
    """`* n FETCH (...)` lines for a `kept_only` item list, with the UID and MODSEQ that
    UID FETCH and CHANGEDSINCE add (RFC 9051 §6.4.9, RFC 7162 §3.1.4.1) as `render` adds
    them. \\Seen set by the FETCH itself is not handled here: the caller renders those
    messages the general way."""

    def __init__(self, items: list[FetchItem], *, uid: bool, modseq: bool) -> None:
        shown = list(items)
        if uid and not any(item.name == "UID" for item in items):
            shown.insert(0, FetchItem("UID"))
        if modseq and not any(item.name == "MODSEQ" for item in items):
            shown.append(FetchItem("MODSEQ"))
        labels = b" ".join(item.label.replace(b"%", b"%%") + b"%s" for item in shown)
        self._template = b"* %%d FETCH (%s)\r\n" % labels
        self._steps = [self._step(item) for item in shown]
        self._needs_kept = any(item.name not in _ROW_STEPS for item in shown)

    @staticmethod
    def _step(item: FetchItem) -> _Step:
        if item.section is not None:
            return _header_step(item)
        if item.name in _RENDERED:
            return _rendered_step(item.name)
        return _ROW_STEPS[item.name]

    def line(self, seq: int, row: KeptRow) -> bytes | None:
        """The message's line, or None when what was kept cannot answer it."""
        header, rendered = b"", {}
        if self._needs_kept:
            kept = row[6]
            if kept is None:
                return None
            try:
                header, rendered = mime.kept_header(kept)
            except ValueError:  # kept by another version, or damaged
                return None
        try:
            values = [step(row, header, rendered) for step in self._steps]
        except KeyError:  # kept without one of the rendered values
            return None
        return self._template % (seq, *values)
