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
