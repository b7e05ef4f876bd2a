"""Composes the assistant's replies from the knowledge and practice files (no Rasa types)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence

from actions.knowledge import Answer, Knowledge
from actions.practice import Location, Practice, PracticeConfig, find_locations, find_practice, find_specialists
from actions.redflags import Assessment
from actions.text import InputProblem


@dataclass
class Reply:
    """What the assistant sends for one user message, and the topic it answered."""

    topic: str
    texts: List[str]
    buttons: List[Dict[str, str]] = field(default_factory=list)
    # Which FAQ entry, topic, passage, scope class or reply kind was given (the `answer_id` slot).
    answer_id: str = ""
    medical: bool = False
    # "human" when the front desk must be told (the patient asked for a person).
    handoff: Optional[str] = None
    # Further slots to set (e.g. where a reader is in the leaflets).
    slots: Dict[str, Any] = field(default_factory=dict)


def join_names(names: Sequence[str], and_word: str) -> str:
    """Joins names Dutch-style: 'a', 'a en b', 'a, b en c'."""
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} {and_word} {names[-1]}"


def _contact_line(knowledge: Knowledge, practice: Practice, location: Location) -> str:
    key = "contact_line_address" if location.address else "contact_line"
    return knowledge.message(
        key, practice=practice.name, location=location.name, phone=location.phone, address=location.address
    )


def contact_list(knowledge: Knowledge, config: PracticeConfig, text: str = "") -> str:
    """How to reach the practice: the locations named in `text`, else the practice's one main contact.

    Never a list of every number unasked.
    """
    pairs = find_locations(config, text)
    if not pairs:
        named = find_practice(config, text)
        if named is not None and named is not config.main[0] and named.locations:
            pairs = [(named, named.locations[0])]
    if not pairs:
        pairs = [config.main]
    if len(pairs) == 1:
        return main_contact(knowledge, *pairs[0])
    return "\n".join(_contact_line(knowledge, practice, location) for practice, location in pairs)


def main_contact(knowledge: Knowledge, practice: Practice, location: Location) -> str:
    """The one contact line, e.g. 'U kunt FysioMaatwerk Uden bellen op 0413-263002.' (address when known)."""
    key = "contact_main_address" if location.address else "contact_main"
    return knowledge.message(
        key, practice=practice.name, location=location.name, phone=location.phone, address=location.address
    )


def all_contacts(knowledge: Knowledge, config: PracticeConfig) -> str:
    """Every location with its number (only when the patient asks for all of them)."""
    lines = [knowledge.message("contact_all_intro")]
    lines += [_contact_line(knowledge, practice, location) for practice, location in config.contacts()]
    return "\n".join(lines)


def fill(text: str, knowledge: Knowledge, config: PracticeConfig, user_text: str = "") -> str:
    """Fills in {practice_name} and {contact_list} of an answer text."""
    return text.format(practice_name=config.name, contact_list=contact_list(knowledge, config, user_text))


def practice_reply(knowledge: Knowledge, config: PracticeConfig, user_text: str) -> List[str]:
    """Answers a question about the practice: a location's number, who does what, or all contacts."""
    texts: List[str] = []
    for specialisation, practice, members in find_specialists(config, user_text):
        names = join_names([m.name for m in members], knowledge.message("and"))
        texts.append(
            knowledge.message("specialists_found", specialisation=specialisation, practice=practice.name, names=names)
        )
    for practice, location in find_locations(config, user_text):
        parts = [
            knowledge.message("location_found", practice=practice.name, location=location.name, phone=location.phone)
        ]
        if location.address:
            parts.append(knowledge.message("location_address", address=location.address))
        texts.append(" ".join(parts))
    if texts:
        return texts

    practice = find_practice(config, user_text)
    if practice and practice.team and not practice.locations:
        lines = [knowledge.message("team_intro", practice=practice.name)]
        lines += [
            knowledge.message(
                "team_line", name=m.name, specialisations=join_names(list(m.specialisations), knowledge.message("and"))
            )
            for m in practice.team
        ]
        return ["\n".join(lines)]
    texts = [fill(knowledge.answers["practice_contact"].text, knowledge, config, user_text)]
    for chosen in [practice] if practice else config.practices:
        if chosen.opening_hours:
            texts.append(knowledge.message("opening_hours", practice=chosen.name, hours=chosen.opening_hours))
    return texts


def answer_reply(knowledge: Knowledge, config: PracticeConfig, answer: Answer, user_text: str) -> Reply:
    """The reply to a recognised topic: the answer text, closed by the disclaimer when medical."""
    if answer.topic == "practice_contact":
        texts = practice_reply(knowledge, config, user_text)
    else:
        texts = [
            medical_text(knowledge, answer)
            if answer.kind == "medical"
            else fill(answer.text, knowledge, config, user_text)
        ]
    return Reply(
        topic=answer.topic,
        texts=texts,
        medical=answer.kind == "medical",
        handoff="human" if answer.topic == "human_handoff" else None,
    )


def medical_text(knowledge: Knowledge, answer: Answer, text: Optional[str] = None) -> str:
    """A medical answer closed by the not-a-diagnosis line and, where set, when to phone at once."""
    closing = knowledge.disclaimer
    if answer.safety_net:
        closing = f"{closing}\n{knowledge.message('safety_net')}"
    return f"{(text or answer.text).strip()}\n\n{closing}"


def with_reassurance(
    knowledge: Knowledge, config: PracticeConfig, reply: Reply, assessment: Assessment, user_text: str
) -> Reply:
    """Puts a word of reassurance before the reply to a message with worries (yellow flags).

    When the message asked nothing the assistant recognised, the reassuring topic of the first
    worry (e.g. "is bewegen schadelijk?" for fear of moving) is answered instead.
    """
    if reply.topic in ("fallback", "out_of_scope", "acknowledge"):
        flag = get_flag_topic(assessment)
        if flag and flag in knowledge.answers:
            reply = answer_reply(knowledge, config, knowledge.answers[flag], user_text)
    reply.texts = [knowledge.message("yellow_intro"), *reply.texts]
    reply.buttons = [] if reply.topic != "fallback" else reply.buttons
    return reply


def get_flag_topic(assessment: Assessment) -> Optional[str]:
    """The answer topic of the first reported worry."""
    return next((finding.topic for finding in assessment.yellow if finding.topic), None)


def source_reply(knowledge: Knowledge, topic: Optional[str]) -> Reply:
    """Answers "Waar staat dat?" for the last answered topic (the topic stays the same)."""
    answer = knowledge.answers.get(topic or "")
    if answer is None or answer.kind == "conversation":
        return Reply(topic=topic or "fallback", texts=[knowledge.message("source_none")])
    if not answer.sources:
        return Reply(topic=answer.topic, texts=[knowledge.message("source_practice")])
    lines = [knowledge.message("source_intro")]
    for source_id in answer.sources:
        source = knowledge.sources[source_id]
        lines.append(knowledge.message("source_line", title=source.title, kind=source.kind, publisher=source.publisher))
    return Reply(topic=answer.topic, texts=["\n".join(lines)])


def followup_duration_reply(knowledge: Knowledge, topic: Optional[str]) -> Reply:
    """Answers "en hoe lang duurt dat dan?" in the context of the last topic.

    Topics with a `how_long` text answer with it; otherwise the general course of back pain
    (the prognosis answer) is given.
    """
    answer = knowledge.answers.get(topic or "")
    if answer is not None and answer.how_long:
        return Reply(topic=answer.topic, texts=[medical_text(knowledge, answer, answer.how_long)], medical=True)
    prognosis = knowledge.answers["prognosis"]
    text = f"{knowledge.message('followup_general')}\n{prognosis.text}"
    return Reply(topic=prognosis.topic, texts=[medical_text(knowledge, prognosis, text)], medical=True)


def input_problem_reply(knowledge: Knowledge, problem: InputProblem) -> Reply:
    """The reply to a message that cannot be read as a question."""
    return Reply(topic="fallback", texts=[knowledge.message(f"input_{problem.value}")])
