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


def _tree(root: int) -> tuple[list[int], dict[int, int]]:
    """`root` and its live descendants, and each live process's CPU ticks."""
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
    members, todo = [], [root]
    while todo:
        pid = todo.pop()
        members.append(pid)
        todo.extend(children.get(pid, ()))
    return members, ticks


def tree_cpu_seconds(root: int) -> float:
    """CPU time of `root` and its descendants so far (see the module docstring)."""
    members, ticks = _tree(root)
    return sum(ticks.get(pid, 0) for pid in members) / _TICKS


def tree_pss_kib(root: int) -> int:
    """Proportional set size (shared pages split among their users) of `root` and all its
    descendants, in KiB: a fair memory figure for one process with threads and for a master
    that forks a process per connection alike."""
    total = 0
    for pid in _tree(root)[0]:
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        for line in rollup.splitlines():
            if line.startswith("Pss:"):
                total += int(line.split()[1])
    return total
