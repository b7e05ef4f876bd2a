"""The console's settings and the nightly retention schedule."""

from __future__ import annotations

import datetime
import stat

import pytest

from channels.settings import load_desk
from web.desk.accounts import Accounts, ensure_first_admin
from web.server import seconds_until, start_nightly_purge


def test_defaults_keep_secrets_beside_the_database(tmp_path):
    settings = load_desk({"BACKBOT_DESK_DB": str(tmp_path / "desk.db")}, run_dir=tmp_path / "run")
    secret_file = tmp_path / "desk-secret"
    assert settings.secret == secret_file.read_text().strip() and len(settings.secret) >= 32
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert settings.retention_days is None and settings.retention_at == "03:30"
    assert load_desk({"BACKBOT_DESK_DB": str(tmp_path / "desk.db")}).secret == settings.secret  # made once


@pytest.mark.parametrize(
    ("name", "value"),
    [("BACKBOT_RETENTION_DAYS", "dertig"), ("BACKBOT_RETENTION_DAYS", "-3"), ("BACKBOT_RETENTION_AT", "25:00"),
     ("BACKBOT_DESK_SESSION_HOURS", "lang"), ("BACKBOT_DESK_SECURE_COOKIES", "misschien")],
)  # fmt: skip
def test_a_wrong_setting_stops_with_its_name(tmp_path, name, value):
    with pytest.raises(SystemExit, match=name):
        load_desk({"BACKBOT_DESK_SECRET": "x" * 40, name: value}, run_dir=tmp_path)


def test_retention_days_zero_means_keep(tmp_path):
    settings = load_desk({"BACKBOT_DESK_SECRET": "x" * 40, "BACKBOT_RETENTION_DAYS": "0"}, run_dir=tmp_path)
    assert settings.retention_days is None
    assert start_nightly_purge(settings) is None
    settings = load_desk({"BACKBOT_DESK_SECRET": "x" * 40, "BACKBOT_RETENTION_DAYS": "30"}, run_dir=tmp_path)
    assert settings.retention_days == 30


def test_the_nightly_purge_runs_at_the_next_set_time():
    evening = datetime.datetime(2026, 11, 30, 22, 0)
    assert seconds_until("03:30", evening) == 5.5 * 3600
    early = datetime.datetime(2026, 11, 30, 3, 0)
    assert seconds_until("03:30", early) == 1800
    assert seconds_until("03:30", datetime.datetime(2026, 11, 30, 3, 30)) == 24 * 3600


def test_the_first_admin_is_made_once_with_a_private_password_file(tmp_path):
    accounts = Accounts(tmp_path / "desk.db")
    password_file = tmp_path / "desk-admin-password"
    password = ensure_first_admin(accounts, password_file)
    assert password and accounts.authenticate("admin", password) is not None
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
    assert ensure_first_admin(accounts, password_file) is None and accounts.count() == 1
