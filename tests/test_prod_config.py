"""The production profile's configuration: settings, and the Dutch reply nginx gives for an action that failed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from channels.settings import load_production

from .conftest import ROOT

sys.path.insert(0, str(ROOT / "scripts"))


def nginx() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else "")
    if not found:
        if os.environ.get("CI") == "true":
            pytest.fail("CI needs nginx (apt-get install nginx-light)")
        pytest.skip("nginx is not installed")
    return found


@pytest.mark.parametrize(
    "text",
    [
        "Probeer het zo nog eens. Bel 112 bij levensgevaar.",
        "Kosten: $5, 'even' geduld \\ of \"later\"; café {x}\nNieuwe regel $uri $$",
    ],
)
def test_nginx_sends_the_action_result_text_unchanged(tmp_path, text):
    from prod import nginx_string

    body = json.dumps({"events": [], "responses": [{"text": text}]})
    port = 8497
    (tmp_path / "nginx.conf").write_text(
        f"""pid {tmp_path}/nginx.pid;
error_log {tmp_path}/error.log;
events {{ worker_connections 16; }}
http {{
    access_log off;
    client_body_temp_path {tmp_path}/body;
    server {{
        listen 127.0.0.1:{port};
        location / {{ default_type application/json; return 200 '{nginx_string(body)}'; }}
    }}
}}
""",
        encoding="utf-8",
    )
    process = subprocess.Popen([nginx(), "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path), "-g", "daemon off;"])
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                request = urllib.request.Request(f"http://127.0.0.1:{port}/webhook", data=b"{}", method="POST")
                with urllib.request.urlopen(request, timeout=2) as response:
                    received = json.loads(response.read())
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.1)
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert received["responses"][0]["text"] == text


def test_the_action_timeout_is_a_setting():
    assert load_production({}).action_timeout_s == 10
    assert load_production({"BACKBOT_ACTION_TIMEOUT": "4"}).action_timeout_s == 4
    for wrong in ("0", "abc", "301"):
        with pytest.raises(SystemExit, match="BACKBOT_ACTION_TIMEOUT"):
            load_production({"BACKBOT_ACTION_TIMEOUT": wrong})


def test_the_rendered_nginx_configuration_is_valid(tmp_path):
    from prod import Production

    profile = Production(load_production({"BACKBOT_ACTION_TIMEOUT": "7"}), run_dir=tmp_path)
    profile.render()
    config = (tmp_path / "nginx.conf").read_text(encoding="utf-8")
    assert "proxy_read_timeout 7s;" in config and "@actions_unavailable" in config
    result = subprocess.run([nginx(), "-t", "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path)],
                            capture_output=True, text=True)  # fmt: skip
    assert result.returncode == 0, result.stderr


def test_the_socketio_rooms_are_shared_only_when_redis_is_given():
    from channels.settings import socketio_redis

    assert socketio_redis({}) is None
    assert socketio_redis({"BACKBOT_SOCKETIO_REDIS_URL": "redis://127.0.0.1:6379/1", "BACKBOT_REDIS_PREFIX": "p1"}) == (
        "redis://127.0.0.1:6379/1",
        "p1-socketio",
    )
    with pytest.raises(SystemExit, match="BACKBOT_SOCKETIO_REDIS_URL"):
        socketio_redis({"BACKBOT_SOCKETIO_REDIS_URL": "127.0.0.1:6379"})
