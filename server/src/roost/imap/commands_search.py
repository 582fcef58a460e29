"""SEARCH and UID SEARCH (RFC 9051 §6.4.4), answered as SEARCH or ESEARCH (RFC 4731 / rev2),
with CONDSTORE's MODSEQ (RFC 7162 §3.1.5) and SEARCHRES `$` (RFC 5182).

The program comes from `search.parse_search`; it is run in a worker thread over the view's
messages, a batch of index rows at a time, reading a message's bytes only when a key needs
them (`search` orders cheap keys first).
"""

from __future__ import annotations

from roost.imap.commands_message import selected_mailbox
from roost.imap.connection import IMAPConnection
from roost.imap.fetch import Message, Readers, Structures
from roost.imap.mime import searched_filter
from roost.imap.parser import Command
from roost.imap.response import Atom, untagged
from roost.imap.search import CHEAP, Bounds, esearch_data, parse_search
from roost.store.errors import NoSuchMessage


async def search(conn: IMAPConnection, command: Command, by_uid: bool = False) -> str:
    user, view = selected_mailbox(conn)
    program = parse_search(command.args)
    session = conn.session
    options = program.return_options
    if options is None and session.rev2:
        options = ()  # RFC 9051 §7.3.4: IMAP4rev2 answers with ESEARCH
    bounds = Bounds(view.exists, view.uids[-1] if view.uids else 0, tuple(session.saved_search))
    matches = program.matcher(bounds)
    store = conn.endpoint.store
    batch = conn.endpoint.limits.fetch_batch
    uids = list(view.uids)
    looks_inside = program.key.cost > CHEAP
    needles = program.key.needles
    prefilter = searched_filter(needles) if needles else None

    def run() -> tuple[list[int], int]:
        found: list[int] = []
        highest = 0
        for start in range(0, len(uids), batch):
            chunk = uids[start : start + batch]
            if looks_inside:
                infos, kept, searched = store.search_rows(user, view.name, chunk, prefilter)
            else:
                infos, kept, searched = store.message_infos(user, view.name, chunk), {}, {}
            structures = Structures(kept, searched)
            readers = Readers(lambda chunk=chunk: store.message_readers(user, view.name, chunk))
            for info in infos:
                seq = view.seq_of(info.uid)
                if seq is None:
                    continue
                message = Message(seq, info, readers.reader(info.uid), structures)
                try:
                    if not matches(message):
                        continue
                except NoSuchMessage:  # expunged by another session meanwhile
                    continue
                found.append(info.uid)
                highest = max(highest, info.modseq)
            store.save_structures(user, view.name, structures.new, structures.new_searched)
        return found, highest

    found, highest = await conn.store_call(run)
    if program.save:
        session.saved_search = found
    numbers = found if by_uid else [view.seq_of(u) or 0 for u in found]
    modseq = highest if program.uses_modseq and found else None
    if options is None:
        tail: list[object] = [[Atom("MODSEQ"), modseq]] if modseq is not None else []
        conn.send_raw(untagged(Atom("SEARCH"), *numbers, *tail))
    elif not program.save or set(options) - {"SAVE"}:
        items = esearch_data(numbers, [o for o in options if o != "SAVE"], modseq)
        correlator: list[object] = [[Atom("TAG"), command.tag]]
        if by_uid:
            correlator.append(Atom("UID"))
        rendered = [Atom(i) if isinstance(i, str) else i for i in items]
        conn.send_raw(untagged(Atom("ESEARCH"), *correlator, *rendered))
    return "SEARCH completed"
