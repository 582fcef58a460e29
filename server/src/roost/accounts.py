"""Declarative accounts: make the store hold the domains, users and aliases a list names.

The Ansible role and `roost accounts sync` both come here, so a re-run that finds everything
in place changes nothing and says so. Nothing the list omits is ever removed: a user deleted
from the inventory keeps their mail until someone runs `roost user del` on purpose.

A domain goes only when named as absent (`state: absent` in roost_domains), with its users
and aliases; while any of its mailboxes holds mail that is refused, naming them, unless the
entry says what becomes of the mail (`mail: keep` or `mail: delete`, see MAIL_CHOICES).

A password is set again only when the stored hash no longer verifies it: each Argon2id hash
has its own salt, so comparing hashes would report a change on every run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from roost.passwords import hash_password, verify_password
from roost.store.addresses import (
    normalize_address,
    normalize_alias,
    normalize_domain,
    normalize_remote,
    split_address,
)
from roost.store.interfaces import Directory


class AccountsError(ValueError):
    """The desired state itself is malformed; the message names the entry and the fix."""


@dataclass(frozen=True)
class User:
    address: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class Alias:
    address: str
    targets: tuple[str, ...]


#: What a removed domain's stored mail becomes: `keep` leaves the users holding mail (and so
#: the domain) in the store, readable over IMAP; `delete` removes them with their mail.
MAIL_CHOICES = ("keep", "delete")


@dataclass(frozen=True)
class Absent:
    """A domain to stop hosting; ``mail`` is None (refuse if mail is stored) or a MAIL_CHOICE."""

    name: str
    mail: str | None = None


@dataclass(frozen=True)
class Accounts:
    """What the store should hold (at least), and the domains it must no longer host."""

    domains: tuple[str, ...]
    users: tuple[User, ...]
    aliases: tuple[Alias, ...]
    absent: tuple[Absent, ...] = ()


@dataclass
class Changes:
    """What a sync did (or, in check mode, would do); passwords never appear here."""

    domains_added: list[str] = field(default_factory=list)
    users_added: list[str] = field(default_factory=list)
    passwords_set: list[str] = field(default_factory=list)
    aliases_added: list[str] = field(default_factory=list)
    aliases_changed: list[str] = field(default_factory=list)
    domains_removed: list[str] = field(default_factory=list)
    users_removed: list[str] = field(default_factory=list)
    aliases_removed: list[str] = field(default_factory=list)
    #: Users of a removed domain kept with their mail (`mail: keep`).
    users_kept: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(v for k, v in vars(self).items() if k != "users_kept")

    def as_dict(self) -> dict[str, object]:
        return {"changed": self.changed, **vars(self)}


def listing(directory: Directory) -> list[str]:
    """The directory as lines (`domain d`, `user u`, `alias a -> t, ...`), for diffs."""
    lines = [f"domain {d}" for d in directory.list_domains()]
    lines += [f"user {u}" for u in directory.list_users()]
    lines += [f"alias {a} -> {', '.join(t)}" for a, t in sorted(directory.list_aliases().items())]
    return lines


def planned_listing(before: list[str], wanted: Accounts, changes: Changes) -> list[str]:
    """What `listing` shows once ``changes`` are applied; a new password shows as a marker."""
    replaced = {f"alias {a} ->" for a in changes.aliases_changed + changes.aliases_removed}
    removed = {f"user {u}" for u in changes.users_removed}
    removed |= {f"domain {d}" for d in changes.domains_removed}
    lines = [
        line
        for line in before
        if line not in removed and not any(line.startswith(r) for r in replaced)
    ]
    lines += [f"domain {d}" for d in changes.domains_added]
    lines += [f"user {u}" for u in changes.users_added]
    lines += [f"user {u} (new password)" for u in changes.passwords_set]
    names = set(changes.aliases_added) | set(changes.aliases_changed)
    lines += [
        f"alias {a.address} -> {', '.join(a.targets)}" for a in wanted.aliases if a.address in names
    ]
    return lines


#: Mailboxes every domain must have (RFC 2142 §4 for mail, §5 for abuse reports).
ROLE_MAILBOXES = ("postmaster", "abuse")


def parse_accounts(data: object) -> Accounts:
    """Reads `{"domains": [...], "users": [{address, password}], "aliases": [{address, to}],
    "postmaster": address, "absent": [{name, mail?}]}`.

    With ``postmaster``, each domain's ROLE_MAILBOXES not listed as a user or alias become
    aliases to it.
    """
    if not isinstance(data, Mapping):
        raise AccountsError(f"expected an object, got {type(data).__name__}")
    domains = tuple(normalize_domain(str(d)) for d in _list(data, "domains"))
    users = []
    for i, entry in enumerate(_list(data, "users")):
        if not isinstance(entry, Mapping) or not entry.get("address") or not entry.get("password"):
            raise AccountsError(f"users[{i}]: expected {{address, password}}, both non-empty")
        users.append(User(normalize_address(str(entry["address"])), str(entry["password"])))
    aliases = []
    for i, entry in enumerate(_list(data, "aliases")):
        targets = entry.get("to") if isinstance(entry, Mapping) else None
        if not isinstance(entry, Mapping) or not entry.get("address") or not targets:
            raise AccountsError(f"aliases[{i}]: expected {{address, to: [addresses]}}")
        if isinstance(targets, str):
            targets = [targets]
        aliases.append(Alias(normalize_alias(str(entry["address"])), tuple(map(str, targets))))
    postmaster = data.get("postmaster")
    if postmaster:
        taken = {u.address for u in users} | {a.address for a in aliases}
        aliases += [
            Alias(address, (str(postmaster),))
            for address in (f"{box}@{d}" for d in domains for box in ROLE_MAILBOXES)
            if address not in taken
        ]
    _no_duplicates("users", [u.address for u in users])
    _no_duplicates("aliases", [a.address for a in aliases])
    both = {u.address for u in users} & {a.address for a in aliases}
    if both:
        raise AccountsError(f"{', '.join(sorted(both))}: listed both as a user and as an alias")
    absent = _parse_absent(_list(data, "absent"), domains)
    gone = {a.name for a in absent}
    for address in [u.address for u in users] + [a.address for a in aliases]:
        if split_address(address)[1] in gone:
            raise AccountsError(
                f"{address} is listed but its domain is marked absent; take it out of "
                "roost_users / roost_aliases, or host the domain again"
            )
    return Accounts(domains, tuple(users), tuple(aliases), absent)


def _parse_absent(entries: Sequence[object], domains: Sequence[str]) -> tuple[Absent, ...]:
    absent = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, Mapping) or not entry.get("name"):
            raise AccountsError(f"absent[{i}]: expected {{name, mail?}}")
        mail = entry.get("mail") or None
        if mail is not None and mail not in MAIL_CHOICES:
            raise AccountsError(
                f"absent[{i}] ({entry['name']}): mail: {mail!r} is not one of "
                f"{', '.join(MAIL_CHOICES)}"
            )
        absent.append(Absent(normalize_domain(str(entry["name"])), mail))
    _no_duplicates("absent", [a.name for a in absent])
    both = set(domains) & {a.name for a in absent}
    if both:
        raise AccountsError(f"{', '.join(sorted(both))}: listed both as hosted and as absent")
    return tuple(absent)


def _list(data: Mapping[str, object], key: str) -> Sequence[object]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise AccountsError(f"{key}: expected a list, got {type(value).__name__}")
    return value


def _no_duplicates(kind: str, names: Iterable[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise AccountsError(f"{kind}: {name} is listed twice; keep one entry")
        seen.add(name)


def sync(directory: Directory, wanted: Accounts, *, check: bool = False) -> Changes:
    """Adds what is missing and corrects what differs; with ``check``, only reports it."""
    changes = Changes()
    hosted = set(directory.list_domains())
    _remove_absent(directory, wanted.absent, hosted, directory.list_aliases(), changes, check)
    for domain in wanted.domains:
        if domain not in hosted:
            changes.domains_added.append(domain)
            if not check:
                directory.add_domain(domain)
    existing = set(directory.list_users())
    for user in wanted.users:
        if user.address not in existing:
            changes.users_added.append(user.address)
            if not check:
                directory.add_user(user.address, hash_password(user.password))
            continue
        stored = directory.password_hash(user.address)
        if stored is None or not verify_password(stored, user.password):
            changes.passwords_set.append(user.address)
            if not check:
                directory.set_password(user.address, hash_password(user.password))
    current = directory.list_aliases()
    hosted |= set(wanted.domains)
    for alias in wanted.aliases:
        have = current.get(alias.address)
        if have is None:
            changes.aliases_added.append(alias.address)
        elif have != _stored_targets(alias.targets, hosted):
            changes.aliases_changed.append(alias.address)
            if not check:
                directory.remove_alias(alias.address)
        else:
            continue
        if not check:
            directory.add_alias(alias.address, alias.targets)
    return changes


def _remove_absent(
    directory: Directory,
    absent: Sequence[Absent],
    hosted: set[str],
    aliases: Mapping[str, list[str]],
    changes: Changes,
    check: bool,
) -> None:
    """Stops hosting each absent domain; refuses all of it, changing nothing, while any of
    them holds mail its entry does not say what to do with."""
    present = [a for a in absent if a.name in hosted]
    stored = {a.name: directory.stored_messages(a.name) for a in present}
    refused = [
        f"{address} ({count} message{'s' if count != 1 else ''})"
        for a in present
        if a.mail is None
        for address, count in stored[a.name].items()
        if count
    ]
    if refused:
        raise AccountsError(
            f"mail is stored for a domain marked absent: {', '.join(refused)}; set `mail: keep` "
            "on its roost_domains entry to keep these mailboxes (the rest of the domain goes), "
            "or `mail: delete` to delete them with their mail"
        )
    for domain in present:
        for address in sorted(a for a in aliases if a.rpartition("@")[2] == domain.name):
            changes.aliases_removed.append(address)
            if not check:
                directory.remove_alias(address)
        users = stored[domain.name]
        kept = [u for u, count in users.items() if count and domain.mail == "keep"]
        changes.users_kept += kept
        for address in (u for u in users if u not in kept):
            changes.users_removed.append(address)
            if not check:
                directory.remove_user(address)
        if not kept:
            changes.domains_removed.append(domain.name)
            if not check:
                directory.remove_domain(domain.name)


def _stored_targets(targets: Iterable[str], hosted: set[str]) -> list[str]:
    """The targets as the store keeps them: hosted addresses lowercased, remote local parts
    verbatim, repeats dropped (see SQLiteDirectory.add_alias)."""
    stored: dict[str, None] = {}
    for target in targets:
        _, domain = split_address(target)
        stored[normalize_address(target) if domain in hosted else normalize_remote(target)] = None
    return list(stored)
