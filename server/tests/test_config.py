"""`roost config check` and the config parser: every error names the file, line and key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from roost.config import ConfigError, Endpoint, parse

VALID = """\
hostname = "mail.example.test"
state_dir = "/var/lib/roost"

[tls]
cert = "/etc/roost/cert.pem"
key = "/etc/roost/key.pem"

[listeners]
smtp = ["0.0.0.0:25", "[::]:25"]
submission = ["127.0.0.1:587"]

[limits]
max_recipients = 50
command_timeout = 60

[dmarc]
reject_action = "junk"

[dns]
nameservers = ["127.0.0.1:5353", "::1"]
"""


def test_valid_config_parses_into_typed_values() -> None:
    config = parse(VALID, Path("roost.toml"))
    assert config.hostname == "mail.example.test"
    assert config.listeners.smtp == (Endpoint("0.0.0.0", 25), Endpoint("::", 25))
    assert config.limits.max_recipients == 50
    assert config.limits.command_timeout == 60.0
    assert config.limits.max_message_size == 25 * 1024 * 1024
    assert config.dmarc.reject_action == "junk"
    assert config.dmarc.quarantine_action == "junk"
    assert config.dns.nameservers == ("127.0.0.1:5353", "::1")
    assert config.dkim_dir == Path("/var/lib/roost/dkim")


def test_check_workers_default_to_the_cpus_and_may_be_set() -> None:
    assert parse(VALID, Path("roost.toml")).checks.workers is None  # serve: one per CPU
    for workers in (0, 3):
        config = parse(VALID + f"\n[checks]\nworkers = {workers}\n", Path("roost.toml"))
        assert config.checks.workers == workers
    for bad, message in (("-1", "must be 0 to 256"), ("1.5", "must be int"), ("257", "256")):
        with pytest.raises(ConfigError, match=f"roost.toml:23: checks.workers: .*{message}"):
            parse(VALID + f"\n[checks]\nworkers = {bad}\n", Path("roost.toml"))


@pytest.mark.parametrize(
    ("change", "line", "message"),
    [
        (("max_recipients = 50", "max_recipents = 50"), 13, "limits.max_recipents: unknown key"),
        (
            ("max_recipients = 50", 'max_recipients = "50"'),
            13,
            "limits.max_recipients: must be int",
        ),
        (("max_recipients = 50", "max_recipients = 0"), 13, "must be greater than 0"),
        (('"127.0.0.1:587"', '"localhost:587"'), 10, "listeners.submission"),
        (('"127.0.0.1:587"', '"127.0.0.1"'), 10, 'is not "IP:PORT"'),
        (('reject_action = "junk"', 'reject_action = "drop"'), 17, "is not one of: reject, junk"),
        (('hostname = "mail.example.test"', 'hostname = "mail"'), 1, "not a fully qualified"),
        (('state_dir = "/var/lib/roost"', 'state_dir = "roost"'), 2, "must be an absolute path"),
        (("[dmarc]", "[dmarcc]"), 16, "dmarcc: unknown key"),
        (('"::1"', '"dns.example"'), 20, "dns.nameservers"),
    ],
)
def test_errors_name_key_and_line(change: tuple[str, str], line: int, message: str) -> None:
    text = VALID.replace(*change)
    with pytest.raises(ConfigError) as error:
        parse(text, Path("/etc/roost/roost.toml"))
    assert str(error.value).startswith(f"/etc/roost/roost.toml:{line}: ")
    assert message in str(error.value)


def test_missing_required_key() -> None:
    with pytest.raises(ConfigError, match=r"roost.toml:\d+: tls.key: is required"):
        parse(VALID.replace('key = "/etc/roost/key.pem"\n', ""), Path("roost.toml"))


def test_not_toml_at_all() -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        parse("hostname = ", Path("roost.toml"))


def test_config_check_command_exit_status(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text(VALID)
    bad = tmp_path / "bad.toml"
    bad.write_text(VALID.replace("command_timeout", "comand_timeout"))
    ok = subprocess.run(
        [sys.executable, "-m", "roost", "-c", str(good), "config", "check"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    failed = subprocess.run(
        [sys.executable, "-m", "roost", "config", "check"],
        capture_output=True, text=True, check=False, env={"ROOST_CONFIG": str(bad), "PATH": ""},
    )  # fmt: skip
    assert failed.returncode == 1
    assert f"{bad}:14: limits.comand_timeout: unknown key" in failed.stderr
    assert "Traceback" not in failed.stderr


OUTBOUND = """
[outbound]
mode = "smarthost"
ca_file = "/etc/roost/relay-ca.pem"

[outbound.smarthost]
host = "relay.example.net"
port = 465
tls = "implicit"
username = "roost"
password_file = "/etc/roost/relay.pass"

[[outbound.routes]]
domain = "peer.test"
host = "127.0.0.1"
port = 2525
tls = "none"

[queue]
retry_schedule = [30, 120]
max_age = 86400
delay_warning = 0
"""


def test_outbound_shape_from_the_issue() -> None:
    config = parse(VALID + OUTBOUND, Path("roost.toml"))
    outbound = config.outbound
    assert outbound.mode == "smarthost"
    assert outbound.smarthost is not None
    assert (outbound.smarthost.host, outbound.smarthost.port, outbound.smarthost.tls) == (
        "relay.example.net",
        465,
        "implicit",
    )
    assert outbound.smarthost.password_file == Path("/etc/roost/relay.pass")
    assert [(r.domain, r.relay.port, r.relay.tls) for r in outbound.routes] == [
        ("peer.test", 2525, "none")
    ]
    assert config.queue.retry_schedule == (30.0, 120.0)
    assert config.queue.delay_warning == 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('host = "127.0.0.1"', 'host = "peer.example"'), 'outbound.routes.tls: "none" sends'),
        (('username = "roost"\n', ""), "username and password_file go together"),
        (("[outbound.smarthost]", "[outbound.smarthostt]"), "outbound.smarthostt: unknown key"),
        (("retry_schedule = [30, 120]", "retry_schedule = []"), "non-empty list"),
        (('tls = "implicit"', 'tls = "ssl"'), "is not one of: implicit, starttls, none"),
    ],
)
def test_outbound_errors(change: tuple[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse(VALID + OUTBOUND.replace(*change), Path("roost.toml"))
    assert message in str(error.value)
    assert str(error.value).startswith("roost.toml:")


def test_smarthost_mode_needs_its_table() -> None:
    with pytest.raises(ConfigError, match=r'outbound.mode: is "smarthost" but there is no'):
        parse(VALID + '\n[outbound]\nmode = "smarthost"\n', Path("roost.toml"))


def test_outbound_file_holds_the_outbound_table(tmp_path: Path) -> None:
    """The relay role writes the [outbound] table to its own file; roost.toml only names it."""
    included = tmp_path / "outbound.toml"
    included.write_text(OUTBOUND.split("[queue]")[0])
    config = parse(f'outbound_file = "{included}"\n' + VALID, Path("roost.toml"))
    assert config.outbound.mode == "smarthost"
    assert config.outbound.smarthost is not None
    assert config.outbound.smarthost.host == "relay.example.net"


def test_missing_outbound_file_means_direct_delivery(tmp_path: Path) -> None:
    config = parse(f'outbound_file = "{tmp_path / "none.toml"}"\n' + VALID, Path("roost.toml"))
    assert config.outbound.mode == "direct"
    assert config.outbound.smarthost is None


def test_errors_in_the_outbound_file_name_that_file_and_line(tmp_path: Path) -> None:
    included = tmp_path / "outbound.toml"
    included.write_text('[outbound]\nmode = "direct"\nmx_port = 0\n')
    with pytest.raises(ConfigError) as error:
        parse(f'outbound_file = "{included}"\n' + VALID, Path("roost.toml"))
    assert str(error.value).startswith(f"{included}:3: outbound.mx_port:")


@pytest.mark.parametrize(
    ("included_text", "message"),
    [
        ('hostname = "x.example"\n', "hostname: unknown key; allowed here: outbound"),
        ("[outbound\n", "not valid TOML"),
    ],
)
def test_outbound_file_holds_nothing_else(tmp_path: Path, included_text: str, message: str) -> None:
    included = tmp_path / "outbound.toml"
    included.write_text(included_text)
    with pytest.raises(ConfigError, match=message):
        parse(f'outbound_file = "{included}"\n' + VALID, Path("roost.toml"))


def test_outbound_table_in_both_files_is_refused(tmp_path: Path) -> None:
    included = tmp_path / "outbound.toml"
    included.write_text('[outbound]\nmode = "direct"\n')
    with pytest.raises(ConfigError, match="keep the \\[outbound\\] table in one of the two"):
        parse(f'outbound_file = "{included}"\n' + VALID + OUTBOUND, Path("roost.toml"))
