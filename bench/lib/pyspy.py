"""Record a running Python server with py-spy and say where its CPU time went.

py-spy samples every thread of the target from outside (no change to the server, unlike
cProfile, which sees only the thread it runs in: Roost's checks run in worker threads). The
raw ("collapsed stack") output has one line per distinct stack: `frame;frame;... COUNT`, the
outermost frame first; with --threads the first frame names the thread.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


def find(explicit: str | None) -> str:
    path = explicit or shutil.which("py-spy")
    if path is None:
        raise RuntimeError(
            "py-spy not found: install it apart from the project venv, e.g. "
            "`python3 -m venv /tmp/pyspy && /tmp/pyspy/bin/pip install py-spy`, "
            "then pass --py-spy /tmp/pyspy/bin/py-spy"
        )
    return path


class Recording:
    """`py-spy record` attached to `pid` until stop() (SIGINT makes it write its file)."""

    def __init__(
        self, py_spy: str, pid: int, output: Path, rate: int = 200, gil_only: bool = False
    ) -> None:
        self.output = output
        self._log = output.with_suffix(".log").open("wb")
        self._process = subprocess.Popen(
            [py_spy, "record", "--pid", str(pid), "--format", "raw", "--threads",
             "--rate", str(rate), "--output", str(output), *(["--gil"] if gil_only else [])],
            stdout=self._log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGINT)
            try:
                self._process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._log.close()


@dataclass(frozen=True)
class Profile:
    total: int
    by_thread: Counter[str]
    self_time: Counter[str]
    inclusive: Counter[str]


def _short(frame: str) -> str:
    """`func (roost/spf.py:12)` -> `func (roost/spf.py)`: lines of one function are merged."""
    match = _FRAME.match(frame)
    return f"{match['func']} ({match['file']})" if match else frame


def summarize(raw: Path) -> Profile:
    by_thread: Counter[str] = Counter()
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        thread, *frames = stack.split(";")
        total += count
        by_thread[thread] += count
        if frames:
            self_time[_short(frames[-1])] += count
        for frame in set(map(_short, frames)):
            inclusive[frame] += count
    return Profile(total, by_thread, self_time, inclusive)


def report(
    profile: Profile, title: str, stages: dict[str, str] | None = None, top: int = 20
) -> str:
    """Shares of the samples: per thread, per named stage, and the top functions.

    `stages` maps a label to a frame prefix such as "evaluate (checks/inbound.py)"; a stage's
    share counts every sample with that frame anywhere on the stack.
    """
    if not profile.total:
        return f"{title}: no samples"

    def pct(n: int) -> str:
        return f"{100 * n / profile.total:5.1f}%"

    lines = [f"{title}: {profile.total} samples"]
    lines.append("by thread:")
    lines += [f"  {pct(n)}  {name}" for name, n in profile.by_thread.most_common(8)]
    if stages:
        lines.append("by stage (inclusive):")
        for label, prefix in stages.items():
            n = sum(c for frame, c in profile.inclusive.items() if frame.startswith(prefix))
            lines.append(f"  {pct(n)}  {label}")
    lines.append(f"top {top} by inclusive time (the function or anything it calls):")
    lines += [f"  {pct(n)}  {name}" for name, n in profile.inclusive.most_common(top)]
    lines.append(f"top {top} by self time:")
    lines += [f"  {pct(n)}  {name}" for name, n in profile.self_time.most_common(top)]
    return "\n".join(lines)


class _Run(Protocol):
    elapsed: float
    cpu: float


def profile_runs(
    py_spy: str,
    pid: int,
    out: Path,
    prefix: str,
    messages: int,
    run: Callable[[], _Run],
    stages: dict[str, str],
) -> None:
    """Two more runs under py-spy: samples holding the GIL, then all running threads."""
    out.mkdir(parents=True, exist_ok=True)
    for gil_only, name, title in (
        (True, "gil", "samples holding the GIL (what the one interpreter core is busy with)"),
        (False, "running", "samples of running threads (GIL holders, waiters and syscalls)"),
    ):
        raw = out / f"{prefix}-{name}.pyspy.txt"
        recording = Recording(py_spy, pid, raw, gil_only=gil_only)
        try:
            time.sleep(1.0)  # py-spy attaches
            result = run()
        finally:
            recording.stop()
        print()
        print(
            f"Profiled Roost run ({name}): {messages / result.elapsed:.1f} msg/s under py-spy, "
            f"{1000 * result.cpu / messages:.2f} CPU ms/msg, "
            f"CPU use {100 * result.cpu / result.elapsed:.0f}% of one core"
        )
        print(report(summarize(raw), title, stages))
        print(f"raw stacks: {raw}")
