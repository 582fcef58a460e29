"""The installed pair (read back, replaced atomically with its mode and group) and the state."""

from __future__ import annotations

import datetime as dt
import os
import stat
from pathlib import Path

from roost.acme import certfiles, state
from roost.acme.state import Failure, RenewalInfo, State
from tests.acme.certs import install_pair, make_pair

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
NAMES = ["mail.example.test", "mta-sts.example.test"]


def test_read_current_gives_names_and_validity(tmp_path: Path) -> None:
    chain, key = make_pair(NAMES, NOW, NOW + dt.timedelta(days=90))
    current = certfiles.read_current(*install_pair(tmp_path, chain, key))
    assert current.usable
    assert current.names == set(NAMES)
    assert current.not_after == NOW + dt.timedelta(days=90)


def test_read_current_reports_what_is_wrong(tmp_path: Path) -> None:
    chain, key = make_pair(NAMES, NOW, NOW + dt.timedelta(days=90))
    _, other_key = make_pair(NAMES, NOW, NOW + dt.timedelta(days=90))
    fullchain, privkey = install_pair(tmp_path, chain, other_key)
    assert "does not match" in (certfiles.read_current(fullchain, privkey).problem or "")
    privkey.unlink()
    assert "does not exist" in (certfiles.read_current(fullchain, privkey).problem or "")
    privkey.write_bytes(key)
    fullchain.write_bytes(b"garbage")
    assert "no readable PEM certificate" in (
        certfiles.read_current(fullchain, privkey).problem or ""
    )
    fullchain.write_bytes(chain)
    privkey.write_bytes(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    assert "no readable" in (certfiles.read_current(fullchain, privkey).problem or "")


def test_install_replaces_both_files_with_mode_and_group(tmp_path: Path) -> None:
    tls = tmp_path / "tls"
    old_chain, old_key = make_pair(NAMES, NOW, NOW + dt.timedelta(days=90))
    install_pair(tls, old_chain, old_key)
    (tls / ".tmp-privkey.pem").write_bytes(b"left by a crash")
    chain, key = make_pair([*NAMES, "autoconfig.example.test"], NOW, NOW + dt.timedelta(days=90))
    gid = os.getgid()
    certfiles.install(tls / "fullchain.pem", tls / "privkey.pem", chain, key, gid)
    for name, data in (("fullchain.pem", chain), ("privkey.pem", key)):
        info = (tls / name).stat()
        assert stat.S_IMODE(info.st_mode) == 0o640
        assert info.st_gid == gid
        assert (tls / name).read_bytes() == data
    assert sorted(p.name for p in tls.iterdir()) == ["fullchain.pem", "privkey.pem"]
    current = certfiles.read_current(tls / "fullchain.pem", tls / "privkey.pem")
    assert "autoconfig.example.test" in current.names


def test_state_round_trips_and_a_damaged_file_is_a_fresh_start(tmp_path: Path) -> None:
    path = tmp_path / "acme" / "state.json"
    saved = State(
        failure=Failure("digest", 2, NOW, "the CA said no"),
        ari=RenewalInfo("cert", True, NOW + dt.timedelta(days=60), NOW + dt.timedelta(hours=6)),
    )
    state.save(path, saved)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert state.load(path) == saved
    path.write_text('{"failure": {"count": "x"}}')
    assert state.load(path) == State()
    path.write_text("][")
    assert state.load(path) == State()


def test_a_new_failure_counts_on_only_for_the_same_settings() -> None:
    first = state.record_failure(State(), "a", "no", NOW)
    second = state.record_failure(first, "a", "no again", NOW)
    assert second.failure is not None and second.failure.count == 2
    other = state.record_failure(second, "b", "no", NOW)
    assert other.failure is not None and other.failure.count == 1
