"""Real-looking mail for IMAP benchmarks: plain text, text + HTML alternatives, and mixed
messages with a base64 attachment, in proportions like a person's inbox. Deterministic for a
seed, so both servers get the same bytes. Some subjects say "invoice" and some bodies say
"unicorn", so the benchmark's searches have something to find."""

from __future__ import annotations

import base64
import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

WORDS = (
    "meeting", "notes", "project", "deadline", "review", "budget", "draft", "update", "travel",
    "dinner", "weekend", "photos", "report", "question", "answer", "server", "backup", "garden",
    "recipe", "schedule", "ticket", "family",
)  # fmt: skip


def _sentence(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 14))).capitalize() + "."


def _paragraphs(rng: random.Random, count: int) -> list[str]:
    return [" ".join(_sentence(rng) for _ in range(rng.randint(2, 5))) for _ in range(count)]


def message(n: int, rng: random.Random) -> bytes:
    sender = f"{rng.choice(WORDS)}.{rng.choice(WORDS)}@example.org"
    subject = ("Invoice " if n % 10 == 0 else "") + " ".join(rng.choice(WORDS) for _ in range(4))
    when = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=37 * n)
    paragraphs = _paragraphs(rng, rng.randint(2, 8))
    if n % 50 == 0:
        paragraphs.append("A unicorn was seen near the server room.")
    text = "\r\n\r\n".join(paragraphs) + "\r\n"
    headers = (
        f"From: {sender}\r\nTo: bench@example.test\r\nSubject: {subject.strip()}\r\n"
        f"Date: {format_datetime(when)}\r\nMessage-ID: <{n}.bench@example.org>\r\n"
        "MIME-Version: 1.0\r\n"
    )
    kind = n % 3
    if kind == 0:
        return (headers + "Content-Type: text/plain; charset=utf-8\r\n\r\n" + text).encode()
    html = "".join(f"<p>{p}</p>\r\n" for p in paragraphs)
    alternative = (
        "Content-Type: multipart/alternative; boundary=alt\r\n\r\n"
        "--alt\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        + text
        + "--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body>\r\n"
        + html
        + "</body></html>\r\n--alt--\r\n"
    )
    if kind == 1:
        return (headers + alternative).encode()
    blob = base64.encodebytes(rng.randbytes(rng.randint(5_000, 30_000))).decode()
    blob = blob.replace("\n", "\r\n")
    return (
        headers
        + "Content-Type: multipart/mixed; boundary=mixed\r\n\r\n--mixed\r\n"
        + alternative
        + "--mixed\r\nContent-Type: application/pdf; name=scan.pdf\r\n"
        "Content-Disposition: attachment; filename=scan.pdf\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n" + blob + "--mixed--\r\n"
    ).encode()


def corpus(count: int, seed: int = 10) -> list[bytes]:
    rng = random.Random(seed)
    return [message(n, rng) for n in range(count)]
