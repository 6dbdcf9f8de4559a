"""rasa-handover: hand a Rasa conversation to a human at the right moment.

The public API. Heavy parts (the Rasa policy, which imports Rasa core) load on
first use, so `import rasa_handover` stays cheap for the action server and for
the pure decision code.

```yaml
# config.yml
policies:
  - name: rasa_handover.HandoverPolicy
```
"""

from typing import TYPE_CHECKING, Dict, Tuple

from rasa_handover.__version__ import __version__
from rasa_handover._lazy import lazy_getattr
from rasa_handover.constants import (
    REASON_CODES,
    REASON_EXPLICIT_REQUEST,
    REASON_FRUSTRATION,
    REASON_LOW_CONFIDENCE,
    REASON_REGULATED_TOPIC,
    REASON_REPEAT_LOOP,
)

if TYPE_CHECKING:
    from rasa_handover.conversation import ConversationView, UserTurn
    from rasa_handover.policy import HandoverPolicy
    from rasa_handover.settings import HandoverSettings, default_config, parse_settings
    from rasa_handover.signals import Signal, detect_signals
    from rasa_handover.triggers import Decision, evaluate
    from rasa_handover.validation import HandoverConfigError

# Public name -> (module, attribute), imported on first access.
_LAZY: Dict[str, Tuple[str, str]] = {
    "HandoverPolicy": ("rasa_handover.policy", "HandoverPolicy"),
    "HandoverSettings": ("rasa_handover.settings", "HandoverSettings"),
    "HandoverConfigError": ("rasa_handover.validation", "HandoverConfigError"),
    "default_config": ("rasa_handover.settings", "default_config"),
    "parse_settings": ("rasa_handover.settings", "parse_settings"),
    "ConversationView": ("rasa_handover.conversation", "ConversationView"),
    "UserTurn": ("rasa_handover.conversation", "UserTurn"),
    "Decision": ("rasa_handover.triggers", "Decision"),
    "evaluate": ("rasa_handover.triggers", "evaluate"),
    "Signal": ("rasa_handover.signals", "Signal"),
    "detect_signals": ("rasa_handover.signals", "detect_signals"),
}


__getattr__ = lazy_getattr(__name__, globals(), _LAZY)


__all__ = [
    "REASON_CODES",
    "REASON_EXPLICIT_REQUEST",
    "REASON_FRUSTRATION",
    "REASON_LOW_CONFIDENCE",
    "REASON_REGULATED_TOPIC",
    "REASON_REPEAT_LOOP",
    "ConversationView",
    "Decision",
    "HandoverConfigError",
    "HandoverPolicy",
    "HandoverSettings",
    "Signal",
    "UserTurn",
    "__version__",
    "default_config",
    "detect_signals",
    "evaluate",
    "parse_settings",
]
