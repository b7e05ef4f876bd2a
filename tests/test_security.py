"""Safe by default: every refusal of the running assistant, and the settings behind them."""

from __future__ import annotations

import asyncio
import json
import socket
import stat
import subprocess
import urllib.error
import urllib.request
from typing import Dict, Optional, Tuple

import pytest

from channels import settings as server_settings

from .conftest import ROOT

EVIL_ORIGIN = "http://evil.example"


def request(
    url: str, method: str = "GET", body: Optional[bytes] = None, headers: Optional[Dict[str, str]] = None
) -> Tuple[int, Dict[str, str], bytes]:
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


# --- settings (no server)


def test_tokens_are_generated_once_into_run_and_readable_by_the_owner_only(tmp_path):
    first = server_settings.load({}, run_dir=tmp_path)
    again = server_settings.load({}, run_dir=tmp_path)
    assert first.rasa_token == again.rasa_token and len(first.rasa_token) >= 32
    assert first.action_token != first.rasa_token
    mode = stat.S_IMODE((tmp_path / "rasa-token").stat().st_mode)
    assert mode == 0o600
    assert server_settings.load({"RASA_TOKEN": "from-env"}, run_dir=tmp_path).rasa_token == "from-env"


def test_by_default_everything_listens_on_loopback_and_only_the_demo_page_may_chat(tmp_path):
    config = server_settings.load({}, run_dir=tmp_path)
    assert config.host == "127.0.0.1"
    assert config.web_origins == ["http://localhost:8080", "http://127.0.0.1:8080"]
    custom = server_settings.load({"BACKBOT_WEB_ORIGINS": "https://praktijk.nl, https://www.praktijk.nl/"}, tmp_path)
    assert custom.web_origins == ["https://praktijk.nl", "https://www.praktijk.nl"]


@pytest.mark.parametrize("value", ["*", "https://praktijk.nl,*"])
def test_any_origin_is_refused(tmp_path, value):
    with pytest.raises(SystemExit, match="BACKBOT_WEB_ORIGINS"):
        server_settings.load({"BACKBOT_WEB_ORIGINS": value}, run_dir=tmp_path)
    with pytest.raises(ValueError):
        server_settings.parse_origins(value)


def test_bad_port_is_refused_with_its_name(tmp_path):
    with pytest.raises(SystemExit, match="BACKBOT_RASA_PORT"):
        server_settings.load({"BACKBOT_RASA_PORT": "50x5"}, run_dir=tmp_path)


def test_secrets_stay_out_of_git():
    for name in ("credentials.local.yml", "run/rasa-token", "run/action-token", ".env"):
        ignored = subprocess.run(["git", "check-ignore", "-q", name], cwd=ROOT, check=False)
        assert ignored.returncode == 0, f"{name} is not git-ignored"
    for name in ("credentials.yml", "credentials.example.yml"):
        for line in (ROOT / name).read_text(encoding="utf-8").splitlines():
            key, _, value = line.partition(":")
            if any(word in key for word in ("token", "secret", "sid")) and not key.strip().startswith("#"):
                assert value.strip().startswith("${"), f"{name} must read {key.strip()} from the environment"


# --- the running servers


@pytest.mark.server
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/conversations/someone/tracker", None),
        ("POST", "/conversations/someone/tracker/events", b'{"event": "slot", "name": "topic", "value": "x"}'),
        ("PUT", "/model", b'{"model_file": "/tmp/other.tar.gz"}'),
        ("POST", "/model/parse", b'{"text": "hallo"}'),
        ("GET", "/status", None),
    ],
)
def test_the_http_api_refuses_requests_without_the_token(live, method, path, body):
    url = f"{live.rasa_url}{path}"
    headers = {"Content-Type": "application/json"}
    assert request(url, method, body, headers)[0] in (401, 403)
    assert request(f"{url}?token=wrong-{live.token}", method, body, headers)[0] in (401, 403)


@pytest.mark.server
def test_nothing_is_added_to_a_conversation_without_the_token(live):
    sender = "security-no-events"
    body = json.dumps({"sender": sender, "message": "hallo"}).encode()
    assert (
        request(f"{live.rasa_url}/webhooks/rest/webhook", "POST", body, {"Content-Type": "application/json"})[0] == 200
    )
    tracker_url = f"{live.rasa_url}/conversations/{sender}/tracker?token={live.token}"
    before = json.loads(request(tracker_url)[2])["events"]
    event = json.dumps({"event": "bot", "text": "Ingevoegd door een vreemde"}).encode()
    status = request(f"{live.rasa_url}/conversations/{sender}/tracker/events", "POST", event)[0]
    assert status in (401, 403)
    assert json.loads(request(tracker_url)[2])["events"] == before


@pytest.mark.server
def test_the_token_opens_the_http_api(live):
    status, _, body = request(f"{live.rasa_url}/status?token={live.token}")
    assert status == 200 and b"model_file" in body


@pytest.mark.server
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/webhook", b'{"next_action": "action_answer", "tracker": {"sender_id": "x"}}'),
        ("GET", "/actions", None),
        ("GET", "/frontdesk/ask?q=helpt+een+rugbrace", None),
        ("POST", "/frontdesk/ask", b'{"question": "helpt een rugbrace?"}'),
    ],
)
def test_the_action_server_and_front_desk_refuse_requests_without_their_token(live, method, path, body):
    url = f"{live.actions_url}{path}"
    headers = {"Content-Type": "application/json"}
    assert request(url, method, body, headers)[0] == 401
    assert request(url, method, body, {**headers, "Authorization": f"Bearer {live.token}"})[0] == 401
    separator = "&" if "?" in path else "?"
    assert request(f"{url}{separator}token={live.action_token}", method, body, headers)[0] != 401


@pytest.mark.server
def test_the_action_server_health_check_stays_open(live):
    assert request(f"{live.actions_url}/health")[0] == 200


@pytest.mark.server
def test_cors_is_granted_to_the_website_origins_only(live):
    url = f"{live.rasa_url}/webhooks/rest/webhook"
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    _, headers, _ = request(url, "OPTIONS", headers={"Origin": EVIL_ORIGIN, **preflight})
    assert headers.get("Access-Control-Allow-Origin") in (None, "")
    _, headers, _ = request(url, "OPTIONS", headers={"Origin": live.web_origins[0], **preflight})
    assert headers.get("Access-Control-Allow-Origin") == live.web_origins[0]


@pytest.mark.server
def test_socketio_grants_cors_to_the_website_only_and_once(live):
    url = f"{live.rasa_url}/socket.io/?EIO=4&transport=polling"
    _, headers, _ = request(url, headers={"Origin": EVIL_ORIGIN})
    assert headers.get("Access-Control-Allow-Origin") in (None, "")
    req = urllib.request.Request(url, headers={"Origin": live.web_origins[0]})
    with urllib.request.urlopen(req, timeout=10) as response:
        assert response.headers.get_all("Access-Control-Allow-Origin") == [live.web_origins[0]]


@pytest.mark.server
@pytest.mark.parametrize("transport", ["polling"])  # WebSocket: see tests/test_socketio.py
async def test_socketio_refuses_connections_from_other_websites(live, transport):
    import socketio

    from .test_socketio import abort_client

    client = socketio.AsyncClient(reconnection=False)
    refused, accepted = asyncio.Event(), asyncio.Event()
    client.on("connect_error", lambda data=None: refused.set())
    client.on("connect", accepted.set)
    # wait=False: on a refusal python-socketio's own wait would sit out a 30 s long-poll.
    await client.connect(live.rasa_url, headers={"Origin": EVIL_ORIGIN}, transports=[transport], wait=False)
    await asyncio.wait_for(refused.wait(), 10)
    assert not accepted.is_set() and not client.namespaces
    await abort_client(client)


def _outside_address() -> Optional[str]:
    """An address of this machine other than loopback, if it has one."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))  # no packet is sent for UDP connect
            address = probe.getsockname()[0]
    except OSError:
        return None
    return None if address.startswith("127.") else address


@pytest.mark.server
def test_the_servers_are_not_reachable_from_outside_by_default(live):
    address = _outside_address()
    if address is None:
        pytest.skip("this machine has no address other than loopback")
    for port in (live.rasa_port, live.actions_port, live.web_port):
        with socket.socket() as client:
            client.settimeout(3)
            assert client.connect_ex((address, port)) != 0, f"port {port} answers on {address}"
        with socket.socket() as client:
            client.settimeout(3)
            assert client.connect_ex(("127.0.0.1", port)) == 0, f"port {port} does not answer on loopback"


@pytest.mark.server
@pytest.mark.parametrize(("origin", "refused"), [(EVIL_ORIGIN, True), ("allowed", False)])
async def test_socketio_checks_the_origin_of_websocket_connections(live, origin, refused):
    """Browsers send their page's origin with a WebSocket too; CORS does not cover WebSocket."""
    import websockets

    origin = live.web_origins[0] if origin == "allowed" else origin
    url = f"ws://127.0.0.1:{live.rasa_port}/socket.io/?EIO=4&transport=websocket"
    async with websockets.connect(url, origin=origin) as socket_:
        assert (await socket_.recv()).startswith("0")  # Engine.IO open
        await socket_.send("40")  # Socket.IO connect to the default namespace
        answer = await socket_.recv()
    assert answer.startswith("44" if refused else "40"), answer
