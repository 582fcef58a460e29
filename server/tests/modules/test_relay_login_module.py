"""library/roost_relay_login against a real `roost serve` acting as the smarthost: the
password never shows in the result, and each failure says which setting is at fault."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from roostproc import RELAY_PASSWORD, RELAY_USER, RoostProcess, free_port_base, relay_smarthost

from tests.modules.harness import run_module

MODULE = "roost_relay_login"
USER, PASSWORD = RELAY_USER, RELAY_PASSWORD


@pytest.fixture(scope="module")
def relay() -> Iterator[RoostProcess]:
    with relay_smarthost() as proc:
        yield proc


def arguments(relay: RoostProcess, **changes: object) -> dict[str, object]:
    args = {
        "host": "127.0.0.1",
        "port": relay.port("submissions"),
        "tls": "implicit",
        "username": USER,
        "password": PASSWORD,
        "ca_file": str(relay.directory / "tls" / "cert.pem"),  # self-signed: its own anchor
    }
    return {**args, **changes}


@pytest.mark.parametrize("check", [False, True])
@pytest.mark.parametrize(("kind", "tls"), [("submissions", "implicit"), ("submission", "starttls")])
def test_right_credentials_log_in_and_change_nothing(
    relay: RoostProcess, kind: str, tls: str, check: bool
) -> None:
    args = arguments(relay, port=relay.port(kind), tls=tls)
    result, raw = run_module(MODULE, args, check=check)
    assert result["changed"] is False, raw
    assert result["reply"].startswith("235")
    assert PASSWORD not in raw
    assert result["invocation"]["module_args"]["password"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"


@pytest.mark.parametrize(
    ("changes", "kind", "message"),
    [
        ({"password": "wrong horse"}, "auth", "refused the username and password (535"),
        ({"ca_file": None}, "tls", "certificate not valid"),
        ({"tls": "starttls"}, None, ""),  # STARTTLS spoken to the implicit-TLS port
        ({"port": None}, "connect", "cannot reach 127.0.0.1:"),
    ],
)
def test_each_failure_names_its_kind_and_never_the_password(
    relay: RoostProcess, changes: dict[str, object], kind: str | None, message: str
) -> None:
    if changes.get("port", 0) is None:
        changes = {"port": free_port_base() + 465}
    result, raw = run_module(MODULE, arguments(relay, **changes))
    assert result["failed"] is True, raw
    assert result["kind"] in ({kind} if kind else {"tls", "protocol", "connect"}), raw
    assert message in result["msg"]
    assert PASSWORD not in raw and "wrong horse" not in raw


def test_a_missing_password_fails_naming_it(relay: RoostProcess) -> None:
    args = arguments(relay)
    del args["password"]
    result, raw = run_module(MODULE, args)
    assert result["failed"] is True, raw
    assert result["msg"] == "missing required arguments: password"
