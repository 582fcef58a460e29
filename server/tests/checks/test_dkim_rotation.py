"""DKIM rotation: phases, dates and what DNS must hold, with the clock moved by the test."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from roost.dkim import DKIMKeyStore
from roost.dkim.rotation import (
    PENDING_VALUE,
    Policy,
    activate,
    drop,
    ensure,
    status,
    status_table,
)
from roost.dkim.state import STATE_FILE, DKIMStateError

DOMAIN = "example.test"
T0 = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
POLICY = Policy(rotate_days=180, retire_days=7)


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def phases(store: DKIMKeyStore) -> dict[str, str]:
    return {s: e.phase for s, e in store.states(DOMAIN).items()}


def signing(store: DKIMKeyStore) -> list[str]:
    return [k.selector for k in store.current(DOMAIN)]


@pytest.fixture
def store(tmp_path: Path) -> DKIMKeyStore:
    return DKIMKeyStore(tmp_path / "dkim")


@pytest.fixture
def provisioned(store: DKIMKeyStore) -> DKIMKeyStore:
    """A domain whose first keys are made and active since T0."""
    ensure(store, DOMAIN, T0, POLICY)
    activate(store, DOMAIN, T0)
    return store


def test_first_keys_are_pending_until_activated(store: DKIMKeyStore) -> None:
    first = ensure(store, DOMAIN, T0, POLICY)
    assert first.created == ["r20261130", "e20261130"]
    assert first.changed
    assert phases(store) == {"r20261130": "pending", "e20261130": "pending"}
    assert signing(store) == []  # not published yet: nothing may sign with them
    assert [(r["selector"], r["phase"]) for r in first.records] == [
        ("e20261130", "pending"),
        ("r20261130", "pending"),
    ]
    values = {r["selector"]: r["value"] for r in first.records}
    assert values["r20261130"].startswith("v=DKIM1; k=rsa; p=")
    assert values["e20261130"].startswith("v=DKIM1; k=ed25519; p=")
    again = ensure(store, DOMAIN, day(1), POLICY)
    assert not again.changed and again.records == first.records
    assert activate(store, DOMAIN, day(1)) == ["e20261130", "r20261130"]
    assert signing(store) == ["r20261130", "e20261130"]
    assert activate(store, DOMAIN, day(1)) == []


def test_check_mode_names_the_keys_and_writes_nothing(store: DKIMKeyStore) -> None:
    planned = ensure(store, DOMAIN, T0, POLICY, check=True)
    assert planned.created == ["r20261130", "e20261130"]
    assert {r["value"] for r in planned.records} == {PENDING_VALUE}
    assert store.keys(DOMAIN) == [] and not (store.key_dir / DOMAIN / STATE_FILE).exists()


def test_nothing_due_changes_nothing(provisioned: DKIMKeyStore) -> None:
    state_file = provisioned.key_dir / DOMAIN / STATE_FILE
    before = state_file.read_bytes()
    result = ensure(provisioned, DOMAIN, day(179.9), POLICY)
    assert not result.changed and result.created == [] and result.retired == []
    assert state_file.read_bytes() == before


def test_rotation_when_due_then_retirement_after_the_grace_period(
    provisioned: DKIMKeyStore,
) -> None:
    rotated = ensure(provisioned, DOMAIN, day(180), POLICY)
    assert rotated.created == ["r20270529", "e20270529"]
    # The old keys keep signing until the new records are served everywhere.
    assert signing(provisioned) == ["r20261130", "e20261130"]
    assert {r["selector"]: r["phase"] for r in rotated.records} == {
        "r20261130": "active", "e20261130": "active",
        "r20270529": "pending", "e20270529": "pending",
    }  # fmt: skip
    assert activate(provisioned, DOMAIN, day(181)) == ["e20270529", "r20270529"]
    assert signing(provisioned) == ["r20270529", "e20270529"]
    assert phases(provisioned)["r20261130"] == "retiring"
    assert provisioned.states(DOMAIN)["r20261130"].retiring == day(181)

    # Within the grace period the old records stay published.
    held = ensure(provisioned, DOMAIN, day(181 + 6.9), POLICY)
    assert not held.changed
    assert {"r20261130", "e20261130"} <= {r["selector"] for r in held.records}

    removed = ensure(provisioned, DOMAIN, day(188), POLICY)
    assert removed.removed == ["e20261130", "r20261130"] and removed.changed
    assert removed.retired == ["e20261130", "r20261130"]
    assert {r["selector"] for r in removed.records} == {"r20270529", "e20270529"}
    assert {k.selector for k in provisioned.keys(DOMAIN)} == {"r20270529", "e20270529"}
    assert not (provisioned.key_dir / DOMAIN / "r20261130.pem").exists()

    later = ensure(provisioned, DOMAIN, day(189), POLICY)
    assert not later.changed
    assert later.retired == ["e20261130", "r20261130"]  # DNS keeps deleting them: idempotent


def test_forced_rotation_and_same_day_selectors(provisioned: DKIMKeyStore) -> None:
    forced = ensure(provisioned, DOMAIN, T0, Policy(force=True))
    assert forced.created == ["r20261130b", "e20261130b"]
    # A second forced run before activation makes nothing more: the pending keys are waiting.
    assert ensure(provisioned, DOMAIN, T0, Policy(force=True)).created == []


def test_signer_sees_the_switch_without_restart(provisioned: DKIMKeyStore) -> None:
    signer = DKIMKeyStore(provisioned.key_dir)  # the running server's own store
    assert [k.selector for k in signer.current(DOMAIN)] == ["r20261130", "e20261130"]
    ensure(provisioned, DOMAIN, day(200), POLICY)
    assert [k.selector for k in signer.current(DOMAIN)] == ["r20261130", "e20261130"]
    activate(provisioned, DOMAIN, day(200))
    assert [k.selector for k in signer.current(DOMAIN)] == ["r20270618", "e20270618"]


def test_keys_from_before_rotation_keep_signing(store: DKIMKeyStore) -> None:
    store.generate(DOMAIN, "rsa2048", "old", created=day(-30))
    store.generate(DOMAIN, "rsa2048", "r202611", created=day(-1))
    store.generate(DOMAIN, "ed25519", "e202611", created=day(-1))
    assert signing(store) == ["r202611", "e202611"]
    assert phases(store) == {"old": "retiring", "r202611": "active", "e202611": "active"}
    assert not ensure(store, DOMAIN, day(5), POLICY).changed
    assert not (store.key_dir / DOMAIN / STATE_FILE).exists()
    assert ensure(store, DOMAIN, day(6), POLICY).removed == ["old"]
    assert signing(store) == ["r202611", "e202611"]


def test_a_key_made_by_hand_after_rotation_waits_as_pending(provisioned: DKIMKeyStore) -> None:
    provisioned.generate(DOMAIN, "ed25519", "manual", created=day(1))
    assert phases(provisioned)["manual"] == "pending"
    assert signing(provisioned) == ["r20261130", "e20261130"]


def test_a_lost_private_key_is_reported_and_replaced(provisioned: DKIMKeyStore) -> None:
    (provisioned.key_dir / DOMAIN / "e20261130.pem").unlink()
    (provisioned.key_dir / DOMAIN / "e20261130.json").unlink()
    assert signing(provisioned) == ["r20261130"]
    result = ensure(provisioned, DOMAIN, day(3), POLICY)
    assert result.problems and "e20261130" in result.problems[0] and "missing" in result.problems[0]
    assert result.created == ["e20261203"] and result.retired == ["e20261130"]
    assert not ensure(provisioned, DOMAIN, day(3), POLICY).changed


def test_status_lists_every_selector_with_its_dates(provisioned: DKIMKeyStore) -> None:
    ensure(provisioned, DOMAIN, day(180), POLICY)
    activate(provisioned, DOMAIN, day(181))
    ensure(provisioned, DOMAIN, day(188), POLICY)
    ensure(provisioned, DOMAIN, day(400), Policy(rotate_days=180, retire_days=7))
    rows = {r.selector: r for r in status(provisioned, DOMAIN, POLICY)}
    assert {s: r.phase for s, r in rows.items()} == {
        "r20261130": "removed", "e20261130": "removed",
        "r20270529": "active", "e20270529": "active",
        "r20280104": "pending", "e20280104": "pending",
    }  # fmt: skip
    assert rows["r20261130"].removed == day(188) and rows["r20261130"].retiring == day(181)
    assert rows["r20270529"].due == day(360)
    table = status_table(rows.values(), day(400))
    line = next(x for x in table.splitlines() if "r20270529" in x)
    assert line.split() == [
        DOMAIN, "r20270529", "rsa2048", "active", "2027-05-29", "2027-05-30", "-", "-",
        "rotate", "2027-11-25", "(due)",
    ]  # fmt: skip
    assert json.dumps([r.as_json() for r in rows.values()])


def test_unreadable_state_names_the_file_and_the_fix(provisioned: DKIMKeyStore) -> None:
    (provisioned.key_dir / DOMAIN / STATE_FILE).write_text("{not json")
    with pytest.raises(DKIMStateError, match=r"rotation.state.*delete it"):
        provisioned.current(DOMAIN)


def test_policy_rejects_a_zero_rotation_period() -> None:
    with pytest.raises(ValueError, match="roost_dkim_rotate_days"):
        Policy(rotate_days=0)


def test_a_legacy_domain_records_its_phases_before_a_new_key_exists(
    store: DKIMKeyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash right after the new key is written must not let it sign unpublished."""
    store.generate(DOMAIN, "rsa2048", "r202611", created=day(-200))
    store.generate(DOMAIN, "ed25519", "e202611", created=day(-1))
    real_generate = store.generate

    def generate_then_crash(*args: object, **kwargs: object) -> None:
        real_generate(*args, **kwargs)  # type: ignore[arg-type]
        raise KeyboardInterrupt

    monkeypatch.setattr(store, "generate", generate_then_crash)
    with pytest.raises(KeyboardInterrupt):
        ensure(store, DOMAIN, T0, POLICY)
    signer = DKIMKeyStore(store.key_dir)
    assert phases(signer) == {"r202611": "active", "e202611": "active", "r20261130": "pending"}
    assert [k.selector for k in signer.current(DOMAIN)] == ["r202611", "e202611"]


def test_of_two_pending_keys_the_newest_signs(provisioned: DKIMKeyStore) -> None:
    provisioned.generate(DOMAIN, "ed25519", "m2", created=day(2))
    provisioned.generate(DOMAIN, "ed25519", "m1", created=day(1))
    assert activate(provisioned, DOMAIN, day(3)) == ["m1", "m2"]
    assert phases(provisioned) == {
        "r20261130": "active", "e20261130": "retiring", "m1": "retiring", "m2": "active",
    }  # fmt: skip
    assert signing(provisioned) == ["r20261130", "m2"]


def test_a_dropped_domain_loses_every_key_and_dns_keeps_deleting_its_records(
    provisioned: DKIMKeyStore,
) -> None:
    other = "second.test"
    ensure(provisioned, other, T0, POLICY)
    planned = drop(provisioned, DOMAIN, day(1), check=True)
    assert sorted(planned.removed) == ["e20261130", "r20261130"]
    assert signing(provisioned) == ["r20261130", "e20261130"]  # check mode removed nothing
    dropped = drop(provisioned, DOMAIN, day(1))
    assert dropped.changed and dropped.records == []
    assert dropped.retired == ["e20261130", "r20261130"]
    assert provisioned.keys(DOMAIN) == [] and signing(provisioned) == []
    again = drop(provisioned, DOMAIN, day(2))
    assert not again.changed and again.retired == ["e20261130", "r20261130"]
    assert len(provisioned.keys(other)) == 2  # the other domain's keys are untouched
