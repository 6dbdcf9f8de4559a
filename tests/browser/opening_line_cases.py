"""Payloads and the opening line both builders must write for them.

`test_inbox_page.py` checks the Python builder (`rasa_handover.inbox.page.
opening_line`) against these; the browser test checks the page's JavaScript
`openingLine()` against the same, so the two cannot drift apart.
"""

from typing import Any, List, Tuple

GREETING = "picking up from our AI assistant."

OPENING_LINE_CASES: List[Tuple[str, Any, str, str]] = [
    (
        "rule-based summary with name, facts and an explicit request",
        {
            "customer": {"name": "Dana"},
            "trigger": {"reason": "explicit_request"},
            "summary": {
                "goal": "Dana wants to get a refund of 250 for order 1182.",
                "provided": ["order number 1182", "amount 250"],
            },
        },
        "Maya",
        "Hi Dana, I'm Maya, picking up from our AI assistant. I see you were "
        "trying to get a refund of 250 for order 1182. I already have the details "
        "you gave: order number 1182 and amount 250. I'll take it from here.",
    ),
    (
        "no customer name, frustration, their -> your",
        {
            "customer": {"name": None},
            "trigger": {"reason": "frustration"},
            "summary": {"goal": "The customer wants to reset their password."},
        },
        "Jonas",
        "Hi there, I'm Jonas, picking up from our AI assistant. I see you were "
        "trying to reset your password. Sorry it's been frustrating, let's get "
        "this sorted now.",
    ),
    (
        "hedged goal, low confidence, name from customer_name, facts capped at 3",
        {
            "customer_name": "  Lena  ",
            "trigger": {"reason": "low_confidence"},
            "summary": {
                "goal": "Lena may want to cancel their subscription (the bot was "
                "not sure).",
                "provided": [
                    "plan premium",
                    "email l@example.com",
                    "",
                    7,
                    "id 42",
                    "x",
                ],
            },
        },
        "Lucía",
        "Hi Lena, I'm Lucía, picking up from our AI assistant. It looks like you "
        "were trying to cancel your subscription. I already have the details you "
        "gave: plan premium, email l@example.com and id 42. Let me make sure I "
        "understand it right.",
    ),
    (
        "goal not clear: a quoted 'wants to' is not a goal",
        {
            "customer": {"name": "Sam"},
            "trigger": {"reason": "repeat_loop"},
            "summary": {
                "goal": "Sam's goal is not clear yet; they last wrote: \"my son "
                'wants to watch cartoons".'
            },
        },
        "Maya",
        "Hi Sam, I'm Maya, picking up from our AI assistant. I've read your "
        "conversation with our assistant. Sorry you had to ask more than once, "
        "let's get this sorted now.",
    ),
    (
        "an LLM summary without 'wants to', regulated topic",
        {
            "account": {"name": "Ana"},
            "trigger": {"reason": "regulated_topic"},
            "summary": {"goal": "Ana wants medical advice about flashing scenes"},
        },
        "Sam Lee",
        "Hi Ana, I'm Sam Lee, picking up from our AI assistant. I see you wanted "
        "medical advice about flashing scenes. That's one a person should answer, "
        "so I'll take it from here.",
    ),
    (
        "empty payload, blank agent name, unknown reason",
        {"trigger": {"reason": "constructor"}, "summary": "not an object"},
        "   ",
        "Hi there, I'm your support agent, picking up from our AI assistant. "
        "I've read your conversation with our assistant. I'll take it from here.",
    ),
    (
        "markup stays text: the builder does not escape or interpret it",
        {
            "customer": {"name": "<img src=x onerror=alert(1)>"},
            "summary": {"goal": "The customer wants to see <script>alert(1)</script>."},
        },
        "Maya",
        "Hi <img src=x onerror=alert(1)>, I'm Maya, picking up from our AI "
        "assistant. I see you were trying to see <script>alert(1)</script>. "
        "I'll take it from here.",
    ),
    (
        "no payload at all",
        None,
        "Maya",
        "Hi there, I'm Maya, picking up from our AI assistant. I've read your "
        "conversation with our assistant. I'll take it from here.",
    ),
]
