"""The toolkit's entry point works: Ansible in the controller namespace reaches the VPS with
the inventory the lab wrote (inventories/lab), using the lab's SSH key and known host key."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import LAB_DIR, Lab

REPO = LAB_DIR.parent


def test_ansible_ping_reaches_the_vps(lab: Lab) -> None:
    ansible = Path(sys.executable).parent / "ansible"
    result = subprocess.run(
        [ansible, "-i", REPO / "inventories" / "lab", "all", "-m", "ansible.builtin.ping"],
        capture_output=True,
        text=True,
        timeout=120,
        # JSON results: the repository's ansible.cfg shows them as YAML, for people.
        env={
            **os.environ,
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_HOST_KEY_CHECKING": "True",
            "ANSIBLE_CALLBACK_RESULT_FORMAT": "json",
        },
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert '"ping": "pong"' in result.stdout
