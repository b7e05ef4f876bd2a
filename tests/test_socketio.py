"""The website widget's socket.io protocol against the running assistant (what rasa-webchat does).

Rasa 3.6's own channel confirmed the session and then delivered no reply (RasaHQ/rasa#13027);
a reconnect with the same session id (a page reload) must go on in the same conversation.
"""

from __future__ import annotations

import asyncio
import json
import urllib.request
import uuid
from typing import Any, Dict, List

import pytest
from socketio import packet as socketio_packet

pytestmark = pytest.mark.server


async def abort_client(client) -> None:
    """Closes a socket.io client as a closing tab does: without waiting out the pending long-poll.

    python-socketio's own disconnect waits for the long-poll to end (about 30 s a test).
    """
    for namespace in client.namespaces:
        await client._send_packet(client.packet_class(socketio_packet.DISCONNECT, namespace=namespace))
    await client.eio.disconnect(abort=True)
    task = getattr(client.eio, "read_loop_task", None)
    if task is not None and not task.done():
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


class Widget:
    """A socket.io client that behaves like the widget: session request, then messages."""

    def __init__(self, live, session_id: str) -> None:
        import socketio

        self.live = live
        self.session_id = session_id
        self.client = socketio.AsyncClient(reconnection=False)
        self.replies: asyncio.Queue[Dict[str, Any]] = asyncio.Queue()
        self.confirmed: asyncio.Queue[str] = asyncio.Queue()
        self.client.on("bot_uttered", self.replies.put_nowait)
        self.client.on("session_confirm", self.confirmed.put_nowait)

    async def open(self, transport: str) -> str:
        await self.client.connect(
            self.live.chat_url, headers={"Origin": self.live.web_origins[0]}, transports=[transport], wait_timeout=10
        )
        await self.client.emit("session_request", {"session_id": self.session_id})
        return await asyncio.wait_for(self.confirmed.get(), 10)

    async def say(self, text: str) -> List[str]:
        await self.client.emit("user_uttered", {"message": text, "session_id": self.session_id})
        texts = [(await asyncio.wait_for(self.replies.get(), 30)).get("text", "")]
        while True:  # the rest of a reply in several messages
            try:
                texts.append((await asyncio.wait_for(self.replies.get(), 1.5)).get("text", ""))
            except asyncio.TimeoutError:
                return texts

    async def close(self) -> None:
        """Leaves as a closing tab does."""
        await abort_client(self.client)


def user_turns(live, session_id: str) -> List[str]:
    url = f"{live.rasa_url}/conversations/{session_id}/tracker?token={live.token}"
    with urllib.request.urlopen(url, timeout=30) as response:
        return [event["text"] for event in json.loads(response.read())["events"] if event["event"] == "user"]


# HTTP long-polling only: python-engineio's WebSocket client needs a newer aiohttp than Rasa pins
# (3.9); the browser test (tests/test_browser.py) goes over WebSocket, as rasa-webchat does.
@pytest.mark.parametrize("transport", ["polling"])
async def test_replies_reach_the_widget_and_a_reload_keeps_the_conversation(live, transport):
    session_id = uuid.uuid4().hex
    widget = Widget(live, session_id)
    assert await widget.open(transport) == session_id
    answer = "\n".join(await widget.say("is bewegen schadelijk?"))
    assert "bewegen" in answer.lower()
    await widget.close()

    again = Widget(live, session_id)  # the page was reloaded: same session id from the browser's storage
    assert await again.open(transport) == session_id
    answer = "\n".join(await again.say("moet ik een foto laten maken?"))
    assert "foto" in answer.lower() or "röntgen" in answer.lower()
    await again.close()
    assert user_turns(live, session_id) == ["is bewegen schadelijk?", "moet ik een foto laten maken?"]


@pytest.mark.parametrize("requested", [None, "", "short", "../../etc/passwd", 42])
async def test_a_strange_session_id_gets_a_fresh_one(live, requested):
    widget = Widget(live, requested)
    confirmed = await widget.open("polling")
    assert confirmed != requested and len(confirmed) == 32
    await widget.close()


async def test_malformed_messages_are_ignored_and_the_connection_goes_on(live):
    widget = Widget(live, uuid.uuid4().hex)
    await widget.open("polling")
    await widget.client.emit("user_uttered", "just a string")
    await widget.client.emit("user_uttered", {"message": 12, "session_id": widget.session_id})
    await widget.client.emit("user_uttered", {"message": "hallo"})  # no session id
    answer = "\n".join(await widget.say("hallo"))
    assert "rugklachten" in answer
    await widget.close()
