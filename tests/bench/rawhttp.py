"""A minimal HTTP/1.1 keep-alive client for the load generator: one connection per worker, requests
written as bytes, answers read by Content-Length. About 0.1 ms of CPU a call where httpx spends 2 ms,
so on a 2-core machine the generator leaves the server its core. Enough for our own server
(uvicorn always sends Content-Length for these answers); not a general client."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any


class HttpError(Exception):
    """The connection broke or the answer was not HTTP/1.1 with a Content-Length."""


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, *, body: bytes = b"",
                      headers: dict[str, str] | None = None) -> Answer:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        assert self._reader is not None
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}", f"Content-Length: {len(body)}"]
        head += [f"{name}: {value}" for name, value in (headers or {}).items()]
        self._writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
        try:
            raw_head = await self._reader.readuntil(b"\r\n\r\n")
            lines = raw_head.decode("latin-1").split("\r\n")
            status = int(lines[0].split(" ", 2)[1])
            fields = {}
            for line in lines[1:]:
                if line:
                    name, _, value = line.partition(":")
                    fields[name.strip().lower()] = value.strip()
            if "content-length" not in fields:
                raise HttpError(f"no Content-Length in the answer to {method} {path}")
            content = await self._reader.readexactly(int(fields["content-length"]))
        except (asyncio.IncompleteReadError, ConnectionError, ValueError, IndexError) as error:
            await self.close()
            raise HttpError(f"{method} {path}: {type(error).__name__}: {error}") from error
        if fields.get("connection", "").lower() == "close":
            await self.close()
        return Answer(status, fields, content)

    async def post_json(self, path: str, payload: Any, headers: dict[str, str] | None = None) -> Answer:
        return await self.request("POST", path, body=json.dumps(payload).encode(),
                                  headers={"Content-Type": "application/json", **(headers or {})})

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            try:
                await self._writer.wait_closed()
            except ConnectionError:
                pass
        self._reader = self._writer = None
