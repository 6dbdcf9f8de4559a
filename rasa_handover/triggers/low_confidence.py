"""`low_confidence`: NLU is unsure what the user means.

A turn is *unclear* when the top intent's confidence is below its floor, when
the top two intents are too close to tell apart, when Rasa's
`FallbackClassifier` already replaced the intent with `nlu_fallback`, or when
the message holds no word in any language ("???", "asdfghjk"; see
`message_kinds.no_words_kind`) or is clearly written in a language the bot does
not speak (`bot_languages`; see `message_kinds.other_language`), whatever NLU's
confidence.
Remarks are never unclear: content-free turns (thanks, ok, greetings, emoji),
success reports and never-minds, and acknowledgements with a settled remark
("ahh ok, will try that", "thanks, standard it is"); see
`message_kinds.is_remark`. There is no request in them the bot could get wrong.

With `clarify_before_handover` (the default), the first unclear turn gets the
clarification (`clarify_action`: "did you mean ...?"), not a person. The bot
hands over when the turn after it is unclear too, or when the customer picks
"something else"; high-value accounts are handed over at once. Rasa's own
fallback (`action_default_fallback`: "Sorry, I didn't get that. Could you
rephrase it?") asks too: an unclear turn right after a message it took back is
handed over, not asked about a second time; so is one after the bot's own
answer to `nlu_fallback` (a rule of the bot, which the policy lets run
instead of the clarification). An unsure
regulated intent is asked about like any other (NLU is not sure the topic is
regulated at all; the regulated intent is one of the buttons, and picking it
hands over through `regulated_topic`). The evidence of a handover after a
clarification shows both turns.

An answer to a question of the bot's own form (a `requested_slot`) is not
judged on NLU's confidence: the form's slot mappings read it, as they do with
Rasa's `FallbackClassifier`. Only when the form rejects the message
(`ActionExecutionRejected`) is the turn judged, and asked about, as any other.
"""

from typing import Any, Collection, Dict, List, Optional

from rasa_handover.constants import (
    ACTION_LISTEN,
    CLARIFY_STAGE_ASK,
    CLARIFY_STAGE_SOMETHING_ELSE,
    CLARIFY_STAGE_STILL_UNCLEAR,
    INTENT_NLU_FALLBACK,
    INTENT_SOMETHING_ELSE,
    LOW_CONFIDENCE_AMBIGUOUS,
    LOW_CONFIDENCE_BELOW_FLOOR,
    LOW_CONFIDENCE_NLU_FALLBACK,
    LOW_CONFIDENCE_NO_WORDS,
    LOW_CONFIDENCE_OTHER_LANGUAGE,
    RASA_CONTROL_INTENTS,
    REASON_LOW_CONFIDENCE,
)
from rasa_handover.conversation import ConversationView, UserTurn
from rasa_handover.message_kinds import is_remark, no_words_kind, other_language
from rasa_handover.settings import HandoverSettings
from rasa_handover.thresholds import Thresholds, table_for
from rasa_handover.triggers.decision import Decision

# Confidences in evidence are rounded so that it stays readable for agents.
EVIDENCE_DIGITS = 4
# How many likely intents the clarification offers at most.
MAX_CHOICES = 2


def check_low_confidence(
    view: ConversationView,
    settings: HandoverSettings,
    thresholds: Optional[Thresholds] = None,
    high_value: bool = False,
) -> Optional[Decision]:
    """Checks the latest user message's NLU confidence.

    Args:
        view: The conversation.
        settings: The handover and clarify actions, `clarify_before_handover`.
        thresholds: The floor and ambiguity threshold of the top intent
            (default: the settings' own).
        high_value: Whether the account is high value (stricter thresholds,
            no clarification).

    Returns:
        A decision to clarify (`stage: clarify`, the `choices` offered) or to
        hand over, with evidence `kind`, `intent`, `confidence`,
        `confidence_floor` (and `confidence_floor_source`: where it was set),
        for ambiguity the runner-up, the margin and the threshold; after a
        clarification the `stage` and the `clarified` turn's evidence. Or `None`.

    """
    turn = view.latest_turn
    if turn is None or turn.intent in RASA_CONTROL_INTENTS:
        return None
    table = table_for(settings, thresholds)
    rewound = _rewound_request(turn)
    after_clarify = (
        turn.previous_action == settings.clarify_action
        or bool(rewound)
        or _after_bots_own_fallback(view)
    )
    if after_clarify and turn.intent == INTENT_SOMETHING_ELSE:
        declined = {"kind": CLARIFY_STAGE_SOMETHING_ELSE, "text": turn.text}
        return _after_clarify(view, settings, table, high_value, declined, rewound)
    if turn.answers_form_slot is not None:
        # The bot's own form asked for a slot: its mappings read the answer
        # ("John Smith", "next tuesday") whatever the intent. If it cannot use
        # it, it rejects the message and the turn is judged again.
        return None
    evidence = unclear_evidence(turn, table, high_value, settings.known_bot_languages)
    if evidence is None:
        return None
    if after_clarify:
        return _after_clarify(view, settings, table, high_value, evidence, rewound)
    if settings.clarify_before_handover and not high_value:
        # NLU's guesses at a message in another language are no choices.
        choices = (
            []
            if evidence["kind"] == LOW_CONFIDENCE_OTHER_LANGUAGE
            else _choices(turn, table)
        )
        return Decision(
            REASON_LOW_CONFIDENCE,
            settings.clarify_action,
            {**evidence, "stage": CLARIFY_STAGE_ASK, "choices": choices},
            turn.index,
        )
    return Decision(
        REASON_LOW_CONFIDENCE, settings.handover_action, evidence, turn.index
    )


def unclear_evidence(
    turn: UserTurn,
    table: Thresholds,
    high_value: bool,
    bot_languages: Collection[str] = (),
) -> Optional[Dict[str, Any]]:
    """Why NLU's reading of `turn` cannot be trusted, or `None` if it can.

    `bot_languages`: the languages the bot speaks (none: the other-language
    rule is off).
    """
    if is_remark(turn.text or ""):
        return None
    ranking = turn.ranking
    top_name = ranking[0].name if ranking else turn.intent
    top_confidence = ranking[0].confidence if ranking else turn.confidence
    limits = table.for_intent(top_name, high_value)
    evidence: Dict[str, Any] = {
        "intent": top_name,
        "confidence": _rounded(top_confidence),
        "text": turn.text,
        "confidence_floor": limits.confidence_floor,
        "confidence_floor_source": limits.sources["confidence_floor"],
    }
    if turn.intent == INTENT_NLU_FALLBACK:
        return {"kind": LOW_CONFIDENCE_NLU_FALLBACK, **evidence}
    no_words = no_words_kind(turn.text or "")
    if no_words is not None and not turn.entities:
        # "???", "asdfghjk": a classifier puts anything on some intent.
        return {"kind": LOW_CONFIDENCE_NO_WORDS, "no_words": no_words, **evidence}
    language = other_language(turn.text or "", bot_languages)
    if language is not None:
        # "¿cuánto cuesta ...?" to an English bot: NLU's intent means nothing.
        return {
            "kind": LOW_CONFIDENCE_OTHER_LANGUAGE,
            "language": language,
            "bot_languages": list(bot_languages),
            **evidence,
        }
    if top_confidence is None or top_name is None:
        return None
    if top_confidence < limits.confidence_floor:
        return {"kind": LOW_CONFIDENCE_BELOW_FLOOR, **evidence}
    threshold = limits.ambiguity_threshold
    if threshold > 0 and len(ranking) >= 2:
        # Rounded so that 0.7 - 0.6 counts as the 0.1 it reads as.
        margin = round(ranking[0].confidence - ranking[1].confidence, EVIDENCE_DIGITS)
        if margin < threshold:
            return {
                "kind": LOW_CONFIDENCE_AMBIGUOUS,
                **evidence,
                "runner_up": ranking[1].name,
                "runner_up_confidence": _rounded(ranking[1].confidence),
                "margin": margin,
                "ambiguity_threshold": threshold,
                "ambiguity_threshold_source": limits.sources["ambiguity_threshold"],
            }
    return None


def _choices(turn: UserTurn, table: Thresholds) -> List[Dict[str, str]]:
    """The likely intents the domain gives a display name, best first."""
    choices: List[Dict[str, str]] = []
    for score in turn.ranking:
        declaration = table.declarations.get(score.name)
        if declaration is not None and declaration.display_name:
            choices.append({"intent": score.name, "title": declaration.display_name})
        if len(choices) == MAX_CHOICES:
            break
    return choices


def _after_clarify(
    view: ConversationView,
    settings: HandoverSettings,
    table: Thresholds,
    high_value: bool,
    evidence: Dict[str, Any],
    rewound: Optional[str],
) -> Decision:
    """The turn after the clarification is no clearer: hand over, with both.

    `rewound`: the request Rasa's fallback took back just before (it asked).
    """
    latest = view.turns[-1]
    clarified = view.turns[-2] if len(view.turns) >= 2 else None
    stage = (
        CLARIFY_STAGE_SOMETHING_ELSE
        if evidence.get("kind") == CLARIFY_STAGE_SOMETHING_ELSE
        else CLARIFY_STAGE_STILL_UNCLEAR
    )
    earlier: Optional[Dict[str, Any]] = None
    if rewound and latest.previous_action != settings.clarify_action:
        # Rasa's fallback asked: NLU's reading of that message is gone with it.
        earlier = {"text": rewound, "rewound": True}
    elif clarified is not None:
        earlier = (
            unclear_evidence(clarified, table, high_value, settings.known_bot_languages)
            or {}
        )
        earlier = {**earlier, "turn": clarified.index, "text": clarified.text}
    return Decision(
        REASON_LOW_CONFIDENCE,
        settings.handover_action,
        {**evidence, "stage": stage, "clarified": earlier},
        latest.index,
    )


def _after_bots_own_fallback(view: ConversationView) -> bool:
    """Whether the bot answered the previous turn's `nlu_fallback` itself.

    A bot whose own rule answers `nlu_fallback` ("Sorry, could you rephrase
    that?") has asked once already, as the clarification would have. A remark
    ("ok") held no request to ask about.
    """
    if len(view.turns) < 2:
        return False
    previous, latest = view.turns[-2], view.turns[-1]
    return (
        previous.intent == INTENT_NLU_FALLBACK
        and latest.previous_action not in (None, ACTION_LISTEN)
        and not is_remark(previous.text or "")
    )


def _rewound_request(turn: UserTurn) -> Optional[str]:
    """What Rasa's fallback took back just before `turn`, if it asked something.

    `action_default_fallback` ("Sorry, I didn't get that. Could you rephrase
    it?") has then asked once already. A remark it took back ("ok", "thanks")
    held no request to rephrase.
    """
    for text in reversed(turn.unanswered_before):
        if not is_remark(text):
            return text
    return None


def _rounded(value: Optional[float]) -> Optional[float]:
    return None if value is None else round(value, EVIDENCE_DIGITS)
