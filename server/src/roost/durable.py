"""Message files that survive a crash: nothing is acknowledged before it is on disk.

A rename is atomic but only durable once the directory holding it is fsynced (POSIX leaves
the directory entry in the page cache until then), so the sequence is: write a temporary file
in the target directory, fsync it, rename it into place, fsync the directory. Files are named
by a random token and sharded by its first two hex digits (256 directories), which keeps each
directory small without needing to know the message's database id before it is written.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

TEMP_PREFIX = ".tmp-"
_COPY_CHUNK = 1 << 20


@dataclass(frozen=True)
class Joined:
    """A message as bytes in memory (the fields Roost puts in front) followed by a file's
    content (a large message spooled as it arrived): written where it goes in chunks, never
    held whole."""

    head: bytes
    tail: Path

    def __len__(self) -> int:
        return len(self.head) + self.tail.stat().st_size

    def write_to(self, handle: BinaryIO) -> None:
        handle.write(self.head)
        with self.tail.open("rb") as source:
            shutil.copyfileobj(source, handle, _COPY_CHUNK)


def fsync_dir(directory: Path) -> None:
    """Make entries created, renamed or removed in `directory` durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_DURABLE_DIRS: set[Path] = set()  # made durable by this process: no system call needed


def ensure_dir(directory: Path) -> None:
    """Create a private directory, and make its own entry durable in its parent: also when it
    exists already, once per process, since a crash may have come between its creation and
    that fsync."""
    if directory in _DURABLE_DIRS:
        return
    with contextlib.suppress(FileExistsError):
        directory.mkdir(mode=0o700)
    fsync_dir(directory.parent)
    _DURABLE_DIRS.add(directory)


def write_durably(path: Path, data: bytes | Joined, *, mode: int = 0o600, gid: int = -1) -> None:
    """Write `data` at `path` so that, once this returns, a crash cannot lose or tear it.

    The file gets `mode` and group `gid` before it is renamed into place, so readers never
    see it with other permissions. A temporary file a crash left behind is replaced.
    """
    temp = path.with_name(TEMP_PREFIX + path.name)
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        temp.unlink()
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            if gid != -1:
                os.fchown(handle.fileno(), -1, gid)
            if mode != 0o600:  # message files keep the creation mode: no extra system call
                os.fchmod(handle.fileno(), mode)
            if isinstance(data, Joined):
                data.write_to(handle)
            else:
                handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def new_message_path(root: Path) -> Path:
    """A fresh, unused location under `root`, its shard directory created if needed."""
    name = secrets.token_hex(16)
    shard = root / name[:2]
    ensure_dir(shard)
    return shard / name


def remove_files(root: Path, relative: Iterable[str]) -> None:
    """Delete files whose index rows are gone; a crash before this leaves orphans, swept later."""
    for rel in relative:
        (root / rel).unlink(missing_ok=True)


def sweep_orphans(root: Path, referenced: set[str], older_than: float) -> list[str]:
    """Delete files no index row names, if older than `older_than` seconds.

    They are what a crash between writing a file and committing its row leaves behind. The
    age limit spares files another process has written and is about to commit.
    """
    cutoff = time.time() - older_than
    removed = []
    for shard in root.iterdir():
        if not shard.is_dir():
            continue
        for entry in shard.iterdir():
            rel = f"{shard.name}/{entry.name}"
            if rel in referenced or not entry.is_file():
                continue
            try:
                stale = entry.stat().st_mtime <= cutoff
            except FileNotFoundError:  # removed meanwhile by whoever owned it
                continue
            if stale:
                entry.unlink(missing_ok=True)
                removed.append(rel)
    return sorted(removed)
