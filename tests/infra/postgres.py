"""A private, throw-away PostgreSQL server on 127.0.0.1 for tests.

Usage::

    with PostgresServer() as pg:
        pg.url                          # postgresql://shop@127.0.0.1:PORT/shop
        pg.create_database("other")     # -> postgresql://shop@127.0.0.1:PORT/other
        pg.create_database("t1", template="shop")   # fast clone of a migrated db

or ``pg = PostgresServer().start()`` ... ``pg.stop()`` (e.g. in a session-scoped
pytest fixture or a benchmark script).  SQLAlchemy's async engine wants
``pg.url.replace("postgresql://", "postgresql+asyncpg://", 1)``.

Why it is built this way:

* A fresh cluster (``initdb``) in a temp dir on a free port, so nothing depends
  on a system cluster, a fixed port or data left by an earlier run; ``stop()``
  shuts the server down and deletes the directory.  An ``atexit`` hook does the
  same if the caller forgets, and a tiny watchdog process does it if our
  process is killed outright (the postmaster is a daemon that would otherwise
  outlive us).
* PostgreSQL refuses to run as root.  Our machines run as root, so the data
  dir is chowned to the ``postgres`` system user and ``initdb``/``pg_ctl`` are run
  through ``runuser -u postgres --``.  As a normal user they are run directly.
* ``-A trust -U shop``: superuser ``shop`` with no password, reachable only via
  loopback TCP and a socket inside the private dir.
* ``fsync``/``synchronous_commit``/``full_page_writes`` off and ``--no-sync``:
  durability is worthless for a throw-away cluster and costs a lot of time.
* ``--locale=C.UTF-8 -E UTF8``: the same collation/ctype on every machine.
* ``pg_ctl -l LOGFILE``: the postmaster must not inherit our pipes (otherwise
  capturing pg_ctl's output would wait for the server to exit); the log is
  quoted in the error if start-up fails.
"""

from __future__ import annotations

import atexit
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from .ports import LOOPBACK, free_port

# Runs in its own process: waits for the process that started the server to
# go away without calling stop(), then stops the server and deletes its dir.
_WATCHDOG = """
import os, shutil, subprocess, sys, time
parent, base_dir, *stop_cmd = sys.argv[1:]
while os.getppid() == int(parent):
    time.sleep(1)
subprocess.run(stop_cmd, stdin=subprocess.DEVNULL, capture_output=True)
shutil.rmtree(base_dir, ignore_errors=True)
"""

_install_lock = threading.Lock()
_install_tried = False


def _runuser() -> str:
    """runuser lives in sbin, which a CI job's PATH may leave out."""
    for candidate in (shutil.which("runuser"), "/usr/sbin/runuser", "/sbin/runuser"):
        if candidate and Path(candidate).exists():
            return candidate
    raise RuntimeError("runuser (util-linux) is needed to start PostgreSQL as root")


def _version_key(bin_dir: str) -> tuple[int, ...]:
    version = Path(bin_dir).parent.name
    return tuple(int(part) for part in re.findall(r"\d+", version)) or (0,)


def _find_bin_dir() -> Path | None:
    candidates = [
        d
        for d in glob.glob("/usr/lib/postgresql/*/bin")
        if os.access(os.path.join(d, "initdb"), os.X_OK)
        and os.access(os.path.join(d, "pg_ctl"), os.X_OK)
    ]
    return Path(max(candidates, key=_version_key)) if candidates else None


def find_postgres_bin_dir() -> Path:
    """The ``bin`` dir of the newest installed PostgreSQL server.

    Installs Debian's ``postgresql`` package (once per process) if no server
    is installed, because the project's machines may be fresh.
    """
    global _install_tried
    bin_dir = _find_bin_dir()
    if bin_dir is not None:
        return bin_dir
    with _install_lock:
        if not _install_tried:
            _install_tried = True
            env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
            subprocess.run(
                "apt-get update && apt-get install -y postgresql",
                shell=True,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                check=False,
            )
    bin_dir = _find_bin_dir()
    if bin_dir is None:
        raise RuntimeError(
            "PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin "
            "(and `apt-get install -y postgresql` did not provide them)"
        )
    return bin_dir


class PostgresServer:
    """A PostgreSQL cluster in a temp dir, listening on 127.0.0.1:``port``."""

    def __init__(self, user: str = "shop", dbname: str = "shop") -> None:
        self.user = user
        self.dbname = dbname
        self.host = LOOPBACK
        self.port: int | None = None
        self.bin_dir: Path | None = None
        self.base_dir: Path | None = None
        self._started = False
        self._watchdog: subprocess.Popen[bytes] | None = None

    # -- paths and commands -------------------------------------------------

    @property
    def data_dir(self) -> Path:
        assert self.base_dir is not None, "server not started"
        return self.base_dir / "data"

    @property
    def log_file(self) -> Path:
        assert self.base_dir is not None, "server not started"
        return self.base_dir / "postgres.log"

    def _as_server_user(self, *argv: str) -> list[str]:
        """Server binaries refuse root: run them as ``postgres`` when root."""
        if os.geteuid() == 0:
            return [_runuser(), "-u", "postgres", "--", *argv]
        return list(argv)

    def _run(self, argv: list[str], what: str) -> None:
        proc = subprocess.run(
            argv, stdin=subprocess.DEVNULL, capture_output=True, text=True
        )
        if proc.returncode != 0:
            raise RuntimeError(
                f"{what} failed (exit {proc.returncode}): {' '.join(argv)}\n"
                f"{proc.stdout}{proc.stderr}{self._log_tail()}"
            )

    def _log_tail(self) -> str:
        try:
            lines = self.log_file.read_text(errors="replace").splitlines()
        except (OSError, AssertionError):
            return ""
        return "\n--- postgres.log (tail) ---\n" + "\n".join(lines[-30:])

    # -- lifecycle ------------------------------------------------------------

    def start(self) -> PostgresServer:
        if self._started:
            return self
        self.bin_dir = find_postgres_bin_dir()
        self.base_dir = Path(tempfile.mkdtemp(prefix="shop-pg-"))
        self._started = True
        atexit.register(self.stop)
        try:
            if os.geteuid() == 0:
                shutil.chown(self.base_dir, user="postgres", group="postgres")
            self._run(
                self._as_server_user(
                    str(self.bin_dir / "initdb"), "-D", str(self.data_dir),
                    "-A", "trust", "-U", self.user,
                    "-E", "UTF8", "--locale=C.UTF-8", "--no-sync",
                ),
                "initdb",
            )
            self._start_on_free_port()
            self._watchdog = subprocess.Popen(
                [sys.executable, "-c", _WATCHDOG, str(os.getpid()), str(self.base_dir),
                 *self._stop_command()],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            self._createdb(self.dbname)
        except BaseException:
            self.stop()
            raise
        return self

    def _start_on_free_port(self, attempts: int = 3) -> None:
        for attempt in range(attempts):
            self.port = free_port()
            options = (
                f"-h {self.host} -p {self.port} -k {self.base_dir} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            )
            argv = self._as_server_user(
                str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir),
                "-l", str(self.log_file), "-o", options, "-w", "-t", "60", "start",
            )
            try:
                self._run(argv, "pg_ctl start")
                return
            except RuntimeError as exc:
                # Someone took the port between free_port() and bind: retry.
                if "already in use" not in str(exc) or attempt == attempts - 1:
                    raise

    def _stop_command(self) -> list[str]:
        return self._as_server_user(
            str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir),
            "-m", "fast", "-w", "-t", "30", "stop",
        )

    def stop(self) -> None:
        """Fast shutdown, then delete the cluster. Safe to call twice."""
        if not self._started:
            return
        self._started = False
        atexit.unregister(self.stop)
        if self._watchdog is not None:
            self._watchdog.kill()
            self._watchdog.wait()
            self._watchdog = None
        try:
            if (self.data_dir / "postmaster.pid").exists():
                subprocess.run(
                    self._stop_command(),
                    stdin=subprocess.DEVNULL,
                    capture_output=True,
                    check=False,
                )
        finally:
            shutil.rmtree(self.base_dir, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- databases ------------------------------------------------------------

    @property
    def url(self) -> str:
        """``postgresql://shop@127.0.0.1:PORT/shop`` (libpq / asyncpg form)."""
        return self.url_for(self.dbname)

    def url_for(self, name: str) -> str:
        assert self.port is not None, "server not started"
        return f"postgresql://{self.user}@{self.host}:{self.port}/{name}"

    def _createdb(self, name: str, template: str | None = None) -> None:
        argv = [
            str(self.bin_dir / "createdb"), "-h", self.host, "-p", str(self.port),
            "-U", self.user,
        ]
        if template:
            argv += ["-T", template]
        self._run([*argv, name], f"createdb {name}")

    def create_database(self, name: str, template: str | None = None) -> str:
        """Create database ``name`` (optionally cloned from ``template``, which
        must have no open connections) and return its URL."""
        self._createdb(name, template)
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        """Drop database ``name``, disconnecting its sessions first."""
        self._run(
            [
                str(self.bin_dir / "dropdb"), "-h", self.host, "-p", str(self.port),
                "-U", self.user, "--force", "--if-exists", name,
            ],
            f"dropdb {name}",
        )
