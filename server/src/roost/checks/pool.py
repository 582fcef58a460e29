"""The inbound checks (SPF, DKIM, DMARC) in worker processes, off the server's interpreter lock.

The checks are CPU-bound Python (dkimpy's RSA, ASN.1 and canonicalisation, pyspf, dnspython)
and, run in a thread, share one interpreter lock with every SMTP session of the server. Here
each worker is a spawned process (never forked: the server has threads) with its own
`DNSResolver`, hence its own DNS cache, and a few threads of its own, so one message waiting
on a slow DNS server does not hold up the others. Requests and verdicts travel as
length-prefixed pickles over a socket pair; the event loop reads the verdicts itself, so the
server gains no helper threads competing for its lock. Only the server's own code runs at
either end, so pickle is safe here.

A worker that dies (killed, crashed, out of memory) fails the checks it had in flight with
`WorkerLostError` and is replaced. The MX answers those messages with a 451: nothing is
accepted unchecked, and the sender retries later (RFC 5321 §4.2.5). Workers ignore SIGINT and
SIGTERM, so a signal sent to the whole process group lets the server finish its sessions; they
stop when the server closes their socket, and on their own if the server dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import multiprocessing
import os
import pickle
import signal
import socket
import struct
import threading
import time
import traceback
from collections.abc import Awaitable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any, Protocol

from roost.checks.inbound import InboundVerdict, evaluate
from roost.config import ChecksConfig
from roost.dns.resolver import DNSResolver, Resolver
from roost.offloop import sized

log = logging.getLogger("roost.checks.pool")

THREADS_PER_WORKER = 8  # concurrent checks per worker; mostly waiting on DNS in real traffic
RESTART_DELAY = 1.0  # a worker that dies young is replaced after this pause, not in a loop
STOP_TIMEOUT = 10.0
WAIT_FOR_WORKER = 10.0  # how long a check waits for a worker when all are being replaced
_HEADER = struct.Struct("!I")


def default_workers() -> int:
    """One worker per CPU the server may run on."""
    return len(os.sched_getaffinity(0))


class CheckError(Exception):
    """The checks could not give a verdict now; the message must get a temporary failure."""


class WorkerLostError(CheckError):
    """The worker running the checks died before answering."""


class CheckCrashedError(CheckError):
    """The checks raised in the worker; the message carries the worker's traceback."""


class CheckTimeoutError(CheckError):
    """The checks did not answer within their budget and its grace: stuck on CPU or DNS."""


# Beyond the checks' own budget, time for the look-ups in flight when it ran out (each
# bounded by the DNS timeout) before the message gets a 451 instead of a verdict.
BACKSTOP_GRACE = 15.0


async def bounded(config: ChecksConfig, checks: Awaitable[InboundVerdict]) -> InboundVerdict:
    """The verdict, or CheckTimeoutError once `config.budget` and the grace have passed."""
    try:
        return await asyncio.wait_for(checks, config.budget + BACKSTOP_GRACE)
    except TimeoutError:
        raise CheckTimeoutError(
            f"no verdict after {config.budget + BACKSTOP_GRACE:g} s (checks.budget)"
        ) from None


def budget_args(config: ChecksConfig) -> dict[str, Any]:
    """The limits `evaluate` applies itself, from `[checks]`."""
    return {
        "budget": config.budget,
        "spf_budget": config.spf_budget,
        "max_signatures": config.max_dkim_signatures,
    }


@dataclass(eq=False)
class _Worker:
    process: BaseProcess
    writer: asyncio.StreamWriter
    reader: asyncio.StreamReader
    started: float = field(default_factory=time.monotonic)
    pending: dict[int, asyncio.Future[InboundVerdict]] = field(default_factory=dict)
    task: asyncio.Task[None] | None = None


class InboundChecks(Protocol):
    """Where the MX runs `roost.checks.inbound.evaluate`: a `CheckPool` or `InThreadChecks`."""

    async def start(self) -> None: ...

    async def evaluate(self, message: bytes | Path, **kwargs: Any) -> InboundVerdict: ...

    async def close(self) -> None: ...


class InThreadChecks:
    """The checks in a thread of the server process (`[checks] workers = 0`): no extra
    processes, for small machines where the server's one core is all there is."""

    def __init__(self, resolver: Resolver, config: ChecksConfig) -> None:
        self.resolver = resolver
        self.config = config

    async def start(self) -> None:
        pass

    async def evaluate(self, message: bytes | Path, **kwargs: Any) -> InboundVerdict:
        kwargs |= budget_args(self.config)
        return await bounded(
            self.config,
            asyncio.to_thread(_evaluate, message, resolver=self.resolver, **kwargs),
        )

    async def close(self) -> None:
        pass


class CheckPool:
    """`evaluate` of `roost.checks.inbound`, run by `workers` processes.

    ``nameservers`` and ``timeout`` configure each worker's `DNSResolver` as `[dns]` does the
    server's. `start` must be awaited (after privileges are dropped) before `evaluate`, and
    `close` at shutdown.
    """

    def __init__(
        self,
        workers: int,
        nameservers: tuple[str, ...] | None,
        timeout: float,
        config: ChecksConfig,
        threads: int = THREADS_PER_WORKER,
    ) -> None:
        if workers < 1:
            raise ValueError("a check pool needs at least one worker")
        self.size = workers
        self.config = config
        self._resolver_args = (list(nameservers) if nameservers else None, timeout)
        self._threads = threads
        self._context = multiprocessing.get_context("spawn")
        self._workers: list[_Worker] = []
        self._ids = itertools.count(1)
        self._closing = False
        self._restarts: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Start every worker and wait until each has answered once."""
        self._workers = list(await asyncio.gather(*(self._spawn() for _ in range(self.size))))

    async def evaluate(self, message: bytes | Path, **kwargs: Any) -> InboundVerdict:
        """`roost.checks.inbound.evaluate` in a worker (``resolver`` is the worker's own).

        Raises `CheckError` when no verdict can be had now.
        """
        kwargs |= budget_args(self.config)
        worker = await self._least_busy()
        request_id = next(self._ids)
        future: asyncio.Future[InboundVerdict] = asyncio.get_running_loop().create_future()
        worker.pending[request_id] = future
        try:
            size = 0 if isinstance(message, Path) else len(message)
            frame = await sized(size, _frame, (request_id, message, kwargs))
            worker.writer.writelines(frame)
            try:
                await worker.writer.drain()
            except ConnectionError as err:
                raise WorkerLostError(f"check worker {worker.process.pid}: {err}") from err
            return await bounded(self.config, future)
        finally:
            worker.pending.pop(request_id, None)

    async def _least_busy(self) -> _Worker:
        """A live worker with the fewest checks in flight, waiting a little if all are being
        replaced (rare, and then briefly: worth more than a 451 to every sender meanwhile)."""
        deadline = time.monotonic() + WAIT_FOR_WORKER
        while not (live := [w for w in self._workers if not w.writer.is_closing()]):
            if self._closing or time.monotonic() > deadline:
                raise WorkerLostError("no check worker running")
            await asyncio.sleep(0.05)
        return min(live, key=lambda w: len(w.pending))

    async def close(self) -> None:
        """Let the workers finish what they have, then stop them."""
        self._closing = True
        for task in list(self._restarts):
            task.cancel()
        workers, self._workers = self._workers, []
        for worker in workers:
            with contextlib.suppress(OSError):
                worker.writer.write_eof()  # the worker answers what it has, then exits
        for worker in workers:
            if worker.task is not None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(worker.task), STOP_TIMEOUT)
            worker.writer.close()
            await _reap(worker.process)

    async def _spawn(self) -> _Worker:
        ours, theirs = socket.socketpair()
        try:
            process = self._context.Process(
                target=_worker_main,
                args=(theirs, *self._resolver_args, self._threads),
                name="roost-checks",
                daemon=True,
            )
            process.start()
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        writer = None
        try:
            reader, writer = await asyncio.open_connection(sock=ours)
            ready = await reader.readexactly(_HEADER.size)
            await reader.readexactly(_HEADER.unpack(ready)[0])
        except BaseException as err:  # including cancellation: leave no worker behind
            if writer is not None:
                writer.close()
            else:
                ours.close()
            process.kill()
            process.join()  # at once: it is dead or was just killed
            if isinstance(err, asyncio.IncompleteReadError | ConnectionError):
                raise WorkerLostError(f"check worker exited at start ({process.exitcode})") from err
            raise
        worker = _Worker(process, writer, reader)
        worker.task = asyncio.create_task(self._read_verdicts(worker))
        log.debug("check worker %d started", process.pid)
        return worker

    async def _read_verdicts(self, worker: _Worker) -> None:
        try:
            while True:
                header = await worker.reader.readexactly(_HEADER.size)
                body = await worker.reader.readexactly(_HEADER.unpack(header)[0])
                request_id, ok, payload = pickle.loads(body)
                future = worker.pending.get(request_id)
                if future is None or future.done():
                    continue
                if ok:
                    future.set_result(payload)
                else:
                    future.set_exception(CheckCrashedError(payload))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            worker.writer.close()
            lost = [f for f in worker.pending.values() if not f.done()]
            for future in lost:
                future.set_exception(WorkerLostError(f"check worker {worker.process.pid} died"))
            if not self._closing:
                log.error(
                    "check worker %d died (%s); %d checks lost, starting another",
                    worker.process.pid,
                    worker.process.exitcode,
                    len(lost),
                )
                task = asyncio.create_task(self._replace(worker))
                self._restarts.add(task)
                task.add_done_callback(self._restarts.discard)

    async def _replace(self, dead: _Worker) -> None:
        await _reap(dead.process)
        if time.monotonic() - dead.started < 10 * RESTART_DELAY:
            await asyncio.sleep(RESTART_DELAY)
        while not self._closing:
            try:
                worker = await self._spawn()
            except (WorkerLostError, OSError) as err:
                log.error("cannot start a check worker: %s", err)
                await asyncio.sleep(RESTART_DELAY)
                continue
            if self._closing:
                worker.writer.close()
                await _reap(worker.process)
                return
            self._workers = [worker if w is dead else w for w in self._workers]
            return


def _evaluate(message: bytes | Path, **kwargs: Any) -> InboundVerdict:
    """A large message comes as the path of the file it was received into
    (`roost.smtp.spooled`): read here, in the worker, so the server never holds it whole."""
    return evaluate(message.read_bytes() if isinstance(message, Path) else message, **kwargs)


def _frame(value: object) -> tuple[bytes, bytes]:
    """Length prefix and pickle, apart: joining them would copy the message once more."""
    body = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(len(body)), body


async def _reap(process: BaseProcess) -> None:
    await asyncio.to_thread(process.join, STOP_TIMEOUT)
    if process.exitcode is None:
        log.warning("check worker %d did not stop; killing it", process.pid)
        process.kill()
        await asyncio.to_thread(process.join)


def _worker_main(
    sock: socket.socket, nameservers: list[str] | None, timeout: float, threads: int
) -> None:
    """A worker process: read requests, check each in a thread, write back verdicts."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    resolver = DNSResolver(nameservers=nameservers, timeout=timeout)
    send_lock = threading.Lock()

    def send(value: object) -> None:
        body = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        with send_lock:
            sock.sendall(_HEADER.pack(len(body)) + body)

    def check(request_id: int, message: bytes | Path, kwargs: dict[str, Any]) -> None:
        try:
            verdict = _evaluate(message, resolver=resolver, **kwargs)
        except Exception:
            reply: tuple[int, bool, object] = (request_id, False, traceback.format_exc())
        else:
            reply = (request_id, True, verdict)
        with contextlib.suppress(OSError):  # the server is gone: nobody to tell
            send(reply)

    requests = sock.makefile("rb")
    with ThreadPoolExecutor(threads, thread_name_prefix="check") as executor:
        send(None)  # ready
        while header := requests.read(_HEADER.size):
            if len(header) < _HEADER.size:
                break
            body = requests.read(_HEADER.unpack(header)[0])
            executor.submit(check, *pickle.loads(body))
