"""The one decision of what to answer: red flag, FAQ entry, topic, passage, clarifying question, scope ...

`decide(text, parse, state)` reads the patient's message, Rasa's parse of it (DIET's intent
ranking and the ResponseSelector's ranking of FAQ entries) and the conversation so far, and
returns a `Decision`. It holds no Rasa types: the chat action and the front desk call it
alike, and `compose` turns a Decision into the texts and buttons the patient sees.

The order is fixed and safe:
1. a reported red flag or crisis, read from the whole message whatever NLU said;
2. unusable input (empty, too long, not Dutch, no words);
2a. the patient's own data: "verwijder mijn gegevens" (asked to confirm first), the answer to
   that confirmation, or a question about what is kept;
3. a choice the patient made by button (a FAQ entry, a topic, a location);
4. a follow-up on the previous answer ("hoe vaak?", "welke dan?", "wat is daar het nummer?");
5. what NLU recognised: conversation, practice contact and administration, out of scope, a
   topic and, within it, the FAQ entry that fits best;
6. when NLU is unsure: an entry that the ResponseSelector is sure of, else a clarifying
   question with the most likely questions, else a leaflet passage that answers the question,
   else "not covered" (a back-pain question nothing answers) or a rephrase request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, List, Mapping, Optional, Sequence, Tuple

from actions.answers.faq import OVERVIEW_KEY, FaqEntry
from actions.answers.followups import Followups
from actions.answers.lexical import FaqLexicon
from actions.knowledge import Answer, Knowledge
from actions.leaflets.index import Hit, LeafletIndex
from actions.leaflets.replies import topic_hints
from actions.practice import PracticeConfig, find_locations, find_practice, find_specialists
from actions.privacy import CONFIRM_DELETE_ANSWER_ID, DELETED_ANSWER_ID, requests
from actions.redflags import Assessment, RedFlagDetector
from actions.text import InputProblem, classify_input, fold, is_question

# "Meer lezen" typed instead of clicked, after a leaflet passage.
READ_MORE_TEXTS = ("meer lezen", "lees verder", "verder lezen", "meer", "verder", "ga verder", "lees meer")

# Decision kinds.
RED_FLAG = "red_flag"
INPUT = "input"
FAQ = "faq"
TOPIC = "topic"
PASSAGE = "passage"
CLARIFY = "clarify"
SCOPE = "out_of_scope"
ADMIN = "admin"
CONTACT = "contact"
CONVERSATION = "conversation"
SOURCE = "source"
READ_MORE = "read_more"
FOLLOWUP_DURATION = "followup_duration"
# The patient's own data: what is kept, "verwijder mijn gegevens" and the answer to its confirmation.
PRIVACY_INFO = "privacy_info"
PRIVACY_CONFIRM = "privacy_confirm"
PRIVACY_DELETE = "privacy_delete"
PRIVACY_KEEP = "privacy_keep"
FALLBACK = "fallback"
NOT_COVERED = "not_covered"
DESCRIBE = "describe"
# The red-flag rules' context flag for "the patient describes their own back pain".
OWN_PAIN_FLAG = "own_back_pain"

# Intents whose answer is in answers.yml without a FAQ (conversation topics).
CONVERSATION_INTENTS = ("greet", "goodbye", "thanks", "bot_challenge", "request_human", "request_appointment")
ACKNOWLEDGE_INTENTS = ("affirm", "deny", "dont_know", "stop_check")
SCOPE_CLASSES = ("other_complaint", "medication", "other")
ADMIN_INTENT = "ask_practice_admin"
ADMIN_CLASSES = ("costs", "insurance", "referral", "waiting_list", "opening_hours", "cancel")
CONTACT_INTENT = "ask_practice_contact"
# Intents that describe the patient's own situation rather than ask: a question in it is
# answered by the topic DIET ranks next.
STORY_INTENTS = ("describe_back_pain", "report_red_flag")
FALLBACK_INTENT = "nlu_fallback"
# Entities a button payload can carry: `/ask_exercises{"faq_entry": "exercises_how_often"}`.
ENTRY_ENTITY = "faq_entry"
LOCATION_ENTITY = "location"
_WORD = re.compile(r"[^\W\d_]{2,}", re.UNICODE)


@dataclass(frozen=True)
class Thresholds:
    """Confidences the decision uses (chosen on the training data's held-out examples, not on a blind set)."""

    # DIET is sure enough of a topic (below: the FallbackClassifier's `nlu_fallback`).
    topic: float = 0.45
    # Within the topic: the score an entry needs (the ResponseSelector's share of the topic's
    # confidence plus `lexical_weight` times the share of rare words it holds) ...
    entry_share: float = 0.30
    lexical_weight: float = 0.6
    # ... and its score against the general answer's share: from 0.75 of it the specific entry wins.
    overview_ratio: float = 0.75
    # NLU unsure: the ResponseSelector alone is trusted from this confidence on ...
    entry_sure: float = 0.60
    # ... and an entry is offered in a clarifying question from this one.
    entry_option: float = 0.08
    # DIET's confidence in out_of_scope from which it is final (below, the FAQ is consulted).
    scope: float = 0.50
    # NLU unsure: DIET's topics from this confidence on are offered in a clarifying question ...
    topic_option: float = 0.20
    # ... and a conversation or contact intent from this one is answered as such.
    unsure_conversation: float = 0.25
    # A leaflet passage is quoted only when no FAQ entry or topic is this likely.
    passage_when_entry_below: float = 0.10
    # Conversation intents (greet, thanks ...) are answered from this DIET confidence.
    conversation: float = 0.50
    # A short message that points back ("en daarmee?") is still a new question when DIET is this
    # sure of another intent.
    new_subject: float = 0.90


@dataclass(frozen=True)
class State:
    """What the decision needs from the conversation so far."""

    topic: Optional[str] = None
    answer_id: Optional[str] = None
    location: Optional[str] = None
    passage: Optional[str] = None
    previous_flags: Tuple[str, ...] = ()
    earlier: Tuple[str, ...] = ()


@dataclass(frozen=True)
class Option:
    """A question offered in a clarifying question: a FAQ entry or a topic's general answer."""

    answer_id: str
    topic: str
    label: str
    score: float


@dataclass
class Decision:
    """What to answer, and why (for the front desk and the tests)."""

    kind: str
    answer_id: str
    topic: str
    reason: str
    assessment: Optional[Assessment] = None
    entry: Optional[FaqEntry] = None
    answer: Optional[Answer] = None
    hit: Optional[Hit] = None
    options: List[Option] = field(default_factory=list)
    problem: Optional[InputProblem] = None
    location: Optional[str] = None
    # For contact/team: the text that names the specialisation asked about.
    subject: Optional[str] = None
    confidence: float = 0.0
    # The next most likely entries of the same topic (offered after a topic's general answer).
    related: List[Option] = field(default_factory=list)


@dataclass
class Services:
    """The loaded knowledge the decision reads (built once by actions.config)."""

    knowledge: Knowledge
    practice: PracticeConfig
    detector: RedFlagDetector
    followups: Followups
    lexicon: frozenset
    index: Callable[[], Optional[LeafletIndex]] = lambda: None
    thresholds: Thresholds = field(default_factory=Thresholds)
    # The FAQ's words per entry, for the second opinion within a topic.
    lexicon_faq: Optional[FaqLexicon] = None


# --- reading the parse -------------------------------------------------------------------


def strip_payload(text: str) -> str:
    """The words after a button payload ("/ask_imaging ik kan niet plassen" -> the words)."""
    if not text.startswith("/"):
        return text
    return text.partition(" ")[2]


def intent_of(parse: Mapping[str, Any]) -> Tuple[Optional[str], float]:
    """DIET's intent and confidence."""
    intent = parse.get("intent") or {}
    return intent.get("name"), float(intent.get("confidence") or 0.0)


def intent_ranking(parse: Mapping[str, Any]) -> List[Tuple[str, float]]:
    """DIET's ranking as (intent, confidence)."""
    return [(i.get("name"), float(i.get("confidence") or 0.0)) for i in parse.get("intent_ranking") or []]


def selector_ranking(parse: Mapping[str, Any]) -> List[Tuple[str, float]]:
    """The ResponseSelector's ranking as (`intent/key`, confidence), best first."""
    selector = (parse.get("response_selector") or {}).get("default") or {}
    ranking = [
        (str(item.get("intent_response_key")), float(item.get("confidence") or 0.0))
        for item in selector.get("ranking") or []
        if item.get("intent_response_key")
    ]
    return sorted(ranking, key=lambda pair: -pair[1])


def entity(parse: Mapping[str, Any], name: str) -> Optional[str]:
    """The value of an entity (from a button payload)."""
    for item in parse.get("entities") or []:
        if item.get("entity") == name and item.get("value"):
            return str(item["value"])
    return None


# --- the decision --------------------------------------------------------------------------


def decide(text: str, parse: Mapping[str, Any], state: State, services: Services) -> Decision:
    """Chooses the answer to `text` (see the module docstring for the order)."""
    words = strip_payload(text or "")
    payload = (text or "").startswith("/")
    assessment = services.detector.assess(words, list(state.previous_flags), earlier=list(state.earlier))
    if assessment.tier or assessment.crisis:
        tier = assessment.tier or "crisis"
        return Decision(RED_FLAG, f"red_flag/{tier}", RED_FLAG, "red flag reported", assessment=assessment)
    problem = None if payload else classify_input(text)
    if problem:
        return _with(
            Decision(INPUT, FALLBACK, FALLBACK, f"unusable input: {problem.value}", problem=problem), assessment
        )
    decision = _decide(words, payload, parse, state, services)
    own_pain = any(f.flag == OWN_PAIN_FLAG for f in assessment.reported(("context",)))
    if decision.kind in (NOT_COVERED, FALLBACK, CLARIFY) and own_pain and not is_question(words):
        # A description of their own back pain without a question: offer the short safety check.
        decision = Decision(DESCRIBE, "safety_check_offer", "safety_check", "own back pain described, no question")
    return _with(decision, assessment)


def _with(decision: Decision, assessment: Assessment) -> Decision:
    decision.assessment = assessment
    return decision


def _decide(words: str, payload: bool, parse: Mapping[str, Any], state: State, services: Services) -> Decision:
    knowledge = services.knowledge
    intent, confidence = intent_of(parse)
    privacy = _privacy(words, intent, state)
    if privacy is not None:
        return privacy
    chosen = _chosen_by_button(parse, intent, services)
    if chosen is not None:
        return chosen
    if intent == "read_more" or (state.passage and fold(words).strip(" .!?") in READ_MORE_TEXTS):
        return Decision(READ_MORE, "read_more", state.topic or "leaflet", "read more")
    if intent == "ask_source":
        return Decision(SOURCE, "source", state.topic or FALLBACK, "source of the previous answer")
    if not payload:
        followup = _followup(words, intent, confidence, parse, state, services)
        if followup is not None:
            return followup
    located = _named_location(words, intent, confidence, services)
    if located is not None:
        return located
    if intent in CONVERSATION_INTENTS and (payload or confidence >= services.thresholds.conversation):
        answer = knowledge.answer_for_intent(intent)
        return Decision(CONVERSATION, answer.topic, answer.topic, f"conversation: {intent}", answer=answer)
    if intent in ACKNOWLEDGE_INTENTS:
        answer = knowledge.answer_for_intent(intent)
        return Decision(CONVERSATION, answer.topic, answer.topic, f"acknowledge: {intent}", answer=answer)
    if intent == CONTACT_INTENT:
        return _contact(words, state, services, "practice contact")
    if intent == ADMIN_INTENT:
        return _admin(parse, confidence)
    if intent == "out_of_scope" and (payload or confidence >= services.thresholds.scope):
        return _scope(parse, confidence)
    if intent in STORY_INTENTS:  # their own back pain, maybe with a question: the question's topic
        intent, confidence = _next_topic(words, parse, services)
    answer = knowledge.answer_for_intent(intent)
    if answer is not None and answer.kind == "medical" and (payload or confidence >= services.thresholds.topic):
        return _within_topic(words, answer, parse, confidence, services)
    return _unsure(words, parse, services)


def _privacy(words: str, intent: Optional[str], state: State) -> Optional[Decision]:
    """A request to delete the conversation, the answer to its confirmation, or a privacy question."""
    if state.answer_id == CONFIRM_DELETE_ANSWER_ID:
        confirmed = requests.answer_to_confirmation(words, intent)
        if confirmed is True:
            return Decision(PRIVACY_DELETE, DELETED_ANSWER_ID, "privacy", "deletion confirmed")
        if confirmed is False:
            return Decision(PRIVACY_KEEP, "privacy/kept", "privacy", "deletion declined")
    if requests.asks_deletion(words):
        return Decision(PRIVACY_CONFIRM, CONFIRM_DELETE_ANSWER_ID, "privacy", "asks to delete the conversation")
    if requests.asks_about_privacy(words):
        return Decision(PRIVACY_INFO, "privacy/info", "privacy", "asks what happens to their data")
    return None


# Intents that keep their own answer when a location is named (it names that location's number).
OWN_ANSWER_WITH_LOCATION = ("request_appointment", ADMIN_INTENT)


def _named_location(words: str, intent: Optional[str], confidence: float, services: Services) -> Optional[Decision]:
    """A message that names a practice location and asks nothing else: that location's contact.

    "Hebben jullie een praktijk in Uden?", "die in Veghel", "en in Tilburg?". An appointment or
    administration question keeps its own answer (which names the location's number).
    """
    named = find_locations(services.practice, words)
    if not named:
        return None
    short = len(_WORD.findall(words)) <= 6
    if intent == CONTACT_INTENT or (short and intent not in OWN_ANSWER_WITH_LOCATION):
        location = named[0][1].name
        return Decision(
            CONTACT, f"contact/{_slug(location)}", "practice_contact", "a location is named", location=location
        )
    return None


def _next_topic(words: str, parse: Mapping[str, Any], services: Services) -> Tuple[Optional[str], float]:
    """The topic of the question in a story about one's own back pain.

    Of DIET's three best topics, the one whose FAQ holds most of the last question's words (DIET's
    order on a tie), with its confidence scaled up by what the story intents took.
    """
    ranking = intent_ranking(parse)
    story = sum(c for i, c in ranking if i in STORY_INTENTS)
    topics = [(n, c) for n, c in ranking if n and n.startswith("ask_") and n != CONTACT_INTENT][:3]
    if not topics:
        return None, 0.0
    question = _last_question(words)
    if services.lexicon_faq and question:
        shares = {n: max(services.lexicon_faq.shares(question, n[4:]).values(), default=0.0) for n, _ in topics}
        best = max(topics, key=lambda pair: (shares[pair[0]], pair[1]))
        if shares[best[0]] > 0:
            topics = [best]
    name, confidence = topics[0]
    return name, min(1.0, confidence / max(0.05, 1.0 - story))


def _last_question(words: str) -> str:
    """The last sentence that asks something ("... Moet ik nu een foto laten maken?")."""
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+", words) if s.strip()]
    asking = [s for s in sentences if s.endswith("?")]
    return asking[-1] if asking else (sentences[-1] if sentences else "")


def _chosen_by_button(parse: Mapping[str, Any], intent: Optional[str], services: Services) -> Optional[Decision]:
    """A FAQ entry, topic or location the patient chose by button."""
    knowledge = services.knowledge
    chosen = entity(parse, ENTRY_ENTITY)
    if chosen and chosen in knowledge.faq:
        entry = knowledge.faq[chosen]
        return Decision(FAQ, entry.id, entry.topic, "chosen by button", entry=entry, confidence=1.0)
    if chosen and chosen in knowledge.answers:
        answer = knowledge.answers[chosen]
        return Decision(TOPIC, answer.topic, answer.topic, "chosen by button", answer=answer, confidence=1.0)
    location = entity(parse, LOCATION_ENTITY)
    if location and intent == CONTACT_INTENT:
        return _contact(location, State(), services, "location chosen by button")
    return None


def _contact(words: str, state: State, services: Services, reason: str) -> Decision:
    """Practice contact: the location or specialist named, the one asked about before, else which location."""
    practice = services.practice
    named = find_locations(practice, words)
    if named:
        location = named[0][1].name
        return Decision(CONTACT, f"contact/{_slug(location)}", "practice_contact", reason, location=location)
    named = find_practice(practice, words)
    if find_specialists(practice, words) or (named is not None and named.team and not named.locations):
        return Decision(CONTACT, "contact/team", "practice_contact", reason)
    if state.location:
        return Decision(
            CONTACT, f"contact/{_slug(state.location)}", "practice_contact", "location of the previous answer",
            location=state.location,
        )  # fmt: skip
    if _asks_all(words, services):
        return Decision(CONTACT, "contact/all", "practice_contact", reason)
    main_practice, _ = practice.main
    if len(main_practice.locations) > 1:
        return Decision(CONTACT, "contact/which_location", "practice_contact", reason)
    return Decision(CONTACT, "contact/main", "practice_contact", reason)


def _asks_all(words: str, services: Services) -> bool:
    folded = set(_WORD.findall(fold(words)))
    return bool(folded & set(services.followups.words("all_locations")))


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", fold(name)).strip("_")


def _admin(parse: Mapping[str, Any], confidence: float) -> Decision:
    key = _best_key(parse, ADMIN_INTENT, ADMIN_CLASSES) or "opening_hours"
    return Decision(ADMIN, f"admin/{key}", "practice_admin", "practice administration", confidence=confidence)


def _scope(parse: Mapping[str, Any], confidence: float) -> Decision:
    key = _best_key(parse, "out_of_scope", SCOPE_CLASSES) or "other"
    return Decision(SCOPE, f"out_of_scope/{key}", "out_of_scope", "outside back pain", confidence=confidence)


def _best_key(parse: Mapping[str, Any], intent: str, allowed: Sequence[str]) -> Optional[str]:
    for key, _confidence in selector_ranking(parse):
        base, _, sub = key.partition("/")
        if base == intent and sub in allowed:
            return sub
    return None


def _topic_entries(parse: Mapping[str, Any], topic: str, services: Services) -> List[Tuple[str, float]]:
    """The ResponseSelector's keys of one topic ('overview' or a FAQ id) with their confidence."""
    prefix = f"ask_{topic}/"
    found = []
    for key, confidence in selector_ranking(parse):
        if key.startswith(prefix):
            sub = key[len(prefix) :]
            if sub == OVERVIEW_KEY or sub in services.knowledge.faq:
                found.append((sub, confidence))
    return found


def _within_topic(
    words: str, answer: Answer, parse: Mapping[str, Any], confidence: float, services: Services
) -> Decision:
    """DIET is sure of the topic: its FAQ entry that fits best, else the topic's general answer."""
    entries = _topic_entries(parse, answer.topic, services)
    total = sum(c for _, c in entries) or 1.0
    related = [
        _option_for(sub, answer.topic, c, services) for sub, c in entries if sub != OVERVIEW_KEY
    ][:3]  # fmt: skip
    best = _best_entry(words, answer.topic, entries, total, services)
    if best is not None:
        entry, score = best
        return Decision(
            FAQ, entry.id, entry.topic, f"topic {answer.topic}, entry score {score:.2f}", entry=entry, confidence=score
        )
    index = services.index() if words else None
    hit = index.specific_hit(words, answer.text) if index is not None else None
    if hit is not None:  # the question names something specific that only a leaflet explains
        return Decision(
            PASSAGE, _passage_id(hit), answer.topic, "a leaflet explains the specific thing", hit=hit, answer=answer
        )
    return Decision(
        TOPIC, answer.topic, answer.topic, f"topic {confidence:.2f}", answer=answer, confidence=confidence,
        related=related,
    )  # fmt: skip


def _best_entry(
    words: str, topic: str, entries: List[Tuple[str, float]], total: float, services: Services
) -> Optional[Tuple[FaqEntry, float]]:
    """The FAQ entry of `topic` that answers the message, or None for the topic's general answer.

    Two opinions: the ResponseSelector's share of the topic's confidence, and the share of the
    message's rarer words that an entry's question and examples hold (`FaqLexicon`). An entry
    wins when its combined score beats the general answer's and reaches `entry_share`.
    """
    knowledge, limits = services.knowledge, services.thresholds
    selector = {sub: confidence / total for sub, confidence in entries} if total else {}
    lexical = services.lexicon_faq.scores(words, topic) if services.lexicon_faq else {}
    candidates = {sub for sub in selector if sub != OVERVIEW_KEY} | set(lexical)
    if not candidates:
        return None
    overview = selector.get(OVERVIEW_KEY, 0.0)
    scored = sorted(
        ((selector.get(sub, 0.0) + limits.lexical_weight * lexical.get(sub, 0.0), sub) for sub in candidates),
        reverse=True,
    )
    score, sub = scored[0]
    if sub not in knowledge.faq or score < limits.entry_share or score < overview * limits.overview_ratio:
        return None
    return knowledge.faq[sub], score


def _passage_id(hit: Hit) -> str:
    return f"leaflet/{hit.passage.id}"


def _option_for(sub: str, topic: str, score: float, services: Services) -> Option:
    knowledge = services.knowledge
    if sub == OVERVIEW_KEY:
        return Option(topic, topic, knowledge.answers[topic].label, score)
    entry = knowledge.faq[sub]
    return Option(entry.id, entry.topic, entry.question, score)


def _candidates(parse: Mapping[str, Any], services: Services) -> List[Option]:
    """The questions the ResponseSelector finds most likely, across topics (best first, one per answer)."""
    knowledge = services.knowledge
    options: List[Option] = []
    for key, confidence in selector_ranking(parse):
        intent, _, sub = key.partition("/")
        answer = knowledge.answer_for_intent(intent)
        if answer is None or answer.kind != "medical":
            continue
        if sub != OVERVIEW_KEY and sub not in knowledge.faq:
            continue
        options.append(_option_for(sub, answer.topic, confidence, services))
    return options


def _unsure(words: str, parse: Mapping[str, Any], services: Services) -> Decision:
    """NLU is not sure of a topic: a sure FAQ entry, a clarifying question, a passage, or an honest reply."""
    knowledge, limits = services.knowledge, services.thresholds
    intent, confidence = intent_of(parse)
    options = _candidates(parse, services)
    diet_topics = [i for i, c in intent_ranking(parse)[:3] if c >= 0.1]
    if options and options[0].score >= limits.entry_sure and f"ask_{options[0].topic}" in diet_topics:
        return _answer_option(options[0], "response selector sure, DIET agrees", services)
    scope_class = _best_key(parse, "out_of_scope", SCOPE_CLASSES)
    ranked = [(i, c) for i, c in intent_ranking(parse) if i != FALLBACK_INTENT]
    top_intent, top_confidence = ranked[0] if ranked else (None, 0.0)
    if top_intent == "out_of_scope" and scope_class and scope_class != "other":
        return _scope(parse, confidence)
    if top_intent in CONVERSATION_INTENTS + (CONTACT_INTENT,) and top_confidence >= limits.unsure_conversation:
        if top_intent == CONTACT_INTENT:
            return _contact(words, State(), services, "practice contact (NLU unsure)")
        answer = knowledge.answer_for_intent(top_intent)
        return Decision(
            CONVERSATION, answer.topic, answer.topic, f"conversation: {top_intent} (NLU unsure)", answer=answer
        )
    # The likeliest questions: FAQ entries the selector ranks, and topics DIET ranks, best first.
    topics = [o for o in _topic_options(parse, services) if o.score >= limits.topic_option]
    plausible = _merge([o for o in options if o.score >= limits.entry_option], topics)[:3]
    best_score = options[0].score if options else 0.0
    index = services.index() if words.strip() else None
    if index is not None and best_score < limits.passage_when_entry_below and not topics:
        hits = index.search(words, limit=1, hints=topic_hints(knowledge, intent_ranking(parse)))
        if hits and hits[0].confidence >= index.settings.min_confidence and _answers(hits[0]):
            topic = _likely_topic(parse, services) or "leaflet"
            return Decision(PASSAGE, _passage_id(hits[0]), topic, "a leaflet passage answers it", hit=hits[0])
    scope_near = any(key.startswith("out_of_scope/") for key, _ in selector_ranking(parse)[:3])
    if scope_near and not topics and scope_class:  # the selector puts an out-of-scope class up front
        return _scope(parse, confidence)
    likely = topics or (options and options[0].score >= limits.topic_option)
    if plausible and likely and top_intent != "out_of_scope":
        return Decision(CLARIFY, "clarify", "clarify", "several questions are likely", options=plausible)
    if top_intent == "out_of_scope":
        return _scope(parse, confidence)
    suggestions = options[:3] or _topic_options(parse, services)
    if index is not None and index.analyzer.concepts(words) and _known_words(words, services):
        close = [o for o in suggestions if o.score >= SUGGEST_FROM]
        return Decision(NOT_COVERED, NOT_COVERED, NOT_COVERED, "a back-pain question nothing answers", options=close)
    return Decision(FALLBACK, FALLBACK, FALLBACK, "not understood", options=suggestions)


def _merge(entries: List[Option], topics: List[Option]) -> List[Option]:
    """Entries and topics in one list, best first, a topic left out when one of its entries is in."""
    chosen = list(entries)
    covered = {o.topic for o in entries}
    chosen += [o for o in topics if o.topic not in covered]
    return sorted(chosen, key=lambda o: -o.score)


# After "not covered", topics DIET ranks from this confidence on are offered ("Bedoelt u misschien ...").
SUGGEST_FROM = 0.2


def _topic_options(parse: Mapping[str, Any], services: Services) -> List[Option]:
    """The medical topics DIET ranks highest, as options (best first)."""
    knowledge = services.knowledge
    return [
        Option(answer.topic, answer.topic, answer.label, confidence)
        for intent, confidence in intent_ranking(parse)
        if (answer := knowledge.answer_for_intent(intent)) is not None and answer.kind == "medical" and answer.label
    ][:3]


def _likely_topic(parse: Mapping[str, Any], services: Services) -> Optional[str]:
    """The medical topic DIET ranks highest (from 0.1), for the `topic` slot of a leaflet answer."""
    options = _topic_options(parse, services)
    return options[0].topic if options and options[0].score >= 0.1 else None


def _answers(hit: Hit) -> bool:
    """A passage answers a question only when it holds all of the question's rarer words."""
    return not hit.missing


def _known_words(words: str, services: Services) -> bool:
    return any(word in services.lexicon for word in _WORD.findall(fold(words)))


def _answer_option(option: Option, reason: str, services: Services) -> Decision:
    knowledge = services.knowledge
    if option.answer_id in knowledge.faq:
        entry = knowledge.faq[option.answer_id]
        return Decision(FAQ, entry.id, entry.topic, reason, entry=entry, confidence=option.score)
    answer = knowledge.answers[option.topic]
    return Decision(TOPIC, answer.topic, answer.topic, reason, answer=answer, confidence=option.score)


# --- follow-ups ----------------------------------------------------------------------------


def _followup(
    words: str, intent: Optional[str], confidence: float, parse: Mapping[str, Any], state: State, services: Services
) -> Optional[Decision]:
    """A short question that only makes sense with the previous answer ("en hoe vaak?", "welke dan?").

    Explicit follow-ups hold a cue and no subject of their own; contextual ones are short and open
    with "en"/"maar" or point back ("dat", "daar", "daarmee"): they stay with the previous topic
    unless NLU is sure of another subject.
    """
    followups, knowledge = services.followups, services.knowledge
    if not state.topic:
        return None
    cues = followups.cues(words)
    explicit = intent == "ask_followup_duration" or followups.is_followup(words)
    if not explicit and not followups.is_contextual(words):
        return None
    previous = knowledge.faq.get(state.answer_id or "")
    answer = knowledge.answers.get(state.topic)
    context = previous.question if previous is not None else (answer.label if answer is not None else "")
    if explicit and ("phone" in cues or "address" in cues):
        if state.topic in ("practice_contact", "appointment", "human_handoff", "practice_admin") or "phone" in cues:
            return _contact(words, state, services, "follow-up on the practice contact")
    if explicit and "source" in cues:
        return Decision(SOURCE, "source", state.topic, "follow-up: source")
    if "who" in cues and find_specialists(services.practice, f"{context} {words}"):
        return Decision(
            CONTACT, "contact/team", "practice_contact", "follow-up: who does it", subject=f"{context} {words}"
        )
    if answer is None or answer.kind != "medical":
        return None
    # Only an opener ("en mag ik sporten?"): a new subject NLU is sure of goes first; a word that
    # points back ("mag ik daarmee bewegen?") keeps the previous topic first.
    points_back = explicit or followups.points_back(words)
    if not points_back and _another_subject(parse, answer.topic, services):
        return None
    entry = followups.best_entry(words, cues, answer.topic, knowledge.faq, exclude=state.answer_id, context=context)
    if entry is not None:
        return Decision(FAQ, entry.id, entry.topic, f"follow-up on {answer.topic}", entry=entry)
    entries = [(sub, c) for sub, c in _topic_entries(parse, answer.topic, services) if sub != state.answer_id]
    best = _best_entry(words, answer.topic, entries, sum(c for _, c in entries), services)
    if best is not None and best[0].id != state.answer_id:
        return Decision(FAQ, best[0].id, best[0].topic, f"follow-up within {answer.topic}", entry=best[0])
    if not explicit:
        return None
    if "how_long" in cues:  # the topic's own "how long" text, else the general course of back pain
        target = answer if answer.how_long else knowledge.answers["prognosis"]
        return Decision(FOLLOWUP_DURATION, target.topic, target.topic, "follow-up: how long", answer=target)
    if state.answer_id != answer.topic:
        return Decision(TOPIC, answer.topic, answer.topic, "follow-up: back to the topic", answer=answer)
    return None


def _another_subject(parse: Mapping[str, Any], topic: str, services: Services) -> bool:
    """NLU is sure the message is about something else than `topic` (a new question, not a follow-up)."""
    intent, confidence = intent_of(parse)
    if intent and intent != f"ask_{topic}" and confidence >= services.thresholds.new_subject:
        return True
    ranking = selector_ranking(parse)
    if ranking and ranking[0][1] >= services.thresholds.entry_sure:
        return not ranking[0][0].startswith(f"ask_{topic}/")
    return False
