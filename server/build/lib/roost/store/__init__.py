"""The mailbox store: accounts (Directory) and mail (MailStore) behind one seam.

Callers import from here; `interfaces` is the contract a PostgreSQL backend will implement.
"""

from roost.store.errors import (
    AliasTooDeep,
    AlreadyExists,
    DomainNotEmpty,
    InvalidAddress,
    InvalidFlag,
    MailboxNotAllowed,
    NoSuchAlias,
    NoSuchDomain,
    NoSuchMailbox,
    NoSuchMessage,
    NoSuchUser,
    SchemaTooNew,
    StoreClosed,
    StoreError,
)
from roost.store.interfaces import (
    DEFAULT_MAILBOXES,
    INBOX,
    Directory,
    MailboxInfo,
    MailStore,
    MessageInfo,
    Resolution,
    Store,
)
from roost.store.sqlite import SQLiteStore

__all__ = [
    "DEFAULT_MAILBOXES",
    "INBOX",
    "AliasTooDeep",
    "AlreadyExists",
    "Directory",
    "DomainNotEmpty",
    "InvalidAddress",
    "InvalidFlag",
    "MailStore",
    "MailboxInfo",
    "MailboxNotAllowed",
    "MessageInfo",
    "NoSuchAlias",
    "NoSuchDomain",
    "NoSuchMailbox",
    "NoSuchMessage",
    "NoSuchUser",
    "Resolution",
    "SQLiteStore",
    "SchemaTooNew",
    "Store",
    "StoreClosed",
    "StoreError",
]
