"""An agent's reply on its way to the customer: safe links, the agent's name.

The browser test (tests/browser/test_customer_widget.py) checks the same in
rasa-webchat itself; these pin the text the widget is given.
"""

from typing import Any, Dict

import pytest

from rasa_handover.channels.agent_messages import (
    agent_css_classes,
    is_safe_link,
    safe_links,
    widget_message,
)
from rasa_handover.channels.customer_output import CustomerOutput
from rasa_handover.channels.mailbox import Mailbox


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "[docs](https://streamly.example/help)",
            "[docs](https://streamly.example/help)",
            id="https-stays",
        ),
        pytest.param(
            "[mail us](mailto:help@streamly.example)",
            "[mail us](mailto:help@streamly.example)",
            id="mailto-stays",
        ),
        pytest.param("[faq](/faq)", "[faq](/faq)", id="relative-stays"),
        pytest.param(
            "[x](javascript:alert(1))", r"\[x]\(javascript:alert(1))", id="javascript"
        ),
        pytest.param(
            "[x](JaVaScRiPt:alert(1))", r"\[x]\(JaVaScRiPt:alert(1))", id="mixed-case"
        ),
        pytest.param(
            "[x]( <javascript:alert(1)> )",
            r"\[x]\( &lt;javascript:alert(1)> )",
            id="angle-brackets-and-spaces",
        ),
        pytest.param(
            "[x](java\tscript:alert(1))",
            "\\[x]\\(java\tscript:alert(1))",
            id="tab-inside-the-scheme",
        ),
        pytest.param(
            "[x](javascript&#58;alert(1))",
            r"\[x]\(javascript&#58;alert(1))",
            id="entity-encoded-colon",
        ),
        pytest.param(
            "![x](data:text/html,hi)", r"!\[x]\(data:text/html,hi)", id="data-image"
        ),
        pytest.param(
            "a [b [c] d](javascript:x) [ok](https://a.example)",
            r"a \[b [c] d]\(javascript:x) [ok](https://a.example)",
            id="nested-brackets-and-a-safe-link-after",
        ),
        pytest.param(
            "see [x][r]\n\n[r]: javascript:alert(1)",
            "see [x][r]\n\n\\[r]: javascript:alert(1)",
            id="reference-definition",
        ),
        pytest.param(
            "<javascript:alert(1)>", "&lt;javascript:alert(1)>", id="autolink"
        ),
        pytest.param(
            "<https://streamly.example>",
            "<https://streamly.example>",
            id="safe-autolink",
        ),
    ],
)
def test_only_http_and_mailto_links_survive(text: str, expected: str) -> None:
    assert safe_links(text) == expected


@pytest.mark.parametrize(
    ("destination", "safe"),
    [
        pytest.param("https://a.example", True, id="https"),
        pytest.param("HTTP://a.example", True, id="upper-http"),
        pytest.param("//a.example/x", True, id="protocol-relative"),
        pytest.param("vbscript:msgbox", False, id="vbscript"),
        pytest.param("file:///etc/passwd", False, id="file"),
        pytest.param(" \njavascript:x", False, id="leading-whitespace"),
        pytest.param("javascript&colon;x", False, id="named-entity"),
    ],
)
def test_is_safe_link(destination: str, safe: bool) -> None:
    assert is_safe_link(destination) is safe


def test_widget_message_names_the_agent_and_adds_css_classes() -> None:
    message = widget_message(
        "Hi, I'm here. [x](javascript:alert(1))",
        {"from": "agent", "agent_name": "Maya_*"},
    )
    assert (
        message["text"]
        == "**Maya\\_\\***\n\nHi, I'm here. \\[x]\\(javascript:alert(1))"
    )
    assert message["metadata"] == {
        "from": "agent",
        "agent_name": "Maya_*",
        "customCss": {
            "style": "class",
            "css": "rw-handover-agent rw-handover-agent-maya",
        },
    }


def test_agent_css_classes() -> None:
    assert agent_css_classes("Anna-Lena Ø") == (
        "rw-handover-agent rw-handover-agent-anna-lena"
    )
    assert agent_css_classes("***") == "rw-handover-agent"


class _Sio:
    """socket.io's `emit`, recorded (the edge: no socket server runs here)."""

    def __init__(self) -> None:
        self.emitted: list = []

    async def emit(self, event: str, data: Dict[str, Any], **kwargs: Any) -> None:
        self.emitted.append((event, data))


async def test_agent_reply_socket_gets_the_name_rest_gets_safe_text() -> None:
    sio = _Sio()
    mailbox = Mailbox()
    output = CustomerOutput(sio, "bot_uttered", mailbox)  # type: ignore[arg-type]
    metadata = {"from": "agent", "agent_name": "Maya"}
    await output.send_text_message("c1", "[x](javascript:alert(1))", metadata=metadata)
    await output.send_text_message("c1", "You are number 2 in line.")
    assert [data["text"] for _, data in sio.emitted] == [
        "**Maya**\n\n\\[x]\\(javascript:alert(1))",
        "You are number 2 in line.",
    ]
    assert [m["text"] for m in mailbox.since("c1", 0)] == [
        "\\[x]\\(javascript:alert(1))",
        "You are number 2 in line.",
    ]
    assert mailbox.since("c1", 0)[0]["metadata"] == metadata
