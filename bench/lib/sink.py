"""The final destination of a relay benchmark: Postfix's `smtp-sink`, counting what arrives.

It is the test suite's `SMTPSink` (server/tests/postfix.py: smtp-sink on a free loopback port,
one dump file per transaction, stopped by its pid) with `-c`, which makes smtp-sink print
`sess=N quit=N mesg=N` to its log whenever a message ends: reading the last of those is a cheap
way to watch the count during a timed run. After the run the dump files say which messages
came (by Message-ID), and are removed so the next run starts from an empty directory.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from pathlib import Path

from tests.smtpsink import SMTPSink

_COUNTER = re.compile(rb"mesg=(\d+)")
_MESSAGE_ID = re.compile(rb"^Message-ID:[ \t]*(<[^>\r\n]*>)", re.I | re.M)


class CountingSink:
    def __init__(self, hostname: str = "sink.bench.test") -> None:
        self._sink = SMTPSink(hostname=hostname, args=["-c"], backlog=512)

    @property
    def port(self) -> int:
        return self._sink.port

    @property
    def pid(self) -> int | None:
        return self._sink.pid

    def start(self) -> None:
        self._sink.start()

    def stop(self) -> None:
        self._sink.stop()

    def received(self) -> int:
        """Messages whose end of DATA the sink has seen since it started."""
        log: Path = self._sink.log_path
        try:
            with log.open("rb") as handle:
                handle.seek(0, 2)
                size = handle.tell()
                handle.seek(max(0, size - 256))
                tail = handle.read()
        except FileNotFoundError:
            return 0
        found = _COUNTER.findall(tail)
        return int(found[-1]) if found else 0

    def collect(self, expected: int, timeout: float = 60.0) -> Counter[str]:
        """Message-IDs of the transactions dumped since the last call (waiting, bounded, until
        `expected` are complete), then removes their files. Raises if fewer ever arrive."""
        deadline = time.monotonic() + timeout
        while True:
            messages = self._sink.messages()
            if len(messages) >= expected or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        ids: Counter[str] = Counter()
        for message in messages:
            match = _MESSAGE_ID.search(message.data.split(b"\n\n", 1)[0])
            ids[match.group(1).decode("ascii", "replace") if match else "(none)"] += 1
        for path in self._sink.dump_dir.iterdir():
            path.unlink()
        if len(messages) < expected:
            raise RuntimeError(
                f"the sink has {len(messages)} complete messages, expected {expected}:\n"
                + self._sink.log()[-2000:]
            )
        return ids

    def sample(self) -> bytes | None:
        """The latest complete message (for checking what a relay sends), or None."""
        messages = self._sink.messages()
        return messages[-1].data if messages else None
