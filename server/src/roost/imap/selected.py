"""The selected mailbox as one session sees it, and how it catches up with the store.

Message sequence numbers are per session (RFC 9051 §2.3.1.2): a message keeps its number
until this session is told of an expunge before it. So the view holds the UIDs in sequence
order and changes them only when it also sends the matching untagged responses.

Catching up asks the store what changed since the highest MODSEQ seen: new UIDs become
`EXISTS`, changed flags `FETCH (FLAGS ...)`, expunged UIDs `EXPUNGE` (or `VANISHED` under
QRESYNC, RFC 7162 §3.2.10). During FETCH, STORE and SEARCH (not their UID forms) an EXPUNGE
may not be sent (RFC 9051 §7.5.1), so expunges found then wait for the next allowed point and
the messages keep their numbers meanwhile.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from roost.imap.response import Atom, flag_list, untagged
from roost.imap.seqset import format_set
from roost.store.interfaces import MailboxChanges, MessageInfo, Selection


@dataclass
class SelectedMailbox:
    name: str
    readonly: bool
    uidvalidity: int
    highestmodseq: int
    uids: list[int]
    condstore: bool
    qresync: bool
    # Expunged elsewhere but not yet announced: they keep their sequence numbers until then.
    pending_expunge: set[int] = field(default_factory=set)
    # MODSEQs this session's own STOREs produced and already reported.
    own_modseqs: set[int] = field(default_factory=set)
    # Flags seen on each message (for the FLAGS response's keywords).
    keywords: set[str] = field(default_factory=set)

    @classmethod
    def open(
        cls, selection: Selection, *, readonly: bool, condstore: bool, qresync: bool
    ) -> SelectedMailbox:
        return cls(
            name=selection.name,
            readonly=readonly,
            uidvalidity=selection.uidvalidity,
            highestmodseq=selection.highestmodseq,
            uids=selection.uids,
            condstore=condstore,
            qresync=qresync,
            keywords=set(selection.keywords),
        )

    @property
    def exists(self) -> int:
        return len(self.uids)

    def seq_of(self, uid: int) -> int | None:
        index = bisect.bisect_left(self.uids, uid)
        if index < len(self.uids) and self.uids[index] == uid:
            return index + 1
        return None

    def seqs_of(self, uids: list[int]) -> Sequence[int | None]:
        """`seq_of` of each of these ascending UIDs; when they are a run of the view (a
        FETCH of a range, batch by batch) that costs one bisect and one list comparison."""
        if not uids:
            return []
        start = bisect.bisect_left(self.uids, uids[0])
        if self.uids[start : start + len(uids)] == uids:
            return range(start + 1, start + 1 + len(uids))
        return [self.seq_of(uid) for uid in uids]

    def fetch_flags_line(self, info: MessageInfo, with_uid: bool) -> bytes | None:
        """`* n FETCH (FLAGS (...) [UID u] [MODSEQ (m)])`, or None if not in this view."""
        seq = self.seq_of(info.uid)
        if seq is None:
            return None
        items: list[object] = []
        if with_uid or self.qresync:  # RFC 7162 §3.2.4: QRESYNC needs the UID in each FETCH
            items += [Atom("UID"), info.uid]
        items += [Atom("FLAGS"), flag_list(info.flags)]
        if self.condstore:
            items += [Atom("MODSEQ"), [info.modseq]]
        return untagged(seq, Atom("FETCH"), items)

    def expunge(self, uids: Iterable[int]) -> list[bytes]:
        """Drop these UIDs from the view; the responses that announce it, in order."""
        gone = sorted(set(uids))
        present = [uid for uid in gone if self.seq_of(uid) is not None]
        if not present:
            return []
        self.pending_expunge.difference_update(present)
        if self.qresync:
            for uid in present:
                del self.uids[self.seq_of(uid) - 1]  # type: ignore[operator]
            return [untagged(Atom("VANISHED"), Atom(format_set(present)))]
        lines = []
        for uid in present:
            seq = self.seq_of(uid)
            assert seq is not None
            del self.uids[seq - 1]
            lines.append(untagged(seq, Atom("EXPUNGE")))
        return lines

    def catch_up(self, changes: MailboxChanges, allow_expunge: bool) -> list[bytes]:
        """Apply what the store reports since our MODSEQ; the untagged responses to send."""
        lines: list[bytes] = []
        self.pending_expunge.update(uid for uid in changes.expunged if self.seq_of(uid))
        if allow_expunge and self.pending_expunge:
            lines += self.expunge(self.pending_expunge)
        known_last = self.uids[-1] if self.uids else 0
        new_uids = [m.uid for m in changes.changed if m.uid > known_last]
        flag_changes = [
            m for m in changes.changed if m.uid <= known_last and m.modseq not in self.own_modseqs
        ]
        for info in changes.changed:
            self.keywords.update(f for f in info.flags if not f.startswith("\\"))
        if new_uids:
            self.uids.extend(new_uids)
            lines.append(untagged(self.exists, Atom("EXISTS")))
        for info in flag_changes:
            # RFC 7162 §3.1: once CONDSTORE is on, another session's change comes with the UID
            # (a client cannot place it by a sequence number alone).
            line = self.fetch_flags_line(info, with_uid=self.condstore)
            if line is not None:
                lines.append(line)
        self.highestmodseq = max(self.highestmodseq, changes.highestmodseq)
        self.own_modseqs = {m for m in self.own_modseqs if m > self.highestmodseq}
        return lines
