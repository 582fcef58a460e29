"""The contract between the protocol engine and the message functions (FETCH, SEARCH).

The engine's parser hands arguments over as Python values and renders what comes back:
`Value` is that shape. A `MessageView` is one message of the selected mailbox as the engine
sees it: the cheap per-message state from the store's index, plus lazy access to the bytes
and to the parsed structure (computed once per message and cached by the engine), so SEARCH
can decide on flags, UIDs, sizes and dates before any message file is read.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, TypeAlias

from roost.imap.mime import Structure, TextPart, parse, text_parts

Value: TypeAlias = "int | bytes | str | Sequence[Value] | None"
"""IMAP data as Python values, both ways: None = NIL, int = number, bytes = a string (quoted
or literal, the renderer decides), str = an atom from the parser (and a string when we
return it), list/tuple = a parenthesized list."""


class MessageView(Protocol):
    """One message of the selected mailbox."""

    @property
    def uid(self) -> int: ...
    @property
    def seq(self) -> int: ...
    @property
    def flags(self) -> Collection[str]: ...
    @property
    def internaldate(self) -> datetime: ...
    @property
    def size(self) -> int: ...
    @property
    def modseq(self) -> int: ...
    def raw(self) -> bytes:
        """The whole message; called only when a key needs its content."""
        ...

    def structure(self) -> Structure:
        """The parsed structure (`roost.imap.mime.parse(raw())`, cached by the caller)."""
        ...

    def header(self) -> bytes:
        """The header section (`structure().header`), without building the parts if kept."""
        ...

    def searched(self, name: str) -> Sequence[str] | None:
        """The decoded, case-folded values of a `mime.SEARCHED` field as kept for the
        message (`mime.keep_searched`); None when none are kept (SEARCH decodes them)."""
        ...

    def text_parts(self) -> Sequence[TextPart]:
        """The parts a SEARCH on body text reads (`mime.text_parts` of the structure),
        without building the parts if kept."""
        ...


@dataclass
class LoadedMessage:
    """A `MessageView` over bytes already in memory (APPEND, tests); parses on first need."""

    uid: int
    seq: int
    message: bytes
    internaldate: datetime
    flags: Collection[str] = ()
    modseq: int = 1
    parsed: Structure | None = field(default=None, repr=False)

    @property
    def size(self) -> int:
        return len(self.message)

    def raw(self) -> bytes:
        return self.message

    def structure(self) -> Structure:
        if self.parsed is None:
            self.parsed = parse(self.message)
        return self.parsed

    def header(self) -> bytes:
        return self.structure().header

    def searched(self, name: str) -> Sequence[str] | None:
        return None  # parsed here, not kept: nothing decoded ahead

    def text_parts(self) -> Sequence[TextPart]:
        return text_parts(self.structure().root)
