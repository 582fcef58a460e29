"""The server's log lines: one record, one line, whatever a client sent.

Log messages quote clients (logins, addresses, HELO names, replies of remote servers). A
newline in a base64 login once wrote a complete forged line (`auth ok for ...`), which
fail2ban and an operator would both believe. Every control character in a message is shown
escaped instead; tracebacks, which are ours, keep their lines.
"""

from __future__ import annotations

import logging
import sys

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def escape(text: str) -> str:
    """`text` with each non-printable character written as a Python escape (\\n, \\x1b, ...)."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


class OneLineFormatter(logging.Formatter):
    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        record.message = escape(record.message)
        return super().formatMessage(record)


def configure(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(OneLineFormatter(FORMAT))
    logging.basicConfig(level=level.upper(), handlers=[handler])
