"""What survives a restart, another process, a crash mid-delivery, and concurrent writers."""

from __future__ import annotations

import sqlite3
import stat
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from store_fixtures import ALICE, BOB

from roost.store import INBOX, SchemaTooNew, SQLiteStore, StoreClosed, schema, sqlite_messages

MESSAGE = b"Subject: durable\r\n\r\nstill here\r\n"


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def message_files(store: SQLiteStore) -> list[Path]:
    return [p for p in store.messages_dir.rglob("*") if p.is_file()]


def indexed_paths(state: Path) -> list[str]:
    with sqlite3.connect(state / "roost.db") as conn:
        return [row[0] for row in conn.execute("SELECT path FROM blobs")]


def test_a_fresh_store_and_another_process_see_a_delivery(store: SQLiteStore) -> None:
    store.deliver([ALICE], MESSAGE)
    reopened = SQLiteStore(store.state_dir)
    assert reopened.fetch(ALICE, "INBOX", 1) == MESSAGE
    reopened.close()
    result = run_python(
        f"""
        from pathlib import Path
        from roost.store import SchemaTooNew, SQLiteStore, StoreClosed, sqlite_messages
        store = SQLiteStore(Path({str(store.state_dir)!r}))
        print(repr(store.fetch({ALICE!r}, "INBOX", 1)))
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == repr(MESSAGE)


def test_crash_between_file_and_index_leaves_no_dangling_row(store: SQLiteStore) -> None:
    """Kill the process right after the fsynced file, before the commit: nothing is indexed,
    the next start sweeps the orphan once it is old enough, and INBOX is intact."""
    store.deliver([ALICE], MESSAGE)
    result = run_python(
        f"""
        import os
        from pathlib import Path
        from roost.store import SQLiteStore, sqlite_messages
        real = sqlite_messages.write_durably
        def write_then_die(path, data):
            real(path, data)
            os._exit(17)
        sqlite_messages.write_durably = write_then_die
        SQLiteStore(Path({str(store.state_dir)!r})).deliver([{ALICE!r}], b"lost")
        """
    )
    assert result.returncode == 17, result.stderr
    assert len(message_files(store)) == 2
    young = SQLiteStore(store.state_dir)  # default grace: a young orphan may be in flight
    assert len(message_files(store)) == 2
    assert young.mailbox_info(ALICE, "INBOX").messages == 1
    young.close()
    swept = SQLiteStore(store.state_dir, orphan_grace=0)
    assert [p.relative_to(store.messages_dir).as_posix() for p in message_files(store)] == (
        indexed_paths(store.state_dir)
    )
    assert swept.mailbox_info(ALICE, "INBOX").messages == 1
    assert swept.fetch(ALICE, "INBOX", 1) == MESSAGE
    swept.close()


def test_crash_after_expunge_commit_leaves_only_a_sweepable_orphan(store: SQLiteStore) -> None:
    store.deliver([ALICE], MESSAGE)
    store.store_flags(ALICE, "INBOX", [1], ["\\Deleted"])
    result = run_python(
        f"""
        import os
        from pathlib import Path
        from roost.store import SQLiteStore, sqlite_messages
        sqlite_messages.remove_files = lambda root, paths: os._exit(17)
        SQLiteStore(Path({str(store.state_dir)!r})).expunge({ALICE!r}, "INBOX")
        """
    )
    assert result.returncode == 17, result.stderr
    assert store.messages(ALICE, "INBOX") == []
    assert len(message_files(store)) == 1
    assert store.sweep_orphans(older_than=0) and message_files(store) == []


def test_failed_commit_removes_the_written_file(
    store: SQLiteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object) -> int:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(sqlite_messages, "_insert", refuse)
    with pytest.raises(sqlite3.OperationalError):
        store.deliver([ALICE], MESSAGE)
    assert message_files(store) == []
    assert indexed_paths(store.state_dir) == []


def test_state_is_private_and_database_durable(tmp_path: Path) -> None:
    opened = SQLiteStore(tmp_path / "state")
    opened.add_domain("example.test")
    opened.add_user(ALICE, "h")
    opened.deliver([ALICE], MESSAGE)
    (path,) = message_files(opened)
    for private in (opened.state_dir, opened.messages_dir, path.parent):
        assert stat.S_IMODE(private.stat().st_mode) == 0o700
    for private in (opened.state_dir / "roost.db", path):
        assert stat.S_IMODE(private.stat().st_mode) == 0o600
    conn = opened._conn()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert conn.execute("PRAGMA user_version").fetchone()[0] >= 1
    assert len(path.parent.name) == 2 and path.name.startswith(path.parent.name)
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".tmp-")]
    opened.close()


def test_concurrent_deliveries_from_threads_and_processes(store: SQLiteStore) -> None:
    """SMTP workers deliver from threads (asyncio.to_thread) while the CLI may write too."""
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(10):
                store.deliver([ALICE, BOB], MESSAGE)
        except BaseException as exc:  # surfaced below, with the thread's traceback lost
            errors.append(exc)

    other = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from pathlib import Path; from roost.store import SQLiteStore; "
            f"s = SQLiteStore(Path({str(store.state_dir)!r})); "
            f"[s.deliver([{ALICE!r}], b'x') for _ in range(20)]",
        ]
    )
    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert other.wait(timeout=60) == 0
    assert errors == []
    uids = [m.uid for m in store.messages(ALICE, "INBOX")]
    assert uids == list(range(1, 101))
    assert store.mailbox_info(ALICE, "INBOX").uidnext == 101
    assert store.mailbox_info(BOB, "INBOX").messages == 80
    assert len(message_files(store)) == 100


def test_close_stops_further_use(tmp_path: Path) -> None:
    opened = SQLiteStore(tmp_path)
    opened.close()
    with pytest.raises(StoreClosed, match="is closed"):
        opened.list_domains()
    assert (tmp_path / "roost.db").exists()


def test_a_database_from_a_newer_roost_is_refused(tmp_path: Path) -> None:
    SQLiteStore(tmp_path).close()
    with sqlite3.connect(tmp_path / "roost.db") as conn:
        conn.execute("PRAGMA user_version = 999")
    with pytest.raises(SchemaTooNew, match="upgrade Roost"):
        SQLiteStore(tmp_path)


def test_a_database_of_an_earlier_version_is_migrated_with_its_mail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An upgrade finds the last release's database: the new migrations run once, what was
    stored (messages, kept structures) is still there, and the new tables work."""
    earlier = schema.MIGRATIONS[:-1]
    monkeypatch.setattr(schema, "MIGRATIONS", earlier)
    old = SQLiteStore(tmp_path)
    old.add_domain("example.test")
    old.add_user(ALICE, "h")
    old.deliver([ALICE], MESSAGE)
    [uid] = [info.uid for info in old.messages(ALICE, INBOX)]
    old.save_structures(ALICE, INBOX, {uid: b"kept"})
    old.close()
    monkeypatch.undo()
    upgraded = SQLiteStore(tmp_path)
    conn = upgraded._conn()
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(schema.MIGRATIONS)
    assert upgraded.fetch(ALICE, INBOX, uid) == MESSAGE
    set_id = upgraded.header_field_set("subject", "1")
    assert set_id is not None
    upgraded.save_header_fields(ALICE, INBOX, set_id, {uid: b"Subject: s\r\n\r\n"})
    [row] = upgraded.kept_rows(ALICE, INBOX, [uid], set_id)
    assert row[6:] == (b"kept", b"Subject: s\r\n\r\n")
    upgraded.save_structures(ALICE, INBOX, {}, {uid: b"values"})
    assert upgraded.search_rows(ALICE, INBOX, [uid])[1:] == ({uid: b"kept"}, {uid: b"values"})
    upgraded.close()
