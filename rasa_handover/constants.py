"""Names shared by the policy, the actions, the channel and the inbox.

Everything that crosses a boundary (a slot the policy sets and an action reads, a
reason code the inbox shows, an action name a story uses) is spelled once, here.
This module imports nothing, so the pure decision code can use it freely.
"""

from typing import Tuple

# --- Reason codes: why a conversation went (or was offered) to a human. ---------
REASON_EXPLICIT_REQUEST = "explicit_request"
REASON_LOW_CONFIDENCE = "low_confidence"
REASON_FRUSTRATION = "frustration"
REASON_REGULATED_TOPIC = "regulated_topic"
REASON_REPEAT_LOOP = "repeat_loop"

# The order in which the policy runs the triggers: the first that fires wins.
# A request the user made outranks a compliance rule, which outranks what we
# infer from tone, which outranks what we infer from NLU uncertainty; a loop is
# the weakest evidence and usually only leads to an offer.
REASON_CODES: Tuple[str, ...] = (
    REASON_EXPLICIT_REQUEST,
    REASON_REGULATED_TOPIC,
    REASON_FRUSTRATION,
    REASON_LOW_CONFIDENCE,
    REASON_REPEAT_LOOP,
)

# --- Actions. -----------------------------------------------------------------
ACTION_HANDOVER = "action_handover"
ACTION_OFFER_HANDOVER = "action_offer_handover"
ACTION_HANDBACK = "action_handback"
ACTION_SCHEDULE_CALLBACK = "action_schedule_callback"
# Asks the customer once what they meant before an unclear turn is handed over.
ACTION_CLARIFY = "action_handover_clarify"
ACTION_LEAVE_MESSAGE = "action_handover_leave_message"
# The forms of the alternatives to waiting (domain.yml).
FORM_CALLBACK = "handover_callback_form"
FORM_MESSAGE = "handover_message_form"
FORMS: Tuple[str, ...] = (FORM_CALLBACK, FORM_MESSAGE)
# Rasa's own names, repeated so that pure modules need not import Rasa.
ACTION_LISTEN = "action_listen"
ACTION_SESSION_START = "action_session_start"
ACTION_RESTART = "action_restart"

# --- Intents. -----------------------------------------------------------------
INTENT_HUMAN_HANDOFF = "human_handoff"
INTENT_HANDOVER_RESOLVED = "handover_resolved"
INTENT_AFFIRM = "affirm"
INTENT_DENY = "deny"
# The "Something else" button of the clarification: none of the guesses fit.
INTENT_SOMETHING_ELSE = "handover_something_else"
# "call me back" / "I'll leave a message": the alternatives to waiting.
INTENT_CALLBACK = "handover_callback"
INTENT_LEAVE_MESSAGE = "handover_leave_message"
ALTERNATIVE_INTENTS: Tuple[str, ...] = (INTENT_CALLBACK, INTENT_LEAVE_MESSAGE)
# What Rasa's FallbackClassifier predicts when NLU is unsure.
INTENT_NLU_FALLBACK = "nlu_fallback"
# Intents only the handover channel may send (on the inbox's behalf): a
# customer's message never carries them (channels/customer_input_guard.py).
CHANNEL_CONTROL_INTENTS: Tuple[str, ...] = (INTENT_HANDOVER_RESOLVED,)
# Rasa's default intents that must always reach Rasa's own default actions.
RASA_CONTROL_INTENTS: Tuple[str, ...] = ("restart", "session_start", "back")
# The intents HandoverPolicy may answer with more than silence while a human owns
# the conversation (its `predict_action_probabilities`): the alternatives to
# waiting, the handback and Rasa's own. The relay's fast path
# (channels/fast_path.py) records every other message of a handed-over
# conversation without running the policies.
WAITING_CONTROL_INTENTS: Tuple[str, ...] = (
    *ALTERNATIVE_INTENTS,
    INTENT_HANDOVER_RESOLVED,
    *RASA_CONTROL_INTENTS,
)
# Extra user turns the policy keeps in its view beyond the triggers' windows, so
# that the repeat loop can still see the user's answer to an earlier offer.
OFFER_LOOKBACK_TURNS = 4

# --- Slots. -------------------------------------------------------------------
# True while a human owns the conversation; the bot stays silent.
SLOT_HANDOVER_ACTIVE = "handover_active"
# The reason code of the latest escalation (or offer).
SLOT_HANDOVER_REASON = "handover_reason"
# JSON-serialisable evidence for that decision (see docs/policy.md).
SLOT_HANDOVER_EVIDENCE = "handover_evidence"
# The user turn (1-based, within the session) on which the trigger fired.
SLOT_HANDOVER_TURN = "handover_turn"
# True once the bot has offered a person in this conversation (offer once).
SLOT_HANDOVER_OFFERED = "handover_offered"
# The callback and message forms.
SLOT_CALLBACK_TIME = "callback_time"
SLOT_CALLBACK_DUE = "callback_due"
SLOT_CALLBACK_CONTACT = "callback_contact"
SLOT_HANDOVER_EMAIL = "handover_email"
SLOT_HANDOVER_MESSAGE = "handover_message"
# The default slot that marks high-value accounts.
SLOT_ACCOUNT_TIER = "account_tier"

# Slots the policy writes; a domain that uses the policy must declare them.
POLICY_SLOTS: Tuple[str, ...] = (
    SLOT_HANDOVER_ACTIVE,
    SLOT_HANDOVER_REASON,
    SLOT_HANDOVER_EVIDENCE,
    SLOT_HANDOVER_TURN,
    SLOT_HANDOVER_OFFERED,
)

# --- The handover channel's key in credentials.yml (its class's import path). ---
CHANNEL_CREDENTIALS_KEY = "rasa_handover.channels.HandoverInput"
# Its durable outbox (SQLite) when credentials.yml sets no `outbox`.
DEFAULT_OUTBOX = "handover_outbox.db"

# --- Messages between the actions and the handover channel. ---------------------
# The key that marks the plugin's custom messages (`json_message`).
MESSAGE_KEY = "rasa_handover"
MESSAGE_HANDOVER = "handover"
MESSAGE_CALLBACK = "callback"
# A message left for the team, answered by e-mail.
MESSAGE_ASYNC = "async_message"
# The customer's satisfaction score after a handback (action_handover_csat).
MESSAGE_CSAT = "csat"
# --- The CSAT question after a handback. ----------------------------------------
# The button payloads of `utter_handover_csat` send this intent with the score as
# this entity (`/handover_csat{"handover_csat_score": "4"}`); without a score
# the customer skipped the question.
INTENT_CSAT = "handover_csat"
ENTITY_CSAT_SCORE = "handover_csat_score"
ACTION_CSAT = "action_handover_csat"
CSAT_SCORES: Tuple[int, ...] = (1, 2, 3, 4, 5)
# Metadata of the `handover_resolved` message the channel sends on handback.
METADATA_AGENT_NAME = "agent_name"
METADATA_OUTCOME = "outcome"
# Metadata keys only the channel sets; removed from a customer's metadata.
CHANNEL_METADATA_KEYS: Tuple[str, ...] = (METADATA_AGENT_NAME, METADATA_OUTCOME)
# The outcome of a handback after the inbox expired the ticket (nobody picked it
# up in time): the customer has been told already, the bot greets nobody back.
OUTCOME_EXPIRED = "expired"

# --- Frustration signals. -----------------------------------------------------
SIGNAL_SHOUTING = "shouting"
SIGNAL_PROFANITY = "profanity"
SIGNAL_EXASPERATION = "exasperation"
# How support customers say the service fails them: waiting, repetition, no
# reply, threats to leave, blame (rasa_handover/signals/complaint.py).
SIGNAL_COMPLAINT = "complaint"
SIGNAL_REPEATED_NEGATION = "repeated_negation"
SIGNAL_PUNCTUATION_BURST = "punctuation_burst"
SIGNAL_NEGATIVE_SENTIMENT = "negative_sentiment"
# The learned classifier (rasa_handover/signals/learned.py, docs/frustration.md).
SIGNAL_ANGRY_TONE = "angry_tone"

ALL_SIGNALS: Tuple[str, ...] = (
    SIGNAL_SHOUTING,
    SIGNAL_PROFANITY,
    SIGNAL_EXASPERATION,
    SIGNAL_COMPLAINT,
    SIGNAL_REPEATED_NEGATION,
    SIGNAL_PUNCTUATION_BURST,
    SIGNAL_NEGATIVE_SENTIMENT,
    SIGNAL_ANGRY_TONE,
)
# The signals counted unless `frustration_signal_types` says otherwise: all but
# `complaint`, which counts two signs on its own and so hands over on a first
# "it crashed again" (one turn early on the labelled support set, and a
# repeated question taken from the repeat loop): a support bot opts in
# (docs/frustration.md, "Support complaints").
DEFAULT_SIGNALS: Tuple[str, ...] = tuple(
    name for name in ALL_SIGNALS if name != SIGNAL_COMPLAINT
)

# --- Repeat loop stages (evidence["stage"]). -----------------------------------
REPEAT_STAGE_OFFER = "offer"
REPEAT_STAGE_OFFER_ACCEPTED = "offer_accepted"
REPEAT_STAGE_ASKED_AGAIN = "asked_again"
REPEAT_STAGE_HIGH_VALUE = "high_value_first_repeat"

# --- Low confidence kinds (evidence["kind"]). ----------------------------------
LOW_CONFIDENCE_BELOW_FLOOR = "below_floor"
LOW_CONFIDENCE_AMBIGUOUS = "ambiguous"
LOW_CONFIDENCE_NLU_FALLBACK = "nlu_fallback"
# Punctuation alone or a keyboard mash ("???", "asdfghjk"), at any confidence.
LOW_CONFIDENCE_NO_WORDS = "no_words"
# A message in a language the bot does not speak (`message_kinds.other_language`).
LOW_CONFIDENCE_OTHER_LANGUAGE = "other_language"

# --- Clarify-before-handover stages (low_confidence evidence["stage"]). --------
# The first unclear turn: the bot asks what the customer meant.
CLARIFY_STAGE_ASK = "clarify"
# The turn after the clarification is unclear too: hand over.
CLARIFY_STAGE_STILL_UNCLEAR = "still_unclear"
# The customer picked "something else" (none of the guesses): hand over.
CLARIFY_STAGE_SOMETHING_ELSE = "something_else"

# --- Domain intent properties read by the plugin (see docs/policy.md). ---------
PROPERTY_REGULATED = "regulated"
PROPERTY_REGULATED_WHEN = "regulated_when"
PROPERTY_TEAM = "handover_team"
PROPERTY_CONFIDENCE_FLOOR = "handover_confidence_floor"
PROPERTY_AMBIGUITY_THRESHOLD = "handover_ambiguity_threshold"
# How the clarification offers the intent as a button ("Check my balance").
PROPERTY_DISPLAY_NAME = "handover_display_name"

# `bot_languages: auto`: the policy reads the bot's languages from the domain's
# responses.
BOT_LANGUAGES_AUTO = "auto"

# Apostrophe look-alikes that phones and word processors insert ("don\u2019t").
# Replacing them one character for one keeps every offset valid for the
# original text (the frustration signals report spans of it). Read by every
# reader of words: `languages.words_of` and the signals.
APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})
