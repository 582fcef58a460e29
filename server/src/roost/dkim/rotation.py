"""DKIM key rotation in two phases around the DNS update, with the clock passed in.

Phase 1 (``ensure``): each domain gets a pending key of every algorithm that has no key
signing yet or whose signing key is due (older than the rotation period, or rotation forced);
retiring selectors past their grace period become removed (their key files are deleted). It
returns what DNS must hold: every pending, active and retiring selector, and the removed ones
to delete.

Phase 2 (``activate``), run only once every authoritative server serves the pending records:
each pending key signs from now on and the key it replaces starts retiring. It stays published
for the grace period so mail signed just before the switch, still queued or in flight, keeps
verifying (RFC 6376 §3.6.2 fetches the key at verification time; RFC 6376 §6.1.2 step 6 fails
a signature whose key is gone).

Nothing is due: nothing changes, so a re-run of the playbook reports ``changed=0``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from roost.dkim.keys import ALGORITHMS, DKIMKeyStore
from roost.dkim.state import SelectorState, read_state, write_state

#: The TXT value reported in check mode for a key not made yet (its public half is unknown).
PENDING_VALUE = "v=DKIM1; p=(made on the server when the play runs for real)"


@dataclass(frozen=True)
class Policy:
    """When keys rotate (``roost_dkim_rotate_days``) and retire (``roost_dkim_retire_days``)."""

    rotate_days: int = 180
    retire_days: int = 7
    #: Rotate every algorithm now, whatever the keys' age (``roost_dkim_rotate=true``).
    force: bool = False

    def __post_init__(self) -> None:
        if self.rotate_days < 1 or self.retire_days < 0:
            raise ValueError(
                f"DKIM rotation every {self.rotate_days} days, retiring after "
                f"{self.retire_days}: set roost_dkim_rotate_days >= 1 and "
                "roost_dkim_retire_days >= 0"
            )

    def rotate_at(self, entry: SelectorState) -> datetime:
        return entry.created + timedelta(days=self.rotate_days)

    def remove_at(self, entry: SelectorState) -> datetime | None:
        return entry.retiring + timedelta(days=self.retire_days) if entry.retiring else None


@dataclass
class DomainKeys:
    """One domain's phase-1 result: what changed and what DNS must hold."""

    #: Selectors made by this run (pending).
    created: list[str] = field(default_factory=list)
    #: Selectors removed by this run (their grace period is over).
    removed: list[str] = field(default_factory=list)
    #: {selector, value, phase} of every selector to publish.
    records: list[dict[str, str]] = field(default_factory=list)
    #: Every removed selector: DNS deletes their records (again, if a run failed before).
    retired: list[str] = field(default_factory=list)
    #: Problems found and what was done about them.
    problems: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.removed or self.problems)


def new_selector(algorithm: str, now: datetime, taken: Iterable[str]) -> str:
    """The algorithm's letter and the day (``r20261130``), with a letter if already taken."""
    base = f"{algorithm[0]}{now:%Y%m%d}"
    used = set(taken)
    for suffix in ("", *"bcdefghijklmnopqrstuvwxyz"):
        if base + suffix not in used:
            return base + suffix
    raise ValueError(f"more than 26 {algorithm} DKIM selectors made on {now:%Y-%m-%d}")


def ensure(
    store: DKIMKeyStore,
    domain: str,
    now: datetime,
    policy: Policy,
    *,
    check: bool = False,
) -> DomainKeys:
    """Phase 1 for one domain (see the module docstring); CHECK changes nothing."""
    states = store.states(domain)
    on_disk = {key.selector for key in store.keys(domain)}
    result = DomainKeys()
    for entry in list(states.values()):
        if entry.phase != "removed" and entry.selector not in on_disk:
            # Its private key is lost: it can sign nothing, so its record goes.
            result.problems.append(
                f"the private key of DKIM selector {entry.selector} ({domain}) is missing: "
                "its record is removed and a new key is made"
            )
            states[entry.selector] = entry.to("removed", now)
        elif entry.phase == "retiring" and now >= (policy.remove_at(entry) or now):
            result.removed.append(entry.selector)
            states[entry.selector] = entry.to("removed", now)
    for algorithm in ALGORITHMS:
        of_algorithm = [e for e in states.values() if e.algorithm == algorithm]
        if any(e.phase == "pending" for e in of_algorithm):
            continue  # made by an earlier run; activation follows its publication
        active = [e for e in of_algorithm if e.phase == "active"]
        newest = max(active, key=lambda e: e.created, default=None)
        if newest and not policy.force and now < policy.rotate_at(newest):
            continue
        selector = new_selector(algorithm, now, states)
        result.created.append(selector)
        if check:
            states[selector] = SelectorState(selector, algorithm, now, "pending")
            continue
        if read_state(store.domain_dir(domain)) is None:
            # Without a state file the newest key signs (roost.dkim.state): record the
            # phases first, so the new key is pending from the moment it exists.
            write_state(store.ensure_domain_dir(domain), states.values())
        key = store.generate(domain, algorithm, selector, created=now)
        states[selector] = SelectorState(selector, algorithm, key.created, "pending")
    if not check:
        if result.changed or set(states) != set(store.states(domain)):
            write_state(store.domain_dir(domain), states.values())
        # After the state is written: a crash in between leaves files the next run removes.
        for entry in states.values():
            if entry.phase == "removed" and entry.selector in on_disk:
                store.remove(domain, entry.selector)
    values = {key.selector: key.dns_value() for key in store.keys(domain)}
    for entry in sorted(states.values(), key=lambda e: (e.created, e.selector)):
        if entry.phase == "removed":
            result.retired.append(entry.selector)
        else:
            value = values.get(entry.selector, PENDING_VALUE)
            result.records.append(
                {"selector": entry.selector, "value": value, "phase": entry.phase}
            )
    return result


def drop(store: DKIMKeyStore, domain: str, now: datetime, *, check: bool = False) -> DomainKeys:
    """Every key of a domain no longer hosted is removed; its selectors stay listed as
    retired (the state file keeps them), so DNS deletes their records even on a later run."""
    states = store.states(domain)
    result = DomainKeys()
    for entry in list(states.values()):
        if entry.phase != "removed":
            result.removed.append(entry.selector)
            states[entry.selector] = entry.to("removed", now)
    if result.removed and not check:
        write_state(store.domain_dir(domain), states.values())
        for key in store.keys(domain):
            store.remove(domain, key.selector)
    result.retired = sorted(states)
    return result


def activate(store: DKIMKeyStore, domain: str, now: datetime, *, check: bool = False) -> list[str]:
    """Phase 2 for one domain: pending keys sign, the ones they replace retire.

    Call it only once every authoritative server serves the pending records.
    Returns the selectors activated (none: nothing changed).
    """
    states = store.states(domain)
    # Oldest first: of several pending keys of one algorithm the newest ends up signing.
    pending = sorted(
        (e for e in states.values() if e.phase == "pending"), key=lambda e: (e.created, e.selector)
    )
    for new in pending:
        for old in states.values():
            if old.algorithm == new.algorithm and old.phase == "active":
                states[old.selector] = old.to("retiring", now)
        states[new.selector] = new.to("active", now)
    if pending and not check:
        write_state(store.domain_dir(domain), states.values())
    return [e.selector for e in pending]


@dataclass(frozen=True)
class StatusRow:
    """One line of ``roost dkim status``."""

    domain: str
    selector: str
    algorithm: str
    phase: str
    created: datetime
    activated: datetime | None
    retiring: datetime | None
    removed: datetime | None
    #: When the next step is due: rotation of an active key, removal of a retiring one.
    due: datetime | None

    def as_json(self) -> dict[str, str | None]:
        return {
            k: v.isoformat() if isinstance(v, datetime) else v for k, v in self.__dict__.items()
        }


def status(store: DKIMKeyStore, domain: str, policy: Policy) -> list[StatusRow]:
    """Every selector of DOMAIN, oldest first, with its dates."""
    rows = []
    for e in sorted(store.states(domain).values(), key=lambda e: (e.created, e.selector)):
        due = {"active": policy.rotate_at(e), "retiring": policy.remove_at(e)}.get(e.phase)
        dates = (e.created, e.activated, e.retiring, e.removed, due)
        rows.append(StatusRow(domain, e.selector, e.algorithm, e.phase, *dates))
    return rows


def status_table(rows: Iterable[StatusRow], now: datetime) -> str:
    """The status as a table a person reads; a past due date is marked ``(due)``."""

    def day(when: datetime | None) -> str:
        return f"{when:%Y-%m-%d}" if when else "-"

    lines = [("DOMAIN", "SELECTOR", "ALGORITHM", "STATE", "CREATED", "ACTIVE", "RETIRING",
              "REMOVED", "NEXT")]  # fmt: skip
    for r in rows:
        nxt = "-"
        if r.due:
            nxt = ("rotate " if r.phase == "active" else "remove ") + day(r.due)
            nxt += " (due)" if r.due <= now else ""
        lines.append(
            (r.domain, r.selector, r.algorithm, r.phase, day(r.created), day(r.activated),
             day(r.retiring), day(r.removed), nxt)
        )  # fmt: skip
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    return "".join(
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() + "\n"
        for line in lines
    )
