"""Sequence sets and UID sets (RFC 9051 §9 `sequence-set`, RFC 5182 `$`).

A set is parsed once from its atom into ranges whose bounds may be `*`; it is resolved against
the mailbox as the command runs (the largest sequence number or UID at that moment). Ranges
are merged and sorted so that picking messages out of a mailbox costs a binary search per
range, not a test per message: `UID FETCH 1:*` on a large mailbox stays linear in the answer.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from roost.imap.errors import BadCommandError

STAR = 0
"""`*` as a range bound: 0 is never a valid number (RFC 9051 §9 `nz-number`)."""
MAX_NUMBER = 4294967295  # RFC 9051 §9 `number`: an unsigned 32-bit integer
MAX_RANGES = 100_000
"""Cap on comma-separated items, so a hostile set cannot make resolution take forever."""

Range = tuple[int, int]


def _number(text: str, whole: str) -> int:
    if text == "*":
        return STAR
    # RFC 9051 §9: nz-number = digit-nz *DIGIT; no sign, no leading zero, no spaces.
    if not text.isascii() or not text.isdigit() or text[0] == "0" or len(text) > 10:
        raise BadCommandError(
            f"invalid sequence set {whole[:60]!r}: {text[:20]!r} is not a number from 1 to "
            f"{MAX_NUMBER} or *; write e.g. 1:5,7,10:*"
        )
    value = int(text)
    if value > MAX_NUMBER:
        raise BadCommandError(f"invalid sequence set: {text} is larger than {MAX_NUMBER}")
    return value


@dataclass(frozen=True, slots=True)
class SequenceSet:
    """A parsed `sequence-set`: ranges as written (bounds in either order, `*` as STAR), or
    the saved search result `$` (RFC 5182 §2.1)."""

    ranges: tuple[Range, ...] = ()
    saved: bool = False

    @classmethod
    def parse(cls, text: str | bytes) -> SequenceSet:
        if isinstance(text, bytes):
            text = text.decode("ascii", "replace")
        if text == "$":
            return cls(saved=True)
        if not text:
            raise BadCommandError("empty sequence set; write e.g. 1:* or 4,7:9")
        items = text.split(",")
        if len(items) > MAX_RANGES:
            raise BadCommandError(
                f"sequence set has more than {MAX_RANGES} items; split the command"
            )
        ranges: list[Range] = []
        for item in items:
            first, colon, last = item.partition(":")
            low = _number(first, text)
            ranges.append((low, _number(last, text) if colon else low))
        return cls(tuple(ranges))

    @classmethod
    def of(cls, numbers: Iterable[int]) -> SequenceSet:
        """The set of these numbers (for SEARCHRES results and tests)."""
        return cls(tuple((low, high) for low, high in _compress(numbers)))

    def resolve(self, largest: int, saved: Iterable[int] = ()) -> list[Range]:
        """Sorted, merged, non-overlapping ranges within 1..largest.

        `*` is the largest number in use (RFC 9051 §6.4.9: so `559:*` holds the last UID
        even when 559 is beyond it). `saved` is the numbers `$` stands for."""
        if self.saved:
            return [r for r in _compress(saved) if r[0] <= largest]
        if largest <= 0:
            return []
        bounded = []
        for low, high in self.ranges:
            low = largest if low == STAR else low
            high = largest if high == STAR else high
            if low > high:
                low, high = high, low
            if low <= largest:
                bounded.append((low, min(high, largest)))
        bounded.sort()
        merged: list[Range] = []
        for low, high in bounded:
            if merged and low <= merged[-1][1] + 1:
                if high > merged[-1][1]:
                    merged[-1] = (merged[-1][0], high)
            else:
                merged.append((low, high))
        return merged

    def check_sequence_numbers(self, count: int) -> None:
        """RFC 9051 §9 `seq-number`: a message sequence number beyond the mailbox's count
        is an error (BAD), unlike a UID, which may name an expunged message."""
        if count == 0:
            raise BadCommandError("the mailbox is empty, so no message sequence number exists")
        for low, high in self.ranges:
            for bound in (low, high):
                if bound > count:
                    raise BadCommandError(
                        f"message sequence number {bound} does not exist: the mailbox has "
                        f"{count} messages; use * for the last one or UID commands"
                    )

    def numbers(self, largest: int, saved: Iterable[int] = ()) -> Iterator[int]:
        """Every number in the set up to `largest`, ascending, each once."""
        for low, high in self.resolve(largest, saved):
            yield from range(low, high + 1)

    def positions(self, sorted_values: Sequence[int], saved: Iterable[int] = ()) -> Iterator[int]:
        """Indexes into `sorted_values` (a mailbox's ascending UIDs) of the values in the set:
        a binary search per range, so cost follows the ranges and the answer, not the
        mailbox."""
        if not sorted_values:
            return
        for low, high in self.resolve(sorted_values[-1], saved):
            start = bisect.bisect_left(sorted_values, low)
            stop = bisect.bisect_right(sorted_values, high, lo=start)
            yield from range(start, stop)

    def __str__(self) -> str:
        if self.saved:
            return "$"
        return ",".join(_item(low, high) for low, high in self.ranges)


def _bound(value: int) -> str:
    return "*" if value == STAR else str(value)


def _item(low: int, high: int) -> str:
    return _bound(low) if low == high else f"{_bound(low)}:{_bound(high)}"


def _compress(numbers: Iterable[int]) -> list[Range]:
    ranges: list[Range] = []
    for number in sorted(set(numbers)):
        if ranges and number == ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], number)
        else:
            ranges.append((number, number))
    return ranges


def ranges_contain(ranges: Sequence[Range], number: int) -> bool:
    """Whether a number lies in ranges from `SequenceSet.resolve` (resolve once, test many)."""
    index = bisect.bisect_right(ranges, (number, MAX_NUMBER + 1)) - 1
    return index >= 0 and ranges[index][0] <= number <= ranges[index][1]


def format_set(numbers: Iterable[int]) -> str:
    """The shortest sequence-set text for these numbers (UIDPLUS COPYUID, ESEARCH ALL,
    QRESYNC VANISHED): `1:3,7,9:12`. Empty input gives an empty string."""
    return ",".join(_item(low, high) for low, high in _compress(numbers))
