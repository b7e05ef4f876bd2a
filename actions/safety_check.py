"""Actions for red flags: escalation, and the short safety check for people with their own back pain."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.answers.decide import FAQ, PASSAGE, RED_FLAG, TOPIC
from actions.answers.reply import compose, slot_values
from actions.chat import (
    OFFER_SLOT,
    TOPIC_SLOT,
    ActionAnswer,
    assess_latest,
    decide_latest,
    earlier_texts,
    escalate,
    latest_intent,
    latest_text,
    previous_flags,
    strip_payload,
)
from actions.config import get_detector, get_knowledge, get_practice, get_services
from actions.safety import (
    CHECK_FLAGS,
    CHECK_SLOTS,
    SKIPPED,
    YES,
    answered_before,
    check_advice_reply,
    check_assessment,
    classify_answer,
)
from actions.text import is_question

START_ACTION = "action_start_safety_check"
# A back-pain question asked during the check is answered when the decision is one of these.
ANSWER_KINDS = (FAQ, TOPIC, PASSAGE)
STOPPED = "stopped"


class ActionEscalate(Action):
    """A red flag or suicidal thoughts were reported: escalation advice and handoff, at once."""

    def name(self) -> str:
        """Action name in the domain."""
        return "action_escalate"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> List[EventType]:
        """Escalates; if no flag is found after all (a button payload), runs the normal answer.

        The topic answer reads the message for red flags first and escalates, so the message is
        assessed (and a detector disagreement stored) once.
        """
        return await ActionAnswer().run(dispatcher, tracker, domain)


class ActionStartSafetyCheck(Action):
    """Introduces the safety check; answers of an earlier check are cleared, denials said before are kept."""

    def name(self) -> str:
        """Action name in the domain."""
        return START_ACTION

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> List[EventType]:
        """Says what comes; the form asks the questions it has no answer to yet.

        What the patient already denied in this conversation ("geen koorts") is not asked again.
        """
        decision, state = decide_latest(tracker)
        assessment = decision.assessment
        if decision.kind == RED_FLAG:
            return escalate(dispatcher, tracker, assessment)
        answered: List[EventType] = []
        text = latest_text(tracker)
        if decision.kind in ANSWER_KINDS and is_question(strip_payload(text)):
            # A story about their own back pain that ends in a question: the answer first.
            reply = compose(decision, get_services(), text, state)
            for message in reply.texts:
                dispatcher.utter_message(text=message)
            answered = [SlotSet(name, value) for name, value in slot_values(reply, decision).items()]
        detector = get_detector()
        earlier = [detector.patterns.findings(detector.normalise(text)) for text in earlier_texts(tracker)]
        known = answered_before(earlier + [assessment.findings])
        dispatcher.utter_message(text=get_knowledge().message("check_intro"))
        return answered + [SlotSet(slot, known.get(slot)) for slot in CHECK_SLOTS] + [SlotSet(OFFER_SLOT, False)]


def _remaining(current: str) -> List[str]:
    """The check slots after `current` (the questions not yet asked)."""
    return CHECK_SLOTS[CHECK_SLOTS.index(current) + 1 :]


class ValidateSafetyCheckForm(FormValidationAction):
    """Reads each answer of the safety check.

    A red flag in the answer, or "yes" to a question, ends the check at once (the result
    escalates). "Stop" ends it too. A back-pain question asked in between is answered, and
    the same question is asked again: an answer is never held back until the check is done.
    """

    def name(self) -> str:
        """Action name in the domain."""
        return "validate_safety_check_form"

    @staticmethod
    def _finish(slot: str, value: str) -> Dict[str, Any]:
        return {slot: value, **{later: SKIPPED for later in _remaining(slot)}}

    def _answer(self, slot: str, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker) -> Dict[str, Any]:
        if value is None:
            return {slot: None}  # the form validates every still-empty slot when it starts
        if tracker.get_slot("requested_slot") != slot:
            return {slot: value}  # answered earlier in the conversation, not by this message
        knowledge = get_knowledge()
        text = latest_text(tracker)
        intent = latest_intent(tracker)
        if intent == "stop_check":
            return self._finish(slot, STOPPED)
        assessment = assess_latest(tracker)
        if assessment.tier or assessment.crisis:
            answer = classify_answer(text)
            return self._finish(slot, YES if answer == YES else SKIPPED)
        if slot == "check_duration":
            return {slot: str(value).strip() or None}
        answer = classify_answer(text)
        if answer is None and intent and intent.startswith("ask_"):
            decision, state = decide_latest(tracker)
            if decision.kind in ANSWER_KINDS:
                for message in compose(decision, get_services(), text, state).texts:
                    dispatcher.utter_message(text=message)
                return {slot: None}
        if answer is None:
            dispatcher.utter_message(text=knowledge.message("check_unclear"))
            return {slot: None}
        if answer == YES:
            return self._finish(slot, YES)
        return {slot: answer}

    def __getattr__(self, name: str) -> Any:
        """Serves `validate_<slot>` for every question of the check (rasa-sdk looks them up by name)."""
        slot = name[len("validate_") :]
        if not name.startswith("validate_") or slot not in CHECK_SLOTS:
            raise AttributeError(name)

        async def validate(
            slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
        ) -> Dict[str, Any]:
            return self._answer(slot, slot_value, dispatcher, tracker)

        return validate


def _texts_since_start(tracker: Tracker) -> List[str]:
    """The patient's messages since the safety check started."""
    texts: List[str] = []
    for event in reversed(tracker.events):
        if event.get("event") == "action" and event.get("name") == START_ACTION:
            break
        if event.get("event") == "user":
            texts.append(event.get("text") or "")
    return texts


class ActionSafetyCheckResult(Action):
    """After the safety check: escalation per tier, or reassurance with self-care advice."""

    def name(self) -> str:
        """Action name in the domain."""
        return "action_safety_check_result"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> List[EventType]:
        """Grades the answers and the messages written during the check."""
        knowledge, detector = get_knowledge(), get_detector()
        answers: Dict[str, Optional[str]] = {slot: tracker.get_slot(slot) for slot in CHECK_FLAGS}
        written = [
            detector.assess(strip_payload(text), previous_flags(tracker)) for text in _texts_since_start(tracker)
        ]
        assessment = check_assessment(detector.rules, answers, written)
        if assessment.tier or assessment.crisis:
            return escalate(dispatcher, tracker, assessment)
        if STOPPED in (tracker.get_slot(slot) for slot in CHECK_SLOTS):
            dispatcher.utter_message(text=knowledge.message("check_stopped"))
            return [SlotSet(TOPIC_SLOT, "safety_check")]
        reply = check_advice_reply(knowledge, get_practice(), detector.rules, answers)
        for text in reply.texts:
            dispatcher.utter_message(text=text)
        return [SlotSet(TOPIC_SLOT, reply.topic)]
