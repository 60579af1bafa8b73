"""Free TCP ports on loopback.

The kernel picks an unused port when binding to port 0; we read it back and
release the socket.  Another process could grab the port in between, which is
unlikely on a test machine; the servers that care retry on a bind failure.
"""

from __future__ import annotations

import socket

LOOPBACK = "127.0.0.1"


def free_port(host: str = LOOPBACK) -> int:
    """Return a TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]
