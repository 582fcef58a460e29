"""SMTP ingest: Roost's MX endpoint against Postfix's smtpd on the same machine, same run.

What is measured
    Messages accepted per second: wall time from starting `smtp-source` (Postfix's own load
    generator) until it has seen the last `250` after DATA and QUIT, for `--messages` messages
    (default 2000) over `--sessions` concurrent SMTP sessions (default 10). Each message gets a
    new connection (HELO, MAIL, RCPT, DATA, QUIT), as mail from the internet mostly does.

The message
    One DKIM-signed (RSA-2048, relaxed/relaxed) text message of `--size` bytes (default 10240,
    headers included), from bench@sender.test to bench@example.test, identical for both
    servers. A private Knot DNS server on loopback serves sender.test: SPF
    `v=spf1 ip4:127.0.0.1 -all`, the DKIM key and `_dmarc` `v=DMARC1; p=none`, so every check
    Roost runs passes and none is short-cut.

What each side does per message
    Roost (`roost init --dev`, one user): receives over SMTP, checks SPF, verifies the DKIM
    signature and evaluates DMARC (3 DNS look-ups), prepends Authentication-Results and
    Received, writes the message file (fsync file + directory) and commits the SQLite (WAL,
    synchronous=FULL) index row before the 250. The message is then in the user's INBOX.
    Postfix (private instance, Debian package, default tuning): smtpd -> cleanup -> queue
    file, fsynced before the 250; then, concurrently, qmgr -> virtual(8) -> Maildir file
    (fsynced), queue file removed. That is the fairest pairing: both end with the message in
    the mailbox, durably, and both say 250 only once it is safe on disk; Postfix may finish
    the delivery after its 250, Roost delivers before it. Postfix does no SPF/DKIM/DMARC.
    The Postfix delivery rate ("delivered", until its queue is empty again) is reported too.
    `--postfix-mode hold` instead leaves the mail in Postfix's hold queue (ingest only, with
    in_flow_delay = 0 since nothing would ever leave the queue).

Warm-up, repetitions, statistics
    `--warmup` messages (default 200) to each server first, not timed; they also prove the
    set-up (Roost's Authentication-Results must say spf=pass, dkim=pass, dmarc=pass; Postfix
    must have delivered them). Then `--runs` (default 5) timed runs per server, alternating
    which goes first in each round (R,P  P,R  R,P ...), so slow drifts of a shared, noisy
    machine hit both alike. Before every run: the Postfix queue must be empty and `sync`
    flushes dirty pages, so neither side pays for the other's writes. Every run is checked:
    exactly `--messages` new messages stored. The table shows median, min, max and spread
    ((max-min)/median) per side, the ratio of the medians and the range of per-round ratios.

CPU per message
    CPU seconds of the server's whole process tree (/proc, see lib/proctree.py) over the run,
    divided by the messages: Roost's `roost serve` process (all threads); Postfix's master and
    every worker it forked, up to the end of delivery. Knot (DNS for Roost) is not counted.

Everything listens on 127.0.0.1 only, lives in one directory under /tmp, and is stopped and
removed at the end, on failure and on SIGINT/SIGTERM too.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from lib import pyspy, runenv, testmail
from lib.ports import LOOPBACK
from lib.postfix_instance import PostfixInstance
from lib.proctree import tree_cpu_seconds
from lib.roost_instance import RoostInstance
from lib.stats import Summary, summarize
from tests.knot import KnotServer

SENDER = "bench@sender.test"
HELO = "mx.sender.test"
RECIPIENT = "bench@example.test"
HOSTED_DOMAIN = "example.test"
Side = Literal["roost", "postfix"]


@dataclass
class Run:
    elapsed: float  # seconds until smtp-source was done
    cpu: float  # server CPU seconds (Postfix: until its queue drained)
    drained: float | None = None  # Postfix maildir mode: seconds until delivered


@dataclass
class Results:
    messages: int
    runs: dict[Side, list[Run]] = field(default_factory=lambda: {"roost": [], "postfix": []})

    def rates(self, side: Side) -> list[float]:
        return [self.messages / run.elapsed for run in self.runs[side]]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000, help="per timed run")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per server")
    parser.add_argument("--warmup", type=int, default=200, help="untimed messages first")
    parser.add_argument("--sessions", type=int, default=10, help="concurrent SMTP sessions")
    parser.add_argument("--size", type=int, default=10240, help="message size in bytes")
    parser.add_argument("--postfix-mode", choices=["maildir", "hold"], default="maildir")
    parser.add_argument(
        "--profile", type=Path, help="then profile two more Roost runs (py-spy), output here"
    )
    parser.add_argument("--py-spy", help="py-spy executable for --profile (default: PATH)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    for name in ("messages", "sessions", "size"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    if args.runs < 1 and not args.profile:
        parser.error("--runs must be at least 1 (0 only with --profile)")
    if args.warmup < args.sessions:
        parser.error("--warmup must be at least --sessions (it proves the set-up works)")
    return args


def send(port: int, count: int, sessions: int, message_file: Path) -> float:
    """Run smtp-source to completion; seconds it took. Any non-2xx reply aborts it (no -A)."""
    command = [
        "smtp-source", "-s", str(sessions), "-m", str(count), "-F", str(message_file),
        "-f", SENDER, "-t", RECIPIENT, "-M", HELO, f"{LOOPBACK}:{port}",
    ]  # fmt: skip
    started = time.perf_counter()
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=max(120.0, count), check=False
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"smtp-source to port {port} failed: {result.stderr.strip()}")
    return elapsed


class Bench:
    def __init__(self, args: argparse.Namespace, work: Path, message_file: Path) -> None:
        self.args = args
        self.message_file = message_file
        self.roost = RoostInstance(work / "roost")
        self.postfix = PostfixInstance(work / "postfix", RECIPIENT, args.postfix_mode)

    def roost_stored(self) -> int:
        counts = self.roost.mailbox_counts(RECIPIENT)
        if counts.get("Junk", 0):
            raise RuntimeError(f"Roost put {counts['Junk']} benchmark messages in Junk")
        return counts["INBOX"]

    def settle(self) -> None:
        """Nothing left from the previous run: Postfix's queue empty, dirty pages written."""
        if self.postfix.mode == "maildir":
            self.postfix.wait_drained(timeout=300)
        os.sync()

    def run(self, side: Side, count: int) -> Run:
        self.settle()
        if side == "roost":
            before = self.roost_stored()
            pid, port = self.roost.pid, self.roost.smtp_port
        else:
            if self.postfix.mode == "hold":
                self.postfix.purge_held()
            before = self.postfix.stored()
            assert self.postfix.master_pid is not None
            pid, port = self.postfix.master_pid, self.postfix.port
        cpu_before = tree_cpu_seconds(pid)
        started = time.monotonic()
        elapsed = send(port, count, self.args.sessions, self.message_file)
        drained = None
        if side == "postfix" and self.postfix.mode == "maildir":
            drained = self.postfix.wait_drained(timeout=300) - started
        cpu = tree_cpu_seconds(pid) - cpu_before
        after = self.roost_stored() if side == "roost" else self.postfix.stored()
        if after - before != count:
            raise RuntimeError(f"{side}: sent {count} messages but {after - before} were stored")
        return Run(elapsed, cpu, drained)

    def check_roost_verdicts(self) -> None:
        """The warm-up messages must have passed every check, or we measure an error path."""
        mbox = self.roost.export(RECIPIENT)
        headers = re.findall(rb"^Authentication-Results:.*(?:\r?\n[ \t].*)*", mbox, re.M)
        if not headers:
            raise RuntimeError("no Authentication-Results header in Roost's INBOX")
        text = headers[-1].decode(errors="replace")
        for method in ("spf", "dkim", "dmarc"):
            if f"{method}=pass" not in text:
                raise RuntimeError(f"Roost's verdict is not {method}=pass: {text}")


def print_table(args: argparse.Namespace, results: Results) -> None:
    n = args.messages
    roost, postfix = results.rates("roost"), results.rates("postfix")
    roost_s, postfix_s = summarize(roost), summarize(postfix)
    ratios = summarize([r / p for r, p in zip(roost, postfix, strict=True)])

    def row(name: str, s: Summary, cpu: list[float]) -> str:
        cpu_ms = 1000 * summarize(cpu).median / n
        return (
            f"{name:<40}{s.median:>9.1f}{s.low:>9.1f}{s.high:>9.1f}"
            f"{100 * s.spread:>8.0f}%{cpu_ms:>11.2f}"
        )

    then = "to Maildir" if args.postfix_mode == "maildir" else "kept on hold"
    print()
    print(
        f"SMTP ingest: {args.sessions} concurrent sessions, {args.size}-byte DKIM-signed "
        f"messages, {n} per run, {args.runs} runs per server (alternating), "
        f"{args.warmup} warm-up; {os.cpu_count()} CPUs"
    )
    print(f"{'messages/s':<40}{'median':>9}{'min':>9}{'max':>9}{'spread':>9}{'CPU ms/msg':>11}")
    print(row("Roost MX (250 = in INBOX)", roost_s, [r.cpu for r in results.runs["roost"]]))
    print(
        row(
            f"Postfix (250 = queued; {then})",
            postfix_s,
            [r.cpu for r in results.runs["postfix"]],
        )
    )
    drained = [r.drained for r in results.runs["postfix"] if r.drained is not None]
    if drained:
        d = summarize([n / t for t in drained])
        print(f"{'Postfix, until all in Maildir':<40}{d.median:>9.1f}{d.low:>9.1f}{d.high:>9.1f}")
    print()
    ratio = roost_s.median / postfix_s.median
    verdict = "meets" if ratio >= 0.5 else "is BELOW"
    print(
        f"Ratio Roost / Postfix (medians): {ratio:.2f}x "
        f"(per-round ratios {ratios.low:.2f}-{ratios.high:.2f}); {verdict} the 0.5x aim"
    )
    print()
    print("per run (messages/s): " + "  ".join(
        f"R {r:.1f} / P {p:.1f}" for r, p in zip(roost, postfix, strict=True)
    ))  # fmt: skip


# Where a Roost message's time goes: each stage is a function as py-spy names it (see --profile).
STAGES = {
    "event loop (SMTP sessions, handlers)": "BaseEventLoop._run_once (asyncio/base_events.py)",
    "  SMTP commands": "SMTPProtocol._command (roost/smtp/protocol.py)",
    "  RCPT: recipient look-up": "BaseHandler.resolve_local (roost/smtp/handler.py)",
    "  DATA: MX handler": "MXHandler.data (roost/smtp/mx.py)",
    "check workers: SPF+DKIM+DMARC": "evaluate (roost/checks/inbound.py)",
    "  SPF (spf.check)": "check (roost/spf.py)",
    "  DKIM (dkim.verify)": "verify (roost/dkim/verify.py)",
    "  DMARC (dmarc.evaluate)": "evaluate (roost/dmarc.py)",
    "  DNS queries (answered from cache or Knot)": "DNSResolver._query (roost/dns/resolver.py)",
    "store writer thread": "DeliveryWriter._run (roost/store/writer.py)",
    "  message files written and fsynced": "write_durably (roost/durable.py)",
    "  index transaction (one per batch)": "Database._commit_batch (roost/sqlitedb.py)",
}


def profile_roost(bench: Bench, args: argparse.Namespace) -> None:
    pyspy.profile_runs(
        pyspy.find(args.py_spy),
        bench.roost.pid,
        args.profile,
        "roost-serve",
        args.messages,
        lambda: bench.run("roost", args.messages),
        STAGES,
    )


def main() -> int:
    args = parse_args()
    problem = runenv.missing_requirement(
        ("smtp-source", "postfix", "postsuper", "knotd"), "bench/smtp_ingest/run"
    )
    if problem:
        print(problem, file=sys.stderr)
        return 1
    runenv.exit_on_sigterm()
    with contextlib.ExitStack() as cleanup:
        work = runenv.work_dir("roost-bench-", args.keep, cleanup)
        message = testmail.build(SENDER, RECIPIENT, args.size, HELO)
        message_file = work / "message.txt"
        message_file.write_bytes(testmail.as_lines_file(message.data))
        knot = cleanup.enter_context(KnotServer({SENDER.partition("@")[2]: message.zone}, ttl=300))
        bench = Bench(args, work, message_file)

        bench.roost.init(HOSTED_DOMAIN, knot.nameserver)
        bench.roost.add_user(RECIPIENT, "bench-password-not-secret")
        cleanup.callback(bench.roost.stop)
        bench.roost.start()
        bench.postfix.configure()
        cleanup.callback(bench.postfix.stop)
        bench.postfix.start()
        print(
            f"Roost MX on {LOOPBACK}:{bench.roost.smtp_port} (pid {bench.roost.pid}), "
            f"Postfix smtpd on {LOOPBACK}:{bench.postfix.port} (master pid "
            f"{bench.postfix.master_pid}, config {bench.postfix.config_dir}), "
            f"DNS {knot.nameserver}",
            flush=True,
        )

        for side in ("roost", "postfix"):
            bench.run(side, args.warmup)
        bench.check_roost_verdicts()

        results = Results(args.messages)

        def step(number: int, side: str) -> None:
            run = bench.run(side, args.messages)  # type: ignore[arg-type]
            results.runs[side].append(run)  # type: ignore[index]
            print(
                f"round {number + 1}/{args.runs} {side:<7} {args.messages / run.elapsed:8.1f}"
                f" msg/s  ({run.elapsed:.2f}s, CPU {1000 * run.cpu / args.messages:.2f}"
                " ms/msg)",
                flush=True,
            )

        runenv.alternating_rounds(args.runs, step)
        if args.runs:
            print_table(args, results)
        if args.profile:
            profile_roost(bench, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
