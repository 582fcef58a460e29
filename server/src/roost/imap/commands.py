"""The command table: each IMAP command, its handler and the states it is valid in
(RFC 9051 §6: any state, not authenticated, authenticated, selected)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from roost.imap import args
from roost.imap import commands_any as anystate
from roost.imap import commands_mailbox as mailbox
from roost.imap import commands_message as message
from roost.imap.commands_search import search
from roost.imap.connection import CommandSpec, Handler, IMAPConnection
from roost.imap.errors import BadCommandError
from roost.imap.parser import Command
from roost.imap.session import State

UIDHandler = Callable[[IMAPConnection, Command, bool], Awaitable[str]]
_UID_COMMANDS: dict[str, UIDHandler] = {
    "FETCH": message.fetch,
    "STORE": message.store,
    "COPY": message.copy,
    "MOVE": message.copy,
    "EXPUNGE": message.expunge,
    "SEARCH": search,
}


async def uid(conn: IMAPConnection, command: Command) -> str:
    """RFC 9051 §6.4.9: UID COPY/MOVE/FETCH/SEARCH/STORE/EXPUNGE take and give UIDs."""
    if not command.args:
        raise BadCommandError("Syntax: UID FETCH|STORE|SEARCH|COPY|MOVE|EXPUNGE ...")
    name = args.atom(command.args[0], "the UID command").upper()
    handler = _UID_COMMANDS.get(name)
    if handler is None:
        raise BadCommandError(f"unknown UID command {name[:20]}")
    text = await handler(conn, Command(command.tag, name, command.args[1:]), True)
    return f"UID {text}" if text.startswith(name) else text


ANY = frozenset({State.NOT_AUTHENTICATED, State.AUTHENTICATED, State.SELECTED})
NOT_AUTHENTICATED = frozenset({State.NOT_AUTHENTICATED})
AUTHENTICATED = frozenset({State.AUTHENTICATED, State.SELECTED})
SELECTED = frozenset({State.SELECTED})

_TABLE: dict[str, tuple[Handler, frozenset[State]]] = {
    "CAPABILITY": (anystate.capability, ANY),
    "NOOP": (anystate.noop, ANY),
    "LOGOUT": (anystate.logout, ANY),
    "ID": (anystate.id_command, ANY),
    "STARTTLS": (anystate.starttls, NOT_AUTHENTICATED),
    "LOGIN": (anystate.login, NOT_AUTHENTICATED),
    "AUTHENTICATE": (anystate.authenticate, NOT_AUTHENTICATED),
    # RFC 5161 §3.1: ENABLE only before a mailbox is selected; responses would change mid-view.
    "ENABLE": (anystate.enable, frozenset({State.AUTHENTICATED})),
    "NAMESPACE": (anystate.namespace, AUTHENTICATED),
    "COMPRESS": (anystate.compress, AUTHENTICATED),
    "IDLE": (anystate.idle, AUTHENTICATED),
    "SELECT": (mailbox.select, AUTHENTICATED),
    "EXAMINE": (mailbox.select, AUTHENTICATED),
    "CREATE": (mailbox.create, AUTHENTICATED),
    "DELETE": (mailbox.delete, AUTHENTICATED),
    "RENAME": (mailbox.rename, AUTHENTICATED),
    "SUBSCRIBE": (mailbox.subscribe, AUTHENTICATED),
    "UNSUBSCRIBE": (mailbox.subscribe, AUTHENTICATED),
    "LIST": (mailbox.list_command, AUTHENTICATED),
    "LSUB": (mailbox.list_command, AUTHENTICATED),
    "STATUS": (mailbox.status, AUTHENTICATED),
    "APPEND": (mailbox.append, AUTHENTICATED),
    "CHECK": (anystate.check, SELECTED),
    "CLOSE": (mailbox.unselect, SELECTED),
    "UNSELECT": (mailbox.unselect, SELECTED),
    "EXPUNGE": (message.expunge, SELECTED),
    "FETCH": (message.fetch, SELECTED),
    "STORE": (message.store, SELECTED),
    "COPY": (message.copy, SELECTED),
    "MOVE": (message.copy, SELECTED),
    "SEARCH": (search, SELECTED),
    "UID": (uid, SELECTED),
}

COMMANDS = {name: CommandSpec(handler, states) for name, (handler, states) in _TABLE.items()}
