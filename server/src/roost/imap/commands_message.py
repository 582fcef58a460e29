"""Commands on the selected mailbox's messages (RFC 9051 §6.4): FETCH, STORE, COPY, MOVE
(RFC 6851), EXPUNGE, their UID forms (with UIDPLUS UID EXPUNGE, RFC 4315), and the CONDSTORE /
QRESYNC modifiers (RFC 7162: CHANGEDSINCE, UNCHANGEDSINCE, VANISHED)."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable

from roost.imap import args
from roost.imap.connection import IMAPConnection
from roost.imap.errors import BadCommandError, RefusedError
from roost.imap.fetch import (
    FetchItem,
    Message,
    Readers,
    StateLines,
    Structures,
    parse_items,
    render,
    state_only,
)
from roost.imap.fetchkept import KEEP_FROM, KeptLines, kept_fields, kept_only
from roost.imap.parser import Arg, Command
from roost.imap.response import Atom, untagged
from roost.imap.sections import HEADER_FIELDS_VERSION
from roost.imap.selected import SelectedMailbox
from roost.imap.seqset import SequenceSet, format_set, ranges_contain
from roost.store.errors import InvalidFlag, NoSuchMailbox, NoSuchMessage
from roost.store.interfaces import FlagMode


def selected_mailbox(conn: IMAPConnection) -> tuple[str, SelectedMailbox]:
    session = conn.session
    assert session.user is not None and session.selected is not None
    return session.user, session.selected


def resolve(conn: IMAPConnection, arg: Arg, by_uid: bool) -> list[int]:
    """The UIDs a sequence set names in this session's view (RFC 9051 §6.4.8 for UIDs)."""
    view = selected_mailbox(conn)[1]
    text = args.atom(arg, "the sequence set")
    numbers = SequenceSet.parse(text)
    saved = conn.session.saved_search
    if by_uid:
        return [view.uids[i] for i in numbers.positions(view.uids, saved)]
    if not numbers.saved:
        numbers.check_sequence_numbers(view.exists)
    saved_seqs = [s for s in (view.seq_of(u) for u in saved) if s is not None]
    return [view.uids[n - 1] for n in numbers.numbers(view.exists, saved_seqs)]


async def fetch(conn: IMAPConnection, command: Command, by_uid: bool = False) -> str:
    args.count(command.args, 2, 3, "FETCH sequence-set items [(CHANGEDSINCE modseq)]")
    view = selected_mailbox(conn)[1]
    uids = resolve(conn, command.args[0], by_uid)
    items = parse_items(command.args[1])
    changed_since = None
    vanished = False
    if len(command.args) == 3:
        modifiers = args.paren_list(command.args[2], "the FETCH modifiers")
        position = 0
        while position < len(modifiers):
            name = args.atom(modifiers[position], "a FETCH modifier").upper()
            if name == "CHANGEDSINCE" and position + 1 < len(modifiers):
                changed_since = args.number(modifiers[position + 1], "CHANGEDSINCE")
                position += 2
            elif name == "VANISHED" and by_uid and conn.session.qresync:
                vanished = True
                position += 1
            else:
                raise BadCommandError(f"unknown FETCH modifier {name[:20]}")
        conn.session.enabled.add("CONDSTORE")  # RFC 7162 §3.1: a CONDSTORE-enabling command
        view.condstore = True
    if vanished:
        if changed_since is None:
            raise BadCommandError("VANISHED needs CHANGEDSINCE (RFC 7162 §3.2.6)")
        await _send_vanished(conn, command.args[0], changed_since)
    await _fetch_in_batches(conn, uids, items, by_uid, changed_since)
    return "FETCH completed"


async def _send_vanished(conn: IMAPConnection, uid_set: Arg, modseq: int) -> None:
    """RFC 7162 §3.2.6: UIDs of the set expunged after `modseq`, as VANISHED (EARLIER)."""
    user, view = selected_mailbox(conn)
    gone = await conn.store_call(conn.endpoint.store.expunged_since, user, view.name, modseq)
    ranges = SequenceSet.parse(args.atom(uid_set, "the UID set")).resolve(max([*gone, 1]))
    gone = [u for u in gone if ranges_contain(ranges, u)]
    if gone:
        conn.send_raw(untagged(Atom("VANISHED"), Atom("(EARLIER)"), Atom(format_set(gone))))


async def _fetch_in_batches(
    conn: IMAPConnection,
    uids: list[int],
    items: list[FetchItem],
    by_uid: bool,
    changed_since: int | None,
) -> None:
    user, view = selected_mailbox(conn)
    store = conn.endpoint.store
    sets_seen = not view.readonly and any(item.sets_seen for item in items)
    has_flags = any(item.name == "FLAGS" for item in items)
    parses = any(item.needs_structure for item in items)
    batch = conn.endpoint.limits.fetch_batch
    # RFC 7162 §3.1.4.1: CHANGEDSINCE implies MODSEQ in the answer.
    with_modseq = changed_since is not None
    kept_lines = None
    field_set = None
    if kept_only(items):
        names = kept_fields(items)
        if names is not None and len(uids) >= KEEP_FROM:
            field_set = await conn.store_call(store.header_field_set, names, HEADER_FIELDS_VERSION)
        keep = field_set is not None
        kept_lines = KeptLines(items, uid=by_uid, modseq=with_modseq, keep_fields=keep)

    def work(chunk: list[int]) -> list[bytes]:
        seen_now: set[int] = set()
        if sets_seen:
            changed = store.store_flags(user, view.name, chunk, ["\\Seen"], "add")
            view.own_modseqs.update(info.modseq for info in changed)
            seen_now = {info.uid for info in changed}
        if kept_lines is None:
            return list(rendered(chunk, seen_now).values())
        # Answered from the kept structures where they can; the rest (no structure kept
        # yet, \Seen set by this FETCH) the general way, in UID order all the same.
        lines: dict[int, bytes | None] = {}
        for row in store.kept_rows(user, view.name, chunk, field_set):
            uid = row[0]
            if changed_since is not None and row[1] <= changed_since:
                continue
            seq = view.seq_of(uid)
            if seq is None:
                continue
            lines[uid] = None if uid in seen_now else kept_lines.line(seq, row)
        left = [uid for uid, line in lines.items() if line is None]
        if left:
            lines.update(rendered(left, seen_now))
        if field_set is not None and kept_lines.picked:
            store.save_header_fields(user, view.name, field_set, kept_lines.picked)
            kept_lines.picked.clear()
        return [line for line in lines.values() if line is not None]

    def rendered(chunk: list[int], seen_now: set[int]) -> dict[int, bytes]:
        """Lines built from a `Message` per row, by UID (`fetch.render`)."""
        if parses:
            infos, kept = store.infos_and_structures(user, view.name, chunk)
        else:
            infos, kept = store.message_infos(user, view.name, chunk), {}
        structures = Structures(kept)
        readers = Readers(lambda: store.message_readers(user, view.name, chunk))
        lines = {}
        for info in infos:
            if changed_since is not None and info.modseq <= changed_since:
                continue
            seq = view.seq_of(info.uid)
            if seq is None:
                continue
            message = Message(seq, info, readers.reader(info.uid), structures)
            shown = items
            modseq = with_modseq
            uid = by_uid
            if info.uid in seen_now:
                # RFC 9051 §6.4.5: flags the FETCH changed go out with it; RFC 7162 §3.1: once
                # CONDSTORE is on, a FETCH that set \Seen reports the UID and the new MODSEQ.
                shown = items if has_flags else [*items, FetchItem("FLAGS")]
                modseq = modseq or view.condstore
                uid = uid or view.condstore
            try:
                lines[info.uid] = render(message, shown, uid=uid, modseq=modseq)
            except NoSuchMessage:  # expunged by another session meanwhile
                continue
            if field_set is not None and kept_lines is not None:
                kept_lines.pick(info.uid, message.header())
        store.save_structures(user, view.name, structures.new, structures.new_searched)
        return lines

    async def in_thread(chunk: list[int]) -> list[bytes]:
        return await conn.store_call(work, chunk)

    run: Callable[[list[int]], Awaitable[list[bytes]]] = in_thread
    # A batch made in a worker thread is read ahead: the next is made while this one is
    # written and the client reads it (flush waits while it is slow to), never more, so
    # memory stays two batches. Not when the FETCH sets \Seen (a batch is marked only once
    # the one before went out), nor for batches made on the event loop (nothing to overlap).
    read_ahead = not sets_seen
    chunks = [uids[start : start + batch] for start in range(0, len(uids), batch)]
    if state_only(items):
        state_lines = StateLines(items, uid=by_uid, modseq=with_modseq)
        lines = functools.partial(_state_lines, conn, state_lines, changed_since)

        async def state_batch(chunk: list[int]) -> list[bytes]:
            """The first batch in a worker thread: it brings the rows the store keeps in
            memory up to date (store/flag_states.py), a whole mailbox after a restart.
            The others on the event loop: cheap there (a batch of 500 costs about 0.3 ms:
            rows from memory and a template per row), and a worker thread's two wake-ups
            per batch cost more than that on a busy machine; the loop serves other
            sessions between batches."""
            if chunk is chunks[0]:
                return await conn.store_call(lines, chunk)
            await asyncio.sleep(0)
            return lines(chunk)

        run = state_batch
        read_ahead = False
    await _send_batches(conn, chunks, run, read_ahead=read_ahead)


async def _send_batches(
    conn: IMAPConnection,
    chunks: list[list[int]],
    run: Callable[[list[int]], Awaitable[list[bytes]]],
    *,
    read_ahead: bool,
) -> None:
    ahead: asyncio.Future[list[bytes]] | None = None
    try:
        for index, chunk in enumerate(chunks):
            if index:
                # Out with the previous batch; the last one goes with the tagged OK, in one
                # write (a separate small write would wait for the client's delayed ACK).
                await conn.flush()
            lines = await (ahead if ahead is not None else run(chunk))
            ahead = None
            if read_ahead and index + 1 < len(chunks):
                ahead = asyncio.ensure_future(run(chunks[index + 1]))
            for line in lines:
                conn.send_raw(line)
    finally:
        if ahead is not None:
            ahead.cancel()


def _state_lines(
    conn: IMAPConnection, state_lines: StateLines, changed_since: int | None, chunk: list[int]
) -> list[bytes]:
    """A batch of a FETCH of only UID, FLAGS and MODSEQ: lines straight from the store's
    rows."""
    user, view = selected_mailbox(conn)
    rows = conn.endpoint.store.flag_states(user, view.name, chunk)
    if changed_since is not None:
        rows = [row for row in rows if row[1] > changed_since]
    return state_lines.lines(view.seqs_of([row[0] for row in rows]), rows)


async def store(conn: IMAPConnection, command: Command, by_uid: bool = False) -> str:
    args.count(
        command.args, 3, 4, "STORE sequence-set [(UNCHANGEDSINCE n)] [+|-]FLAGS[.SILENT] flags"
    )
    user, view = selected_mailbox(conn)
    if view.readonly:
        raise RefusedError("The mailbox is read-only (EXAMINE)", "READ-ONLY")
    params = list(command.args)
    uids = resolve(conn, params.pop(0), by_uid)
    unchanged_since = None
    if isinstance(params[0], list):
        modifier = params.pop(0)
        if len(modifier) != 2 or args.atom(modifier[0], "modifier").upper() != "UNCHANGEDSINCE":
            raise BadCommandError("Syntax: STORE set (UNCHANGEDSINCE modseq) ...")
        unchanged_since = args.number(modifier[1], "UNCHANGEDSINCE")
        conn.session.enabled.add("CONDSTORE")
        view.condstore = True
    if len(params) < 2:
        raise BadCommandError("Syntax: STORE sequence-set [+|-]FLAGS[.SILENT] (flags)")
    action = args.atom(params[0], "the STORE item").upper()
    modes: dict[str, FlagMode] = {"FLAGS": "set", "+FLAGS": "add", "-FLAGS": "remove"}
    mode = modes.get(action.removesuffix(".SILENT"))
    if mode is None:
        raise BadCommandError("STORE takes FLAGS, +FLAGS or -FLAGS (optionally .SILENT)")
    silent = action.endswith(".SILENT")
    raw_flags = params[1] if isinstance(params[1], list) and len(params) == 2 else params[1:]
    flags = [args.atom(f, "a flag") for f in raw_flags]  # type: ignore[union-attr]
    if any(f.lower() == "\\recent" for f in flags):
        raise BadCommandError("\\Recent cannot be stored (RFC 9051 §2.3.2)")
    try:
        changed = await conn.store_call(
            conn.endpoint.store.store_flags,
            user,
            view.name,
            uids,
            flags,
            mode,
            unchanged_since=unchanged_since,
        )
    except InvalidFlag as exc:
        raise BadCommandError(str(exc)) from None
    view.own_modseqs.update(info.modseq for info in changed)
    for info in changed:
        view.keywords.update(f for f in info.flags if not f.startswith("\\"))
        if silent and not view.condstore:
            continue
        line = view.fetch_flags_line(info, with_uid=by_uid)
        if line is not None:
            conn.send_raw(line)
    code = ""
    if unchanged_since is not None:
        infos = await conn.store_call(conn.endpoint.store.message_infos, user, view.name, uids)
        done = {info.uid for info in changed}
        modified = [i.uid for i in infos if i.modseq > unchanged_since and i.uid not in done]
        if modified:
            numbers = modified if by_uid else [view.seq_of(u) or 0 for u in modified]
            code = f"[MODIFIED {format_set(numbers)}] "
    return f"{code}STORE completed"


async def copy(conn: IMAPConnection, command: Command, by_uid: bool = False) -> str:
    """COPY and MOVE: UIDPLUS COPYUID (RFC 4315 §3); MOVE announces it before the expunges
    (RFC 6851 §4.3). Both happen in one store transaction, so nothing is half done."""
    args.count(command.args, 2, 2, f"{command.name} sequence-set mailbox")
    user, view = selected_mailbox(conn)
    moving = command.name == "MOVE"
    if moving and view.readonly:
        raise RefusedError("The mailbox is read-only (EXAMINE)", "READ-ONLY")
    uids = resolve(conn, command.args[0], by_uid)
    target = args.mailbox(conn.session, command.args[1])
    store = conn.endpoint.store
    operation = store.move if moving else store.copy
    try:
        info = await conn.store_call(store.mailbox_info, user, target)
        pairs = await conn.store_call(operation, user, view.name, uids, target)
    except NoSuchMailbox:
        raise RefusedError("No such mailbox; create it first", "TRYCREATE") from None
    code = ""
    if pairs:
        sources = format_set(old for old, _ in pairs)
        targets = format_set(new for _, new in pairs)
        code = f"[COPYUID {info.uidvalidity} {sources} {targets}] "
    if moving:
        if code:
            conn.send(f"* OK {code}Moved")
            code = ""
        for line in view.expunge(old for old, _ in pairs):
            conn.send_raw(line)
    return f"{code}{command.name} completed"


async def expunge(conn: IMAPConnection, command: Command, by_uid: bool = False) -> str:
    user, view = selected_mailbox(conn)
    if by_uid:
        args.count(command.args, 1, 1, "UID EXPUNGE sequence-set")
        uids: list[int] | None = resolve(conn, command.args[0], by_uid=True)
    else:
        args.count(command.args, 0, 0, "EXPUNGE")
        uids = None
    if view.readonly:
        raise RefusedError("The mailbox is read-only (EXAMINE)", "READ-ONLY")
    gone = await conn.store_call(conn.endpoint.store.expunge, user, view.name, uids)
    for line in view.expunge(gone):
        conn.send_raw(line)
    return "EXPUNGE completed"
