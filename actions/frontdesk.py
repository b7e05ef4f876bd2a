"""The front desk's view of a question: what the assistant would answer, and from which source, with scores.

Used by the HTTP endpoint of the action server (`GET /frontdesk/ask?q=...`) and by
`make ask Q="..."`. The order is the chat's: a red flag first, then a recognised topic, then
the best leaflet passage, else "not covered".
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from typing import Any, Dict, Optional

from actions.compose import answer_reply, contact_list
from actions.config import get_detector, get_knowledge, get_leaflet_index, get_practice
from actions.leaflets.index import Hit
from actions.leaflets.replies import topic_hints
from actions.redflags import REPORT
from actions.safety import escalation_reply

RASA_URL = os.environ.get("BACKBOT_RASA_URL", "http://localhost:5005")
TOPICLESS_INTENTS = ("nlu_fallback", "out_of_scope")
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
    """What the assistant answers to `question`, with the topic or passage, its source and scores.

    Args:
        question: the question as a patient would type it.
        parsed: Rasa's parse of the question (intent and confidence), or None when NLU is not
            available; then only red flags and the leaflets are consulted.

    Returns:
        A JSON-ready dict: `kind` is red_flag, topic, passage or not_covered; `answer` the text;
        `topic`, `intent`, `confidence`; `source` (file, title, heading, score, confidence) for
        a passage; `passages`: the three best passages, for staff who want to read on.
    """
    knowledge, practice, detector, index = get_knowledge(), get_practice(), get_detector(), get_leaflet_index()
    intent = ((parsed or {}).get("intent") or {}).get("name")
    result: Dict[str, Any] = {
        "question": question,
        "intent": intent,
        "confidence": ((parsed or {}).get("intent") or {}).get("confidence"),
        "nlu": "used" if parsed else "unavailable",
        "min_confidence": index.settings.min_confidence,
    }
    ranking = [(item.get("name"), item.get("confidence", 0.0)) for item in (parsed or {}).get("intent_ranking") or []]
    hits = index.search(question, limit=3, hints=topic_hints(knowledge, ranking))
    result["passages"] = [_passage_info(hit) for hit in hits]
    assessment = detector.assess(question)
    answer = knowledge.answer_for_intent(intent) if intent not in TOPICLESS_INTENTS else None
    if assessment.tier or assessment.crisis:
        reply = escalation_reply(knowledge, practice, detector.rules, assessment)
        flags = [f.flag for f in assessment.findings if f.status == REPORT]
        result.update(kind="red_flag", red_flag={"tier": assessment.tier, "flags": flags}, topic=reply.topic)
        result["answer"] = "\n\n".join(reply.texts)
    elif answer is not None and answer.kind == "medical" and (specific := index.specific_hit(question, answer.text)):
        source = _passage_info(specific)
        result.update(
            kind="passage", topic="leaflet", answer=specific.passage.text, source=source, instead_of=answer.topic
        )
    elif answer is not None:
        reply = answer_reply(knowledge, practice, answer, question)
        result.update(kind="topic", topic=answer.topic, answer="\n\n".join(reply.texts), sources=list(answer.sources))
    elif hits and hits[0].confidence >= index.settings.min_confidence:
        best = result["passages"][0]
        result.update(kind="passage", topic="leaflet", answer=best["text"], source=best)
    else:
        contacts = contact_list(knowledge, practice, question)
        result.update(
            kind="not_covered",
            topic="not_covered",
            answer=knowledge.message("leaflet_not_covered", contact_list=contacts),
        )
    return result
