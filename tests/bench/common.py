"""What the benchmark's parts share: settings, request bodies, signed events, subprocesses."""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

import httpx

from tests.support import event, order_body, sign

ROOT = Path(__file__).resolve().parents[2]
SKU = "rs-charger-67w"
WEBHOOK_SECRET = "whsec_bench"
BENCH_ENV = {
    "SHOP_ENV": "production",
    "SHOP_SECRET_KEY": "bench-secret-key-0123456789abcdefghijklm",  # 40 characters
    "STRIPE_SECRET_KEY": "sk_test_bench",
    "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
    "SMTP_HOST": "",  # e-mails stay queued
    "ACCESS_LOG": "0",  # as the floor: a proxy in front would log requests
}
assert len(BENCH_ENV["SHOP_SECRET_KEY"]) == 40


def order_payload() -> dict[str, Any]:
    """tests/support.py's order body: RS, one charger, courier, terms 2025-12-18, card."""
    return order_body(market="RS", lines=[(SKU, 1)])


def succeeded_event(order: dict[str, Any], secret: str) -> tuple[bytes, str]:
    """The signed `payment_intent.succeeded` Stripe would send for an order the API answered with."""
    intent = {"id": order["payment"]["payment_intent_id"], "object": "payment_intent",
              "amount": order["total"]["amount_minor"], "currency": "rsd",
              "metadata": {"order_id": order["id"]}, "status": "succeeded"}
    payload = json.dumps(event("payment_intent.succeeded", intent, event_id=f"evt_{order['id']}")).encode()
    return payload, sign(payload, secret)


# --- subprocesses ----------------------------------------------------------------------------------

def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: the child gets SIGTERM if the benchmark dies (even by SIGKILL); elsewhere nothing."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class Child:
    """A subprocess of ours: output to a log file, stopped (TERM, then KILL) by `stop()`."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log: Path, cwd: Path = ROOT) -> None:
        self.name, self.argv, self.log_path = name, argv, log
        self._log: IO[bytes] = log.open("ab")
        self.proc = subprocess.Popen(argv, cwd=cwd, env={**os.environ, **env}, stdin=subprocess.DEVNULL,
                                     stdout=self._log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(text[-lines:])

    def wait_ready(self, url: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode} before it answered "
                                   f"{url}:\n{self.log_tail()}")
            try:
                if httpx.get(url, timeout=2).status_code < 500:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not answer {url} within {timeout:.0f} s:\n{self.log_tail()}")
            time.sleep(0.1)

    def cpu_seconds(self) -> float:
        """User + system CPU the process has used so far (from /proc; 0 where there is none)."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return 0.0

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()


def run_job(argv: list[str], env: dict[str, str], *, timeout: float, stdout: IO[Any] | None = None,
            what: str | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """`python -m shop.jobs …` (or any module) to completion; a clear error with its output if it fails."""
    command = [sys.executable, *argv]
    try:
        done = subprocess.run(command, cwd=cwd, env={**os.environ, **env}, stdin=subprocess.DEVNULL,
                              stdout=stdout if stdout is not None else subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, timeout=timeout, preexec_fn=_die_with_parent)
    except subprocess.TimeoutExpired as error:
        raise RuntimeError(f"{what or ' '.join(argv)} did not finish within {timeout:.0f} s") from error
    if done.returncode != 0:
        output = "\n".join(line if len(line) <= 300 else line[:300] + " …"
                           for line in f"{(done.stdout or '')[-1500:]}\n{done.stderr}".splitlines())
        raise RuntimeError(f"{what or ' '.join(argv)} failed with exit {done.returncode}:\n{output[-4000:]}")
    return done
