"""Work proportional to a message's size, kept off the event loop when the message is large.

Every session of every port shares one event loop: a message whose parsing takes a second
there holds every other client for that second. Below `INLINE_BYTES` the work takes
microseconds and the hop to a thread would cost more than the work itself (most mail is a few
kilobytes, and the ingest benchmark counts every hop).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import ParamSpec, TypeVar

INLINE_BYTES = 64 * 1024

P = ParamSpec("P")
T = TypeVar("T")


async def sized(size: int, func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """`func(*args, **kwargs)`: inline for `size` up to INLINE_BYTES, in a thread above."""
    if size <= INLINE_BYTES:
        return func(*args, **kwargs)
    return await asyncio.to_thread(func, *args, **kwargs)
