"""Relay: mail submitted to Roost and to Postfix, relayed by each to the same smtp-sink.

What is measured
    Messages relayed per second, end to end: wall time from opening the first client
    connection until the sink has received the last of `--messages` messages (default 1000),
    divided into the count. The submission phase alone (until the client has its last `250`)
    is reported too: it shows how far the relay's delivery lags behind its intake.

The setup, and why it is the fair pairing
    Roost relays mail for its authenticated users only: its submission port (587-style,
    STARTTLS required, then AUTH) queues mail for remote domains and its queue delivers it.
    It has no "trusted network" relay on port 25, and its MX accepts only hosted domains. So
    both sides are measured as the submission server a mail client uses:
    - Roost: `roost init --dev` (domain example.test, one user bench@example.test), plus a
      static route `[[outbound.routes]] domain = "sink.test"` to the sink with tls = "none"
      (loopback). The queue settings are Roost's defaults unless --roost-per-domain is given.
      Per message Roost checks the sender and From against the user, DKIM-signs the message
      with the domain's keys (RSA-2048 and Ed25519, as `init --dev` makes them), writes the
      queue file (fsync file + directory) and commits the SQLite index (WAL, synchronous=FULL)
      before its `250`; then its queue runner sends it to the sink, one SMTP transaction per
      queued message, and deletes the row and the file.
    - Postfix: a private instance (server/tests/postfix.py `PostfixPeer`, Debian's Postfix,
      own config, queue, SASL database, never the system's), smtpd with STARTTLS required and
      Cyrus SASL (sasldb) AUTH, `relayhost = [127.0.0.1]:SINK` (no DNS). Per message: smtpd ->
      cleanup -> queue file fsynced before the `250` -> qmgr -> smtp(8) -> sink -> queue file
      removed. Postfix defaults otherwise (destination concurrency 20, connection caching);
      the test helper's short retry timers are set back to Postfix's defaults. Postfix does
      not DKIM-sign: that is work only Roost does (see the profile for its share;
      `--roost-dkim ed25519|none` deletes keys before the start to measure without it).
    - Both deliver to one Postfix `smtp-sink` on loopback (no TLS offered, so both send plain
      text, as configured). The sink discards the mail after writing each transaction to a
      dump file; its counter (`-c`) is watched during the run, and afterwards every run is
      checked: exactly the run's Message-IDs arrived, each once, and the relay's queue is empty.

The client (the same for both: lib/submit.py)
    `--sessions` connections (default 10), each doing EHLO, STARTTLS, EHLO, AUTH PLAIN once and
    then sending messages from a shared counter until all are sent, MAIL/RCPT/DATA pipelined.
    The message: `--size` bytes (default 10240) of plain text from bench@example.test to
    rcpt@sink.test, a unique Message-ID each (<relay-RUN-N@example.test>), unsigned.

Warm-up, repetitions, statistics
    `--warmup` messages (default 200) through each relay first, not timed; they also check the
    set-up (Roost's copy at the sink must be DKIM-signed). Then `--runs` (default 5) timed runs
    per relay, alternating which goes first in each round (R,P  P,R  R,P ...), so slow drifts
    of a shared, noisy machine hit both alike. Before every run both queues must be empty and
    `sync` flushes dirty pages. The table shows median, min, max and spread ((max-min)/median)
    per side, the ratio of the medians and the range of per-round ratios.

CPU per message
    CPU seconds of the relay's process tree (/proc, lib/proctree.py) over the timed interval,
    divided by the messages: `roost serve` (all threads); Postfix's master and every process it
    forked. The client's CPU (this process) is shown apart; the sink and Knot are not counted.

Only 127.0.0.1 is used. Knot DNS (the test suite's helper) serves sink.test for Roost so no
query could leave the machine (the static route needs none). Every process is ours, stopped by
its pid; the work directory is under /tmp and removed at the end, on failure and on
SIGINT/SIGTERM too.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from lib import pyspy, runenv, testmail
from lib.ports import LOOPBACK
from lib.proctree import tree_cpu_seconds
from lib.roost_instance import RoostInstance
from lib.sink import CountingSink
from lib.stats import Summary, summarize
from lib.submit import Credentials, dot_stuff, submit
from tests.knot import KnotServer
from tests.postfix import PostfixPeer

HOSTED_DOMAIN = "example.test"
SENDER = f"bench@{HOSTED_DOMAIN}"
SINK_DOMAIN = "sink.test"
RECIPIENT = f"rcpt@{SINK_DOMAIN}"
PASSWORD = "bench-password-not-secret"
POSTFIX_USER = "bench"
ID_MARK = b"<MESSAGE-ID-MARK>"
# PostfixPeer shortens Postfix's retry timers for tests; a relay benchmark wants the defaults.
POSTFIX_DEFAULTS = {
    "queue_run_delay": "300s",
    "minimal_backoff_time": "300s",
    "maximal_backoff_time": "4000s",
    "delay_warning_time": "0h",
}
Side = Literal["roost", "postfix"]


@dataclass
class Run:
    elapsed: float  # seconds until the sink had every message
    submitted: float  # seconds until the client had its last 250
    cpu: float  # relay CPU seconds over `elapsed`
    client_cpu: float  # this process's CPU seconds over `elapsed`


@dataclass
class Results:
    messages: int
    runs: dict[Side, list[Run]] = field(default_factory=lambda: {"roost": [], "postfix": []})

    def rates(self, side: Side) -> list[float]:
        return [self.messages / run.elapsed for run in self.runs[side]]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000, help="per timed run")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per relay")
    parser.add_argument("--warmup", type=int, default=200, help="untimed messages first")
    parser.add_argument("--sessions", type=int, default=10, help="concurrent client connections")
    parser.add_argument("--size", type=int, default=10240, help="message size in bytes")
    parser.add_argument(
        "--roost-per-domain",
        type=int,
        help="Roost's [queue] max_connections_per_domain (default: Roost's own default)",
    )
    parser.add_argument(
        "--roost-dkim",
        choices=["both", "ed25519", "none"],
        default="both",
        help="diagnostic: sign with both keys `init --dev` makes (default, as shipped), the "
        "Ed25519 one only, or none (the other keys are deleted before the server starts)",
    )
    parser.add_argument(
        "--profile", type=Path, help="then profile two more Roost runs (py-spy), output here"
    )
    parser.add_argument("--py-spy", help="py-spy executable for --profile (default: PATH)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    for name in ("messages", "sessions", "size"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    if args.roost_per_domain is not None and args.roost_per_domain < 1:
        parser.error("--roost-per-domain must be at least 1")
    if args.runs < 1 and not args.profile:
        parser.error("--runs must be at least 1 (0 only with --profile)")
    if args.warmup < args.sessions:
        parser.error("--warmup must be at least --sessions (it proves the set-up works)")
    return args


class Bench:
    def __init__(self, args: argparse.Namespace, work: Path, sink: CountingSink) -> None:
        self.args = args
        self.sink = sink
        self.roost = RoostInstance(work / "roost")
        self.postfix = PostfixPeer(
            domains=["relay.postfix-bench.test"],
            hostname="relay.postfix-bench.test",
            sasl_users={POSTFIX_USER: PASSWORD},
            relayhost=f"[{LOOPBACK}]:{sink.port}",
            main_cf=POSTFIX_DEFAULTS,
        )
        template = dot_stuff(testmail.plain(SENDER, RECIPIENT, args.size, ID_MARK.decode()))
        self._head, self._tail = template.split(ID_MARK)
        self._runs = 0

    def start_roost(self, nameserver: str) -> None:
        self.roost.init(HOSTED_DOMAIN, nameserver)
        self.roost.add_user(SENDER, PASSWORD)
        self.roost.append_config(
            "[[outbound.routes]]\n"
            f'domain = "{SINK_DOMAIN}"\nhost = "{LOOPBACK}"\nport = {self.sink.port}\n'
            'tls = "none"\n'
        )
        if self.args.roost_dkim != "both":
            self.drop_dkim_keys(keep=("ed25519",) if self.args.roost_dkim == "ed25519" else ())
        if self.args.roost_per_domain:
            self.roost.append_config(
                f"[queue]\nmax_connections_per_domain = {self.args.roost_per_domain}\n"
            )
        self.roost.start()

    def drop_dkim_keys(self, keep: tuple[str, ...]) -> None:
        """Delete the hosted domain's DKIM keys except those of the `keep` algorithms."""
        key_dir = self.roost.directory / "state" / "dkim" / HOSTED_DOMAIN
        for meta in key_dir.glob("*.json"):
            if json.loads(meta.read_text())["algorithm"] not in keep:
                meta.with_suffix(".pem").unlink()
                meta.unlink()

    def queued(self, side: Side) -> int:
        return self.roost.queued() if side == "roost" else self.postfix.queue_size()

    def settle(self, timeout: float = 300.0) -> None:
        """Both queues empty (nothing of a previous run still going out), dirty pages written."""
        deadline = time.monotonic() + timeout
        while self.queued("roost") or self.queued("postfix"):
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"queues not empty after {timeout:.0f}s: Roost {self.queued('roost')}, "
                    f"Postfix {self.queued('postfix')}"
                )
            time.sleep(0.05)
        os.sync()

    def run(self, side: Side, count: int) -> Run:
        self.settle()
        self._runs += 1
        tag = f"{side[0]}{self._runs}"
        if side == "roost":
            pid, port, login = self.roost.pid, self.roost.submission_port, SENDER
        else:
            assert self.postfix.master_pid is not None and self.postfix.submission_port
            pid, port, login = self.postfix.master_pid, self.postfix.submission_port, POSTFIX_USER
        head, tail = self._head, self._tail

        def payload(index: int) -> bytes:
            return b"".join((head, f"<relay-{tag}-{index}@{HOSTED_DOMAIN}>".encode(), tail))

        before = self.sink.received()
        wanted = before + count
        deadline_s = max(120.0, count / 2)
        cpu_before, client_before = tree_cpu_seconds(pid), time.process_time()
        started = time.perf_counter()
        sent = asyncio.run(
            submit(port, Credentials(login, PASSWORD), SENDER, RECIPIENT, payload, count,
                   self.args.sessions)
        )  # fmt: skip
        submitted = time.perf_counter() - started
        while self.sink.received() < wanted:
            if time.perf_counter() - started > deadline_s:
                raise RuntimeError(
                    f"{side}: the sink has {self.sink.received() - before} of {count} messages "
                    f"after {deadline_s:.0f}s ({self.queued(side)} still queued)"
                )
            time.sleep(0.002)
        elapsed = time.perf_counter() - started
        cpu = tree_cpu_seconds(pid) - cpu_before
        client_cpu = time.process_time() - client_before
        if sent != count:
            raise RuntimeError(f"{side}: the client sent {sent} of {count} messages")
        self.verify(side, tag, count)
        return Run(elapsed, submitted, cpu, client_cpu)

    def verify(self, side: Side, tag: str, count: int) -> None:
        """Exactly this run's messages arrived, each once; nothing stays in the relay's queue."""
        ids = self.sink.collect(count)
        wanted = {f"<relay-{tag}-{i}@{HOSTED_DOMAIN}>" for i in range(count)}
        missing = wanted - ids.keys()
        extra = sorted(set(ids) - wanted)
        duplicates = sum(n - 1 for n in ids.values() if n > 1)
        if missing or extra or duplicates:
            raise RuntimeError(
                f"{side}: {len(missing)} messages missing at the sink, {duplicates} duplicates, "
                f"unexpected Message-IDs {extra[:5]}"
            )
        deadline = time.monotonic() + 60
        while self.queued(side) and time.monotonic() < deadline:
            time.sleep(0.05)
        if self.queued(side):
            raise RuntimeError(f"{side}: {self.queued(side)} messages still queued after the run")

    def check_setup(self) -> None:
        """One message through Roost, looked at (it must arrive DKIM-signed), then warm-up."""
        self.settle()
        head, tail = self._head, self._tail
        before = self.sink.received()
        asyncio.run(
            submit(
                self.roost.submission_port, Credentials(SENDER, PASSWORD), SENDER, RECIPIENT,
                lambda i: b"".join((head, f"<relay-sample-{i}@{HOSTED_DOMAIN}>".encode(), tail)),
                1, 1,
            )
        )  # fmt: skip
        deadline = time.monotonic() + 60
        sample = None
        while sample is None and time.monotonic() < deadline:
            if self.sink.received() > before:
                sample = self.sink.sample()  # complete (closed) dump files only
            time.sleep(0.02)
        if sample is None:
            raise RuntimeError(f"Roost did not deliver to the sink:\n{self.roost.log_tail()}")
        header = sample.split(b"\n\n", 1)[0].decode("ascii", "replace")
        algorithms = sorted(re.findall(r"^DKIM-Signature:.*?\ba=([\w-]+)", header, re.M | re.S))
        wanted = {
            "both": ["ed25519-sha256", "rsa-sha256"],
            "ed25519": ["ed25519-sha256"],
            "none": [],
        }[self.args.roost_dkim]
        if algorithms != wanted:
            raise RuntimeError(
                f"Roost's message at the sink has DKIM signatures {algorithms}, expected "
                f"{wanted}:\n{header}"
            )
        self.verify("roost", "sample", 1)
        for side in ("roost", "postfix"):
            self.run(side, self.args.warmup)


def print_table(args: argparse.Namespace, results: Results) -> None:
    n = args.messages
    roost, postfix = results.rates("roost"), results.rates("postfix")
    roost_s, postfix_s = summarize(roost), summarize(postfix)
    ratios = summarize([r / p for r, p in zip(roost, postfix, strict=True)])

    def row(name: str, s: Summary, runs: list[Run]) -> str:
        cpu_ms = 1000 * summarize([r.cpu for r in runs]).median / n
        client_ms = 1000 * summarize([r.client_cpu for r in runs]).median / n
        accept = summarize([n / r.submitted for r in runs]).median
        return (
            f"{name:<28}{s.median:>9.1f}{s.low:>9.1f}{s.high:>9.1f}"
            f"{100 * s.spread:>8.0f}%{accept:>10.1f}{cpu_ms:>9.2f}{client_ms:>9.2f}"
        )

    per_domain = args.roost_per_domain or "default"
    print()
    print(
        f"Relay: {args.sessions} client connections (STARTTLS + AUTH, reused), {args.size}-byte "
        f"messages, {n} per run, {args.runs} runs per relay (alternating), {args.warmup} "
        f"warm-up; Roost: queue max_connections_per_domain {per_domain}, DKIM keys "
        f"{args.roost_dkim}; {os.cpu_count()} CPUs"
    )
    print(
        f"{'end to end, messages/s':<28}{'median':>9}{'min':>9}{'max':>9}{'spread':>9}"
        f"{'accept/s':>10}{'CPU ms':>9}{'client':>9}"
    )
    print(row("Roost (submission -> queue)", roost_s, results.runs["roost"]))
    print(row("Postfix (smtpd -> smtp)", postfix_s, results.runs["postfix"]))
    print(
        "(accept/s: until the client's last 250, median; CPU ms: relay CPU per message; "
        "client: the load generator's)"
    )
    print()
    print(
        f"Ratio Roost / Postfix (medians): {roost_s.median / postfix_s.median:.2f}x "
        f"(per-round ratios {ratios.low:.2f}-{ratios.high:.2f})"
    )
    print()
    print("per run (messages/s): " + "  ".join(
        f"R {r:.1f} / P {p:.1f}" for r, p in zip(roost, postfix, strict=True)
    ))  # fmt: skip


# Where a Roost message's time goes: each stage is a function as py-spy names it (see --profile).
STAGES = {
    "event loop": "BaseEventLoop._run_once (asyncio/base_events.py)",
    "submission: AUTH (Argon2 check)": "Authenticator.authenticate (roost/smtp/auth.py)",
    "submission: DATA handler": "SubmissionHandler.data (roost/smtp/submission.py)",
    "  DKIM signing (dkim.sign)": "sign (roost/dkim/sign.py)",
    "  queue write (spool.enqueue)": "Spool.enqueue (roost/queue/spool.py)",
    "    file write + fsyncs": "write_durably (roost/durable.py)",
    "    SQLite transaction": "Database._commit_batch (roost/sqlitedb.py)",
    "queue: scan for due mail (spool.due)": "Spool.due (roost/queue/spool.py)",
    "queue: next_due": "Spool.next_due (roost/queue/spool.py)",
    "queue: read message (message_bytes)": "Spool.message_bytes (roost/queue/spool.py)",
    "delivery: SMTP client (transact)": "transact (roost/delivery/client.py)",
    "delivery: record outcome (spool.done)": "Spool.done (roost/queue/spool.py)",
    "logging": "StreamHandler.emit (logging/__init__.py)",
    "worker threads (all asyncio.to_thread work)": "_worker (concurrent/futures/thread.py)",
}


def profile_roost(bench: Bench, args: argparse.Namespace) -> None:
    pyspy.profile_runs(
        pyspy.find(args.py_spy),
        bench.roost.pid,
        args.profile,
        "roost-relay",
        args.messages,
        lambda: bench.run("roost", args.messages),
        STAGES,
    )


def main() -> int:
    args = parse_args()
    problem = runenv.missing_requirement(
        ("smtp-sink", "postfix", "saslpasswd2", "knotd"), "bench/relay/run"
    )
    if problem:
        print(problem, file=sys.stderr)
        return 1
    runenv.exit_on_sigterm()
    with contextlib.ExitStack() as cleanup:
        work = runenv.work_dir("roost-bench-relay-", args.keep, cleanup)
        knot = cleanup.enter_context(KnotServer({SINK_DOMAIN: f"@ A {LOOPBACK}"}, ttl=300))
        sink = CountingSink()
        cleanup.callback(sink.stop)
        sink.start()
        bench = Bench(args, work, sink)
        cleanup.callback(bench.roost.stop)
        bench.start_roost(knot.nameserver)
        cleanup.callback(bench.postfix.stop)
        bench.postfix.start()
        print(
            f"sink on {LOOPBACK}:{sink.port} (pid {sink.pid}); Roost submission on "
            f"{LOOPBACK}:{bench.roost.submission_port} (pid {bench.roost.pid}); Postfix "
            f"submission on {LOOPBACK}:{bench.postfix.submission_port} (master pid "
            f"{bench.postfix.master_pid}, config {bench.postfix.config_dir}); "
            f"DNS {knot.nameserver}",
            flush=True,
        )

        bench.check_setup()
        results = Results(args.messages)

        def step(number: int, side: str) -> None:
            run = bench.run(side, args.messages)  # type: ignore[arg-type]
            results.runs[side].append(run)  # type: ignore[index]
            print(
                f"round {number + 1}/{args.runs} {side:<7} {args.messages / run.elapsed:8.1f}"
                f" msg/s  ({run.elapsed:.2f}s; accepted in {run.submitted:.2f}s; "
                f"CPU {1000 * run.cpu / args.messages:.2f} ms/msg)",
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
