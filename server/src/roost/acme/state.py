"""What earlier runs learnt, kept beside the account key (``/etc/roost/acme/state.json``).

Two things: the last failure (so a timer that fires twice a day backs off instead of
hammering the CA: Let's Encrypt allows ~5 failed validations per name per hour, and its
integration guide asks for back-off), and the CA's renewal window (ARI, RFC 9773) with the
time it said to ask again, so a run that is not due contacts nobody.

A failure is tied to a digest of the settings: changing any setting (a fixed credential, a new
domain) lifts the back-off at once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from roost.acme.settings import Settings
from roost.durable import write_durably

#: Back-off after the first failure; doubled per further failure up to BACKOFF_MAX.
BACKOFF_FIRST = dt.timedelta(hours=1)
BACKOFF_MAX = dt.timedelta(days=1)


@dataclass(frozen=True)
class Failure:
    digest: str
    count: int
    at: dt.datetime
    error: str

    def retry_at(self) -> dt.datetime:
        return self.at + min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** (self.count - 1))


@dataclass(frozen=True)
class RenewalInfo:
    """The CA's answer about one certificate (by its PEM digest): when to renew, when to ask."""

    cert: str
    supported: bool
    renew_at: dt.datetime | None
    next_check: dt.datetime


@dataclass(frozen=True)
class State:
    failure: Failure | None = None
    ari: RenewalInfo | None = None


def settings_digest(settings: Settings) -> str:
    fields = dataclasses.asdict(settings)
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()


def cert_digest(pem: bytes) -> str:
    return hashlib.sha256(pem).hexdigest()


def load(path: Path) -> State:
    """The saved state; a missing or damaged file is a fresh start (it only saves CA calls)."""
    try:
        data = json.loads(path.read_text())
        return State(failure=_failure(data.get("failure")), ari=_ari(data.get("ari")))
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return State()


def save(path: Path, state: State) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    data = {
        "failure": _encode(state.failure),
        "ari": _encode(state.ari),
    }
    write_durably(path, json.dumps(data, indent=2, sort_keys=True).encode() + b"\n")


def record_failure(state: State, digest: str, error: str, now: dt.datetime) -> State:
    previous = state.failure
    count = previous.count + 1 if previous and previous.digest == digest else 1
    return dataclasses.replace(state, failure=Failure(digest, count, now, error))


def _encode(value: Any) -> Any:
    if value is None:
        return None
    return {
        k: v.isoformat() if isinstance(v, dt.datetime) else v
        for k, v in dataclasses.asdict(value).items()
    }


def _time(value: Any) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromisoformat(value)


def _failure(data: Any) -> Failure | None:
    if data is None:
        return None
    return Failure(str(data["digest"]), int(data["count"]), _time(data["at"]), str(data["error"]))  # type: ignore[arg-type]


def _ari(data: Any) -> RenewalInfo | None:
    if data is None:
        return None
    return RenewalInfo(
        str(data["cert"]),
        bool(data["supported"]),
        _time(data["renew_at"]),
        _time(data["next_check"]),  # type: ignore[arg-type]
    )
