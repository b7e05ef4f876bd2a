"""The chat's thin Rasa actions around the one decision (actions.answers.decide).

`action_answer` answers every question; a reported red flag is escalated instead.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.answers.decide import (
    DESCRIBE,
    INPUT,
    OWN_PAIN_FLAG,
    PRIVACY_DELETE,
    RED_FLAG,
    Decision,
    State,
    decide,
    strip_payload,
)
from actions.answers.reply import compose, slot_values
from actions.compose import with_reassurance
from actions.config import (
    get_detector,
    get_handoff_service,
    get_knowledge,
    get_practice,
    get_review_store,
    get_services,
)
from actions.handoff import new_handoff
from actions.leaflets.replies import PASSAGE_SLOT
from actions.redflags import RED_TIERS, RESOLVED, Assessment, describe
from actions.safety import escalation_reply, highest_tier, yes_no_buttons

logger = logging.getLogger(__name__)

TOPIC_SLOT = "topic"
ANSWER_SLOT = "answer_id"
LOCATION_SLOT = "location"
RED_FLAG_TIER_SLOT = "red_flag_tier"
RED_FLAGS_SLOT = "red_flags_reported"
OFFER_SLOT = "safety_check_offered"


def latest_text(tracker: Tracker) -> str:
    """Returns the text of the latest user message ('' when there is none)."""
    return tracker.latest_message.get("text") or ""


def latest_intent(tracker: Tracker) -> Optional[str]:
    """Returns the intent NLU gave the latest user message."""
    return (tracker.latest_message.get("intent") or {}).get("name")


def previous_flags(tracker: Tracker) -> List[str]:
    """Red flags reported earlier in this conversation."""
    return list(tracker.get_slot(RED_FLAGS_SLOT) or [])


def earlier_texts(tracker: Tracker) -> List[str]:
    """The patient's earlier messages in this conversation (oldest first; button payloads left out)."""
    texts = [strip_payload(event.get("text") or "") for event in tracker.events if event.get("event") == "user"]
    return [text for text in texts[:-1] if text.strip()]


def assess_latest(tracker: Tracker) -> Assessment:
    """Reads the latest message with both red-flag detectors and the conversation's earlier turns.

    A disagreement between the detectors is stored for review.
    """
    text = strip_payload(latest_text(tracker))
    assessment = get_detector().assess(text, previous_flags(tracker), earlier=earlier_texts(tracker))
    store_disagreement(tracker, text, assessment)
    return assessment


def store_disagreement(tracker: Tracker, text: str, assessment: Optional[Assessment]) -> None:
    """Stores a disagreement between the two red-flag detectors for review (never stops the answer)."""
    if assessment is None or not assessment.disagreement:
        return
    try:
        get_review_store().add(tracker.sender_id, text, assessment.tier, assessment.disagreement)
    except Exception:  # noqa: BLE001 - a review log that cannot be written must not stop the answer
        logger.exception("Could not store a red-flag disagreement for review")


def escalate(dispatcher: CollectingDispatcher, tracker: Tracker, assessment: Assessment) -> List[EventType]:
    """Sends the escalation for a red-flag or crisis report, hands off to the front desk, records the tier."""
    knowledge, practice, detector = get_knowledge(), get_practice(), get_detector()
    reply = escalation_reply(knowledge, practice, detector.rules, assessment)
    reported = [f.flag for f in assessment.reported(RED_TIERS + ("crisis",))]
    for text in reply.texts:
        dispatcher.utter_message(text=text)
    get_handoff_service().hand_off(
        new_handoff(tracker.sender_id, "red_flag", assessment.tier or "crisis", latest_text(tracker))
    )
    dispatcher.utter_message(text=knowledge.message("handoff_red_flag"))
    tier = highest_tier([assessment.tier, tracker.get_slot(RED_FLAG_TIER_SLOT)])
    return [
        SlotSet(TOPIC_SLOT, reply.topic),
        SlotSet(ANSWER_SLOT, f"red_flag/{assessment.tier or 'crisis'}"),
        SlotSet(RED_FLAG_TIER_SLOT, tier),
        SlotSet(RED_FLAGS_SLOT, sorted(set(previous_flags(tracker)) | set(reported))),
        SlotSet(OFFER_SLOT, False),
    ]


def forget_outside_tracker(sender_id: str) -> None:
    """Deletes what the front desk and the review keep of this conversation (the patient asked).

    The conversation itself is deleted by the tracker store when it saves the `answer_id` slot
    set to `DELETED_ANSWER_ID` (actions.privacy.tracker_store).
    """
    handoffs = get_handoff_service().store.delete_conversation(sender_id)
    reviews = get_review_store().delete_conversation(sender_id)
    logger.info(
        "Conversation %s: %d handoffs and %d review items deleted at the patient's request",
        sender_id,
        handoffs,
        reviews,
    )


def conversation_state(tracker: Tracker) -> State:
    """What `decide` needs to know of the conversation so far."""
    return State(
        topic=tracker.get_slot(TOPIC_SLOT),
        answer_id=tracker.get_slot(ANSWER_SLOT),
        location=tracker.get_slot(LOCATION_SLOT),
        passage=tracker.get_slot(PASSAGE_SLOT),
        previous_flags=tuple(previous_flags(tracker)),
        earlier=tuple(earlier_texts(tracker)),
    )


def decide_latest(tracker: Tracker) -> Tuple[Decision, State]:
    """The decision for the latest message; a red-flag disagreement between the detectors is stored for review."""
    state = conversation_state(tracker)
    text = latest_text(tracker)
    decision = decide(text, tracker.latest_message, state, get_services())
    store_disagreement(tracker, strip_payload(text), decision.assessment)
    return decision, state


class ActionAnswer(Action):
    """Answers every question: `decide` chooses, `compose` words it, this action sends it.

    The decision reads the message for red flags first, so no rule, intent or button payload
    can skip the escalation. Worries get a word of reassurance first; a patient with their own
    back pain is offered the short safety check.
    """

    def name(self) -> str:
        """Action name in the domain."""
        return "action_answer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> List[EventType]:
        """Decides, sends the reply and sets the slots (topic, answer_id and the reply's own)."""
        decision, state = decide_latest(tracker)
        assessment = decision.assessment
        if decision.kind == RED_FLAG:
            return escalate(dispatcher, tracker, assessment)
        services = get_services()
        knowledge = services.knowledge
        text = latest_text(tracker)
        reply = compose(decision, services, text, state)
        problem = decision.kind == INPUT
        if assessment is not None and assessment.yellow and not problem:
            reply = with_reassurance(knowledge, services.practice, reply, assessment, strip_payload(text))
        own_pain = assessment is not None and any(f.flag == OWN_PAIN_FLAG for f in assessment.reported(("context",)))
        # A sign only the learned detector suspects gets the offer too, whatever the answer was about.
        suspected = assessment is not None and assessment.needs_check and not problem
        offer = (reply.medical and own_pain) or suspected
        offered = decision.kind == DESCRIBE  # the reply itself is the offer of the safety check
        for index, message in enumerate(reply.texts):
            last = index == len(reply.texts) - 1 and not offer
            dispatcher.utter_message(text=message, buttons=reply.buttons if last else [])
        if offer:
            key = "check_offer_unsure" if suspected else "check_offer"
            dispatcher.utter_message(text=knowledge.message(key), buttons=yes_no_buttons(knowledge)[:2])
        resolved = (
            [f for f in assessment.findings if f.status == RESOLVED and f.tier in RED_TIERS] if assessment else []
        )
        if resolved and not problem:
            what = describe(services.detector.rules, resolved, knowledge.message("and"))
            dispatcher.utter_message(text=knowledge.message("resolved_check", what=what))
        if reply.handoff:
            get_handoff_service().hand_off(new_handoff(tracker.sender_id, reply.handoff, None, text))
            dispatcher.utter_message(text=knowledge.message("handoff_human"))
        if decision.kind == PRIVACY_DELETE:
            forget_outside_tracker(tracker.sender_id)
        slots = slot_values(reply, decision)
        return [SlotSet(name, value) for name, value in slots.items()] + [SlotSet(OFFER_SLOT, offer or offered)]
