"""The switch that makes the stand-in answer rate-limit errors.

A JSON file {"code": "RequestLimitExceeded", "count": 3} in the stand-in's
state dir: while it exists, calls are refused with that code ("count" of them,
or all of them when count is absent), which lets tests drive a client's
back-off and retry paths against errors the real service sends.

Usage: python -m roostlab.dnspod.throttle FILE CODE [COUNT] | FILE off
"""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

CODES = {
    "RequestLimitExceeded": "Your requests exceeded the frequency limit. Please try again later.",
    "FailedOperation.FrequencyLimit": "You are operating too frequently. Please try again later.",
    "RequestLimitExceeded.RequestLimitExceeded": "The number of requests exceeds the frequency limit.",
}
_lock = threading.Lock()


def set_throttle(path: Path, code: str, count: int | None = None) -> None:
    if code not in CODES:
        raise ValueError(f"unknown throttle code {code!r}; one of {sorted(CODES)}")
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"code": code, "count": count}))
    tmp.replace(path)


def clear_throttle(path: Path) -> None:
    path.unlink(missing_ok=True)


def take(path: Path) -> tuple[str, str] | None:
    """The (code, message) to refuse this call with, if throttled; counts the refusal."""
    with _lock:
        if not path.exists():
            return None
        data = json.loads(path.read_text() or "{}")
        code = data.get("code", "RequestLimitExceeded")
        count = data.get("count")
        if count is not None:
            if count <= 1:
                path.unlink(missing_ok=True)
            else:
                data["count"] = count - 1
                path.write_text(json.dumps(data))
        return code, CODES.get(code, "Request limit exceeded.")


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[1] == "off":
        clear_throttle(Path(argv[0]))
        return 0
    if len(argv) in (2, 3):
        set_throttle(Path(argv[0]), argv[1], int(argv[2]) if len(argv) == 3 else None)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
