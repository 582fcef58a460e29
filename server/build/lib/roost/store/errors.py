"""Named store errors: each message says what went wrong and how to fix it.

The CLI prints these messages as they are; the SMTP and IMAP layers map the classes onto replies
(e.g. `NoSuchUser` → `550 5.1.1`) and keep the detail for their logs. The names read as the
condition (`NoSuchUser`, like mox's `ErrUnknownUser`) because other modules code against them,
hence the N818 exemptions.
"""

from __future__ import annotations


class StoreError(Exception):
    """Base of every error the store raises on purpose."""


class InvalidAddress(StoreError, ValueError):  # noqa: N818
    """An address or domain that is not a plain RFC 5321 `local@domain`."""


class NoSuchDomain(StoreError, LookupError):  # noqa: N818
    """The domain is not hosted here."""

    def __init__(self, domain: str) -> None:
        super().__init__(f"domain {domain} is not hosted; add it with `roost domain add {domain}`")
        self.domain = domain


class NoSuchUser(StoreError, LookupError):  # noqa: N818
    """No account has this address."""

    def __init__(self, address: str) -> None:
        super().__init__(
            f"no user {address}; list users with `roost user list` "
            f"or create it with `roost user add {address}`"
        )
        self.address = address


class NoSuchAlias(StoreError, LookupError):  # noqa: N818
    """No alias has this address."""

    def __init__(self, alias: str) -> None:
        super().__init__(f"no alias {alias}; list aliases with `roost alias list`")
        self.alias = alias


class NoSuchMailbox(StoreError, LookupError):  # noqa: N818
    """The user has no mailbox of this name."""

    def __init__(self, user: str, mailbox: str) -> None:
        super().__init__(
            f"{user} has no mailbox {mailbox!r}; list them with `roost mailbox list {user}`"
        )
        self.user = user
        self.mailbox = mailbox


class NoSuchMessage(StoreError, LookupError):  # noqa: N818
    """No message with this UID in the mailbox (never existed, or expunged)."""

    def __init__(self, mailbox: str, uid: int) -> None:
        super().__init__(f"no message with UID {uid} in {mailbox!r}; it may have been expunged")
        self.mailbox = mailbox
        self.uid = uid


class AlreadyExists(StoreError):  # noqa: N818
    """A domain, user, alias or mailbox of that name exists already."""


class DomainNotEmpty(StoreError):  # noqa: N818
    """A domain still has users or aliases, so removing it would orphan them."""

    def __init__(self, domain: str, users: int, aliases: int) -> None:
        super().__init__(
            f"domain {domain} still has {users} user(s) and {aliases} alias(es); "
            "remove them first with `roost user del` and `roost alias del`"
        )
        self.domain = domain


class AliasTooDeep(StoreError):  # noqa: N818
    """Alias expansion went deeper than the limit, almost always a misconfiguration."""

    def __init__(self, address: str, limit: int) -> None:
        super().__init__(
            f"alias {address} expands through more than {limit} levels of aliases; "
            "point it at the final recipients directly (`roost alias list` shows the chain)"
        )
        self.address = address


class InvalidFlag(StoreError, ValueError):  # noqa: N818
    """A flag that is not a system flag or an RFC 9051 §2.3.2 keyword atom."""


class MailboxNotAllowed(StoreError):  # noqa: N818
    """A mailbox operation IMAP forbids, e.g. deleting INBOX (RFC 9051 §6.3.5)."""


class SchemaTooNew(StoreError):  # noqa: N818
    """The database was written by a newer Roost, whose schema this one cannot read."""

    def __init__(self, found: int, known: int) -> None:
        super().__init__(
            f"the database is at schema version {found}, newer than this Roost knows ({known}); "
            "upgrade Roost before opening it"
        )


class StoreClosed(StoreError):  # noqa: N818
    """The store was used after close(); a bug in the caller's shutdown order."""
