"""The credentials files: every channel of the example starts from environment variables alone."""

from __future__ import annotations

import pytest
from rasa.core.run import create_http_input_channels

from tests.conftest import ROOT

EXAMPLE_ENVIRONMENT = {
    "BACKBOT_WEB_ORIGINS": "https://www.praktijk.nl,https://praktijk.nl",
    "TELEGRAM_TOKEN": "123456:ABC-def_ghi",
    "TELEGRAM_BOT_NAME": "rugbot",
    "TELEGRAM_WEBHOOK_URL": "https://chat.praktijk.nl/webhooks/telegram/webhook",
    "TELEGRAM_SECRET_TOKEN": "a-made-up-secret_123",
    "WHATSAPP_ACCESS_TOKEN": "EAAG-token",
    "WHATSAPP_PHONE_NUMBER_ID": "1098765",
    "WHATSAPP_APP_SECRET": "app-secret",
    "WHATSAPP_VERIFY_TOKEN": "verify-me",
    "TWILIO_ACCOUNT_SID": "AC0123456789abcdef0123456789abcdef",
    "TWILIO_AUTH_TOKEN": "twilio-auth-token",
    "TWILIO_WHATSAPP_NUMBER": "whatsapp:+31612345678",
    "TWILIO_WEBHOOK_URL": "https://chat.praktijk.nl/webhooks/twilio/webhook",
}


def test_the_example_opens_every_channel(monkeypatch):
    for name, value in EXAMPLE_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    channels = create_http_input_channels(None, str(ROOT / "credentials.example.yml"))
    assert sorted(channel.name() for channel in channels) == ["rest", "socketio", "telegram", "twilio", "whatsapp"]
    socketio = next(channel for channel in channels if channel.name() == "socketio")
    assert socketio.allowed_origins == ["https://www.praktijk.nl", "https://praktijk.nl"]
    assert socketio.session_persistence is True


def test_the_committed_file_opens_the_channels_without_secrets(monkeypatch):
    monkeypatch.setenv("BACKBOT_WEB_ORIGINS", "http://localhost:8080")
    channels = create_http_input_channels(None, str(ROOT / "credentials.yml"))
    assert sorted(channel.name() for channel in channels) == ["rest", "socketio"]


def test_a_missing_secret_stops_the_server_with_its_name(monkeypatch):
    for name, value in EXAMPLE_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("WHATSAPP_APP_SECRET")
    with pytest.raises(Exception, match="WHATSAPP_APP_SECRET"):
        create_http_input_channels(None, str(ROOT / "credentials.example.yml"))
