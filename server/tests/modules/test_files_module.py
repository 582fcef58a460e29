"""library/roost_files: a few files and directories converged in one module run; a second
run changes nothing, drift (content, mode) is repaired and shown, check mode only reports."""

from __future__ import annotations

import grp
import os
import pwd
from pathlib import Path
from typing import Any

from tests.modules.harness import run_module

MODULE = "roost_files"
OWNER = pwd.getpwuid(os.getuid()).pw_name
GROUP = grp.getgrgid(os.getgid()).gr_name


def entries(tmp: Path) -> list[dict[str, Any]]:
    attributes = {"owner": OWNER, "group": GROUP}
    return [
        {"path": str(tmp / "conf"), "state": "directory", "mode": "0750", **attributes},
        {"path": str(tmp / "conf" / "a.conf"), "content": "a = 1\n", "mode": "0640", **attributes},
        {"path": str(tmp / "b.conf"), "content": "b = 2\n", "mode": "0644", **attributes},
        {"path": str(tmp / "old.conf"), "state": "absent"},
    ]


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_converges_then_changes_nothing(tmp_path: Path) -> None:
    (tmp_path / "old.conf").write_text("left over\n")
    first, raw = run_module(MODULE, {"files": entries(tmp_path)})
    assert first["changed"] is True, raw
    assert [f["changed"] for f in first["files"]] == [True, True, True, True]
    assert (tmp_path / "conf" / "a.conf").read_text() == "a = 1\n"
    assert (mode(tmp_path / "conf"), mode(tmp_path / "conf" / "a.conf")) == (0o750, 0o640)
    assert mode(tmp_path / "b.conf") == 0o644
    assert not (tmp_path / "old.conf").exists()
    again, raw = run_module(MODULE, {"files": entries(tmp_path)})
    assert again["changed"] is False, raw
    assert again["diff"] == []


def test_check_mode_reports_and_changes_nothing(tmp_path: Path) -> None:
    (tmp_path / "old.conf").write_text("left over\n")
    result, raw = run_module(MODULE, {"files": entries(tmp_path)}, check=True)
    assert result["changed"] is True, raw
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.conf"]
    written = [d for d in result["diff"] if "after_header" in d]
    assert [d["after"] for d in written] == ["a = 1\n", "b = 2\n"]


def test_drift_in_content_and_mode_is_repaired_and_shown(tmp_path: Path) -> None:
    run_module(MODULE, {"files": entries(tmp_path)})
    (tmp_path / "b.conf").write_text("b = 3\n")
    (tmp_path / "conf" / "a.conf").chmod(0o666)
    result, raw = run_module(MODULE, {"files": entries(tmp_path)})
    assert [f["changed"] for f in result["files"]] == [False, True, True, False], raw
    assert (tmp_path / "b.conf").read_text() == "b = 2\n"
    assert mode(tmp_path / "conf" / "a.conf") == 0o640
    content_diff = next(d for d in result["diff"] if d.get("after_header", "").endswith("b.conf"))
    assert (content_diff["before"], content_diff["after"]) == ("b = 3\n", "b = 2\n")
    mode_diff = next(d for d in result["diff"] if "mode" in d["before"])
    assert (mode_diff["before"]["mode"], mode_diff["after"]["mode"]) == ("0666", "0640")


def test_attributes_alone_leave_the_content(tmp_path: Path) -> None:
    key = tmp_path / "key.pem"
    key.write_text("secret\n")
    key.chmod(0o600)
    result, raw = run_module(MODULE, {"files": [{"path": str(key), "mode": "0640"}]})
    assert result["changed"] is True, raw
    assert (key.read_text(), mode(key)) == ("secret\n", 0o640)


def test_what_cannot_be_converged_fails_naming_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "x.conf"
    result, raw = run_module(MODULE, {"files": [{"path": str(missing), "content": "x\n"}]})
    assert result["failed"] is True, raw
    assert str(missing.parent) in result["msg"] and "does not exist" in result["msg"]
    (tmp_path / "plain").write_text("not a directory\n")
    result, raw = run_module(
        MODULE, {"files": [{"path": str(tmp_path / "plain"), "state": "directory"}]}
    )
    assert result["failed"] is True, raw
    assert "plain is not a directory" in result["msg"]
    result, raw = run_module(
        MODULE, {"files": [{"path": str(tmp_path / "absent.pem"), "mode": "0640"}]}
    )
    assert result["failed"] is True, raw
    assert "absent.pem does not exist" in result["msg"]


def test_a_rewrite_without_mode_keeps_the_old_one_and_a_new_file_is_private(
    tmp_path: Path,
) -> None:
    kept = tmp_path / "kept.conf"
    kept.write_text("old\n")
    kept.chmod(0o640)
    new = tmp_path / "new.json"
    files = [{"path": str(kept), "content": "new\n"}, {"path": str(new), "content": "{}\n"}]
    result, raw = run_module(MODULE, {"files": files})
    assert result["changed"] is True, raw
    assert (kept.read_text(), mode(kept)) == ("new\n", 0o640)
    assert mode(new) == 0o600
