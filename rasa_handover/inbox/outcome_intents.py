"""Which intent the customer really had: the choices an agent has, and the check.

When an agent resolves a ticket they may correct the intent (`rasa-handover
export` turns it into NLU examples). The choices are the domain's intents as
`inbox.yml` lists them (`intents:`), plus every intent NLU saw in the
conversation (the payload's `intent` and `intent_history`). Without an
`intents:` list any well-formed intent name is accepted.

Pure: no Sanic, SQLAlchemy or Rasa.
"""

import re
from typing import Any, List, Mapping, Optional, Sequence, Tuple

from rasa_handover.inbox.errors import ValidationError

# Intent names: Rasa's own are identifiers; no whitespace, no `/` (a `/intent`
# payload) and a length an index can hold.
MAX_INTENT_CHARS = 255
_INTENT_NAME = re.compile(r"^[^\s/{}\[\]]+$")


def intents_in(payload: Mapping[str, Any]) -> Tuple[str, ...]:
    """The intents NLU gave the conversation's messages, first seen first."""
    names: List[str] = []
    history = payload.get("intent_history")
    for entry in history if isinstance(history, list) else ():
        name = entry.get("intent") if isinstance(entry, Mapping) else None
        if isinstance(name, str) and name and name not in names:
            names.append(name)
    latest = payload.get("intent")
    name = latest.get("name") if isinstance(latest, Mapping) else None
    if isinstance(name, str) and name and name not in names:
        names.append(name)
    return tuple(names)


def intent_choices(
    payload: Mapping[str, Any], configured: Sequence[str] = ()
) -> List[str]:
    """What the resolve step offers: the configured intents and the payload's."""
    return sorted({*configured, *intents_in(payload)})


def check_outcome_intent(
    intent: Optional[str],
    payload: Mapping[str, Any],
    configured: Sequence[str] = (),
) -> Optional[str]:
    """The corrected intent, stripped, or None when none was given.

    Raises:
        ValidationError: not an intent name, or (with `intents:` in
            `inbox.yml`) none of the domain's intents.

    """
    if intent is None or not intent.strip():
        return None
    name = intent.strip()
    if len(name) > MAX_INTENT_CHARS or not _INTENT_NAME.match(name):
        raise ValidationError(
            f"'{name[:80]}' is not an intent name: use the name from the "
            "domain, e.g. check_balance (no spaces, no '/')",
            "intent",
        )
    choices = intent_choices(payload, configured)
    if configured and name not in choices:
        raise ValidationError(
            f"'{name}' is not one of the domain's intents listed in inbox.yml "
            f"(`intents:`); choose one of {', '.join(choices[:20])}"
            f"{' ...' if len(choices) > 20 else ''}, or add it to inbox.yml",
            "intent",
        )
    return name
