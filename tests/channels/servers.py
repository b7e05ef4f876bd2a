"""Test servers on 127.0.0.1: a channel's Sanic blueprint served as Rasa serves it, and a fake remote API.

Shared by the channel tests. No sanic-testing: the Sanic app is started with `create_server` inside
the test's own event loop, on a socket bound to a free port; the fake API is an aiohttp web server
that records every request and answers with queued (or default) responses.
"""

from __future__ import annotations

import json
import socket
import uuid
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, AsyncIterator, Callable, Dict, List, Optional, Tuple

from aiohttp import web
from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Sanic


def bound_socket() -> socket.socket:
    """A TCP socket bound to a free port on 127.0.0.1 (the port is known before the server starts)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


class Recorder:
    """An `on_new_message` stub: records each UserMessage and answers with the queued replies.

    `replies` are dicts as Rasa's bot responses ({"text": ..., "buttons": [...]}); each incoming
    message is answered with all of them through `message.output_channel.send_response`.
    """

    def __init__(self, replies: Optional[List[Dict[str, Any]]] = None) -> None:
        self.messages: List[UserMessage] = []
        self.replies = replies or []

    async def __call__(self, message: UserMessage) -> None:
        self.messages.append(message)
        for reply in self.replies:
            await message.output_channel.send_response(message.sender_id, dict(reply))


@asynccontextmanager
async def serve_channel(
    channel: InputChannel,
    on_new_message: Callable[[UserMessage], Any],
    *,
    agent: Any = None,
) -> AsyncIterator[str]:
    """Serves the channel's blueprint at /webhooks/<name>/ like Rasa does; yields the base URL.

    `agent` (optional) becomes `app.ctx.agent`, e.g. an object with a `tracker_store`.
    """
    # Test mode as sanic-testing sets it: Sanic 21.12 otherwise rewrites its own methods again for
    # every app started in the process ("KeyError: 'handle_exception'" from the second app on).
    Sanic.test_mode = True
    app = Sanic(f"t{uuid.uuid4().hex}")
    if agent is not None:
        app.ctx.agent = agent
    app.blueprint(channel.blueprint(on_new_message), url_prefix=f"/webhooks/{channel.url_prefix()}")
    sock = bound_socket()
    port = sock.getsockname()[1]
    # Awaiting create_server already opens the listening socket (Sanic 21.12 awaits its AsyncioServer).
    server = await app.create_server(sock=sock, return_asyncio_server=True, access_log=False)
    await server.startup()
    await server.before_start()
    await server.after_start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await server.before_stop()
        server.close()
        await server.wait_closed()
        await server.after_stop()
        sock.close()


@dataclass
class Received:
    """One request the fake API received."""

    method: str
    path: str
    headers: Dict[str, str]
    body: bytes
    query: Dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)

    def form(self) -> Dict[str, List[str]]:
        """The body parsed as a form (application/x-www-form-urlencoded)."""
        from urllib.parse import parse_qs

        return parse_qs(self.body.decode("utf-8"), keep_blank_values=True)


class FakeApi:
    """A fake remote HTTP API on 127.0.0.1 that records requests and answers from a queue.

    `responses` is a list of (status, JSON body) used in order; when empty, `respond` (optional:
    a function of the Received request, returning (status, JSON body) or None) and then `default`
    answer.
    """

    def __init__(
        self,
        default: Tuple[int, Any] = (200, {}),
        respond: Optional[Callable[[Received], Optional[Tuple[int, Any]]]] = None,
    ) -> None:
        self.requests: List[Received] = []
        self.responses: List[Tuple[int, Any]] = []
        self.default = default
        self.respond = respond
        self.url = ""
        self._runner: Optional[web.AppRunner] = None

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        received = Received(request.method, request.path, dict(request.headers), body, dict(request.query))
        self.requests.append(received)
        if self.responses:
            status, payload = self.responses.pop(0)
        else:
            status, payload = (self.respond(received) if self.respond else None) or self.default
        return web.json_response(payload, status=status)

    async def __aenter__(self) -> FakeApi:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        sock = bound_socket()
        site = web.SockSite(self._runner, sock)
        await site.start()
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


class StubEvent:
    """A tracker event as the tracker store returns it."""

    def __init__(self, data: Dict[str, Any]) -> None:
        self.data = data

    def as_dict(self) -> Dict[str, Any]:
        return self.data


class StubTrackerStore:
    """A tracker store whose conversation ends with the bot offering `buttons`."""

    def __init__(self, buttons: List[Dict[str, Any]]) -> None:
        self.events = [
            {"event": "user", "text": "hallo"},
            {"event": "bot", "text": "Kies:", "data": {"buttons": buttons}},
        ]

    async def retrieve(self, sender_id: str) -> Any:
        return SimpleNamespace(events=[StubEvent(event) for event in self.events])
