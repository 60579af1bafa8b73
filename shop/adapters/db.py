"""What the database adapters share: the observers of statements, JSON columns written by msgspec,
SQLite's settings, and the thread that copies SQLite's write-ahead log into the database file."""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

if TYPE_CHECKING:
    from shop.adapters.database import Database

log = logging.getLogger(__name__)


statement_observers: list[Callable[[str], None]] = []
"""Called with each statement's SQL before it runs, and with BEGIN / COMMIT / ROLLBACK (the
statement-budget tests and `tests.bench.capture` count them)."""


class WriteInReads(RuntimeError):
    """A statement that writes, sent by work given to `Database.read`: a bug, refused before it runs."""


def json_text(value: Any) -> str:
    """JSON columns written by msgspec: an order's answer kept for its Idempotency-Key (about 2 KB)
    took 19.5 µs with the json module, 3.0 µs so (measured)."""
    return msgspec.json.encode(value).decode()


def json_value(text: str | bytes) -> Any:
    """JSON columns read by msgspec: a product's delivery methods took 1.0 µs with the json module,
    0.1 µs so (measured); an order reads several such columns."""
    return msgspec.json.decode(text)


SQLITE_BUSY_TIMEOUT_S = 30
WAL_AUTOCHECKPOINT_PAGES = 8000
"""A connection copies the write-ahead log into the database itself once the log holds this many
pages (SQLite's default: 1,000). The server's WalCheckpointer does that copying long before; this
bounds the log when the checkpointer falls behind or does not run (the make tasks)."""


class WalCheckpointer:
    """Copies SQLite's write-ahead log into the database file from a thread of its own, so that the
    event loop's commits only append to the log. Left to the committing connection, every 1,000th
    page written made one commit copy them all and wait for two fsyncs: measured, one order-sized
    commit in 50 took 5.5-6.9 ms (all requests wait for it), and a commit took 201-223 µs on
    average; with this thread, 109-137 µs and p99 0.3 ms. A PASSIVE checkpoint never blocks a
    reader or a writer, and sqlite3 lets go of the GIL while it runs (sqlite.org/wal.html,
    "Checkpointing"; sqlite.org/c3ref/wal_checkpoint_v2.html)."""

    def __init__(self, path: str, *, interval_s: float = 0.05) -> None:
        self.path = path
        self.interval_s = interval_s
        self.checkpoints = 0
        """Checkpoints that copied the whole log as it stood when they began."""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-wal-checkpointer", daemon=True)

    @classmethod
    def for_database(cls, database: Database) -> WalCheckpointer | None:
        """A checkpointer for a SQLite file; None for PostgreSQL."""
        return None if database.sqlite_file is None else cls(str(database.sqlite_file))

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        connection: sqlite3.Connection | None = None
        reported = ""
        while not self._stop.wait(self.interval_s):
            try:
                if connection is None:  # never creates the file: the migrations do
                    uri = f"{Path(self.path).resolve().as_uri()}?mode=rw"
                    connection = sqlite3.connect(uri, uri=True, timeout=SQLITE_BUSY_TIMEOUT_S)
                (busy, logged, copied), = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            except sqlite3.Error as error:  # a disk error, say: the committing connection takes over
                if str(error) != reported:  # once, not 20 times a second
                    log.warning("WAL checkpoint of %s failed: %s", self.path, error)
                    reported = str(error)
                continue
            if not busy and 0 <= logged == copied:
                self.checkpoints += 1
        if connection is not None:
            connection.close()
