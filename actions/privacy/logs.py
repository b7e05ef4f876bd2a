"""A logging filter that keeps personal details and patients' messages out of every log line.

In code: `configure()` sets up a server process's root logger (text or JSON lines, see
actions/privacy/jsonlog.py); `install()` adds the filter to every handler of the root logger (or
of the given logger). In a logging dictConfig YAML (e.g. Rasa's `--logging-config-file`):

    filters:
      redact:
        (): actions.privacy.logs.RedactingFilter
    handlers:
      console:
        class: logging.StreamHandler
        filters: [redact]

What the filter does to a record, in this order:

1. The lines that quote a patient's message (`TEXT_PATTERNS`, the one list of them: Rasa's REST
   channel on failure, an action server's error answer, "text"/"message" fields of a dumped event
   or tracker) lose that text: it becomes "[bericht]". A token in a URL becomes "[geheim]".
2. Rasa 3.6 logs some events through structlog, rendered as one JSON object in the message (its
   `text`, `user_text`, ... fields hold the patient's words, its `exception` the local variables
   of every frame): those fields become "[bericht]" and the traceback keeps only its frames and
   the (redacted) error; the cleaned event is kept on the record for the JSON formatter.
3. What is left goes through `redact` (names, phone numbers, addresses, ...).
4. A traceback (`exc_info`, `stack_info`) gets steps 1 and 3 and is stored as the record's
   `exc_text`, so that every handler's formatter writes the redacted one.

A filter on a handler sees every record that handler writes, also the records that propagate from
other loggers; a filter on a logger would only see the records logged on that logger itself.
Handlers added after `install()` are not covered: call it again (it is idempotent).
"""

from __future__ import annotations

import json
import logging
import re
import traceback
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from actions.privacy.redact import UNREADABLE, redact

# What a patient's message becomes in a log line, and a secret (a token in a URL).
MESSAGE = "[bericht]"
SECRET = "[geheim]"
# The record attributes this filter sets: done (a record passes each handler's filter), and the
# cleaned structlog event (for actions.privacy.jsonlog.JsonFormatter).
REDACTED_ATTR = "backbot_redacted"
EVENT_ATTR = "backbot_event"

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


@dataclass(frozen=True)
class TextPattern:
    """A kind of log line that quotes a patient's message: the `text` group becomes `replacement`.

    `loggers`: the logger names (and their children) whose lines have this shape; empty: any
    logger, and tracebacks too.
    """

    name: str
    loggers: Tuple[str, ...]
    pattern: re.Pattern
    replacement: str = MESSAGE

    def applies_to(self, logger_name: Optional[str]) -> bool:
        """Whether lines of this logger (None: a traceback) can have this shape."""
        if not self.loggers:
            return True
        if logger_name is None:
            return False
        return any(logger_name == name or logger_name.startswith(name + ".") for name in self.loggers)

    def sub(self, text: str) -> str:
        """The text with every match's `text` group replaced."""
        parts: List[str] = []
        end = 0
        for match in self.pattern.finditer(text):
            parts.append(text[end : match.start("text")])
            parts.append(self.replacement)
            end = match.end("text")
        if not parts:
            return text
        parts.append(text[end:])
        return "".join(parts)


# Keys of a JSON object or Python dict whose string value may be what a patient wrote: the text
# of a message (also in parse data and events), an entity or slot value, a front-desk question.
_TEXT_KEYS = "text|message|user_text|response_text|user_message|token_text|value|question"

# Every log line shape known to quote a patient's message. Rasa 3.6 and rasa-sdk 3.6, at INFO and
# above: the REST and Hangouts channels log the text of a message they failed to handle (3.0-3.5
# with the logging module, 3.6 through structlog: `STRUCTLOG_TEXT_KEYS`); when a custom action
# fails, rasa-sdk answers 500 with the whole request (the conversation) and Rasa's processor logs
# the exception, whose text quotes that body (`ClientResponseError: 500, ..., body='...'`), and
# its "default action failed to fill slots" warning quotes it too.
TEXT_PATTERNS: Tuple[TextPattern, ...] = (
    TextPattern(
        "rasa-channel-exception",
        ("rasa.core.channels",),
        re.compile(r"An exception occured while handling user message '(?P<text>.*)'", re.DOTALL),
    ),
    TextPattern(
        "rasa-channel-timeout",
        ("rasa.core.channels",),
        re.compile(r"Message handling timed out for user message '(?P<text>.*)'", re.DOTALL),
    ),
    TextPattern(
        "http-error-body",
        (),
        re.compile(r"\bbody=(?P<text>'.*'|\".*\")"),
    ),
    TextPattern(
        "text-field",
        (),
        re.compile(
            rf"""(?P<quote>["'])(?:{_TEXT_KEYS})(?P=quote)\s*:\s*"""
            r"""(?P<text>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')"""
        ),
        replacement=f'"{MESSAGE}"',
    ),
    TextPattern(
        "url-token",
        (),
        re.compile(r"[?&](?:token|auth_token|access_token)=(?P<text>[^&\s'\"#]+)"),
        replacement=SECRET,
    ),
)

# The structlog fields Rasa 3.6 itself anonymizes when an anonymization pipeline is configured
# (rasa/utils/log_utils.py, `_anonymizer`; Rasa Pro only): here their values always become MESSAGE.
STRUCTLOG_TEXT_KEYS = frozenset(
    """
    text response_text user_text slot_values parse_data_text parse_data_entities prediction_events
    tracker_latest_message prefilled_slots message response slot_candidates rasa_event rasa_events
    tracker_states current_states old_states successes current_entity next_entity states entity
    token_text user_message json_message
    """.split()
)


# A text in single quotes, as Python quotes values ("KeyError: 'Piet Jansen'"): `redact` does not
# take a word right after a quote for a name, so such a text is redacted on its own first.
_SINGLE_QUOTED = re.compile(r"(?<!\w)'(?P<inner>[^'\n]{1,2000})'")


def redact_text(text: str, logger_name: Optional[str] = None) -> str:
    """A log line (of the named logger; None: a traceback) without message texts and personal details."""
    if not isinstance(text, str) or not text:
        return text
    for pattern in TEXT_PATTERNS:
        if pattern.applies_to(logger_name):
            text = pattern.sub(text)
    if "'" in text:
        text = _SINGLE_QUOTED.sub(lambda match: f"'{redact(match.group('inner'))}'", text)
    return redact(text)


def redact_traceback(text: str) -> str:
    """A formatted traceback without message texts and personal details; never raises."""
    try:
        return redact_text(text, None)
    except Exception:  # noqa: BLE001 - a traceback must never leak the patient's words
        return UNREADABLE


def format_exception(exc_info: Any) -> str:
    """The redacted traceback of an `exc_info` tuple; never raises."""
    try:
        text = "".join(traceback.format_exception(*exc_info)).rstrip("\n")
    except Exception:  # noqa: BLE001
        return UNREADABLE
    return redact_traceback(text)


def exception_type(exc_info: Any) -> str:
    """The exception's type name ("ValueError", "redis.exceptions.ConnectionError")."""
    try:
        kind = exc_info[0]
        module = getattr(kind, "__module__", "builtins")
        name = getattr(kind, "__qualname__", None) or str(kind)
        return name if module in ("builtins", "__main__") else f"{module}.{name}"
    except Exception:  # noqa: BLE001
        return "?"


# --- Rasa's structlog events ------------------------------------------------------------------


def _clean_value(value: Any, depth: int = 0) -> Any:
    """A structlog field's value with its strings redacted (lists and dicts too, a few levels deep)."""
    if isinstance(value, str):
        return redact_text(value)
    if depth > 4:
        return value if isinstance(value, (int, float, bool)) or value is None else MESSAGE
    if isinstance(value, list):
        return [_clean_value(item, depth + 1) for item in value]
    if isinstance(value, dict):
        return {
            key: MESSAGE if key in STRUCTLOG_TEXT_KEYS else _clean_value(item, depth + 1) for key, item in value.items()
        }
    return value


def _structlog_exception(value: Any) -> Dict[str, str]:
    """An exception in structlog's `dict_tracebacks` form as type and redacted traceback, without locals."""
    stacks = value if isinstance(value, list) else []
    if not stacks or not all(isinstance(stack, dict) for stack in stacks):
        return {"type": "?", "traceback": redact_traceback(str(value))}
    lines: List[str] = []
    # structlog lists the raised exception first and its causes after it; Python prints causes first.
    for stack in reversed(stacks):
        if lines:
            lines.append("")
            lines.append("The above exception was the direct cause of the following exception:")
            lines.append("")
        lines.append("Traceback (most recent call last):")
        for frame in stack.get("frames") or []:
            if isinstance(frame, dict):
                lines.append(f'  File "{frame.get("filename")}", line {frame.get("lineno")}, in {frame.get("name")}')
        value_text = str(stack.get("exc_value", ""))
        lines.append(f"{stack.get('exc_type', '?')}: {value_text}" if value_text else str(stack.get("exc_type", "?")))
    return {"type": str(stacks[0].get("exc_type", "?")), "traceback": redact_traceback("\n".join(lines))}


def structlog_event(message: str) -> Optional[Dict[str, Any]]:
    """A cleaned structlog event when the message is one (Rasa's JSON rendering), else None.

    The fields that hold the patient's words become "[bericht]", an `exception` keeps its type and
    a redacted traceback without local variables, and every other string is redacted.
    """
    if not (message.startswith("{") and message.endswith("}") and '"event"' in message):
        return None
    try:
        data = json.loads(message)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("event"), str):
        return None
    cleaned: Dict[str, Any] = {}
    for key, value in data.items():
        if key in STRUCTLOG_TEXT_KEYS:
            cleaned[key] = MESSAGE if value not in (None, "", [], {}) else value
        elif key == "exception":
            cleaned[key] = _structlog_exception(value)
        else:
            cleaned[key] = _clean_value(value)
    return cleaned


# --- The filter -------------------------------------------------------------------------------


class RedactingFilter(logging.Filter):
    """Removes message texts and personal details from a record (see the module doc).

    Never drops a record and never raises: what cannot be read becomes "[bericht niet leesbaar]".
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Redacts the record in place and keeps it."""
        if getattr(record, REDACTED_ATTR, False):
            return True
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - an unformattable record still gives a line
            message = UNREADABLE
        try:
            event = structlog_event(message) if isinstance(message, str) else None
            if event is not None:
                setattr(record, EVENT_ATTR, event)
                record.msg = json.dumps(event, ensure_ascii=False, default=str)
            else:
                record.msg = redact_text(message, record.name)
        except Exception:  # noqa: BLE001 - a log line must never be lost nor leak the patient's words
            record.msg = UNREADABLE
        record.args = ()
        if record.exc_info:
            record.exc_text = format_exception(record.exc_info)
        elif record.exc_text:
            record.exc_text = redact_traceback(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_traceback(record.stack_info)
        setattr(record, REDACTED_ATTR, True)
        return True


def install(logger: Optional[logging.Logger] = None) -> int:
    """Adds a RedactingFilter to every handler of the logger (default: the root logger).

    A handler that already has a RedactingFilter gets no second one. Returns the number of
    handlers that got a filter now.
    """
    target = logger if logger is not None else logging.getLogger()
    added = 0
    for handler in target.handlers:
        if not any(isinstance(existing, RedactingFilter) for existing in handler.filters):
            handler.addFilter(RedactingFilter())
            added += 1
    return added


def configure(log_format: str = "text", process: str = "", level: int = logging.INFO) -> None:
    """Sets up the root logger of a server process: every line on stderr, through the filter.

    `log_format` "text" (time, level, logger, message) or "json" (one JSON object per line,
    actions/privacy/jsonlog.py; `process` names the process unless BACKBOT_PROCESS_NAME does).
    The lines that would bypass the root logger (libraries' own console handlers, Python's
    warnings) are written by it too (`jsonlog.route_all_lines`).
    """
    from actions.privacy.jsonlog import ConsoleHandler, JsonFormatter  # noqa: PLC0415

    handler = ConsoleHandler(route_all=True)
    json_lines = log_format == "json"
    handler.setFormatter(JsonFormatter(default_process=process) if json_lines else logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    install()
