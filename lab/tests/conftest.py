"""Fixtures for the lab's own tests.

The tests run inside the lab's controller namespace (as `lab/run pytest`
does), so they reach the parts by name through the lab DNS exactly as the
toolkit will. Run from the host, this conftest brings the lab up once if it
is not up and re-executes pytest through lab/run. The last test module
(test_zz_down) takes the lab down and checks nothing is left behind.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

LAB_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(LAB_DIR))


def pytest_configure(config: pytest.Config) -> None:
    """Outside the lab: bring it up (once) and run again inside its namespace."""
    if os.environ.get("ROOST_LAB_NS") or config.option.collectonly:
        return
    if subprocess.run([str(LAB_DIR / "bin" / "lab-up")], check=False).returncode != 0:
        pytest.exit("lab-up failed (see above); no lab tests ran", returncode=1)
    os.execv(str(LAB_DIR / "run"), [str(LAB_DIR / "run"), sys.executable, *sys.orig_argv[1:]])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """ROOST_LAB_KEEP=1 keeps the lab up for more work: leave out the teardown test."""
    if os.environ.get("ROOST_LAB_KEEP") == "1":
        items[:] = [i for i in items if "test_zz_down" not in i.nodeid]


@dataclass(frozen=True)
class Lab:
    """The running lab, as described by its lab.json."""

    facts: dict[str, Any]

    @property
    def state(self) -> Path:
        return Path(self.facts["state_dir"])

    @property
    def ca(self) -> str:
        return self.facts["ca"]

    def addr(self, part: str) -> str:
        return self.facts["addresses"][part]

    def json(self, *keys: str) -> Any:
        """Load the JSON file at facts[keys...]."""
        node: Any = self.facts
        for key in keys:
            node = node[key]
        return json.loads(Path(node).read_text())

    def ssh(
        self, command: str, *, check: bool = True, timeout: float = 120, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run COMMAND on the VPS as root, over SSH with the lab's key and pinned host key."""
        return subprocess.run(
            ["ssh", "-F", self.facts["ssh"]["config"], "-o", "BatchMode=yes", "vps", command],
            check=check,
            capture_output=True,
            text=True,
            timeout=timeout,
            input=stdin,
        )

    def vps_python(self, code: str, *, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run Python CODE on the VPS (fed on stdin, so no shell quoting)."""
        return self.ssh("python3 -", check=check, stdin=code)

    def tool(self, name: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(LAB_DIR / "bin" / name), *args], check=True, capture_output=True, text=True
        )


@pytest.fixture(scope="session")
def lab() -> Lab:
    state = Path(os.environ.get("ROOST_LAB_STATE", LAB_DIR / ".state"))
    if not (state / "up").exists():
        pytest.fail(f"the lab is not up (no {state / 'up'}); run make lab-up")
    return Lab(json.loads((state / "lab.json").read_text()))
