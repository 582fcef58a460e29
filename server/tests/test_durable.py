"""The order of durable writes, checked on the system calls themselves: a SIGKILL test cannot
see a missing fsync (the page cache survives a killed process), so each call is recorded with
the path it touched, as the kernel sees it (/proc/self/fd)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from roost import durable


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, str]]]:
    recorded: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        recorded.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(src: str | Path, dst: str | Path) -> None:
        real_replace(src, dst)
        recorded.append(("rename", str(dst)))

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    yield recorded


def test_file_fsync_then_rename_then_directory_fsync(
    tmp_path: Path, calls: list[tuple[str, str]]
) -> None:
    target = tmp_path / "message"
    durable.write_durably(target, b"data")
    temp = str(tmp_path / (durable.TEMP_PREFIX + "message"))
    assert calls == [("fsync", temp), ("rename", str(target)), ("fsync", str(tmp_path))]


def test_a_shard_that_exists_already_is_made_durable_on_first_use(
    tmp_path: Path, calls: list[tuple[str, str]]
) -> None:
    """A crash may have come between a shard's mkdir and its parent's fsync."""
    (tmp_path / "ab").mkdir()
    durable.ensure_dir(tmp_path / "ab")
    assert calls == [("fsync", str(tmp_path))]
    durable.ensure_dir(tmp_path / "ab")  # once per process is enough
    assert len(calls) == 1
