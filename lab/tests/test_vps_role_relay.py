"""The relay role and its port 25 probe on the lab VPS: direct delivery while port 25 is
open; with it blocked (make lab-block25) the play stops and explains, or, with the lab relay
configured, tries the credentials and switches Roost to the smarthost. A wrong password stops
the play with one message naming roost_relay.password and leaves the VPS as it was."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from roleplay import REPO, changed_count, prepare_vps, run_role

from conftest import Lab

OUTBOUND = "/etc/roost/outbound.toml"
PASSWORD_FILE = "/etc/roost/relay.pass"


@pytest.fixture(scope="module")
def vps(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    prepare_vps(lab)
    yield tmp_path_factory.mktemp("relay")
    lab.tool("lab-port25", "unblock")


@pytest.fixture
def blocked(lab: Lab) -> Iterator[None]:
    lab.tool("lab-port25", "block")
    try:
        yield
    finally:
        lab.tool("lab-port25", "unblock")


def role_vars(lab: Lab, *, relay: str | None = None, port: int = 587, **extra: Any) -> dict[str, Any]:
    """RELAY: None for no relay, else the password to give."""
    variables: dict[str, Any] = {
        "roost_port25_probe_hosts": [lab.facts["peer"]["host"]],
        "relay_probe_timeout": 5,
    }
    # The lab inventory names the lab relay; a test without one says so over it.
    variables["roost_relay"] = {}
    if relay is not None:
        credentials = lab.json("relay", "credentials")
        variables["roost_relay"] = {
            "host": credentials["host"],
            "port": port,
            "tls": "implicit" if port == 465 else "starttls",
            "username": credentials["username"],
            "password": relay,
        }
    return {**variables, **extra}


def relay_password(lab: Lab) -> str:
    return lab.json("relay", "credentials")["password"]


def probe(lab: Lab) -> dict[str, Any]:
    """The probe module alone, as the role calls it (on the VPS, in Roost's venv)."""
    result = subprocess.run(
        [
            Path(sys.executable).parent / "ansible", "-i", REPO / "inventories" / "lab", "vps",
            "-m", "roost_port25_probe", "-a", "hosts=mx.peer.test timeout=5 relay_mode=never",
            "-e", "ansible_python_interpreter=/opt/roost/bin/python", "-o",
        ],
        capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "ANSIBLE_LIBRARY": str(REPO / "library"), "ANSIBLE_NOCOLOR": "1"},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout.split("=>", 1)[1])


def outbound_file(lab: Lab) -> str:
    return lab.ssh(f"cat {OUTBOUND}").stdout


def test_probe_reports_reachable_then_blocked(lab: Lab, vps: Path) -> None:
    open_result = probe(lab)
    assert open_result["port_open"] is True
    assert open_result["results"][0]["detail"].startswith("220 ")
    lab.tool("lab-port25", "block")
    try:
        blocked_result = probe(lab)
    finally:
        lab.tool("lab-port25", "unblock")
    assert blocked_result["port_open"] is False
    assert blocked_result["results"][0]["state"] == "blocked"
    assert probe(lab)["port_open"] is True


def test_open_port_means_direct_delivery(lab: Lab, vps: Path) -> None:
    result = run_role(lab, "relay", role_vars(lab, relay=relay_password(lab)), vps)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Outbound port 25 is open; Roost sends directly to each domain's MX" in result.stdout
    assert 'mode = "direct"' in outbound_file(lab)
    assert lab.ssh(f"test -e {PASSWORD_FILE}", check=False).returncode == 1
    again = run_role(lab, "relay", role_vars(lab, relay=relay_password(lab)), vps)
    assert changed_count(again) == 0, again.stdout


def test_blocked_without_relay_stops_with_the_choices(lab: Lab, vps: Path, blocked: None) -> None:
    before = outbound_file(lab)
    result = run_role(lab, "relay", role_vars(lab), vps)
    assert result.returncode != 0
    assert "Outbound port 25 is blocked on this VPS" in result.stdout
    assert "ask the VPS provider to unblock" in result.stdout
    assert "set roost_relay" in result.stdout
    assert outbound_file(lab) == before


def test_wrong_relay_password_stops_naming_it_and_changes_nothing(lab: Lab, vps: Path, blocked: None) -> None:
    before = lab.ssh(f"stat -c %Y {OUTBOUND}; cat {OUTBOUND}").stdout
    result = run_role(lab, "relay", role_vars(lab, relay="not-the-password"), vps)
    assert result.returncode != 0
    assert "refused the username and password (535" in result.stdout
    assert "Fix roost_relay.password" in result.stdout
    assert "not-the-password" not in result.stdout + result.stderr
    assert lab.ssh(f"stat -c %Y {OUTBOUND}; cat {OUTBOUND}").stdout == before
    assert lab.ssh(f"test -e {PASSWORD_FILE}", check=False).returncode == 1


@pytest.mark.parametrize("port", [587, 465])
def test_blocked_with_relay_switches_to_the_smarthost(lab: Lab, vps: Path, blocked: None, port: int) -> None:
    result = run_role(lab, "relay", role_vars(lab, relay=relay_password(lab), port=port), vps)
    assert result.returncode == 0, result.stdout + result.stderr
    assert relay_password(lab) not in result.stdout + result.stderr
    # The stand-in handler ran `roost config check` on roost.toml and its outbound_file.
    assert "RUNNING HANDLER [Restart roost]" in result.stdout
    outbound = outbound_file(lab)
    assert 'mode = "smarthost"' in outbound
    assert f'host = "relay.lab.test"\nport = {port}\n' in outbound
    assert f'password_file = "{PASSWORD_FILE}"' in outbound
    assert lab.ssh(f"stat -c '%a %U' {PASSWORD_FILE}").stdout.split() == ["600", "roost"]
    assert lab.ssh(f"cat {PASSWORD_FILE}").stdout.strip() == relay_password(lab)


def test_always_forces_the_relay_and_never_forces_direct(lab: Lab, vps: Path) -> None:
    forced = run_role(lab, "relay", role_vars(lab, relay=relay_password(lab), roost_relay_mode="always"), vps)
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert 'mode = "smarthost"' in outbound_file(lab)
    wrong = run_role(lab, "relay", role_vars(lab, relay="wrong", roost_relay_mode="always"), vps)
    assert "Fix roost_relay.password" in wrong.stdout
    never = run_role(lab, "relay", role_vars(lab, relay="wrong", roost_relay_mode="never"), vps)
    assert never.returncode == 0, never.stdout + never.stderr
    assert 'mode = "direct"' in outbound_file(lab)
