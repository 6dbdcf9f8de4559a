"""The baseline: Rasa's own approach, trained from the same project, and cached.

The same NLU pipeline plus `FallbackClassifier` at the policy's confidence floor
and ambiguity threshold, the policies without `HandoverPolicy`, and rules that
map the explicit request intents and `nlu_fallback` to the handover action. The
model is cached by a fingerprint of its inputs, so a rerun costs only the
evaluation.
"""

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import yaml

from rasa_handover.__version__ import __version__
from rasa_handover.constants import INTENT_NLU_FALLBACK
from rasa_handover.evaluation.errors import EvaluationError
from rasa_handover.settings import HandoverSettings, parse_settings
from rasa_handover.validation import HandoverConfigError

# Bump when the generated baseline project changes, so cached models are rebuilt.
BASELINE_FORMAT_VERSION = 2
BASELINE_RULES_FILE = "rasa_handover_baseline_rules.yml"
FALLBACK_CLASSIFIER = "FallbackClassifier"
RULE_POLICY = "RulePolicy"
HANDOVER_POLICY_SUFFIX = "HandoverPolicy"
# Cached models and logs live outside the project (nothing lands in the repo).
CACHE_DIR_ENV = "RASA_HANDOVER_CACHE_DIR"
DEFAULT_CACHE_DIR = (
    Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "rasa-handover"
)
# Rasa's own training cache, reused across baseline trainings (NLU components
# whose inputs did not change are not retrained).
RASA_CACHE_DIRECTORY_ENV = "RASA_CACHE_DIRECTORY"
# Lines of a failed training log shown in the error.
TRAIN_LOG_TAIL_LINES = 30


@dataclass(frozen=True)
class Project:
    """The Rasa project a model was trained from."""

    config: Path
    domain: Path
    data: Tuple[Path, ...]

    @classmethod
    def from_directory(
        cls,
        directory: Path,
        config: Optional[Path] = None,
        domain: Optional[Path] = None,
        data: Sequence[Path] = (),
    ) -> "Project":
        """The usual layout: config.yml, domain.yml or domain/, data/.

        Raises:
            EvaluationError: naming the file that is missing.

        """
        config = config or directory / "config.yml"
        if domain is None:
            domain = directory / "domain.yml"
            if not domain.exists():
                domain = directory / "domain"
        paths = tuple(data) or (directory / "data",)
        for path in (config, domain, *paths):
            if not path.exists():
                raise EvaluationError(
                    f"The baseline is trained from the project, but {path} does not "
                    f"exist; pass --project (or --config / --domain / --data)."
                )
        return cls(config, domain, paths)


def read_config(path: Path) -> Dict[str, Any]:
    """Reads a Rasa config.yml.

    Raises:
        EvaluationError: if it is not a YAML mapping.

    """
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise EvaluationError(f"Cannot read {path}: {error}") from error
    if not isinstance(config, dict):
        raise EvaluationError(f"{path} is not a Rasa config (a YAML mapping).")
    return config


def _is_handover_policy(entry: Any) -> bool:
    return isinstance(entry, Mapping) and str(entry.get("name", "")).endswith(
        HANDOVER_POLICY_SUFFIX
    )


def settings_for(config_path: Path) -> HandoverSettings:
    """The HandoverPolicy settings of a project's config, else the defaults.

    Without a config, or with one that has no HandoverPolicy (any Rasa bot can
    be evaluated), the default action and intent names apply.

    Raises:
        EvaluationError: if the config cannot be read or has a bad setting.

    """
    if not config_path.exists():
        return parse_settings({})
    entry = handover_entry(read_config(config_path))
    try:
        return parse_settings(entry or {})
    except HandoverConfigError as error:
        raise EvaluationError(str(error)) from error


def handover_entry(config: Mapping[str, Any]) -> Optional[Mapping[str, Any]]:
    """The config's HandoverPolicy entry, if any."""
    entries = [p for p in config.get("policies") or [] if _is_handover_policy(p)]
    return entries[0] if entries else None


def handover_settings_of(config: Mapping[str, Any]) -> HandoverSettings:
    """The resolved settings of the config's HandoverPolicy entry.

    Raises:
        EvaluationError: if the config has no HandoverPolicy or a bad setting.

    """
    entry = handover_entry(config)
    if entry is None:
        raise EvaluationError(
            "The project's config.yml has no rasa_handover.HandoverPolicy, so there "
            "is nothing to compare with the baseline."
        )
    try:
        return parse_settings(entry)
    except HandoverConfigError as error:
        raise EvaluationError(str(error)) from error


def baseline_config(config: Mapping[str, Any]) -> Dict[str, Any]:
    """Rasa's own approach: the same config without HandoverPolicy.

    The pipeline gets `FallbackClassifier` at the policy's confidence floor and
    ambiguity threshold (replacing one already there); the policies lose
    HandoverPolicy and keep (or gain) RulePolicy for the handover rules.

    Raises:
        EvaluationError: if the config has no HandoverPolicy or a bad setting.

    """
    settings = handover_settings_of(config)
    pipeline = [
        entry
        for entry in config.get("pipeline") or []
        if not (isinstance(entry, Mapping) and entry.get("name") == FALLBACK_CLASSIFIER)
    ]
    pipeline.append(
        {
            "name": FALLBACK_CLASSIFIER,
            "threshold": settings.confidence_floor,
            "ambiguity_threshold": settings.ambiguity_threshold,
        }
    )
    policies = [p for p in config.get("policies") or [] if not _is_handover_policy(p)]
    if not any(
        isinstance(p, Mapping) and p.get("name") == RULE_POLICY for p in policies
    ):
        policies.append({"name": RULE_POLICY})
    return {**config, "pipeline": pipeline, "policies": policies}


def baseline_rules(
    settings: HandoverSettings, regulated_intents: Sequence[str] = ()
) -> str:
    """Rules that hand over as a Rasa bot would without the plugin.

    On the explicit request intents, `nlu_fallback`, and the intents the domain
    declares `regulated` without a condition (a rule per intent; Rasa has no
    conditional rule for "above $100").
    """
    intents = [
        *sorted(settings.explicit_request_intents),
        INTENT_NLU_FALLBACK,
        *sorted(regulated_intents),
    ]
    rules = [
        {
            "rule": f"rasa-handover baseline: {intent} hands over",
            "steps": [{"intent": intent}, {"action": settings.handover_action}],
        }
        for intent in intents
    ]
    return yaml.safe_dump({"version": "3.1", "rules": rules}, sort_keys=False)


def _hash_path(digest: Any, path: Path) -> None:
    files = (
        sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    )
    for file in files:
        digest.update(
            str(file.relative_to(path) if path.is_dir() else file.name).encode()
        )
        digest.update(b"\0")
        digest.update(file.read_bytes())
        digest.update(b"\0")


def fingerprint(
    config_text: str,
    paths: Sequence[Path],
    extra_files: Mapping[str, str],
    salt: Sequence[str] = (),
) -> str:
    """A hash of everything a training run reads (file contents, not times)."""
    import rasa

    digest = hashlib.sha256()
    for part in (rasa.__version__, __version__, *salt, config_text):
        digest.update(part.encode("utf-8"))
        digest.update(b"\0")
    for path in paths:
        _hash_path(digest, path)
    for name in sorted(extra_files):
        digest.update(name.encode("utf-8"))
        digest.update(extra_files[name].encode("utf-8"))
    return digest.hexdigest()


def default_cache_dir() -> Path:
    """`$RASA_HANDOVER_CACHE_DIR`, else `~/.cache/rasa-handover`."""
    configured = os.environ.get(CACHE_DIR_ENV)
    return Path(configured) if configured else DEFAULT_CACHE_DIR


def train_cached(
    config: Mapping[str, Any],
    cache_dir: Path,
    label: str,
    training_files: Sequence[Path] = (),
    extra_files: Optional[Mapping[str, str]] = None,
    domain: Optional[Path] = None,
    nlu_only: bool = False,
    working_files: Optional[Mapping[str, str]] = None,
) -> Path:
    """Trains a Rasa model once per distinct input and returns its archive.

    `rasa train` runs in a subprocess, its output in a log file next to the
    model. Rasa's own training cache (in `cache_dir`) lets NLU components whose
    inputs did not change be reused by the next training.

    Args:
        config: The Rasa config to train with.
        cache_dir: Where models, logs and Rasa's training cache are kept.
        label: A name for the model file (`<label>-<fingerprint>.tar.gz`).
        training_files: Data files or directories.
        extra_files: Generated training files (name -> YAML text).
        domain: The domain file or directory (not needed for `nlu_only`).
        nlu_only: Train the NLU pipeline only (`rasa train nlu`).
        working_files: Files written beside config.yml in the folder `rasa
            train` runs in, not training data (name -> text): e.g. the tuning
            file a relative `tuning_file` names, which training reads.

    Returns:
        The path of the model archive.

    Raises:
        EvaluationError: if training fails; the message has the log's tail.

    """
    extra_files = dict(extra_files or {})
    working_files = dict(working_files or {})
    config_text = yaml.safe_dump(dict(config), sort_keys=False)
    paths = [*([domain] if domain else []), *training_files]
    hashed = {**extra_files, **{f"./{n}": t for n, t in working_files.items()}}
    key = fingerprint(config_text, paths, hashed, salt=(label, str(nlu_only)))[:16]
    models = cache_dir / "models"
    target = models / f"{label}-{key}.tar.gz"
    if target.exists():
        return target
    models.mkdir(parents=True, exist_ok=True)
    log = models / f"{label}-{key}.log"
    with tempfile.TemporaryDirectory(prefix="rasa-handover-train-") as tmp:
        work = Path(tmp)
        (work / "config.yml").write_text(config_text, encoding="utf-8")
        for name, text in working_files.items():
            (work / name).write_text(text, encoding="utf-8")
        generated = []
        for name, text in extra_files.items():
            (work / name).write_text(text, encoding="utf-8")
            generated.append(work / name)
        data = [p.resolve() for p in (*training_files, *generated)]
        command = _train_command(work, label, data, domain, nlu_only)
        env = {
            **os.environ,
            RASA_CACHE_DIRECTORY_ENV: str((cache_dir / "rasa-cache").resolve()),
            "RASA_TELEMETRY_ENABLED": "false",
            "TF_CPP_MIN_LOG_LEVEL": "3",
        }
        with open(log, "w", encoding="utf-8") as out:
            completed = subprocess.run(
                command, cwd=work, env=env, stdout=out, stderr=subprocess.STDOUT
            )
        built = work / "out" / f"{label}.tar.gz"
        if completed.returncode != 0 or not built.exists():
            tail = log.read_text(encoding="utf-8").splitlines()[-TRAIN_LOG_TAIL_LINES:]
            raise EvaluationError(
                f"Training the {label} model failed (log: {log}):\n" + "\n".join(tail)
            )
        partial = target.with_suffix(".partial")
        shutil.move(str(built), partial)
        os.replace(partial, target)
    return target


def _train_command(
    work: Path,
    label: str,
    data: Sequence[Path],
    domain: Optional[Path],
    nlu_only: bool,
) -> List[str]:
    """`rasa train` (or `rasa train nlu`) with the config written to `work`."""
    command = [sys.executable, "-m", "rasa", "train"]
    if nlu_only:
        command += ["nlu", "--nlu", *map(str, data)]
    else:
        command += ["--data", *map(str, data)]
    if domain is not None:
        command += ["--domain", str(domain.resolve())]
    command += [
        "--config",
        str(work / "config.yml"),
        "--out",
        str(work / "out"),
        "--fixed-model-name",
        label,
    ]
    return command


def unconditional_regulated_intents(domain: Path) -> List[str]:
    """The intents the project's domain declares `regulated` without a condition."""
    from rasa.shared.core.domain import Domain

    from rasa_handover.intent_properties import parse_declarations

    declarations = parse_declarations(
        Domain.load(str(domain)).intent_properties, None, None
    )
    return sorted(
        name for name, d in declarations.items() if d.regulated and d.condition is None
    )


def train_baseline(project: Project, cache_dir: Path) -> Path:
    """Trains (or reuses) the baseline model for `project`; see the module docs.

    Raises:
        EvaluationError: if the config has no HandoverPolicy or training fails.

    """
    config = read_config(project.config)
    settings = handover_settings_of(config)
    return train_cached(
        baseline_config(config),
        cache_dir,
        label=f"baseline-v{BASELINE_FORMAT_VERSION}",
        training_files=project.data,
        extra_files={
            BASELINE_RULES_FILE: baseline_rules(
                settings, unconditional_regulated_intents(project.domain)
            )
        },
        domain=project.domain,
    )
