"""`repeat_loop`: the user keeps asking the same thing; the bot is not helping.

On the `repeat_limit`-th ask (default: the 2nd) within `repeat_window` user
turns, the bot *offers* a person. If the user accepts, or asks once more, it
hands over. A declined offer is not repeated in the conversation. High-value
accounts are handed over on the first repeat, without an offer.

A turn that reports success, says never mind or takes the request back
("updating the app fixed it", "it was only $5, never mind", "actually I don't
want the updates") is never an ask, even when NLU gives it the same intent
(`message_kinds.ends_request`); "forget it, I want a refund" still asks. Nor
is a remark ("ok upgrading now"), a follow-up question ("and can I also use
google pay later?", `message_kinds.is_follow_up`), or an answer to the bot's
own form (a name, a date, "no" to a `requested_slot`,
`UserTurn.answers_form_slot`): two answers NLU labels alike are two slots
filled, not a question asked twice.

Nor is a topic opener ("it's about my login", "quick question about
billing", `message_kinds.names_topic_only`): the customer has named the topic
and asks in the next message; unless that message says the answer has not
helped ("regarding my refund" answered, then "still nothing on my refund").
Nor is a turn the bot asked about instead of answering (`clarify_action`,
"did you mean ...?"): the customer's next message answers that question, and
the two are one ask, however alike NLU labels them ("can you check the
stuff", asked about, then "I want to know if my account is active").

Two asks are "the same" when they have the same intent and do not name
different entity values: asking for the status of order 1182 and then of order
1190 is not a loop. For a retrieval intent (a `ResponseSelector` answers it)
the full name decides: "faq/ask_price" and then "faq/ask_hours" are two
questions, not one asked twice.

A repeat is often worded less like the training data than the first ask
("which plan has 4k streaming", then "so which one has 4k?"), so NLU may be
unsure of it. When an earlier ask was clear (the bot answered it), the evidence
says so (`answered_before`) and the repeat outranks `low_confidence`: asking
"did you mean: plans?" about the question the bot just answered helps nobody.
"""

import re
from typing import Optional, Set

from rasa_handover.constants import (
    INTENT_NLU_FALLBACK,
    RASA_CONTROL_INTENTS,
    REASON_REPEAT_LOOP,
    REPEAT_STAGE_ASKED_AGAIN,
    REPEAT_STAGE_HIGH_VALUE,
    REPEAT_STAGE_OFFER,
    REPEAT_STAGE_OFFER_ACCEPTED,
    SLOT_HANDOVER_OFFERED,
)
from rasa_handover.conversation import ConversationView, UserTurn
from rasa_handover.message_kinds import (
    ends_request,
    is_follow_up,
    is_remark,
    names_topic_only,
)
from rasa_handover.settings import HandoverSettings
from rasa_handover.thresholds import Thresholds, table_for
from rasa_handover.triggers.decision import Decision
from rasa_handover.triggers.low_confidence import unclear_evidence

# Words with which a turn says the answer to the earlier one has not helped.
_STILL_UNSOLVED = re.compile(r"(?i)\b(?:still|again|same|yet)\b")


def same_request(earlier: UserTurn, later: UserTurn) -> bool:
    """Whether two turns ask the same thing (same intent, no conflicting entities).

    Two questions of one retrieval intent ("faq/ask_price", "faq/ask_hours":
    both `faq`) are different questions.
    """
    if earlier.intent != later.intent:
        return False
    if (
        earlier.retrieval_intent
        and later.retrieval_intent
        and earlier.retrieval_intent != later.retrieval_intent
    ):
        return False
    if not earlier.entities or not later.entities:
        return True
    return {(e.entity, str(e.value)) for e in earlier.entities} == {
        (e.entity, str(e.value)) for e in later.entities
    }


def clarified_turns(view: ConversationView, settings: HandoverSettings) -> Set[int]:
    """The turns the bot answered with its clarifying question (their indices)."""
    return {
        earlier.index
        for earlier, later in zip(view.turns, view.turns[1:])
        if later.previous_action == settings.clarify_action
    }


def offer_declined(view: ConversationView, settings: HandoverSettings) -> bool:
    """Whether the user answered the bot's offer of a person with a no."""
    return any(
        turn.previous_action == settings.offer_action
        and turn.intent in settings.deny_intents
        for turn in view.turns
    )


def check_repeat_loop(
    view: ConversationView,
    settings: HandoverSettings,
    thresholds: Optional[Thresholds] = None,
    high_value: bool = False,
) -> Optional[Decision]:
    """Looks for the same request asked again within the window.

    Args:
        view: The conversation.
        settings: `repeat_ignore_intents`, `affirm_intents`, `deny_intents`,
            the offer and handover actions.
        thresholds: `repeat_limit`, `repeat_window` and whether to hand over
            on the first repeat (default: the settings' own).
        high_value: Whether the account is high value.

    Returns:
        A decision to offer (`action` is the offer action) or to hand over, with
        evidence `intent`, the `turns` it was asked on, `count` and `stage`; or
        `None`.

    """
    latest = view.latest_turn
    if latest is None:
        return None
    if latest.previous_action == settings.offer_action:
        if latest.intent in settings.affirm_intents:
            return Decision(
                REASON_REPEAT_LOOP,
                settings.handover_action,
                {
                    "stage": REPEAT_STAGE_OFFER_ACCEPTED,
                    "intent": latest.intent,
                    "text": latest.text,
                },
                latest.index,
            )
        if latest.intent in settings.deny_intents:
            return None
    intent = latest.intent
    if (
        intent is None
        or intent in settings.repeat_ignore_intents
        or intent in settings.explicit_request_intents
        or intent in RASA_CONTROL_INTENTS
        or intent == INTENT_NLU_FALLBACK
        # "it works now, cheers", "never mind", "actually I don't want it":
        # the same intent, but the request is over, not repeated.
        or ends_request(latest.text or "")
        # "ok upgrading now": a remark is no ask; "and can I also pay with
        # google pay?": a further question about the same topic, not a repeat.
        or is_remark(latest.text or "")
        or is_follow_up(latest.text or "")
        or names_topic_only(latest.text or "")
        or latest.answers_form_slot is not None
    ):
        return None
    table = table_for(settings, thresholds)
    limits = table.for_intent(intent, high_value)
    asked_about = clarified_turns(view, settings)
    unsolved = bool(_STILL_UNSOLVED.search(latest.text or ""))
    asks = [
        turn
        for turn in view.recent_turns(limits.repeat_window)
        if same_request(turn, latest)
        and not ends_request(turn.text or "")
        and turn.answers_form_slot is None
        and turn.index not in asked_about
        and not (names_topic_only(turn.text or "") and not unsolved)
    ]
    if len(asks) < limits.repeat_limit:
        return None
    evidence = {
        "intent": intent,
        "turns": [turn.index for turn in asks],
        "count": len(asks),
        "texts": [turn.text for turn in asks],
        "text": latest.text,
        "answered_before": any(
            unclear_evidence(turn, table, high_value, settings.known_bot_languages)
            is None
            for turn in asks[:-1]
        ),
    }
    if limits.hand_over_on_first_repeat:
        stage, action = REPEAT_STAGE_HIGH_VALUE, settings.handover_action
    elif offer_declined(view, settings):
        return None
    elif not view.slot(SLOT_HANDOVER_OFFERED):
        stage, action = REPEAT_STAGE_OFFER, settings.offer_action
    else:
        stage, action = REPEAT_STAGE_ASKED_AGAIN, settings.handover_action
    return Decision(
        REASON_REPEAT_LOOP, action, {**evidence, "stage": stage}, latest.index
    )
