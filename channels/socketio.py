"""Rasa's socket.io channel (the website widget) with a working session persistence and checked input.

Rasa 3.6 calls python-socketio's `enter_room` without awaiting it; since python-socketio 5.10 it
is a coroutine, so the socket never joins its session's room and no reply reaches the widget
(RasaHQ/rasa#13027). This subclass re-registers the `session_request` handler to await it, and
checks what a browser sends: a session id must look like one the widget makes (else a new one is
given), a message must be text of a sane length, and only the configured website origins may
connect (`cors_allowed_origins`, checked on connect for WebSocket connections too, which CORS
does not cover).

With several Rasa instances (`make prod`), a widget stays connected to one instance, but a staff
reply or a message sent through the HTTP API may be handled by another. With
BACKBOT_SOCKETIO_REDIS_URL set, the instances share their socket.io rooms through Redis
(python-socketio's AsyncRedisManager): a message for a session reaches the widget whichever
instance sends it. python-socketio delivers to this instance's own widgets first and then
publishes for the others, so while Redis cannot be reached an instance still reaches its own.
"""

from __future__ import annotations

import functools
import logging
import re
import uuid
from typing import Any, Awaitable, Callable, Dict, List, Optional

import socketio
from rasa.core.channels.channel import UserMessage
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput, SocketIOOutput
from sanic import Blueprint

from channels import choices
from channels.guard import handle
from channels.rest import MAX_MESSAGE_CHARS
from channels.settings import parse_origins, socketio_redis

logger = logging.getLogger(__name__)


# rasa-webchat makes 32 hex characters (uuid4().hex); accept other widgets' ids of that kind too.
SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


class CheckedSocketIOInput(SocketIOInput):
    """socket.io at /socket.io for the website widget.

    Credentials as for Rasa's `socketio` channel, plus `cors_allowed_origins` (a list, or a
    comma-separated text such as the environment gives).
    """

    @classmethod
    def name(cls) -> str:
        """Keeps Rasa's name, so the widget and the HTTP API see the channel as `socketio`."""
        return "socketio"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> CheckedSocketIOInput:
        """Reads Rasa's socket.io settings and the allowed website origins."""
        credentials = credentials or {}
        channel = cls(
            credentials.get("user_message_evt", "user_uttered"),
            credentials.get("bot_message_evt", "bot_uttered"),
            credentials.get("namespace"),
            credentials.get("session_persistence", False),
            credentials.get("socketio_path", "/socket.io"),
            credentials.get("jwt_key"),
            credentials.get("jwt_method", "HS256"),
            credentials.get("metadata_key", "metadata"),
        )
        try:
            channel.allowed_origins = parse_origins(credentials.get("cors_allowed_origins"))
        except ValueError as error:
            raise ValueError(f"cors_allowed_origins: {error}") from None
        return channel

    allowed_origins: List[str] = []

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """Rasa's blueprint with the session and message handlers replaced (see the module doc)."""
        on_new_message = functools.partial(handle, on_new_message)  # on failure: "probeer het zo nog eens"
        blueprint: SocketBlueprint = super().blueprint(on_new_message)
        sio = blueprint.ctx.sio
        shared = socketio_redis()
        if shared:
            url, channel = shared
            sio.manager = socketio.AsyncRedisManager(url, channel=channel)
            sio.manager.set_server(sio)
            sio.manager_initialized = False  # started with the first connection, in the server's loop
        # The CORS headers of socket.io's HTTP requests come from Rasa's `--cors` (Sanic-CORS, set
        # to the same origins); python-engineio must not add a second Access-Control-Allow-Origin,
        # so its own CORS handling stays off (Rasa's `[]`) and the origin is checked here on
        # connect, for HTTP polling and WebSocket alike.
        rasa_connect = sio.handlers[self.namespace or "/"]["connect"]

        @sio.on("connect", namespace=self.namespace)
        async def connect(sid: str, environ: Dict, auth: Optional[Dict]) -> bool:
            origin = environ.get("HTTP_ORIGIN")
            if origin and origin.rstrip("/") not in self.allowed_origins:
                logger.warning("socket.io: a connection from a website that is not allowed was refused")
                return False
            return await rasa_connect(sid, environ, auth)

        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: str, data: Any) -> None:
            requested = data.get("session_id") if isinstance(data, dict) else None
            session_id = requested if isinstance(requested, str) and SESSION_ID.match(requested) else uuid.uuid4().hex
            if self.session_persistence:
                await sio.enter_room(sid, session_id, namespace=self.namespace)
            await sio.emit("session_confirm", session_id, room=sid, namespace=self.namespace)

        @sio.on(self.user_message_evt, namespace=self.namespace)
        async def handle_message(sid: str, data: Any) -> None:
            if not isinstance(data, dict) or not isinstance(data.get("message"), str):
                logger.warning("socket.io: a message event without text was ignored")
                return
            text = data["message"][:MAX_MESSAGE_CHARS]
            if self.session_persistence:
                sender_id = data.get("session_id")
                if not isinstance(sender_id, str) or not SESSION_ID.match(sender_id):
                    logger.warning("socket.io: a message without a valid session id was ignored")
                    return
                rooms = sio.rooms(sid, namespace=self.namespace)
                if sender_id not in rooms:
                    # A reconnect after a server restart: join the room again before answering.
                    await sio.enter_room(sid, sender_id, namespace=self.namespace)
            else:
                sender_id = sid
            metadata = data.get(self.metadata_key)
            text = await choices.resolve(text, sender_id, self.tracker_store())
            message = UserMessage(
                text,
                SocketIOOutput(sio, self.bot_message_evt),
                sender_id,
                input_channel=self.name(),
                metadata=metadata if isinstance(metadata, dict) else None,
            )
            await on_new_message(message)

        @blueprint.listener("before_server_start")
        async def remember_app(app: Any, _loop: Any) -> None:
            self.app = app  # the Sanic app, whose agent holds the tracker store

        return blueprint

    app: Any = None

    def tracker_store(self) -> Any:
        """The Rasa server's tracker store (None outside a running server)."""
        agent = getattr(getattr(self.app, "ctx", None), "agent", None)
        return getattr(agent, "tracker_store", None)
