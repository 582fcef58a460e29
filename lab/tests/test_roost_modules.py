"""The roost role's modules, run by Ansible on the controller against a real `roost` command
and a development store: roost_accounts and roost_dkim report a change only when they make
one, show it in check mode without making it, and never print a password."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import LAB_DIR

BIN = Path(sys.executable).parent
PASSWORD = "correct horse battery staple"


@pytest.fixture
def config() -> Iterator[Path]:
    directory = Path(tempfile.mkdtemp(prefix="roost-modules-", dir="/tmp"))
    directory.chmod(0o755)  # as root the command drops to nobody, who must reach the state
    try:
        subprocess.run(
            [BIN / "roost", "init", "--dev", directory, "--domain", "example.test"],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        yield directory / "roost.toml"
    finally:
        subprocess.run(["rm", "-rf", directory], check=False)


def run_module(name: str, args: dict[str, Any], *flags: str) -> dict[str, Any]:
    result = subprocess.run(
        [BIN / "ansible", "localhost", "-M", LAB_DIR.parent / "library", "-m", name,
         "-a", json.dumps({**args, "roost": str(BIN / "roost")}), "--diff", *flags],
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_LOCALHOST_WARNING": "False",
             "ANSIBLE_MODULE_UTILS": str(LAB_DIR.parent / "module_utils"),
             "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.minimal",
             "ANSIBLE_CALLBACK_RESULT_FORMAT": "json"},
    )  # fmt: skip
    assert PASSWORD not in result.stdout + result.stderr
    output = result.stdout
    return {"rc": result.returncode, "text": output, "changed": '"changed": true' in output}


def test_accounts_change_once_and_check_mode_only_reports(config: Path) -> None:
    args = {
        "config": str(config),
        "domains": ["example.test", "second.test"],
        "users": ["me@example.test"],
        "passwords": {"me@example.test": PASSWORD},
        "postmaster": "me@example.test",
    }
    planned = run_module("roost_accounts", args, "--check")
    assert planned["rc"] == 0 and planned["changed"]
    assert "+user me@example.test" in planned["text"]
    assert "+alias abuse@second.test -> me@example.test" in planned["text"]
    first = run_module("roost_accounts", args)
    assert first["rc"] == 0 and first["changed"], first["text"]
    again = run_module("roost_accounts", args)
    assert again["rc"] == 0 and not again["changed"], again["text"]


def test_accounts_error_names_the_bad_address(config: Path) -> None:
    result = run_module(
        "roost_accounts",
        {"config": str(config), "users": ["no-at-sign"], "passwords": {"no-at-sign": "pw"}},
    )
    assert result["rc"] != 0 and "exactly one @" in result["text"], result["text"]


def test_dkim_keys_made_once_and_only_public_halves_returned(config: Path) -> None:
    args = {"config": str(config), "domains": ["second.test"]}
    first = run_module("roost_dkim", args)
    assert first["rc"] == 0 and first["changed"], first["text"]
    assert "v=DKIM1; k=ed25519; p=" in first["text"] and "PRIVATE KEY" not in first["text"]
    again = run_module("roost_dkim", args)
    assert again["rc"] == 0 and not again["changed"], again["text"]
