"""Turns a `Decision` into the reply the patient reads (texts, buttons, slots), from the data files."""

from __future__ import annotations

import json
from typing import Dict, List, Optional

from actions.answers import decide as d
from actions.answers.decide import Decision, Option, Services, State
from actions.compose import (
    Reply,
    all_contacts,
    answer_reply,
    contact_list,
    fill,
    followup_duration_reply,
    input_problem_reply,
    medical_text,
    practice_reply,
    source_reply,
)
from actions.leaflets.replies import (
    LEAFLET_TOPIC,
    Position,
    not_covered_reply,
    passage_reply,
    read_more_reply,
    source_of_passage,
)
from actions.safety import escalation_reply, yes_no_buttons

# Topics offered as buttons when a message is not understood at all (what patients ask most).
# The message that answers each privacy decision (data/knowledge/messages.yml).
PRIVACY_MESSAGES = {
    d.PRIVACY_INFO: "privacy_info",
    d.PRIVACY_CONFIRM: "privacy_confirm_delete",
    d.PRIVACY_DELETE: "privacy_deleted",
    d.PRIVACY_KEEP: "privacy_kept",
}
POPULAR_TOPICS = ("movement_harmful", "pain_medication", "exercises", "imaging")
MAX_OPTIONS = 3


def topic_payload(topic: str) -> str:
    """The button payload that asks a topic's general question."""
    return f"/ask_{topic}"


def entry_payload(option: Option) -> str:
    """The button payload that chooses a FAQ entry, or a topic's general answer (`/ask_<topic>`)."""
    if option.answer_id == option.topic:
        return topic_payload(option.topic)
    return f"/ask_{option.topic}" + json.dumps({d.ENTRY_ENTITY: option.answer_id}, separators=(",", ":"))


def location_payload(location: str) -> str:
    """The button payload that chooses a location."""
    return "/ask_practice_contact" + json.dumps({d.LOCATION_ENTITY: location}, separators=(",", ":"))


def compose(decision: Decision, services: Services, text: str, state: Optional[State] = None) -> Reply:
    """The reply for a decision; `text` is the patient's message (for contact details it names)."""
    reply = _compose(decision, services, d.strip_payload(text or ""), state or State())
    reply.answer_id = decision.answer_id
    if decision.kind != d.RED_FLAG:
        reply.topic = reply.topic if decision.kind in (d.SOURCE, d.READ_MORE) else decision.topic
    return reply


def _compose(decision: Decision, services: Services, text: str, state: State) -> Reply:  # noqa: C901 - one branch per kind
    knowledge, practice = services.knowledge, services.practice
    kind = decision.kind
    if kind == d.RED_FLAG:
        return escalation_reply(knowledge, practice, services.detector.rules, decision.assessment)
    if kind == d.INPUT:
        reply = input_problem_reply(knowledge, decision.problem)
        if decision.problem.value == "no_words":
            _add_topic_buttons(reply, services, [])
        return reply
    if kind == d.FAQ:
        entry = decision.entry
        parent = knowledge.answers[entry.topic]
        body = (
            medical_text(knowledge, parent, entry.answer)
            if entry.safety_net
            else _plain_medical(services, entry.answer)
        )
        return Reply(topic=entry.topic, texts=[body], medical=True)
    if kind == d.TOPIC:
        reply = answer_reply(knowledge, practice, decision.answer, text)
        if decision.related:
            reply.texts.append(knowledge.message("related_intro"))
            reply.buttons = [{"title": o.label, "payload": entry_payload(o)} for o in decision.related[:MAX_OPTIONS]]
        return reply
    if kind == d.PASSAGE:
        index = services.index()
        return passage_reply(knowledge, index, decision.hit.passage, question=text)
    if kind == d.DESCRIBE:
        return Reply(
            topic="safety_check", texts=[knowledge.message("check_offer")], buttons=yes_no_buttons(knowledge)[:2]
        )
    if kind == d.CLARIFY:
        buttons = [{"title": o.label, "payload": entry_payload(o)} for o in decision.options[:MAX_OPTIONS]]
        buttons.append({"title": knowledge.message("clarify_other"), "payload": f"/{d.FALLBACK_INTENT}"})
        return Reply(topic="clarify", texts=[knowledge.message("clarify_intro")], buttons=buttons)
    if kind == d.SCOPE:
        return Reply(topic="out_of_scope", texts=[_scope_text(decision, services, text)])
    if kind == d.ADMIN:
        return Reply(topic="practice_admin", texts=[_admin_text(decision, services, text)])
    if kind == d.CONTACT:
        return _contact_reply(decision, services, text)
    if kind == d.CONVERSATION:
        return answer_reply(knowledge, practice, decision.answer, text)
    if kind == d.SOURCE:
        return _source_reply(services, state)
    if kind == d.READ_MORE:
        index = services.index()
        if index is None:
            return Reply(topic=LEAFLET_TOPIC, texts=[knowledge.message("leaflet_nothing_to_read")])
        return read_more_reply(knowledge, index, Position.decode(state.passage))
    if kind in PRIVACY_MESSAGES:
        buttons = []
        if kind == d.PRIVACY_CONFIRM:
            buttons = [
                {"title": knowledge.message("privacy_button_delete"), "payload": "/affirm"},
                {"title": knowledge.message("privacy_button_keep"), "payload": "/deny"},
            ]
        return Reply(topic="privacy", texts=[knowledge.message(PRIVACY_MESSAGES[kind])], buttons=buttons)
    if kind == d.FOLLOWUP_DURATION:
        return followup_duration_reply(knowledge, decision.topic)
    if kind == d.NOT_COVERED:
        reply = not_covered_reply(knowledge, practice, text)
        if decision.options:  # the closest topics, in case the patient meant one of them
            reply.texts.append(knowledge.message("suggestions_intro"))
            reply.buttons = [{"title": o.label, "payload": entry_payload(o)} for o in decision.options[:MAX_OPTIONS]]
        return reply
    reply = Reply(topic="fallback", texts=[fill(knowledge.answers["fallback"].text, knowledge, practice)])
    _add_topic_buttons(reply, services, decision.options)
    return reply


def _plain_medical(services: Services, text: str) -> str:
    return f"{text.strip()}\n\n{services.knowledge.disclaimer}"


def _add_topic_buttons(reply: Reply, services: Services, options: List[Option]) -> None:
    """The rephrase request's buttons: the likeliest questions, else the topics asked most."""
    knowledge = services.knowledge
    buttons = [{"title": o.label, "payload": entry_payload(o)} for o in options if o.score >= 0.05][:MAX_OPTIONS]
    if not buttons:
        buttons = [
            {"title": knowledge.answers[topic].label, "payload": topic_payload(topic)}
            for topic in POPULAR_TOPICS
            if topic in knowledge.answers
        ]
    reply.texts.append(knowledge.message("fallback_topics"))
    reply.buttons = buttons


def _scope_text(decision: Decision, services: Services, text: str) -> str:
    knowledge, practice = services.knowledge, services.practice
    scope_class = decision.answer_id.partition("/")[2]
    if scope_class == "other_complaint":
        return knowledge.message("scope_other_complaint", contact_list=contact_list(knowledge, practice, text))
    if scope_class == "medication":
        return knowledge.message("scope_medication")
    return fill(knowledge.answers["out_of_scope"].text, knowledge, practice).strip()


def _admin_text(decision: Decision, services: Services, text: str) -> str:
    knowledge, practice = services.knowledge, services.practice
    key = decision.answer_id.partition("/")[2]
    contacts = contact_list(knowledge, practice, text)
    if key == "opening_hours":
        main_practice = practice.main[0]
        if main_practice.opening_hours:
            hours = knowledge.message("opening_hours", practice=main_practice.name, hours=main_practice.opening_hours)
            return knowledge.message("admin_answer", text=hours, contact_list=contacts)
    elif practice.administration.get(key):
        return knowledge.message("admin_answer", text=practice.administration[key], contact_list=contacts)
    return knowledge.message(f"admin_unknown_{key}", contact_list=contacts)


def _contact_reply(decision: Decision, services: Services, text: str) -> Reply:
    knowledge, practice = services.knowledge, services.practice
    which = decision.answer_id.partition("/")[2]
    reply = Reply(topic="practice_contact", texts=[])
    if decision.location:
        reply.texts = practice_reply(knowledge, practice, decision.location)
        reply.slots["location"] = decision.location
    elif which == "team":
        reply.texts = practice_reply(knowledge, practice, decision.subject or text)
    elif which == "all":
        reply.texts = [all_contacts(knowledge, practice)]
    elif which == "which_location":
        main_practice = practice.main[0]
        reply.texts = [
            knowledge.message(
                "contact_which_location", practice=main_practice.name, count=str(len(main_practice.locations))
            )
        ]
        reply.buttons = [{"title": loc.name, "payload": location_payload(loc.name)} for loc in main_practice.locations]
    else:
        reply.texts = [contact_list(knowledge, practice, text)]
    return reply


def _source_reply(services: Services, state: State) -> Reply:
    knowledge = services.knowledge
    if state.answer_id and state.answer_id.startswith("leaflet/"):
        index = services.index()
        reply = index and source_of_passage(knowledge, index, Position.decode(state.passage))
        if reply:
            return reply
    entry = knowledge.faq.get(state.answer_id or "")
    if entry is not None:
        lines = [knowledge.message("source_intro")]
        for source_id in entry.sources:
            source = knowledge.sources[source_id]
            lines.append(
                knowledge.message("source_line", title=source.title, kind=source.kind, publisher=source.publisher)
            )
        return Reply(topic=entry.topic, texts=["\n".join(lines)])
    return source_reply(knowledge, state.topic)


def slot_values(reply: Reply, decision: Decision) -> Dict[str, Optional[str]]:
    """The slots a reply sets: topic and answer_id always, plus its own (leaflet position, location)."""
    values: Dict[str, Optional[str]] = {"topic": reply.topic, "answer_id": decision.answer_id}
    values.update(reply.slots)
    return values


def next_state(state: State, text: str, decision: Decision, reply: Reply) -> State:
    """The conversation state after this reply (as the chat's slots would hold it)."""
    from actions.leaflets.replies import PASSAGE_SLOT

    flags = set(state.previous_flags)
    if decision.assessment is not None and decision.kind == d.RED_FLAG:
        flags |= {f.flag for f in decision.assessment.findings if f.status == "report"}
    words = d.strip_payload(text or "")
    return State(
        topic=reply.topic,
        answer_id=decision.answer_id,
        location=reply.slots.get("location", state.location),
        passage=reply.slots.get(PASSAGE_SLOT, state.passage),
        previous_flags=tuple(sorted(flags)),
        earlier=state.earlier + ((words,) if words.strip() else ()),
    )
