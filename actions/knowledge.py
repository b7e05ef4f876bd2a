"""Loads and validates the answer texts, their sources and the software's short messages."""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Dict, FrozenSet, Mapping, Optional, Tuple

from actions.datafile import Entry, read_yaml

if TYPE_CHECKING:
    from actions.answers.faq import FaqEntry

# Topic ids of ../shared/spec/topics.md, and the conversation topics every answer set covers.
SPEC_TOPICS: Tuple[str, ...] = (
    "what_is_lbp", "nonspecific_vs_specific", "prevalence", "causes_risk_factors", "symptoms",
    "acute_vs_chronic", "prognosis", "chronic_risk", "movement_harmful", "bed_rest", "imaging",
    "pain_medication", "physio_treatment", "physio_process", "treatment_goals", "exercises",
    "aids", "prevention", "when_to_see_gp", "work", "sports", "spine_anatomy", "hernia",
    "wear_arthrosis", "sitting_posture", "lifting", "stress_psychology", "pregnancy",
    "practice_contact",
)  # fmt: skip
CONVERSATION_TOPICS: Tuple[str, ...] = (
    "greet", "goodbye", "thanks", "bot_challenge", "human_handoff", "appointment",
    "out_of_scope", "fallback", "acknowledge",
)  # fmt: skip
KINDS = ("medical", "practice", "conversation")
# Reply kinds stored as `answer_id` besides topic and FAQ ids; no FAQ entry may take these ids.
RESERVED_IDS: Tuple[str, ...] = ("clarify", "not_covered", "leaflet", "source", "read_more", "red_flag", "privacy")

# Placeholders the software fills in; any other {name} in a text is an error.
ANSWER_PLACEHOLDERS: FrozenSet[str] = frozenset({"practice_name", "contact_list"})
MESSAGE_PLACEHOLDERS: Mapping[str, FrozenSet[str]] = {
    "contact_line": frozenset({"practice", "location", "phone"}),
    "contact_line_address": frozenset({"practice", "location", "phone", "address"}),
    "contact_none": frozenset(),
    # Channels without buttons (WhatsApp, SMS): the choices as a numbered list.
    "choose_by_number": frozenset(),
    "choice_line": frozenset({"number", "title"}),
    # A message a channel cannot read (a photo, a voice message, a sticker).
    "channel_unsupported": frozenset(),
    "location_found": frozenset({"practice", "location", "phone"}),
    "location_address": frozenset({"address"}),
    "contact_main": frozenset({"practice", "location", "phone"}),
    "contact_main_address": frozenset({"practice", "location", "phone", "address"}),
    "contact_which_location": frozenset({"practice", "count"}),
    "contact_all_intro": frozenset(),
    "clarify_intro": frozenset(),
    "clarify_other": frozenset(),
    "related_intro": frozenset(),
    "scope_other_complaint": frozenset({"contact_list"}),
    "scope_medication": frozenset(),
    "scope_other": frozenset(),
    "admin_answer": frozenset({"text", "contact_list"}),
    "admin_unknown_costs": frozenset({"contact_list"}),
    "admin_unknown_insurance": frozenset({"contact_list"}),
    "admin_unknown_referral": frozenset({"contact_list"}),
    "admin_unknown_waiting_list": frozenset({"contact_list"}),
    "admin_unknown_opening_hours": frozenset({"contact_list"}),
    "admin_unknown_cancel": frozenset({"contact_list"}),
    "fallback_topics": frozenset(),
    "opening_hours": frozenset({"practice", "hours"}),
    "specialists_found": frozenset({"specialisation", "practice", "names"}),
    "specialists_unknown": frozenset(),
    "team_intro": frozenset({"practice"}),
    "team_line": frozenset({"name", "specialisations"}),
    "and": frozenset(),
    "source_intro": frozenset(),
    "source_line": frozenset({"title", "kind", "publisher"}),
    "source_practice": frozenset(),
    "source_none": frozenset(),
    "followup_general": frozenset(),
    # The patient's own data (actions/privacy): what is kept, deletion and its confirmation.
    "privacy_info": frozenset(),
    "privacy_confirm_delete": frozenset(),
    "privacy_button_delete": frozenset(),
    "privacy_button_keep": frozenset(),
    "privacy_deleted": frozenset(),
    "privacy_kept": frozenset(),
    # A staff member's reply from the front-desk console.
    "staff_reply": frozenset({"text"}),
    # Sent by the channels and the load balancer when a message cannot be handled now.
    "service_unavailable": frozenset(),
    "suggestions_intro": frozenset(),
    "suggestion_other": frozenset(),
    "input_empty": frozenset(),
    "input_too_long": frozenset(),
    "input_no_words": frozenset(),
    "input_other_language": frozenset(),
    "escalation_recognised": frozenset({"what"}),
    "escalation_practice": frozenset({"contact_list"}),
    "handoff_red_flag": frozenset(),
    "handoff_human": frozenset(),
    "crisis": frozenset({"crisis_line", "emergency_number"}),
    "safety_net": frozenset(),
    "resolved_check": frozenset({"what"}),
    "yellow_intro": frozenset(),
    "check_intro": frozenset(),
    "check_offer": frozenset(),
    "check_offer_unsure": frozenset(),
    "check_stopped": frozenset(),
    "check_unclear": frozenset(),
    "check_reassure": frozenset(),
    "check_unknown": frozenset({"what"}),
    "check_self_care": frozenset(),
    "check_appointment": frozenset({"contact_list"}),
    "leaflet_name": frozenset({"kind", "title", "publisher"}),
    "leaflet_name_no_publisher": frozenset({"kind", "title"}),
    "leaflet_cite": frozenset({"name", "heading"}),
    "leaflet_cite_no_heading": frozenset({"name"}),
    "leaflet_continued": frozenset({"heading"}),
    "leaflet_read_more": frozenset(),
    "leaflet_end": frozenset({"title"}),
    "leaflet_nothing_to_read": frozenset(),
    "leaflet_not_covered": frozenset({"contact_list"}),
    "leaflet_source": frozenset({"name", "heading", "file"}),
    "button_yes": frozenset(),
    "button_no": frozenset(),
    "button_dont_know": frozenset(),
}


@dataclass(frozen=True)
class Source:
    """A leaflet that answers rest on."""

    id: str
    title: str
    kind: str
    publisher: str
    file: str


@dataclass(frozen=True)
class Answer:
    """The answer to one topic."""

    topic: str
    intents: Tuple[str, ...]
    kind: str
    label: str
    text: str
    sources: Tuple[str, ...] = ()
    how_long: str = ""
    safety_net: bool = False


@dataclass(frozen=True)
class Knowledge:
    """Everything the assistant says, indexed for the actions."""

    answers: Mapping[str, Answer]
    sources: Mapping[str, Source]
    messages: Mapping[str, str]
    disclaimer: str
    by_intent: Mapping[str, Answer] = field(default_factory=dict)
    # The FAQ: specific questions with their own answers (data/knowledge/faq/*.yml), by id.
    faq: Mapping[str, FaqEntry] = field(default_factory=dict)

    def answer_for_intent(self, intent: Optional[str]) -> Optional[Answer]:
        """Returns the answer triggered by an NLU intent, if any."""
        return self.by_intent.get(intent or "")

    def message(self, key: str, **values: str) -> str:
        """Returns a short message with its placeholders filled in."""
        return self.messages[key].format(**values)


def placeholders(text: str) -> FrozenSet[str]:
    """Returns the {names} used in a text; raises ValueError on unbalanced braces."""
    return frozenset(name for _, name, _, _ in string.Formatter().parse(text) if name)


def _check_placeholders(entry: Entry, key: str, text: str, allowed: FrozenSet[str]) -> None:
    try:
        used = placeholders(text)
    except ValueError as error:
        raise entry.error(f"'{key}' has a broken {{placeholder}} ({error})") from error
    unknown = sorted(used - allowed)
    if unknown:
        allowed_text = ", ".join(sorted(allowed)) or "none"
        raise entry.error(f"'{key}' uses unknown placeholder(s) {unknown}; allowed here: {allowed_text}")


def load_sources(path: Path) -> Dict[str, Source]:
    """Loads sources.yml."""
    root = Entry(path, read_yaml(path), "file")
    root.version()
    sources: Dict[str, Source] = {}
    for entry in root.entries("sources", lambda i: f"source #{i + 1}"):
        source = Source(
            id=entry.text("id"),
            title=entry.text("title"),
            kind=entry.text("kind"),
            publisher=entry.text("publisher"),
            file=entry.text("file"),
        )
        if source.id in sources:
            raise entry.error(f"source id '{source.id}' appears twice")
        sources[source.id] = source
    return sources


def load_messages(path: Path) -> Dict[str, str]:
    """Loads messages.yml: every known key present, no unknown keys, placeholders as expected."""
    root = Entry(path, read_yaml(path), "file")
    root.version()
    messages = Entry(path, root.data.get("messages"), "messages", root.line)
    result: Dict[str, str] = {}
    for key, allowed in MESSAGE_PLACEHOLDERS.items():
        text = messages.text(key)
        _check_placeholders(messages, key, text, allowed)
        result[key] = text
    unknown = sorted(set(messages.data) - set(MESSAGE_PLACEHOLDERS) - {"__line__"})
    if unknown:
        raise messages.error(f"unknown message key(s) {unknown}")
    return result


def load_answers(path: Path, sources: Mapping[str, Source]) -> Tuple[Dict[str, Answer], str]:
    """Loads answers.yml: one valid answer for every spec and conversation topic."""
    root = Entry(path, read_yaml(path), "file")
    root.version()
    disclaimer = root.text("disclaimer")
    answers: Dict[str, Answer] = {}
    intents: Dict[str, str] = {}
    for entry in root.entries("answers", lambda i: f"answer #{i + 1}"):
        topic = entry.text("topic")
        entry.what = f"answer '{topic}'"
        kind = entry.text("kind")
        if kind not in KINDS:
            raise entry.error(f"'kind' must be one of {', '.join(KINDS)}, not '{kind}'")
        raw_intent = entry.data.get("intent")
        intent_list = entry.text_list("intent") if isinstance(raw_intent, list) else [entry.text("intent")]
        answer = Answer(
            topic=topic,
            intents=tuple(intent_list),
            kind=kind,
            label=entry.text("label", required=kind != "conversation", allow_empty=True),
            text=entry.text("text"),
            sources=tuple(entry.text_list("sources", required=kind == "medical")),
            how_long=entry.text("how_long", required=False),
            safety_net=kind == "medical" and entry.data.get("safety_net") is not False,
        )
        if topic not in SPEC_TOPICS and topic not in CONVERSATION_TOPICS:
            raise entry.error("unknown topic id (see ../shared/spec/topics.md)")
        if topic in answers:
            raise entry.error("this topic has two answers")
        for intent in answer.intents:
            if intent in intents:
                raise entry.error(f"intent '{intent}' is used by '{intents[intent]}' too")
        if kind == "medical" and not answer.sources:
            raise entry.error("a medical answer needs at least one source")
        missing = [source for source in answer.sources if source not in sources]
        if missing:
            raise entry.error(f"unknown source id(s) {missing}; see sources.yml")
        for key in ("text", "how_long"):
            _check_placeholders(entry, key, getattr(answer, key), ANSWER_PLACEHOLDERS)
        answers[topic] = answer
        intents.update({intent: topic for intent in answer.intents})
    missing_topics = [t for t in SPEC_TOPICS + CONVERSATION_TOPICS if t not in answers]
    if missing_topics:
        raise root.error(f"no answer for topic(s) {missing_topics}")
    return answers, disclaimer


def load_knowledge(directory: Path) -> Knowledge:
    """Loads answers.yml, sources.yml and messages.yml from `directory`.

    Raises:
        DataFileError: naming the file, line and entry that is wrong.
    """
    from actions.answers.faq import load_faq

    sources = load_sources(directory / "sources.yml")
    answers, disclaimer = load_answers(directory / "answers.yml", sources)
    messages = load_messages(directory / "messages.yml")
    medical = [answer.topic for answer in answers.values() if answer.kind == "medical"]
    faq = load_faq(directory / "faq", medical, sources, reserved=list(answers) + list(RESERVED_IDS))
    return Knowledge(
        answers=answers,
        sources=sources,
        messages=messages,
        disclaimer=disclaimer,
        by_intent={intent: answer for answer in answers.values() for intent in answer.intents},
        faq=faq,
    )
