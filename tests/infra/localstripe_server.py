"""A private localstripe (fake Stripe API) on 127.0.0.1 for tests.

DOCSTRING-PLACEHOLDER
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from .ports import LOOPBACK, free_port

_RUNNER = Path(__file__).with_name("_run_localstripe.py")


class LocalStripe:
    """localstripe in a subprocess on 127.0.0.1:``port`` with a private state.

    ``persist=False`` keeps localstripe's store in memory only (localstripe
    re-pickles the whole store after every write, which gets slower as the
    store grows); by default it goes to ``state_file`` in a private temp dir,
    handy for post-mortem inspection while the server runs.
    """

    secret_key = "sk_test_localstripe"
    publishable_key = "pk_test_localstripe"

    def __init__(self, persist: bool = True, start_timeout: float = 20.0) -> None:
        self.persist = persist
        self.start_timeout = start_timeout
        self.host = LOOPBACK
        self.port: int | None = None
        self.base_dir: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def api_base(self) -> str:
        """``http://127.0.0.1:PORT`` -- for ``base_addresses={"api": ...}``."""
        assert self.port is not None, "server not started"
        return f"http://{self.host}:{self.port}"

    @property
    def state_file(self) -> Path | None:
        return self.base_dir / "localstripe.pickle" if self.persist and self.base_dir else None

    @property
    def log_file(self) -> Path:
        assert self.base_dir is not None, "server not started"
        return self.base_dir / "localstripe.log"

    def start(self) -> LocalStripe:
        if self.process is not None:
            return self
        self.base_dir = Path(tempfile.mkdtemp(prefix="shop-localstripe-"))
        self.port = free_port()
        atexit.register(self.stop)
        # Output goes to a file, not a pipe: nobody reads a pipe while the
        # server runs, and a full pipe would block it.
        with open(self.log_file, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, str(_RUNNER), str(self.port), str(self.state_file or "")],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        request = urllib.request.Request(
            f"{self.api_base}/v1/events?limit=1",
            headers={"Authorization": "Bearer sk_test_x"},
        )
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"localstripe exited with code {self.process.returncode} "
                    f"before answering:\n{self._output()}"
                )
            try:
                with urllib.request.urlopen(request, timeout=1):
                    return
            except urllib.error.HTTPError:
                return  # any HTTP answer means it is serving
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"localstripe did not answer on {self.api_base} within "
                    f"{self.start_timeout:.0f}s:\n{self._output()}"
                )
            time.sleep(0.05)

    def _output(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")[-5000:]
        except OSError:
            return ""

    def stop(self) -> None:
        """Terminate (then kill after 5 s) our subprocess, by its PID, and
        delete the temp dir. Safe to call twice."""
        atexit.unregister(self.stop)
        if self.process is not None:
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
            self.process = None
        if self.base_dir is not None:
            shutil.rmtree(self.base_dir, ignore_errors=True)
            self.base_dir = None

    def __enter__(self) -> LocalStripe:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- localstripe's /_config API ------------------------------------------

    def _config(self, method: str, path: str, fields: list[tuple[str, str]] | None = None) -> None:
        data = urllib.parse.urlencode(fields).encode() if fields is not None else None
        request = urllib.request.Request(f"{self.api_base}{path}", data=data, method=method)
        with urllib.request.urlopen(request, timeout=10):
            pass

    def register_webhook(
        self,
        url: str,
        secret: str,
        webhook_id: str = "shop",
        events: list[str] | None = None,
    ) -> None:
        """Send events to ``url``, signed with ``secret`` (``whsec_...``).

        Registering the same ``webhook_id`` again replaces it; ``events``
        limits delivery to those event types (default: all).
        """
        fields = [("url", url), ("secret", secret)]
        fields += [("events[]", event) for event in events or ()]
        self._config("POST", f"/_config/webhooks/{urllib.parse.quote(webhook_id, safe='')}", fields)

    def reset(self) -> None:
        """Forget all Stripe objects (``DELETE /_config/data``); registered
        webhooks stay."""
        self._config("DELETE", "/_config/data")
