"""Actions that answer from the knowledge file and the leaflets, after the red-flag check.

Topics, follow-ups, sources, leaflet passages and unclear messages; a reported red flag is
escalated instead.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import Any, Dict, List, Optional, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.compose import (
    Reply,
    answer_reply,
    followup_duration_reply,
    input_problem_reply,
    source_reply,
    suggestion_reply,
    with_reassurance,
)
from actions.config import (
    get_detector,
    get_handoff_service,
    get_knowledge,
    get_leaflet_index,
    get_practice,
    get_review_store,
)
from actions.handoff import new_handoff
from actions.leaflets.index import LeafletIndex
from actions.leaflets.replies import (
    LEAFLET_TOPIC,
    PASSAGE_SLOT,
    Position,
    not_covered_reply,
    passage_reply,
    read_more_reply,
    source_of_passage,
    topic_hints,
)
from actions.redflags import RED_TIERS, RESOLVED, Assessment, describe
from actions.safety import escalation_reply, highest_tier, yes_no_buttons
from actions.text import classify_input

logger = logging.getLogger(__name__)

TOPIC_SLOT = "topic"
RED_FLAG_TIER_SLOT = "red_flag_tier"
RED_FLAGS_SLOT = "red_flags_reported"
OFFER_SLOT = "safety_check_offered"
OWN_PAIN_FLAG = "own_back_pain"


def latest_text(tracker: Tracker) -> str:
    """Returns the text of the latest user message ('' when there is none)."""
    return tracker.latest_message.get("text") or ""


def latest_intent(tracker: Tracker) -> Optional[str]:
    """Returns the intent NLU gave the latest user message."""
    return (tracker.latest_message.get("intent") or {}).get("name")


def strip_payload(text: str) -> str:
    """Returns the words after a button payload ("/ask_imaging ik kan niet plassen" -> the words)."""
    if not text.startswith("/"):
        return text
    return text.partition(" ")[2]


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
    if assessment.disagreement:
        try:
            get_review_store().add(tracker.sender_id, text, assessment.tier, assessment.disagreement)
        except Exception:  # noqa: BLE001 - a review log that cannot be written must not stop the answer
            logger.exception("Could not store a red-flag disagreement for review")
    return assessment


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
        SlotSet(RED_FLAG_TIER_SLOT, tier),
        SlotSet(RED_FLAGS_SLOT, sorted(set(previous_flags(tracker)) | set(reported))),
        SlotSet(OFFER_SLOT, False),
    ]


class ReplyAction(Action, ABC):
    """Sends a `Reply` and records its topic, after the safety checks.

    Before anything else it reads the message for red flags, so no rule, intent or button
    payload can skip the escalation; unusable input gets a clear Dutch reply; worries get a
    word of reassurance first.
    """

    @abstractmethod
    def reply(self, tracker: Tracker) -> Reply:
        """Builds the reply for this tracker."""

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> List[EventType]:
        """Checks for red flags and unusable input, sends the reply and sets the slots."""
        text = latest_text(tracker)
        assessment = assess_latest(tracker)
        if assessment.tier or assessment.crisis:
            return escalate(dispatcher, tracker, assessment)
        knowledge = get_knowledge()
        problem = None if text.startswith("/") else classify_input(text)
        reply = input_problem_reply(knowledge, problem) if problem else self.reply(tracker)
        if assessment.yellow and not problem:
            reply = with_reassurance(knowledge, get_practice(), reply, assessment, text)
        own_pain = any(f.flag == OWN_PAIN_FLAG for f in assessment.reported(("context",)))
        # A sign only the learned detector suspects gets the offer too, whatever the answer was about.
        suspected = assessment.needs_check and not problem
        offer = (self.offers_safety_check and reply.medical and own_pain) or suspected
        for index, message in enumerate(reply.texts):
            last = index == len(reply.texts) - 1 and not offer
            dispatcher.utter_message(text=message, buttons=reply.buttons if last else [])
        if offer:
            key = "check_offer_unsure" if suspected else "check_offer"
            dispatcher.utter_message(text=knowledge.message(key), buttons=yes_no_buttons(knowledge)[:2])
        resolved = [f for f in assessment.findings if f.status == RESOLVED and f.tier in RED_TIERS]
        if resolved and not problem:
            what = describe(get_detector().rules, resolved, knowledge.message("and"))
            dispatcher.utter_message(text=knowledge.message("resolved_check", what=what))
        if reply.handoff:
            get_handoff_service().hand_off(new_handoff(tracker.sender_id, reply.handoff, None, text))
            dispatcher.utter_message(text=knowledge.message("handoff_human"))
        events: List[EventType] = [SlotSet(TOPIC_SLOT, reply.topic), SlotSet(OFFER_SLOT, offer)]
        return events + [SlotSet(name, value) for name, value in reply.slots.items()]

    offers_safety_check = False


class ActionAnswerTopic(ReplyAction):
    """Answers the topic behind the recognised intent (back-pain topics and conversation)."""

    offers_safety_check = True

    def name(self) -> str:
        """Action name in the domain."""
        return "action_answer_topic"

    def reply(self, tracker: Tracker) -> Reply:
        """Looks up the answer for the intent; a specific thing only a leaflet explains gets that passage."""
        knowledge, practice = get_knowledge(), get_practice()
        answer = knowledge.answer_for_intent(latest_intent(tracker))
        if answer is None:
            return suggestion_reply(knowledge, practice, [])
        question = strip_payload(latest_text(tracker))
        index = leaflet_index_or_none() if answer.kind == "medical" and question else None
        hit = index.specific_hit(question, answer.text) if index is not None else None
        if hit is not None:  # the question names something specific that only a leaflet explains
            return passage_reply(knowledge, index, hit.passage, question=question)
        return answer_reply(knowledge, practice, answer, latest_text(tracker))


class ActionShowSource(ReplyAction):
    """Answers "Waar staat dat?" with the leaflets behind the previous answer."""

    def name(self) -> str:
        """Action name in the domain."""
        return "action_show_source"

    def reply(self, tracker: Tracker) -> Reply:
        """Names the sources of the topic in the `topic` slot, or the leaflet of the passage just quoted."""
        knowledge = get_knowledge()
        if tracker.get_slot(TOPIC_SLOT) == LEAFLET_TOPIC:
            index = leaflet_index_or_none()
            reply = index and source_of_passage(knowledge, index, Position.decode(tracker.get_slot(PASSAGE_SLOT)))
            if reply:
                return reply
        return source_reply(knowledge, tracker.get_slot(TOPIC_SLOT))


class ActionAnswerFollowup(ReplyAction):
    """Answers "en hoe lang duurt dat dan?" in the context of the previous answer."""

    def name(self) -> str:
        """Action name in the domain."""
        return "action_answer_followup"

    def reply(self, tracker: Tracker) -> Reply:
        """Gives the duration for the topic in the `topic` slot."""
        return followup_duration_reply(get_knowledge(), tracker.get_slot(TOPIC_SLOT))


class ActionAnswerFromLeaflets(ReplyAction):
    """No topic fits (low NLU confidence, out of scope): quotes the best leaflet passage, or says it is not covered.

    Below the calibrated confidence it says honestly that the leaflets do not cover the
    question and how to reach the practice.
    """

    offers_safety_check = True

    def name(self) -> str:
        """Action name in the domain."""
        return "action_answer_from_leaflets"

    def reply(self, tracker: Tracker) -> Reply:
        """Searches the leaflets; a message without content words gets the rephrase or out-of-scope answer."""
        knowledge, practice = get_knowledge(), get_practice()
        question = strip_payload(latest_text(tracker))
        ranking = self._ranking(tracker)
        index = leaflet_index_or_none()
        if index is not None and question.strip():
            hits = index.search(question, limit=1, hints=topic_hints(knowledge, ranking))
            if hits and hits[0].confidence >= index.settings.min_confidence:
                return passage_reply(knowledge, index, hits[0].passage, question=question)
            if index.analyzer.concepts(question):
                reply = not_covered_reply(knowledge, practice, question)
                suggestions = suggestion_reply(knowledge, practice, ranking)
                if suggestions.buttons:  # the closest topics, in case the patient meant one of them
                    reply.texts.append(knowledge.message("suggestions_intro"))
                    reply.buttons = suggestions.buttons
                return reply
        if latest_intent(tracker) == "out_of_scope":
            return answer_reply(knowledge, practice, knowledge.answers["out_of_scope"], question)
        return suggestion_reply(knowledge, practice, ranking)

    @staticmethod
    def _ranking(tracker: Tracker) -> List[Tuple[str, float]]:
        return [
            (item.get("name"), item.get("confidence", 0.0))
            for item in tracker.latest_message.get("intent_ranking") or []
            if item.get("name") != "out_of_scope"
        ]


class ActionReadMore(ReplyAction):
    """Meer lezen: the rest of the quoted passage, then the next passage of the same leaflet."""

    def name(self) -> str:
        """Action name in the domain."""
        return "action_read_more"

    def reply(self, tracker: Tracker) -> Reply:
        """Goes on from the position in the `leaflet_passage` slot."""
        knowledge = get_knowledge()
        index = leaflet_index_or_none()
        if index is None:
            return Reply(topic=LEAFLET_TOPIC, texts=[knowledge.message("leaflet_nothing_to_read")])
        return read_more_reply(knowledge, index, Position.decode(tracker.get_slot(PASSAGE_SLOT)))


def leaflet_index_or_none() -> Optional[LeafletIndex]:
    """The leaflet index, or None (logged) when it cannot be built: the chat goes on without leaflet answers."""
    try:
        return get_leaflet_index()
    except Exception:  # noqa: BLE001 - a broken leaflet setup must not break the conversation
        logger.exception("Leaflet search is unavailable")
        return None
