"""The DNSPod 2021-03-23 actions Roost uses, with the real service's parameters and errors."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import ApiError
from .zone import DEFAULT_NS, SUPPORTED_TYPES, Record, Zone, normalize_value

DEFAULT_LINE = "默认"
MAX_LIMIT = 3000
Params = dict[str, Any]


@dataclass
class Domain:
    """A domain the lab account owns: its DNSPod id and its zone in Knot."""

    domain_id: int
    zone: Zone
    created: str


class Account:
    """The one DNSPod account of the lab, and the actions it can call."""

    def __init__(self, domains: list[Domain]) -> None:
        self.domains = {d.zone.domain: d for d in domains}
        self.by_id = {d.domain_id: d for d in domains}
        self.actions: dict[str, tuple[Callable[[Params], dict[str, Any]], frozenset[str]]] = {
            "DescribeDomain": (self.describe_domain, frozenset({"Domain", "DomainId"})),
            "DescribeDomainList": (
                self.describe_domain_list,
                frozenset({"Type", "Offset", "Limit", "GroupId", "Keyword", "Tags"}),
            ),
            "DescribeRecordList": (self.describe_record_list, _LIST_PARAMS),
            "DescribeRecord": (self.describe_record, frozenset({"Domain", "DomainId", "RecordId"})),
            "CreateRecord": (self.create_record, _CREATE_PARAMS),
            "ModifyRecord": (self.modify_record, _CREATE_PARAMS | {"RecordId"}),
            "DeleteRecord": (self.delete_record, frozenset({"Domain", "DomainId", "RecordId"})),
        }

    def call(self, action: str, params: Params) -> dict[str, Any]:
        if action not in self.actions:
            raise ApiError("InvalidAction", f"The action `{action}` is not found.")
        handler, allowed = self.actions[action]
        for name in params:
            if name not in allowed:
                raise ApiError("UnknownParameter", f"The parameter `{name}` is not recognized.")
        return handler(params)

    # -- helpers -------------------------------------------------------------
    def _domain(self, params: Params) -> Domain:
        """DomainId takes priority over Domain, as the API reference says."""
        if params.get("DomainId") not in (None, 0):
            found = self.by_id.get(_int(params, "DomainId"))
        elif params.get("Domain"):
            found = self.domains.get(str(params["Domain"]).lower().rstrip("."))
        else:
            raise ApiError("MissingParameter", "The request is missing a required parameter `Domain`.")
        if found is None:
            raise ApiError("InvalidParameterValue.DomainNotExists", "The domain does not exist.")
        return found

    def _find(self, domain: Domain, params: Params) -> tuple[int, Record, bool]:
        rid = _int(params, "RecordId", required=True)
        for item in domain.zone.records():
            if item[0] == rid:
                return item
        raise ApiError("InvalidParameter.RecordIdInvalid", "The record ID is invalid.")

    # -- actions -------------------------------------------------------------
    def describe_domain(self, params: Params) -> dict[str, Any]:
        domain = self._domain(params)
        count = len(domain.zone.records())
        return {"DomainInfo": _domain_info(domain, count)}

    def describe_domain_list(self, params: Params) -> dict[str, Any]:
        items = [
            _domain_list_item(d, len(d.zone.records()))
            for d in sorted(self.by_id.values(), key=lambda d: d.domain_id)
        ]
        keyword = params.get("Keyword")
        if keyword:
            items = [i for i in items if str(keyword) in i["Name"]]
        offset = _int(params, "Offset") or 0
        limit = _int(params, "Limit") or 20
        total = len(items)
        return {
            "DomainCountInfo": {
                "DomainTotal": total,
                "AllTotal": total,
                "MineTotal": total,
                "ShareTotal": 0,
                "VipTotal": 0,
                "PauseTotal": 0,
                "ErrorTotal": 0,
                "LockTotal": 0,
                "SpamTotal": 0,
                "VipExpire": 0,
                "ShareOutTotal": 0,
                "GroupTotal": 0,
            },
            "DomainList": items[offset : offset + limit],
        }

    def describe_record_list(self, params: Params) -> dict[str, Any]:
        domain = self._domain(params)
        records = domain.zone.records()
        # SubDomain is the newer spelling and wins when both are given.
        sub = params.get("SubDomain") or params.get("Subdomain")
        rtype = params.get("RecordType")
        keyword = params.get("Keyword")
        selected = [
            r
            for r in records
            if (not sub or r[1].name == str(sub).lower())
            and (not rtype or r[1].type == str(rtype).upper())
            and (not keyword or str(keyword) in r[1].name or str(keyword) in r[1].value)
        ]
        selected = _sorted(selected, params)
        offset = _int(params, "Offset") or 0
        limit = _int(params, "Limit") or 100
        if limit < 0 or limit > MAX_LIMIT:
            raise ApiError("InvalidParameterValue.LimitInvalid", "The limit is invalid.")
        if offset < 0:
            raise ApiError("InvalidParameter.ParamInvalid", "The offset is invalid.")
        if not selected and str(params.get("ErrorOnEmpty", "yes")).lower() != "no":
            raise ApiError("ResourceNotFound.NoDataOfRecord", "The record list is empty.")
        page = selected[offset : offset + limit]
        subdomains = {r[1].name for r in selected}
        return {
            "RecordCountInfo": {
                "SubdomainCount": len(subdomains),
                "ListCount": len(page),
                "TotalCount": len(selected),
            },
            "RecordList": [_record_item(rid, rec, default) for rid, rec, default in page],
        }

    def describe_record(self, params: Params) -> dict[str, Any]:
        domain = self._domain(params)
        rid, rec, _ = self._find(domain, params)
        return {
            "RecordInfo": {
                "Id": rid,
                "SubDomain": rec.name,
                "RecordType": rec.type,
                "RecordLine": DEFAULT_LINE,
                "RecordLineId": "0",
                "Value": rec.value,
                "Weight": None,
                "MX": rec.mx,
                "TTL": rec.ttl,
                "Enabled": 1,
                "MonitorStatus": "",
                "Remark": "",
                "UpdatedOn": _now_text(),
                "DomainId": domain.domain_id,
            }
        }

    def create_record(self, params: Params) -> dict[str, Any]:
        domain = self._domain(params)
        record = _record_from(params)
        for _, existing, _ in domain.zone.records():
            _check_conflict(existing, record)
        return {"RecordId": domain.zone.create(record)}

    def modify_record(self, params: Params) -> dict[str, Any]:
        domain = self._domain(params)
        rid, old, default = self._find(domain, params)
        if default:
            raise ApiError(
                "InvalidParameter.DomainNotAllowedModifyRecords",
                "The default NS records of the domain cannot be modified.",
            )
        new = _record_from(params)
        for other_id, existing, _ in domain.zone.records():
            if other_id != rid:
                _check_conflict(existing, new)
        if new != old:
            domain.zone.replace(old, new, rid)
        return {"RecordId": rid}

    def delete_record(self, params: Params) -> dict[str, Any]:
        domain = self._domain(params)
        _, record, default = self._find(domain, params)
        if default:
            raise ApiError(
                "InvalidParameter.DomainNotAllowedModifyRecords",
                "The default NS records of the domain cannot be deleted.",
            )
        domain.zone.delete(record)
        return {}


_LIST_PARAMS = frozenset(
    {
        "Domain",
        "DomainId",
        "Subdomain",
        "SubDomain",
        "RecordType",
        "RecordLine",
        "RecordLineId",
        "GroupId",
        "Keyword",
        "SortField",
        "SortType",
        "Offset",
        "Limit",
        "ErrorOnEmpty",
    }
)
_CREATE_PARAMS = frozenset(
    {
        "Domain",
        "DomainId",
        "SubDomain",
        "RecordType",
        "RecordLine",
        "RecordLineId",
        "Value",
        "MX",
        "TTL",
        "Weight",
        "Status",
        "Remark",
        "DnssecConflictMode",
        "GroupId",
    }
)


def _int(params: Params, name: str, *, required: bool = False) -> int:
    value = params.get(name)
    if value is None:
        if required:
            raise ApiError("MissingParameter", f"The request is missing a required parameter `{name}`.")
        return 0
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise ApiError("InvalidParameter", f"The value of parameter `{name}` is not an integer.") from exc


def _record_from(params: Params) -> Record:
    for name in ("RecordType", "Value"):
        if not params.get(name):
            raise ApiError("MissingParameter", f"The request is missing a required parameter `{name}`.")
    if not params.get("RecordLine") and not params.get("RecordLineId"):
        raise ApiError("MissingParameter", "The request is missing a required parameter `RecordLine`.")
    if params.get("RecordLine") not in (None, DEFAULT_LINE, "default"):
        raise ApiError("InvalidParameter.RecordLineInvalid", "The record line is invalid.")
    rtype = str(params["RecordType"]).upper()
    if rtype not in SUPPORTED_TYPES:
        raise ApiError("InvalidParameter.RecordTypeInvalid", "The record type is invalid.")
    mx = _int(params, "MX")
    if rtype == "MX" and (params.get("MX") is None or not 0 <= mx <= 65535):
        raise ApiError("InvalidParameter.MxInvalid", "The MX priority is invalid.")
    if rtype != "MX":
        mx = 0
    sub = str(params.get("SubDomain") or "@").lower().rstrip(".")
    if not sub or any(not label for label in sub.split(".")):
        raise ApiError("InvalidParameter.SubdomainInvalid", "The subdomain is invalid.")
    ttl = _int(params, "TTL") or 600
    if ttl < 1 or ttl > 604800:
        raise ApiError("InvalidParameter.ParamInvalid", "The TTL is invalid.")
    return Record(sub, rtype, normalize_value(rtype, str(params["Value"])), mx, ttl)


_SORT_KEYS = {
    "name": lambda r: r[1].name,
    "line": lambda r: DEFAULT_LINE,
    "type": lambda r: r[1].type,
    "value": lambda r: r[1].value,
    "weight": lambda r: 0,
    "mx": lambda r: r[1].mx,
    "ttl": lambda r: r[1].ttl,
    "updated_on": lambda r: r[0],
}


def _sorted(records: list[tuple[int, Record, bool]], params: Params) -> list[tuple[int, Record, bool]]:
    """SortField/SortType as documented; without them, by record id (oldest first)."""
    field = str(params.get("SortField") or "").lower()
    if not field:
        return records
    if field not in _SORT_KEYS:
        raise ApiError("InvalidParameter.ParamInvalid", f"SortField {field!r} is not supported.")
    descending = str(params.get("SortType") or "ASC").upper() == "DESC"
    return sorted(records, key=_SORT_KEYS[field], reverse=descending)


def _check_conflict(existing: Record, new: Record) -> None:
    if existing.name != new.name:
        return
    if (existing.type, existing.value, existing.mx) == (new.type, new.value, new.mx):
        raise ApiError("InvalidParameter.DomainRecordExist", "The record already exists.")
    if "CNAME" in (existing.type, new.type) and existing.type != new.type:
        raise ApiError(
            "InvalidParameter.DomainRecordExist",
            "A CNAME record cannot coexist with other records of the same subdomain.",
        )


def _now_text() -> str:
    return dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S")


def _record_item(rid: int, rec: Record, default: bool) -> dict[str, Any]:
    return {
        "RecordId": rid,
        "Value": rec.value,
        "Status": "ENABLE",
        "UpdatedOn": _now_text(),
        "Name": rec.name,
        "Line": DEFAULT_LINE,
        "LineId": "0",
        "Type": rec.type,
        "Weight": None,
        "MonitorStatus": "",
        "Remark": "",
        "TTL": rec.ttl,
        "MX": rec.mx,
        "DefaultNS": default,
    }


def _domain_info(domain: Domain, count: int) -> dict[str, Any]:
    return {
        "DomainId": domain.domain_id,
        "Status": "ENABLE",
        "Grade": "DP_FREE",
        "GroupId": 1,
        "IsMark": "no",
        "TTL": 600,
        "CnameSpeedup": "DISABLE",
        "Remark": "",
        "Punycode": domain.zone.domain,
        "DnsStatus": "",
        "DnspodNsList": [n.rstrip(".") for n in DEFAULT_NS],
        "Domain": domain.zone.domain,
        "GradeLevel": 0,
        "UserId": 1,
        "IsVip": "NO",
        "Owner": "lab",
        "GradeTitle": "Free",
        "CreatedOn": domain.created,
        "UpdatedOn": _now_text(),
        "Uin": "100000000001",
        "ActualNsList": [n.rstrip(".") for n in DEFAULT_NS],
        "RecordCount": count,
        "OwnerNick": "lab",
        "IsGracePeriod": "NO",
        "VipBuffered": "NO",
        "VipStartAt": None,
        "VipEndAt": None,
        "VipAutoRenew": "DEFAULT",
        "VipResourceId": "",
        "IsSubDomain": False,
        "TagList": [],
        "SearchEnginePush": "NO",
        "SlaveDNS": "NO",
    }


def _domain_list_item(domain: Domain, count: int) -> dict[str, Any]:
    return {
        "DomainId": domain.domain_id,
        "Name": domain.zone.domain,
        "Status": "ENABLE",
        "TTL": 600,
        "CNAMESpeedup": "DISABLE",
        "DNSStatus": "",
        "Grade": "DP_FREE",
        "GroupId": 1,
        "SearchEnginePush": "NO",
        "Remark": "",
        "Punycode": domain.zone.domain,
        "EffectiveDNS": [n.rstrip(".") for n in DEFAULT_NS],
        "GradeLevel": 0,
        "GradeTitle": "Free",
        "IsVip": "NO",
        "VipStartAt": None,
        "VipEndAt": None,
        "VipAutoRenew": "DEFAULT",
        "RecordCount": count,
        "CreatedOn": domain.created,
        "UpdatedOn": _now_text(),
        "Owner": "lab",
        "TagList": [],
    }
