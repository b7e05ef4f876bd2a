"""Leaflet answers in the chat and at the front desk: passage with source, "Meer lezen", not covered, red flag first."""

from __future__ import annotations

import pytest

from actions.chat import ActionAnswer
from actions.config import get_knowledge
from actions.frontdesk import lookup

from .conftest import make_tracker, run_action, slots_of

KNOWLEDGE = get_knowledge()


async def run(action, tracker):
    messages, events = await run_action(action, tracker)
    return messages, slots_of(events)


async def test_an_unknown_question_is_answered_from_a_leaflet_with_its_source():
    messages, slots = await run(ActionAnswer(), make_tracker("helpt zo'n rugkorset eigenlijk?", "nlu_fallback"))
    first = messages[0]["text"]
    assert first.startswith("Uit de webpagina 'Oefeningen en tips voor uw rug' van de praktijk, bij '")
    assert "rugbrace" in first.lower()
    assert KNOWLEDGE.disclaimer in [m["text"] for m in messages]
    buttons = [b for m in messages for b in m.get("buttons") or []]
    assert {"title": "Meer lezen", "payload": "/read_more"} in buttons
    assert slots["topic"] == "leaflet" and slots["leaflet_passage"].startswith("oefeningen.html#")


async def test_a_question_the_leaflets_do_not_cover_gets_an_honest_answer_and_the_practice_number():
    messages, slots = await run(ActionAnswer(), make_tracker("wat kost parkeren bij jullie in Uden?", "nlu_fallback"))
    assert messages[0]["text"].startswith("Daar vind ik geen antwoord op in de folders")
    assert "0413-263002" in messages[0]["text"]
    assert slots["topic"] == "not_covered" and "leaflet_passage" not in slots


async def test_a_red_flag_goes_before_any_leaflet_answer(handoffs):
    messages, slots = await run(
        ActionAnswer(),
        make_tracker("ik kan sinds vanochtend niet meer plassen, helpt een brace?", "nlu_fallback"),
    )
    assert slots["red_flag_tier"] == "emergency"
    assert not any(m["text"].startswith("Uit ") for m in messages)


async def test_not_covered_also_offers_the_closest_topics():
    ranking = [{"name": "nlu_fallback", "confidence": 0.4}, {"name": "ask_imaging", "confidence": 0.12}]
    messages, _ = await run(
        ActionAnswer(), make_tracker("helpt acupunctuur tegen rugpijn?", "nlu_fallback", ranking=ranking)
    )
    assert messages[0]["text"].startswith("Daar vind ik geen antwoord op in de folders")


async def test_a_likely_topic_is_asked_about_instead_of_guessed():
    ranking = [{"name": "nlu_fallback", "confidence": 0.4}, {"name": "ask_imaging", "confidence": 0.3}]
    messages, slots = await run(ActionAnswer(), make_tracker("fotoo van de rugg??", "nlu_fallback", ranking=ranking))
    assert messages[0]["text"] == KNOWLEDGE.message("clarify_intro")
    assert [b["payload"] for b in messages[-1]["buttons"]][0] == "/ask_imaging"
    assert slots["answer_id"] == "clarify"


async def test_out_of_scope_without_content_words_says_what_the_assistant_does():
    messages, _ = await run(ActionAnswer(), make_tracker("/out_of_scope", "out_of_scope"))
    assert messages[0]["text"].startswith("Daar kan ik u niet mee helpen.")


async def test_read_more_goes_on_in_the_same_leaflet_and_says_when_it_ends():
    _, slots = await run(
        ActionAnswer(), make_tracker("welke oefeningen kan ik thuis doen voor mijn rug", "nlu_fallback")
    )
    position = slots["leaflet_passage"]
    seen = []
    for _ in range(30):
        messages, slots = await run(
            ActionAnswer(), make_tracker("meer lezen", "read_more", slots={"leaflet_passage": position})
        )
        seen.append(messages[0]["text"])
        if "leaflet_passage" not in slots or slots["leaflet_passage"] == position:
            break
        position = slots["leaflet_passage"]
    assert seen[0] != seen[1]
    assert seen[-1] == KNOWLEDGE.message("leaflet_end", title="Oefeningen en tips voor uw rug")


async def test_read_more_without_a_passage_says_so():
    messages, _ = await run(ActionAnswer(), make_tracker("meer lezen", "read_more"))
    assert messages[0]["text"] == KNOWLEDGE.message("leaflet_nothing_to_read")


async def test_where_does_it_say_that_names_the_leaflet_file_and_heading():
    _, slots = await run(ActionAnswer(), make_tracker("moet ik een scan laten maken", "nlu_fallback"))
    messages, _ = await run(ActionAnswer(), make_tracker("waar staat dat?", "ask_source", slots=slots))
    assert messages[0]["text"].startswith("Dit stuk komt uit de folder 'Bij de fysiotherapeut' van de praktijk, bij '")
    assert "(bestand: bij-de-fysiotherapeut.md)" in messages[0]["text"]


@pytest.mark.parametrize(
    ("question", "parsed_intent", "kind", "topic"),
    [
        ("moet ik een foto laten maken?", "ask_imaging", "topic", "imaging"),
        ("helpt een rugkorset?", "nlu_fallback", "passage", "leaflet"),
        ("wat kost parkeren in Uden?", "out_of_scope", "contact", "practice_contact"),
        ("ik kan niet plassen", "ask_imaging", "red_flag", None),
    ],
)
def test_front_desk_lookup(question, parsed_intent, kind, topic):
    result = lookup(question, {"intent": {"name": parsed_intent, "confidence": 0.9}})
    assert result["kind"] == kind
    if topic:
        assert result["topic"] == topic
    assert result["answer"]
    assert len(result["passages"]) <= 3
    assert all({"file", "heading", "score", "confidence", "text"} <= set(p) for p in result["passages"])
    if kind == "passage":
        assert result["source"]["file"] == "oefeningen.html"


def test_front_desk_lookup_without_nlu_uses_the_leaflets():
    result = lookup("helpt een rugkorset?", None)
    assert (result["nlu"], result["kind"]) == ("unavailable", "passage")


async def test_a_long_passage_is_shown_from_the_part_that_answers():
    messages, _ = await run(ActionAnswer(), make_tracker("wat is de ziekte van Scheuermann?", "nlu_fallback"))
    assert "Scheuermann" in messages[0]["text"]


async def test_a_specific_thing_only_a_leaflet_explains_beats_a_general_topic_answer():
    messages, slots = await run(ActionAnswer(), make_tracker("wat is de ziekte van Scheuermann?", "ask_what_is_lbp"))
    assert (
        messages[0]["text"].startswith("Uit de folder 'Lage rugpijn begrijpen'")
        and "Scheuermann" in messages[0]["text"]
    )
    assert slots["topic"] == "what_is_lbp", "the topic slot keeps the parent topic of a leaflet answer"
    assert slots["answer_id"].startswith("leaflet/")
    messages, slots = await run(ActionAnswer(), make_tracker("moet ik een röntgenfoto laten maken", "ask_imaging"))
    assert slots["topic"] == "imaging"


def test_front_desk_names_the_topic_a_specific_passage_replaced():
    result = lookup("wat is de ziekte van Scheuermann?", {"intent": {"name": "ask_what_is_lbp", "confidence": 0.9}})
    assert (result["kind"], result["instead_of"]) == ("passage", "what_is_lbp")


def test_front_desk_lookup_names_kind_topic_and_sources_in_words():
    result = lookup("is bewegen schadelijk?", {"intent": {"name": "ask_movement_harmful", "confidence": 0.95}})
    assert result["kind"] in ("topic", "faq") and result["kind_label"] in ("Antwoord op het onderwerp", "FAQ-antwoord")
    assert result["topic_label"] and result["topic_label"] != "movement_harmful"
    assert result["source_titles"] and all("(" in title for title in result["source_titles"]), result["source_titles"]
