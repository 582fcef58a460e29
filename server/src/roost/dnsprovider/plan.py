"""Deciding what to change in a zone so it holds Roost's record sets, and nothing more.

Rules (issue 8): only records Roost manages change and nothing else is ever
deleted (a retired DKIM selector's record goes only when named, issue 9; a domain
taken out of roost_domains loses only the exact values Roost would write, see
``RecordSet.gone``); TXT
records at a name are told apart by what they start with, so other
TXT records at the same name are never touched; the SPF record is merged, not
replaced; a record the user has where Roost wants another (an MX, a DMARC policy)
is a conflict, reported and left alone unless ``replace_conflicts`` is set.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from dataclasses import replace as with_changes
from typing import Literal

from roost.dnsprovider import spf
from roost.dnsprovider.base import (
    DEFAULT_TTL,
    InvalidRecordError,
    Provider,
    Record,
    in_zone,
    normalize_name,
    normalize_value,
)


@dataclass(frozen=True)
class RecordSet:
    """What Roost wants at one name and type.

    For TXT, ``match`` is the prefix of the values this set owns (``v=DMARC1``;
    compared case-insensitively): only those are compared and replaced, other TXT
    values at the name are not Roost's. ``match="v=spf1"`` makes the set an SPF
    merge: ``values`` are then mechanisms to add to the existing record. A TXT set
    without ``match`` only adds its values. ``replace`` marks values Roost alone
    writes (the MTA-STS id changes with each policy, a DKIM key record must hold the
    server's key), replaced without counting as a conflict; with no ``values`` (see
    ``absent``) they are deleted. Other types own the whole RRset at the name.
    ``present=False`` (see ``gone``) turns the set around: the records it owns are
    deleted, and an SPF set then takes its mechanisms back out of the record.
    """

    name: str
    type: str
    values: tuple[str, ...]
    ttl: int = DEFAULT_TTL
    match: str | None = None
    replace: bool = False
    present: bool = True

    @classmethod
    def make(
        cls,
        name: str,
        rtype: str,
        values: Iterable[str],
        ttl: int = DEFAULT_TTL,
        match: str | None = None,
        replace: bool = False,
    ) -> RecordSet:
        rtype = rtype.upper()
        if match is not None and rtype != "TXT":
            raise InvalidRecordError(f"match= is for TXT record sets, not {rtype} ({name})")
        canonical = tuple(dict.fromkeys(normalize_value(rtype, v) for v in values))
        if not canonical:
            raise InvalidRecordError(f"the record set {name} {rtype} has no values")
        return cls(normalize_name(name), rtype, canonical, ttl, match, replace)

    @classmethod
    def absent(cls, name: str, match: str) -> RecordSet:
        """The TXT values starting with MATCH at NAME are Roost's and must go.

        Only for names Roost itself made and has retired (a DKIM selector past its grace
        period): the caller names each one, nothing is deleted by pattern.
        """
        return cls(normalize_name(name), "TXT", (), match=match, replace=True, present=False)

    def gone(self) -> RecordSet:
        """This set's records, to delete: a domain taken out of roost_domains.

        Only the exact values Roost would publish are Roost's (a user's own MX or TXT at
        the same name stays); a set matching by prefix at a name only Roost writes (a DKIM
        selector, ``_mta-sts``) keeps its prefix; an SPF set takes back its mechanisms.
        """
        return with_changes(self, present=False)

    @property
    def is_spf(self) -> bool:
        return self.match is not None and self.match.lower() == "v=spf1"

    def owns(self, record: Record) -> bool:
        """Whether RECORD is in the part of its name/type this set manages."""
        if (record.name, record.type) != (self.name, self.type):
            return False
        if not (self.present or self.is_spf or (self.match and self.replace)):
            return record.value in self.values
        if self.type != "TXT":
            return True
        if self.match is None:
            return record.value in self.values
        if self.is_spf:
            return spf.is_spf(record.value)
        return record.value.lower().startswith(self.match.lower())


@dataclass(frozen=True)
class Change:
    action: Literal["create", "delete"]
    record: Record


@dataclass(frozen=True)
class Conflict:
    """Records the user has where Roost wants others; left alone unless replace_conflicts."""

    record_set: RecordSet
    existing: tuple[Record, ...]
    reason: str

    def message(self) -> str:
        have = ", ".join(r.display_value() for r in self.existing)
        want = ", ".join(self.record_set.values)
        return (
            f"{self.record_set.name} {self.record_set.type}: {self.reason}: the zone has {have}, "
            f"Roost would publish {want}; kept as it is (set replace_conflicts: true on the "
            "domain in roost_domains to replace it)"
        )


@dataclass
class Plan:
    """The changes that bring one zone to the wanted record sets."""

    zone: str
    changes: list[Change] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    before: list[Record] = field(default_factory=list)
    after: list[Record] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    def diff(self) -> dict[str, str]:
        """Before/after text of the names Roost manages, for Ansible's ``--diff``."""
        return {
            "before": "".join(r.text() + "\n" for r in sorted(self.before)),
            "after": "".join(r.text() + "\n" for r in sorted(self.after)),
            "before_header": f"zone {self.zone}",
            "after_header": f"zone {self.zone}",
        }


def plan(
    zone: str,
    wanted: Sequence[RecordSet],
    existing: Iterable[Record],
    *,
    replace_conflicts: bool = False,
) -> Plan:
    """The change set taking EXISTING (the zone's records) to hold WANTED."""
    zone = normalize_name(zone)
    current = list(existing)
    result = Plan(zone)
    for record_set in wanted:
        if not in_zone(zone, record_set.name):
            raise InvalidRecordError(f"{record_set.name} is not inside the zone {zone}")
        held = [r for r in current if record_set.owns(r)]
        creates, deletes, conflict = _set_changes(record_set, held, replace_conflicts)
        if conflict is not None:
            result.conflicts.append(conflict)
        result.changes += [Change("create", r) for r in creates]
        result.changes += [Change("delete", r) for r in deletes]
        result.before += held
        result.after += [r for r in held if r not in deletes] + creates
    # Two sets may look at the same records (an SPF set and a DKIM set never do, an
    # MX given twice would): each record once.
    result.before = list(dict.fromkeys(result.before))
    result.after = list(dict.fromkeys(result.after))
    return result


def _set_changes(
    record_set: RecordSet, held: list[Record], replace_conflicts: bool
) -> tuple[list[Record], list[Record], Conflict | None]:
    """(records to create, records to delete, conflict) for one set."""
    if record_set.is_spf:
        if not record_set.present:
            return _spf_removal(record_set, held)
        return _spf_changes(record_set, held, replace_conflicts)
    if not record_set.present:
        return [], held, None
    wanted = [
        Record(record_set.name, record_set.type, v, record_set.ttl) for v in record_set.values
    ]
    creates = [r for r in wanted if r not in held]
    others = [r for r in held if r not in wanted]
    if record_set.type == "TXT" and record_set.match is None:
        return creates, [], None  # add-only: nothing else at the name is Roost's
    if not others:
        return creates, [], None
    if record_set.replace or replace_conflicts:
        return creates, others, None
    conflict = Conflict(record_set, tuple(others), "the zone holds another value")
    return [], [], conflict


def _spf_changes(
    record_set: RecordSet, held: list[Record], replace_conflicts: bool
) -> tuple[list[Record], list[Record], Conflict | None]:
    mechanisms = list(record_set.values)
    ours = spf.record(mechanisms)
    if not held:
        return [Record(record_set.name, "TXT", ours, record_set.ttl)], [], None
    if len(held) > 1 and not replace_conflicts:
        # RFC 7208 §4.5: more than one SPF record is a permerror for every receiver.
        # With replace_conflicts the first one, merged, replaces them all.
        return [], [], Conflict(record_set, tuple(held), "several SPF records (RFC 7208 §4.5)")
    try:
        merged = spf.merge(held[0].value, mechanisms)
    except spf.SPFMergeError:
        if not replace_conflicts:
            raise
        merged = ours
    if len(held) == 1 and merged == held[0].value:
        return [], [], None
    return [Record(record_set.name, "TXT", merged, record_set.ttl)], held, None


def _spf_removal(
    record_set: RecordSet, held: list[Record]
) -> tuple[list[Record], list[Record], Conflict | None]:
    """Roost's mechanisms out of the SPF record; the record goes if Roost wrote all of it."""
    mechanisms = list(record_set.values)
    creates: list[Record] = []
    deletes: list[Record] = []
    for record in held:
        rest = spf.unmerge(record.value, mechanisms)
        if rest == record.value:
            continue
        deletes.append(record)
        if record.value != spf.record(mechanisms):
            creates.append(Record(record.name, "TXT", rest, record.ttl))
    return creates, deletes, None


def apply(provider: Provider, result: Plan) -> None:
    """Make the changes: creates first, so a replaced MX or address never leaves a gap."""
    for change in sorted(result.changes, key=lambda c: c.action != "create"):
        if change.action == "create":
            provider.create(result.zone, change.record)
        else:
            provider.delete(result.zone, change.record)


def sync(
    provider: Provider,
    zone: str,
    wanted: Sequence[RecordSet],
    *,
    replace_conflicts: bool = False,
    check: bool = False,
) -> Plan:
    """Read ZONE once, plan, and apply unless CHECK (Ansible's check mode, ``--check``)."""
    result = plan(zone, wanted, provider.records(zone), replace_conflicts=replace_conflicts)
    if not check:
        apply(provider, result)
    return result
