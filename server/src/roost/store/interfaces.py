"""The store's contracts: what SMTP, IMAP and the CLI may ask of accounts and mailboxes.

These Protocols are the seam between the protocol engines and storage (pymap's `interfaces`):
SQLite implements them today, a PostgreSQL backend can implement them later so several Roost
hosts share one directory and one set of mailboxes. Listeners see addresses, UIDs and bytes;
file paths and SQL stay behind the seam.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import BinaryIO, Literal, NamedTuple, Protocol

from roost.store.notify import ChangeFeed

INBOX = "INBOX"
# RFC 6154 §2: the special-use attributes a new account's folders carry, keyed by folder name.
DEFAULT_MAILBOXES: tuple[tuple[str, str | None], ...] = (
    (INBOX, None),
    ("Sent", "\\Sent"),
    ("Drafts", "\\Drafts"),
    ("Trash", "\\Trash"),
    ("Junk", "\\Junk"),
    ("Archive", "\\Archive"),
)
SPECIAL_USES = frozenset(
    {"\\All", "\\Archive", "\\Drafts", "\\Flagged", "\\Junk", "\\Sent", "\\Trash"}
)
FlagMode = Literal["set", "add", "remove"]


@dataclass(frozen=True)
class Resolution:
    """Where mail for one envelope recipient goes; both empty means an unknown recipient."""

    local: tuple[str, ...]
    remote: tuple[str, ...]

    @property
    def unknown(self) -> bool:
        return not self.local and not self.remote


@dataclass(frozen=True)
class MailboxInfo:
    """A mailbox's IMAP STATUS items (RFC 9051 §6.3.11, RFC 7162 §3.1.2.1 HIGHESTMODSEQ)."""

    name: str
    special_use: str | None
    messages: int
    unseen: int
    uidvalidity: int
    uidnext: int
    highestmodseq: int
    deleted: int = 0
    size: int = 0  # RFC 8438 STATUS=SIZE: the sum of the messages' sizes


class MessageInfo(NamedTuple):
    """One message's per-mailbox state: what IMAP FETCH needs without reading the body.
    A named tuple: SELECT and FETCH make one per message, at a third of a frozen
    dataclass's cost."""

    uid: int
    modseq: int
    flags: tuple[str, ...]
    internaldate: datetime
    size: int


KeptRow = tuple[int, int, bytes, int, int, int, bytes | None, bytes | None]
"""A message as a FETCH answered from its kept structure reads it (`MailStore.kept_rows`):
UID, MODSEQ, flags as stored (space-separated atoms, `roost.store.flags`), size,
INTERNALDATE as Unix seconds and its zone's offset in minutes, the kept structure (None
while none is kept) and the kept HEADER.FIELDS answer of the field set asked (None while
none is kept). A plain tuple: one is read per message of a mailbox listing."""


def from_stored_time(seconds: int, offset_minutes: int) -> datetime:
    """A stored INTERNALDATE (Unix seconds and its zone's offset, as `KeptRow` carries it)."""
    return datetime.fromtimestamp(seconds, _zone(offset_minutes))


@functools.lru_cache(maxsize=256)
def _zone(offset_minutes: int) -> timezone:
    """The few zone offsets a mailbox holds, made once (SELECT makes a date per message)."""
    return timezone(timedelta(minutes=offset_minutes))


class Selection(NamedTuple):
    """What SELECT and EXAMINE report and keep of a mailbox (RFC 9051 §6.3.2, RFC 7162
    §3.2.5), read in one transaction: no per-message objects, as a session keeps only the
    UIDs."""

    name: str
    special_use: str | None
    uidvalidity: int
    uidnext: int
    highestmodseq: int
    uids: list[int]  # ascending: sequence number n is uids[n - 1]
    keywords: frozenset[str]  # the keywords set on any message
    first_unseen: int  # the UID of the first message without \Seen, 0 if none
    changed: list[MessageInfo]  # changed after the MODSEQ asked for (QRESYNC), else empty


@dataclass(frozen=True)
class MailboxChanges:
    """What changed in a mailbox after a MODSEQ: new or changed messages, expunged UIDs."""

    uidvalidity: int
    uidnext: int
    highestmodseq: int
    changed: list[MessageInfo]
    expunged: list[int]


class Directory(Protocol):
    """Hosted domains, users and aliases: who may receive and who may send as what."""

    def add_domain(self, domain: str) -> None: ...
    def remove_domain(self, domain: str) -> None: ...
    def list_domains(self) -> list[str]: ...
    def stored_messages(self, domain: str) -> dict[str, int]: ...
    def is_local_domain(self, domain: str) -> bool: ...
    def add_user(self, address: str, password_hash: str) -> None: ...
    def set_password(self, address: str, password_hash: str) -> None: ...
    def remove_user(self, address: str) -> None: ...
    def list_users(self) -> list[str]: ...
    def password_hash(self, address: str) -> str | None: ...
    def add_alias(self, alias: str, targets: Sequence[str]) -> None: ...
    def remove_alias(self, alias: str) -> None: ...
    def list_aliases(self) -> dict[str, list[str]]: ...
    def resolve(self, address: str) -> Resolution: ...
    def may_send_as(self, user: str, address: str) -> bool: ...


class MailStore(Protocol):
    """Mailboxes and messages, with the UID/MODSEQ bookkeeping IMAP requires."""

    def deliver(
        self,
        users: Sequence[str],
        message: bytes,
        *,
        special_use: str | None = None,
        flags: Sequence[str] = (),
        internaldate: datetime | None = None,
    ) -> None: ...
    def list_mailboxes(self, user: str) -> list[MailboxInfo]: ...
    def mailbox_info(self, user: str, mailbox: str) -> MailboxInfo: ...
    def create_mailbox(self, user: str, mailbox: str, special_use: str | None = None) -> None: ...
    def delete_mailbox(self, user: str, mailbox: str) -> None: ...
    def rename_mailbox(self, user: str, old: str, new: str) -> None: ...
    def subscribe(self, user: str, mailbox: str) -> None: ...
    def unsubscribe(self, user: str, mailbox: str) -> None: ...
    def list_subscriptions(self, user: str) -> list[str]: ...
    def append(
        self,
        user: str,
        mailbox: str,
        message: bytes,
        flags: Sequence[str] = (),
        internaldate: datetime | None = None,
    ) -> int: ...
    def messages(self, user: str, mailbox: str) -> list[MessageInfo]: ...
    def fetch(self, user: str, mailbox: str, uid: int) -> bytes: ...
    def store_flags(
        self,
        user: str,
        mailbox: str,
        uids: Sequence[int],
        flags: Sequence[str],
        mode: FlagMode = "set",
        *,
        unchanged_since: int | None = None,
    ) -> list[MessageInfo]: ...
    def copy(
        self, user: str, mailbox: str, uids: Sequence[int], target: str
    ) -> list[tuple[int, int]]: ...
    def move(
        self, user: str, mailbox: str, uids: Sequence[int], target: str
    ) -> list[tuple[int, int]]: ...
    def expunge(self, user: str, mailbox: str, uids: Sequence[int] | None = None) -> list[int]: ...
    def expunged_since(self, user: str, mailbox: str, modseq: int) -> list[int]: ...
    def selection(self, user: str, mailbox: str, changed_since: int | None = None) -> Selection: ...
    def changes_since(self, user: str, mailbox: str, modseq: int) -> MailboxChanges: ...
    def message_infos(self, user: str, mailbox: str, uids: Sequence[int]) -> list[MessageInfo]: ...
    def flag_states(
        self, user: str, mailbox: str, uids: Sequence[int]
    ) -> list[tuple[int, int, bytes]]: ...
    def infos_and_structures(
        self, user: str, mailbox: str, uids: Sequence[int]
    ) -> tuple[list[MessageInfo], dict[int, bytes]]: ...
    def search_rows(
        self,
        user: str,
        mailbox: str,
        uids: Sequence[int],
        prefilter: tuple[bytes, tuple[bytes, ...]] | None = None,
    ) -> tuple[list[MessageInfo], dict[int, bytes], dict[int, bytes]]: ...
    def kept_rows(
        self, user: str, mailbox: str, uids: Sequence[int], field_set: int | None = None
    ) -> list[KeptRow]: ...
    def header_field_set(self, names: str, version: str) -> int | None: ...
    def save_header_fields(
        self, user: str, mailbox: str, set_id: int, answers: dict[int, bytes]
    ) -> None: ...
    def message_readers(
        self, user: str, mailbox: str, uids: Sequence[int]
    ) -> dict[int, Callable[[], bytes]]: ...
    def save_structures(
        self,
        user: str,
        mailbox: str,
        structures: dict[int, bytes],
        searched: dict[int, bytes] | None = None,
    ) -> None: ...
    def export_mbox(self, user: str, mailbox: str, out: BinaryIO) -> int: ...


class Store(Directory, MailStore, Protocol):
    """A complete backend: what `roost serve` and the CLI open."""

    changes: ChangeFeed  # published after each committed change to a user's mail

    def close(self) -> None: ...
