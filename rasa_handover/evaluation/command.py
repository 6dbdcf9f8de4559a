"""The `rasa-handover evaluate` command: options, the run, the JSON document."""

import argparse
import asyncio
import json
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from rasa_handover.evaluation.baseline import (
    CACHE_DIR_ENV,
    DEFAULT_CACHE_DIR,
    Project,
    default_cache_dir,
    handover_settings_of,
    read_config,
    settings_for,
    train_baseline,
)
from rasa_handover.evaluation.conversations import (
    LabelledConversation,
    load_conversations,
)
from rasa_handover.evaluation.errors import ConversationFileError, EvaluationError
from rasa_handover.evaluation.metrics import Metrics
from rasa_handover.evaluation.rasa_output import rasa_output_to
from rasa_handover.evaluation.report import (
    SYSTEM_BASELINE,
    SYSTEM_HANDOVER,
    SYSTEM_TITLES,
    format_report,
)
from rasa_handover.evaluation.runner import (
    ConversationResult,
    RunSettings,
    evaluate_agent,
    metrics_for,
    nlu_agreement,
    regulated_intents_of,
)
from rasa_handover.settings import HandoverSettings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds the `evaluate` options to `parser`."""
    parser.add_argument(
        "conversations", type=Path, help="labelled conversations (YAML)"
    )
    parser.add_argument(
        "--model", type=Path, required=True, help="the trained model (.tar.gz)"
    )
    parser.add_argument(
        "--baseline",
        action="store_true",
        help="also evaluate Rasa's own approach (FallbackClassifier + rules), "
        "trained from the project and cached",
    )
    parser.add_argument(
        "--project",
        type=Path,
        default=Path("."),
        help="the Rasa project the model was trained from (default: .)",
    )
    parser.add_argument("--config", type=Path, help="config.yml (default: project's)")
    parser.add_argument("--domain", type=Path, help="domain (default: project's)")
    parser.add_argument(
        "--data", type=Path, nargs="+", default=(), help="training data paths"
    )
    parser.add_argument(
        "--endpoints",
        type=Path,
        help="endpoints.yml with the bot's action server (`action_endpoint`); "
        "needed when the domain has custom actions such as its own "
        "action_session_start. Without it, custom actions fail and are logged",
    )
    parser.add_argument("--out", type=Path, help="write the full results as JSON")
    parser.add_argument(
        "--cache-dir",
        type=Path,
        help=f"where baseline models and logs go (default: ${CACHE_DIR_ENV} or "
        f"{DEFAULT_CACHE_DIR})",
    )
    parser.add_argument(
        "--log-file",
        type=Path,
        help="where Rasa's output goes (default: <cache-dir>/logs/evaluate.log)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


async def _evaluate_models(
    models: Mapping[str, Path],
    conversations: Sequence[LabelledConversation],
    settings: HandoverSettings,
    progress: bool,
    endpoints: Optional[Path] = None,
) -> Tuple[Dict[str, List[ConversationResult]], Dict[str, float]]:
    from rasa.core.agent import Agent
    from rasa.core.utils import read_endpoints_from_path

    action_endpoint = (
        read_endpoints_from_path(str(endpoints)).action if endpoints else None
    )

    results: Dict[str, List[ConversationResult]] = {}
    seconds: Dict[str, float] = {}
    for system, model in models.items():
        if progress:
            print(f"Loading {model} ...", file=sys.stderr)
        agent = Agent.load(str(model), action_endpoint=action_endpoint)
        run_settings = RunSettings.from_settings(settings, regulated_intents_of(agent))
        start = time.perf_counter()
        results[system] = await evaluate_agent(
            agent,
            conversations,
            run_settings,
            progress=progress,
            description=SYSTEM_TITLES[system],
        )
        seconds[system] = round(time.perf_counter() - start, 1)
    return results, seconds


def run(args: argparse.Namespace) -> int:
    """Runs `rasa-handover evaluate`; returns the exit code.

    Returns:
        0 on success, 2 for a bad conversations file or project, 1 when
        training or the evaluation fails.

    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        conversations = load_conversations(args.conversations)
    except ConversationFileError as error:
        print(f"rasa-handover evaluate: {error}", file=sys.stderr)
        return 2
    if not args.model.exists():
        print(
            f"rasa-handover evaluate: no model at {args.model} (train it first, "
            f"e.g. `make train`).",
            file=sys.stderr,
        )
        return 2
    cache_dir = args.cache_dir or default_cache_dir()
    log_file = args.log_file or cache_dir / "logs" / "evaluate.log"
    started = time.perf_counter()
    project: Optional[Project] = None
    try:
        if args.baseline:
            project = Project.from_directory(
                args.project, args.config, args.domain, args.data
            )
            # Fails now, not after loading models, if there is nothing to compare.
            handover_settings_of(read_config(project.config))
        settings = settings_for(args.config or args.project / "config.yml")
    except EvaluationError as error:
        print(f"rasa-handover evaluate: {error}", file=sys.stderr)
        return 2
    models: Dict[str, Path] = {SYSTEM_HANDOVER: args.model}
    try:
        with rasa_output_to(log_file):
            if project is not None:
                print("Training (or reusing) the baseline model ...", file=sys.stderr)
                models[SYSTEM_BASELINE] = train_baseline(project, cache_dir)
            results, seconds = asyncio.run(
                _evaluate_models(
                    models,
                    conversations,
                    settings,
                    not args.no_progress,
                    getattr(args, "endpoints", None),
                )
            )
    except EvaluationError as error:
        print(f"rasa-handover evaluate: {error}", file=sys.stderr)
        return 1
    metrics = {s: metrics_for(conversations, r) for s, r in results.items()}
    agreement = (
        nlu_agreement(results[SYSTEM_HANDOVER], results[SYSTEM_BASELINE])
        if SYSTEM_BASELINE in results
        else None
    )
    print(format_report(metrics, len(conversations), agreement))
    elapsed = round(time.perf_counter() - started, 1)
    print(f"\n{elapsed} s in all (evaluation: {seconds}); Rasa's log: {log_file}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(
            json.dumps(
                results_document(
                    args, conversations, models, results, metrics, seconds, agreement
                ),
                indent=2,
                default=str,
            ),
            encoding="utf-8",
        )
        print(f"JSON: {args.out}")
    return 0


def results_document(
    args: argparse.Namespace,
    conversations: Sequence[LabelledConversation],
    models: Mapping[str, Path],
    results: Mapping[str, Sequence[ConversationResult]],
    metrics: Mapping[str, Metrics],
    seconds: Mapping[str, float],
    agreement: Optional[float],
) -> Dict[str, Any]:
    """The `--out` JSON: settings, metrics per system, and every conversation."""
    return {
        "conversations_file": str(args.conversations),
        "conversations": len(conversations),
        "systems": {
            system: {
                "title": SYSTEM_TITLES[system],
                "model": str(models[system]),
                "seconds": seconds[system],
                "metrics": metrics[system].to_dict(),
            }
            for system in results
        },
        "nlu_agreement": agreement,
        "details": [
            {
                "id": conversation.id,
                "tags": list(conversation.tags),
                "note": conversation.note,
                "gold": {**asdict(conversation.gold), "label": conversation.gold.label},
                **{system: results[system][i].to_dict() for system in results},
            }
            for i, conversation in enumerate(conversations)
        ],
    }
