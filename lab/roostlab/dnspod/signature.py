"""TC3-HMAC-SHA256, the request signature of Tencent Cloud API 3.0.

Both halves live here: `sign` (what tencentcloud-sdk-python's abstract_client
does, used by tests to forge good and bad requests) and `verify` (what the
service does). The steps follow Tencent's "Signature v3" document:
canonical request -> string to sign -> key chain TC3+SecretKey -> date ->
service -> "tc3_request" -> HMAC of the string to sign.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass

from .errors import ApiError

ALGORITHM = "TC3-HMAC-SHA256"
# The service rejects requests whose X-TC-Timestamp is further than this from its clock.
MAX_SKEW_SECONDS = 300
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"

_AUTH_RE = re.compile(
    r"^TC3-HMAC-SHA256 Credential=(?P<id>[^/]+)/(?P<date>\d{4}-\d{2}-\d{2})/(?P<service>[^/]+)"
    r"/tc3_request, ?SignedHeaders=(?P<headers>[a-z0-9;-]+), ?Signature=(?P<sig>[0-9a-f]{64})$"
)


@dataclass(frozen=True)
class Authorization:
    """The parsed Authorization header."""

    secret_id: str
    date: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def signing_key(secret_key: str, date: str, service: str) -> bytes:
    """The derived key: HMAC chain over date, service and the literal "tc3_request"."""
    return _hmac(_hmac(_hmac(("TC3" + secret_key).encode(), date), service), "tc3_request")


def canonical_request(
    method: str,
    uri: str,
    query: str,
    headers: Mapping[str, str],
    signed_headers: tuple[str, ...],
    payload: bytes,
) -> str:
    """Header names and values lower-cased and trimmed, as the document prescribes."""
    lowered = {k.lower(): v for k, v in headers.items()}
    canonical_headers = "".join(
        f"{name}:{lowered.get(name, '').strip().lower()}\n" for name in signed_headers
    )
    if lowered.get("x-tc-content-sha256") == UNSIGNED_PAYLOAD:
        payload = UNSIGNED_PAYLOAD.encode()
    return "\n".join(
        [
            method,
            uri,
            query,
            canonical_headers,
            ";".join(signed_headers),
            hashlib.sha256(payload).hexdigest(),
        ]
    )


def string_to_sign(timestamp: int, date: str, service: str, canonical: str) -> str:
    scope = f"{date}/{service}/tc3_request"
    return "\n".join([ALGORITHM, str(timestamp), scope, hashlib.sha256(canonical.encode()).hexdigest()])


def utc_date(timestamp: int) -> str:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%d")


def sign(
    secret_id: str,
    secret_key: str,
    *,
    host: str,
    action: str,
    payload: bytes,
    timestamp: int,
    service: str = "dnspod",
    version: str = "2021-03-23",
    content_type: str = "application/json",
) -> dict[str, str]:
    """Headers for a POST the way tencentcloud-sdk-python builds them."""
    date = utc_date(timestamp)
    headers = {"Content-Type": content_type, "Host": host}
    signed = ("content-type", "host")
    canonical = canonical_request("POST", "/", "", headers, signed, payload)
    to_sign = string_to_sign(timestamp, date, service, canonical)
    signature = hmac.new(signing_key(secret_key, date, service), to_sign.encode(), hashlib.sha256)
    headers.update(
        {
            "X-TC-Action": action,
            "X-TC-Version": version,
            "X-TC-Timestamp": str(timestamp),
            "Authorization": (
                f"{ALGORITHM} Credential={secret_id}/{date}/{service}/tc3_request, "
                f"SignedHeaders={';'.join(signed)}, Signature={signature.hexdigest()}"
            ),
        }
    )
    return headers


def parse_authorization(value: str | None) -> Authorization:
    if not value:
        raise ApiError("AuthFailure.SignatureFailure", "The Authorization header is missing.")
    match = _AUTH_RE.match(value.strip())
    if not match:
        raise ApiError(
            "AuthFailure.InvalidAuthorization",
            "The Authorization header does not follow the TC3-HMAC-SHA256 standard.",
        )
    headers = tuple(match["headers"].split(";"))
    if "content-type" not in headers or "host" not in headers:
        raise ApiError(
            "AuthFailure.InvalidAuthorization",
            "SignedHeaders must include content-type and host.",
        )
    return Authorization(match["id"], match["date"], match["service"], headers, match["sig"])


def verify(
    *,
    method: str,
    uri: str,
    query: str,
    headers: Mapping[str, str],
    payload: bytes,
    secrets: Mapping[str, str],
    service: str,
    now: int,
) -> str:
    """Check a request's signature; return its SecretId or raise the service's error."""
    lowered = {k.lower(): v for k, v in headers.items()}
    auth = parse_authorization(lowered.get("authorization"))
    raw_ts = lowered.get("x-tc-timestamp", "")
    if not raw_ts.isdigit():
        raise ApiError("MissingParameter", "The request is missing a valid X-TC-Timestamp header.")
    timestamp = int(raw_ts)
    if abs(now - timestamp) > MAX_SKEW_SECONDS:
        raise ApiError(
            "AuthFailure.SignatureExpire",
            "Signature expired. Timestamp and server time cannot differ by more than five minutes.",
        )
    if auth.secret_id not in secrets:
        raise ApiError("AuthFailure.SecretIdNotFound", "The SecretId is not found.")
    if auth.service != service or auth.date != utc_date(timestamp):
        raise ApiError(
            "AuthFailure.SignatureFailure",
            "The credential scope (date/service) does not match the request.",
        )
    canonical = canonical_request(method, uri, query, headers, auth.signed_headers, payload)
    to_sign = string_to_sign(timestamp, auth.date, auth.service, canonical)
    expected = hmac.new(
        signing_key(secrets[auth.secret_id], auth.date, auth.service),
        to_sign.encode(),
        hashlib.sha256,
    ).hexdigest()
    if not hmac.compare_digest(expected, auth.signature):
        raise ApiError(
            "AuthFailure.SignatureFailure",
            "The provided credentials could not be validated. Please check your signature is correct.",
        )
    return auth.secret_id
