"""library/roost_accounts and roost_dkim, the modules that act through the `roost` command,
against the real command and a development store: a change only when one is made, check mode
that makes none, passwords and private keys never in the output, and the missing command
reported (check mode on a fresh VPS) or named with the role that installs it."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.modules.harness import run_module
from tests.roostproc import RoostProcess, roost_dev

ROOST = str(Path(sys.executable).parent / "roost")
PASSWORD = "correct horse battery staple"


@pytest.fixture
def server() -> Iterator[RoostProcess]:
    with roost_dev() as proc:  # hosts example.test with its DKIM keys; not started
        yield proc


def accounts(server: RoostProcess, **changes: object) -> dict[str, object]:
    args = {
        "config": str(server.config),
        "roost": ROOST,
        "domains": ["example.test", "second.test"],
        "users": ["me@example.test"],
        "passwords": {"me@example.test": PASSWORD},
        "postmaster": "me@example.test",
    }
    return {**args, **changes}


def test_accounts_check_mode_shows_the_diff_and_makes_nothing(server: RoostProcess) -> None:
    planned, raw = run_module("roost_accounts", accounts(server), check=True)
    assert planned["changed"] is True, raw
    assert planned["users_added"] == ["me@example.test"]
    assert "alias abuse@second.test -> me@example.test\n" in planned["diff"]["after"]
    assert "second.test" not in planned["diff"]["before"]
    assert PASSWORD not in raw
    assert "me@example.test" not in server.cli("user", "list").stdout


def test_accounts_change_once_then_never(server: RoostProcess) -> None:
    first, raw = run_module("roost_accounts", accounts(server))
    assert first["changed"] is True and first["domains_added"] == ["second.test"], raw
    assert "me@example.test" in server.cli("user", "list").stdout
    again, raw = run_module("roost_accounts", accounts(server))
    assert again["changed"] is False, raw
    assert again["diff"]["before"] == again["diff"]["after"]
    moved, raw = run_module(
        "roost_accounts", accounts(server, passwords={"me@example.test": "new"})
    )
    assert (moved["changed"], moved["passwords_set"]) == (True, ["me@example.test"]), raw
    assert PASSWORD not in raw and '"new"' not in raw


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"users": ["no-at-sign"], "passwords": {"no-at-sign": "pw"}}, "exactly one @"),
        ({"passwords": {}}, "no password for me@example.test in passwords"),
        ({"aliases": "not a list of aliases"}, "aliases"),
    ],
)
def test_accounts_errors_name_the_cause_and_change_nothing(
    server: RoostProcess, changes: dict[str, object], message: str
) -> None:
    result, raw = run_module("roost_accounts", accounts(server, **changes))
    assert result["failed"] is True, raw
    assert message in result["msg"]
    assert server.cli("user", "list").stdout.strip() == ""
    assert PASSWORD not in raw


def test_without_roost_check_mode_says_what_it_would_do_and_a_run_names_the_role(
    tmp_path: Path,
) -> None:
    missing = {"config": str(tmp_path / "roost.toml"), "roost": str(tmp_path / "roost")}
    planned, raw = run_module("roost_dkim", {**missing, "domains": ["example.test"]}, check=True)
    assert planned["changed"] is True, raw
    assert "Roost is not installed yet; would create" in planned["msg"]
    selectors = [r["selector"] for r in planned["records"]["example.test"]]
    assert selectors == ["r-new", "e-new"]  # the dns role still lists the records
    result, raw = run_module("roost_accounts", {**missing, "users": []})
    assert result["failed"] is True, raw
    assert (
        result["msg"]
        == f"{tmp_path / 'roost'} not found: run the roost role first (it installs Roost)"
    )


def test_dkim_keys_are_made_once_activated_once_and_only_public_halves_come_back(
    server: RoostProcess,
) -> None:
    args = {"config": str(server.config), "roost": ROOST, "domains": ["second.test"]}
    run_module("roost_accounts", accounts(server, domains=["second.test"], users=[]))
    planned, raw = run_module("roost_dkim", args, check=True)
    assert planned["changed"] is True and planned["pending"] is True, raw
    assert "second.test" not in server.cli("dkim", "status").stdout
    made, raw = run_module("roost_dkim", args)
    assert made["changed"] is True, raw
    values = sorted(r["value"].split(";")[1].strip() for r in made["records"]["second.test"])
    assert values == ["k=ed25519", "k=rsa"]
    assert "PRIVATE KEY" not in raw
    assert made["diff"]["after"].count("second.test") == 2
    again, raw = run_module("roost_dkim", args)
    assert again["changed"] is False and again["pending"] is True, raw

    activated, raw = run_module("roost_dkim", {**args, "phase": "activate"})
    assert activated["changed"] is True, raw
    assert sorted(activated["activated"]["second.test"]) == sorted(made["created"]["second.test"])
    assert " active\n" in activated["diff"]["after"] and " pending\n" in activated["diff"]["before"]
    done, raw = run_module("roost_dkim", {**args, "phase": "activate"})
    assert (done["changed"], done["activated"]) == (False, {}), raw
    settled, raw = run_module("roost_dkim", args)
    assert (settled["changed"], settled["pending"]) == (False, False), raw


def test_dkim_rotation_due_by_date_makes_successors(server: RoostProcess) -> None:
    args = {"config": str(server.config), "roost": ROOST, "domains": ["example.test"]}
    now, raw = run_module("roost_dkim", args)
    assert now["changed"] is False, raw  # roost init made the keys today
    later, raw = run_module("roost_dkim", {**args, "now": "2027-12-01T00:00:00+00:00"})
    assert later["changed"] is True, raw
    assert sorted(later["created"]["example.test"]) == ["e20271201", "r20271201"]
