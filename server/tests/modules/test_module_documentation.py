"""Every module of library/ documents exactly the arguments it takes (names, types, defaults,
choices, required, nested options), and ansible-doc renders each."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.modules.harness import LIBRARY, MODULES, REPO, load

COMPARED = ("type", "elements", "default", "choices")


def shape(options: dict[str, Any], nested: str) -> dict[str, Any]:
    """What an argument spec and its documentation must agree on, for each option."""
    return {
        name: (
            {key: spec.get(key) for key in COMPARED},
            spec.get("required", False),
            shape(spec.get(nested) or {}, nested),
        )
        for name, spec in options.items()
    }


def test_every_module_is_covered() -> None:
    assert MODULES == [
        "roost_accounts",
        "roost_certificate",
        "roost_dkim",
        "roost_dns_records",
        "roost_files",
        "roost_port25_probe",
        "roost_relay_login",
        "roost_site_documents",
    ]


@pytest.mark.parametrize("name", MODULES)
def test_documentation_matches_the_argument_spec(name: str) -> None:
    module = load(name)
    documented = yaml.safe_load(module.DOCUMENTATION)
    assert documented["module"] == name
    assert shape(documented["options"], "suboptions") == shape(module.ARGUMENT_SPEC, "options")
    yaml.safe_load(module.EXAMPLES)
    yaml.safe_load(module.RETURN)


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("roost_accounts", ["passwords"]),
        ("roost_certificate", ["dns_credentials"]),
        ("roost_certificate", ["eab", "hmac_key"]),
        ("roost_dns_records", ["credentials"]),
        ("roost_relay_login", ["password"]),
    ],
)
def test_secrets_are_no_log(name: str, path: list[str]) -> None:
    spec: dict[str, Any] = {"options": load(name).ARGUMENT_SPEC}
    for key in path:
        spec = spec["options"][key]
    assert spec["no_log"] is True


def test_ansible_doc_renders_every_module() -> None:
    done = subprocess.run(
        [Path(sys.executable).parent / "ansible-doc", "--json", "-M", str(LIBRARY), *MODULES],
        capture_output=True, text=True, timeout=120, check=False, cwd=REPO,
        env={**os.environ, "ANSIBLE_NOCOLOR": "1"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rendered = json.loads(done.stdout)
    assert sorted(rendered) == MODULES
    for name, doc in rendered.items():
        assert doc["doc"]["short_description"], name
        assert doc["return"], name
