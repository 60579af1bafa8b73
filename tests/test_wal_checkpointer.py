"""The server's SQLite write-ahead log is copied into the database file by a thread of its own
(shop.adapters.db.WalCheckpointer), not by the event loop's commits."""

from __future__ import annotations

import shutil
import sqlite3
import time
from pathlib import Path

from sqlalchemy import text

from shop.adapters.database import Database
from shop.adapters.db import WAL_AUTOCHECKPOINT_PAGES, WalCheckpointer


def wait_for(condition, seconds: float = 10.0) -> bool:
    """A thread's work has no clock to move: poll for it, briefly."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


async def test_committed_rows_reach_the_database_file_without_the_committing_connection(tmp_path: Path):
    path = tmp_path / "shop.db"
    database = Database(f"sqlite:///{path}")
    checkpointer = WalCheckpointer.for_database(database)
    assert checkpointer is not None
    try:
        def create(uow):
            assert uow.connection.execute(text("PRAGMA wal_autocheckpoint")).scalar() == WAL_AUTOCHECKPOINT_PAGES
            uow.connection.execute(text("CREATE TABLE facts (id INTEGER PRIMARY KEY, body TEXT)"))
        await database.transaction(create)
        checkpointer.start()
        for n in range(20):  # far fewer pages than the connection's own threshold
            await database.transaction(lambda uow: uow.connection.execute(
                text("INSERT INTO facts (body) VALUES (:body)"), {"body": f"fact {n}" * 50}))
        before = checkpointer.checkpoints
        assert wait_for(lambda: checkpointer.checkpoints > before + 1)  # one that began after the last commit

        copy = tmp_path / "file-only.db"  # the database file alone, as if the log were lost
        shutil.copy(path, copy)
        with sqlite3.connect(copy) as alone:
            assert alone.execute("SELECT count(*) FROM facts").fetchone() == (20,)
    finally:
        checkpointer.stop()
        await database.dispose()
    assert not checkpointer._thread.is_alive()


def test_postgresql_has_no_checkpointer(postgres):
    assert WalCheckpointer.for_database(Database(postgres.url)) is None


def test_a_missing_database_file_is_reported_not_created(tmp_path: Path, caplog):
    path = tmp_path / "not-migrated-yet.db"
    checkpointer = WalCheckpointer(str(path), interval_s=0.01)
    checkpointer.start()
    try:
        assert wait_for(lambda: "WAL checkpoint" in caplog.text)
    finally:
        checkpointer.stop()
    assert not path.exists()
    assert caplog.text.count("WAL checkpoint") == 1  # said once, not on every attempt
