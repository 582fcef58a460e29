"""A local Maildir as the sync clients leave it: message files and the flags in their names."""

from __future__ import annotations

from pathlib import Path

# Maildir info letters and the IMAP system flags they stand for (cr.yp.to/proto/maildir.html).
FLAG_LETTERS = {
    "D": "\\Draft",
    "F": "\\Flagged",
    "R": "\\Answered",
    "S": "\\Seen",
    "T": "\\Deleted",
}


def messages(folder: Path) -> list[Path]:
    return sorted([*(folder / "cur").iterdir(), *(folder / "new").iterdir()])


def with_flag(name: str, letter: str) -> str:
    base, _, letters = name.partition(":2,")
    return f"{base}:2,{''.join(sorted(set(letters + letter)))}"


def flags(path: Path) -> frozenset[str]:
    letters = path.name.partition(":2,")[2]
    return frozenset(FLAG_LETTERS[letter] for letter in letters if letter in FLAG_LETTERS)
