"""The DNSPod stand-in, driven by Tencent's own SDK and by hand-signed requests."""

from __future__ import annotations

import json
import ssl
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dns.message
import dns.query
import dns.rcode
import dns.tsigkeyring
import dns.update
import pytest
from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.dnspod.v20210323 import dnspod_client, models

from conftest import Lab
from roostlab.dnspod import signature, throttle

DOMAIN = "example.test"


@pytest.fixture(scope="module")
def creds(lab: Lab) -> dict[str, str]:
    return lab.json("dnspod", "credentials")


@pytest.fixture(scope="module")
def client(lab: Lab, creds: dict[str, str]) -> dnspod_client.DnspodClient:
    http = HttpProfile(endpoint=creds["Endpoint"], certification=lab.ca)
    return dnspod_client.DnspodClient(
        credential.Credential(creds["SecretId"], creds["SecretKey"]), "", ClientProfile(httpProfile=http)
    )


def raw_call(lab: Lab, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """POST to the stand-in without the SDK, to send what the SDK never would."""
    request = urllib.request.Request(lab.facts["dnspod"]["url"], data=body, headers=headers, method="POST")
    context = ssl.create_default_context(cafile=lab.ca)
    with urllib.request.urlopen(request, context=context, timeout=10) as response:
        assert response.status == 200  # errors too come back as 200, as the real service does
        return json.loads(response.read())["Response"]


def signed(creds: dict[str, str], action: str, body: bytes, **kw: Any) -> dict[str, str]:
    return signature.sign(
        kw.pop("secret_id", creds["SecretId"]),
        kw.pop("secret_key", creds["SecretKey"]),
        host=creds["Endpoint"],
        action=action,
        payload=body,
        timestamp=kw.pop("timestamp", int(time.time())),
        **kw,
    )


def a(name: str, value: str, **extra: Any) -> models.CreateRecordRequest:
    req = models.CreateRecordRequest()
    req.Domain, req.SubDomain, req.RecordType, req.RecordLine, req.Value = DOMAIN, name, "A", "默认", value
    for k, v in extra.items():
        setattr(req, k, v)
    return req


def list_records(client: dnspod_client.DnspodClient, **params: Any) -> models.DescribeRecordListResponse:
    req = models.DescribeRecordListRequest()
    req.Domain = DOMAIN
    for k, v in params.items():
        setattr(req, k, v)
    return client.DescribeRecordList(req)


def delete(client: dnspod_client.DnspodClient, record_id: int) -> None:
    req = models.DeleteRecordRequest()
    req.Domain, req.RecordId = DOMAIN, record_id
    client.DeleteRecord(req)


def resolve(lab: Lab, name: str, rdtype: str = "A") -> list[str]:
    answer = dns.query.udp(dns.message.make_query(name, rdtype), lab.addr("dns"), timeout=3)
    return sorted(r.to_text() for rrset in answer.answer for r in rrset)


@pytest.fixture
def sub() -> Iterator[str]:
    """A fresh subdomain per test, so tests do not see each other's records."""
    yield "t" + uuid.uuid4().hex[:10]


def test_describe_domain(client: dnspod_client.DnspodClient) -> None:
    req = models.DescribeDomainRequest()
    req.Domain = DOMAIN
    info = client.DescribeDomain(req).DomainInfo
    assert info.Domain == DOMAIN
    assert info.Status == "ENABLE"
    assert info.DnspodNsList == ["f1g1ns1.dnspod.net", "f1g1ns2.dnspod.net"]


def test_unknown_domain(client: dnspod_client.DnspodClient) -> None:
    req = models.DescribeDomainRequest()
    req.Domain = "not-ours.test"
    with pytest.raises(TencentCloudSDKException) as err:
        client.DescribeDomain(req)
    assert err.value.code == "InvalidParameterValue.DomainNotExists"


def test_default_ns_records_are_listed_and_protected(client: dnspod_client.DnspodClient) -> None:
    ns = list_records(client, RecordType="NS", SubDomain="@").RecordList
    assert sorted(r.Value for r in ns if r.DefaultNS) == ["f1g1ns1.dnspod.net.", "f1g1ns2.dnspod.net."]
    with pytest.raises(TencentCloudSDKException) as err:
        delete(client, ns[0].RecordId)
    assert err.value.code == "InvalidParameter.DomainNotAllowedModifyRecords"
    assert len(list_records(client, RecordType="NS", SubDomain="@").RecordList) == 2


def test_create_modify_delete_reach_the_dns(lab: Lab, client: dnspod_client.DnspodClient, sub: str) -> None:
    record_id = client.CreateRecord(a(sub, "198.51.100.10", TTL=300)).RecordId
    assert resolve(lab, f"{sub}.{DOMAIN}") == ["198.51.100.10"]

    mod = models.ModifyRecordRequest()
    mod.Domain, mod.RecordId, mod.SubDomain, mod.RecordType, mod.RecordLine, mod.Value = (
        DOMAIN,
        record_id,
        sub,
        "A",
        "默认",
        "198.51.100.11",
    )
    assert client.ModifyRecord(mod).RecordId == record_id
    assert resolve(lab, f"{sub}.{DOMAIN}") == ["198.51.100.11"]
    describe = models.DescribeRecordRequest()
    describe.Domain, describe.RecordId = DOMAIN, record_id
    info = client.DescribeRecord(describe).RecordInfo
    assert (info.SubDomain, info.RecordType, info.Value) == (sub, "A", "198.51.100.11")
    [listed] = list_records(client, SubDomain=sub).RecordList
    # As the real API: a ModifyRecord without TTL resets it to the default 600.
    assert (listed.RecordId, listed.Value, listed.TTL, listed.DefaultNS) == (
        record_id,
        "198.51.100.11",
        600,
        False,
    )

    delete(client, record_id)
    assert resolve(lab, f"{sub}.{DOMAIN}") == []


def test_mx_and_txt_values(lab: Lab, client: dnspod_client.DnspodClient, sub: str) -> None:
    mx = a(sub, "mail.example.test", RecordType="MX", MX=10)
    txt = a(sub, "v=spf1 ip4:198.51.100.10 -all", RecordType="TXT")
    ids = [client.CreateRecord(mx).RecordId, client.CreateRecord(txt).RecordId]
    assert resolve(lab, f"{sub}.{DOMAIN}", "MX") == ["10 mail.example.test."]
    assert resolve(lab, f"{sub}.{DOMAIN}", "TXT") == ['"v=spf1 ip4:198.51.100.10 -all"']
    listed = {r.Type: r for r in list_records(client, SubDomain=sub).RecordList}
    assert (listed["MX"].Value, listed["MX"].MX) == ("mail.example.test.", 10)
    assert listed["TXT"].Value == "v=spf1 ip4:198.51.100.10 -all"
    for record_id in ids:
        delete(client, record_id)


def test_duplicate_record_is_refused(client: dnspod_client.DnspodClient, sub: str) -> None:
    record_id = client.CreateRecord(a(sub, "198.51.100.20")).RecordId
    with pytest.raises(TencentCloudSDKException) as err:
        client.CreateRecord(a(sub, "198.51.100.20"))
    assert err.value.code == "InvalidParameter.DomainRecordExist"
    delete(client, record_id)


def test_error_on_empty(client: dnspod_client.DnspodClient, sub: str) -> None:
    with pytest.raises(TencentCloudSDKException) as err:
        list_records(client, SubDomain=sub)
    assert err.value.code == "ResourceNotFound.NoDataOfRecord"
    empty = list_records(client, SubDomain=sub, ErrorOnEmpty="no")
    assert empty.RecordList == [] and empty.RecordCountInfo.TotalCount == 0


def test_paging(client: dnspod_client.DnspodClient, sub: str) -> None:
    ids = [client.CreateRecord(a(sub, f"198.51.100.{100 + i}")).RecordId for i in range(5)]
    pages = [list_records(client, SubDomain=sub, Offset=off, Limit=2) for off in (0, 2, 4)]
    assert [len(p.RecordList) for p in pages] == [2, 2, 1]
    assert all(p.RecordCountInfo.TotalCount == 5 for p in pages)
    assert sorted(r.RecordId for p in pages for r in p.RecordList) == sorted(ids)
    for record_id in ids:
        delete(client, record_id)


def test_records_written_through_rfc2136_are_listed(
    lab: Lab, client: dnspod_client.DnspodClient, sub: str
) -> None:
    key = lab.json("dns", "tsig")
    update = dns.update.UpdateMessage(
        DOMAIN,
        keyring=dns.tsigkeyring.from_text({key["name"]: key["secret"]}),
        keyname=key["name"],
        keyalgorithm=key["algorithm"],
    )
    update.add(sub, 120, "A", "198.51.100.30")
    assert dns.query.tcp(update, lab.addr("dns"), timeout=5).rcode() == dns.rcode.NOERROR
    [listed] = list_records(client, SubDomain=sub).RecordList
    assert (listed.Value, listed.TTL) == ("198.51.100.30", 120)
    delete(client, listed.RecordId)
    assert resolve(lab, f"{sub}.{DOMAIN}") == []


def test_good_hand_signed_call_is_accepted(lab: Lab, creds: dict[str, str]) -> None:
    body = json.dumps({"Domain": DOMAIN}).encode()
    answer = raw_call(lab, signed(creds, "DescribeDomain", body), body)
    assert "Error" not in answer and answer["DomainInfo"]["Domain"] == DOMAIN


def test_bad_signature_is_refused(lab: Lab, creds: dict[str, str]) -> None:
    body = json.dumps({"Domain": DOMAIN}).encode()
    headers = signed(creds, "DescribeDomain", body, secret_key="not-the-secret")
    assert raw_call(lab, headers, body)["Error"]["Code"] == "AuthFailure.SignatureFailure"
    # A body changed after signing fails too: the payload hash is signed.
    headers = signed(creds, "DescribeDomain", body)
    tampered = json.dumps({"Domain": "second.test"}).encode()
    assert raw_call(lab, headers, tampered)["Error"]["Code"] == "AuthFailure.SignatureFailure"


def test_stale_timestamp_and_unknown_secret_id(lab: Lab, creds: dict[str, str]) -> None:
    body = b"{}"
    stale = signed(creds, "DescribeDomainList", body, timestamp=int(time.time()) - 3600)
    assert raw_call(lab, stale, body)["Error"]["Code"] == "AuthFailure.SignatureExpire"
    stranger = signed(creds, "DescribeDomainList", body, secret_id="AKIDnobody")
    assert raw_call(lab, stranger, body)["Error"]["Code"] == "AuthFailure.SecretIdNotFound"


def test_unknown_action_and_wrong_version(lab: Lab, creds: dict[str, str]) -> None:
    body = b"{}"
    assert raw_call(lab, signed(creds, "DescribeNothing", body), body)["Error"]["Code"] == "InvalidAction"
    old = signed(creds, "DescribeDomainList", body, version="2018-08-26")
    assert raw_call(lab, old, body)["Error"]["Code"] == "NoSuchVersion"


@pytest.mark.parametrize("code", ["RequestLimitExceeded", "FailedOperation.FrequencyLimit"])
def test_rate_limit_switch(lab: Lab, client: dnspod_client.DnspodClient, code: str) -> None:
    switch = Path(lab.facts["dnspod"]["throttle"])
    req = models.DescribeDomainRequest()
    req.Domain = DOMAIN
    throttle.set_throttle(switch, code, 2)
    try:
        for _ in range(2):
            with pytest.raises(TencentCloudSDKException) as err:
                client.DescribeDomain(req)
            assert err.value.code == code
        assert client.DescribeDomain(req).DomainInfo.Domain == DOMAIN
        assert not switch.exists()
    finally:
        throttle.clear_throttle(switch)


def test_calls_are_logged(lab: Lab, client: dnspod_client.DnspodClient) -> None:
    req = models.DescribeDomainRequest()
    req.Domain = DOMAIN
    client.DescribeDomain(req)
    last = json.loads(Path(lab.facts["dnspod"]["requests_log"]).read_text().splitlines()[-1])
    assert (last["action"], last["params"], last["error"]) == ("DescribeDomain", {"Domain": DOMAIN}, None)


def test_sdk_get_requests_are_verified_too(lab: Lab, creds: dict[str, str]) -> None:
    """The SDK can send GET with the parameters in the signed query string."""
    http = HttpProfile(endpoint=creds["Endpoint"], certification=lab.ca, reqMethod="GET")
    getter = dnspod_client.DnspodClient(
        credential.Credential(creds["SecretId"], creds["SecretKey"]), "", ClientProfile(httpProfile=http)
    )
    assert list_records(getter, RecordType="NS", Limit=1).RecordCountInfo.ListCount == 1
    forged = dnspod_client.DnspodClient(
        credential.Credential(creds["SecretId"], "wrong"), "", ClientProfile(httpProfile=http)
    )
    with pytest.raises(TencentCloudSDKException) as err:
        list_records(forged, RecordType="NS")
    assert err.value.code == "AuthFailure.SignatureFailure"


def test_sorting_and_keyword(client: dnspod_client.DnspodClient, sub: str) -> None:
    # Two names: DNS keeps one TTL per RRset (RFC 2181 5.2), so TTLs differ per name.
    ids = [
        client.CreateRecord(a(name, value, TTL=ttl)).RecordId
        for name, value, ttl in ((f"{sub}a", "198.51.100.7", 300), (f"{sub}b", "198.51.100.8", 900))
    ]
    by_ttl = list_records(client, Keyword=sub, SortField="ttl", SortType="DESC").RecordList
    assert [(r.Name, r.TTL) for r in by_ttl] == [(f"{sub}b", 900), (f"{sub}a", 300)]
    assert [r.Name for r in list_records(client, Keyword=f"{sub}a").RecordList] == [f"{sub}a"]
    for record_id in ids:
        delete(client, record_id)
