"""Commands on mailboxes (RFC 9051 §6.3): SELECT/EXAMINE (with CONDSTORE/QRESYNC, RFC 7162),
CREATE (RFC 6154 USE), DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, LIST/LSUB, STATUS, APPEND
(UIDPLUS APPENDUID, RFC 4315), and leaving a mailbox with CLOSE or UNSELECT (RFC 3691)."""

from __future__ import annotations

import contextlib
from datetime import datetime

from roost.imap import args
from roost.imap.connection import IMAPConnection
from roost.imap.errors import BadCommandError, RefusedError
from roost.imap.listing import DELIMITER, ListEntry, entries, pattern_regex
from roost.imap.parser import Arg, Command
from roost.imap.response import Atom, flag_list, untagged
from roost.imap.selected import SelectedMailbox
from roost.imap.seqset import SequenceSet, format_set
from roost.imap.session import State
from roost.store.errors import AlreadyExists, InvalidFlag, NoSuchMailbox
from roost.store.interfaces import SPECIAL_USES, MailboxInfo, MessageInfo

SYSTEM_FLAGS = ("\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft")
STATUS_ITEMS = ("MESSAGES", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "DELETED", "SIZE", "RECENT")


async def select(conn: IMAPConnection, command: Command) -> str:
    readonly = command.name == "EXAMINE"
    args.count(command.args, 1, 2, f"{command.name} mailbox [(CONDSTORE | QRESYNC (...))]")
    session = conn.session
    name = args.mailbox(session, command.args[0])
    qresync = None
    if len(command.args) == 2:
        for key, value in _pairs(args.paren_list(command.args[1], "the parameters")):
            if key == "CONDSTORE":
                session.enabled.add("CONDSTORE")  # RFC 7162 §3.1.8: implicitly enabled
            elif key == "QRESYNC" and session.qresync:
                qresync = args.paren_list(value, "the QRESYNC parameters")
            else:
                raise BadCommandError(f"unknown {command.name} parameter {key[:30]}")
    # RFC 9051 §6.3.2: a failed SELECT leaves no mailbox selected.
    session.selected = None
    session.state = State.AUTHENTICATED
    assert session.user is not None
    changed_since = _qresync_modseq(qresync)
    info = await conn.store_call(conn.endpoint.store.selection, session.user, name, changed_since)
    view = SelectedMailbox.open(
        info, readonly=readonly, condstore=session.condstore, qresync=session.qresync
    )
    flags = [*SYSTEM_FLAGS, *sorted(view.keywords)]
    conn.send_raw(untagged(Atom("FLAGS"), flag_list(flags)))
    permanent = [] if readonly else [*flags, "\\*"]
    conn.send_raw(untagged(Atom("OK"), Atom(f"[PERMANENTFLAGS {_atoms(permanent)}]"), "Flags"))
    conn.send(f"* {view.exists} EXISTS")
    if not session.rev2:
        conn.send("* 0 RECENT")
        if info.first_unseen:
            conn.send(f"* OK [UNSEEN {view.seq_of(info.first_unseen)}] First unseen")
    conn.send(f"* OK [UIDVALIDITY {info.uidvalidity}] UIDs valid")
    conn.send(f"* OK [UIDNEXT {info.uidnext}] Predicted next UID")
    conn.send(f"* OK [HIGHESTMODSEQ {info.highestmodseq}] Highest")
    if session.rev2:
        attributes = [info.special_use] if info.special_use else []
        name_out = args.mailbox_out(session, info.name)
        conn.send_raw(untagged(Atom("LIST"), flag_list(attributes), DELIMITER, name_out))
    if qresync is not None:
        await _qresync(conn, view, qresync, info.changed)
    session.selected = view
    session.state = State.SELECTED
    mode = "READ-ONLY" if readonly else "READ-WRITE"
    return f"[{mode}] {command.name} completed"


def _qresync_modseq(params: list[Arg] | None) -> int | None:
    """The client's MODSEQ in QRESYNC's (uidvalidity modseq [known-uids])."""
    if params is None:
        return None
    if len(params) < 2:
        raise BadCommandError("QRESYNC needs (uidvalidity modseq [known-uids])")
    return args.number(params[1], "the MODSEQ")


async def _qresync(
    conn: IMAPConnection, view: SelectedMailbox, params: list[Arg], changed: list[MessageInfo]
) -> None:
    """RFC 7162 §3.2.5: what changed since the client's MODSEQ, if its UIDVALIDITY holds;
    `changed` are the messages with a MODSEQ above it, read with the selection."""
    uidvalidity = args.number(params[0], "the UIDVALIDITY")
    modseq = _qresync_modseq(params)
    assert modseq is not None
    known = SequenceSet.parse(args.atom(params[2], "the known UIDs")) if len(params) > 2 else None
    if uidvalidity != view.uidvalidity:
        return
    assert conn.session.user is not None
    vanished = await conn.store_call(
        conn.endpoint.store.expunged_since, conn.session.user, view.name, modseq
    )
    if known is not None:
        wanted = known.resolve(max([*vanished, 1]))
        vanished = [u for u in vanished if any(lo <= u <= hi for lo, hi in wanted)]
    if vanished:
        conn.send_raw(untagged(Atom("VANISHED"), Atom("(EARLIER)"), Atom(format_set(vanished))))
    for info in changed:
        line = view.fetch_flags_line(info, with_uid=True)
        if line is not None:
            conn.send_raw(line)


def _pairs(params: list[Arg]) -> list[tuple[str, Arg]]:
    """Select parameters: `NAME [value]`, a value being a list."""
    out: list[tuple[str, Arg]] = []
    position = 0
    while position < len(params):
        key = args.atom(params[position], "a parameter name").upper()
        value: Arg = []
        if position + 1 < len(params) and isinstance(params[position + 1], list):
            value = params[position + 1]
            position += 1
        out.append((key, value))
        position += 1
    return out


def _atoms(values: list[str]) -> str:
    return "(" + " ".join(values) + ")"


async def unselect(conn: IMAPConnection, command: Command) -> str:
    """RFC 3691 UNSELECT: leave without expunging; CLOSE (§6.4.1) expunges silently first."""
    args.count(command.args, 0, 0, command.name)
    session = conn.session
    selected = session.selected
    assert selected is not None and session.user is not None
    session.selected = None
    session.state = State.AUTHENTICATED
    if command.name == "CLOSE" and not selected.readonly:
        await conn.store_call(conn.endpoint.store.expunge, session.user, selected.name)
    return f"{command.name} completed"


async def create(conn: IMAPConnection, command: Command) -> str:
    args.count(command.args, 1, 2, "CREATE mailbox [(USE (\\Special))]")
    session = conn.session
    name = args.mailbox(session, command.args[0]).rstrip(DELIMITER)
    special_use = None
    if len(command.args) == 2:
        for key, value in _pairs(args.paren_list(command.args[1], "the parameters")):
            uses = args.paren_list(value, "USE") if key == "USE" else None
            if uses is None or len(uses) != 1:
                raise BadCommandError("Syntax: CREATE mailbox (USE (\\Special))")
            special_use = args.atom(uses[0], "a special-use attribute").capitalize()
            special_use = "\\" + special_use[1:].capitalize()
            if special_use not in SPECIAL_USES:
                raise RefusedError("Unknown special-use attribute", "USEATTR")
    assert session.user is not None
    store = conn.endpoint.store
    levels = name.split(DELIMITER)
    # RFC 9051 §6.3.4: superior names that do not exist yet are created too.
    for depth in range(1, len(levels)):
        with contextlib.suppress(AlreadyExists):
            await conn.store_call(
                store.create_mailbox, session.user, DELIMITER.join(levels[:depth])
            )
    await conn.store_call(store.create_mailbox, session.user, name, special_use)
    return "CREATE completed"


async def delete(conn: IMAPConnection, command: Command) -> str:
    args.count(command.args, 1, 1, "DELETE mailbox")
    session = conn.session
    name = args.mailbox(session, command.args[0])
    assert session.user is not None
    await conn.store_call(conn.endpoint.store.delete_mailbox, session.user, name)
    return "DELETE completed"


async def rename(conn: IMAPConnection, command: Command) -> str:
    """RFC 9051 §6.3.6: inferior names move along; renaming INBOX moves only its messages."""
    args.count(command.args, 2, 2, "RENAME old new")
    session = conn.session
    old = args.mailbox(session, command.args[0])
    new = args.mailbox(session, command.args[1]).rstrip(DELIMITER)
    assert session.user is not None
    store = conn.endpoint.store
    boxes = await conn.store_call(store.list_mailboxes, session.user)
    names = {box.name for box in boxes}
    if old not in names:
        raise NoSuchMailbox(session.user, old)
    if new in names:
        raise RefusedError("The new name exists already", "ALREADYEXISTS")
    levels = new.split(DELIMITER)
    for depth in range(1, len(levels)):
        parent = DELIMITER.join(levels[:depth])
        if parent not in names and parent != old:
            await conn.store_call(store.create_mailbox, session.user, parent)
    await conn.store_call(store.rename_mailbox, session.user, old, new)
    if old != "INBOX":
        prefix = old + DELIMITER
        for child in sorted(n for n in names if n.startswith(prefix)):
            await conn.store_call(
                store.rename_mailbox, session.user, child, new + child[len(old) :]
            )
    return "RENAME completed"


async def subscribe(conn: IMAPConnection, command: Command) -> str:
    args.count(command.args, 1, 1, f"{command.name} mailbox")
    session = conn.session
    name = args.mailbox(session, command.args[0])
    assert session.user is not None
    store = conn.endpoint.store
    if command.name == "SUBSCRIBE":
        await conn.store_call(store.subscribe, session.user, name)
    else:
        with contextlib.suppress(NoSuchMailbox):  # RFC 9051 §6.3.8: not an error to repeat
            await conn.store_call(store.unsubscribe, session.user, name)
    return f"{command.name} completed"


async def list_command(conn: IMAPConnection, command: Command) -> str:
    """LIST, LIST-EXTENDED (RFC 5258) and LSUB (RFC 3501 §6.3.9)."""
    session = conn.session
    params = list(command.args)
    selection: list[str] = []
    if params and isinstance(params[0], list):
        selection = [args.atom(a, "a selection option").upper() for a in params.pop(0)]
    returning: list[Arg] = []
    if len(params) >= 4 and isinstance(params[2], str) and params[2].upper() == "RETURN":
        returning = args.paren_list(params[3], "the RETURN options")
        params = params[:2]
    args.count(params, 2, 2, f"{command.name} reference pattern")
    reference = args.mailbox(session, params[0]) if params[0] not in (b"", "") else ""
    raw_patterns = params[1] if isinstance(params[1], list) else [params[1]]
    patterns = [args.mailbox(session, p) if p not in (b"", "") else "" for p in raw_patterns]
    if patterns == [""]:
        # RFC 9051 §6.3.9: an empty pattern asks for the delimiter.
        conn.send_raw(untagged(Atom(command.name), [Atom("\\Noselect")], DELIMITER, ""))
        return f"{command.name} completed"
    return_options, status_items = _return_options(returning)
    assert session.user is not None
    store = conn.endpoint.store
    boxes = await conn.store_call(store.list_mailboxes, session.user)
    subscriptions = await conn.store_call(store.list_subscriptions, session.user)
    lsub = command.name == "LSUB"
    found = entries(
        boxes,
        subscriptions,
        [pattern_regex(reference, p) for p in patterns],
        subscribed_only=lsub or "SUBSCRIBED" in selection,
        special_use_only="SPECIAL-USE" in selection,
        return_subscribed="SUBSCRIBED" in return_options,
    )
    for entry in found:
        _send_entry(conn, command.name, entry, lsub)
        if status_items and entry.info is not None:
            _send_status(conn, entry.info, status_items)
    return f"{command.name} completed"


def _return_options(returning: list[Arg]) -> tuple[set[str], list[str]]:
    options: set[str] = set()
    status_items: list[str] = []
    position = 0
    while position < len(returning):
        option = args.atom(returning[position], "a RETURN option").upper()
        options.add(option)
        if option == "STATUS":  # RFC 5819 LIST-STATUS
            position += 1
            if position >= len(returning):
                raise BadCommandError("RETURN (STATUS (items)) needs its items")
            items = args.paren_list(returning[position], "the STATUS items")
            status_items = [args.atom(i, "a STATUS item").upper() for i in items]
        position += 1
    return options, status_items


def _send_entry(conn: IMAPConnection, kind: str, entry: ListEntry, lsub: bool) -> None:
    attributes = [a for a in entry.attributes if not (lsub and a == "\\Subscribed")]
    name = args.mailbox_out(conn.session, entry.name)
    conn.send_raw(untagged(Atom(kind), flag_list(attributes), DELIMITER, name))


async def status(conn: IMAPConnection, command: Command) -> str:
    args.count(command.args, 2, 2, "STATUS mailbox (items)")
    session = conn.session
    name = args.mailbox(session, command.args[0])
    items = [
        args.atom(i, "a STATUS item").upper() for i in args.paren_list(command.args[1], "items")
    ]
    assert session.user is not None
    info = await conn.store_call(conn.endpoint.store.mailbox_info, session.user, name)
    _send_status(conn, info, items)
    return "STATUS completed"


def _send_status(conn: IMAPConnection, info: MailboxInfo, items: list[str]) -> None:
    values = {
        "MESSAGES": info.messages,
        "UIDNEXT": info.uidnext,
        "UIDVALIDITY": info.uidvalidity,
        "UNSEEN": info.unseen,
        "DELETED": info.deleted,
        "SIZE": info.size,
        "RECENT": 0,
        "HIGHESTMODSEQ": info.highestmodseq,
    }
    out: list[object] = []
    for item in items:
        if item not in values:
            raise BadCommandError(f"unknown STATUS item {item[:30]}")
        out += [Atom(item), values[item]]
    name = args.mailbox_out(conn.session, info.name)
    conn.send_raw(untagged(Atom("STATUS"), name, out))


async def append(conn: IMAPConnection, command: Command) -> str:
    """RFC 9051 §6.3.12; acknowledged only once the message is durable (fsync, then commit)."""
    params = list(command.args)
    args.count(params, 2, 4, "APPEND mailbox [(flags)] [date-time] {literal}")
    session = conn.session
    name = args.mailbox(session, params.pop(0))
    flags: list[str] = []
    when = None
    if isinstance(params[0], list):
        flags = [args.atom(f, "a flag") for f in params.pop(0)]
    if len(params) == 2 and isinstance(params[0], bytes):
        when = parse_datetime(params.pop(0))
    if len(params) == 2 and params[0] == "UTF8" and isinstance(params[1], list):
        params = params[1]  # RFC 6855 §4: APPEND ... UTF8 (literal8)
    if len(params) != 1 or not isinstance(params[0], bytes):
        raise BadCommandError("Syntax: APPEND mailbox [(flags)] [date-time] {literal}")
    message = params[0]
    if not message:
        raise BadCommandError("The message is empty")
    assert session.user is not None
    store = conn.endpoint.store
    try:
        uid = await conn.store_call(store.append, session.user, name, message, flags, when)
    except NoSuchMailbox:
        raise RefusedError("No such mailbox; create it first", "TRYCREATE") from None
    except InvalidFlag as exc:
        raise BadCommandError(str(exc)) from None
    info = await conn.store_call(store.mailbox_info, session.user, name)
    return f"[APPENDUID {info.uidvalidity} {uid}] APPEND completed"


def parse_datetime(value: bytes) -> datetime:
    """RFC 9051 §9 date-time: "dd-Mon-yyyy hh:mm:ss +zzzz" (day may be space-padded)."""
    text = value.decode("ascii", "replace").strip()
    try:
        return datetime.strptime(text, "%d-%b-%Y %H:%M:%S %z")
    except ValueError:
        raise BadCommandError(
            f'{text[:40]!r} is not a date-time like "17-Jul-1996 02:44:25 -0700"'
        ) from None
