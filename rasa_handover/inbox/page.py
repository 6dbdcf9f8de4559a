"""The agent inbox page: static files, their HTTP headers, and the opening line.

The page is plain HTML, one CSS file and one vanilla JavaScript file in
`rasa_handover/inbox/static/`, with no build step and nothing from a CDN. The
inbox serves it at its mount point (`GET /webhooks/handover/inbox/`, both inside
`rasa run` and from `rasa-handover inbox`), and the assets under `static/`:

* every response carries `Content-Security-Policy: default-src 'self'` (no
  inline script, no foreign origin; the handover report the page opens for
  supervisors inherits it, so its plots may be data: images and its one style
  is allowed by hash), `X-Content-Type-Options: nosniff` and
  `Referrer-Policy: no-referrer`;
* the page is revalidated on every load (`no-cache` + `ETag`); it links its
  assets as `static/<name>?v=<content hash>`, so those can be cached for a
  year (`immutable`) and a new release is fetched at once;
* only the files listed in `ASSETS` are served (no path is ever joined from the
  request).

`opening_line()` is the Python twin of the page's `openingLine()`: the first
message the agent sends after claiming a conversation, built from the context
payload so that the customer never re-explains ("Hi Dana, I'm Maya, picking up
from our AI assistant. I see you were trying to get a refund for order 1182.
..."), never "how can I help?". Both are tested on the same cases.
"""

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Pattern, Sequence, Tuple

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from rasa_handover.feedback.report_html import STYLE_CSP_SOURCE

STATIC_DIR = Path(__file__).resolve().parent / "static"
INDEX_FILE = "index.html"
# The assets the page links, with their media types. Nothing else is served.
ASSETS: Mapping[str, str] = {
    "inbox.js": "text/javascript; charset=utf-8",
    "inbox.css": "text/css; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}
INDEX_CONTENT_TYPE = "text/html; charset=utf-8"
# index.html says `static/inbox.js?v=__ASSET_VERSION__`; it becomes the hash of
# all assets, so a browser never runs a new page with an old script.
ASSET_VERSION_PLACEHOLDER = "__ASSET_VERSION__"
ASSET_VERSION_LENGTH = 12

# Same origin only: no inline script, no plugin, no framing. The handover
# report (`api/report`) opens in a tab that inherits this policy (a blob: URL
# made by the page), so images may also be data: URLs (its embedded plots) and
# its one inline style is allowed by its hash; no other inline style is.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; "
    f"style-src 'self' {STYLE_CSP_SOURCE}; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'; object-src 'none'"
)
SECURITY_HEADERS: Mapping[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
# The page and unversioned asset URLs: always revalidate (cheap with the ETag).
CACHE_REVALIDATE = "no-cache"
# Versioned asset URLs never change content.
CACHE_IMMUTABLE = "public, max-age=31536000, immutable"

HTTP_OK = 200
HTTP_NOT_MODIFIED = 304
HTTP_MOVED = 301
HTTP_NOT_FOUND = 404

# --- The opening line. ------------------------------------------------------------

# Who the agent takes over from, as the customer knows it.
ASSISTANT_NAME = "our AI assistant"
# Without the customer's name.
ANONYMOUS_GREETING = "there"
# Without the agent's name (an agent configured with an empty name).
FALLBACK_AGENT_NAME = "your support agent"
# When the summary has no goal the agent could name.
NO_GOAL_SENTENCE = "I've read your conversation with our assistant."
# What happens next, per reason code; the customer reads it as the agent's words.
NEXT_STEPS: Mapping[str, str] = {
    "explicit_request": "I'll take it from here.",
    "frustration": "Sorry it's been frustrating, let's get this sorted now.",
    "regulated_topic": "That's one a person should answer, so I'll take it from here.",
    "low_confidence": "Let me make sure I understand it right.",
    "repeat_loop": "Sorry you had to ask more than once, let's get this sorted now.",
}
DEFAULT_NEXT_STEP = "I'll take it from here."
# At most this many of the facts the customer gave are named back to them.
MAX_PROVIDED_FACTS = 3

# The rule-based summariser writes "Dana wants to ...", "Dana may want to ...
# (the bot was not sure)"; an LLM summariser may write "Dana wants a refund".
# Never inside a quote: 'goal is not clear yet; they last wrote: "he wants to"'.
_HEDGED_GOAL = re.compile(
    r'^[^"]*?\bmay want to\s+(.+?)(?:\s*\(the bot was not sure\))?[\s.]*$',
    re.ASCII | re.IGNORECASE,
)
_GOAL = re.compile(r'^[^"]*?\bwants to\s+(.+?)[\s.]*$', re.ASCII | re.IGNORECASE)
_WANTS = re.compile(r'^[^"]*?\bwants\s+(.+?)[\s.]*$', re.ASCII | re.IGNORECASE)
# The summary speaks about the customer; the agent speaks to them.
_PRONOUNS: Sequence[Tuple[Pattern[str], str]] = (
    (re.compile(r"\bthemselves\b", re.ASCII), "yourself"),
    (re.compile(r"\btheirs\b", re.ASCII), "yours"),
    (re.compile(r"\btheir\b", re.ASCII), "your"),
    (re.compile(r"\bthem\b", re.ASCII), "you"),
    (re.compile(r"\bthey\b", re.ASCII), "you"),
)
_SPACES = re.compile(r"\s+")


def opening_line(payload: Optional[Mapping[str, Any]], agent_name: str) -> str:
    """The agent's first message after claiming a conversation.

    "Hi <customer>, I'm <agent>, picking up from our AI assistant. I see you were
    trying to <goal>. [I already have the details you gave: <facts>.] <next
    step>". The page prefills its reply box with the same text (`openingLine()`
    in `static/inbox.js`); the agent edits it before sending.

    Args:
        payload: The ticket's context payload (any shape: missing or mistyped
            keys are skipped).
        agent_name: The agent's name as configured in `inbox.yml`.

    Returns:
        The opening line; never "how can I help?".

    """
    data = payload if isinstance(payload, Mapping) else {}
    summary = _mapping(data.get("summary"))
    customer = _customer_name(data) or ANONYMOUS_GREETING
    agent = _clean(agent_name) or FALLBACK_AGENT_NAME
    sentences = [
        f"Hi {customer}, I'm {agent}, picking up from {ASSISTANT_NAME}.",
        _goal_sentence(summary.get("goal")),
    ]
    facts = [
        _clean(fact)
        for fact in _sequence(summary.get("provided"))
        if isinstance(fact, str) and _clean(fact)
    ][:MAX_PROVIDED_FACTS]
    if facts:
        sentences.append(f"I already have the details you gave: {_join(facts)}.")
    reason = _mapping(data.get("trigger")).get("reason")
    step = NEXT_STEPS.get(reason) if isinstance(reason, str) else None
    sentences.append(step or DEFAULT_NEXT_STEP)
    return " ".join(sentences)


def _goal_sentence(goal: Any) -> str:
    text = _clean(goal) if isinstance(goal, str) else ""
    for pattern, template in (
        (_HEDGED_GOAL, "It looks like you were trying to {}."),
        (_GOAL, "I see you were trying to {}."),
        (_WANTS, "I see you wanted {}."),
    ):
        match = pattern.search(text)
        if match and match.group(1).strip():
            return template.format(_second_person(match.group(1).strip()))
    return NO_GOAL_SENTENCE


def _second_person(phrase: str) -> str:
    for pattern, replacement in _PRONOUNS:
        phrase = pattern.sub(replacement, phrase)
    return phrase


def _customer_name(payload: Mapping[str, Any]) -> str:
    # The inbox's order for the ticket's customer name (docs/inbox.md).
    for value in (
        _mapping(payload.get("customer")).get("name"),
        payload.get("customer_name"),
        _mapping(payload.get("account")).get("name"),
    ):
        if isinstance(value, str) and _clean(value):
            return _clean(value)
    return ""


def _join(items: Sequence[str]) -> str:
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " and " + items[-1]


def _clean(text: Any) -> str:
    return _SPACES.sub(" ", str(text)).strip() if text is not None else ""


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _sequence(value: Any) -> Sequence[Any]:
    return value if isinstance(value, (list, tuple)) else ()


# --- Serving the page. --------------------------------------------------------------


@dataclass(frozen=True)
class _File:
    body: bytes
    content_type: str
    etag: str


class PageFiles:
    """The page and its assets, read once and kept in memory (a few KB).

    Attributes:
        version: Hash of all assets; the page links `static/<name>?v=<version>`.

    """

    def __init__(self, directory: Path = STATIC_DIR) -> None:
        """Reads the files from `directory`.

        Raises:
            FileNotFoundError: a file of `ASSETS` or `index.html` is missing (a
                broken installation: `inbox/static/*` is package data).

        """
        assets = {
            name: (directory / name).read_bytes() for name in sorted(ASSETS.keys())
        }
        digest = hashlib.sha256()
        for name, body in assets.items():
            digest.update(name.encode() + b"\0" + body + b"\0")
        self.version = digest.hexdigest()[:ASSET_VERSION_LENGTH]
        index = (
            (directory / INDEX_FILE)
            .read_bytes()
            .replace(ASSET_VERSION_PLACEHOLDER.encode(), self.version.encode())
        )
        self.index = _file(index, INDEX_CONTENT_TYPE)
        self.assets: Dict[str, _File] = {
            name: _file(body, ASSETS[name]) for name, body in assets.items()
        }


def _file(body: bytes, content_type: str) -> _File:
    return _File(body, content_type, f'"{hashlib.sha256(body).hexdigest()[:16]}"')


def _respond(request: Request, file: _File, cache_control: str) -> HTTPResponse:
    headers = {**SECURITY_HEADERS, "Cache-Control": cache_control, "ETag": file.etag}
    if file.etag in _etags(request.headers.get("If-None-Match", "")):
        return HTTPResponse(status=HTTP_NOT_MODIFIED, headers=headers)
    return HTTPResponse(
        body=file.body, status=HTTP_OK, headers=headers, content_type=file.content_type
    )


def _etags(header: str) -> List[str]:
    tags = (tag.strip() for tag in header.split(","))
    return [tag[2:] if tag.startswith("W/") else tag for tag in tags if tag]


def add_page_routes(blueprint: Blueprint, prefix: str = "") -> None:
    """Adds `GET <prefix>/` (the page) and `GET <prefix>/static/<name>`.

    Args:
        blueprint: The inbox's blueprint (`add_inbox_routes` calls this).
        prefix: The inbox's path within the blueprint (`/inbox` in the channel).

    """
    files: List[PageFiles] = []  # read on the first request, not at import

    def loaded() -> PageFiles:
        if not files:
            files.append(PageFiles())
        return files[0]

    async def page(request: Request) -> HTTPResponse:
        if not request.path.endswith("/"):
            # The page's links are relative ("static/...", "api/..."): they
            # need the trailing slash. A relative Location survives proxies
            # that rewrite the prefix.
            segment = request.path.rstrip("/").rsplit("/", 1)[-1]
            query = f"?{request.query_string}" if request.query_string else ""
            return HTTPResponse(
                status=HTTP_MOVED,
                headers={**SECURITY_HEADERS, "Location": f"{segment}/{query}"},
            )
        return _respond(request, loaded().index, CACHE_REVALIDATE)

    async def static(request: Request, name: str) -> HTTPResponse:
        current = loaded()
        file = current.assets.get(name)
        if file is None:
            return HTTPResponse(
                body=b"not found",
                status=HTTP_NOT_FOUND,
                headers=dict(SECURITY_HEADERS),
                content_type="text/plain; charset=utf-8",
            )
        versioned = request.args.get("v") == current.version
        return _respond(
            request, file, CACHE_IMMUTABLE if versioned else CACHE_REVALIDATE
        )

    blueprint.add_route(
        page,
        f"{prefix}/",
        methods=["GET"],
        name="inbox_page",
        strict_slashes=False,
    )
    blueprint.add_route(
        static, f"{prefix}/static/<name>", methods=["GET"], name="inbox_page_static"
    )
