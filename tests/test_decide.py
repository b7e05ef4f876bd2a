"""The one decision, by table: what the assistant answers for a message, its parse and the conversation.

Parses are built inline (DIET's intent, the ResponseSelector's ranking), so each row shows one
rule of `decide`; tests/test_answers_nlu.py runs the same decision on the trained model.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import pytest

from actions.answers import decide as d
from actions.answers.decide import State, decide
from actions.answers.reply import compose, next_state
from actions.config import get_services
from tests.conftest import make_parse

Row = Tuple[str, str, Dict[str, Any], State, str, str]


def sel(*pairs: Tuple[str, float]) -> List[Tuple[str, float]]:
    """A ResponseSelector ranking."""
    return list(pairs)


TABLE: List[Row] = [
    # (why, text, parse, state, expected kind, expected answer_id)
    (
        "a red flag wins over any intent",
        "hoe vaak moet ik oefenen, ik kan sinds gisteren niet meer plassen",
        make_parse("ask_exercises", 0.95, selector=sel(("ask_exercises/exercises_how_often", 0.9))),
        State(), d.RED_FLAG, "red_flag/emergency",
    ),
    (
        "a red flag in a button payload's words is still read",
        "/ask_imaging ik kan niet plassen",
        make_parse("ask_imaging", 1.0),
        State(), d.RED_FLAG, "red_flag/emergency",
    ),
    (
        "DIET sure of the topic, the selector of the entry: the FAQ entry",
        "hoe vaak moet ik die oefeningen doen",
        make_parse("ask_exercises", 0.92, selector=sel(
            ("ask_exercises/exercises_how_often", 0.71), ("ask_exercises/exercises_repetitions", 0.12),
            ("ask_exercises/overview", 0.05))),
        State(), d.FAQ, "exercises_how_often",
    ),
    (
        "the general question: the topic's answer, with more specific questions offered",
        "welke oefeningen zijn goed voor mijn rug",
        make_parse("ask_exercises", 0.9, selector=sel(
            ("ask_exercises/overview", 0.6), ("ask_exercises/exercises_how_often", 0.1),
            ("ask_exercises/exercises_purpose", 0.08))),
        State(), d.TOPIC, "exercises",
    ),
    (
        "entries of the topic split evenly: the topic's answer rather than a guess",
        "iets over oefeningen",
        make_parse("ask_exercises", 0.8, selector=sel(
            ("ask_exercises/exercises_how_often", 0.2), ("ask_exercises/exercises_repetitions", 0.2),
            ("ask_exercises/exercises_purpose", 0.2), ("ask_exercises/overview", 0.19))),
        State(), d.TOPIC, "exercises",
    ),
    (
        "DIET unsure, the selector sure and DIET's runner-up agrees: the entry",
        "moet ik een foto laten maken voor de zekerheid",
        make_parse(d.FALLBACK_INTENT, 0.4, ranking=[
            {"name": d.FALLBACK_INTENT, "confidence": 0.4}, {"name": "ask_imaging", "confidence": 0.38},
            {"name": "ask_when_to_see_gp", "confidence": 0.2}],
            selector=sel(("ask_imaging/imaging_want_certainty", 0.8))),
        State(), d.FAQ, "imaging_want_certainty",
    ),
    (
        "evidence split over two questions: ask which one is meant",
        "is dat erg met mijn rug",
        make_parse(d.FALLBACK_INTENT, 0.3, ranking=[
            {"name": d.FALLBACK_INTENT, "confidence": 0.3}, {"name": "ask_movement_harmful", "confidence": 0.25},
            {"name": "ask_what_is_lbp", "confidence": 0.22}],
            selector=sel(("ask_what_is_lbp/what_is_lbp_dangerous", 0.3),
                         ("ask_movement_harmful/movement_harmful_with_pain", 0.25))),
        State(), d.CLARIFY, "clarify",
    ),
    (
        "another body part: what the assistant is for, and where to go",
        "wat kan ik doen aan mijn knie",
        make_parse("out_of_scope", 0.85, selector=sel(("out_of_scope/other_complaint", 0.9))),
        State(), d.SCOPE, "out_of_scope/other_complaint",
    ),
    (
        "a repeat prescription: GP or pharmacist",
        "herhaalrecept bloeddrukpillen",
        make_parse("out_of_scope", 0.8, selector=sel(("out_of_scope/medication", 0.7))),
        State(), d.SCOPE, "out_of_scope/medication",
    ),
    (
        "costs: the practice file's answer (the example says it does not know)",
        "wat kost een behandeling",
        make_parse("ask_practice_admin", 0.9, selector=sel(("ask_practice_admin/costs", 0.8))),
        State(), d.ADMIN, "admin/costs",
    ),
    (
        "a named location: its number",
        "wat is het nummer van de vestiging in uden",
        make_parse("ask_practice_contact", 0.9),
        State(), d.CONTACT, "contact/uden",
    ),
    (
        "a number without a location: which location (no wall of numbers)",
        "wat is jullie telefoonnummer",
        make_parse("ask_practice_contact", 0.9),
        State(), d.CONTACT, "contact/which_location",
    ),
    (
        "a specialisation: who does it",
        "wie doet er dry needling",
        make_parse("ask_practice_contact", 0.9),
        State(), d.CONTACT, "contact/team",
    ),
    (
        "follow-up: 'hoe vaak?' after the exercises answer",
        "en hoe vaak dan?",
        make_parse(d.FALLBACK_INTENT, 0.3),
        State(topic="exercises", answer_id="exercises"), d.FAQ, "exercises_how_often",
    ),
    (
        "follow-up: pregnancy after a painkiller answer finds the pregnancy entry",
        "en als ik zwanger ben?",
        make_parse("ask_pregnancy", 0.6),
        State(topic="pain_medication", answer_id="pain_medication_which_first"), d.FAQ, "pregnancy_painkillers",
    ),
    (
        "follow-up: the number of the location asked about before",
        "wat is daar het nummer?",
        make_parse(d.FALLBACK_INTENT, 0.3),
        State(topic="practice_contact", answer_id="contact/tilburg", location="Tilburg"), d.CONTACT, "contact/tilburg",
    ),
    (
        "not a follow-up: a new subject word goes to what NLU recognised",
        "en mag ik sporten met rugpijn?",
        make_parse("ask_sports", 0.9, selector=sel(("ask_sports/overview", 0.6))),
        State(topic="exercises", answer_id="exercises_how_often"), d.TOPIC, "sports",
    ),
    (
        "a FAQ entry chosen by button",
        '/ask_exercises{"faq_entry":"exercises_how_often"}',
        make_parse("ask_exercises", 1.0, entities=[{"entity": "faq_entry", "value": "exercises_how_often"}]),
        State(), d.FAQ, "exercises_how_often",
    ),
    (
        "a location chosen by button",
        '/ask_practice_contact{"location":"Veghel"}',
        make_parse("ask_practice_contact", 1.0, entities=[{"entity": "location", "value": "Veghel"}]),
        State(), d.CONTACT, "contact/veghel",
    ),
    (
        "gibberish: a rephrase request",
        "asdfgh jkl",
        make_parse(d.FALLBACK_INTENT, 0.2),
        State(), d.FALLBACK, "fallback",
    ),
    (
        "no words at all: the input reply",
        "???",
        make_parse(d.FALLBACK_INTENT, 0.2),
        State(), d.INPUT, "fallback",
    ),
    (
        "a back-pain question nothing answers: honestly not covered",
        "helpt acupunctuur bij rugpijn",
        make_parse(d.FALLBACK_INTENT, 0.3, ranking=[{"name": d.FALLBACK_INTENT, "confidence": 0.3}]),
        State(), d.NOT_COVERED, "not_covered",
    ),
    (
        "small talk",
        "daaag",
        make_parse("goodbye", 0.8),
        State(), d.CONVERSATION, "goodbye",
    ),
    (
        "asking for a person: the handoff",
        "verbind me door met een fysio",
        make_parse("request_human", 0.85),
        State(), d.CONVERSATION, "human_handoff",
    ),
    (
        "a request to delete the conversation: first the question for confirmation",
        "kunnen jullie al mijn gegevens verwijderen?",
        make_parse("request_human", 0.6),
        State(), d.PRIVACY_CONFIRM, "privacy/confirm_delete",
    ),
    (
        "the yes button after the question for confirmation: delete",
        "/affirm",
        make_parse("affirm", 1.0),
        State(topic="privacy", answer_id="privacy/confirm_delete"), d.PRIVACY_DELETE, "privacy/deleted",
    ),
    (
        "a typed yes after the question for confirmation: delete",
        "ja graag",
        make_parse("affirm", 0.8),
        State(topic="privacy", answer_id="privacy/confirm_delete"), d.PRIVACY_DELETE, "privacy/deleted",
    ),
    (
        "no after the question for confirmation: nothing is deleted",
        "nee, bewaar het maar",
        make_parse("deny", 0.9),
        State(topic="privacy", answer_id="privacy/confirm_delete"), d.PRIVACY_KEEP, "privacy/kept",
    ),
    (
        "a yes without the question for confirmation deletes nothing",
        "ja",
        make_parse("affirm", 0.9),
        State(topic="exercises", answer_id="exercises"), d.CONVERSATION, "acknowledge",
    ),
    (
        "another question while the confirmation waits: answered, nothing deleted",
        "hoe vaak moet ik die oefeningen doen",
        make_parse("ask_exercises", 0.92, selector=sel(("ask_exercises/exercises_how_often", 0.8))),
        State(topic="privacy", answer_id="privacy/confirm_delete"), d.FAQ, "exercises_how_often",
    ),
    (
        "a red flag goes before a request to delete",
        "verwijder mijn gegevens, ik kan sinds gisteren niet meer plassen",
        make_parse("request_human", 0.6),
        State(), d.RED_FLAG, "red_flag/emergency",
    ),
    (
        "what happens to my data: a short explanation",
        "wat doen jullie met mijn gegevens?",
        make_parse("ask_practice_admin", 0.5),
        State(), d.PRIVACY_INFO, "privacy/info",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("why", "text", "parse", "state", "kind", "answer_id"), TABLE, ids=[row[0] for row in TABLE])
def test_decide(why: str, text: str, parse: Dict[str, Any], state: State, kind: str, answer_id: str) -> None:
    decision = decide(text, parse, state, get_services())
    assert (decision.kind, decision.answer_id) == (kind, answer_id), decision.reason


def test_every_table_row_composes_a_reply_with_its_answer_id() -> None:
    services = get_services()
    for why, text, parse, state, _kind, answer_id in TABLE:
        decision = decide(text, parse, state, services)
        reply = compose(decision, services, text, state)
        assert reply.texts and all(t.strip() for t in reply.texts), why
        assert reply.answer_id == answer_id, why


def reply_for(text: str, parse: Dict[str, Any], state: Optional[State] = None) -> Tuple[d.Decision, Any]:
    services = get_services()
    state = state or State()
    decision = decide(text, parse, state, services)
    return decision, compose(decision, services, text, state)


def test_faq_reply_is_the_entry_answer_closed_by_the_disclaimer() -> None:
    _, reply = reply_for(
        "hoe vaak oefenen", make_parse("ask_exercises", 0.9, selector=sel(("ask_exercises/exercises_how_often", 0.8)))
    )
    services = get_services()
    entry = services.knowledge.faq["exercises_how_often"]
    assert reply.texts[0].startswith(entry.answer.strip().splitlines()[0])
    assert services.knowledge.disclaimer in reply.texts[0]
    assert reply.topic == "exercises"


def test_topic_reply_offers_the_likeliest_specific_questions_as_buttons() -> None:
    decision, reply = reply_for("welke oefeningen", TABLE[3][2])
    assert decision.related
    payloads = [b["payload"] for b in reply.buttons]
    assert '/ask_exercises{"faq_entry":"exercises_how_often"}' in payloads


def test_clarifying_question_offers_the_options_and_a_way_out() -> None:
    _, reply = reply_for(TABLE[6][1], TABLE[6][2])
    assert reply.texts == [get_services().knowledge.message("clarify_intro")]
    assert len(reply.buttons) == 3
    assert reply.buttons[-1]["payload"] == "/nlu_fallback"


def test_contact_without_a_location_asks_which_one_with_a_button_per_location() -> None:
    _, reply = reply_for("telefoonnummer?", make_parse("ask_practice_contact", 0.9))
    practice = get_services().practice
    assert [b["title"] for b in reply.buttons] == [loc.name for loc in practice.main[0].locations]
    assert not any(ch.isdigit() for ch in reply.texts[0].replace("8", ""))  # no numbers, only the count


def test_not_covered_gives_one_way_to_reach_the_practice_not_a_wall_of_numbers() -> None:
    _, reply = reply_for("helpt acupunctuur bij rugpijn", make_parse(d.FALLBACK_INTENT, 0.3))
    text = "\n".join(reply.texts)
    assert text.count("bellen op") == 1
    assert "U kunt FysioMaatwerk Uden bellen op 0413-263002." in text


@pytest.mark.parametrize(
    "answer_id",
    ["admin/costs", "admin/insurance", "admin/referral", "admin/waiting_list", "admin/opening_hours", "admin/cancel"],
)
def test_administration_without_practice_details_says_so_and_gives_one_way_to_ask(answer_id: str) -> None:
    key = answer_id.split("/")[1]
    _, reply = reply_for(
        "vraag", make_parse("ask_practice_admin", 0.9, selector=sel((f"ask_practice_admin/{key}", 0.9)))
    )
    assert reply.answer_id == answer_id
    assert reply.texts[0].count("bellen op") == 1


def test_administration_uses_the_practice_file_when_filled_in(monkeypatch) -> None:
    services = get_services()
    monkeypatch.setitem(services.practice.administration, "costs", "Een behandeling kost 40 euro.")
    _, reply = reply_for(
        "kosten", make_parse("ask_practice_admin", 0.9, selector=sel(("ask_practice_admin/costs", 0.9)))
    )
    assert reply.texts[0].startswith("Een behandeling kost 40 euro.")


def test_state_after_a_reply_carries_topic_answer_and_location() -> None:
    services = get_services()
    text = "nummer van tilburg"
    parse = make_parse("ask_practice_contact", 0.9)
    decision = decide(text, parse, State(), services)
    state = next_state(State(), text, decision, compose(decision, services, text))
    assert (state.topic, state.answer_id, state.location) == ("practice_contact", "contact/tilburg", "Tilburg")
    assert state.earlier == (text,)


def test_bot_challenge_does_not_open_with_yes() -> None:
    _, reply = reply_for("praat ik met een mens?", make_parse("bot_challenge", 0.9))
    assert not reply.texts[0].lower().startswith("ja")


def test_unknown_selector_keys_are_ignored() -> None:
    parse = make_parse("ask_exercises", 0.9, selector=sel(("ask_exercises/removed_entry", 0.9)))
    decision = decide("oefeningen", parse, State(), get_services())
    assert decision.answer_id == "exercises"
