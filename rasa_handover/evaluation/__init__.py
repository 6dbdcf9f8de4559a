"""`rasa-handover evaluate`: measure when and why a trained bot hands over.

    rasa-handover evaluate benchmarks/conversations/support.yml
        --model example_bot/models/example_bot.tar.gz --project example_bot
        --baseline --out benchmarks/results/evaluate.json

Where to look:

- `conversations`: the labelled conversations file (format: docs/benchmarks.md);
- `runner`: each conversation sent, turn by turn, through a trained model;
- `metrics`: the figures (pure, unit tested on hand-made tables);
- `baseline`: Rasa's own approach (FallbackClassifier + rules) trained from the
  same project, cached by a fingerprint of its inputs;
- `rasa_output`: Rasa's logging goes to a file while the report is printed;
- `report`: the terminal report;
- `command`: the options, the run and the `--out` JSON document;
- `errors`: `ConversationFileError` (exit code 2) and `EvaluationError`.

Every name is importable from `rasa_handover.evaluation` itself. Rasa is
imported only by the functions that need it.
"""

from rasa_handover.evaluation.baseline import (
    BASELINE_FORMAT_VERSION,
    BASELINE_RULES_FILE,
    CACHE_DIR_ENV,
    DEFAULT_CACHE_DIR,
    FALLBACK_CLASSIFIER,
    HANDOVER_POLICY_SUFFIX,
    RASA_CACHE_DIRECTORY_ENV,
    RULE_POLICY,
    TRAIN_LOG_TAIL_LINES,
    Project,
    baseline_config,
    baseline_rules,
    default_cache_dir,
    fingerprint,
    handover_entry,
    handover_settings_of,
    read_config,
    settings_for,
    train_baseline,
    train_cached,
)
from rasa_handover.evaluation.command import (
    add_arguments,
    results_document,
    run,
)
from rasa_handover.evaluation.conversations import (
    ESCALATE_NEVER,
    LABELS,
    NONE_LABEL,
    REASON_OTHER,
    LabelledConversation,
    Outcome,
    Turn,
    load_conversations,
    parse_conversations,
)
from rasa_handover.evaluation.errors import (
    ConversationFileError,
    EvaluationError,
)
from rasa_handover.evaluation.metrics import (
    LATE_TOLERANCE_TURNS,
    GroupAccuracy,
    Metrics,
    ReasonScore,
    compute_metrics,
    decision_matches,
    turn_matches,
)
from rasa_handover.evaluation.rasa_output import (
    rasa_output_to,
)
from rasa_handover.evaluation.report import (
    REPORT_DIGITS,
    SYSTEM_BASELINE,
    SYSTEM_HANDOVER,
    SYSTEM_TITLES,
    format_confusion,
    format_report,
)
from rasa_handover.evaluation.runner import (
    REASON_SOURCE_INFERRED,
    REASON_SOURCE_POLICY,
    ConversationResult,
    RunSettings,
    TurnRecord,
    check_slots,
    evaluate_agent,
    infer_reason,
    metrics_for,
    nlu_agreement,
    regulated_intents_of,
    run_conversation,
)

__all__ = [
    "BASELINE_FORMAT_VERSION",
    "BASELINE_RULES_FILE",
    "CACHE_DIR_ENV",
    "DEFAULT_CACHE_DIR",
    "ESCALATE_NEVER",
    "FALLBACK_CLASSIFIER",
    "HANDOVER_POLICY_SUFFIX",
    "LABELS",
    "LATE_TOLERANCE_TURNS",
    "NONE_LABEL",
    "RASA_CACHE_DIRECTORY_ENV",
    "REASON_OTHER",
    "REASON_SOURCE_INFERRED",
    "REASON_SOURCE_POLICY",
    "REPORT_DIGITS",
    "RULE_POLICY",
    "SYSTEM_BASELINE",
    "SYSTEM_HANDOVER",
    "SYSTEM_TITLES",
    "TRAIN_LOG_TAIL_LINES",
    "ConversationFileError",
    "ConversationResult",
    "EvaluationError",
    "GroupAccuracy",
    "LabelledConversation",
    "Metrics",
    "Outcome",
    "Project",
    "ReasonScore",
    "RunSettings",
    "Turn",
    "TurnRecord",
    "add_arguments",
    "baseline_config",
    "baseline_rules",
    "check_slots",
    "compute_metrics",
    "decision_matches",
    "default_cache_dir",
    "evaluate_agent",
    "fingerprint",
    "format_confusion",
    "format_report",
    "handover_entry",
    "handover_settings_of",
    "infer_reason",
    "load_conversations",
    "metrics_for",
    "nlu_agreement",
    "parse_conversations",
    "rasa_output_to",
    "read_config",
    "regulated_intents_of",
    "results_document",
    "run",
    "run_conversation",
    "settings_for",
    "train_baseline",
    "train_cached",
    "turn_matches",
]
