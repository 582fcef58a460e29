"""CPU seconds used by a process and all its descendants, read from /proc.

A server such as Postfix forks short-lived workers (smtpd, cleanup, virtual) that come and go
during a run. Summing, for every live process of the tree, its own CPU time plus the CPU time
of the children it has already reaped (`cutime`, `cstime` in proc(5)) counts each worker
exactly once, whether it was alive at both readings, exited in between, or lived only inside
the interval. Threads are included: a process's counters cover all its threads.
"""

from __future__ import annotations

import os
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[int, int] | None:
    """(ppid, utime + stime + cutime + cstime in ticks), or None if the process is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name (field 2) is in parentheses and may contain spaces: split after it.
    fields = text[text.rindex(")") + 2 :].split()
    ppid = int(fields[1])
    utime, stime, cutime, cstime = (int(f) for f in fields[11:15])
    return ppid, utime + stime + cutime + cstime


def tree_cpu_seconds(root: int) -> float:
    """CPU time of `root` and its descendants so far (see the module docstring)."""
    parents: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        stat = _stat(int(entry.name))
        if stat is not None:
            parents[int(entry.name)], ticks[int(entry.name)] = stat
    if root not in ticks:
        raise ProcessLookupError(f"process {root} is gone")
    children: dict[int, list[int]] = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += ticks.get(pid, 0)
        todo.extend(children.get(pid, ()))
    return total / _TICKS
