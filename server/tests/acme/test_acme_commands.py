"""`roost cert renew|status` without a CA: what is installed, not due, and the CA unreachable."""

from __future__ import annotations

import datetime as dt
import grp
import json
import os
from pathlib import Path

import pytest

from roost.acme import settings, state
from roost.acme.state import RenewalInfo, State
from roost.cli import main
from tests.acme.certs import install_pair, make_pair

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def write_settings(tmp_path: Path, directory: str = "https://127.0.0.1:1/dir") -> Path:
    path = tmp_path / "acme.json"
    data = {
        "directory": directory,
        "dns": {"provider": "rfc2136", "credentials": {"server": "127.0.0.1"}},
        "hostname": "mail.example.test",
        "domains": ["example.test"],
        "account_key": str(tmp_path / "acme" / "account.key"),
        "state_file": str(tmp_path / "acme" / "state.json"),
        "tls_dir": str(tmp_path / "tls"),
        "tls_group": grp.getgrgid(os.getgid()).gr_name,
        "reload": [],
    }
    path.write_text(json.dumps(data))
    return path


def install_current(path: Path, days_left: float) -> None:
    """A certificate for the settings' names, 90 days long, with DAYS_LEFT to go; ARI known."""
    config = settings.load(path)
    not_after = NOW + dt.timedelta(days=days_left)
    chain, key = make_pair(config.names, not_after - dt.timedelta(days=90), not_after)
    install_pair(config.tls_dir, chain, key)
    ari = RenewalInfo(state.cert_digest(chain), False, None, NOW + dt.timedelta(hours=6))
    state.save(config.state_file, State(ari=ari))


def test_status_without_a_certificate_exits_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["cert", "status", "--settings", str(write_settings(tmp_path))]) == 3
    out = capsys.readouterr().out
    assert "names wanted: mail.example.test, mta-sts.example.test" in out
    assert "next:         issue: no usable certificate" in out


def test_not_due_contacts_nobody(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_settings(tmp_path)  # the directory is unreachable: any contact would fail
    install_current(path, days_left=80)
    assert main(["cert", "renew", "--settings", str(path)]) == 0
    assert "certificate not due: valid until" in capsys.readouterr().out
    assert main(["cert", "status", "--settings", str(path)]) == 0
    assert "next:         keep" in capsys.readouterr().out


def test_unreachable_ca_names_the_variable_then_backs_off(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_settings(tmp_path)
    install_current(path, days_left=20)  # due: a third of the lifetime is left
    assert main(["cert", "renew", "--settings", str(path)]) == 1
    err = capsys.readouterr().err
    assert "the ACME CA at https://127.0.0.1:1/dir is unreachable" in err
    assert "Connection refused" in err
    assert "check roost_acme_directory" in err

    # Still valid: the next run waits out the back-off with a warning, and succeeds.
    assert main(["cert", "renew", "--settings", str(path)]) == 0
    captured = capsys.readouterr()
    assert "next attempt after" in captured.err
    assert "certificate not due" in captured.out

    # Without a usable certificate the back-off is an error naming the way out.
    (tmp_path / "tls" / "privkey.pem").unlink()
    assert main(["cert", "renew", "--settings", str(path)]) == 1
    assert "or run with --force" in capsys.readouterr().err


def test_a_setting_error_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_settings(tmp_path, directory="http://acme.example/dir")
    assert main(["cert", "renew", "--settings", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "https://" in err and "roost_acme_directory" in err
