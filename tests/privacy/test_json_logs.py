"""JSON-lines logs without patient text (actions/privacy/jsonlog.py, actions/privacy/logs.py, logging.json.yml).

Real records through a real handler with the formatter and the redaction filter; Rasa's own REST
channel and Rasa's logging set-up (in a subprocess, as `rasa run` does it); the action server
started with BACKBOT_LOG_FORMAT=json and the Rasa server started with logging.json.yml.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable, Dict, Iterator, List

import pytest

from actions.privacy.jsonlog import ConsoleHandler, JsonFormatter
from actions.privacy.logs import MESSAGE, TEXT_FORMAT, RedactingFilter
from actions.privacy.redact import UNREADABLE
from channels import settings

ROOT = Path(__file__).resolve().parent.parent.parent
PORT = 5367  # this test file's own port (the action server, then the Rasa server)

NAME, PHONE = "Jan de Vries", "06-12345678"
PATIENT_TEXT = f"Ik ben {NAME}, bel {PHONE}. Mijn onderrug doet zeer sinds het tillen"
# Words of the message that are no personal detail: only the message-text rules remove them.
COMPLAINT = "onderrug doet zeer"
TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
FIELDS = {"time", "level", "logger", "message", "process", "pid"}


@pytest.fixture
def json_log(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], List[Dict[str, Any]]]]:
    """A real StreamHandler with the JSON formatter and the redaction filter on the root logger; returns the lines."""
    monkeypatch.delenv("BACKBOT_PROCESS_NAME", raising=False)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter(default_process="tests"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.addHandler(handler)

    def lines() -> List[Dict[str, Any]]:
        text = stream.getvalue()
        assert text.endswith("\n")
        return [json.loads(line) for line in text.splitlines()]

    try:
        yield lines
    finally:
        root.removeHandler(handler)


def text_handler() -> logging.StreamHandler:
    """The text format of `make run`, with the redaction filter."""
    handler = logging.StreamHandler(io.StringIO())
    handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    handler.addFilter(RedactingFilter())
    return handler


def test_a_record_is_one_json_line_with_the_fields(json_log, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="backbot.test")
    before = datetime.now(timezone.utc)
    logging.getLogger("backbot.test").info("Bericht van %s: %s", "conversatie-7", PATIENT_TEXT)
    logging.getLogger("backbot.test").warning("Twee\nregels")
    first, second = json_log()
    assert FIELDS <= set(first)
    assert TIME.match(first["time"]), first["time"]
    moment = datetime.strptime(first["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    assert before - timedelta(seconds=1) <= moment <= datetime.now(timezone.utc) + timedelta(seconds=1)
    assert (first["level"], first["logger"], first["process"]) == ("INFO", "backbot.test", "tests")
    assert first["pid"] == os.getpid()
    assert first["message"].startswith("Bericht van conversatie-7: Ik ben [naam], bel [telefoonnummer].")
    assert "exception" not in first
    assert (second["level"], second["message"]) == ("WARNING", "Twee\nregels")


def test_the_process_name_comes_from_backbot_process_name(monkeypatch: pytest.MonkeyPatch) -> None:
    record = logging.LogRecord("rasa", logging.INFO, __file__, 1, "start", None, None)
    monkeypatch.setenv("BACKBOT_PROCESS_NAME", "rasa-2")
    assert json.loads(JsonFormatter(default_process="rasa").format(record))["process"] == "rasa-2"
    monkeypatch.delenv("BACKBOT_PROCESS_NAME")
    assert json.loads(JsonFormatter(default_process="rasa").format(record))["process"] == "rasa"
    assert json.loads(JsonFormatter().format(record))["process"] == Path(sys.argv[0]).stem


def test_the_log_format_setting() -> None:
    assert settings.log_format({}) == "text"
    assert settings.log_format({"BACKBOT_LOG_FORMAT": " JSON "}) == "json"
    with pytest.raises(SystemExit, match="BACKBOT_LOG_FORMAT"):
        settings.log_format({"BACKBOT_LOG_FORMAT": "xml"})


def _rest_webhook(channel: Any) -> Callable[..., Any]:
    """The handler of POST /webhook in a Rasa channel's blueprint."""
    routes = [route for route in channel._future_routes if route.uri == "/webhook"]
    assert len(routes) == 1
    return routes[0].handler


async def test_rasa_rest_channel_failure_line_loses_the_message_text(
    json_log, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Rasa 3.6's own REST channel, with structlog set up as `rasa run` does, fails on a message."""
    import structlog
    from rasa.core.channels import rest
    from rasa.utils import log_utils

    async def failing(message: Any) -> None:
        raise RuntimeError("the lock store is unreachable")

    caplog.set_level(logging.INFO, logger="rasa")
    monkeypatch.setattr(log_utils, "FORCE_JSON_LOGGING", "1")  # as under supervisord: no terminal
    text_mode = text_handler()
    logging.getLogger().addHandler(text_mode)
    try:
        log_utils.configure_structlog(logging.INFO)
        monkeypatch.setattr(rest, "structlogger", structlog.get_logger())  # a fresh proxy with this set-up
        webhook = _rest_webhook(rest.RestInput().blueprint(failing))
        request = SimpleNamespace(json={"sender": "conversatie-9", "message": PATIENT_TEXT}, args={})
        await webhook(request)
    finally:
        logging.getLogger().removeHandler(text_mode)
        structlog.reset_defaults()

    (line,) = (line for line in json_log() if line.get("event") == "rest.message.received.failure")
    assert (line["level"], line["logger"]) == ("ERROR", "rasa.core.channels.rest")
    assert line["fields"] == {"text": MESSAGE}
    assert line["exception"]["type"] == "RuntimeError"
    assert "the lock store is unreachable" in line["exception"]["traceback"]
    written = json.dumps(json_log(), ensure_ascii=False) + text_mode.stream.getvalue()
    assert "rest.message.received.failure" in text_mode.stream.getvalue()
    for secret in (COMPLAINT, "Vries", "12345678"):
        assert secret not in written


def test_rasa_rest_channel_lines_of_rasa_before_3_6_lose_the_message_text(json_log, caplog) -> None:
    caplog.set_level(logging.INFO, logger="rasa")
    logger = logging.getLogger("rasa.core.channels.rest")
    try:
        raise ValueError("boom")
    except ValueError:
        logger.exception(f"An exception occured while handling user message '{PATIENT_TEXT}'.")
    logger.error(f"Message handling timed out for user message '{PATIENT_TEXT}'.")
    failed, timed_out = json_log()
    # ("An" itself is on the list of first names: redact() makes it "[naam]".)
    assert failed["message"].endswith(f" exception occured while handling user message '{MESSAGE}'.")
    assert timed_out["message"] == f"Message handling timed out for user message '{MESSAGE}'."
    assert failed["exception"]["type"] == "ValueError"


def _raise_with(detail: str) -> None:
    patient = PATIENT_TEXT  # noqa: F841 - a local variable: never in the log
    raise ValueError(f"Kan het bericht niet verwerken: {detail}")


def test_a_traceback_with_a_name_and_a_phone_number_is_redacted(json_log, caplog) -> None:
    caplog.set_level(logging.INFO, logger="backbot.test")
    text_mode = text_handler()
    logger = logging.getLogger("backbot.test")
    logger.addHandler(text_mode)
    try:
        try:
            _raise_with("Ik ben Piet Jansen, bel 0612345678")
        except ValueError:
            logger.exception("Bericht mislukt")
    finally:
        logger.removeHandler(text_mode)
    (line,) = json_log()
    assert line["message"] == "Bericht mislukt"
    assert line["exception"]["type"] == "ValueError"
    traceback_text = line["exception"]["traceback"]
    assert traceback_text.startswith("Traceback (most recent call last):")
    assert "in _raise_with" in traceback_text
    assert "ValueError: Kan het bericht niet verwerken: Ik ben [naam], bel [telefoonnummer]" in traceback_text
    for written in (traceback_text, text_mode.stream.getvalue()):
        assert "Piet" not in written and "Jansen" not in written and "0612345678" not in written


def test_a_failed_action_does_not_log_the_conversation(json_log, caplog) -> None:
    """rasa-sdk answers a failed action with the whole request; Rasa logs the error quoting that body."""
    from rasa.shared.exceptions import RasaException
    from rasa.utils.endpoints import ClientResponseError

    body = json.dumps(
        {"error": "boom", "request_body": {"tracker": {"latest_message": {"text": PATIENT_TEXT}}}}
    ).encode()
    caplog.set_level(logging.INFO, logger="rasa")
    try:
        try:
            raise ClientResponseError(500, "Internal Server Error", body)
        except ClientResponseError as error:
            raise RasaException("Failed to execute custom action 'action_answer'") from error
    except RasaException:
        logging.getLogger("rasa.core.processor").exception("Encountered an exception while running action")
    (line,) = json_log()
    traceback_text = line["exception"]["traceback"]
    assert "ClientResponseError: 500, Internal Server Error, body=[bericht]" in traceback_text
    assert "RasaException: Failed to execute custom action 'action_answer'" in traceback_text
    assert COMPLAINT not in traceback_text and "Vries" not in traceback_text


def test_a_dumped_event_loses_its_texts(json_log, caplog) -> None:
    caplog.set_level(logging.INFO, logger="backbot.test")
    event = {"event": "user", "text": PATIENT_TEXT, "parse_data": {"entities": [{"value": "zeer"}]}}
    logging.getLogger("backbot.test").warning("Event %s, as JSON %s", event, json.dumps(event))
    (line,) = json_log()
    assert COMPLAINT not in line["message"] and "'zeer'" not in line["message"] and '"zeer"' not in line["message"]
    assert line["message"].count(MESSAGE) == 4


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no text")


def test_an_unformattable_record_does_not_raise(json_log, caplog, capsys: pytest.CaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="backbot.test")
    logger = logging.getLogger("backbot.test")
    logger.info("%d patients", "many")  # wrong argument type
    logger.info(Unprintable())
    logger.error("%s and %s", "one")  # missing argument
    lines = json_log()
    assert [line["message"] for line in lines] == [UNREADABLE] * 3
    assert all(FIELDS <= set(line) for line in lines)

    formatter = JsonFormatter(default_process="tests")  # without the filter, with broken attributes
    record = logging.LogRecord("backbot.test", logging.INFO, __file__, 1, "%d", ("x",), None)
    record.created = "not a time"  # type: ignore[assignment]
    broken = json.loads(formatter.format(record))
    assert broken["message"] == UNREADABLE and broken["level"] == "INFO" and broken["logger"] == "backbot.test"
    record = logging.LogRecord("backbot.test", logging.INFO, __file__, 1, Unprintable(), None, None)
    record.levelname = Unprintable()  # type: ignore[assignment]
    assert json.loads(formatter.format(record))["message"] == UNREADABLE
    assert "Logging error" not in capsys.readouterr().err


def test_the_console_handler_writes_one_json_line_to_stderr(capsys: pytest.CaptureFixture) -> None:
    handler = ConsoleHandler()
    handler.setFormatter(JsonFormatter(default_process="tests"))
    handler.addFilter(RedactingFilter())
    handler.handle(logging.LogRecord("backbot.test", logging.INFO, __file__, 1, "Ik ben %s", (NAME,), None))
    line = json.loads(capsys.readouterr().err)
    assert line["message"] == "Ik ben [naam]"


# --- Rasa's logging set-up with logging.json.yml, in a subprocess as `rasa run` does it -----------

RASA_LOGGING = textwrap.dedent(
    """
    import logging, sys, warnings
    from rasa.utils.common import configure_logging_and_warnings, update_sanic_log_level
    from rasa.utils.io import configure_colored_logging
    from rasa.utils.log_utils import configure_structlog

    # rasa/__main__.py: the logging file, then coloredlogs, then structlog
    configure_logging_and_warnings(None, sys.argv[2], warn_only_once=True, filter_repeated_logs=True)
    configure_colored_logging(None)
    configure_structlog(None)
    # rasa/server.py and rasa/core/run.py: Rasa's HTTP API app configures Sanic's loggers
    from sanic import Sanic
    Sanic("rasa_server")
    update_sanic_log_level()

    text = sys.argv[1]
    logging.getLogger("rasa.core.processor").info("Bericht: %s", text)
    import structlog
    try:
        raise RuntimeError("lock store unreachable")
    except RuntimeError:
        structlog.get_logger().exception("rest.message.received.failure", text=text)
    from sanic.log import error_logger
    try:
        raise KeyError(text)
    except KeyError:
        error_logger.exception("Exception occurred while handling uri: 'http://x/webhooks/rest/webhook?token=abc'")
    spacy_like = logging.getLogger("spacy")
    spacy_like.addHandler(logging.StreamHandler())  # as spaCy does when it is imported
    spacy_like.info("Created vocabulary")
    warnings.simplefilter("always")
    warnings.warn("a warning after start-up", UserWarning)
    """
)


def test_logging_json_yml_under_rasa_gives_only_redacted_json_lines() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "BACKBOT_PROCESS_NAME": "rasa-1", "PYTHONWARNINGS": "ignore"}
    env.update({"RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"})
    env.pop("FORCE_JSON_LOGGING", None)
    result = subprocess.run(
        [sys.executable, "-c", RASA_LOGGING, PATIENT_TEXT, str(ROOT / "logging.json.yml")],
        cwd="/",  # like the `rasa` command: the project is found through PYTHONPATH only
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    lines = [json.loads(line) for line in output.splitlines()]  # every line is JSON
    by_logger = {line["logger"]: line for line in lines}
    assert {"rasa.core.processor", "sanic.error", "spacy", "py.warnings"} <= set(by_logger)
    assert all(line["process"] == "rasa-1" for line in lines)
    assert by_logger["rasa.core.processor"]["message"].startswith("Bericht: Ik ben [naam], bel [telefoonnummer].")
    (failure,) = (line for line in lines if line.get("event") == "rest.message.received.failure")
    assert failure["fields"] == {"text": MESSAGE} and failure["exception"]["type"] == "RuntimeError"
    assert by_logger["sanic.error"]["exception"]["type"] == "KeyError"
    assert "token=[geheim]" in by_logger["sanic.error"]["message"]
    assert len([line for line in lines if line["logger"] == "spacy"]) == 1
    for secret in ("Vries", "12345678", "abc'"):
        assert secret not in output


# --- The servers, started as the production profile starts them ----------------------------------


def _closed_port() -> socket.socket:
    """A socket bound to a free port without listening: connecting to it is refused at once."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


def _wait(url: str, process: subprocess.Popen, log: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        assert process.poll() is None, log.read_text(encoding="utf-8", errors="replace")[-3000:]
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        assert time.monotonic() < deadline, f"{url} not ready:\n" + log.read_text(encoding="utf-8")[-3000:]
        time.sleep(0.2)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _post(url: str, data: Dict[str, Any]) -> int:
    request = urllib.request.Request(url, data=json.dumps(data).encode(), headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def _json_lines(log: Path) -> List[Dict[str, Any]]:
    text = log.read_text(encoding="utf-8")
    lines = []
    for number, line in enumerate(text.splitlines(), start=1):
        try:
            lines.append(json.loads(line))
        except ValueError:
            pytest.fail(f"line {number} of the log is not JSON: {line!r}")
    return lines


@pytest.mark.server
def test_action_server_writes_json_lines_without_patient_text(tmp_path: Path) -> None:
    token = "test-action-token"
    log = tmp_path / "actions.log"
    rasa = _closed_port()  # the front desk asks Rasa for the intent: refused at once
    env = {
        **os.environ,
        "BACKBOT_LOG_FORMAT": "json",
        "BACKBOT_PROCESS_NAME": "actions-1",
        "BACKBOT_ACTION_TOKEN": token,
        "BACKBOT_HOST": "127.0.0.1",
        "BACKBOT_RASA_URL": f"http://127.0.0.1:{rasa.getsockname()[1]}",
        "BACKBOT_HANDOFF_DB": str(tmp_path / "handoffs.db"),
        "BACKBOT_REVIEW_DB": str(tmp_path / "review.db"),
        "PYTHONWARNINGS": "ignore",  # as the production profile sets it
        "RASA_TELEMETRY_ENABLED": "false",
    }
    with open(log, "w", encoding="utf-8") as out:
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "scripts" / "action_server.py"), "--port", str(PORT)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        base = f"http://127.0.0.1:{PORT}"
        _wait(f"{base}/health", process, log, timeout_s=90)  # about 5 s here
        question = urllib.parse.quote(PATIENT_TEXT)
        with urllib.request.urlopen(f"{base}/frontdesk/ask?token={token}&q={question}", timeout=10) as response:
            assert response.status == 200
            assert json.loads(response.read())["question"] == PATIENT_TEXT
        # rasa-sdk logs the name of an action it does not know at ERROR: the line reaches the log, redacted.
        assert _post(f"{base}/webhook?token={token}", {"next_action": PATIENT_TEXT, "tracker": {}}) == 404
    finally:
        _stop(process)
        rasa.close()

    lines = _json_lines(log)
    assert lines and all(FIELDS <= set(line) and line["process"] == "actions-1" for line in lines)
    assert any(line["logger"] == "backbot.actions" and line["message"].startswith("Leaflet search") for line in lines)
    (unknown,) = (line for line in lines if line["logger"] == "rasa_sdk.endpoint")
    assert unknown["level"] == "ERROR" and "[naam]" in unknown["message"] and "[telefoonnummer]" in unknown["message"]
    text = log.read_text(encoding="utf-8")
    for secret in (NAME, "Vries", PHONE, "12345678"):
        assert secret not in text


@pytest.mark.server
def test_rasa_server_with_logging_json_yml_writes_json_lines(tmp_path: Path) -> None:
    """`rasa run` (without a model: it starts in seconds) with logging.json.yml and Rasa's own REST channel."""
    (tmp_path / "endpoints.yml").write_text("action_endpoint:\n  url: http://127.0.0.1:9/webhook\n")
    (tmp_path / "credentials.yml").write_text("rest:\n")
    log = tmp_path / "rasa.log"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "BACKBOT_PROCESS_NAME": "rasa-1",
        "PYTHONWARNINGS": "ignore",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "RASA_TELEMETRY_ENABLED": "false",
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
    }
    args = [
        str(Path(sys.executable).parent / "rasa"), "run", "--model", str(tmp_path / "no-model.tar.gz"),
        "--interface", "127.0.0.1", "--port", str(PORT), "--endpoints", str(tmp_path / "endpoints.yml"),
        "--credentials", str(tmp_path / "credentials.yml"), "--enable-api", "--auth-token", "test-rasa-token",
        "--logging-config-file", str(ROOT / "logging.json.yml"),
    ]  # fmt: skip
    with open(log, "w", encoding="utf-8") as out:
        process = subprocess.Popen(
            args, cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        base = f"http://127.0.0.1:{PORT}"
        _wait(f"{base}/", process, log, timeout_s=120)
        assert _post(f"{base}/webhooks/rest/webhook", {"sender": "conversatie-3", "message": PATIENT_TEXT}) == 200
        assert _post(f"{base}/model/parse?token=wrong", {"text": PATIENT_TEXT}) == 401
    finally:
        _stop(process)

    lines = _json_lines(log)
    assert all(FIELDS <= set(line) and line["process"] == "rasa-1" for line in lines)
    messages = [line["message"] for line in lines]
    assert any(message.startswith("Starting Rasa server") for message in messages)
    assert "User is not authenticated." in messages  # an ERROR line of Rasa's HTTP API
    text = log.read_text(encoding="utf-8")
    for secret in ("Vries", "12345678", COMPLAINT):
        assert secret not in text
