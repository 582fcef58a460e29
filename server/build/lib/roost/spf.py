"""SPF (RFC 7208) evaluation with pyspf, over an injected resolver.

pyspf does all of RFC 7208 (record selection, mechanisms, macros, the look-up
limits of §4.6.4). Its DNS goes through the module-global ``spf.DNSLookup``; instead
of replacing that global (which would leak between threads and tests) we subclass
``spf.query`` and override its ``dns`` method, so each check uses the resolver it
was given.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import spf

from roost.dns.resolver import DNSNameError, DNSTemporaryError, Resolver

SPFResultCode = Literal["pass", "fail", "softfail", "neutral", "none", "temperror", "permerror"]


@dataclass(frozen=True)
class SPFResult:
    """The outcome of one SPF check.

    ``identity`` says which identity was checked (RFC 7208 §2.3/§2.4) and
    ``domain`` its domain, as needed for ``smtp.mailfrom``/``smtp.helo`` in
    Authentication-Results (RFC 8601 §2.7.2) and for DMARC alignment (RFC 7489 §4.2).
    """

    result: SPFResultCode
    identity: Literal["mailfrom", "helo"]
    domain: str
    explanation: str
    comment: str


class _Query(spf.query):  # type: ignore[misc]  # pyspf has no type hints
    """``spf.query`` whose DNS look-ups go to a :class:`Resolver`."""

    def __init__(self, resolver: Resolver, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self._resolver = resolver

    def _fetch(self, name: str, qtype: str) -> list[object]:
        """Answer in the shapes pyspf's own DNS drivers return."""
        r = self._resolver
        if qtype == "TXT":
            return [(txt,) for txt in r.txt(name)]  # one character-string per record
        if qtype == "A":
            return list(r.a(name))
        if qtype == "AAAA":
            return list(r.aaaa(name))
        if qtype == "MX":
            return [(mx.preference, mx.exchange) for mx in r.mx(name)]
        if qtype == "PTR":
            return list(r.ptr(name))
        raise spf.PermError(f"unsupported DNS type {qtype}")

    def validated_ptrs(self) -> list[str]:
        """The client's validated domain names, for "ptr" and the %{p} macro.

        RFC 7208 §5.5: a DNS error on the PTR look-up makes the mechanism not match,
        and a DNS error on one name's address look-up skips that name; pyspf turns
        both into temperror instead. The real resolver reports CNAME loops as such
        errors (SERVFAIL), which the suite's "ptr-cname-loop" case exercises.
        At most 10 PTR names are looked at (§4.6.4).
        """
        try:
            names = self.dns_ptr(self.i)[: spf.MAX_PTR]
        except spf.TempError:
            return []
        validated = []
        for name in names:
            try:
                if self.cidrmatch(self.dns_a(name, self.A), self.cidrmax):
                    validated.append(name)
            except spf.TempError:
                continue
        return validated

    def dns(
        self, name: str, qtype: str, cnames: object = None, ignore_void: bool = False
    ) -> list[object]:
        """Look ``name`` up; same contract as ``spf.query.dns``.

        CNAMEs are followed by the recursive resolver, so ``cnames`` is unused.
        A failure that may succeed later is a TempError (RFC 7208 §5, "temperror").
        """
        name = str(name).rstrip(".").lower()
        if any(not label or len(label) > 63 for label in name.split(".")):
            return []  # not a valid DNS name: no look-up (RFC 7208 §4.3)
        key = (name, qtype)
        if key in self.cache:
            return self.cache[key]
        try:
            result = self._fetch(name, qtype)
        except DNSTemporaryError as err:
            raise spf.TempError(f"DNS {err}") from err
        except DNSNameError:
            result = []
        self.cache[key] = result
        if not result and not ignore_void:
            # RFC 7208 §4.6.4: more than two void look-ups is a permerror.
            self.void_lookups += 1
            if self.void_lookups > spf.MAX_VOID_LOOKUPS:
                raise spf.PermError(f"Void lookup limit of {spf.MAX_VOID_LOOKUPS} exceeded")
        return result


def check(*, client_ip: str, helo: str, mail_from: str, resolver: Resolver) -> SPFResult:
    """Run check_host() (RFC 7208 §4) for one SMTP transaction.

    With a null reverse-path (``mail_from == ""``) the HELO identity is checked, as
    ``postmaster@HELO`` (RFC 7208 §2.4); otherwise the MAIL FROM identity (§2.3).
    A HELO that is not a domain name (address literal, single label) yields "none"
    (§4.3).
    """
    # An IPv6 zone index ("fe80::1%eth0") is local to this host, not part of the address.
    query = _Query(resolver, i=client_ip.split("%", 1)[0], s=mail_from, h=helo)
    result, _code, explanation = query.check()
    identity: Literal["mailfrom", "helo"] = "mailfrom" if mail_from else "helo"
    return SPFResult(
        result=result,
        identity=identity,
        domain=query.o if mail_from else helo,
        explanation=explanation,
        comment=query.get_header_comment(result),
    )
