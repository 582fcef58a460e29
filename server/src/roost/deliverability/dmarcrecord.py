"""Reading DMARC and TLS-RPT records from the outside (RFC 7489 §6.3-6.4, RFC 8460 §3).

Both are tag lists (:mod:`.tags`) whose first tag names the version; each parser returns
the tags or raises :class:`RecordSyntaxError` naming the tag that is wrong.
"""

from __future__ import annotations

import re

from roost.deliverability.tags import TagListError, parse_tags

POLICIES = ("none", "quarantine", "reject")  # RFC 7489 §6.3 "p"
#: RFC 7489 §6.4: dmarc-uri = URI [ "!" 1*DIGIT [ "k" / "m" / "g" / "t" ] ].
_DMARC_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^,!\s]+(?:![0-9]+[kmgt]?)?")
#: RFC 8460 §3: tlsrpt-uri is mailto: or https: only.
_TLSRPT_URI = re.compile(r"(?:mailto|https):[^,\s]+", re.IGNORECASE)


class RecordSyntaxError(ValueError):
    """The record breaks its RFC's syntax; the message names the tag."""


def _tags(text: str, version: str) -> dict[str, str]:
    try:
        tags = parse_tags(text)
    except TagListError as err:
        raise RecordSyntaxError(str(err)) from None
    first = next(iter(tags.items()), None)
    if first != ("v", version):
        raise RecordSyntaxError(f"the first tag must be v={version}")
    return tags


def _uris(tag: str, value: str, pattern: re.Pattern[str]) -> None:
    for uri in value.split(","):
        if not pattern.fullmatch(uri.strip(" \t")):
            raise RecordSyntaxError(f"{tag}= has a bad URI {uri.strip()!r}")


def parse_dmarc(text: str) -> dict[str, str]:
    """A DMARC record's tags, checked (RFC 7489 §6.3); unknown tags are ignored (§6.3)."""
    tags = _tags(text, "DMARC1")
    if "p" not in tags:
        raise RecordSyntaxError("no p= tag: the record has no policy (RFC 7489 §6.3)")
    for tag in ("p", "sp"):
        if tag in tags and tags[tag].lower() not in POLICIES:
            raise RecordSyntaxError(f"{tag}={tags[tag]} is not one of {', '.join(POLICIES)}")
    for tag in ("adkim", "aspf"):
        if tag in tags and tags[tag].lower() not in ("r", "s"):
            raise RecordSyntaxError(f"{tag}={tags[tag]} is not r or s")
    if "pct" in tags and not (tags["pct"].isdigit() and int(tags["pct"]) <= 100):
        raise RecordSyntaxError(f"pct={tags['pct']} is not 0 to 100")
    for tag in ("rua", "ruf"):
        if tag in tags:
            _uris(tag, tags[tag], _DMARC_URI)
    return tags


def parse_tlsrpt(text: str) -> dict[str, str]:
    """A TLS-RPT record's tags, checked (RFC 8460 §3): rua= with mailto: or https: URIs."""
    tags = _tags(text, "TLSRPTv1")
    if "rua" not in tags:
        raise RecordSyntaxError("no rua= tag: reports have nowhere to go (RFC 8460 §3)")
    _uris("rua", tags["rua"], _TLSRPT_URI)
    return tags
