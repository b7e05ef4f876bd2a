"""Actions that answer from the knowledge file: topics, follow-ups, sources and unclear messages."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Dict, List, Optional

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
)
from actions.config import get_knowledge, get_practice
from actions.text import classify_input

TOPIC_SLOT = "topic"


def latest_text(tracker: Tracker) -> str:
    """Returns the text of the latest user message ('' when there is none)."""
    return tracker.latest_message.get("text") or ""


def latest_intent(tracker: Tracker) -> Optional[str]:
    """Returns the intent NLU gave the latest user message."""
    return (tracker.latest_message.get("intent") or {}).get("name")


class ReplyAction(Action, ABC):
    """Sends a `Reply` and records its topic; unusable input gets a clear Dutch reply instead."""

    @abstractmethod
    def reply(self, tracker: Tracker) -> Reply:
        """Builds the reply for this tracker."""

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> List[EventType]:
        """Checks the input, sends the reply and sets the `topic` slot."""
        text = latest_text(tracker)
        problem = None if text.startswith("/") else classify_input(text)
        reply = input_problem_reply(get_knowledge(), problem) if problem else self.reply(tracker)
        for index, message in enumerate(reply.texts):
            last = index == len(reply.texts) - 1
            dispatcher.utter_message(text=message, buttons=reply.buttons if last else [])
        return [SlotSet(TOPIC_SLOT, reply.topic)]


class ActionAnswerTopic(ReplyAction):
    """Answers the topic behind the recognised intent (back-pain topics and conversation)."""

    def name(self) -> str:
        """Action name in the domain."""
        return "action_answer_topic"

    def reply(self, tracker: Tracker) -> Reply:
        """Looks up the answer for the intent; an unknown intent asks to rephrase."""
        knowledge, practice = get_knowledge(), get_practice()
        answer = knowledge.answer_for_intent(latest_intent(tracker))
        if answer is None:
            return suggestion_reply(knowledge, practice, [])
        return answer_reply(knowledge, practice, answer, latest_text(tracker))


class ActionShowSource(ReplyAction):
    """Answers "Waar staat dat?" with the leaflets behind the previous answer."""

    def name(self) -> str:
        """Action name in the domain."""
        return "action_show_source"

    def reply(self, tracker: Tracker) -> Reply:
        """Names the sources of the topic in the `topic` slot."""
        return source_reply(get_knowledge(), tracker.get_slot(TOPIC_SLOT))


class ActionAnswerFollowup(ReplyAction):
    """Answers "en hoe lang duurt dat dan?" in the context of the previous answer."""

    def name(self) -> str:
        """Action name in the domain."""
        return "action_answer_followup"

    def reply(self, tracker: Tracker) -> Reply:
        """Gives the duration for the topic in the `topic` slot."""
        return followup_duration_reply(get_knowledge(), tracker.get_slot(TOPIC_SLOT))


class ActionAskRephrase(ReplyAction):
    """Low NLU confidence: asks to rephrase and offers the closest topics as buttons."""

    def name(self) -> str:
        """Action name in the domain."""
        return "action_ask_rephrase"

    def reply(self, tracker: Tracker) -> Reply:
        """Suggests the best-ranked intents that have an answer."""
        ranking = [
            (item.get("name"), item.get("confidence", 0.0))
            for item in tracker.latest_message.get("intent_ranking") or []
        ]
        return suggestion_reply(get_knowledge(), get_practice(), ranking)
