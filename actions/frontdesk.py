"""The front desk's view of a question: what the assistant would answer, and from which source, with scores.

Used by the HTTP endpoint of the action server (`GET /frontdesk/ask?q=...`) and by
`make ask Q="..."`. It calls the chat's own decision (actions.answers.decide), so the front
desk and the chat can never disagree.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from typing import Any, Dict, Optional

from actions.answers.decide import RED_FLAG, TOPIC, State, decide
from actions.answers.reply import compose
from actions.config import get_services
from actions.leaflets.index import Hit
from actions.leaflets.replies import topic_hints
from actions.redflags import REPORT

RASA_URL = os.environ.get("BACKBOT_RASA_URL", "http://localhost:5005")
MAX_QUESTION_CHARS = 2000


def parse_with_rasa(question: str, rasa_url: str = RASA_URL, timeout_s: float = 5.0) -> Optional[Dict[str, Any]]:
    """Asks the running Rasa server for the intent of `question`; None when it does not answer."""
    token = os.environ.get("RASA_TOKEN", "")
    url = f"{rasa_url}/model/parse" + (f"?token={token}" if token else "")
    request = urllib.request.Request(
        url, data=json.dumps({"text": question}).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None


# What each kind of decision means, for the staff's question box.
KIND_LABELS = {
    "red_flag": "Doorverwijzing: rode vlag",
    "input": "Bericht niet bruikbaar",
    "faq": "FAQ-antwoord",
    "topic": "Antwoord op het onderwerp",
    "passage": "Stuk uit een folder",
    "clarify": "Wedervraag: welke vraag bedoelt u?",
    "out_of_scope": "Buiten het onderwerp",
    "admin": "Praktijkzaken",
    "contact": "Contactgegevens",
    "conversation": "Gesprek (groet, bedankje ...)",
    "source": "Bron van het vorige antwoord",
    "read_more": "Verder lezen",
    "followup_duration": "Vervolgvraag: hoe lang",
    "fallback": "Niet begrepen: vraagt het anders te stellen",
    "not_covered": "Staat niet in de folders",
    "describe": "Aanbod van de korte veiligheidscheck",
    "privacy_info": "Uitleg over privacy",
    "privacy_confirm": "Vraagt bevestiging om gegevens te verwijderen",
    "privacy_delete": "Verwijdert het gesprek",
    "privacy_keep": "Verwijdert niets",
}


def _passage_info(hit: Hit) -> Dict[str, Any]:
    """A passage as the front desk sees it: file, title, heading, text, scores."""
    return {
        "file": hit.document.name,
        "path": hit.document.path,
        "title": hit.document.title,
        "heading": hit.passage.heading,
        "text": hit.passage.text,
        "score": round(hit.score, 3),
        "confidence": round(hit.confidence, 3),
    }


def lookup(question: str, parsed: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    """What the assistant answers to `question` (the chat's own decision), with its source and scores.

    Args:
        question: the question as a patient would type it.
        parsed: Rasa's parse of the question (intents, FAQ ranking), or None when NLU is not
            available; then red flags, the follow-up words and the leaflets decide.

    Returns:
        A JSON-ready dict: `kind` (red_flag, faq, topic, passage, clarify, out_of_scope, admin,
        contact, conversation, fallback, not_covered), `answer_id`, `topic`, `answer` (the texts
        the patient would read), `buttons`, `reason`; `intent`, `confidence`; `entry` (the FAQ
        question) or `source` (file, title, heading, scores) of a passage; `passages`: the three
        best passages, for staff who want to read on.
    """
    services = get_services()
    index = services.index()
    intent = ((parsed or {}).get("intent") or {}).get("name")
    decision = decide(question, parsed or {}, State(), services)
    reply = compose(decision, services, question)
    result: Dict[str, Any] = {
        "question": question,
        "intent": intent,
        "confidence": ((parsed or {}).get("intent") or {}).get("confidence"),
        "nlu": "used" if parsed else "unavailable",
        "kind": decision.kind,
        "answer_id": decision.answer_id,
        "topic": reply.topic,
        "reason": decision.reason,
        "answer": "\n\n".join(reply.texts),
        "buttons": [button["title"] for button in reply.buttons],
        "min_confidence": index.settings.min_confidence if index else None,
    }
    ranking = [(item.get("name"), item.get("confidence", 0.0)) for item in (parsed or {}).get("intent_ranking") or []]
    hits = index.search(question, limit=3, hints=topic_hints(services.knowledge, ranking)) if index else []
    result["passages"] = [_passage_info(hit) for hit in hits]
    if decision.kind == RED_FLAG:
        flags = [f.flag for f in decision.assessment.findings if f.status == REPORT]
        result["red_flag"] = {"tier": decision.assessment.tier, "flags": flags}
    if decision.entry is not None:
        result["entry"] = {"id": decision.entry.id, "question": decision.entry.question}
        result["sources"] = list(decision.entry.sources)
    elif decision.answer is not None and decision.kind == TOPIC:
        result["sources"] = list(decision.answer.sources)
    knowledge = services.knowledge
    result["kind_label"] = KIND_LABELS.get(decision.kind, decision.kind)
    topic_answer = knowledge.answers.get(reply.topic or "")
    result["topic_label"] = topic_answer.label if topic_answer is not None and topic_answer.label else reply.topic
    result["source_titles"] = [
        f"{knowledge.sources[s].title} ({knowledge.sources[s].publisher})" if s in knowledge.sources else s
        for s in result.get("sources", [])
    ]
    if decision.hit is not None:
        result["source"] = _passage_info(decision.hit)
        if decision.answer is not None:
            result["instead_of"] = decision.answer.topic
    return result
