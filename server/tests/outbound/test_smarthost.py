"""The seed's case: outbound port 25 is blocked, so everything goes through a relay that wants
SASL auth, on 465 (implicit TLS) or 587 (STARTTLS), with its certificate verified. Plus static
routes, which win over both the smarthost and MX lookup."""

from __future__ import annotations

import smtplib
import time
from collections.abc import Iterator

import pytest

from tests.knot import KnotServer
from tests.outbound.test_direct import PASSWORD, queue_text, submit, wait_until
from tests.postfix import PostfixPeer
from tests.roostproc import RoostProcess, roost_dev
from tests.smtpsink import SMTPSink

RELAY_PASSWORD = "relay secret 42"


@pytest.fixture(scope="module")
def relay() -> Iterator[PostfixPeer]:
    with PostfixPeer(
        ["relay.lab.test"], hostname="relay.lab.test", sasl_users={"roost": RELAY_PASSWORD}
    ) as server:
        yield server


@pytest.fixture(scope="module")
def sink() -> Iterator[SMTPSink]:
    with SMTPSink() as server:
        yield server


@pytest.fixture(scope="module", params=["implicit", "starttls"])
def roost(
    request: pytest.FixtureRequest,
    knot: KnotServer,
    knot_address: str,
    relay: PostfixPeer,
    sink: SMTPSink,
) -> Iterator[RoostProcess]:
    knot.set_zone("relay.lab.test", "@ A 127.0.0.1\n")
    tls = request.param
    port = relay.smtps_port if tls == "implicit" else relay.submission_port
    with roost_dev(nameserver=knot_address) as proc:
        password_file = proc.directory / "relay.pass"
        password_file.write_text(RELAY_PASSWORD + "\n")
        password_file.chmod(0o644)  # the server runs as nobody in these tests
        proc.append_config(
            f'[outbound]\nmode = "smarthost"\nca_file = "{relay.ca_cert}"\n'
            f'[outbound.smarthost]\nhost = "relay.lab.test"\nport = {port}\ntls = "{tls}"\n'
            f'username = "roost"\npassword_file = "{password_file}"\n'
            f'[[outbound.routes]]\ndomain = "routed.test"\nhost = "127.0.0.1"\n'
            f'port = {sink.port}\ntls = "none"\n'
            "[queue]\nretry_schedule = [600]\ndelay_warning = 0\n"
        )
        proc.add_user("alice@example.test", PASSWORD)
        proc.start()
        yield proc
        assert proc.stop() == 0


def test_everything_goes_through_the_relay(roost: RoostProcess, relay: PostfixPeer) -> None:
    rcpt = f"someone{time.time_ns()}@faraway.test"  # faraway.test has no DNS at all
    message_id = submit(roost, [rcpt], "via relay")
    (received,) = relay.wait_for(rcpt)
    assert message_id.encode() in received
    assert "sasl_username=roost" in relay.log()
    line = next(x for x in roost.log.read_text().splitlines() if rcpt in x and "delivery" in x)
    assert "mx=relay.lab.test" in line and "tls=TLSv1." in line
    # Used all the same, but not in silence (as ssh says of a private key).
    assert f"relay.pass is readable by others (mode 644): chmod 600 {roost.directory}" in (
        roost.log.read_text()
    )


def test_wrong_relay_password_keeps_the_mail(roost: RoostProcess, relay: PostfixPeer) -> None:
    password_file = roost.directory / "relay.pass"
    password_file.write_text("not the password\n")
    rcpt = f"patient{time.time_ns()}@faraway.test"
    message_id = submit(roost, [rcpt], "wrong password")
    wait_until(
        lambda: "refused authentication" in queue_text(roost), explain=lambda: queue_text(roost)
    )
    assert "4.7.8" in queue_text(roost) or "535" in queue_text(roost)
    password_file.write_text(RELAY_PASSWORD + "\n")
    roost.cli("queue", "retry")
    assert any(message_id.encode() in m for m in relay.wait_for(rcpt))
    wait_until(lambda: "the queue is empty" in queue_text(roost))
    assert RELAY_PASSWORD not in roost.log.read_text()


def test_static_route_wins_over_the_smarthost(roost: RoostProcess, sink: SMTPSink) -> None:
    before = sink.count
    message_id = submit(roost, ["x@routed.test"], "routed")
    messages = sink.wait_for(before + 1)
    assert any(message_id.encode() in m.data for m in messages)
    assert any("<x@routed.test>" in m.rcpt_to for m in messages)


def test_unauthenticated_relay_is_refused_by_the_peer(relay: PostfixPeer) -> None:
    """The relay really requires the AUTH Roost does (so the tests above prove it)."""
    assert relay.submission_port is not None
    with smtplib.SMTP("127.0.0.1", relay.submission_port, timeout=10) as client:
        client.starttls(context=relay.client_context())
        client.ehlo("x.test")
        client.mail("a@example.test")
        code, _ = client.rcpt("someone@faraway.test")
        assert code >= 500


def test_an_untrusted_relay_certificate_defers_with_nothing_sent(
    knot: KnotServer, knot_address: str, relay: PostfixPeer
) -> None:
    """No `ca_file`: the relay's test CA is not trusted, so its certificate fails and the
    credentials and the message stay here."""
    knot.set_zone("relay.lab.test", "@ A 127.0.0.1\n")
    with roost_dev(nameserver=knot_address) as roost:
        password_file = roost.directory / "relay.pass"
        password_file.write_text(RELAY_PASSWORD + "\n")
        password_file.chmod(0o644)
        roost.append_config(
            f'[outbound]\nmode = "smarthost"\n[outbound.smarthost]\nhost = "relay.lab.test"\n'
            f'port = {relay.smtps_port}\ntls = "implicit"\nusername = "roost"\n'
            f'password_file = "{password_file}"\n[queue]\nretry_schedule = [600]\n'
        )
        roost.add_user("alice@example.test", PASSWORD)
        roost.start()
        rcpt = f"untrusted{time.time_ns()}@faraway.test"
        submit(roost, [rcpt], "untrusted relay")
        wait_until(lambda: "attempts 1" in queue_text(roost), explain=lambda: queue_text(roost))
        assert "certificate" in queue_text(roost)
        assert rcpt not in relay.log()  # not even the envelope reached it
        assert roost.stop() == 0
