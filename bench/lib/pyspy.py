"""Record a running Python server with py-spy and say where its CPU time went.

py-spy samples every thread of the target from outside (no change to the server, unlike
cProfile, which sees only the thread it runs in), here the server and each of its child
processes (Roost's checks run in worker processes). The
raw ("collapsed stack") output has one line per distinct stack: `frame;frame;... COUNT`, the
outermost frame first; with --threads the first frame names the thread.
"""

from __future__ import annotations

import contextlib
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
    stacks: Counter[frozenset[str]]  # the distinct functions on each sampled stack


def _short(frame: str) -> str:
    """`func (roost/spf.py:12)` -> `func (roost/spf.py)`: lines of one function are merged."""
    match = _FRAME.match(frame)
    return f"{match['func']} ({match['file']})" if match else frame


def summarize(raw: Path) -> Profile:
    by_thread: Counter[str] = Counter()
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    stacks: Counter[frozenset[str]] = Counter()
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
        functions = frozenset(map(_short, frames))
        stacks[functions] += count
        for frame in functions:
            inclusive[frame] += count
    return Profile(total, by_thread, self_time, inclusive, stacks)


def merge(profiles: list[Profile]) -> Profile:
    """Several processes' samples as one profile (the check workers, say)."""
    merged = Profile(0, Counter(), Counter(), Counter(), Counter())
    for profile in profiles:
        merged.by_thread.update(profile.by_thread)
        merged.self_time.update(profile.self_time)
        merged.inclusive.update(profile.inclusive)
        merged.stacks.update(profile.stacks)
    return Profile(
        sum(p.total for p in profiles),
        merged.by_thread,
        merged.self_time,
        merged.inclusive,
        merged.stacks,
    )


def report(
    profile: Profile, title: str, stages: dict[str, str] | None = None, top: int = 20
) -> str:
    """Shares of the samples: per thread, per named stage, and the top functions.

    `stages` maps a label to a function as py-spy names it, such as
    "evaluate (roost/checks/inbound.py)" or "Reader.readline (roost/smtp/reader.py)"; a
    stage's share counts every sample with that function anywhere on the stack, once.
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
        for label, function in stages.items():
            n = sum(c for functions, c in profile.stacks.items() if function in functions)
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
    """Two more runs under py-spy: samples holding the GIL, then all running threads.

    The server process and its children (Roost's check workers) are recorded apart and
    reported apart: each has its own interpreter and its own core to keep busy.
    """
    out.mkdir(parents=True, exist_ok=True)
    for gil_only, name, title in (
        (True, "gil", "samples holding the GIL (what each interpreter is busy with)"),
        (False, "running", "samples of running threads (GIL holders, waiters and syscalls)"),
    ):
        recordings = {
            target: Recording(py_spy, target, out / f"{prefix}-{name}-{target}.pyspy.txt",
                              gil_only=gil_only)
            for target in (pid, *children(pid))
        }  # fmt: skip
        try:
            time.sleep(1.0)  # py-spy attaches
            result = run()
        finally:
            for recording in recordings.values():
                recording.stop()
        print()
        print(
            f"Profiled Roost run ({name}): {messages / result.elapsed:.1f} msg/s under py-spy, "
            f"{1000 * result.cpu / messages:.2f} CPU ms/msg (all processes), "
            f"CPU use {100 * result.cpu / result.elapsed:.0f}% of one core"
        )
        main = recordings.pop(pid)
        print(report(summarize(main.output), f"server process {pid}, {title}", stages))
        if recordings:
            workers = merge([summarize(r.output) for r in recordings.values()])
            label = f"{len(recordings)} child processes (check workers), {title}"
            print(report(workers, label, stages))
        print(f"raw stacks: {out}/{prefix}-{name}-*.pyspy.txt")


def children(pid: int) -> list[int]:
    """Direct children of `pid`, from /proc/PID/task/*/children."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            found += [int(child) for child in (task / "children").read_text().split()]
    return found
