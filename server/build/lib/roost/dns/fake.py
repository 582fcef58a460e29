"""An in-memory :class:`~roost.dns.resolver.Resolver` for unit tests (mox style).

Answers are keyed by fully qualified name; keys and queries are compared
case-insensitively (RFC 4343) with or without the trailing dot. CNAMEs are
followed the way a recursive resolver would, so tests can describe a zone the way
it is written.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from roost.dns.resolver import MX, DNSNameError, DNSTemporaryError

#: Longest CNAME chain followed before answering a temporary failure, as a
#: recursive resolver answers SERVFAIL for loops and over-long chains.
MAX_CNAME_CHAIN = 10


def _key(name: str) -> str:
    name = name.lower()
    return name if name.endswith(".") else name + "."


class FakeResolver:
    """Answer from dictionaries keyed by FQDN.

    ``fail`` holds names whose every query fails temporarily (``"name."``) or only
    one type's query (``"TXT name."``), to exercise ``temperror`` paths.
    """

    def __init__(
        self,
        *,
        txt: Mapping[str, Sequence[str | bytes]] | None = None,
        a: Mapping[str, Sequence[str]] | None = None,
        aaaa: Mapping[str, Sequence[str]] | None = None,
        mx: Mapping[str, Sequence[tuple[int, str]]] | None = None,
        ptr: Mapping[str, Sequence[str]] | None = None,
        cname: Mapping[str, str] | None = None,
        fail: Collection[str] = (),
    ) -> None:
        def norm(records: Mapping[str, Sequence[object]] | None) -> dict[str, list]:
            return {_key(k): list(v) for k, v in (records or {}).items()}

        self._records: dict[str, dict[str, list]] = {
            "TXT": norm(txt),
            "A": norm(a),
            "AAAA": norm(aaaa),
            "MX": norm(mx),
            "PTR": norm(ptr),
        }
        self._cname = {_key(k): _key(v) for k, v in (cname or {}).items()}
        self._fail = {self._fail_key(f) for f in fail}
        #: Every (type, name) asked, in order: lets tests check look-up limits.
        self.queries: list[tuple[str, str]] = []

    @staticmethod
    def _fail_key(spec: str) -> str:
        rtype, sep, name = spec.partition(" ")
        return f"{rtype.upper()} {_key(name)}" if sep else _key(spec)

    def _lookup(self, name: str, rtype: str) -> list:
        if any(not label or len(label) > 63 for label in name.rstrip(".").split(".")):
            raise DNSNameError(f"{name!r}: empty or over-long label")
        key = _key(name)
        self.queries.append((rtype, key))
        for _ in range(MAX_CNAME_CHAIN):
            if key in self._fail or f"{rtype} {key}" in self._fail:
                raise DNSTemporaryError(f"{key} {rtype}: simulated failure")
            if key not in self._cname:
                return list(self._records[rtype].get(key, []))
            key = self._cname[key]
        raise DNSTemporaryError(f"{name} {rtype}: CNAME chain too long or looping")

    def txt(self, name: str) -> list[bytes]:
        return [r.encode() if isinstance(r, str) else r for r in self._lookup(name, "TXT")]

    def a(self, name: str) -> list[str]:
        return self._lookup(name, "A")

    def aaaa(self, name: str) -> list[str]:
        return self._lookup(name, "AAAA")

    def mx(self, name: str) -> list[MX]:
        return sorted(MX(pref, host.rstrip(".")) for pref, host in self._lookup(name, "MX"))

    def ptr(self, name: str) -> list[str]:
        return [target.rstrip(".") for target in self._lookup(name, "PTR")]
