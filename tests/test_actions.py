"""The custom actions, run with trackers built inline and a collecting dispatcher."""

from __future__ import annotations

import pytest

from actions.chat import ActionAnswer
from actions.config import get_knowledge
from actions.knowledge import SPEC_TOPICS

from .conftest import make_tracker, run_action, slots_of

DISCLAIMER = get_knowledge().disclaimer
SAFETY_NET = get_knowledge().message("safety_net")


@pytest.mark.parametrize("topic", [t for t in SPEC_TOPICS if t != "practice_contact"])
async def test_every_medical_topic_is_answered_and_recorded(topic):
    answer = get_knowledge().answers[topic]
    messages, events = await run_action(ActionAnswer(), make_tracker("een vraag", answer.intents[0]))
    assert len(messages) == 1
    text = messages[0]["text"]
    assert text.startswith(answer.text.strip())
    closing = text.split("\n\n")[-1].splitlines()
    assert closing[0] == DISCLAIMER, "a medical answer ends with the not-a-diagnosis line"
    assert closing[1:] == ([SAFETY_NET] if answer.safety_net else []), "and, where set, when to phone at once"
    assert slots_of(events)["topic"] == topic


@pytest.mark.parametrize(
    ("intent", "topic", "expected"),
    [
        ("greet", "greet", "rugklachten"),
        ("goodbye", "goodbye", ""),
        ("thanks", "thanks", ""),
        ("bot_challenge", "bot_challenge", "computer"),
        ("request_human", "human_handoff", "0413-263002"),
        ("request_appointment", "appointment", "U kunt FysioMaatwerk Uden bellen op 0413-263002."),
        ("out_of_scope", "out_of_scope", "Is bewegen schadelijk?"),
    ],
)
async def test_conversation_topics(intent, topic, expected):
    messages, events = await run_action(ActionAnswer(), make_tracker("hallo", intent))
    text = "\n".join(m["text"] for m in messages)
    assert expected in text
    assert "{" not in text, "placeholders are filled in"
    assert DISCLAIMER not in text
    assert slots_of(events)["topic"] == topic


async def test_greeting_says_what_it_does_that_it_is_no_doctor_and_how_it_stores():
    messages, _ = await run_action(ActionAnswer(), make_tracker("hoi", "greet"))
    text = messages[0]["text"].lower()
    assert "vragen" in text and "rug" in text
    assert "arts" in text
    assert "bewaard" in text


async def test_appointment_gives_the_number_of_the_location_asked_for():
    messages, _ = await run_action(ActionAnswer(), make_tracker("afspraak maken in Veghel", "request_appointment"))
    text = messages[0]["text"]
    assert "0413-365767" in text
    assert "0413-263002" not in text


@pytest.mark.parametrize(
    ("text", "expected", "absent"),
    [
        ("wat is het nummer van FysioMaatwerk Uden?", "0413-263002", "073-6429572"),
        ("wie doet er dry needling?", "Jordi Koning", "Paul Nip"),
        ("wie werken er bij FysioFits", "Paul Nip", "0413"),
        ("wat is jullie telefoonnummer", "Van welke vestiging", "0486-452684"),
    ],
)
async def test_practice_questions_are_answered_from_the_practice_file(text, expected, absent):
    messages, events = await run_action(ActionAnswer(), make_tracker(text, "ask_practice_contact"))
    reply = "\n".join(m["text"] for m in messages)
    assert expected in reply
    assert absent not in reply
    assert slots_of(events)["topic"] == "practice_contact"


async def test_source_of_the_previous_answer():
    messages, events = await run_action(
        ActionAnswer(), make_tracker("waar staat dat?", "ask_source", slots={"topic": "imaging"})
    )
    text = messages[0]["text"]
    assert "de folder 'Lage rugpijn' van FysioMaatwerk" in text
    assert "'Rugklachten'" not in text, "leaflet 000 is not a source of the imaging answer"
    assert slots_of(events)["topic"] == "imaging"


async def test_source_without_a_previous_answer():
    messages, events = await run_action(ActionAnswer(), make_tracker("waar staat dat", "ask_source"))
    assert "nog geen antwoord" in messages[0]["text"]
    assert slots_of(events)["topic"] == "fallback"


async def test_followup_duration_in_context():
    messages, events = await run_action(
        ActionAnswer(), make_tracker("en hoe lang dan?", "ask_followup_duration", slots={"topic": "bed_rest"})
    )
    assert "2 dagen" in messages[0]["text"]
    assert slots_of(events)["topic"] == "bed_rest"


async def test_followup_duration_without_context_gives_the_general_course():
    messages, events = await run_action(
        ActionAnswer(), make_tracker("hoe lang duurt dat", "ask_followup_duration", slots={"topic": "lifting"})
    )
    assert "4 tot 6 weken" in messages[0]["text"]
    assert slots_of(events)["topic"] == "prognosis"


async def test_low_confidence_asks_which_of_the_closest_topics_is_meant():
    ranking = [
        {"name": "nlu_fallback", "confidence": 0.45},
        {"name": "ask_imaging", "confidence": 0.3},
        {"name": "greet", "confidence": 0.1},
        {"name": "ask_hernia", "confidence": 0.08},
        {"name": "ask_work", "confidence": 0.05},
    ]
    messages, events = await run_action(ActionAnswer(), make_tracker("wat bedoel je?", "nlu_fallback", ranking=ranking))
    assert messages[0]["text"] == get_knowledge().message("clarify_intro")
    assert [b["payload"] for b in messages[-1]["buttons"]] == ["/ask_imaging", "/nlu_fallback"]
    assert (slots_of(events)["topic"], slots_of(events)["answer_id"]) == ("clarify", "clarify")


async def test_nothing_likely_asks_to_rephrase_with_the_topics_patients_ask_most():
    ranking = [{"name": "nlu_fallback", "confidence": 0.45}, {"name": "greet", "confidence": 0.1}]
    messages, events = await run_action(ActionAnswer(), make_tracker("wat bedoel je?", "nlu_fallback", ranking=ranking))
    assert messages[0]["text"] == get_knowledge().answers["fallback"].text.strip()
    assert messages[-1]["buttons"][0]["payload"] == "/ask_movement_harmful"
    assert slots_of(events)["answer_id"] == "fallback"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "geen tekst"),
        ("   ", "geen tekst"),
        ("🙈🙈🙈", "geen woorden"),
        ("<script>alert(1)</script>", "geen woorden"),
        ("rug " * 1000, "erg lang"),
        ("Is it bad to move with back pain?", "alleen Nederlands"),
    ],
)
async def test_unusable_input_gets_a_clear_dutch_reply(text, expected):
    messages, events = await run_action(ActionAnswer(), make_tracker(text, "ask_movement_harmful"))
    assert expected in messages[0]["text"]
    assert slots_of(events)["topic"] == "fallback"


async def test_a_button_payload_is_not_treated_as_unusable_input():
    messages, events = await run_action(ActionAnswer(), make_tracker("/ask_imaging", "ask_imaging"))
    assert messages[0]["text"].startswith(get_knowledge().answers["imaging"].text.strip())
    assert slots_of(events)["topic"] == "imaging"
