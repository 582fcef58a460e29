"""A body spooled to a file as it arrives is the body kept in memory, byte for byte: the
reader cuts it into pieces that are unstuffed and given CRLF line ends one at a time, so
every place a dot, a CR or an LF can fall against a cut is tried here."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from roost.smtp.headers import crlf_line_ends
from roost.smtp.limits import ByteBudget
from roost.smtp.reader import Reader
from roost.smtp.spooled import SpooledMessage

END = b"\r\n.\r\n"


class Transport:
    """What the reader asks of its transport: flow control only."""

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def receive(
    wire: bytes, sizes: list[int], spool_dir: Path | None
) -> tuple[bytes | SpooledMessage | None, bytes]:
    """read_data over `wire` fed in pieces of `sizes`, and the line pipelined after it."""
    reader = Reader(Transport())  # type: ignore[arg-type]

    async def feed() -> None:
        pos = 0
        while pos < len(wire):
            for size in sizes:
                reader.feed(wire[pos : pos + size])
                pos += size
                await asyncio.sleep(0)

    feeding = asyncio.create_task(feed())
    body = await reader.read_data(10**6, ByteBudget(10**7), [0], spool_dir, spool_above=16)
    after = await reader.readline(100)
    await feeding
    return body, after


pieces = st.lists(
    st.sampled_from([b"a", b".", b"..", b"\r", b"\n", b"\r\n", b"\r\n.", b"x" * 7]), min_size=8
)


@settings(max_examples=300, deadline=None)
@given(parts=pieces, sizes=st.lists(st.integers(1, 12), min_size=1, max_size=20))
def test_spooled_body_equals_the_body_in_memory(parts: list[bytes], sizes: list[int]) -> None:
    body = b"".join(parts)
    if END in body + b"\r\n" or (body + b"\r\n").startswith(b".\r\n"):
        return  # the end mark would come early
    wire = body + END + b"QUIT\r\n"
    in_memory, after = asyncio.run(receive(wire, sizes, None))
    assert isinstance(in_memory, bytes) and after == b"QUIT"
    with tempfile.TemporaryDirectory() as directory:
        spooled, after = asyncio.run(receive(wire, sizes, Path(directory)))
        assert after == b"QUIT"
        assert isinstance(spooled, SpooledMessage) or len(body) < 40
        if isinstance(spooled, SpooledMessage):
            assert spooled.read() == crlf_line_ends(in_memory)
            spooled.discard()
        else:
            assert spooled == in_memory
        assert list(Path(directory).iterdir()) == []
