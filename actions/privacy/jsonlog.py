"""Log lines as JSON, one object per line, for a log collector (BACKBOT_LOG_FORMAT=json).

    {"time": "2026-11-30T09:12:03.512Z", "level": "INFO", "logger": "backbot.actions",
     "message": "...", "process": "actions-1", "pid": 4242}

- `time`: when the record was made, ISO 8601 in UTC with milliseconds;
- `level`, `logger`, `message`: the record's level name, logger name and (redacted) message;
- `process`: BACKBOT_PROCESS_NAME (e.g. "rasa-1", set per program by the production profile),
  else the name the server gives (`default_process`), else the program's file name; `pid`;
- `exception`: for a record with a traceback, `{"type": ..., "traceback": ...}`, redacted;
- `event` and `fields`: for Rasa's structlog events, the event's key and its other fields
  (`message` is then its `event_info`, or the key); the filter has already cleaned them.

The formatter goes with actions.privacy.logs.RedactingFilter; a record that did not pass that
filter is redacted here. `format` never raises: what cannot be written becomes a line with
"[bericht niet leesbaar]".

The action server and the web server use it through `actions.privacy.logs.configure`; the Rasa
server through logging.json.yml, with `ConsoleHandler`, because Rasa reconfigures logging after
reading that file: see `ConsoleHandler` and `DropAll`.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, Optional

from actions.privacy import logs
from actions.privacy.redact import UNREADABLE


def _program_name() -> str:
    try:
        return Path(sys.argv[0]).stem or "python"
    except Exception:  # noqa: BLE001
        return "python"


def _process_name(default: str) -> str:
    from channels.settings import process_name  # noqa: PLC0415 - the settings are read in that one module

    return process_name(default or _program_name())


def _time(created: float) -> str:
    moment = datetime.fromtimestamp(created, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class JsonFormatter(logging.Formatter):
    """Formats a record as one line of JSON (see the module doc); never raises."""

    def __init__(self, default_process: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.process_name = _process_name(default_process)

    def fields(self, record: logging.LogRecord) -> Dict[str, Any]:
        """The JSON object of a record."""
        if not getattr(record, logs.REDACTED_ATTR, False):
            logs.RedactingFilter().filter(record)
        message = record.msg if isinstance(record.msg, str) else UNREADABLE
        data: Dict[str, Any] = {
            "time": _time(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": message,
            "process": self.process_name,
            "pid": record.process if record.process is not None else os.getpid(),
        }
        event = getattr(record, logs.EVENT_ATTR, None)
        if isinstance(event, dict):
            fields = {key: value for key, value in event.items() if key not in ("event", "level", "exception")}
            data["event"] = event.get("event")
            data["message"] = str(fields.pop("event_info", None) or event.get("event"))
            if fields:
                data["fields"] = fields
            if isinstance(event.get("exception"), dict):
                data["exception"] = event["exception"]
        if record.exc_info or record.exc_text:
            data["exception"] = {
                "type": logs.exception_type(record.exc_info) if record.exc_info else "?",
                "traceback": record.exc_text or logs.format_exception(record.exc_info),
            }
        if record.stack_info:
            data["stack"] = record.stack_info
        return data

    def format(self, record: logging.LogRecord) -> str:
        """One line of JSON."""
        try:
            return json.dumps(self.fields(record), ensure_ascii=False, default=str)
        except Exception:  # noqa: BLE001 - a log line is never lost and never raises
            return self._fallback(record)

    def _fallback(self, record: logging.LogRecord) -> str:
        def attempt(value: Any, default: Any) -> Any:
            try:
                return value()
            except Exception:  # noqa: BLE001
                return default

        data = {
            "time": attempt(lambda: _time(record.created), attempt(lambda: _time(datetime.now().timestamp()), "")),
            "level": attempt(lambda: str(record.levelname), "?"),
            "logger": attempt(lambda: str(record.name), "?"),
            "message": UNREADABLE,
            "process": self.process_name,
            "pid": os.getpid(),
        }
        return json.dumps(data, ensure_ascii=False)


# --- Where the lines go: one handler for the whole process -------------------------------------


class ConsoleHandler(logging.Handler):
    """Writes each formatted record as a line on stderr (as the stream is at that moment).

    Not a `logging.StreamHandler` on purpose: after reading its logging file, `rasa run` calls
    `coloredlogs.install`, which replaces the root logger's first StreamHandler on stdout/stderr
    by its own, with its own text format (it keeps that handler's filters). logging.json.yml
    therefore gives the root logger this handler plus a StreamHandler that lets nothing through
    (`DropAll`): coloredlogs replaces that one and this one stays.

    With `route_all=True` the lines that would bypass the root logger's handler come to this one
    too, with `sanic=True` also those of Sanic's own loggers (`route_all_lines`).
    """

    terminator = "\n"

    def __init__(self, level: int = logging.NOTSET, route_all: bool = False, sanic: bool = False) -> None:
        super().__init__(level)
        if route_all:
            route_all_lines(self, sanic=sanic)

    def emit(self, record: logging.LogRecord) -> None:
        """Writes the formatted record and flushes."""
        try:
            stream = sys.stderr
            stream.write(self.format(record) + self.terminator)
            stream.flush()
        except RecursionError:
            raise
        except Exception:  # noqa: BLE001
            self.handleError(record)


class DropAll(logging.Filter):
    """Lets no record through (for the handler that coloredlogs replaces, see `ConsoleHandler`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Drops the record."""
        return False


def _is_console_handler(handler: logging.Handler) -> bool:
    """A plain StreamHandler on stdout or stderr (as libraries add to their own loggers)."""
    streams = (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__)
    return type(handler) is logging.StreamHandler and any(handler.stream is stream for stream in streams)


def _reaches_root(logger: logging.Logger) -> bool:
    current: Optional[logging.Logger] = logger
    while current is not None and current.parent is not None:
        if not current.propagate:
            return False
        current = current.parent
    return True


class ToRoot(logging.Handler):
    """Takes the place of a library's own console handler: its records go to the root logger's handlers.

    Only when they would not get there anyway (the library's logger does not propagate), so that
    no line is written twice.
    """

    def __init__(self, owner: logging.Logger, level: int = logging.NOTSET) -> None:
        super().__init__(level)
        self.owner = owner

    def handle(self, record: logging.LogRecord) -> bool:
        """Passes the record to the root logger's handlers unless it propagates there."""
        if _reaches_root(self.owner) or record.levelno < self.level:
            return False
        for handler in logging.getLogger().handlers:
            if record.levelno >= handler.level:
                handler.handle(record)
        return True

    def emit(self, record: logging.LogRecord) -> None:
        """Not used (`handle` passes the record on)."""


class RoutedLogger(logging.Logger):
    """A logger that takes no console handler of its own: it gets a `ToRoot` in its place.

    For the loggers of `LIBRARY_LOGGERS`, made before the library is imported.
    """

    def addHandler(self, hdlr: logging.Handler) -> None:  # noqa: N802 - logging's name
        """Adds the handler, or a `ToRoot` in place of a console handler."""
        super().addHandler(ToRoot(self, hdlr.level) if _is_console_handler(hdlr) else hdlr)


# Libraries that give their logger a console handler of their own when they are imported: spaCy
# ("[2026-11-30 09:04:38,883] [INFO] Created vocabulary", while Rasa loads the model and when the
# action server loads the leaflet index) and `future`.
LIBRARY_LOGGERS = ("spacy", "future_stdlib")


def _routed_logger(name: str) -> None:
    """Makes the named logger a `RoutedLogger` (made now, or changed when it exists as a plain Logger)."""
    existing = logging.Logger.manager.loggerDict.get(name)
    if isinstance(existing, logging.Logger):
        if type(existing) is logging.Logger:
            existing.__class__ = RoutedLogger
        return
    previous = logging.getLoggerClass()
    logging.setLoggerClass(RoutedLogger)
    try:
        logging.getLogger(name)
    finally:
        logging.setLoggerClass(previous)


_SHARED: Dict[str, logging.Handler] = {}


def shared_handler() -> logging.Handler:
    """The handler given to `route_all_lines` (a factory for Sanic's logging dictConfig)."""
    return _SHARED["console"]


def route_all_lines(handler: logging.Handler, sanic: bool = False) -> None:
    """Makes the lines that would bypass the root logger's handlers go through `handler` or the root's.

    - Libraries' own console handlers are replaced by `ToRoot`: those there now, and those of
      `LIBRARY_LOGGERS` (spaCy's "[time] [INFO] ...") when the library is imported later.
    - Python's warnings become log records (logger "py.warnings") instead of text on stderr.
    - With `sanic`, Sanic apps created from now on log through `handler`: Rasa's HTTP API app
      (`Sanic("rasa_server")`) configures Sanic's loggers "sanic.root", "sanic.error" and
      "sanic.access" with handlers of their own (text, no redaction filter), taken from
      `sanic.log.LOGGING_CONFIG_DEFAULTS`, and Rasa then stops them from propagating to the root.
    """
    for logger in list(logging.Logger.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger):
            for found in [h for h in logger.handlers if _is_console_handler(h)]:
                logger.removeHandler(found)
                logger.addHandler(ToRoot(logger, found.level))
    for name in LIBRARY_LOGGERS:
        _routed_logger(name)
    logging.captureWarnings(True)
    if not sanic:
        return
    try:
        from sanic import log as sanic_log  # noqa: PLC0415
    except ImportError:
        return
    _SHARED["console"] = handler
    defaults = sanic_log.LOGGING_CONFIG_DEFAULTS
    config = {key: copy.deepcopy(value) for key, value in defaults.items() if key != "handlers"}
    config["handlers"] = {name: {"()": f"{__name__}.shared_handler"} for name in defaults.get("handlers", {})}
    sanic_log.LOGGING_CONFIG_DEFAULTS.clear()
    sanic_log.LOGGING_CONFIG_DEFAULTS.update(config)
