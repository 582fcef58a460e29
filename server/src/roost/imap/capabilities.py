"""The CAPABILITY list (RFC 9051 §6.1.1), which depends on TLS and login state.

Before TLS on 143 there is no way to log in: `LOGINDISABLED` and no `AUTH=` (RFC 9051
§6.2.3, §11.1), so no client sends a password in clear text.
"""

from __future__ import annotations

from roost.imap.endpoint import IMAPEndpoint
from roost.imap.session import Session, State

# Both revisions are served; a client picks IMAP4rev2 behaviour with ENABLE (RFC 9051 §6.3.1).
BASE = (
    "IMAP4rev1",
    "IMAP4rev2",
    "LITERAL+",
    "SASL-IR",
    "ID",
    "ENABLE",
    "IDLE",
    "NAMESPACE",
    "UNSELECT",
    "CHILDREN",
    "UIDPLUS",
    "MOVE",
    "SPECIAL-USE",
    "CREATE-SPECIAL-USE",
    "LIST-EXTENDED",
    "LIST-STATUS",
    "CONDSTORE",
    "QRESYNC",
    "ESEARCH",
    "STATUS=SIZE",
    "UTF8=ACCEPT",
    "BINARY",
)
ENABLEABLE = frozenset({"CONDSTORE", "QRESYNC", "UTF8=ACCEPT", "IMAP4REV2"})


def capabilities(session: Session, endpoint: IMAPEndpoint, *, compressed: bool = False) -> str:
    words = list(BASE)
    if not session.tls:
        if endpoint.tls_context is not None:
            words.append("STARTTLS")
        words.append("LOGINDISABLED")
    elif session.state is State.NOT_AUTHENTICATED:
        words.append("AUTH=PLAIN")
    words.append(f"APPENDLIMIT={endpoint.max_message_size}")
    if session.state is not State.NOT_AUTHENTICATED and not compressed:
        words.append("COMPRESS=DEFLATE")  # RFC 4978 §3: once, after login
    return " ".join(words)
