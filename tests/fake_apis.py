"""Fake Telegram Bot API and WhatsApp Graph API on 127.0.0.1, for the running assistant's tests.

One aiohttp server in a background thread records every call (path, body, headers) and answers
in each API's documented format, so the real channels can send without touching the internet.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional

from aiohttp import web


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Call:
    """One request the fake received."""

    path: str
    body: Dict[str, Any]
    headers: Dict[str, str]


@dataclass
class FakeApis:
    """The fake servers; `calls` holds every request in order."""

    port: int = field(default_factory=free_port)
    calls: List[Call] = field(default_factory=list)
    _loop: Optional[asyncio.AbstractEventLoop] = None
    _runner: Optional[web.AppRunner] = None
    _thread: Optional[threading.Thread] = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        """Base URL (Telegram's api_url and the Graph API's api_url both point here)."""
        return f"http://127.0.0.1:{self.port}"

    async def _handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        body: Dict[str, Any]
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = dict(await request.post()) if request.content_type != "application/octet-stream" else {}
        if not body and request.query:
            body = dict(request.query)
        with self._lock:
            self.calls.append(Call(request.path, body, dict(request.headers)))
        if request.path.startswith("/bot"):
            method = request.path.rsplit("/", 1)[-1]
            if method == "sendMessage":
                chat = int(body.get("chat_id", 0) or 0)
                result: Any = {
                    "message_id": len(self.calls),
                    "date": int(time.time()),
                    "chat": {"id": chat, "type": "private"},
                    "text": str(body.get("text", "")),
                }
            elif method == "getMe":
                result = {"id": 1, "is_bot": True, "first_name": "Rugbot", "username": "rugbot"}
            else:
                result = True
            return web.json_response({"ok": True, "result": result})
        return web.json_response(
            {"messaging_product": "whatsapp", "messages": [{"id": f"wamid.fake{len(self.calls)}"}]}
        )

    def start(self) -> FakeApis:
        """Starts serving in a background thread."""
        ready = threading.Event()

        def serve() -> None:
            self._loop = asyncio.new_event_loop()
            app = web.Application()
            app.router.add_route("*", "/{tail:.*}", self._handle)
            self._runner = web.AppRunner(app, access_log=None)
            self._loop.run_until_complete(self._runner.setup())
            self._loop.run_until_complete(web.TCPSite(self._runner, "127.0.0.1", self.port).start())
            ready.set()
            self._loop.run_forever()
            self._loop.run_until_complete(self._runner.cleanup())
            self._loop.close()

        self._thread = threading.Thread(target=serve, daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the fake APIs did not start")
        return self

    def stop(self) -> None:
        """Stops the server."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    def since(self, mark: int) -> List[Call]:
        """The calls after the first `mark` ones."""
        with self._lock:
            return list(self.calls[mark:])

    def wait_for(self, predicate: Callable[[Call], bool], mark: int = 0, timeout_s: float = 20) -> List[Call]:
        """Waits until a call after `mark` matches; returns the matching calls."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = [call for call in self.since(mark) if predicate(call)]
            if found:
                return found
            time.sleep(0.05)
        raise AssertionError(f"no matching call within {timeout_s} s; calls: {self.since(mark)}")
