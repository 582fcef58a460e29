"""library/roost_certificate against certificate files in a temporary directory: check mode,
diff, no_log, errors. Issuing through a real CA is the lab's part (lab/tests)."""

from __future__ import annotations

import datetime as dt
import grp
import os
from pathlib import Path
from typing import Any

from roost.acme import settings, state
from roost.acme.state import RenewalInfo, State
from tests.acme.certs import install_pair, make_pair
from tests.modules.harness import run_module

MODULE = "roost_certificate"
SECRET = "tsig-secret-c2VjcmV0"


def arguments(tmp: Path, **changes: Any) -> dict[str, Any]:
    args = {
        "directory": "https://127.0.0.1:1/dir",  # unreachable: only a due, real run calls it
        "dns_provider": "rfc2136",
        "dns_credentials": {"server": "192.0.2.1", "tsig_name": "roost-key", "tsig_secret": SECRET},
        "hostname": "mail.example.test",
        "domains": ["example.test"],
        "tls_dir": str(tmp / "tls"),
        "tls_group": grp.getgrgid(os.getgid()).gr_name,
        "account_key": str(tmp / "acme" / "account.key"),
        "state_file": str(tmp / "acme" / "state.json"),
    }
    return {**args, **changes}


def install_current(tmp: Path, names: list[str]) -> None:
    now = dt.datetime.now(dt.UTC)
    chain, key = make_pair(names, now, now + dt.timedelta(days=90))
    install_pair(tmp / "tls", chain, key)
    ari = RenewalInfo(state.cert_digest(chain), False, None, now + dt.timedelta(hours=6))
    state.save(tmp / "acme" / "state.json", State(ari=ari))


def test_valid_certificate_for_the_same_names_is_unchanged(tmp_path: Path) -> None:
    install_current(tmp_path, settings.certificate_names("mail.example.test", ["example.test"]))
    for check in (True, False):
        result, raw = run_module(MODULE, arguments(tmp_path), check=check)
        assert result["changed"] is False, raw
        assert result["action"] == "keep"
        assert result["names"][0] == "mail.example.test"
        assert result["not_after"]
        assert SECRET not in raw


def test_check_mode_reports_the_new_names_without_the_ca(tmp_path: Path) -> None:
    install_current(tmp_path, ["mail.example.test"])
    result, raw = run_module(MODULE, arguments(tmp_path), check=True)
    assert result["changed"] is True, raw
    assert result["action"] == "issue"
    assert "added: autoconfig.example.test" in result["reason"]
    assert "mta-sts.example.test" not in result["diff"]["before"]
    assert "mta-sts.example.test" in result["diff"]["after"]
    assert "a new certificate" in result["diff"]["after"]


def test_failure_is_one_message_naming_the_variable(tmp_path: Path) -> None:
    result, raw = run_module(MODULE, arguments(tmp_path))
    assert result["failed"] is True
    assert "https://127.0.0.1:1/dir is unreachable" in result["msg"]
    assert "roost_acme_directory" in result["msg"]
    assert SECRET not in raw
    assert not (tmp_path / "tls").exists()  # nothing installed, nothing half-written
    result, _ = run_module(MODULE, arguments(tmp_path, hostname="mail"))
    assert result["failed"] is True
    assert "roost_hostname" in result["msg"]
