"""Where each DKIM selector is in its life: pending, active, retiring, removed.

Stored per domain in ``<key_dir>/<domain>/rotation.state`` (JSON, replaced atomically), beside
the key files, which are written once and never change. The signer reads it with the keys
(roost.dkim.keys), so a switch made by ``roost dkim activate`` reaches the running server with
its next message, without a restart.

A domain without the file predates rotation: its newest key of each algorithm signs and older
ones are retiring, as before. Once the file exists, a key it does not list is pending: a key
made by hand, or one whose state was not written because of a crash, never signs before its
record is known to be published (RFC 6376 §3.6.2: a verifier fetches the key by selector, so
mail signed before the record reaches every server fails).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Literal, get_args

Phase = Literal["pending", "active", "retiring", "removed"]
PHASES: tuple[Phase, ...] = get_args(Phase)
STATE_FILE = "rotation.state"


class DKIMStateError(Exception):
    """The state file cannot be read; the message names it and the fix."""


@dataclass(frozen=True)
class SelectorState:
    """One selector's phase and the dates it entered each."""

    selector: str
    algorithm: str
    created: datetime
    phase: Phase
    activated: datetime | None = None
    retiring: datetime | None = None
    removed: datetime | None = None

    def to(self, phase: Phase, when: datetime) -> SelectorState:
        """This selector moved to PHASE at WHEN (the date kept for that phase)."""
        dates = {"active": "activated", "retiring": "retiring", "removed": "removed"}
        changes: dict[str, object] = {"phase": phase}
        if phase in dates:
            changes[dates[phase]] = when
        return replace(self, **changes)  # type: ignore[arg-type]

    def as_json(self) -> dict[str, str | None]:
        return {
            k: v.isoformat() if isinstance(v, datetime) else v
            for k, v in asdict(self).items()
            if k != "selector"
        }

    @classmethod
    def from_json(cls, selector: str, data: dict[str, str | None]) -> SelectorState:
        def date(key: str) -> datetime | None:
            value = data.get(key)
            return datetime.fromisoformat(value) if value else None

        phase = data["phase"]
        if phase not in PHASES:
            raise ValueError(f"unknown phase {phase!r} of selector {selector}")
        created = date("created")
        if created is None:
            raise ValueError(f"selector {selector} has no creation date")
        return cls(
            selector,
            str(data["algorithm"]),
            created,
            phase,  # type: ignore[arg-type]
            date("activated"),
            date("retiring"),
            date("removed"),
        )


def state_stamp(domain_dir: Path) -> tuple[int, int, int] | None:
    """What changes whenever the state file is replaced (a new inode each time)."""
    try:
        st = (domain_dir / STATE_FILE).stat()
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def read_state(domain_dir: Path) -> dict[str, SelectorState] | None:
    """The recorded selectors, or None for a domain that has never been rotated."""
    path = domain_dir / STATE_FILE
    try:
        data = json.loads(path.read_text())
        return {sel: SelectorState.from_json(sel, entry) for sel, entry in data.items()}
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
        raise DKIMStateError(
            f"unreadable DKIM state {path}: {err}; restore it from a backup, or delete it to "
            "let the newest key of each algorithm sign again"
        ) from err


def write_state(domain_dir: Path, entries: Iterable[SelectorState]) -> None:
    """Replace the state file atomically and durably (file, then directory, fsynced)."""
    tmp = domain_dir / f".{STATE_FILE}.tmp"
    data = {e.selector: e.as_json() for e in sorted(entries, key=lambda e: e.selector)}
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=1, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(domain_dir / STATE_FILE)
    dir_fd = os.open(domain_dir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def effective(
    stored: Iterable[tuple[str, str, datetime]], recorded: dict[str, SelectorState] | None
) -> dict[str, SelectorState]:
    """Every selector's phase, from the stored keys (selector, algorithm, created; oldest
    first) and the state file (None when there is none; see the module docstring)."""
    keys = list(stored)
    if recorded is None:
        result: dict[str, SelectorState] = {}
        newer: dict[str, datetime] = {}
        for selector, algorithm, created in reversed(keys):
            if algorithm in newer:
                result[selector] = SelectorState(
                    selector, algorithm, created, "retiring", created, newer[algorithm]
                )
            else:
                result[selector] = SelectorState(selector, algorithm, created, "active", created)
            newer[algorithm] = created
        return result
    result = {s: e for s, e in recorded.items()}
    for selector, algorithm, created in keys:
        if selector not in result:
            result[selector] = SelectorState(selector, algorithm, created, "pending")
    return result
