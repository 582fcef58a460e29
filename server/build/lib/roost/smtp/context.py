"""What the SMTP endpoints need from the rest of Roost, built once by `roost serve`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from roost.config import DMARCPolicy, Limits
from roost.dkim.keys import DKIMKeyStore
from roost.queue.spool import Spool
from roost.store.sqlite import SQLiteStore
from roost.store.writer import DeliveryWriter


@dataclass(frozen=True)
class SMTPContext:
    hostname: str
    store: SQLiteStore
    writer: DeliveryWriter
    dkim_keys: DKIMKeyStore
    limits: Limits
    dmarc: DMARCPolicy
    spool: Spool
    wake_queue: Callable[[], None]
