"""An agent's message on its way to the customer: safe links, and who wrote it.

Chat widgets render messages as Markdown, and rasa-webchat 1.x renders every
link it finds, whatever its scheme (its `react-markdown` runs without
`transformLinkUri`): an agent's `[x](javascript:...)` would become a live link
in the customer's page. `safe_links` keeps links whose scheme is `http`,
`https` or `mailto` (and relative ones) and breaks the Markdown syntax of every
other, so the customer sees the text and no link.

`widget_message` is what rasa-webchat gets over socket.io: the agent's name as a
bold first line (the stock widget has no sender field), `metadata.from` /
`metadata.agent_name` for sites that want more, and `metadata.customCss`, which
rasa-webchat turns into CSS classes on the message's bubble (`rw-handover-agent`
and `rw-handover-agent-<name>`): a site styles agents' messages, or shows an
avatar per agent, with CSS alone (docs/channel.md).
"""

import html
import re
from typing import Any, Dict, Match

from rasa_handover.inbox.contract import SENDER_AGENT

SAFE_LINK_SCHEMES = frozenset({"http", "https", "mailto"})
# The class on every agent message's bubble, and the prefix of the per-agent one.
AGENT_CSS_CLASS = "rw-handover-agent"

# Where a link destination starts: inline links and images `[x](dest)`,
# reference definitions `[x]: dest`, autolinks `<scheme:...>`.
_INLINE = re.compile(r"\]\(")
_DEFINITION = re.compile(r"^( {0,3})(\[[^\]\n]+\]):", re.MULTILINE)
_AUTOLINK = re.compile(r"<([a-zA-Z][a-zA-Z0-9+.\-]{1,31}:[^<>\s]*)>")
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.\-]*):")
# Whitespace and control characters (browsers drop tabs and newlines in URLs).
_INVISIBLE = re.compile(r"[\s\x00-\x1f\x7f]+")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!<>|~])")
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_DESTINATION_PEEK = 64


def is_safe_link(destination: str) -> bool:
    """True for http(s), mailto and relative links; False for any other scheme."""
    cleaned = html.unescape(destination).replace("\\", "")
    cleaned = _INVISIBLE.sub("", cleaned).lstrip("<")
    scheme = _SCHEME.match(cleaned)
    return scheme is None or scheme.group(1).lower() in SAFE_LINK_SCHEMES


def _destination_after(text: str, start: int) -> str:
    """The first characters of a link destination starting at `start`."""
    return text[start : start + _DESTINATION_PEEK].split(")", 1)[0]


def _opening_bracket(text: str, closing: int) -> int:
    """Where the `[` that `]` at `closing` closes is; -1 if there is none."""
    depth = 0
    for index in range(closing - 1, -1, -1):
        if index > 0 and text[index - 1] == "\\":
            continue
        if text[index] == "]":
            depth += 1
        elif text[index] == "[":
            if depth == 0:
                return index
            depth -= 1
    return -1


def _unlink_inline(text: str) -> str:
    """An unsafe `[x](dest)` gets its `[` and `(` escaped: text, no link."""
    escapes = []
    for match in _INLINE.finditer(text):
        if not is_safe_link(_destination_after(text, match.end())):
            escapes += [_opening_bracket(text, match.start()), match.start() + 1]
    for index in sorted((i for i in escapes if i >= 0), reverse=True):
        text = f"{text[:index]}\\{text[index:]}"
    return text


def safe_links(text: str) -> str:
    """`text` with every Markdown link that is not http(s)/mailto made plain text.

    The link's syntax is broken (its brackets escaped, an autolink's `<` written
    `&lt;`), so Markdown shows what the agent wrote and makes no link of it.
    """
    text = _unlink_inline(text)

    def definition(match: Match[str]) -> str:
        rest = text[match.end() :].lstrip(" \t\n").split(None, 1)
        safe = not rest or is_safe_link(rest[0])
        return match.group(0) if safe else f"{match.group(1)}\\{match.group(2)}:"

    text = _DEFINITION.sub(definition, text)
    return _AUTOLINK.sub(
        lambda m: m.group(0) if is_safe_link(m.group(1)) else f"&lt;{m.group(1)}>",
        text,
    )


def _escape_markdown(text: str) -> str:
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def agent_css_classes(agent_name: str) -> str:
    """`rw-handover-agent rw-handover-agent-maya` for Maya."""
    slug = _NOT_SLUG.sub("-", agent_name.lower()).strip("-")
    return f"{AGENT_CSS_CLASS} {AGENT_CSS_CLASS}-{slug}" if slug else AGENT_CSS_CLASS


def is_agent_message(metadata: Any) -> bool:
    """True for the relay's metadata of an agent's reply (`from: agent`)."""
    return isinstance(metadata, dict) and metadata.get("from") == SENDER_AGENT


def widget_message(text: str, metadata: Dict[str, Any]) -> Dict[str, Any]:
    """An agent's reply as rasa-webchat shows it: name first, safe links, classes."""
    name = str(metadata.get("agent_name") or "").strip()
    body = safe_links(text)
    if not name:
        return {"text": body, "metadata": dict(metadata)}
    return {
        "text": f"**{_escape_markdown(name)}**\n\n{body}",
        "metadata": {
            **metadata,
            "customCss": {"style": "class", "css": agent_css_classes(name)},
        },
    }
