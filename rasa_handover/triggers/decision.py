"""The result of a trigger: what to do, why, and the evidence for it."""

from dataclasses import dataclass, field
from typing import Any, Dict, Optional


@dataclass(frozen=True)
class Decision:
    """A trigger fired.

    Attributes:
        reason: The reason code (`constants.REASON_*`).
        action: The action to predict (the handover or the offer action).
        evidence: JSON-serialisable facts that made the trigger fire, shown to
            the agent and kept for tuning (see docs/policy.md, "Evidence").
        turn: The 1-based user turn the decision was made on.

    """

    reason: str
    action: str
    evidence: Dict[str, Any] = field(default_factory=dict)
    turn: Optional[int] = None

    def with_evidence(self, **extra: Any) -> "Decision":
        """Returns a copy with `extra` merged into the evidence."""
        return Decision(self.reason, self.action, {**self.evidence, **extra}, self.turn)
