"""Insight for the practice: figures, charts (inline SVG) and a CSV export from Rasa's tracker store.

`compute(engine, since, until)` reads Rasa's SQL tracker store (table `events`, one row per
event; SQLite or PostgreSQL, the same SQL) and returns an `Insight`; `to_csv`, `per_day_csv`,
`bar_chart_svg` and `line_or_column_chart_svg` turn it into what the desk page shows. Nothing
here reads or writes a patient's words: only event types, timestamps, channels and the slots
`topic` and `answer_id`.

What is counted (the period is `since <= timestamp < until`, epoch seconds):

- A *message* is a `user` event, except the chat's opening payload `/greet` (the website widget
  sends it when it opens, Telegram's "/start" becomes it) and Rasa's `/session_start`: those are
  no question of the patient's, and the greeting the assistant answers them with is no answer.
- A *conversation* is a sender_id with at least one message in the period; "conversations per
  day" counts the distinct sender_ids with a message that day. Days are calendar days in the
  local time of this machine (`time.localtime`), or in the time zone `tz` passed to `compute`.
  The per-day list holds every day of the period (zeros included); for periods longer than
  `MAX_FILLED_DAYS` only the days from the first to the last day with a message.
- A conversation's *channel* is the `input_channel` of its first message in the period.
- An *answer* is a `slot` event that sets `answer_id`: the chat sets it (with `topic`) after
  every reply (actions/answers/reply.py `slot_values`, actions/chat.py `escalate`). Slot events
  that Rasa repeats when a new session starts (`session_started` followed by a copy of every
  slot: carry_over_slots_to_new_session) are skipped up to the patient's next message, so no
  answer is counted twice. Each answer has one kind (`answer_kind`, from its answer_id):

  ============== ========================================================= ==============
  kind           answer_id                                                  counts as
  ============== ========================================================= ==============
  faq            a FAQ entry id (data/knowledge/faq; any id not below)      answered
  topic          a topic id (a topic's general answer, or its "how long")   answered
  leaflet        `leaflet/<passage>` (a quoted leaflet passage)             answered
  practice       `contact/...`, `admin/...` (contact, opening hours, costs)  answered
  followup       `source`, `read_more` (the source of / more of an answer)  answered
  conversation   greet, thanks, goodbye, appointment, human_handoff ...     -
  out_of_scope   `out_of_scope/<class>` (not about back pain)               -
  safety_check   `safety_check_offer` (the short safety check offered)      -
  privacy        `privacy/...` (what is kept, deletion of the conversation) -
  clarify        `clarify` (a clarifying question with likely questions)    clarifying
  unanswered     `fallback` (not understood, rephrase request, unusable     unanswered
                 input: empty, too long, no words, not Dutch),
                 `not_covered` (a back-pain question nothing answers)
  escalation     `red_flag/<tier>` (one per escalation reply)               escalation
  other          anything else with a "/" (a reply kind this module does    -
                 not know yet)
  ============== ========================================================= ==============

  `unanswered_rate` and `clarify_rate` are fractions of all answers (0.0 without answers).
- *Escalations per tier* count the `red_flag/<tier>` answers by tier: emergency_112, emergency,
  same_day, gp_soon, crisis (suicidal thoughts) and, only when present, other (an unknown tier).
  The slot `red_flag_tier` is not read: it holds the highest tier so far (carried into new
  sessions, never "crisis"), so the per-answer value is the exact count.
- *Top topics* count the answers of kinds faq, topic, leaflet and practice by the `topic` slot
  set in the same turn (since the patient's message), when that is a topic of the knowledge
  (the FAQ entry's own topic when the turn set none); *top FAQ entries* count the faq answers.
  Labels are the Dutch topic titles and FAQ questions (`Labels`), the id when it is unknown.
"""

from __future__ import annotations

import csv
import html
import io
import json
import logging
import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import Any, Callable, Dict, Iterable, Iterator, List, Mapping, NamedTuple, Optional, Sequence, Tuple, Union

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from actions.knowledge import CONVERSATION_TOPICS, RESERVED_IDS, SPEC_TOPICS
from web.desk.labels import CHANNEL_LABELS, OTHER_TIER, TIER_LABELS, TIERS, UNKNOWN_CHANNEL, channel_label  # noqa: F401

logger = logging.getLogger(__name__)

# Rows fetched from the database at a time (the events table can hold millions of rows).
FETCH_ROWS = 2000
# Longest period whose every day is listed in `per_day`; longer ones list first to last active day.
MAX_FILLED_DAYS = 400
TOP_N = 10
# Messages that open the chat rather than ask something (web/site/chat.js `initPayload`,
# channels/telegram.py GREET_PAYLOAD) and Rasa's own session start.
OPENING_PAYLOADS = ("/greet", "/session_start")

# Answer kinds (see the module docstring), in the order the desk lists them.
FAQ = "faq"
TOPIC = "topic"
LEAFLET = "leaflet"
PRACTICE = "practice"
FOLLOWUP = "followup"
CONVERSATION = "conversation"
OUT_OF_SCOPE = "out_of_scope"
SAFETY_CHECK = "safety_check"
PRIVACY = "privacy"
CLARIFY = "clarify"
UNANSWERED = "unanswered"
ESCALATION = "escalation"
OTHER = "other"
KIND_LABELS: Mapping[str, str] = {
    FAQ: "Veelgestelde vraag",
    TOPIC: "Algemeen antwoord op een onderwerp",
    LEAFLET: "Stuk uit een folder",
    PRACTICE: "Praktijk (contact, openingstijden, kosten)",
    FOLLOWUP: "Bron of verder lezen",
    CONVERSATION: "Gesprek (groet, bedankje, afspraak)",
    OUT_OF_SCOPE: "Buiten het onderwerp rugpijn",
    SAFETY_CHECK: "Korte veiligheidscheck aangeboden",
    PRIVACY: "Privacy (gegevens, verwijderen)",
    CLARIFY: "Verduidelijkende vraag",
    UNANSWERED: "Niet beantwoord",
    ESCALATION: "Doorverwezen (alarmsignaal)",
    OTHER: "Overig",
}
ANSWERED_KINDS = (FAQ, TOPIC, LEAFLET, PRACTICE, FOLLOWUP)
# Kinds whose turn counts for the top topics.
TOPIC_KINDS = (FAQ, TOPIC, LEAFLET, PRACTICE)
UNANSWERED_IDS = ("fallback", "not_covered")
FOLLOWUP_IDS = ("source", "read_more")
SAFETY_CHECK_IDS = ("safety_check_offer",)
PREFIX_KINDS: Mapping[str, str] = {
    "red_flag/": ESCALATION,
    "leaflet/": LEAFLET,
    "contact/": PRACTICE,
    "admin/": PRACTICE,
    "out_of_scope/": OUT_OF_SCOPE,
    "privacy/": PRIVACY,
}


TOTAL_LABELS: Mapping[str, str] = {
    "conversations": "Gesprekken",
    "messages": "Berichten van patiënten",
    "answers": "Antwoorden",
    "answered": "Beantwoorde vragen",
    "unanswered": "Niet beantwoord",
    "clarifying": "Verduidelijkende vragen",
    "escalations": "Doorverwijzingen (alarmsignalen)",
    "escalated_conversations": "Gesprekken met een doorverwijzing",
}
RATE_LABELS: Mapping[str, str] = {
    "unanswered_rate": "Deel van de antwoorden: niet beantwoord",
    "clarify_rate": "Deel van de antwoorden: verduidelijkende vraag",
}


@dataclass(frozen=True)
class Labels:
    """Human (Dutch) names for ids: FAQ questions and topic titles."""

    faq: Mapping[str, str] = field(default_factory=dict)
    faq_topics: Mapping[str, str] = field(default_factory=dict)
    topics: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_knowledge(cls, knowledge: Any) -> Labels:
        """The labels of an `actions.knowledge.Knowledge`: FAQ questions, titles of medical and practice topics."""
        return cls(
            faq={entry.id: entry.question for entry in knowledge.faq.values()},
            faq_topics={entry.id: entry.topic for entry in knowledge.faq.values()},
            topics={
                topic: answer.label
                for topic, answer in knowledge.answers.items()
                if answer.kind != "conversation" and answer.label
            },
        )

    def faq_label(self, entry_id: str) -> str:
        """The entry's question, else its id."""
        return self.faq.get(entry_id) or entry_id

    def topic_label(self, topic: str) -> str:
        """The topic's title, else its id."""
        return self.topics.get(topic) or topic

    def is_topic(self, value: Optional[str]) -> bool:
        """A topic of the knowledge (not a conversation topic or reply kind)."""
        return bool(value) and (value in self.topics or value in SPEC_TOPICS)


def default_labels() -> Labels:
    """The labels of the shipped knowledge (actions.config); ids only when it cannot be loaded."""
    try:
        from actions.config import get_knowledge

        return Labels.from_knowledge(get_knowledge())
    except Exception:  # noqa: BLE001 - the figures are still right with ids for labels
        logger.exception("Could not load the knowledge for the insight labels; showing ids")
        return Labels()


def answer_kind(answer_id: Optional[str], labels: Optional[Labels] = None) -> str:
    """The kind of an `answer_id` value (see the table in the module docstring)."""
    labels = labels or Labels()
    value = (answer_id or "").strip()
    if not value:
        return OTHER
    for prefix, kind in PREFIX_KINDS.items():
        if value.startswith(prefix):
            return kind
    if value == "clarify":
        return CLARIFY
    if value in UNANSWERED_IDS:
        return UNANSWERED
    if value in FOLLOWUP_IDS:
        return FOLLOWUP
    if value in SAFETY_CHECK_IDS:
        return SAFETY_CHECK
    if value in labels.faq:
        return FAQ
    if labels.is_topic(value):
        return TOPIC
    if value == "out_of_scope":
        return OUT_OF_SCOPE
    if value in CONVERSATION_TOPICS:
        return CONVERSATION
    if "/" in value or value in RESERVED_IDS:
        return OTHER
    return FAQ  # FAQ ids are the only other answer_id values (and may no longer be in the knowledge)


def escalation_tier(answer_id: str) -> str:
    """The tier of a `red_flag/<tier>` answer (`other` for a tier this module does not know)."""
    tier = answer_id.partition("/")[2]
    return tier if tier in TIERS else OTHER_TIER


class DayCount(NamedTuple):
    """One day of the per-day series."""

    day: date
    conversations: int
    messages: int


class Ranked(NamedTuple):
    """One line of a top list."""

    id: str
    label: str
    count: int


@dataclass(frozen=True)
class Totals:
    """The period's totals (see the module docstring for what each counts)."""

    conversations: int = 0
    messages: int = 0
    answers: int = 0
    answered: int = 0
    unanswered: int = 0
    clarifying: int = 0
    escalations: int = 0
    escalated_conversations: int = 0


@dataclass(frozen=True)
class Insight:
    """Everything the desk's insight page shows, for one period."""

    period: Tuple[float, float]
    totals: Totals
    per_day: List[DayCount]
    top_topics: List[Ranked]
    top_faq: List[Ranked]
    unanswered_rate: float
    clarify_rate: float
    # Tier id -> escalations, most urgent first (TIER_LABELS names them).
    escalations_by_tier: Dict[str, int]
    # Dutch channel name -> conversations, most first.
    channels: Dict[str, int]
    # Answer kind -> answers, in KIND_LABELS order (kinds without answers left out).
    answers_by_kind: Dict[str, int] = field(default_factory=dict)


# --- reading the tracker store --------------------------------------------------------------

# Only the rows the figures need: patient messages, session starts (to skip the slots Rasa copies
# into a new session) and the two slots every reply sets. Slot events hold the slot's name in
# `action_name` (SQLTrackerStore stores the event's "name" there).
_EVENTS_QUERY = text(
    """
    SELECT sender_id, type_name, "timestamp", intent_name, action_name, data
    FROM events
    WHERE "timestamp" >= :since AND "timestamp" < :until
      AND (type_name IN ('user', 'session_started')
           OR (type_name = 'slot' AND action_name IN ('topic', 'answer_id')))
    ORDER BY id
    """
)


def _stream(connection: Connection, since: float, until: float) -> Iterator[Tuple[Any, ...]]:
    """The query's rows, fetched `FETCH_ROWS` at a time (a server-side cursor on PostgreSQL)."""
    result = connection.execution_options(stream_results=True).execute(
        _EVENTS_QUERY, {"since": float(since), "until": float(until)}
    )
    try:
        while True:
            batch = result.fetchmany(FETCH_ROWS)
            if not batch:
                return
            yield from batch
    finally:
        result.close()


def _json(data: Optional[str]) -> Dict[str, Any]:
    try:
        value = json.loads(data or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


class _Sender:
    """What is known of one conversation while the events stream by."""

    __slots__ = ("talked", "channel", "skipping", "topic", "answers")

    def __init__(self) -> None:
        self.talked = False
        self.channel: Optional[str] = None
        # Slot events are skipped after a session start (copies) and after the opening payload.
        self.skipping = False
        self.topic: Optional[str] = None
        self.answers: List[str] = []


class _Tally:
    """The counts, built one event at a time."""

    def __init__(self, labels: Labels, tz: Optional[tzinfo]) -> None:
        self.labels = labels
        self.tz = tz
        self.senders: Dict[str, _Sender] = {}
        self.messages_per_day: Counter = Counter()
        self.senders_per_day: Dict[date, set] = {}
        self.kinds: Counter = Counter()
        self.topics: Counter = Counter()
        self.faq: Counter = Counter()
        self.tiers: Counter = Counter()
        self.escalated: set = set()

    def day(self, timestamp: float) -> date:
        """The calendar day of a timestamp (local time, or `tz`)."""
        return datetime.fromtimestamp(timestamp, self.tz).date()

    def add(self, sender_id: str, type_name: str, timestamp: Optional[float], intent: Optional[str], data: str) -> None:
        """Counts one row of the query."""
        sender = self.senders.get(sender_id)
        if sender is None:
            sender = self.senders[sender_id] = _Sender()
        if type_name == "session_started":
            self._flush(sender_id, sender)
            sender.skipping = True
            return
        event = _json(data)
        if type_name == "user":
            self._flush(sender_id, sender)
            message = str(event.get("text") or "").strip()
            if intent == "session_start" or message in OPENING_PAYLOADS:
                sender.skipping = True
                return
            sender.skipping = False
            self._message(sender_id, sender, timestamp, event.get("input_channel"))
            return
        if sender.skipping:
            return
        value = event.get("value")
        name = event.get("name")
        if name == "topic":
            sender.topic = value if isinstance(value, str) else None
        elif name == "answer_id" and isinstance(value, str) and value:
            sender.answers.append(value)

    def _message(self, sender_id: str, sender: _Sender, timestamp: Optional[float], channel: Any) -> None:
        if not sender.talked:
            sender.talked = True
            sender.channel = channel if isinstance(channel, str) else None
        if timestamp is None:
            return
        day = self.day(timestamp)
        self.messages_per_day[day] += 1
        self.senders_per_day.setdefault(day, set()).add(sender_id)

    def _flush(self, sender_id: str, sender: _Sender) -> None:
        """Counts the answers of the sender's turn that just ended."""
        labels = self.labels
        for answer_id in sender.answers:
            kind = answer_kind(answer_id, labels)
            self.kinds[kind] += 1
            if kind == ESCALATION:
                self.tiers[escalation_tier(answer_id)] += 1
                self.escalated.add(sender_id)
            if kind == FAQ:
                self.faq[answer_id] += 1
            if kind in TOPIC_KINDS:
                topic = sender.topic if labels.is_topic(sender.topic) else None
                if topic is None and kind == TOPIC:
                    topic = answer_id
                if topic is None and kind == FAQ:
                    topic = labels.faq_topics.get(answer_id)
                if topic:
                    self.topics[topic] += 1
        sender.answers = []
        sender.topic = None

    def finish(self) -> None:
        """Counts the turns still open when the period ends."""
        for sender_id, sender in self.senders.items():
            self._flush(sender_id, sender)


def compute(
    engine_or_connection: Union[Engine, Connection],
    since: float,
    until: float,
    labels: Optional[Labels] = None,
    tz: Optional[tzinfo] = None,
) -> Insight:
    """The figures of the period `since <= timestamp < until` (epoch seconds) from the tracker store.

    Args:
        engine_or_connection: a SQLAlchemy engine or connection to Rasa's SQL tracker store.
        since: start of the period (included).
        until: end of the period (excluded).
        labels: names for FAQ entries and topics; None loads them from the knowledge.
        tz: time zone of the calendar days; None is this machine's local time.
    """
    labels = labels if labels is not None else default_labels()
    tally = _Tally(labels, tz)
    if isinstance(engine_or_connection, Engine):
        with engine_or_connection.connect() as connection:
            _read(connection, since, until, tally)
    else:
        _read(engine_or_connection, since, until, tally)
    return _insight(tally, since, until)


def _read(connection: Connection, since: float, until: float, tally: _Tally) -> None:
    for sender_id, type_name, timestamp, intent, _action, data in _stream(connection, since, until):
        tally.add(sender_id, type_name, timestamp, intent, data)
    tally.finish()


def _days(tally: _Tally, since: float, until: float) -> List[date]:
    """The days of the per-day series (see the module docstring)."""
    active = sorted(tally.messages_per_day)
    bounded = math.isfinite(since) and math.isfinite(until) and 0 < until - since <= MAX_FILLED_DAYS * 86400
    if bounded:
        first, last = tally.day(since), tally.day(max(since, until - 0.001))
    elif active:
        first, last = active[0], active[-1]
    else:
        return []
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _ranked(counts: Counter, label: Callable[[str], str]) -> List[Ranked]:
    top = sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))[:TOP_N]
    return [Ranked(key, label(key), count) for key, count in top]


def _insight(tally: _Tally, since: float, until: float) -> Insight:
    kinds = tally.kinds
    answers = sum(kinds.values())
    totals = Totals(
        conversations=sum(1 for sender in tally.senders.values() if sender.talked),
        messages=sum(tally.messages_per_day.values()),
        answers=answers,
        answered=sum(kinds[kind] for kind in ANSWERED_KINDS),
        unanswered=kinds[UNANSWERED],
        clarifying=kinds[CLARIFY],
        escalations=kinds[ESCALATION],
        escalated_conversations=len(tally.escalated),
    )
    per_day = [
        DayCount(day, len(tally.senders_per_day.get(day, ())), tally.messages_per_day.get(day, 0))
        for day in _days(tally, since, until)
    ]
    tiers = {tier: tally.tiers[tier] for tier in TIERS}
    if tally.tiers[OTHER_TIER]:
        tiers[OTHER_TIER] = tally.tiers[OTHER_TIER]
    channels: Counter = Counter(channel_label(s.channel) for s in tally.senders.values() if s.talked)
    return Insight(
        period=(since, until),
        totals=totals,
        per_day=per_day,
        top_topics=_ranked(tally.topics, tally.labels.topic_label),
        top_faq=_ranked(tally.faq, tally.labels.faq_label),
        unanswered_rate=totals.unanswered / answers if answers else 0.0,
        clarify_rate=totals.clarifying / answers if answers else 0.0,
        escalations_by_tier=tiers,
        channels=dict(sorted(channels.items(), key=lambda pair: (-pair[1], pair[0]))),
        answers_by_kind={kind: kinds[kind] for kind in KIND_LABELS if kinds[kind]},
    )


# --- CSV ----------------------------------------------------------------------------------------

# Encode `to_csv` output with this: the byte-order mark makes Excel read the file as UTF-8.
CSV_ENCODING = "utf-8-sig"
CSV_HEADER = ("onderdeel", "sleutel", "omschrijving", "waarde")
DAY_CSV_HEADER = ("datum", "gesprekken", "berichten")
# A spreadsheet runs a cell that starts with one of these as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    """A CSV cell; text that a spreadsheet would run as a formula is prefixed with a quote."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        value = str(value)
        return "'" + value if value.startswith(_FORMULA_START) else value
    return str(value)


def _moment(timestamp: float, tz: Optional[tzinfo]) -> str:
    try:
        return datetime.fromtimestamp(timestamp, tz).isoformat(timespec="seconds")
    except (OverflowError, OSError, ValueError):
        return ""


def csv_rows(insight: Insight, tz: Optional[tzinfo] = None) -> List[Tuple[str, str, str, Any]]:
    """The rows of `to_csv` (without the header): (section, key, label, value)."""
    since, until = insight.period
    rows: List[Tuple[str, str, str, Any]] = [
        ("period", "since", "Vanaf", _moment(since, tz)),
        ("period", "until", "Tot (niet meegeteld)", _moment(until, tz)),
    ]
    rows += [("totals", name, TOTAL_LABELS[name], getattr(insight.totals, name)) for name in TOTAL_LABELS]
    rows += [("rates", name, RATE_LABELS[name], f"{getattr(insight, name):.4f}") for name in RATE_LABELS]
    rows += [("conversations_per_day", d.day.isoformat(), "Gesprekken", d.conversations) for d in insight.per_day]
    rows += [("messages_per_day", d.day.isoformat(), "Berichten", d.messages) for d in insight.per_day]
    rows += [("top_topics", r.id, r.label, r.count) for r in insight.top_topics]
    rows += [("top_faq", r.id, r.label, r.count) for r in insight.top_faq]
    rows += [("escalations_by_tier", t, TIER_LABELS.get(t, t), n) for t, n in insight.escalations_by_tier.items()]
    rows += [("channels", name, name, n) for name, n in insight.channels.items()]
    rows += [("answers_by_kind", k, KIND_LABELS.get(k, k), n) for k, n in insight.answers_by_kind.items()]
    return rows


def to_csv(insight: Insight, tz: Optional[tzinfo] = None) -> str:
    """All figures as one CSV (comma-separated, `csv` module quoting; encode with `CSV_ENCODING`).

    Columns: onderdeel (the section: period, totals, rates, conversations_per_day,
    messages_per_day, top_topics, top_faq, escalations_by_tier, channels, answers_by_kind),
    sleutel (a date, id, tier or channel), omschrijving (its Dutch name) and waarde (a count; a
    rate as a fraction with a decimal point, 0.2500; a moment of the period as ISO 8601 local time).
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    writer.writerows([tuple(_cell(value) for value in row) for row in csv_rows(insight, tz)])
    return buffer.getvalue()


def per_day_csv(insight: Insight) -> str:
    """The per-day series as a CSV: datum (ISO date), gesprekken, berichten."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(DAY_CSV_HEADER)
    writer.writerows((d.day.isoformat(), d.conversations, d.messages) for d in insight.per_day)
    return buffer.getvalue()


# --- charts (inline SVG) ------------------------------------------------------------------------

NO_DATA = "Nog geen gegevens"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif"
TEXT_COLOUR = "#1a1a1a"
MUTED_COLOUR = "#595959"  # 7:1 on white
BAR_COLOUR = "#1f5f8b"
GRID_COLOUR = "#d9d9d9"
FONT_SIZE = 13
CHAR_WIDTH = 7.0  # a rough average width of a character at FONT_SIZE, for the layout
MONTHS = ("jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec")


def format_number(value: float) -> str:
    """A number the Dutch way: 1.234 and 12,5."""
    if float(value).is_integer():
        return f"{int(value):,}".replace(",", ".")
    return f"{value:,.1f}".replace(",", " ").replace(".", ",").replace(" ", ".")


def format_percent(fraction: float) -> str:
    """A fraction as a Dutch percentage: 0.125 -> 12,5%."""
    return format_number(round(fraction * 100, 1)) + "%"


def short_date(day: date) -> str:
    """A day as "4 mrt"."""
    return f"{day.day} {MONTHS[day.month - 1]}"


def per_day_points(insight: Insight, what: str = "conversations") -> List[Tuple[str, float]]:
    """The per-day series ("conversations" or "messages") as (short Dutch date, value) for a chart."""
    return [(short_date(d.day), float(getattr(d, what))) for d in insight.per_day]


def _clean(label: Any) -> str:
    """A label without control characters (they are not allowed in XML)."""
    return "".join(c for c in str(label) if c >= " " or c == "\t").replace("\t", " ").strip()


def truncate(label: str, limit: int) -> str:
    """The label cut to `limit` characters, ending in an ellipsis when cut."""
    label = _clean(label)
    if len(label) <= limit:
        return label
    return label[: max(1, limit - 1)].rstrip() + "…"


def _e(value: Any) -> str:
    return html.escape(_clean(value), quote=True)


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _svg_open(title: str, summary: str, width: float, height: float) -> List[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{_e(summary)}" '
        f'viewBox="0 0 {_num(width)} {_num(height)}" width="{_num(width)}" height="{_num(height)}" '
        f'font-family="{_e(FONT)}" font-size="{FONT_SIZE}" fill="{TEXT_COLOUR}">',
        f"<title>{_e(title)}</title>",
        f'<text x="0" y="18" font-size="{FONT_SIZE + 2}" font-weight="bold">{_e(title)}</text>',
    ]


# A series longer than this is summed up for screen readers (total and highest) rather than read out.
MAX_SPOKEN_ITEMS = 31


def _summary(title: str, items: Sequence[Tuple[str, float]], value_format: Callable[[float], str]) -> str:
    if len(items) > MAX_SPOKEN_ITEMS:
        label, value = max(items, key=lambda pair: pair[1])
        total = sum(value for _, value in items)
        return (
            f"{_clean(title)}: {len(items)} waarden van {_clean(items[0][0])} tot {_clean(items[-1][0])}, "
            f"samen {value_format(total)}, het hoogst op {_clean(label)}: {value_format(value)}"
        )
    return f"{_clean(title)}: " + "; ".join(f"{_clean(label)}: {value_format(value)}" for label, value in items)


def _has_data(items: Sequence[Tuple[str, float]]) -> bool:
    return any(value > 0 for _, value in items)


def _no_data_svg(title: str, width: float) -> str:
    height = 72.0
    parts = _svg_open(title, f"{_clean(title)}: {NO_DATA}", width, height)
    parts.append(f'<text x="{_num(width / 2)}" y="50" text-anchor="middle" fill="{MUTED_COLOUR}">{_e(NO_DATA)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def _finite(items: Iterable[Tuple[Any, float]]) -> List[Tuple[str, float]]:
    """(label, value) with a day as "4 mrt" and a missing, negative or infinite value as 0."""
    return [(short_date(label) if isinstance(label, date) else str(label), _value(value)) for label, value in items]


def _value(value: Any) -> float:
    try:
        number = float(value or 0)
    except (TypeError, ValueError):
        return 0.0
    return number if math.isfinite(number) and number > 0 else 0.0


def bar_chart_svg(
    title: str,
    items: Sequence[Tuple[Any, float]],
    *,
    width: float = 640,
    value_format: Callable[[float], str] = format_number,
    max_label_chars: int = 40,
    colour: str = BAR_COLOUR,
) -> str:
    """A horizontal bar chart as a self-contained inline SVG (no script, no external font or CSS).

    Labels longer than `max_label_chars` end in an ellipsis (each bar's tooltip and the chart's
    aria-label hold the full label). No items, or only zeros: the text "Nog geen gegevens".
    Scale it with CSS on the page (`svg { max-width: 100%; height: auto; }`): it has a viewBox.
    """
    items = _finite(items)
    if not _has_data(items):
        return _no_data_svg(title, width)
    row, bar, top = 28.0, 18.0, 34.0
    longest = max(len(truncate(label, max_label_chars)) for label, _ in items)
    label_width = min(longest * CHAR_WIDTH + 12, width * 0.55)
    value_width = max(len(value_format(value)) for _, value in items) * CHAR_WIDTH + 12
    area = max(width - label_width - value_width, 20.0)
    largest = max(value for _, value in items)
    height = top + row * len(items) + 6
    parts = _svg_open(title, _summary(title, items, value_format), width, height)
    for index, (label, value) in enumerate(items):
        y = top + row * index
        length = area * value / largest if largest else 0.0
        shown = truncate(label, max_label_chars)
        parts += [
            "<g>",
            f"<title>{_e(label)}: {_e(value_format(value))}</title>",
            f'<text x="{_num(label_width - 8)}" y="{_num(y + bar / 2 + 4.5)}" text-anchor="end">{_e(shown)}</text>',
            f'<rect x="{_num(label_width)}" y="{_num(y)}" width="{_num(length)}" height="{_num(bar)}" '
            f'fill="{_e(colour)}"/>',
            f'<text x="{_num(label_width + length + 6)}" y="{_num(y + bar / 2 + 4.5)}">'
            f"{_e(value_format(value))}</text>",
            "</g>",
        ]
    parts.append("</svg>")
    return "\n".join(parts)


def _nice_step(rough: float, integers: bool) -> float:
    """A tick step of 1, 2 or 5 times a power of ten, from `rough` up (at least 1 for counts)."""
    if rough <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(rough))
    for factor in (1, 2, 5, 10):
        step = factor * power
        if step >= rough:
            return max(step, 1.0) if integers else step
    return 10 * power


def line_or_column_chart_svg(
    title: str,
    points: Sequence[Tuple[Any, float]],
    *,
    style: str = "column",
    width: float = 640,
    height: float = 260,
    value_format: Callable[[float], str] = format_number,
    max_x_labels: int = 12,
    colour: str = BAR_COLOUR,
) -> str:
    """A series over time (e.g. `per_day_points`) as columns or a line, as a self-contained inline SVG.

    `style` is "column" or "line". The x-axis shows at most `max_x_labels` labels (each point's
    tooltip and the chart's aria-label hold them all). No points, or only zeros: "Nog geen gegevens".
    """
    if style not in ("column", "line"):
        raise ValueError(f"style must be 'column' or 'line', not {style!r}")
    points = _finite(points)
    if not _has_data(points):
        return _no_data_svg(title, width)
    integers = all(value.is_integer() for _, value in points)
    largest = max(value for _, value in points)
    step = _nice_step(largest / 4, integers)
    top_value = step * math.ceil(largest / step)
    axis_width = max(len(value_format(top_value)), 1) * CHAR_WIDTH + 10
    left, right, top, bottom = axis_width, 8.0, 34.0, 28.0
    plot_width, plot_height = width - left - right, height - top - bottom
    slot = plot_width / len(points)

    def y_of(value: float) -> float:
        return top + plot_height * (1 - value / top_value)

    parts = _svg_open(title, _summary(title, points, value_format), width, height)
    tick = 0.0
    while tick <= top_value + step / 2:
        y = y_of(tick)
        parts += [
            f'<line x1="{_num(left)}" y1="{_num(y)}" x2="{_num(width - right)}" y2="{_num(y)}" '
            f'stroke="{GRID_COLOUR}" stroke-width="1"/>',
            f'<text x="{_num(left - 6)}" y="{_num(y + 4)}" text-anchor="end" fill="{MUTED_COLOUR}">'
            f"{_e(value_format(tick))}</text>",
        ]
        tick += step
    every = max(1, math.ceil(len(points) / max(1, max_x_labels)))
    label_chars = max(3, int(slot * every / CHAR_WIDTH))
    centres = [left + slot * (index + 0.5) for index in range(len(points))]
    if style == "line" and len(points) > 1:
        line = " ".join(f"{_num(x)},{_num(y_of(value))}" for x, (_, value) in zip(centres, points, strict=True))
        parts.append(f'<polyline points="{line}" fill="none" stroke="{_e(colour)}" stroke-width="2"/>')
    for index, ((label, value), x) in enumerate(zip(points, centres, strict=True)):
        parts += ["<g>", f"<title>{_e(label)}: {_e(value_format(value))}</title>"]
        if style == "column":
            column = min(max(slot * 0.7, 1.0), 48.0)
            parts.append(
                f'<rect x="{_num(x - column / 2)}" y="{_num(y_of(value))}" width="{_num(column)}" '
                f'height="{_num(top + plot_height - y_of(value))}" fill="{_e(colour)}"/>'
            )
        else:
            parts.append(f'<circle cx="{_num(x)}" cy="{_num(y_of(value))}" r="3" fill="{_e(colour)}"/>')
        if index % every == 0:
            shown = truncate(label, label_chars)
            half = len(shown) * CHAR_WIDTH / 2
            centre = min(max(x, half), width - half)  # the first and last label stay inside the chart
            parts.append(
                f'<text x="{_num(centre)}" y="{_num(height - 8)}" text-anchor="middle" fill="{MUTED_COLOUR}">'
                f"{_e(shown)}</text>"
            )
        parts.append("</g>")
    parts.append("</svg>")
    return "\n".join(parts)


def column_chart_svg(title: str, points: Sequence[Tuple[Any, float]], **options: Any) -> str:
    """`line_or_column_chart_svg` with columns (labels may be dates: shown as "4 mrt")."""
    return line_or_column_chart_svg(title, points, style="column", **options)


def line_chart_svg(title: str, points: Sequence[Tuple[Any, float]], **options: Any) -> str:
    """`line_or_column_chart_svg` with a line (labels may be dates: shown as "4 mrt")."""
    return line_or_column_chart_svg(title, points, style="line", **options)


def escalation_items(insight: Insight) -> List[Tuple[str, float]]:
    """Escalations per tier with the tiers' Dutch names, most urgent first (for `bar_chart_svg`)."""
    return [(TIER_LABELS.get(tier, tier), count) for tier, count in insight.escalations_by_tier.items()]


def kind_items(insight: Insight) -> List[Tuple[str, float]]:
    """Answers per kind with the kinds' Dutch names (for `bar_chart_svg`)."""
    return [(KIND_LABELS.get(kind, kind), count) for kind, count in insight.answers_by_kind.items()]
