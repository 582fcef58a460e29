"""Tag=value lists, the syntax DKIM, DMARC and TLS-RPT records share.

RFC 6376 §3.2: ``tag-list = tag-spec *( ";" tag-spec ) [ ";" ]``, whitespace allowed
around names, "=" and ";"; tag names are case-sensitive; a tag appearing twice makes
the whole list invalid. RFC 7489 §6.4 and RFC 8460 §3 reuse this form.
"""

from __future__ import annotations

import re

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
#: tval characters: visible ASCII except ";" , plus inner whitespace (RFC 6376 §3.2).
_VALUE = re.compile(r"[!-:<-~]*(?:[ \t\r\n]+[!-:<-~]+)*")


class TagListError(ValueError):
    """The record is not a tag=value list; the message says where."""


def parse_tags(text: str) -> dict[str, str]:
    """Tag names to values, in order; raises :class:`TagListError`."""
    tags: dict[str, str] = {}
    parts = text.split(";")
    if parts[-1].strip(" \t\r\n") == "":
        parts.pop()  # a final ";" is allowed
    for part in parts:
        name, sep, value = part.partition("=")
        name = name.strip(" \t\r\n")
        value = value.strip(" \t\r\n")
        if not sep or not _NAME.fullmatch(name):
            raise TagListError(f"{part.strip()!r} is not tag=value")
        if not _VALUE.fullmatch(value):
            raise TagListError(f"bad characters in {name}={value!r}")
        if name in tags:
            raise TagListError(f"tag {name} appears twice (RFC 6376 §3.2)")
        tags[name] = value
    return tags
