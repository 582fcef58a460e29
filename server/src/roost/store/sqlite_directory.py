"""Domains, users and aliases in SQLite (the `Directory` half of SQLiteStore)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from roost.durable import remove_files
from roost.store import resolution
from roost.store.addresses import (
    domain_part,
    normalize_address,
    normalize_alias,
    normalize_domain,
    normalize_remote,
    split_address,
)
from roost.store.errors import (
    AlreadyExists,
    DomainNotEmpty,
    InvalidAddress,
    NoSuchAlias,
    NoSuchDomain,
    NoSuchUser,
)
from roost.store.interfaces import DEFAULT_MAILBOXES, Resolution
from roost.store.sqlite_base import SQLiteBase


class _Lookup:
    """resolution.Lookup over one connection, inside the caller's read transaction."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def is_local_domain(self, domain: str) -> bool:
        return _domain_id(self._conn, domain) is not None

    def is_user(self, address: str) -> bool:
        query = "SELECT 1 FROM users WHERE address = ?"
        return self._conn.execute(query, (address,)).fetchone() is not None

    def alias_targets(self, alias: str) -> list[str] | None:
        rows = self._conn.execute(
            "SELECT t.target FROM aliases a LEFT JOIN alias_targets t ON t.alias_id = a.id "
            "WHERE a.address = ? ORDER BY t.position",
            (alias,),
        ).fetchall()
        return [row[0] for row in rows if row[0] is not None] if rows else None


def _domain_id(conn: sqlite3.Connection, domain: str) -> int | None:
    row = conn.execute("SELECT id FROM domains WHERE name = ?", (domain,)).fetchone()
    return None if row is None else int(row[0])


def _hosted_domain_id(conn: sqlite3.Connection, domain: str) -> int:
    domain_id = _domain_id(conn, domain)
    if domain_id is None:
        raise NoSuchDomain(domain)
    return domain_id


class SQLiteDirectory(SQLiteBase):
    def add_domain(self, domain: str) -> None:
        name = normalize_domain(domain)
        try:
            with self._write() as conn:
                conn.execute("INSERT INTO domains (name) VALUES (?)", (name,))
        except sqlite3.IntegrityError:
            raise AlreadyExists(f"domain {name} is already hosted") from None

    def remove_domain(self, domain: str) -> None:
        """Refused while users or aliases remain, so no account is left without its domain."""
        name = normalize_domain(domain)
        with self._write() as conn:
            domain_id = _hosted_domain_id(conn, name)
            users, aliases = conn.execute(
                "SELECT (SELECT COUNT(*) FROM users WHERE domain_id = :d), "
                "(SELECT COUNT(*) FROM aliases WHERE domain_id = :d)",
                {"d": domain_id},
            ).fetchone()
            if users or aliases:
                raise DomainNotEmpty(name, users, aliases)
            conn.execute("DELETE FROM domains WHERE id = ?", (domain_id,))

    def stored_messages(self, domain: str) -> dict[str, int]:
        """Each user of DOMAIN and how many messages their mailboxes hold."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT u.address, COUNT(m.id) FROM users u JOIN domains d ON u.domain_id = d.id "
                "LEFT JOIN mailboxes b ON b.user_id = u.id "
                "LEFT JOIN messages m ON m.mailbox_id = b.id "
                "WHERE d.name = ? GROUP BY u.address ORDER BY u.address",
                (normalize_domain(domain),),
            ).fetchall()
        return {address: int(count) for address, count in rows}

    def list_domains(self) -> list[str]:
        with self._read() as conn:
            return [row[0] for row in conn.execute("SELECT name FROM domains ORDER BY name")]

    def is_local_domain(self, domain: str) -> bool:
        try:
            name = normalize_domain(domain)
        except InvalidAddress:
            return False
        with self._read() as conn:
            return _domain_id(conn, name) is not None

    def add_user(self, address: str, password_hash: str) -> None:
        """Creates the RFC 6154 special-use folders too, so every client finds the same ones."""
        canonical = normalize_address(address)
        with self._write() as conn:
            domain_id = _hosted_domain_id(conn, domain_part(canonical))
            if _Lookup(conn).alias_targets(canonical) is not None:
                raise AlreadyExists(
                    f"{canonical} is an alias; remove it first with `roost alias del {canonical}`"
                )
            try:
                cursor = conn.execute(
                    "INSERT INTO users (address, domain_id, password_hash) VALUES (?, ?, ?)",
                    (canonical, domain_id, password_hash),
                )
            except sqlite3.IntegrityError:
                raise AlreadyExists(
                    f"user {canonical} exists; change its password with "
                    f"`roost user passwd {canonical}`"
                ) from None
            user_id = int(cursor.lastrowid or 0)
            for name, special_use in DEFAULT_MAILBOXES:
                self._insert_mailbox(conn, user_id, name, special_use)
                conn.execute(
                    "INSERT INTO subscriptions (user_id, name) VALUES (?, ?)", (user_id, name)
                )

    def set_password(self, address: str, password_hash: str) -> None:
        canonical = normalize_address(address)
        with self._write() as conn:
            cursor = conn.execute(
                "UPDATE users SET password_hash = ? WHERE address = ?", (password_hash, canonical)
            )
            if cursor.rowcount == 0:
                raise NoSuchUser(canonical)

    def remove_user(self, address: str) -> None:
        """Deletes the user's mailboxes and messages; aliases naming the user are kept."""
        with self._write() as conn:
            user_id = self._user_id(conn, address)
            blob_ids = [
                row[0]
                for row in conn.execute(
                    "SELECT m.blob_id FROM messages m JOIN mailboxes b ON m.mailbox_id = b.id "
                    "WHERE b.user_id = ?",
                    (user_id,),
                )
            ]
            conn.execute("DELETE FROM users WHERE id = ?", (user_id,))
            paths = self._release_blobs(conn, blob_ids)
        remove_files(self.messages_dir, paths)

    def list_users(self) -> list[str]:
        with self._read() as conn:
            return [row[0] for row in conn.execute("SELECT address FROM users ORDER BY address")]

    def password_hash(self, address: str) -> str | None:
        """None for unknown or malformed names, so a login attempt cannot make it raise."""
        try:
            canonical = normalize_address(address)
        except InvalidAddress:
            return None
        with self._read() as conn:
            row = conn.execute(
                "SELECT password_hash FROM users WHERE address = ?", (canonical,)
            ).fetchone()
        return None if row is None else str(row[0])

    def add_alias(self, alias: str, targets: Sequence[str]) -> None:
        """Targets may be hosted users, other aliases, or remote addresses (kept verbatim)."""
        key = normalize_alias(alias)
        if not targets:
            raise InvalidAddress(f"alias {key} needs at least one target address")
        with self._write() as conn:
            domain_id = _hosted_domain_id(conn, domain_part(key))
            lookup = _Lookup(conn)
            if lookup.is_user(key):
                raise AlreadyExists(f"{key} is a user; an alias cannot take its address")
            canonical_targets: dict[str, None] = {}
            for target in targets:
                _, domain = split_address(target)
                hosted = lookup.is_local_domain(domain)
                canonical_targets[
                    normalize_address(target) if hosted else normalize_remote(target)
                ] = None
            try:
                cursor = conn.execute(
                    "INSERT INTO aliases (address, domain_id) VALUES (?, ?)", (key, domain_id)
                )
            except sqlite3.IntegrityError:
                raise AlreadyExists(
                    f"alias {key} exists; remove it first with `roost alias del {key}`"
                ) from None
            conn.executemany(
                "INSERT INTO alias_targets (alias_id, position, target) VALUES (?, ?, ?)",
                [(cursor.lastrowid, i, t) for i, t in enumerate(canonical_targets)],
            )

    def remove_alias(self, alias: str) -> None:
        key = normalize_alias(alias)
        with self._write() as conn:
            if conn.execute("DELETE FROM aliases WHERE address = ?", (key,)).rowcount == 0:
                raise NoSuchAlias(key)

    def list_aliases(self) -> dict[str, list[str]]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT a.address, t.target FROM aliases a "
                "JOIN alias_targets t ON t.alias_id = a.id ORDER BY a.address, t.position"
            ).fetchall()
        aliases: dict[str, list[str]] = {}
        for address, target in rows:
            aliases.setdefault(address, []).append(target)
        return aliases

    def resolve(self, address: str) -> Resolution:
        """See roost.store.resolution; raises InvalidAddress for malformed input."""
        with self._read() as conn:
            return resolution.resolve(_Lookup(conn), address)

    def may_send_as(self, user: str, address: str) -> bool:
        with self._read() as conn:
            return resolution.may_send_as(_Lookup(conn), user, address)
