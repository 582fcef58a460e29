"""SMTP path syntax that has historically tricked MTAs into relaying.

Old sendmail-era MTAs interpreted `%`, `!`, source routes and quoted local parts as routing
instructions, so an address that looks local could leave the host again. Roost routes none of
them: it refuses them outright at RCPT time (RFC 5321 §3.6.1, §4.1.1.3, Appendix C) instead of
letting a lookup decide, so no future change to resolution can reopen a relay.
"""

from __future__ import annotations


def extract_path(argument: str) -> str:
    """The forward-path of an RCPT/MAIL argument, without angle brackets or ESMTP parameters."""
    text = argument.strip()
    if text.startswith("<"):
        end = text.find(">")
        return text[1:end] if end != -1 else text[1:]
    return text.split(" ", 1)[0]


def relay_trick(path: str) -> str | None:
    """Why `path` is refused as a recipient, or None when it is a plain `local@domain`."""
    if path.startswith("@"):
        return "source routes are not accepted (RFC 5321 §4.1.1.3)"
    local, at, domain = _split(path)
    if not at:
        return "an address needs local@domain"
    if local.startswith('"'):
        if "@" in local:
            return "quoted local parts containing @ are not accepted"
        local = local.strip('"')
    if "@" in local:
        return "more than one @ in the address"
    if "%" in local:
        return "%-hack routing is not accepted"
    if "!" in local:
        return "UUCP bang paths are not accepted"
    if domain.startswith("["):
        return "address literals are not accepted as recipients"
    if domain.endswith(".") or ".." in domain or domain.startswith("."):
        return "the domain is not a valid host name"
    return None


def _split(path: str) -> tuple[str, str, str]:
    """Split at the last @ outside a quoted local part."""
    if path.startswith('"'):
        close = path.find('"', 1)
        while close != -1 and path[close - 1] == "\\":
            close = path.find('"', close + 1)
        if close == -1:
            return path, "", ""
        local, rest = path[: close + 1], path[close + 1 :]
        if not rest.startswith("@"):
            return local + rest, "", ""
        return local, "@", rest[1:]
    return path.rpartition("@")


def domain_of(address: str) -> str:
    """Lower-cased domain part; the caller has already checked there is one."""
    return address.rpartition("@")[2].lower()
