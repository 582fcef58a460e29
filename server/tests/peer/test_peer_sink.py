"""The smtp-sink wrapper (tests/postfix.py SMTPSink): capture and fault injection."""

from __future__ import annotations

import smtplib
import socket
import time

import pytest

from tests.smtpsink import SMTPSink


def test_sink_captures_envelope_and_message() -> None:
    with SMTPSink() as sink:
        with smtplib.SMTP(sink.address, sink.port, local_hostname="client.test") as smtp:
            refused = smtp.sendmail(
                "a@client.test", ["x@peer.test", "y@peer.test"], b"Subject: s\r\n\r\n.dot\r\n"
            )
        assert refused == {}
        [got] = sink.wait_for(1)
        assert got.helo == "client.test"
        assert got.mail_from == "<a@client.test>"
        assert got.rcpt_to == ["<x@peer.test>", "<y@peer.test>"]
        assert got.data == b"Subject: s\n\n.dot\n"
        assert sink.count == 1


def test_sink_counts_many_messages_on_one_connection() -> None:
    with SMTPSink() as sink:
        with smtplib.SMTP(sink.address, sink.port) as smtp:
            for n in range(20):
                smtp.sendmail("a@client.test", ["x@peer.test"], f"Subject: {n}\r\n\r\nx\r\n")
        assert len(sink.wait_for(20)) == 20


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"soft_reject": ["RCPT"]}, (450, b"4.3.0 Error: command failed")),
        (
            {"hard_reject": ["RCPT"], "hard_reply": "550 5.1.1 nobody here"},
            (550, b"5.1.1 nobody here"),
        ),
        ({"soft_reject": ["RCPT"], "soft_reply": "452 4.5.3 too many"}, (452, b"4.5.3 too many")),
    ],
)
def test_sink_rejects_recipients(options: dict, expected: tuple[int, bytes]) -> None:
    with SMTPSink(**options) as sink:
        with (
            smtplib.SMTP(sink.address, sink.port) as smtp,
            pytest.raises(smtplib.SMTPRecipientsRefused) as info,
        ):
            smtp.sendmail("a@client.test", ["x@peer.test"], b"Subject: s\r\n\r\nx\r\n")
        assert info.value.recipients["x@peer.test"] == expected
        assert sink.count == 0


def test_sink_rejects_end_of_data() -> None:
    with SMTPSink(hard_reject=["."]) as sink:
        with (
            smtplib.SMTP(sink.address, sink.port) as smtp,
            pytest.raises(smtplib.SMTPDataError) as info,
        ):
            smtp.sendmail("a@client.test", ["x@peer.test"], b"Subject: s\r\n\r\nx\r\n")
        assert info.value.smtp_code == 500
        # smtp-sink still dumps a transaction it refused at the end of DATA
        assert sink.count == 1


def test_sink_421_and_hangup() -> None:
    with SMTPSink(reply_421=["MAIL"]) as sink:
        with (
            smtplib.SMTP(sink.address, sink.port) as smtp,
            pytest.raises(smtplib.SMTPSenderRefused) as info,
        ):
            smtp.sendmail("a@client.test", ["x@peer.test"], b"x")
        assert info.value.smtp_code == 421


def test_sink_disconnect_in_data_leaves_nothing_counted() -> None:
    with SMTPSink(disconnect=["DATA"]) as sink:
        with (
            smtplib.SMTP(sink.address, sink.port) as smtp,
            pytest.raises(smtplib.SMTPServerDisconnected),
        ):
            smtp.sendmail("a@client.test", ["x@peer.test"], b"x")
        time.sleep(0.2)
        assert sink.count == 0


def test_sink_client_hangup_mid_message_not_counted() -> None:
    with SMTPSink() as sink:
        with socket.create_connection((sink.address, sink.port), timeout=5) as sock:
            reader = sock.makefile("rb")
            reader.readline()
            for line in (b"HELO c\r\n", b"MAIL FROM:<a@b.test>\r\n", b"RCPT TO:<c@d.test>\r\n"):
                sock.sendall(line)
                reader.readline()
            sock.sendall(b"DATA\r\n")
            reader.readline()
            sock.sendall(b"Subject: cut\r\n\r\nhalf a mess")
            time.sleep(0.1)
            assert sink.count == 0
        time.sleep(0.2)
        assert sink.count == 0


def test_sink_stops_its_process() -> None:
    sink = SMTPSink()
    with sink:
        pid = sink.pid
        assert pid is not None
        assert sink.running()
        root = sink.root
    assert not sink.running()
    assert not root.exists()
    with pytest.raises(OSError), socket.create_connection((sink.address, sink.port), timeout=1):
        pass
