"""The relay credentials check, against a real `roost serve` acting as the smarthost
(submission on 465 with implicit TLS and 587 with STARTTLS, AUTH over TLS only)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

import pytest
from roostproc import RELAY_PASSWORD, RELAY_USER, RoostProcess, free_port_base, relay_smarthost

from roost.delivery.relaylogin import RelayLoginError, check_login

TLS = Literal["implicit", "starttls"]
USER, PASSWORD = RELAY_USER, RELAY_PASSWORD


@pytest.fixture(scope="module")
def relay() -> Iterator[RoostProcess]:
    with relay_smarthost() as proc:
        yield proc


def ca_of(relay: RoostProcess) -> str:
    return str(relay.directory / "tls" / "cert.pem")  # self-signed: its own trust anchor


@pytest.mark.parametrize(("kind", "tls"), [("submissions", "implicit"), ("submission", "starttls")])
def test_right_password_is_accepted(relay: RoostProcess, kind: str, tls: TLS) -> None:
    reply = check_login(
        "127.0.0.1", relay.port(kind), tls, USER, PASSWORD, ca_file=ca_of(relay), timeout=30
    )
    assert reply.startswith("235")


@pytest.mark.parametrize(("kind", "tls"), [("submissions", "implicit"), ("submission", "starttls")])
def test_wrong_password_is_refused_as_an_auth_failure(
    relay: RoostProcess, kind: str, tls: TLS
) -> None:
    with pytest.raises(RelayLoginError) as error:
        check_login(
            "127.0.0.1", relay.port(kind), tls, USER, "wrong", ca_file=ca_of(relay), timeout=30
        )
    assert error.value.kind == "auth"
    assert "refused the username and password (535" in str(error.value)
    assert "wrong" not in str(error.value)


def test_an_untrusted_certificate_is_refused(relay: RoostProcess) -> None:
    with pytest.raises(RelayLoginError) as error:
        check_login("127.0.0.1", relay.port("submissions"), "implicit", USER, PASSWORD, timeout=30)
    assert error.value.kind == "tls"
    assert "certificate not valid" in str(error.value)


def test_a_closed_port_is_a_connect_failure() -> None:
    with pytest.raises(RelayLoginError) as error:
        check_login("127.0.0.1", free_port_base() + 465, "implicit", USER, PASSWORD, timeout=30)
    assert error.value.kind == "connect"
    assert "cannot reach 127.0.0.1:" in str(error.value)
