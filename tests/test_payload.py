"""The context payload: everything the bot learned reaches the agent.

Events are created with Rasa's own event classes and serialised with `as_dict()`,
exactly as rasa_sdk hands them to an action, so the payload is tested on the real
shape of a tracker.
"""

import asyncio
import json
import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import pytest
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUtteranceReverted,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from rasa_handover.constants import POLICY_SLOTS
from rasa_handover.conversation import view_from_rasa_tracker
from rasa_handover.payload import (
    PAYLOAD_VERSION,
    SCHEMA_FILE,
    TRANSCRIPT_HEAD,
    TRANSCRIPT_TAIL,
    InvalidPayloadError,
    PayloadConfig,
    build_payload,
    build_payload_async,
    detect_language,
    payload_size,
    validate_payload,
)
from rasa_handover.redaction import MASK_PLACEHOLDER, RedactionConfig
from rasa_handover.summary import Summary, SummaryFacts

REPO = Path(__file__).resolve().parents[1]
T0 = 1714550000.0
NOW = T0 + 600


# --- Building a conversation from real Rasa events. ---------------------------


class Conversation:
    """Appends serialised Rasa events the way the processor logs them."""

    def __init__(self, channel: str = "socketio") -> None:
        self.events: List[Dict[str, Any]] = []
        self.channel = channel
        self.clock = T0

    def _tick(self) -> float:
        self.clock += 5
        return self.clock

    def session_start(self) -> "Conversation":
        ts = self._tick()
        self.events += [
            ActionExecuted("action_session_start", timestamp=ts).as_dict(),
            SessionStarted(timestamp=ts).as_dict(),
            ActionExecuted("action_listen", timestamp=ts).as_dict(),
        ]
        return self

    def user(
        self,
        text: str,
        intent: str,
        confidence: float = 0.95,
        entities: Sequence[Tuple[str, Any]] = (),
        metadata: Optional[Dict[str, Any]] = None,
        slots: Sequence[Tuple[str, Any]] = (),
    ) -> "Conversation":
        found = []
        for name, value in entities:
            start = text.find(str(value))
            found.append(
                {
                    "entity": name,
                    "value": value,
                    "start": start,
                    "end": start + len(str(value)),
                    "extractor": "DIETClassifier",
                }
            )
        parse_data = {
            "text": text,
            "intent": {"name": intent, "confidence": confidence},
            "entities": found,
            "intent_ranking": [
                {"name": intent, "confidence": confidence},
                {"name": "nlu_fallback", "confidence": 1 - confidence},
            ],
        }
        ts = self._tick()
        self.events.append(
            UserUttered(
                text,
                intent=parse_data["intent"],
                entities=found,
                parse_data=parse_data,  # type: ignore[arg-type]
                timestamp=ts,
                input_channel=self.channel,
                metadata=metadata,
            ).as_dict()
        )
        # Slot mappings (action_extract_slots) are logged right after the
        # message, without an action event of their own.
        self.events += [SlotSet(k, v, timestamp=ts).as_dict() for k, v in slots]
        return self

    def bot(
        self,
        action: str,
        *texts: str,
        slots: Sequence[Tuple[str, Any]] = (),
        utter: bool = True,
        data: Optional[Dict[str, Any]] = None,
    ) -> "Conversation":
        ts = self._tick()
        self.events.append(ActionExecuted(action, timestamp=ts).as_dict())
        for text in texts:
            metadata = {"utter_action": action} if utter else {}
            self.events.append(
                BotUttered(text, data=data, metadata=metadata, timestamp=ts).as_dict()
            )
        self.events += [SlotSet(k, v, timestamp=ts).as_dict() for k, v in slots]
        return self

    def listen(self) -> "Conversation":
        self.events.append(
            ActionExecuted("action_listen", timestamp=self._tick()).as_dict()
        )
        return self

    def raw(self, *events: Any) -> "Conversation":
        self.events += [e.as_dict() for e in events]
        return self

    def decide(
        self, reason: str, evidence: Dict[str, Any], turn: int
    ) -> "Conversation":
        """The policy's prediction events, logged before action_handover runs."""
        return self.raw(
            SlotSet("handover_reason", reason),
            SlotSet("handover_evidence", evidence),
            SlotSet("handover_turn", float(turn)),
        )


EVIDENCE = {
    "intent": "human_handoff",
    "confidence": 0.97,
    "text": "I want to talk to a human, my card 4242 4242 4242 4242 is on file",
    "matched": "intent",
    "also_fired": ["frustration"],
    "high_value": False,
}


def refund_conversation() -> Conversation:
    """Dana wants a refund for order 1182 and ends up asking for a person."""
    return (
        Conversation()
        .session_start()
        .user("hi", "greet", 0.99)
        .bot("utter_greet", "Hi, I'm the Streamly assistant. What can I do for you?")
        .listen()
        .user(
            "I want a refund for order 1181",
            "request_refund",
            0.93,
            entities=[("order_id", "1181")],
            slots=[("order_id", "1181")],
        )
        .bot(
            "action_check_order",
            "Order 1181 was delivered on 2 May.",
            utter=False,
            slots=[("account_tier", "standard")],
        )
        .bot("utter_ask_amount", "How much should be refunded?")
        .listen()
        .user(
            "sorry, order 1182, and it was 250",
            "inform",
            0.88,
            entities=[("order_id", "1182"), ("amount", "250")],
            slots=[("order_id", "1182"), ("refund_amount", 250.0)],
        )
        .bot("utter_refund_policy", "Refunds above $100 are reviewed by billing.")
        .listen()
        .user("my card 4242 4242 4242 4242 was charged TWICE!!!", "inform", 0.61)
        .bot("utter_default", "Sorry, I didn't get that.")
        .listen()
        .user(
            "I want to talk to a human, my card 4242 4242 4242 4242 is on file",
            "human_handoff",
            0.97,
        )
        .decide("explicit_request", EVIDENCE, 5)
    )


SLOTS: Dict[str, Any] = {
    "order_id": "1182",
    "refund_amount": 250.0,
    "account_tier": "standard",
    "name": "Dana",
    "email": "dana@example.com",
    "requested_slot": None,
    "session_started_metadata": {"userAgent": "Mozilla/5.0"},
    "handover_active": False,
    "handover_reason": "explicit_request",
    "handover_evidence": EVIDENCE,
    "handover_turn": 5.0,
    "handover_offered": False,
}


def build(
    conversation: Optional[Conversation] = None,
    slots: Optional[Dict[str, Any]] = None,
    **options: Any,
) -> Dict[str, Any]:
    conversation = conversation or refund_conversation()
    options.setdefault("channel", "socketio")
    options.setdefault("attempt", 1)
    options.setdefault("now", NOW)
    return build_payload(
        "dana-1", conversation.events, SLOTS if slots is None else slots, **options
    )


@pytest.fixture(scope="module")
def payload() -> Dict[str, Any]:
    return build()


# --- The fields. --------------------------------------------------------------


def test_envelope(payload: Dict[str, Any]) -> None:
    assert payload["version"] == PAYLOAD_VERSION
    assert payload["conversation_id"] == "dana-1"
    assert payload["attempt"] == 1
    assert payload["created_at"] == "2024-05-01T08:03:20.000Z"
    assert payload["channel"] == "socketio"


def test_transcript_is_the_whole_conversation_in_order(payload: Dict[str, Any]) -> None:
    transcript = payload["transcript"]
    assert [(m["role"], m.get("intent") or m.get("action")) for m in transcript] == [
        ("user", "greet"),
        ("bot", "utter_greet"),
        ("user", "request_refund"),
        # A custom action's message is attributed to the action that sent it.
        ("bot", "action_check_order"),
        ("bot", "utter_ask_amount"),
        ("user", "inform"),
        ("bot", "utter_refund_policy"),
        ("user", "inform"),
        ("bot", "utter_default"),
        ("user", "human_handoff"),
    ]
    assert transcript[3]["text"] == "Order 1181 was delivered on 2 May."
    timestamps = [m["timestamp"] for m in transcript]
    assert timestamps == sorted(timestamps)
    assert payload["transcript_truncated"] is False


def test_intent_history_has_every_user_turn(payload: Dict[str, Any]) -> None:
    history = payload["intent_history"]
    assert [(h["turn"], h["intent"], h["confidence"]) for h in history] == [
        (1, "greet", 0.99),
        (2, "request_refund", 0.93),
        (3, "inform", 0.88),
        (4, "inform", 0.61),
        (5, "human_handoff", 0.97),
    ]
    assert history[2]["text"] == "sorry, order 1182, and it was 250"
    assert history[2]["entities"] == [
        {"entity": "order_id", "value": "1182"},
        {"entity": "amount", "value": "250"},
    ]
    assert payload["intent"] == {"name": "human_handoff", "confidence": 0.97}


def test_entities_are_deduplicated_with_the_latest_value(
    payload: Dict[str, Any],
) -> None:
    assert payload["entities"] == [
        {"entity": "order_id", "value": "1182", "turn": 3, "session": 1},
        {"entity": "amount", "value": "250", "turn": 3, "session": 1},
    ]


def test_slots_are_the_account_state_without_internal_slots(
    payload: Dict[str, Any],
) -> None:
    assert payload["slots"] == {
        "order_id": "1182",
        "refund_amount": 250.0,
        "account_tier": "standard",
        "name": "Dana",
        "email": "dana@example.com",
    }
    assert not set(POLICY_SLOTS) & set(payload["slots"])


def test_trigger_comes_from_the_decision_slots(payload: Dict[str, Any]) -> None:
    trigger = payload["trigger"]
    assert trigger["reason"] == "explicit_request"
    assert trigger["turn"] == 5
    assert trigger["evidence"]["matched"] == "intent"
    assert trigger["evidence"]["also_fired"] == ["frustration"]
    assert trigger["offered_before"] is False
    # The turn points at the message that fired it.
    fired = next(h for h in payload["intent_history"] if h["turn"] == trigger["turn"])
    assert fired["intent"] == "human_handoff"


@pytest.mark.parametrize(
    ("evidence_team", "argument", "config", "team"),
    [
        pytest.param("compliance", "billing", {}, "compliance", id="evidence-wins"),
        pytest.param(None, "billing", {}, "billing", id="caller-argument"),
        pytest.param(None, None, {"default_team": "support"}, "support", id="default"),
        pytest.param(None, None, {}, None, id="none"),
    ],
)
def test_team(
    evidence_team: Optional[str],
    argument: Optional[str],
    config: Dict[str, Any],
    team: Optional[str],
) -> None:
    slots = {**SLOTS, "handover_evidence": {**EVIDENCE, "team": evidence_team}}
    built = build(slots=slots, team=argument, config=PayloadConfig.from_dict(config))
    assert built["trigger"]["team"] == team


def test_customer(payload: Dict[str, Any]) -> None:
    assert payload["customer"] == {
        "name": "Dana",
        "id": None,
        "email": "dana@example.com",
    }


def test_customer_name_from_message_metadata() -> None:
    conversation = (
        Conversation()
        .session_start()
        .user("hello", "greet", metadata={"customer_name": "Ana", "language": "pt-BR"})
    )
    built = build(conversation, slots={})
    assert built["customer"]["name"] == "Ana"
    assert built["language"] == "pt"
    assert built["language_detection"]["source"] == "metadata"


@pytest.mark.parametrize(
    ("tier", "evidence", "high_value"),
    [
        pytest.param("vip", {}, True, id="vip-tier"),
        pytest.param("Enterprise", {}, True, id="tier-case-insensitive"),
        pytest.param("standard", {}, False, id="standard-tier"),
        pytest.param("standard", {"high_value": True}, True, id="evidence-wins"),
        pytest.param("vip", {"high_value": False}, False, id="evidence-says-not"),
        pytest.param(None, {}, False, id="no-tier"),
    ],
)
def test_account(
    tier: Optional[str], evidence: Dict[str, Any], high_value: bool
) -> None:
    slots = {"account_tier": tier, "handover_evidence": evidence}
    built = build(slots=slots)
    assert built["account"] == {"tier": tier, "high_value": high_value}


def test_account_tier_comes_from_the_policys_slot() -> None:
    # The policy's `high_value.slot` is `plan` here: its evidence names the tier.
    evidence = {"high_value": True, "account_tier": "gold"}
    built = build(slots={"plan": "gold", "handover_evidence": evidence})
    assert built["account"] == {"tier": "gold", "high_value": True}


def test_sentiment(payload: Dict[str, Any]) -> None:
    sentiment = payload["sentiment"]
    # "I want to talk to a human ..." reads neutral-to-positive to VADER, the
    # shouted complaint before it reads negative.
    assert -1 <= sentiment["score"] <= 1
    assert sentiment["latest"] is not None
    assert set(sentiment["frustration_signals"]) >= {"punctuation_burst"}


def test_summary_tells_the_agent_what_the_customer_wants(
    payload: Dict[str, Any],
) -> None:
    summary = payload["summary"]
    assert summary["goal"] == "Dana wants to get a refund of 250 for order 1182."
    assert "order number 1182" in summary["provided"]
    assert "amount 250" in summary["provided"]
    assert "asked for the amount" in summary["tried"]
    assert "answered how to get a refund" in summary["tried"]
    assert "The customer asked for a person." in summary["text"]
    assert summary["summariser"] == "rule_based"


def test_payload_matches_the_schema(payload: Dict[str, Any]) -> None:
    validate_payload(payload)
    json.dumps(payload)  # plain JSON, nothing exotic


def test_invalid_payload_names_the_field(payload: Dict[str, Any]) -> None:
    broken = {**payload, "attempt": 0}
    with pytest.raises(InvalidPayloadError, match="attempt"):
        validate_payload(broken)
    broken = {**payload, "transcript": [{"role": "agent", "text": "hi"}]}
    with pytest.raises(InvalidPayloadError, match="transcript"):
        validate_payload(broken)


def test_docs_schema_is_the_packaged_schema() -> None:
    assert (
        REPO / "docs" / "payload.schema.json"
    ).read_bytes() == SCHEMA_FILE.read_bytes()


def test_channel_falls_back_to_the_input_channel() -> None:
    built = build(
        Conversation(channel="rest").session_start().user("hi", "greet"),
        slots={},
        channel=None,
    )
    assert built["channel"] == "rest"


def test_attempt_must_be_positive() -> None:
    with pytest.raises(ValueError, match="attempt"):
        build(attempt=0)


def test_empty_conversation_is_still_a_valid_payload() -> None:
    built = build(Conversation(), slots={})
    validate_payload(built)
    assert built["intent"] is None
    assert built["transcript"] == []
    assert built["summary"]["goal"] == "The customer has not said anything yet."


# --- Rewinds and sessions: the policy's turn numbers. -------------------------


def policy_turn(events: List[Dict[str, Any]]) -> Optional[int]:
    """The number the policy gives the latest message (what handover_turn holds)."""
    view = view_from_rasa_tracker(DialogueStateTracker.from_dict("c1", events))
    return view.latest_turn.index if view.latest_turn else None


def test_rewound_message_is_in_the_transcript_but_not_a_turn() -> None:
    conversation = (
        Conversation()
        .session_start()
        .user("asdfgh", "nlu_fallback", 0.3)
        .bot("action_default_fallback", "Sorry, I didn't get that.", utter=False)
        .raw(UserUtteranceReverted())
        .listen()
        .user(
            "refund for order 1182", "request_refund", entities=[("order_id", "1182")]
        )
    )
    built = build(conversation, slots={})
    assert [m["text"] for m in built["transcript"]][::2] == [
        "asdfgh",
        "refund for order 1182",
    ]
    assert [h["text"] for h in built["intent_history"]] == ["refund for order 1182"]
    # The same numbering as the policy's view, which handover_turn uses.
    assert built["intent_history"][-1]["turn"] == policy_turn(conversation.events) == 1
    assert "said it did not understand" in built["summary"]["tried"]


def test_turns_are_numbered_per_session() -> None:
    conversation = (
        Conversation()
        .session_start()
        .user("hi", "greet")
        .user("invoice please", "ask_invoice")
        .session_start()
        .user("hello again", "greet")
        .raw(Restarted())
        .user("refund", "request_refund")
    )
    built = build(conversation, slots={})
    assert [(h["session"], h["turn"]) for h in built["intent_history"]] == [
        (1, 1),
        (1, 2),
        (2, 1),
        (3, 1),
    ]
    assert policy_turn(conversation.events) == built["intent_history"][-1]["turn"]
    # The transcript still has everything, across sessions.
    assert len(built["transcript"]) == 4


def test_bot_message_without_text_is_described() -> None:
    conversation = (
        Conversation()
        .session_start()
        .user("plans?", "ask_plans")
        .bot(
            "utter_plans",
            "",
            data={
                "image": "https://example.com/plans.png",
                "buttons": [{"title": "Basic", "payload": "/basic"}],
            },
        )
    )
    built = build(conversation, slots={})
    assert built["transcript"][1]["text"] == "[image] https://example.com/plans.png"
    assert built["transcript"][1]["buttons"] == ["Basic"]
    validate_payload(built)


def test_customer_lines_are_what_the_customer_saw() -> None:
    """The widget's init payload is no line; a button click reads as its title."""
    conversation = (
        Conversation()
        .session_start()
        .user("/greet", "greet")
        .bot("utter_greet", "Hi! What can I do for you?")
        .listen()
        .user("qwzx blorp", "nlu_fallback", 0.3)
        .bot(
            "action_handover_clarify",
            "Did you mean one of these?",
            utter=False,
            data={"buttons": [{"title": "Get an invoice", "payload": "/ask_invoice"}]},
        )
        .listen()
        .user("/ask_invoice", "ask_invoice", 1.0)
    )
    built = build(conversation, slots={})
    lines = [(e["role"], e["text"]) for e in built["transcript"]]
    assert lines == [
        ("bot", "Hi! What can I do for you?"),
        ("user", "qwzx blorp"),
        ("bot", "Did you mean one of these?"),
        ("user", "Get an invoice"),
    ]
    # Still three turns: the policy counted the init payload as turn 1.
    assert [t["turn"] for t in built["intent_history"]] == [1, 2, 3]
    validate_payload(built)


# --- Size bound. --------------------------------------------------------------


def long_conversation(exchanges: int, bot_chars: int = 300) -> Conversation:
    conversation = Conversation().session_start()
    for i in range(exchanges):
        conversation.user(f"question {i}", "ask_invoice", 0.9)
        conversation.bot("utter_ask_invoice", f"answer {i} " + "x" * bot_chars)
        conversation.listen()
    return conversation


@pytest.mark.parametrize(
    ("exchanges", "max_bytes", "history_cut"),
    [
        pytest.param(100, 24 * 1024, False, id="transcript-cut-in-the-middle"),
        pytest.param(1500, 16 * 1024, True, id="huge-conversation-history-cut-too"),
    ],
)
def test_long_transcript_loses_its_middle(
    exchanges: int, max_bytes: int, history_cut: bool
) -> None:
    conversation = long_conversation(exchanges)
    full = build(conversation, slots={}, config=PayloadConfig(max_bytes=10**9))
    built = build(conversation, slots={}, config=PayloadConfig(max_bytes=max_bytes))

    assert payload_size(built) <= max_bytes
    assert built["transcript_truncated"] is True
    transcript, original = built["transcript"], full["transcript"]
    marker = transcript[TRANSCRIPT_HEAD]
    assert marker["role"] == "system"
    kept_tail = len(transcript) - TRANSCRIPT_HEAD - 1
    assert marker["omitted"] == len(original) - TRANSCRIPT_HEAD - kept_tail
    assert marker["text"] == f"[... {marker['omitted']} messages omitted ...]"
    # The opening and the latest messages are exactly the original ones.
    assert transcript[:TRANSCRIPT_HEAD] == original[:TRANSCRIPT_HEAD]
    assert transcript[-kept_tail:] == original[-kept_tail:]
    assert kept_tail >= TRANSCRIPT_TAIL
    # Every other field stays.
    assert built["intent_history_truncated"] is history_cut
    assert built["summary"] == full["summary"]
    assert built["trigger"] == full["trigger"]
    validate_payload(built)


def test_giant_slot_value_is_shortened_with_a_marker() -> None:
    slots = {"order_id": "1182", "debug_dump": "y" * 200_000}
    built = build(slots=slots, config=PayloadConfig(max_bytes=32 * 1024))
    assert payload_size(built) <= 32 * 1024
    assert built["strings_truncated"] is True
    assert built["transcript_truncated"] is False
    dump = built["slots"]["debug_dump"]
    match = re.search(r"…\[truncated (\d+) chars\]$", dump)
    assert match is not None
    assert len(dump) - len(match.group()) + int(match.group(1)) == 200_000
    assert built["slots"]["order_id"] == "1182"
    validate_payload(built)


def test_small_payload_is_untouched(payload: Dict[str, Any]) -> None:
    assert payload_size(payload) < PayloadConfig().max_bytes
    assert not payload["strings_truncated"]
    assert not payload["intent_history_truncated"]


# --- Redaction. ---------------------------------------------------------------


def test_card_number_never_leaves_the_bot(payload: Dict[str, Any]) -> None:
    dumped = json.dumps(payload)
    assert "4242 4242 4242 4242" not in dumped
    assert payload["transcript"][7]["text"] == (
        "my card **** **** **** 4242 was charged TWICE!!!"
    )
    assert payload["trigger"]["evidence"]["text"].endswith(
        "my card **** **** **** 4242 is on file"
    )
    assert payload["redaction"]["detectors"] == ["card", "iban", "national_id"]
    # Order numbers are not card numbers.
    assert "order 1182" in payload["transcript"][5]["text"]


def test_configured_slot_masking_reaches_the_transcript() -> None:
    config = PayloadConfig.from_dict(
        {"redaction": {"slots_to_mask": ["email"], "emails": False}}
    )
    conversation = refund_conversation().user(
        "it's dana@example.com", "inform", slots=[("email", "dana@example.com")]
    )
    built = build(conversation, config=config)
    assert built["slots"]["email"] == MASK_PLACEHOLDER
    assert built["customer"]["email"] == MASK_PLACEHOLDER
    assert built["transcript"][-1]["text"] == f"it's {MASK_PLACEHOLDER}"
    assert "dana@example.com" not in json.dumps(built)
    assert built["redaction"]["masked_slots"] == ["email"]


def test_redaction_off_keeps_everything() -> None:
    built = build(config=PayloadConfig(redaction=RedactionConfig(enabled=False)))
    assert "4242 4242 4242 4242" in built["transcript"][7]["text"]
    assert built["redaction"]["detectors"] == []


class RecordingSummariser:
    """Records the facts it gets: they must already be redacted."""

    name = "recording"

    def __init__(self) -> None:
        self.facts: Optional[SummaryFacts] = None

    def summarise(self, facts: SummaryFacts) -> Summary:
        self.facts = facts
        return Summary(goal="goal", text=f"card {4242_4242_4242_4242}")


def test_summariser_sees_only_redacted_facts() -> None:
    summariser = RecordingSummariser()
    built = build(summariser=summariser)
    assert summariser.facts is not None
    assert "4242 4242 4242 4242" not in repr(summariser.facts)
    assert summariser.facts.customer_name == "Dana"
    assert summariser.facts.trigger_reason == "explicit_request"
    assert "action_check_order" in summariser.facts.bot_actions
    # What the summariser writes is redacted as well.
    assert built["summary"]["text"] == "card ************4242"
    assert built["summary"]["summariser"] == "recording"


class BrokenSummariser:
    name = "broken"

    def summarise(self, facts: SummaryFacts) -> Summary:
        raise RuntimeError("model exploded")


def test_broken_summariser_never_blocks_the_handover() -> None:
    built = build(summariser=BrokenSummariser())
    assert built["summary"]["summariser"] == "rule_based (broken_failed: RuntimeError)"
    assert "order 1182" in built["summary"]["goal"]


# --- Language. ----------------------------------------------------------------

GERMAN = ("Hallo, ich möchte mein Geld zurück", "Die Bestellung ist nicht angekommen")


@pytest.mark.parametrize("detector", ["stopwords", "auto"])
def test_language_is_detected_from_the_customer_messages(detector: str) -> None:
    conversation = Conversation().session_start()
    for text in GERMAN:
        conversation.user(text, "request_refund")
    config = PayloadConfig(language_detector=detector)
    built = build(conversation, slots={}, config=config)
    assert built["language"] == "de"
    assert built["language_detection"]["source"] == "detected"


@pytest.mark.parametrize(
    ("slots", "metadata", "config", "language", "source"),
    [
        pytest.param(
            {"language": "es"}, {"language": "fr"}, {}, "es", "slot", id="slot-wins"
        ),
        pytest.param(
            {}, {"locale": "fr_FR"}, {}, "fr", "metadata", id="metadata-locale"
        ),
        pytest.param(
            {}, None, {"default_language": "en"}, "en", "default", id="default"
        ),
        pytest.param({}, None, {}, None, "unknown", id="unknown"),
        pytest.param(
            {},
            None,
            {"language_detector": "off", "default_language": "nl"},
            "nl",
            "default",
            id="detection-off",
        ),
    ],
)
def test_language_sources(
    slots: Dict[str, Any],
    metadata: Optional[Dict[str, Any]],
    config: Dict[str, Any],
    language: Optional[str],
    source: str,
) -> None:
    conversation = (
        Conversation().session_start().user("ok", "affirm", metadata=metadata)
    )
    built = build(conversation, slots=slots, config=PayloadConfig.from_dict(config))
    assert built["language"] == language
    assert built["language_detection"]["source"] == source


@pytest.mark.parametrize(
    ("text", "code"),
    [
        pytest.param(
            "I want a refund, the order never arrived and I am waiting", "en", id="en"
        ),
        pytest.param("Quiero un reembolso, el pedido no ha llegado", "es", id="es"),
        pytest.param(
            "Je voudrais être remboursé, la commande n'est pas arrivée", "fr", id="fr"
        ),
        pytest.param("Vorrei un rimborso, l'ordine non è arrivato", "it", id="it"),
        pytest.param(
            "Ik wil mijn geld terug, de bestelling is niet aangekomen", "nl", id="nl"
        ),
        pytest.param("Quero um reembolso, o pedido não chegou", "pt", id="pt"),
    ],
)
def test_language_detectors_agree(text: str, code: str) -> None:
    assert (
        detect_language(text, PayloadConfig(language_detector="stopwords")).code == code
    )
    pytest.importorskip("lingua")
    guess = detect_language(text, PayloadConfig(language_detector="lingua"))
    assert (guess.code, guess.detector) == (code, "lingua")


def test_language_detection_chooses_only_configured_languages() -> None:
    guess = detect_language(
        "Quero um reembolso, o pedido não chegou",
        PayloadConfig(languages=("en", "de"), language_detector="stopwords"),
    )
    assert guess.code is None


# --- Configuration. -----------------------------------------------------------


def test_default_config_round_trips() -> None:
    defaults = PayloadConfig.default()
    assert defaults["max_bytes"] == 64 * 1024
    assert defaults["redaction"]["cards"] is True
    assert PayloadConfig.from_dict(defaults) == PayloadConfig()


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        pytest.param({"max_size": 10}, "max_size", id="unknown-key"),
        pytest.param({"max_bytes": "64k"}, "max_bytes", id="not-an-int"),
        pytest.param(
            {"language_detector": "cld3"}, "language_detector", id="bad-choice"
        ),
        pytest.param({"languages": ["english"]}, "languages", id="not-a-code"),
        pytest.param({"default_team": ""}, "default_team", id="empty-team"),
        pytest.param({"redaction": {"cardz": True}}, "cardz", id="bad-redaction-key"),
    ],
)
def test_config_errors_name_the_key(raw: Dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PayloadConfig.from_dict(raw)


@pytest.mark.parametrize(
    ("key", "value", "where"),
    [
        pytest.param("tier_slot", "plan", "high_value.slot", id="tier-slot"),
        pytest.param(
            "high_value_tiers", ["gold"], "high_value.values", id="high-value-tiers"
        ),
        pytest.param(
            "intent_teams", {"request_refund": "billing"}, "handover_team", id="teams"
        ),
    ],
)
def test_settings_the_policy_owns_say_where_they_live_now(
    key: str, value: Any, where: str
) -> None:
    # A bot author sets the tier slot, the high-value tiers and the teams once,
    # for the policy; the payload cannot disagree with its decision.
    with pytest.raises(ValueError, match=rf"{key}.*{re.escape(where)}"):
        PayloadConfig.from_dict({key: value})


async def test_async_build_gives_the_same_payload(payload: Dict[str, Any]) -> None:
    built = await build_payload_async(
        "dana-1",
        refund_conversation().events,
        SLOTS,
        channel="socketio",
        attempt=1,
        now=NOW,
    )
    assert built == payload
    assert asyncio.get_running_loop().is_running()
