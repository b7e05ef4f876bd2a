"""The desk's insight: figures from Rasa's real SQL tracker store (SQLite and PostgreSQL), CSV and SVG."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from datetime import date, datetime, timedelta, timezone
from typing import Dict, List, Optional, Tuple

import pytest
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.slots import TextSlot
from rasa.shared.core.trackers import DialogueStateTracker

from tests.desk.conftest import save_trackers
from web.desk import insight
from web.desk.insight import Labels

SVG = "{http://www.w3.org/2000/svg}"
DAY1, DAY2 = date(2024, 3, 4), date(2024, 3, 5)

SPORTS_ENTRY = "sports_when_again"
WORK_ENTRY = "work_sick_leave"
LABELS = Labels(
    faq={SPORTS_ENTRY: "Wanneer mag ik weer sporten?", WORK_ENTRY: "Werk & rugpijn: <mag dat?>"},
    faq_topics={SPORTS_ENTRY: "sports", WORK_ENTRY: "work"},
    topics={"sports": "Mag ik sporten?", "work": "Kan ik werken?", "hernia": "Wat is een hernia?"},
)


def at(day: date, hour: int, minute: int = 0) -> float:
    """Epoch seconds of a local time (the figures' days are local days)."""
    return datetime(day.year, day.month, day.day, hour, minute).timestamp()


def local_midnight(day: date) -> float:
    return at(day, 0)


def user(timestamp: float, channel: Optional[str], text: str = "[tekst]", intent: str = "ask") -> List[Event]:
    return [
        ActionExecuted("action_listen", timestamp=timestamp),
        UserUttered(text, intent={"name": intent, "confidence": 1.0}, timestamp=timestamp, input_channel=channel),
    ]


def answer(timestamp: float, topic: str, answer_id: str, tier: Optional[str] = None) -> List[Event]:
    events: List[Event] = [
        ActionExecuted("action_answer", timestamp=timestamp + 1),
        BotUttered("[antwoord]", timestamp=timestamp + 1),
        SlotSet("topic", topic, timestamp=timestamp + 1),
        SlotSet("answer_id", answer_id, timestamp=timestamp + 1),
    ]
    if tier:
        events.append(SlotSet("red_flag_tier", tier, timestamp=timestamp + 1))
    return events


def turn(timestamp: float, channel: Optional[str], topic: str, answer_id: str, **extra: str) -> List[Event]:
    """A patient's message and the assistant's answer to it."""
    return user(timestamp, channel) + answer(timestamp, topic, answer_id, **extra)


def session_start(timestamp: float, carried: Dict[str, str]) -> List[Event]:
    """A new session: Rasa copies every slot into it (carry_over_slots_to_new_session)."""
    events: List[Event] = [ActionExecuted("action_session_start", timestamp=timestamp), SessionStarted(timestamp)]
    events += [SlotSet(name, value, timestamp=timestamp) for name, value in carried.items()]
    return events + [ActionExecuted("action_listen", timestamp=timestamp)]


def tracker(sender_id: str, events: List[Event]) -> DialogueStateTracker:
    slots = [TextSlot(name, mappings=[]) for name in ("topic", "answer_id", "red_flag_tier")]
    return DialogueStateTracker.from_events(sender_id, events, slots=slots)


def conversations() -> List[DialogueStateTracker]:
    """Five conversations over two days, one the day before, one at the end of the period."""
    web1 = session_start(at(DAY1, 8, 59), {})
    web1 += user(at(DAY1, 9, 0), "socketio", text="/greet", intent="greet") + answer(at(DAY1, 9, 0), "greet", "greet")
    web1 += turn(at(DAY1, 9, 1), "socketio", "sports", SPORTS_ENTRY)
    web1 += turn(at(DAY1, 9, 2), "socketio", "fallback", "fallback")
    web1 += turn(at(DAY1, 9, 3), "socketio", "clarify", "clarify")
    whatsapp = turn(at(DAY1, 10, 0), "whatsapp", "sports", SPORTS_ENTRY)
    whatsapp += turn(at(DAY1, 10, 1), "whatsapp", "hernia", "hernia")
    whatsapp += turn(at(DAY1, 10, 2), "whatsapp", "not_covered", "not_covered")
    telegram = turn(at(DAY2, 11, 0), "telegram", "red_flag", "red_flag/emergency_112", tier="emergency_112")
    telegram += turn(at(DAY2, 11, 1), "telegram", "red_flag", "red_flag/same_day", tier="emergency_112")
    telegram += turn(at(DAY2, 11, 2), "telegram", "crisis", "red_flag/crisis")
    web2 = turn(at(DAY1, 20, 0), "socketio", "work", WORK_ENTRY)
    web2 += turn(at(DAY1, 20, 1), "socketio", "practice_contact", "contact/main")
    web2 += session_start(at(DAY2, 8, 0), {"topic": "work", "answer_id": WORK_ENTRY})
    web2 += turn(at(DAY2, 8, 1), "socketio", "sports", SPORTS_ENTRY)
    unknown = turn(at(DAY2, 12, 0), None, "out_of_scope", "out_of_scope/medication")
    before = turn(at(DAY1, 0) - 3600, "socketio", "sports", SPORTS_ENTRY)
    after = turn(local_midnight(DAY2 + timedelta(days=1)), "whatsapp", "hernia", "hernia")
    return [
        tracker("web-1", web1),
        tracker("wa-1", whatsapp),
        tracker("tg-1", telegram),
        tracker("web-2", web2),
        tracker("none-1", unknown),
        tracker("day-before", before),
        tracker("next-period", after),
    ]


PERIOD = (local_midnight(DAY1), local_midnight(DAY2 + timedelta(days=1)))


@pytest.fixture
def filled(tracker_store):
    save_trackers(tracker_store, conversations())
    return tracker_store


@pytest.fixture
def figures(filled) -> insight.Insight:
    return insight.compute(filled.engine, *PERIOD, labels=LABELS)


# --- figures ------------------------------------------------------------------------------------


def test_conversations_and_messages_per_day(figures):
    assert figures.per_day == [(DAY1, 3, 8), (DAY2, 3, 5)]
    assert figures.totals.conversations == 5
    assert figures.totals.messages == 13
    assert figures.period == PERIOD


def test_answers_rates_and_kinds(figures):
    totals = figures.totals
    # The opening greeting and the slots Rasa copies into a new session are no answers.
    assert totals.answers == 13
    assert (totals.answered, totals.unanswered, totals.clarifying) == (6, 2, 1)
    assert figures.unanswered_rate == pytest.approx(2 / 13)
    assert figures.clarify_rate == pytest.approx(1 / 13)
    assert figures.answers_by_kind == {
        "faq": 4,
        "topic": 1,
        "practice": 1,
        "out_of_scope": 1,
        "clarify": 1,
        "unanswered": 2,
        "escalation": 3,
    }


def test_top_faq_and_topics_in_order_with_dutch_labels(figures):
    assert figures.top_faq == [
        (SPORTS_ENTRY, "Wanneer mag ik weer sporten?", 3),
        (WORK_ENTRY, "Werk & rugpijn: <mag dat?>", 1),
    ]
    assert figures.top_topics == [
        ("sports", "Mag ik sporten?", 3),
        ("hernia", "Wat is een hernia?", 1),
        ("practice_contact", "practice_contact", 1),
        ("work", "Kan ik werken?", 1),
    ]


def test_escalations_per_tier_in_order_of_urgency(figures):
    assert list(figures.escalations_by_tier.items()) == [
        ("emergency_112", 1),
        ("emergency", 0),
        ("same_day", 1),
        ("gp_soon", 0),
        ("crisis", 1),
    ]
    assert figures.totals.escalations == 3
    assert figures.totals.escalated_conversations == 1


def test_channels_by_dutch_name(figures):
    assert figures.channels == {"Website": 2, "Onbekend": 1, "Telegram": 1, "WhatsApp": 1}


def test_reading_in_small_batches_and_from_a_connection_gives_the_same_figures(filled, figures, monkeypatch):
    monkeypatch.setattr(insight, "FETCH_ROWS", 3)
    with filled.engine.connect() as connection:
        assert insight.compute(connection, *PERIOD, labels=LABELS) == figures


def test_a_shorter_period_counts_only_its_own_events(filled):
    day2 = insight.compute(filled.engine, local_midnight(DAY2), PERIOD[1], labels=LABELS)
    assert day2.per_day == [(DAY2, 3, 5)]
    assert day2.totals.answers == 5  # three escalations, the sports entry, out of scope
    assert day2.top_faq == [(SPORTS_ENTRY, "Wanneer mag ik weer sporten?", 1)]
    assert day2.channels == {"Onbekend": 1, "Telegram": 1, "Website": 1}


def test_empty_store_gives_zeros(tracker_store):
    empty = insight.compute(tracker_store.engine, *PERIOD, labels=LABELS)
    assert empty.totals == insight.Totals()
    assert empty.per_day == [(DAY1, 0, 0), (DAY2, 0, 0)]
    assert (empty.top_topics, empty.top_faq, empty.channels) == ([], [], {})
    assert (empty.unanswered_rate, empty.clarify_rate) == (0.0, 0.0)
    assert set(empty.escalations_by_tier.values()) == {0}
    chart = ET.fromstring(insight.column_chart_svg("Gesprekken per dag", insight.per_day_points(empty)))
    assert "Nog geen gegevens" in texts(chart)
    rows = list(csv.reader(io.StringIO(insight.to_csv(empty))))
    assert ["totals", "conversations", "Gesprekken", "0"] in rows


def test_messages_at_2359_and_0001_fall_on_different_days(sqlite_store):
    late = turn(at(DAY1, 23, 59), "socketio", "sports", SPORTS_ENTRY)
    early = turn(at(DAY2, 0, 1), "socketio", "hernia", "hernia")
    save_trackers(sqlite_store, [tracker("night", late + early)])
    night = insight.compute(sqlite_store.engine, *PERIOD, labels=LABELS)
    assert night.per_day == [(DAY1, 1, 1), (DAY2, 1, 1)]
    assert night.totals.conversations == 1


def test_days_follow_the_time_zone_given(sqlite_store):
    plus_one = timezone(timedelta(hours=1))
    utc = [datetime(2024, 3, 4, 22, 59, tzinfo=timezone.utc), datetime(2024, 3, 4, 23, 1, tzinfo=timezone.utc)]
    events = turn(utc[0].timestamp(), "rest", "sports", SPORTS_ENTRY) + turn(utc[1].timestamp(), "rest", "work", "work")
    save_trackers(sqlite_store, [tracker("rest-1", events)])
    since = datetime(2024, 3, 4, tzinfo=plus_one).timestamp()
    figures = insight.compute(sqlite_store.engine, since, since + 2 * 86400, labels=LABELS, tz=plus_one)
    assert figures.per_day == [(DAY1, 1, 1), (DAY2, 1, 1)]
    assert figures.channels == {"Koppeling (REST)": 1}


def test_an_id_the_knowledge_no_longer_has_is_counted_under_its_id(sqlite_store):
    save_trackers(sqlite_store, [tracker("old", turn(at(DAY1, 9), "whatsapp", "sports", "retired_entry"))])
    figures = insight.compute(sqlite_store.engine, *PERIOD, labels=LABELS)
    assert figures.top_faq == [("retired_entry", "retired_entry", 1)]
    assert figures.top_topics == [("sports", "Mag ik sporten?", 1)]


def test_labels_from_the_shipped_knowledge_are_dutch():
    from actions.config import get_knowledge

    knowledge = get_knowledge()
    labels = Labels.from_knowledge(knowledge)
    entry = next(iter(knowledge.faq.values()))
    assert labels.faq_label(entry.id) == entry.question
    assert labels.topic_label("sports") == knowledge.answers["sports"].label != "sports"
    assert "greet" not in labels.topics  # conversation topics are no subjects
    assert insight.answer_kind(entry.id, labels) == "faq"
    assert insight.answer_kind("sports", labels) == "topic"


# --- CSV ----------------------------------------------------------------------------------------


def rows_of(text: str) -> Dict[Tuple[str, str], List[str]]:
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["onderdeel", "sleutel", "omschrijving", "waarde"]
    assert all(len(row) == 4 for row in rows)
    return {(row[0], row[1]): row for row in rows[1:]}


def test_csv_holds_the_figures(figures):
    rows = rows_of(insight.to_csv(figures))
    assert rows["totals", "conversations"][3] == "5"
    assert rows["totals", "messages"][3] == "13"
    assert rows["totals", "unanswered"][3] == "2"
    assert rows["rates", "unanswered_rate"][3] == "0.1538"
    assert rows["rates", "clarify_rate"][3] == "0.0769"
    assert rows["conversations_per_day", "2024-03-04"][3] == "3"
    assert rows["messages_per_day", "2024-03-05"][3] == "5"
    assert rows["top_faq", SPORTS_ENTRY][2:] == ["Wanneer mag ik weer sporten?", "3"]
    assert rows["top_faq", WORK_ENTRY][2:] == ["Werk & rugpijn: <mag dat?>", "1"]
    assert rows["top_topics", "sports"][3] == "3"
    assert rows["escalations_by_tier", "emergency_112"][3] == "1"
    assert rows["escalations_by_tier", "crisis"][3] == "1"
    assert rows["channels", "Website"][3] == "2"
    assert rows["period", "since"][3] == "2024-03-04T00:00:00"


def test_csv_has_no_patient_text_and_no_formulas(tracker_store):
    events = user(at(DAY1, 9), "socketio", text='=HYPERLINK("x") mijn naam is Jan') + answer(
        at(DAY1, 9), "sports", SPORTS_ENTRY
    )
    save_trackers(tracker_store, [tracker("sender-7f3a9c", events)])
    labels = Labels(faq={SPORTS_ENTRY: "=SUM(A1)"}, topics={"sports": "Mag ik sporten?"})
    text = insight.to_csv(insight.compute(tracker_store.engine, *PERIOD, labels=labels))
    assert "Jan" not in text and "HYPERLINK" not in text and "sender-7f3a9c" not in text
    assert rows_of(text)["top_faq", SPORTS_ENTRY][2] == "'=SUM(A1)"


def test_per_day_csv(figures):
    rows = list(csv.reader(io.StringIO(insight.per_day_csv(figures))))
    assert rows == [["datum", "gesprekken", "berichten"], ["2024-03-04", "3", "8"], ["2024-03-05", "3", "5"]]


# --- charts -------------------------------------------------------------------------------------


def texts(svg: ET.Element) -> List[str]:
    return ["".join(element.itertext()) for element in svg.iter(f"{SVG}text")]


def test_bar_chart_is_accessible_svg_with_the_labels(figures):
    items = [(row.label, row.count) for row in figures.top_faq]
    svg = ET.fromstring(insight.bar_chart_svg("Meest gegeven antwoorden", items))
    assert svg.tag == f"{SVG}svg"
    assert svg.get("role") == "img"
    assert svg.find(f"{SVG}title").text == "Meest gegeven antwoorden"
    assert "Werk & rugpijn: <mag dat?>: 1" in svg.get("aria-label")
    shown = texts(svg)
    assert "Wanneer mag ik weer sporten?" in shown and "Werk & rugpijn: <mag dat?>" in shown
    assert "3" in shown
    assert len(svg.findall(f"{SVG}g/{SVG}rect")) == 2
    assert not list(svg.iter(f"{SVG}script")) and not list(svg.iter(f"{SVG}style"))


def test_bar_chart_cuts_long_labels_with_an_ellipsis():
    long = "Hoe lang moet ik wachten voordat ik weer mag hardlopen na een hernia-operatie?"
    svg = ET.fromstring(insight.bar_chart_svg("Vragen", [(long, 2), ("Kort", 1)], max_label_chars=30))
    cut = [text for text in texts(svg) if text.startswith("Hoe lang")]
    assert len(cut) == 1 and cut[0].endswith("…") and len(cut[0]) <= 30
    assert long in svg.get("aria-label")  # screen readers get the whole label


def test_bar_chart_of_escalations_names_the_tiers(figures):
    svg = ET.fromstring(insight.bar_chart_svg("Doorverwijzingen", insight.escalation_items(figures)))
    assert "Direct 112" in texts(svg) and "Crisis (113 of 112)" in texts(svg)


@pytest.mark.parametrize("style", ["column", "line"])
def test_per_day_chart_has_every_day(figures, style):
    points = insight.per_day_points(figures, "messages")
    assert points == [("4 mrt", 8.0), ("5 mrt", 5.0)]
    svg = ET.fromstring(insight.line_or_column_chart_svg("Berichten per dag", points, style=style))
    assert svg.get("role") == "img" and svg.find(f"{SVG}title").text == "Berichten per dag"
    assert {"4 mrt", "5 mrt"} <= set(texts(svg))
    assert "4 mrt: 8; 5 mrt: 5" in svg.get("aria-label")


def test_column_chart_takes_dates_as_labels(figures):
    points = [(d.day, d.conversations) for d in figures.per_day]
    svg = ET.fromstring(insight.column_chart_svg("Gesprekken per dag", points))
    assert {"4 mrt", "5 mrt"} <= set(texts(svg))


@pytest.mark.parametrize(
    "chart",
    [
        lambda: insight.bar_chart_svg("Kanalen", []),
        lambda: insight.bar_chart_svg("Kanalen", [("Website", 0)]),
        lambda: insight.line_or_column_chart_svg("Per dag", [], style="line"),
    ],
)
def test_no_data_says_so(chart):
    svg = ET.fromstring(chart())
    assert svg.get("role") == "img"
    assert "Nog geen gegevens" in texts(svg) and "Nog geen gegevens" in svg.get("aria-label")


def test_long_series_is_summed_up_for_screen_readers():
    points = [(f"{n} mrt", float(n % 5)) for n in range(1, 61)]
    svg = ET.fromstring(insight.column_chart_svg("Per dag", points))
    label = svg.get("aria-label")
    assert "60 waarden" in label and "samen 120" in label
    assert len([t for t in texts(svg) if t.endswith("mrt")]) <= 12


def test_dutch_numbers():
    assert insight.format_number(1234) == "1.234"
    assert insight.format_number(12.5) == "12,5"
    assert insight.format_percent(2 / 13) == "15,4%"
