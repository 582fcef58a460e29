"""roost.webroot: the plan names exactly what differs, applying it leaves nothing to do, and a
path in the way or a name that is no domain stops it before anything is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from roost.webroot import WebRootError, apply, plan, site_files


def files(root: Path) -> dict[Path, str]:
    return site_files(root, "example.test", "version: STSv1\r\nmode: testing\r\n", "<xml/>\n")


def test_apply_then_nothing_left_to_do(tmp_path: Path) -> None:
    root = tmp_path / "www"
    changes = plan(root, files(root), [])
    assert [c.action for c in changes] == ["mkdir"] * 4 + ["write"] * 2
    apply(changes)
    assert plan(root, files(root), []) == []
    policy = root / "example.test" / ".well-known" / "mta-sts.txt"
    assert policy.read_bytes() == b"version: STSv1\r\nmode: testing\r\n"  # CRLF kept


def test_only_the_drifted_file_is_planned(tmp_path: Path) -> None:
    root = tmp_path / "www"
    apply(plan(root, files(root), []))
    autoconfig = root / "example.test" / "mail" / "config-v1.1.xml"
    autoconfig.write_text("<old/>\n")
    (change,) = plan(root, files(root), [])
    assert (change.action, change.path, change.before) == ("write", autoconfig, "<old/>\n")


def test_a_file_where_a_directory_belongs_stops_the_plan(tmp_path: Path) -> None:
    root = tmp_path / "www"
    root.mkdir()
    (root / "example.test").write_text("in the way\n")
    with pytest.raises(WebRootError, match=r"example\.test is in the way"):
        plan(root, files(root), [])


def test_an_absent_domain_directory_is_removed_with_its_files(tmp_path: Path) -> None:
    root = tmp_path / "www"
    apply(plan(root, files(root), []))
    (change,) = plan(root, {}, ["example.test"])
    assert change.action == "remove"
    apply([change])
    assert list(root.iterdir()) == []
