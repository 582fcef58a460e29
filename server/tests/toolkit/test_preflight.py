"""playbooks/preflight.yml, the first play of site.yml: every role's variables are checked
against its meta/argument_specs.yml before any role changes anything. Run against this
machine with a local connection (the checks only read variables) and the example inventory."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
ROLES = ["base", "roost", "dns", "certificates", "mta_sts", "relay"]


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    """inventories/example as a user copies it, its host this machine."""
    shutil.copytree(REPO / "inventories" / "example" / "group_vars", tmp_path / "group_vars")
    host = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    (tmp_path / "hosts.yml").write_text(json.dumps({"all": {"hosts": {"mail": host}}}))
    return tmp_path


def preflight(inventory: Path, **extra: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [Path(sys.executable).parent / "ansible-playbook", "-i", str(inventory),
         str(REPO / "playbooks" / "preflight.yml"), "-e", json.dumps(extra)],
        capture_output=True, text=True, timeout=120, check=False, cwd=REPO,
        env={**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_ROLES_PATH": str(REPO / "roles")},
    )  # fmt: skip


def checked_roles(output: str) -> list[str]:
    return [r for r in ROLES if f"TASK [{r} : Validating arguments against arg spec" in output]


def test_site_checks_the_inventory_before_any_role() -> None:
    plays = yaml.safe_load((REPO / "site.yml").read_text())
    assert plays[0]["ansible.builtin.import_playbook"] == "playbooks/preflight.yml"
    assert "roles" not in plays[0]


def test_the_example_inventory_passes_every_role(inventory: Path) -> None:
    done = preflight(inventory)
    assert done.returncode == 0, done.stdout + done.stderr
    assert checked_roles(done.stdout) == ROLES
    assert "changed=0" in done.stdout


@pytest.mark.parametrize(
    ("extra", "stops_at", "message"),
    [
        ({"roost_mta_sts_mode": "strict"}, "mta_sts", "value of mta_sts_mode must be one of"),
        ({"roost_relay_mode": "sometimes"}, "dns", "value of dns_relay_mode must be one of"),
        ({"roost_dns_credentials": "id:key"}, "dns", "argument 'dns_credentials' is of type str"),
        ({"roost_dns_provider": "route53"}, "dns", "value of dns_provider must be one of"),
        (
            {"roost_relay": "smtp.relay.example"},
            "dns",
            "argument 'dns_relay' is of type str",
        ),
    ],
)
def test_a_wrong_variable_stops_the_play_naming_it_before_later_roles(
    inventory: Path, extra: dict[str, object], stops_at: str, message: str
) -> None:
    done = preflight(inventory, **extra)
    assert done.returncode != 0, done.stdout
    assert checked_roles(done.stdout) == ROLES[: ROLES.index(stops_at) + 1]
    assert message in done.stdout + done.stderr


def test_a_missing_variable_is_named(inventory: Path) -> None:
    text = (inventory / "group_vars" / "all" / "roost.yml").read_text()
    start = text.index("roost_dns_credentials:")
    end = text.index("\n", text.index("secret_key:", start))
    (inventory / "group_vars" / "all" / "roost.yml").write_text(text[:start] + text[end + 1 :])
    done = preflight(inventory)
    assert done.returncode != 0, done.stdout
    assert "'roost_dns_credentials' is undefined" in done.stdout + done.stderr
    assert checked_roles(done.stdout) == ["base", "roost", "dns"]
