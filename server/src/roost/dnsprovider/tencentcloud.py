"""Tencent Cloud DNSPod, API 2021-03-23, through tencentcloud-sdk-python-dnspod.

What the service does that this file works around (TOOLKIT.md §5):

- a record just created may take tens of seconds to be listed: after a create we
  poll the list until it shows up (``index_timeout``), so a second run never
  creates it twice; ``InvalidParameter.DomainRecordExist`` counts as success;
- rate limits (``RequestLimitExceeded*``, ``FailedOperation.FrequencyLimit``,
  ``InvalidParameter.OperationIsTooFrequent``) are retried with exponential back-off
  a bounded number of times (``max_tries``), then reported;
- the two ``DefaultNS`` records are hidden from ``records()`` and never deleted;
- TXT values may come back quoted or split into chunks: quotes are stripped and
  chunks joined before comparing; MX priority is a separate field.

Options (``roost_dns_credentials``): ``secret_id``, ``secret_key``, ``endpoint``
(dnspod.tencentcloudapi.com), ``ca_file`` (CA bundle for the endpoint's
certificate), ``timeout`` (seconds per call, 30), ``max_tries`` (6),
``retry_delay`` (first back-off, seconds, 5), ``index_timeout`` (seconds, 60).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.dnspod.v20210323 import dnspod_client, models

from roost.dnsprovider.base import (
    CredentialsError,
    DNSProviderError,
    InvalidRecordError,
    Record,
    RefusedError,
    ThrottledError,
    UnreachableError,
    ZoneNotHostedError,
    normalize_name,
    normalize_value,
    option_number,
    relative_name,
    unquote_txt,
)

DEFAULT_ENDPOINT = "dnspod.tencentcloudapi.com"
#: RecordLine "默认" is the default line every plan has.
DEFAULT_LINE = "默认"
PAGE = 3000  # DescribeRecordList's largest Limit
_THROTTLED = ("RequestLimitExceeded", "FailedOperation.FrequencyLimit")
_TOO_FREQUENT = "InvalidParameter.OperationIsTooFrequent"
_NOT_HOSTED = (
    "InvalidParameterValue.DomainNotExists",
    "ResourceNotFound.NoDataOfDomain",
    "InvalidParameter.DomainInvalid",
    "InvalidParameter.DomainNotBeian",
)
_EXISTS = frozenset({"InvalidParameter.DomainRecordExist"})
_RETRY_CAP = 60.0


@dataclass
class TencentCloudProvider:
    client: dnspod_client.DnspodClient
    endpoint: str
    max_tries: int = 6
    retry_delay: float = 5.0
    index_timeout: float = 60.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    name: str = "tencentcloud"

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> TencentCloudProvider:
        missing = [k for k in ("secret_id", "secret_key") if not options.get(k)]
        if missing:
            raise CredentialsError(
                f"the tencentcloud provider needs {' and '.join(missing)}",
                f"set {', '.join(missing)} in roost_dns_credentials (a DNSPod API key)",
            )
        endpoint = str(options.get("endpoint") or DEFAULT_ENDPOINT)
        http = HttpProfile(
            endpoint=endpoint,
            reqTimeout=int(option_number(options, "timeout", 30)),
            certification=options.get("ca_file") or None,
        )
        try:
            cred = credential.Credential(str(options["secret_id"]), str(options["secret_key"]))
        except TencentCloudSDKException as exc:
            raise CredentialsError(
                f"the DNSPod API key is malformed ({exc.get_message()})",
                "set roost_dns_credentials.secret_id and secret_key to a DNSPod API key",
            ) from exc
        return cls(
            client=dnspod_client.DnspodClient(cred, "", ClientProfile(httpProfile=http)),
            endpoint=endpoint,
            max_tries=max(1, int(option_number(options, "max_tries", 6))),
            retry_delay=option_number(options, "retry_delay", 5.0),
            index_timeout=option_number(options, "index_timeout", 60.0),
        )

    # -- Provider --------------------------------------------------------------

    def records(self, zone: str, name: str | None = None, rtype: str | None = None) -> list[Record]:
        return sorted(
            record for record, default_ns in self._list(zone, name, rtype) if not default_ns
        )

    def create(self, zone: str, record: Record) -> None:
        req = models.CreateRecordRequest()
        req.Domain = normalize_name(zone)
        req.SubDomain = relative_name(zone, record.name)
        req.RecordType = record.type
        req.RecordLine = DEFAULT_LINE
        req.TTL = record.ttl
        if record.type == "MX":
            preference, exchange = record.value.split(None, 1)
            req.MX, req.Value = int(preference), exchange
        else:
            req.Value = record.value
        # The same record already there (perhaps not yet listed) is success. DNSPod gives
        # the same code for a CNAME in the way; that one never shows up in the list.
        answer = self._call("CreateRecord", req, zone, accept=_EXISTS)
        self._wait_listed(zone, record, answer if isinstance(answer, str) else None)

    def delete(self, zone: str, record: Record) -> None:
        for listed, default_ns in self._list(zone, record.name, record.type):
            if listed != record:
                continue
            if default_ns:
                raise RefusedError(
                    f"{record.text()} is one of DNSPod's default NS records",
                    "Roost never changes them; remove the record from what is asked",
                )
            req = models.DeleteRecordRequest()
            req.Domain, req.RecordId = normalize_name(zone), int(listed.ref or 0)
            self._call("DeleteRecord", req, zone)

    def nameservers(self, zone: str) -> list[str]:
        req = models.DescribeDomainRequest()
        req.Domain = normalize_name(zone)
        info = self._call("DescribeDomain", req, zone).DomainInfo
        return sorted(str(ns).rstrip(".").lower() for ns in info.DnspodNsList or [])

    # -- internals -------------------------------------------------------------

    def _list(
        self, zone: str, name: str | None, rtype: str | None
    ) -> Iterator[tuple[Record, bool]]:
        zone = normalize_name(zone)
        offset = 0
        while True:
            req = models.DescribeRecordListRequest()
            req.Domain, req.Offset, req.Limit, req.ErrorOnEmpty = zone, offset, PAGE, "no"
            if name:
                req.SubDomain = relative_name(zone, name)
            if rtype:
                req.RecordType = rtype.upper()
            page = self._call("DescribeRecordList", req, zone)
            for item in page.RecordList or []:
                yield _record(zone, item), bool(item.DefaultNS)
            offset += len(page.RecordList or [])
            if not page.RecordList or offset >= page.RecordCountInfo.TotalCount:
                return

    def _wait_listed(self, zone: str, record: Record, exists: str | None) -> None:
        """DNSPod lists a new record only after indexing it (~30 s seen): wait for it."""
        deadline = time.monotonic() + self.index_timeout
        delay = 1.0
        while record not in self.records(zone, record.name, record.type):
            if time.monotonic() + delay > deadline:
                said = f"answered {exists}" if exists else "accepted it"
                raise RefusedError(
                    f"DNSPod {said} for {record.text()} but did not list it within "
                    f"{self.index_timeout:.0f} s",
                    "look for a CNAME at that name in the zone; otherwise run again in a "
                    "minute (nothing is created twice)",
                )
            self.sleep(delay)
            delay = min(delay * 2, 10.0)

    def _call(self, action: str, req: Any, zone: str, accept: frozenset[str] = frozenset()) -> Any:
        """One API call, retried with back-off while the service says it is throttling.

        An error whose code is in ACCEPT is returned as "code: message" instead of raised.
        """
        delay, attempt = self.retry_delay, 1
        while True:
            try:
                return getattr(self.client, action)(req)
            except TencentCloudSDKException as exc:
                code = exc.get_code() or ""
                if code in accept:
                    return f"{code}: {exc.get_message()}"
                if not _throttled(code) or attempt >= self.max_tries:
                    raise self._error(action, zone, code, exc.get_message(), attempt) from exc
            self.sleep(delay)
            delay, attempt = min(delay * 2, _RETRY_CAP), attempt + 1

    def _error(
        self, action: str, zone: str, code: str, message: str, attempt: int
    ) -> DNSProviderError:
        cause = f"DNSPod {action} for {zone} failed: {code}: {message}"
        if code.startswith(("AuthFailure", "UnauthorizedOperation", "InvalidCredential")):
            return CredentialsError(
                cause,
                "set roost_dns_credentials.secret_id and secret_key to a DNSPod API key "
                "allowed to manage the domain",
            )
        if code in _NOT_HOSTED:
            return ZoneNotHostedError(
                cause, f"add {zone} to the DNSPod account, or remove it from roost_domains"
            )
        if _throttled(code):
            return ThrottledError(
                f"{cause} (still throttled after {attempt} tries)",
                "wait a few minutes and run again; raise roost_dns_credentials.max_tries to "
                "wait longer",
            )
        if code in ("ClientNetworkError", "ServerNetworkError"):
            return UnreachableError(
                f"DNSPod API at {self.endpoint} unreachable: {message}",
                "check roost_dns_credentials.endpoint (and ca_file) and the network",
            )
        return RefusedError(cause, "check the records asked for in roost_domains")


def _throttled(code: str) -> bool:
    return code.startswith(_THROTTLED) or code == _TOO_FREQUENT


def _record(zone: str, item: Any) -> Record:
    name = zone if item.Name in ("@", "") else f"{str(item.Name).lower()}.{zone}"
    rtype = str(item.Type).upper()
    value = str(item.Value)
    if rtype == "TXT":
        value = unquote_txt(value)
    else:
        # Types Roost does not write (URL forwards, CAA, ...) may not parse: keep them as
        # DNSPod shows them, they are only ever read.
        with suppress(InvalidRecordError):
            value = normalize_value(rtype, f"{item.MX} {value}" if rtype == "MX" else value)
    return Record(name, rtype, value, int(item.TTL or 0), ref=str(item.RecordId))
