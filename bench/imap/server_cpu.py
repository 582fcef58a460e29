"""The CPU time Roost's server spends per IMAP command, as a check on wall-clock ratios.

On a shared machine under load, wall-clock times swing several-fold between runs; the CPU
time the server process (all its threads) is charged for a command barely moves, so a
before/after of a change is measured here. Same account and commands as imap_bench.py
(its warm-up included), each repeated `--repeat` times on one connection, then one full
mbsync. To measure another version of the server, put its sources first on PYTHONPATH:
    git archive <commit> server/src | tar -x -C /tmp/old
    PYTHONPATH=/tmp/old/server/src:bench:bench/imap:server .venv/bin/python \
        bench/imap/server_cpu.py --messages 2000
(the server runs as `python -m roost` with this interpreter, so it imports those sources).
CPU times come from /proc/PID/stat (utime + stime), in clock ticks (10 ms): repeat enough.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from pathlib import Path

from imap_bench import PASSWORD, USER, Side, mbsync, seed

from lib import runenv
from lib.mimecorpus import corpus
from lib.roost_instance import RoostInstance

COMMANDS = {
    "uid_flags": b"UID FETCH 1:* (FLAGS)",
    "headers_bs": b"FETCH 1:* (BODY.PEEK[HEADER.FIELDS (FROM TO SUBJECT DATE)] BODYSTRUCTURE)",
    "search_header": b"SEARCH SUBJECT invoice",
    "search_body": b"SEARCH BODY unicorn",
}


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    runenv.exit_on_sigterm()
    with contextlib.ExitStack() as cleanup:
        work = runenv.work_dir("roost-bench-cpu-", False, cleanup)
        roost = RoostInstance(work / "roost")
        roost.init("example.test", "127.0.0.1:53")
        roost.append_config("[checks]\nworkers = 0\n")
        roost.add_user(USER, PASSWORD)
        roost.start()
        cleanup.callback(roost.stop)
        side = Side("roost", roost.port("imaps"), lambda: roost.pid, work)
        seed(side, corpus(args.messages))
        client = side.connect()
        client.command(b"SELECT INBOX")
        for command in COMMANDS.values():
            client.command(command)  # warm-up: structures parsed and kept
        print(f"{'operation':<14} {'cpu (ms)':>9} {'wall (ms)':>10}")
        for name, command in COMMANDS.items():
            cpu, wall = cpu_seconds(roost.pid), time.perf_counter()
            for _ in range(args.repeat):
                client.command(command)
            cpu, wall = cpu_seconds(roost.pid) - cpu, time.perf_counter() - wall
            print(f"{name:<14} {1000 * cpu / args.repeat:>9.1f} {1000 * wall / args.repeat:>10.1f}")
        client.close()
        cpu, wall = cpu_seconds(roost.pid), time.perf_counter()
        mbsync(side, args.messages)
        cpu, wall = cpu_seconds(roost.pid) - cpu, time.perf_counter() - wall
        print(f"{'mbsync':<14} {1000 * cpu:>9.1f} {1000 * wall:>10.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
