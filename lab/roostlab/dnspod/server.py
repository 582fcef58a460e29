"""The DNSPod stand-in's HTTPS endpoint: POST / with a JSON body, as Tencent Cloud API 3.0.

Errors come back with HTTP 200 and {"Response": {"Error": ..., "RequestId"}},
as the real service does (tencentcloud-sdk-python only treats non-200 as a
network error). Every call is appended to requests.jsonl, so tests can check
what a client really sent (for example that check mode wrote nothing).

Usage: python -m roostlab.dnspod.server CONFIG.json
"""

from __future__ import annotations

import json
import ssl
import sys
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from . import throttle
from .actions import Account, Domain
from .errors import ApiError
from .signature import verify
from .zone import Tsig, Zone

SERVICE = "dnspod"
VERSION = "2021-03-23"


@dataclass(frozen=True)
class Config:
    listen: str
    port: int
    cert: Path
    key: Path
    credentials: Path
    tsig: Path
    state: Path
    domains: list[str]

    @classmethod
    def load(cls, path: Path) -> Config:
        d = json.loads(path.read_text())
        return cls(
            d["listen"],
            int(d["port"]),
            Path(d["cert"]),
            Path(d["key"]),
            Path(d["credentials"]),
            Path(d["tsig"]),
            Path(d["state"]),
            list(d["domains"]),
        )


class Service:
    """Authentication, throttling and dispatch; the HTTP layer only moves bytes."""

    def __init__(self, config: Config) -> None:
        creds = json.loads(config.credentials.read_text())
        self.secrets = {creds["SecretId"]: creds["SecretKey"]}
        tsig = Tsig.load(config.tsig)
        created = time.strftime("%Y-%m-%d %H:%M:%S")
        self.account = Account(
            [
                Domain(10_000_001 + i, Zone(name, tsig, config.state / f"ids-{name}.json"), created)
                for i, name in enumerate(config.domains)
            ]
        )
        self.throttle_file = config.state / "throttle"
        self.log_file = config.state / "requests.jsonl"
        self._log_lock = threading.Lock()

    def handle(self, method: str, headers: dict[str, str], path: str, body: bytes) -> dict[str, Any]:
        request_id = str(uuid.uuid4())
        lowered = {k.lower(): v for k, v in headers.items()}
        action = lowered.get("x-tc-action", "")
        params: dict[str, Any] = {}
        try:
            uri, _, query = path.partition("?")
            verify(
                method=method,
                uri=uri,
                query=query,
                headers=headers,
                payload=body,
                secrets=self.secrets,
                service=SERVICE,
                now=int(time.time()),
            )
            if lowered.get("x-tc-version") != VERSION:
                raise ApiError("NoSuchVersion", "The API version does not exist.")
            throttled = throttle.take(self.throttle_file)
            if throttled:
                raise ApiError(*throttled)
            params = _params(method, lowered.get("content-type", ""), query, body)
            result = self.account.call(action, params)
            self._log(action, params, None)
            return {"Response": {**result, "RequestId": request_id}}
        except ApiError as err:
            self._log(action, params, err.code)
            return {"Response": {"Error": err.body(), "RequestId": request_id}}
        except Exception as exc:
            print(f"internal error on {action}: {exc!r}", file=sys.stderr, flush=True)
            self._log(action, params, "InternalError")
            body_err = {"Code": "InternalError", "Message": "An internal error occurred."}
            return {"Response": {"Error": body_err, "RequestId": request_id}}

    def _log(self, action: str, params: dict[str, Any], error: str | None) -> None:
        entry = {"time": time.time(), "action": action, "params": params, "error": error}
        with self._log_lock, self.log_file.open("a") as fh:
            fh.write(json.dumps(entry, ensure_ascii=False) + "\n")


def _params(method: str, content_type: str, query: str, body: bytes) -> dict[str, Any]:
    """GET carries the parameters in the (signed) query string, POST as a JSON body."""
    if method == "GET":
        return dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
    if not content_type.startswith("application/json"):
        raise ApiError("InvalidParameter", "Content-Type must be application/json for POST.")
    try:
        params = json.loads(body or b"{}")
    except json.JSONDecodeError as exc:
        raise ApiError("InvalidParameter", "The request body is not valid JSON.") from exc
    if not isinstance(params, dict):
        raise ApiError("InvalidParameter", "The request body must be a JSON object.")
    return params


def make_handler(service: Service) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            self._answer(
                service.handle("POST", dict(self.headers.items()), self.path, self.rfile.read(length))
            )

        def do_GET(self) -> None:
            """Signed GETs are API calls; an unsigned one is lab-up's health check."""
            if self.headers.get("Authorization"):
                self._answer(service.handle("GET", dict(self.headers.items()), self.path, b""))
                return
            self._answer({"service": "dnspod-standin", "version": VERSION})

        def _answer(self, answer: dict[str, Any]) -> None:
            data = json.dumps(answer, ensure_ascii=False).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            print(f"{self.address_string()} {format % args}", file=sys.stderr, flush=True)

    return Handler


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    config = Config.load(Path(argv[0]))
    service = Service(config)
    httpd = ThreadingHTTPServer((config.listen, config.port), make_handler(service))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(config.cert, config.key)
    # The handshake happens in each request's thread, so a silent client cannot stall accept().
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True, do_handshake_on_connect=False)
    print(f"dnspod stand-in listening on https://{config.listen}:{config.port}/", file=sys.stderr, flush=True)
    httpd.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
