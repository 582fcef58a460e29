"""Housekeeping the running server does on its own, hourly.

- MTA-STS policies are refreshed once a day while still valid (RFC 8461 §3.3 asks for a
  proactive refresh, so that an attacker must block the refresh for the whole max_age to make
  a policy lapse), and expired ones are dropped.
- TLS-RPT records older than what a report can still cover are dropped (RFC 8460 §4.1 reports
  cover one UTC day; we keep a month for the operator).
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import time
from collections.abc import Callable

from roost.mtasts import MTASTS, PolicyCache
from roost.tlsrpt import TLSReportStore

log = logging.getLogger("roost.maintenance")

EVERY = 3600.0
POLICY_REFRESH_AGE = 86400.0
TLS_REPORT_DAYS = 31


async def housekeeping(
    mtasts: MTASTS,
    policies: PolicyCache,
    reports: TLSReportStore,
    clock: Callable[[], float] = time.time,
) -> None:
    """Run forever (cancel it to stop); one failed round is logged and retried next hour."""
    while True:
        try:
            await run_once(mtasts, policies, reports, clock())
        except Exception:
            log.exception("housekeeping round failed")
        await asyncio.sleep(EVERY)


async def run_once(
    mtasts: MTASTS, policies: PolicyCache, reports: TLSReportStore, now: float
) -> None:
    for domain in await asyncio.to_thread(policies.due_for_refresh, now - POLICY_REFRESH_AGE, now):
        result = await mtasts.refresh(domain)
        log.info("MTA-STS policy of %s refreshed: %s", domain, result.reason)
    await asyncio.to_thread(policies.prune, now)
    today = datetime.datetime.fromtimestamp(now, datetime.UTC).date()
    await asyncio.to_thread(reports.prune, today - datetime.timedelta(days=TLS_REPORT_DAYS))
