"""The summary an agent reads first, and the pluggable summarisers behind it."""

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple, Union

import pytest

from rasa_handover.summary import (
    BotResponse,
    FactTurn,
    OpenAICompatibleSummariser,
    RuleBasedSummariser,
    Summariser,
    Summary,
    SummaryFacts,
    summariser_from_config,
)


def facts(
    *turns: Tuple[str, str, float, Tuple[Tuple[str, Any], ...]],
    **options: Any,
) -> SummaryFacts:
    """Facts from `(text, intent, confidence, entities)` turns."""
    return SummaryFacts(
        user_turns=tuple(
            FactTurn(turn=i, text=t, intent=n, confidence=c, entities=e)
            for i, (t, n, c, e) in enumerate(turns, start=1)
        ),
        **options,
    )


REFUND = facts(
    ("hi", "greet", 0.99, ()),
    ("I want a refund for order 1182", "request_refund", 0.93, (("order_id", "1182"),)),
    ("it was 250", "inform", 0.9, (("amount", "250"),)),
    ("yes", "affirm", 0.98, ()),
    ("let me talk to a person", "human_handoff", 0.97, ()),
    bot_actions=(
        "utter_greet",
        "utter_ask_order_id",
        "utter_refund_info",
        "action_default_fallback",
    ),
    slots={"order_id": "1182", "refund_amount": 250.0, "account_tier": "vip"},
    customer_slots=("order_id", "refund_amount"),
    trigger_reason="explicit_request",
    customer_name="Dana",
)


def test_refund_summary_reads_like_a_colleague_wrote_it() -> None:
    summary = RuleBasedSummariser().summarise(REFUND)
    assert summary.goal == "Dana wants to get a refund of 250 for order 1182."
    assert summary.tried == (
        "asked for the order number",
        "answered with utter_refund_info",
        "said it did not understand",
    )
    # The amount entity and the refund_amount slot filled from it are one fact;
    # the account tier came from a backend lookup, not from the customer.
    assert summary.provided == ("order number 1182", "amount 250")
    assert summary.text == (
        "Dana wants to get a refund of 250 for order 1182. They already gave: "
        "order number 1182 and amount 250. The bot already asked for the order "
        "number, answered with utter_refund_info and said it did not understand. "
        "The customer asked for a person."
    )
    assert summary.summariser == "rule_based"


@pytest.mark.parametrize(
    ("summary_facts", "intent_goals", "goal"),
    [
        pytest.param(
            facts(("refund please", "request_refund", 0.9, ())),
            None,
            "The customer wants to get a refund.",
            id="template-without-values",
        ),
        pytest.param(
            facts(("refund 1182", "request_refund", 0.9, (("order_id", "1182"),))),
            None,
            "The customer wants to get a refund for order 1182.",
            id="template-with-order-only",
        ),
        pytest.param(
            facts(
                ("refund", "request_refund", 0.9, ()),
                slots={"order_id": "1182", "refund_amount": 250},
                customer_name="Dana",
            ),
            {"request_refund": "get a refund of ${amount} for order {order_id}"},
            "Dana wants to get a refund of $250 for order 1182.",
            id="bot-author-template-from-slot-aliases",
        ),
        pytest.param(
            facts(("where is it", "track_parcel", 0.9, ())),
            None,
            "The customer wants to track the parcel.",
            id="unknown-verb-intent",
        ),
        pytest.param(
            facts(("when are you open", "ask_opening_hours", 0.9, ())),
            None,
            "The customer wants to ask about opening hours.",
            id="unknown-ask-intent",
        ),
        pytest.param(
            facts(("blue", "colour_preference", 0.9, ())),
            None,
            "The customer wants to get help with colour preference.",
            id="unknown-intent-without-verb",
        ),
        pytest.param(
            facts(("hmm refund maybe", "request_refund", 0.3, ())),
            None,
            "The customer may want to get a refund (the bot was not sure).",
            id="low-confidence-goal-is-hedged",
        ),
        pytest.param(
            facts(("hello", "greet", 0.9, ()), ("agent!", "human_handoff", 0.99, ())),
            None,
            'The customer\'s goal is not clear yet; they last wrote: "agent!".',
            id="only-generic-intents-quotes-the-customer",
        ),
        pytest.param(
            facts(),
            None,
            "The customer has not said anything yet.",
            id="no-messages",
        ),
        pytest.param(
            facts(
                ("cancel", "cancel_subscription", 0.9, ()),
                ("actually a refund", "request_refund", 0.9, ()),
                ("yes", "affirm", 0.9, ()),
            ),
            None,
            "The customer wants to get a refund.",
            id="latest-non-generic-intent-wins",
        ),
    ],
)
def test_goal(
    summary_facts: SummaryFacts, intent_goals: Optional[Dict[str, str]], goal: str
) -> None:
    summariser = RuleBasedSummariser(intent_goals=intent_goals)
    assert summariser.summarise(summary_facts).goal == goal


@pytest.mark.parametrize(
    ("reason", "evidence", "sentence"),
    [
        pytest.param(
            "explicit_request", {}, "The customer asked for a person.", id="explicit"
        ),
        pytest.param(
            "frustration",
            {"signals": [{"signal": "shouting"}, {"signal": "profanity"}]},
            "The customer seems frustrated (shouting, profanity).",
            id="frustration",
        ),
        pytest.param(
            "regulated_topic",
            {"intent": "request_refund", "condition": "slot refund_amount above 100"},
            "This topic must be handled by a person "
            "(request_refund: slot refund_amount above 100).",
            id="regulated-with-condition",
        ),
        pytest.param(
            "low_confidence",
            {},
            "The bot was not sure what the customer meant.",
            id="low-confidence",
        ),
        pytest.param(
            "repeat_loop",
            {"count": 3},
            "The customer asked for the same thing 3 times.",
            id="repeat-loop",
        ),
        pytest.param(
            "explicit_request",
            {"high_value": True, "account_tier": "vip"},
            "The customer asked for a person. This is a high-value account (vip).",
            id="high-value",
        ),
    ],
)
def test_trigger_sentence(reason: str, evidence: Dict[str, Any], sentence: str) -> None:
    summary = RuleBasedSummariser().summarise(
        facts(
            ("help", "ask_invoice", 0.9, ()),
            trigger_reason=reason,
            trigger_evidence=evidence,
        )
    )
    assert summary.text.endswith(sentence)


def test_tried_skips_housekeeping_and_names_forms() -> None:
    summary = RuleBasedSummariser().summarise(
        facts(
            ("refund", "request_refund", 0.9, ()),
            bot_actions=(
                "utter_greet",
                "refund_form",
                "validate_refund_form",
                "utter_ask_email",
                "action_check_order",
                "action_offer_handover",
            ),
            forms=("refund_form",),
        )
    )
    assert summary.tried == (
        "ran the form refund_form",
        "asked for the email",
        "ran action_check_order",
        "offered to connect them with a person",
    )


@pytest.mark.parametrize(
    ("action", "text", "intents_before", "item"),
    [
        pytest.param(
            "utter_ask_order_id",
            "What is your order number?",
            ("request_refund",),
            "asked for the order number",
            id="form-question-asks-for-the-slot",
        ),
        pytest.param(
            "utter_ask_invoice",
            "You'll find every invoice under Account > Billing history.",
            ("ask_invoice",),
            "answered how to get an invoice",
            id="response-named-after-the-intent-answers-it",
        ),
        pytest.param(
            "utter_which_device",
            "Sorry about that. Which device are you watching on?",
            ("report_playback_issue",),
            'asked "Which device are you watching on?"',
            id="text-ending-with-a-question-mark-asks-it",
        ),
        pytest.param(
            "utter_refund_policy",
            "Refunds above $100 are reviewed by billing.",
            ("request_refund", "inform"),
            "answered how to get a refund",
            id="answer-to-the-latest-goal-intent",
        ),
        pytest.param(
            "utter_opening_hours",
            "We are open 9-17. On Sundays we are closed.",
            ("greet",),
            'said "We are open 9-17."',
            id="answer-without-a-goal-intent-is-quoted",
        ),
        pytest.param(
            "utter_anything",
            "",
            (),
            "answered with utter_anything",
            id="nothing-known-names-the-response",
        ),
    ],
)
def test_tried_tells_an_answer_from_a_question(
    action: str, text: str, intents_before: Tuple[str, ...], item: str
) -> None:
    summary = RuleBasedSummariser().summarise(
        facts(
            *[(intent, intent, 0.9, ()) for intent in intents_before],
            bot_actions=(action,),
            bot_responses=(BotResponse(action, text, intents_before),),
        )
    )
    assert summary.tried == (item,)


def test_tried_is_capped() -> None:
    summary = RuleBasedSummariser().summarise(
        facts(bot_actions=tuple(f"utter_answer_{i}" for i in range(20)))
    )
    assert len(summary.tried) == 8
    assert summary.tried[-1] == "did 13 more things"


def test_rule_based_is_a_summariser() -> None:
    assert isinstance(RuleBasedSummariser(), Summariser)
    assert isinstance(OpenAICompatibleSummariser("http://x/v1", "m"), Summariser)


def test_bad_intent_goal_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"intent_goals\.request_refund"):
        RuleBasedSummariser(intent_goals={"request_refund": []})


# --- The OpenAI-compatible summariser against a local imitation. --------------

Handler = Callable[[BaseHTTPRequestHandler, Dict[str, Any]], None]


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # The timeout test hangs up before the slow reply is written; the
        # resulting broken pipe is expected, not worth a traceback.
        pass


class FakeLLM:
    """A tiny chat-completions endpoint; records what it was sent."""

    def __init__(self, respond: Handler) -> None:
        self.requests: List[Dict[str, Any]] = []
        self.headers: List[Dict[str, str]] = []
        fake = self

        class _Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                body = json.loads(self.rfile.read(length))
                fake.requests.append(body)
                fake.headers.append(dict(self.headers))
                respond(self, body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = _QuietServer(("127.0.0.1", 0), _Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "FakeLLM":
        self.thread.start()
        return self

    def __exit__(self, *args: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


def reply_with(content: Any, status: int = 200) -> Handler:
    def respond(handler: BaseHTTPRequestHandler, body: Dict[str, Any]) -> None:
        payload = (
            content
            if isinstance(content, bytes)
            else json.dumps(
                {"choices": [{"message": {"role": "assistant", "content": content}}]}
            ).encode()
        )
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    return respond


GOOD_REPLY = (
    "Here is the summary:\n```json\n"
    + json.dumps(
        {
            "goal": "Dana wants a refund of $250 for order 1182.",
            "tried": ["asked for the order number"],
            "provided": ["order number 1182", "amount $250"],
            "text": "Dana wants a refund for order 1182 and asked for a person.",
        }
    )
    + "\n```"
)


@pytest.fixture
def llm_key(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("TEST_LLM_KEY", "sk-test")
    yield "sk-test"


def test_llm_summary_is_used(llm_key: str) -> None:
    with FakeLLM(reply_with(GOOD_REPLY)) as llm:
        summariser = OpenAICompatibleSummariser(
            llm.url, "test-model", api_key_env="TEST_LLM_KEY", timeout=5
        )
        summary = summariser.summarise(REFUND)
    assert summary.goal == "Dana wants a refund of $250 for order 1182."
    assert summary.provided == ("order number 1182", "amount $250")
    assert summary.summariser == "openai_compatible:test-model"
    request = llm.requests[0]
    assert request["model"] == "test-model"
    assert request["temperature"] == 0
    assert [m["role"] for m in request["messages"]] == ["system", "user"]
    sent = json.loads(request["messages"][1]["content"])
    assert sent["customer_name"] == "Dana"
    assert sent["user_turns"][1]["intent"] == "request_refund"
    assert llm.headers[0]["Authorization"] == "Bearer sk-test"


def test_no_key_no_authorization_header(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEST_LLM_KEY", raising=False)
    with FakeLLM(reply_with(GOOD_REPLY)) as llm:
        OpenAICompatibleSummariser(llm.url, "m", api_key_env="TEST_LLM_KEY").summarise(
            REFUND
        )
    assert "Authorization" not in llm.headers[0]


def _slow(handler: BaseHTTPRequestHandler, body: Dict[str, Any]) -> None:
    time.sleep(0.6)
    reply_with(GOOD_REPLY)(handler, body)


@pytest.mark.parametrize(
    ("respond", "reason"),
    [
        pytest.param(
            reply_with(b"<html>502 Bad Gateway</html>"), "invalid reply", id="garbage"
        ),
        pytest.param(
            reply_with("Sure! Dana wants a refund."), "invalid reply", id="prose"
        ),
        pytest.param(
            reply_with(json.dumps({"goal": "x", "tried": "nope", "text": 3})),
            "invalid reply",
            id="wrong-shape",
        ),
        pytest.param(reply_with("{}", status=500), "http 500", id="server-error"),
        pytest.param(_slow, "timeout", id="timeout"),
    ],
)
def test_llm_failure_falls_back_to_rules(respond: Handler, reason: str) -> None:
    with FakeLLM(respond) as llm:
        summariser = OpenAICompatibleSummariser(llm.url, "m", timeout=0.2)
        summary = summariser.summarise(REFUND)
    assert summary.goal == "Dana wants to get a refund of 250 for order 1182."
    assert summary.summariser is not None
    assert summary.summariser.startswith(f"rule_based (llm_failed: {reason}")


def test_unreachable_llm_falls_back() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    summary = OpenAICompatibleSummariser(
        f"http://127.0.0.1:{port}/v1/chat/completions", "m", timeout=1
    ).summarise(REFUND)
    assert summary.summariser == "rule_based (llm_failed: unreachable)"
    assert "order 1182" in summary.goal


def test_url_gets_the_chat_completions_path() -> None:
    assert (
        OpenAICompatibleSummariser("http://localhost:11434/v1/", "m").url
        == "http://localhost:11434/v1/chat/completions"
    )
    assert (
        OpenAICompatibleSummariser("https://x/v1/chat/completions", "m").url
        == "https://x/v1/chat/completions"
    )


# --- Configuration. -----------------------------------------------------------


def test_summariser_from_config_rule_based() -> None:
    summariser = summariser_from_config(
        {
            "type": "rule_based",
            "intent_goals": {"ask_invoice": "get invoice {order_id}"},
        }
    )
    assert isinstance(summariser, RuleBasedSummariser)
    assert summariser_from_config(None).name == "rule_based"


def test_summariser_from_config_openai_compatible() -> None:
    summariser = summariser_from_config(
        {
            "type": "openai_compatible",
            "url": "http://localhost:8000/v1",
            "model": "qwen2.5-7b-instruct",
            "timeout": 3,
            "fallback": {"labels": {"order_id": "booking reference"}},
        }
    )
    assert isinstance(summariser, OpenAICompatibleSummariser)
    assert summariser.timeout == 3.0
    assert summariser.name == "openai_compatible:qwen2.5-7b-instruct"
    assert isinstance(summariser.fallback, RuleBasedSummariser)
    assert summariser.fallback.label("order_id") == "booking reference"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        pytest.param({"type": "gpt"}, "unknown type 'gpt'", id="bad-type"),
        pytest.param(
            {"type": "openai_compatible", "model": "m"},
            "needs \\['url'\\]",
            id="no-url",
        ),
        pytest.param({"type": "rule_based", "goals": {}}, "goals", id="unknown-key"),
        pytest.param(
            {"type": "openai_compatible", "url": "localhost:8000", "model": "m"},
            "http",
            id="url-without-scheme",
        ),
    ],
)
def test_summariser_config_errors(config: Dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        summariser_from_config(config)


def test_summary_dataclass_defaults() -> None:
    summary = Summary(goal="g")
    assert (summary.tried, summary.provided, summary.text) == ((), (), "")


# --- The example bot's real conversations. ------------------------------------
# Real NLU and policies (the example bot's trained model in an in-process Agent)
# and the example bot's real action server, whose `action_session_start` (the
# account lookup) opens each session as in the demo. The payload is built from
# the events before `action_handover`: what that action sees. The widget's init
# payload `/greet` opens each conversation, as in the demo.


@pytest.fixture(scope="module")
def example_agent(example_action_server: str) -> Any:
    from rasa.core.agent import Agent
    from rasa.utils.endpoints import EndpointConfig

    from tests.e2e.servers import ensure_example_model

    model = ensure_example_model()
    action_endpoint = EndpointConfig(url=example_action_server)
    return Agent.load(str(model), action_endpoint=action_endpoint)


# A message whose NLU result is given: (text, [(intent, confidence), ...]).
Unclear = Tuple[str, List[Tuple[str, float]]]


async def example_payload(
    agent: Any, messages: List[Union[str, Unclear]]
) -> Dict[str, Any]:
    """The payload `action_handover` builds after `messages` to the example bot.

    A plain string goes through the bot's NLU. An `Unclear` message carries its
    NLU result, so that a test of unclear turns does not depend on how a given
    training of DIET reads gibberish (sometimes as a confident `affirm`); the
    policies and actions still run for real.
    """
    from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

    from rasa_handover.payload import build_payload

    sender = f"summary-{time.monotonic_ns()}"
    for message in ["/greet", *messages]:
        if isinstance(message, str):
            await agent.handle_text(message, sender_id=sender)
            continue
        text, ranking = message
        ranked = [{"name": name, "confidence": c} for name, c in ranking]
        parse_data = {
            "text": text,
            "intent": ranked[0],
            "intent_ranking": ranked,
            "entities": [],
        }
        await agent.handle_message(
            UserMessage(text, CollectingOutputChannel(), sender, parse_data=parse_data)
        )
    tracker = await agent.processor.get_tracker(sender)
    events = [event.as_dict() for event in tracker.events]
    handover = max(
        i
        for i, event in enumerate(events)
        if event["event"] == "action" and event["name"] == "action_handover"
    )
    return build_payload(
        sender,
        events[:handover],
        tracker.current_slot_values(),
        channel="socketio",
        attempt=1,
    )


@pytest.mark.integration
@pytest.mark.parametrize(
    ("messages", "tried", "sentence"),
    [
        pytest.param(
            ["how do I get an invoice", "I want to talk to a human"],
            ["answered how to get an invoice"],
            "The bot already answered how to get an invoice. "
            "The customer asked for a person.",
            id="answered-utter_ask_invoice-is-an-answer",
        ),
        pytest.param(
            ["my video keeps buffering", "I want to talk to a human"],
            ["answered how to fix a playback problem"],
            "The bot already answered how to fix a playback problem.",
            id="answered-response-not-named-after-the-intent",
        ),
        pytest.param(
            ["what plans do you have", "agent please"],
            ["answered their question about the plans"],
            "The bot already answered their question about the plans.",
            id="answered-even-when-the-answer-ends-with-a-question",
        ),
        pytest.param(
            ["how do I reset my password", "how do I reset my password", "yes"],
            [
                "answered how to reset their password",
                "offered to connect them with a person",
            ],
            "The bot already answered how to reset their password and offered to "
            "connect them with a person.",
            id="offered-a-person-after-answering",
        ),
        pytest.param(
            [
                ("qwzx blorp flux", [("ask_plans", 0.21), ("ask_invoice", 0.19)]),
                ("zzzt wibble", [("affirm", 0.24), ("ask_plans", 0.2)]),
            ],
            ["asked which topic they meant"],
            "The bot already asked which topic they meant. "
            "The bot was not sure what the customer meant.",
            id="asked-what-they-meant",
        ),
    ],
)
async def test_summary_of_real_example_bot_conversations(
    example_agent: Any,
    messages: List[Union[str, Unclear]],
    tried: List[str],
    sentence: str,
) -> None:
    payload = await example_payload(example_agent, messages)
    assert payload["summary"]["tried"] == tried
    assert sentence in payload["summary"]["text"]
    assert "asked for the invoice" not in payload["summary"]["text"]


@pytest.mark.integration
async def test_init_payload_is_not_a_customer_line(example_agent: Any) -> None:
    payload = await example_payload(
        example_agent, ["how do I get an invoice", "I want to talk to a human"]
    )
    customer_lines = [e["text"] for e in payload["transcript"] if e["role"] == "user"]
    assert customer_lines == ["how do I get an invoice", "I want to talk to a human"]


CALLBACK_ONLY = facts(
    ("could someone call me back?", "handover_callback", 0.94, ()),
    ("+1 555 0100", "inform", 0.6, ()),
    ("tomorrow at 10am", "inform", 0.7, ()),
    bot_actions=("handover_callback_form", "action_schedule_callback"),
    forms=("handover_callback_form",),
    slots={
        "callback_contact": "+1 555 0100",
        "callback_time": "tomorrow at 10:00",
        "callback_due": "2026-12-01T10:00+00:00",
    },
    customer_slots=("callback_contact", "callback_time", "callback_due"),
    customer_name="Lena",
)


def test_a_callback_booked_by_chat_reads_as_one() -> None:
    """Not "get help with handover callback", "ran the form handover_callback_form"
    and the due time twice (once as a timestamp)."""
    summary = RuleBasedSummariser().summarise(CALLBACK_ONLY)
    assert summary.goal == "Lena wants to be called back."
    assert summary.provided == (
        "number or address to call +1 555 0100",
        "callback time tomorrow at 10:00",
    )
    assert summary.tried[0] == "took the details for a callback"
    assert "handover_callback" not in summary.text


def test_a_callback_does_not_hide_what_the_customer_wanted() -> None:
    asked_first = facts(
        ("how do I get an invoice", "ask_invoice", 0.95, ()),
        ("could someone call me back?", "handover_callback", 0.94, ()),
        customer_name="Lena",
    )
    summary = RuleBasedSummariser().summarise(asked_first)
    assert summary.goal == "Lena wants to get an invoice."


def test_a_left_message_reads_as_one() -> None:
    summary = RuleBasedSummariser().summarise(
        facts(
            ("I'd like to leave a message", "handover_leave_message", 0.9, ()),
            ("dana@example.com", "inform", 0.6, ()),
            ("please resend invoice 1182", "ask_invoice", 0.5, ()),
            bot_actions=("handover_message_form", "action_handover_leave_message"),
            forms=("handover_message_form",),
            slots={"handover_email": "dana@example.com"},
            customer_slots=("handover_email",),
        )
    )
    assert summary.goal == "The customer wants to get an invoice."
    assert summary.provided == ("reply address dana@example.com",)
    assert summary.tried[0] == "took a message for the team"
