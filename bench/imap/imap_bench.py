"""IMAP: Roost against Dovecot (Debian's dovecot-imapd) on the same machine, same run.

The account
    `--messages` (default 10,000) real-looking messages (lib/mimecorpus.py: a third plain
    text, a third text + HTML alternatives, a third with a 5-30 KB base64 attachment besides),
    the same bytes in both INBOXes, APPENDed over 4 pipelined connections (not timed).

What is timed, per round (both servers, alternating which goes first)
    login_select   TLS connect + LOGIN + SELECT INBOX + LOGOUT, mean of 10
    uid_flags      UID FETCH 1:* (FLAGS)
    headers_bs     FETCH 1:* (BODY.PEEK[HEADER.FIELDS (FROM TO SUBJECT DATE)] BODYSTRUCTURE)
    search_header  SEARCH SUBJECT invoice
    search_body    SEARCH BODY unicorn
    mbsync         a full mbsync of the account into an empty Maildir
    Every answer is checked (message and match counts). One warm-up round runs first, untimed:
    both servers keep what they parse (Dovecot its index and cache, Roost the MIME structure
    per message), and a person's client meets a warm server.
Memory
    After the rounds: 100 connections logged in, INBOX selected, in IDLE; the proportional
    set size (PSS) of each server's whole process tree (Dovecot forks a login and an imap
    process per connection, Roost is one process).

Both use TLS on their IMAPS port with the same self-signed certificate; mbsync reaches both
through `openssl s_client` (the certificate names mail.example.test, not 127.0.0.1). Both
offer COMPRESS=DEFLATE at level 6 (Dovecot through its imap_zlib plugin), which mbsync
turns on: until 2026-11-30 Dovecot here did not offer it, so mbsync compressed everything
it read from Roost and nothing it read from Dovecot. Roost
verifies passwords with Argon2id, Dovecot here with PLAIN from a passwd-file; after the first
login Roost's verified-credentials cache answers, as Dovecot's auth cache would.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from lib import runenv
from lib.dovecot_instance import DovecotInstance
from lib.imapwire import IMAPWire
from lib.mimecorpus import corpus
from lib.ports import LOOPBACK
from lib.proctree import tree_pss_kib
from lib.roost_instance import RoostInstance
from lib.stats import summarize

USER = "bench@example.test"
PASSWORD = "bench password"
OPERATIONS = ("login_select", "uid_flags", "headers_bs", "search_header", "search_body", "mbsync")
IDLERS = 100


class Side:
    def __init__(self, name: str, port: int, pid: Callable[[], int], work: Path) -> None:
        self.name = name
        self.port = port
        self.pid = pid
        self.work = work

    def connect(self) -> IMAPWire:
        client = IMAPWire(LOOPBACK, self.port)
        client.login(USER, PASSWORD)
        return client


def seed(side: Side, messages: list[bytes]) -> None:
    def fill(part: int) -> None:
        client = side.connect()
        client.append_many("INBOX", messages[part::4])
        client.close()

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(fill, range(4)))
    client = side.connect()
    exists = [r for r in client.command(b"SELECT INBOX") if r.endswith(b"EXISTS\r\n")]
    client.close()
    if exists != [b"* %d EXISTS\r\n" % len(messages)]:
        raise RuntimeError(f"{side.name}: seeding left {exists!r}")


def timed(operation: Callable[[], None]) -> float:
    start = time.perf_counter()
    operation()
    return time.perf_counter() - start


def run_round(side: Side, count: int) -> dict[str, float]:
    results: dict[str, float] = {}

    def login_select() -> None:
        for _ in range(10):
            client = side.connect()
            client.command(b"SELECT INBOX")
            client.command(b"LOGOUT")
            client.close()

    results["login_select"] = timed(login_select) / 10
    client = side.connect()
    client.command(b"SELECT INBOX")

    def fetch(command: bytes) -> Callable[[], None]:
        def run() -> None:
            found = sum(1 for r in client.command(command) if b" FETCH " in r[:24])
            if found != count:
                raise RuntimeError(f"{side.name}: {command!r} gave {found} of {count}")

        return run

    def search(command: bytes, expected: int) -> Callable[[], None]:
        def run() -> None:
            lines = [r for r in client.command(command) if r.startswith(b"* SEARCH")]
            found = len(lines[0].split()) - 2 if lines else 0
            if found != expected:
                raise RuntimeError(f"{side.name}: {command!r} found {found}, not {expected}")

        return run

    results["uid_flags"] = timed(fetch(b"UID FETCH 1:* (FLAGS)"))
    results["headers_bs"] = timed(
        fetch(b"FETCH 1:* (BODY.PEEK[HEADER.FIELDS (FROM TO SUBJECT DATE)] BODYSTRUCTURE)")
    )
    results["search_header"] = timed(search(b"SEARCH SUBJECT invoice", len(range(0, count, 10))))
    results["search_body"] = timed(search(b"SEARCH BODY unicorn", len(range(0, count, 50))))
    client.close()
    results["mbsync"] = timed(lambda: mbsync(side, count))
    return results


def mbsync(side: Side, count: int) -> None:
    target = side.work / "maildir"
    subprocess.run(["rm", "-rf", str(target), str(side.work / "sync-state")], check=True)
    target.mkdir()
    (side.work / "sync-state").mkdir()
    config = side.work / "mbsyncrc"
    config.write_text(
        f"""IMAPAccount bench
User {USER}
Pass "{PASSWORD}"
Tunnel "openssl s_client -quiet -verify_quiet -connect {LOOPBACK}:{side.port}"
SSLType None

IMAPStore remote
Account bench

MaildirStore local
Path {target}/
Inbox {target}/INBOX

Channel bench
Far :remote:
Near :local:
Patterns INBOX
SyncState {side.work}/sync-state/
"""
    )
    result = subprocess.run(
        ["mbsync", "-q", "-c", str(config), "-a"], capture_output=True, text=True, timeout=3600
    )
    got = sum(len(os.listdir(target / "INBOX" / d)) for d in ("cur", "new"))
    if result.returncode != 0 or got != count:
        raise RuntimeError(f"{side.name}: mbsync gave {got} messages: {result.stderr[-500:]}")


def memory_with_idlers(side: Side) -> int:
    clients = []
    try:
        for _ in range(IDLERS):
            client = side.connect()
            client.command(b"SELECT INBOX")
            client.start_idle()
            clients.append(client)
        time.sleep(2)
        return tree_pss_kib(side.pid())
    finally:
        for client in clients:
            client.close()


def print_table(results: dict[str, dict[str, list[float]]], memory: dict[str, int]) -> None:
    print(f"\n{'operation':<14} {'roost (s)':>10} {'dovecot (s)':>12} {'ratio':>7}  runs")
    for operation in OPERATIONS:
        roost = summarize(results["roost"][operation])
        dovecot = summarize(results["dovecot"][operation])
        ratio = roost.median / dovecot.median if dovecot.median else float("inf")
        print(
            f"{operation:<14} {roost.median:>10.4f} {dovecot.median:>12.4f} {ratio:>6.2f}x"
            f"  roost {roost.low:.4f}-{roost.high:.4f},"
            f" dovecot {dovecot.low:.4f}-{dovecot.high:.4f}"
        )
    ratio = memory["roost"] / memory["dovecot"] if memory["dovecot"] else float("inf")
    print(
        f"{'pss_100_idle':<14} {memory['roost'] / 1024:>8.1f}MB {memory['dovecot'] / 1024:>10.1f}MB"
        f" {ratio:>6.2f}x"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    problem = runenv.missing_requirement(["dovecot", "mbsync", "openssl"], "bench/imap/run")
    if problem:
        print(f"bench/imap: {problem}", file=sys.stderr)
        return 1
    runenv.exit_on_sigterm()
    with contextlib.ExitStack() as cleanup:
        work = runenv.work_dir("roost-bench-imap-", args.keep, cleanup)
        roost = RoostInstance(work / "roost")
        roost.init("example.test", "127.0.0.1:53")
        roost.append_config(
            f"[checks]\nworkers = 0\n[limits]\nmax_connections_per_ip = {IDLERS * 3}\n"
            f"imap_connections_per_user = {IDLERS * 3}\n"
        )
        roost.add_user(USER, PASSWORD)
        roost.start()
        cleanup.callback(roost.stop)
        tls = roost.directory / "tls"
        dovecot = DovecotInstance(work / "dovecot", tls / "cert.pem", tls / "key.pem")
        dovecot.configure({USER: PASSWORD}, IDLERS * 3)
        dovecot.start()
        cleanup.callback(dovecot.stop)
        (work / "roost-sync").mkdir()
        (work / "dovecot-sync").mkdir()
        sides = {
            "roost": Side("roost", roost.port("imaps"), lambda: roost.pid, work / "roost-sync"),
            "dovecot": Side("dovecot", dovecot.port, lambda: dovecot.pid, work / "dovecot-sync"),
        }
        messages = corpus(args.messages)
        for side in sides.values():
            seconds = timed(lambda side=side: seed(side, messages))
            print(f"{side.name}: {len(messages)} messages appended in {seconds:.1f}s")
        for side in sides.values():
            run_round(side, len(messages))  # warm-up, untimed
        results: dict[str, dict[str, list[float]]] = {
            name: {op: [] for op in OPERATIONS} for name in sides
        }

        def step(number: int, name: str) -> None:
            for operation, seconds in run_round(sides[name], len(messages)).items():
                results[name][operation].append(seconds)
            print(f"round {number + 1} {name}: done")

        runenv.alternating_rounds(args.rounds, step, ("roost", "dovecot"))
        memory = {name: memory_with_idlers(side) for name, side in sides.items()}
        print_table(results, memory)
    return 0


if __name__ == "__main__":
    sys.exit(main())
