"""Running one toolkit role against the lab VPS, and the little of a provisioned VPS it needs
(what the base and roost roles would have done: the lab CA trusted, Roost in /opt/roost, its
user and a roost.toml)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from conftest import LAB_DIR, Lab

REPO = LAB_DIR.parent
PLAYBOOK = Path(__file__).parent / "playbooks" / "one_role.yml"

ROOST_TOML = """\
hostname = "mail.example.test"
state_dir = "/var/lib/roost"
outbound_file = "/etc/roost/outbound.toml"

[tls]
cert = "/etc/roost/tls/fullchain.pem"
key = "/etc/roost/tls/privkey.pem"
"""


def prepare_vps(lab: Lab) -> None:
    """Idempotent: the second test module to call it finds everything in place."""
    lab.ssh(
        "set -e; export DEBIAN_FRONTEND=noninteractive; apt-get update -q >/dev/null; "
        "apt-get install -y -q --no-install-recommends ca-certificates python3-venv >/dev/null; "
        "update-ca-certificates >/dev/null; "
        "[ -x /opt/roost/bin/roost ] || { python3 -m venv /opt/roost && "
        "/opt/roost/bin/pip install -q roost; }; "
        # The group may exist without the user (a role run by an earlier test made it).
        "getent group roost >/dev/null || groupadd --system roost; "
        "id roost >/dev/null 2>&1 || useradd --system -g roost --home-dir /var/lib/roost roost; "
        "install -d -m 0755 /etc/roost; install -d -m 0750 -g roost /etc/roost/tls",
        timeout=600,
    )
    lab.ssh("cat > /etc/roost/roost.toml", stdin=ROOST_TOML)


def run_role(
    lab: Lab,
    role: str,
    variables: dict[str, Any],
    tmp: Path,
    *extra: str,
    playbook: Path = PLAYBOOK,
) -> subprocess.CompletedProcess[str]:
    """ansible-playbook with the repository's library/ and roles/, as site.yml would run it
    (PLAYBOOK: one_role.yml, or one of playbooks/ that wires a few roles' tasks)."""
    vars_file = tmp / f"{role}-vars.json"
    vars_file.write_text(json.dumps({"lab_test_role": role, **variables}))
    bin_dir = Path(sys.executable).parent
    return subprocess.run(
        [
            bin_dir / "ansible-playbook",
            "-i",
            REPO / "inventories" / "lab",
            playbook,
            "-e",
            f"@{vars_file}",
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={
            **os.environ,
            "ANSIBLE_LIBRARY": str(REPO / "library"),
            "ANSIBLE_ROLES_PATH": str(REPO / "roles"),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_HOST_KEY_CHECKING": "True",
        },
    )


def changed_count(result: subprocess.CompletedProcess[str]) -> int:
    """changed=N of the VPS in the play recap."""
    for line in result.stdout.splitlines():
        if line.startswith("vps") and "changed=" in line:
            return int(line.split("changed=")[1].split()[0])
    raise AssertionError(f"no recap in the output:\n{result.stdout}\n{result.stderr}")
