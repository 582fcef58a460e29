"""`roost dns`: the same planning as the module, from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from roost.cli import main
from tests.dnsprovider.conftest import ZONE, options
from tests.knot import KnotServer

MAIL = ["--hostname", "mail.example.org", "--ipv4", "198.51.100.10", "--config", "/nonexistent"]


def test_records_prints_every_record(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["-c", "/nonexistent", "dns", "records", ZONE, *MAIL[:4], "--dkim", "r1=v=DKIM1; p=K"])
        == 0
    )
    out = capsys.readouterr().out
    assert f"{ZONE}. 600 IN MX 10 mail.example.org." in out
    assert 'r1._domainkey.example.org. 600 IN TXT "v=DKIM1; p=K"' in out
    assert '"v=spf1 ip4:198.51.100.10 -all"  ; merged into an existing SPF record' in out


def test_sync_check_then_apply(
    tsig_knot: KnotServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    creds = tmp_path / "creds.json"
    creds.write_text(json.dumps(options(tsig_knot)))
    args = ["-c", "/nonexistent", "dns", "sync", ZONE, *MAIL[:4], "--provider", "rfc2136",
            "--credentials", str(creds)]  # fmt: skip
    assert main([*args, "--check"]) == 0
    assert f"would create {ZONE}. 600 IN MX 10 mail.example.org." in capsys.readouterr().out
    assert main(args) == 0
    assert f"create {ZONE}. 600 IN MX" in capsys.readouterr().out
    assert main(args) == 0
    assert capsys.readouterr().out == f"{ZONE}: nothing to change\n"


def test_bad_credentials_file_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["dns", "sync", ZONE, *MAIL[:4], "--provider", "rfc2136",
            "--credentials", str(tmp_path / "missing.json")]  # fmt: skip
    assert main(args) == 1
    assert "roost: cannot read the credentials file" in capsys.readouterr().err
