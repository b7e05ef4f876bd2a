"""Escalation, handoff and the safety check, with trackers built inline."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web
from rasa_sdk.executor import CollectingDispatcher

from actions.chat import ActionAnswer
from actions.config import get_knowledge
from actions.handoff import HandoffService, HandoffStore, new_handoff
from actions.safety import classify_answer
from actions.safety_check import (
    ActionEscalate,
    ActionSafetyCheckResult,
    ActionStartSafetyCheck,
    ValidateSafetyCheckForm,
)

from .conftest import make_tracker, run_action, slots_of, user_event


async def run(action, tracker):
    messages, events = await run_action(action, tracker)
    return [m.get("text") or "" for m in messages], messages, events


async def test_emergency_is_escalated_with_what_was_recognised_and_next_step(handoffs):
    tracker = make_tracker("ik kan sinds gisteren niet plassen", "report_red_flag")
    texts, _, events = await run(ActionEscalate(), tracker)
    reply = "\n".join(texts)
    assert "U schrijft dat u niet of moeilijk kunt plassen" in reply
    assert "huisarts" in reply and "huisartsenpost" in reply
    assert "0413-263002" in reply, "the practice's phone number"
    assert slots_of(events)["red_flag_tier"] == "emergency"
    assert "urine_retention" in slots_of(events)["red_flags_reported"]
    record = handoffs.store.recent()[0]
    assert record["tier"] == "emergency" and record["reason"] == "red_flag"
    assert record["flagged_text"] == "ik kan sinds gisteren niet plassen"
    assert record["conversation_id"] == "test-user"


async def test_a_red_flag_is_escalated_whatever_the_intent(handoffs):
    tracker = make_tracker("mag ik sporten? ik heb 39 graden koorts", "ask_sports")
    texts, _, events = await run(ActionAnswer(), tracker)
    assert slots_of(events)["red_flag_tier"] == "same_day"
    assert any("vandaag" in text for text in texts)


async def test_a_button_payload_cannot_skip_the_detector(handoffs):
    _, _, events = await run(ActionAnswer(), make_tracker("/ask_sports ik kan niet plassen", "ask_sports"))
    assert slots_of(events)["red_flag_tier"] == "emergency"


async def test_a_question_about_warning_signs_is_not_escalated(handoffs):
    texts, _, events = await run(ActionAnswer(), make_tracker("wat als ik niet kan plassen?", "ask_when_to_see_gp"))
    assert "red_flag_tier" not in slots_of(events)
    assert slots_of(events)["topic"] == "when_to_see_gp"
    assert handoffs.store.recent() == []


async def test_suicidal_thoughts_get_113_and_112(handoffs):
    texts, _, _ = await run(ActionEscalate(), make_tracker("ik wil niet meer leven", "report_red_flag"))
    reply = "\n".join(texts)
    assert "0800-0113" in reply and "112" in reply


async def test_asking_for_a_human_is_handed_off_without_tier(handoffs):
    texts, _, _ = await run(ActionAnswer(), make_tracker("ik wil een mens spreken", "request_human"))
    record = handoffs.store.recent()[0]
    assert record["reason"] == "human" and record["tier"] is None
    assert get_knowledge().message("handoff_human") in texts


async def test_medical_answers_end_with_disclaimer_and_one_safety_line(handoffs):
    texts, _, _ = await run(ActionAnswer(), make_tracker("is bewegen schadelijk", "ask_movement_harmful"))
    last_lines = texts[0].splitlines()[-2:]
    assert last_lines == [get_knowledge().disclaimer, get_knowledge().message("safety_net")]


async def test_worries_get_reassurance_not_escalation(handoffs):
    texts, _, events = await run(ActionAnswer(), make_tracker("ik durf niet meer te bewegen", "out_of_scope"))
    assert texts[0] == get_knowledge().message("yellow_intro")
    assert slots_of(events)["topic"] == "movement_harmful"
    assert "red_flag_tier" not in slots_of(events)


async def test_own_pain_with_a_question_is_answered_first_then_offered_the_check(handoffs):
    texts, messages, events = await run(
        ActionAnswer(), make_tracker("ik heb sinds gisteren rugpijn, mag ik sporten?", "ask_sports")
    )
    assert slots_of(events)["topic"] == "sports"
    assert texts[-1] == get_knowledge().message("check_offer")
    assert [b["payload"] for b in messages[-1]["buttons"]] == ["/affirm", "/deny"]
    assert slots_of(events)["safety_check_offered"] is True


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ja", "yes"),
        ("Ja, dat klopt", "yes"),
        ("/affirm", "yes"),
        ("nee", "no"),
        ("nee hoor", "no"),
        ("neen", "no"),
        ("/deny", "no"),
        ("weet ik niet", "unknown"),
        ("geen idee", "unknown"),
        ("/dont_know", "unknown"),
        ("mag ik sporten?", None),
    ],
)
def test_classify_answer(text, expected):
    assert classify_answer(text) == expected


CHECK_SLOTS = ["check_bladder", "check_saddle", "check_leg_weakness", "check_fever", "check_fall", "check_duration"]
FORM_DOMAIN = {
    "forms": {"safety_check_form": {"required_slots": CHECK_SLOTS}},
    "slots": {slot: {"type": "text", "mappings": [{"type": "from_text"}]} for slot in CHECK_SLOTS},
}


def form_tracker(text, intent, requested):
    """The tracker as the form sends it: the answer extracted into the requested slot."""
    tracker = make_tracker(text, intent, slots={"requested_slot": requested, requested: text})
    tracker.active_loop = {"name": "safety_check_form"}
    tracker.events.append({"event": "slot", "name": requested, "value": text})
    return tracker


async def validate(text, intent, requested):
    dispatcher = CollectingDispatcher()
    events = await ValidateSafetyCheckForm().run(dispatcher, form_tracker(text, intent, requested), FORM_DOMAIN)
    return slots_of(events), [m.get("text") for m in dispatcher.messages]


async def test_no_moves_to_the_next_question():
    slots, _ = await validate("nee", "deny", "check_bladder")
    assert slots == {"check_bladder": "no"}


async def test_yes_ends_the_check_at_once():
    slots, _ = await validate("ja", "affirm", "check_saddle")
    assert slots["check_saddle"] == "yes"
    assert all(slots[s] == "skipped" for s in ["check_leg_weakness", "check_fever", "check_fall", "check_duration"])


async def test_a_red_flag_written_as_an_answer_ends_the_check():
    slots, _ = await validate("ik heb 39 graden koorts", "report_red_flag", "check_bladder")
    assert slots["check_saddle"] == "skipped"


async def test_unclear_answer_is_asked_again():
    slots, texts = await validate("tja lastig", "out_of_scope", "check_fever")
    assert slots == {"check_fever": None}
    assert texts == [get_knowledge().message("check_unclear")]


async def test_a_question_during_the_check_is_answered_and_the_check_goes_on():
    slots, texts = await validate("mag ik sporten?", "ask_sports", "check_fever")
    assert slots == {"check_fever": None}
    assert texts and "sport" in texts[0].lower()


async def test_stop_ends_the_check():
    slots, _ = await validate("stop", "stop_check", "check_fever")
    assert slots["check_fever"] == "stopped"


def result_tracker(answers, texts=("nee",)):
    events = [{"event": "action", "name": "action_start_safety_check"}] + [user_event(t) for t in texts]
    tracker = make_tracker(texts[-1], None, slots=answers)
    tracker.events = events
    return tracker


async def test_check_with_only_no_answers_reassures_and_gives_self_care(handoffs):
    answers = {s: "no" for s in ["check_bladder", "check_saddle", "check_leg_weakness", "check_fever", "check_fall"]}
    texts, _, events = await run(ActionSafetyCheckResult(), result_tracker({**answers, "check_duration": "3 dagen"}))
    assert texts[0] == get_knowledge().message("check_reassure")
    assert "2 dagen" in texts[1]
    assert "red_flag_tier" not in slots_of(events)


async def test_check_with_a_yes_escalates(handoffs):
    answers = {"check_bladder": "no", "check_saddle": "yes"}
    texts, _, events = await run(ActionSafetyCheckResult(), result_tracker(answers, ("nee", "ja")))
    assert slots_of(events)["red_flag_tier"] == "emergency"
    assert handoffs.store.recent()[0]["tier"] == "emergency"


async def test_check_with_dont_know_invites_to_phone_when_in_doubt(handoffs):
    answers = {"check_bladder": "unknown", "check_saddle": "no"}
    texts, _, _ = await run(ActionSafetyCheckResult(), result_tracker(answers))
    assert texts[0].startswith("U weet niet zeker of")


async def test_start_clears_earlier_answers():
    texts, _, events = await run(ActionStartSafetyCheck(), make_tracker("ik heb rugpijn", "describe_back_pain"))
    assert texts == [get_knowledge().message("check_intro")]
    assert slots_of(events)["check_bladder"] is None


async def test_notification_is_retried_and_a_failure_recorded(tmp_path):
    calls = []

    async def handler(request):
        calls.append(await request.json())
        return web.Response(status=503 if len(calls) < 2 else 200)

    app = web.Application()
    app.router.add_post("/hook", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    try:
        service = HandoffService(HandoffStore(tmp_path / "h.db"), f"http://127.0.0.1:{port}/hook")
        service.hand_off(new_handoff("c1", "red_flag", "emergency", "ik kan niet plassen"))
        await service.drain()
        record = service.store.recent()[0]
        assert record["notify_status"] == "sent" and record["notify_attempts"] == 2
        assert calls[0]["conversation_id"] == "c1" and calls[0]["tier"] == "emergency"

        broken = HandoffService(HandoffStore(tmp_path / "h2.db"), "http://127.0.0.1:9/nothing-listens")
        broken.hand_off(new_handoff("c2", "human", None, "mens graag"))
        await broken.drain()
        failed = broken.store.recent()[0]
        assert failed["notify_status"] == "failed" and failed["notify_attempts"] == 3 and failed["notify_error"]
    finally:
        await runner.cleanup()
        await asyncio.sleep(0)


async def test_empty_slots_at_the_start_of_the_check_stay_empty_and_silent():
    """When the form starts, Rasa validates every empty slot: nothing may be filled or said."""
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("ik heb rugpijn", "describe_back_pain", slots={"requested_slot": None})
    tracker.events += [{"event": "slot", "name": slot, "value": None} for slot in CHECK_SLOTS]
    events = await ValidateSafetyCheckForm().run(dispatcher, tracker, FORM_DOMAIN)
    assert all(value is None for value in slots_of(events).values())
    assert dispatcher.messages == []


async def test_a_resolved_red_flag_is_not_escalated_but_checked_once(handoffs):
    texts, _, events = await run(
        ActionAnswer(), make_tracker("vorig jaar koorts gehad, nu niet meer. mag ik sporten?", "ask_sports")
    )
    assert "red_flag_tier" not in slots_of(events)
    assert slots_of(events)["topic"] == "sports"
    assert texts[-1].startswith("U schrijft dat dit eerder speelde: dat u koorts")
    assert handoffs.store.recent() == []


async def test_a_sign_completed_by_an_earlier_turn_is_escalated(handoffs):
    tracker = make_tracker("nee, dit is de eerste keer dat ik rugpijn heb", "deny", earlier=["hoi", "ik ben 58"])
    texts, _, events = await run(ActionAnswer(), tracker)
    reply = "\n".join(texts)
    assert slots_of(events)["red_flag_tier"] == "gp_soon"
    assert "U schrijft dat u voor het eerst rugpijn heeft en jonger dan 20 of ouder dan 50 bent" in reply


async def test_the_check_does_not_ask_again_what_the_patient_already_denied():
    tracker = make_tracker(
        "ik heb sinds gisteren rugpijn", "describe_back_pain", earlier=["ik heb geen koorts en ik ben niet gevallen"]
    )
    _, _, events = await run(ActionStartSafetyCheck(), tracker)
    slots = slots_of(events)
    assert slots["check_fever"] == "no" and slots["check_fall"] == "no"
    assert slots["check_bladder"] is None and slots["check_saddle"] is None


async def test_an_answer_given_earlier_passes_the_check_validator_unchanged():
    tracker = make_tracker("ik heb rugpijn", "describe_back_pain", slots={"requested_slot": None})
    dispatcher = CollectingDispatcher()
    result = await ValidateSafetyCheckForm().validate_check_fever("no", dispatcher, tracker, {})
    assert result == {"check_fever": "no"} and not dispatcher.messages


async def test_a_disagreement_of_the_detectors_is_stored_for_review(handoffs):
    from actions.config import get_review_store

    text = "sinds gisteren blijft mijn voet steeds achter de stoeprand haken"
    _, _, events = await run(ActionAnswer(), make_tracker(text, "ask_symptoms", sender="review-me"))
    assert slots_of(events)["red_flag_tier"] == "emergency"
    conversation, message, tier, note, _ = get_review_store().latest()[0]
    assert (conversation, message, tier) == ("review-me", text, "emergency") and "learned only" in note


async def test_a_sign_only_the_learned_detector_suspects_gets_the_check_offered(handoffs, monkeypatch):
    from actions.config import get_detector, get_services
    from actions.redflags import RedFlagDetector

    from .test_red_flag_detectors import FixedLearned

    real = get_detector()
    suspicious = RedFlagDetector(real.rules, real.normalise, FixedLearned({"fever_ill": 0.6}))
    monkeypatch.setattr(get_services(), "detector", suspicious)
    tracker = make_tracker("ik voel me niet zo lekker vandaag", "ask_symptoms")
    texts, messages, events = await run(ActionAnswer(), tracker)
    assert texts[-1] == get_knowledge().message("check_offer_unsure")
    assert [b["payload"] for b in messages[-1]["buttons"]] == ["/affirm", "/deny"]
    assert slots_of(events)["safety_check_offered"] is True and "red_flag_tier" not in slots_of(events)


async def test_a_message_escalate_finds_no_flag_in_is_answered_and_reviewed_once(handoffs, monkeypatch):
    from actions.config import get_detector, get_review_store, get_services
    from actions.redflags import RedFlagDetector

    from .test_red_flag_detectors import FixedLearned

    real = get_detector()
    suspicious = RedFlagDetector(real.rules, real.normalise, FixedLearned({"fever_ill": 0.6}))
    monkeypatch.setattr(get_services(), "detector", suspicious)
    texts, _, events = await run(
        ActionEscalate(), make_tracker("/report_red_flag ik voel me niet lekker", "ask_symptoms")
    )
    assert texts[-1] == get_knowledge().message("check_offer_unsure") and "red_flag_tier" not in slots_of(events)
    assert len(get_review_store().latest()) == 1
