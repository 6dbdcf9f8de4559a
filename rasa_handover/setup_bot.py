"""`rasa-handover init`: add rasa-handover to an existing Rasa bot, in place.

    cd my-bot && rasa-handover init --dry-run     # the diff of every file
    rasa-handover init --nlu en                   # do it, with English examples

Each step reads one file of the bot and changes it only if the plugin is not in
it yet, so a second run changes nothing. Init only adds lines: every existing
line of the bot's files (comments, order, quoting) stays as it was.

- `config.yml`: appends `rasa_handover.HandoverPolicy` to `policies`;
- the domain fragment: `domain/handover.yml` when the bot has a `domain/` folder;
  a single `domain.yml` is moved to `domain/domain.yml` only with
  `--move-domain` (every Rasa command then needs `--domain domain`);
- `credentials.yml`: the `rasa_handover.channels.HandoverInput` channel;
- `inbox.yml`: one starter agent with a generated token;
- `endpoints.yml`: the action server's endpoint when it has none;
- `.gitignore`: the inbox's and the outbox's SQLite files;
- the action package: one import line mounts the plugin's actions;
- `data/handover_rules.yml` (and with `--nlu`, `data/handover_nlu.yml`): the
  training data that uses the plugin's intents.
"""

import argparse
import difflib
import io
import re
import secrets
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, List, Optional, Sequence, Tuple

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.util import load_yaml_guess_indent

from rasa_handover import bot_nlu, bot_rules
from rasa_handover.constants import (
    CHANNEL_CREDENTIALS_KEY,
    DEFAULT_OUTBOX,
    INTENT_HUMAN_HANDOFF,
)
from rasa_handover.inbox.config import DEFAULT_DB_URL
from rasa_handover.settings import DOCS_URL

PACKAGE_DIR = Path(__file__).resolve().parent
FRAGMENT = PACKAGE_DIR / "domain.yml"
SHIPPED_DATA = PACKAGE_DIR / "data"
RULES_FILE = SHIPPED_DATA / "handover_rules.yml"
NLU_LANGUAGES = ("en", "es", "de")

POLICY_NAME = "rasa_handover.HandoverPolicy"
ACTIONS_IMPORT = "from rasa_handover.actions import *  # noqa"
DEFAULT_ACTION_URL = "http://localhost:5055/webhook"
INBOX_PATH = "/webhooks/handover/inbox/"
DOCS = DOCS_URL.replace("policy.md", "init.md")

DOMAIN_DIR = "domain"
FRAGMENT_NAME = "handover.yml"
RULES_TARGET = "data/handover_rules.yml"
NLU_TARGET = "data/handover_nlu.yml"
GITIGNORE_HEADER = "# rasa-handover: the inbox's and the outbox's SQLite files"


class SetupError(Exception):
    """The bot cannot be set up as it is; the message says why and how to fix it."""


class DomainMoveNeededError(SetupError):
    """The bot has a single domain.yml and `--move-domain` was not given."""


@dataclass
class FileChange:
    """One file `init` writes, creates, deletes or moves.

    `before` is None for a new file, `after` None for a deleted one; a moved
    file keeps its content and says where it was (`moved_from`).
    """

    path: Path
    before: Optional[str]
    after: Optional[str]
    why: str
    moved_from: Optional[Path] = None

    def diff(self, root: Path) -> str:
        """The unified diff of the change, with paths relative to the bot.

        A move is shown as git shows a rename (the content is not repeated).
        """
        name = self.path.relative_to(root).as_posix()
        if self.moved_from is not None:
            old = self.moved_from.relative_to(root).as_posix()
            return (
                f"diff --git a/{old} b/{name}\nsimilarity index 100%\n"
                f"rename from {old}\nrename to {name}\n"
            )
        return "".join(
            difflib.unified_diff(
                (self.before or "").splitlines(keepends=True),
                (self.after or "").splitlines(keepends=True),
                fromfile=f"a/{name}" if self.before is not None else "/dev/null",
                tofile=f"b/{name}" if self.after is not None else "/dev/null",
            )
        )

    def apply(self) -> None:
        """Writes (or deletes, or moves) the file."""
        if self.after is None:
            self.path.unlink()
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(self.after, encoding="utf-8")
        if self.moved_from is not None:
            self.moved_from.unlink()

    def summary(self, root: Path) -> str:
        """One line saying what was done, for the log of a real run."""
        name = self.path.relative_to(root)
        if self.moved_from is not None:
            return f"moved {self.moved_from.relative_to(root)} to {name}: {self.why}"
        verb = "deleted" if self.after is None else "wrote"
        return f"{verb} {name}: {self.why}"


@dataclass
class Plan:
    """What `init` would change, and what the author must still do by hand."""

    root: Path
    changes: List[FileChange] = field(default_factory=list)
    todo: List[str] = field(default_factory=list)

    def change(self, path: Path, before: Optional[str], after: str, why: str) -> None:
        """Records a change unless the file already has this content."""
        if before != after:
            self.changes.append(FileChange(path, before, after, why))


def _read(path: Path) -> Optional[str]:
    return path.read_text(encoding="utf-8") if path.exists() else None


def _load(path: Path, text: str) -> Tuple[Any, int, int]:
    try:
        data, indent, block_seq_indent = load_yaml_guess_indent(text)
    except YAMLError as error:
        raise SetupError(
            f"{path} is not valid YAML ({error}). Fix the file (`rasa data "
            f"validate` points at the line), then run `rasa-handover init` again."
        ) from error
    return data, indent or 2, block_seq_indent or 0


def _dump(path: Path, before: str, data: Any, indent: int, offset: int) -> str:
    """The edited YAML in the file's own indentation; only additions allowed.

    Raises:
        SetupError: if writing the file back would change its existing lines
            (an unusual layout ruamel.yaml cannot reproduce).

    """
    yaml = bot_rules.round_trip_yaml()
    yaml.indent(
        mapping=indent - offset if offset else indent, sequence=indent, offset=offset
    )
    stream = io.StringIO()
    yaml.dump(data, stream)
    after = stream.getvalue()
    if before and not before.endswith("\n"):
        before += "\n"
    removed = [
        line
        for line in difflib.ndiff(before.splitlines(), after.splitlines())
        if line.startswith("- ")
    ]
    if removed:
        raise SetupError(
            f"Adding rasa-handover to {path} would also rewrite {len(removed)} of "
            f"its lines (its layout is unusual), so it was left alone. Add by "
            f"hand what `rasa-handover init --dry-run` shows for it, or give "
            f"the file Rasa's usual layout (2 spaces), then run init again."
        )
    return after


# --- config.yml ------------------------------------------------------------------


def plan_config(plan: Plan, found: Sequence[bot_nlu.PersonIntent] = ()) -> None:
    """Appends HandoverPolicy to the policies of config.yml.

    `found`: the bot's own intents for a person (`bot_nlu`), which the policy is
    told are explicit requests too (and the author why).
    """
    person_intents = [f.intent for f in found]
    path = plan.root / "config.yml"
    text = _read(path)
    if text is None:
        raise SetupError(
            f"There is no config.yml in {plan.root}. Run `rasa-handover init` in "
            f"your bot's folder (the one with config.yml, domain and data/)."
        )
    data, indent, offset = _load(path, text)
    if not isinstance(data, CommentedMap):
        raise SetupError(f"{path} is not a mapping: is it Rasa's config.yml?")
    policies = data.get("policies")
    if policies is None:
        # `rasa init`'s own config: Rasa picks the policies at training time.
        after = _with_rasa_default_policies(path, text, person_intents)
        plan.change(
            path, text, after, "wrote out Rasa's default policies, then HandoverPolicy"
        )
        _explain_person_intents(plan, found)
        return
    if not isinstance(policies, CommentedSeq) or not policies:
        raise SetupError(
            f"`policies` in {path} is not a list of policies, so HandoverPolicy "
            f"cannot be added to it. Write it as Rasa does (`policies:` then one "
            f"`- name: ...` per line), then run `rasa-handover init` again."
        )
    names = [p.get("name") for p in policies if isinstance(p, dict)]
    if any(str(n).endswith("HandoverPolicy") for n in names):
        return
    added = _with_policy_line(text, policies, person_intents)
    if added is None:  # a flow-style list: ruamel.yaml writes it back
        policies.append(_policy_entry(person_intents))
    after = added or _dump(path, text, data, indent, offset)
    plan.change(path, text, after, "added HandoverPolicy to the policies")
    _explain_person_intents(plan, found)


def _explain_person_intents(plan: Plan, found: Sequence[bot_nlu.PersonIntent]) -> None:
    if found:
        plan.todo.append(bot_nlu.explain(found, plan.root))


def _policy_entry(person_intents: Sequence[str]) -> CommentedMap:
    """HandoverPolicy's entry, with the bot's own intents for a person."""
    entry = CommentedMap(name=POLICY_NAME)
    if person_intents:
        entry["explicit_request_intents"] = {"add": list(person_intents)}
    return entry


def _policy_lines(dash: str, gap: str, person_intents: Sequence[str]) -> str:
    """The entry's lines, the first starting `{dash}-{gap}`."""
    lines = f"{dash}-{gap}name: {POLICY_NAME}\n"
    if person_intents:
        indent = " " * (len(dash) + 1 + len(gap))
        names = ", ".join(person_intents)
        lines += f"{indent}explicit_request_intents: {{add: [{names}]}}\n"
    return lines


def _with_policy_line(
    text: str, policies: CommentedSeq, person_intents: Sequence[str] = ()
) -> Optional[str]:
    """config.yml with a `- name: rasa_handover.HandoverPolicy` line added.

    The line goes after the last policy (and its options and comments), in the
    list's own indentation; None when the list is not written one `- ` item
    per line.

    Only a line is added: every existing line stays byte for byte as it was
    (quotes, `True`, comments, blank lines), which a round trip through
    ruamel.yaml cannot promise.
    """
    if policies.fa.flow_style():
        return None
    lines = text.splitlines(keepends=True)
    first_line, first_column = policies.lc.item(len(policies) - 1)
    item = lines[first_line]
    dash = item.rfind("-", 0, first_column)
    if dash < 0 or item[:dash].strip():
        return None
    end = first_line + 1  # the last item runs on while its lines are indented
    for number in range(first_line + 1, len(lines)):
        line = lines[number]
        indent = len(line) - len(line.lstrip())
        if line.strip() and indent <= dash:
            break
        if line.strip():
            end = number + 1
    gap = item[dash + 1 : first_column]
    new_line = _policy_lines(item[:dash], gap, person_intents)
    if end == len(lines) and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    return "".join([*lines[:end], new_line, *lines[end:]])


def _with_rasa_default_policies(
    path: Path, text: str, person_intents: Sequence[str] = ()
) -> str:
    """config.yml with the policies Rasa would pick written out, and ours last.

    Rasa fills an empty `policies:` from its own default configuration at
    training time (and leaves them there, commented out); they are read from
    that same file, so the bot keeps the policies it was trained with.
    """
    from rasa.engine.recipes import default_recipe

    defaults = Path(default_recipe.__file__).parent / "config_files"
    chosen = YAML(typ="safe").load((defaults / "default_config.yml").read_text())
    lines = text.splitlines(keepends=True)
    start = next(
        (i for i, line in enumerate(lines) if re.match(r"policies:\s*(#.*)?$", line)),
        None,
    )
    if start is None:
        raise SetupError(
            f"{path} sets `policies` in a way init does not recognise. Write "
            f"`policies:` on a line of its own, then run `rasa-handover init` again."
        )
    end = start + 1
    while end < len(lines) and lines[end].lstrip().startswith("#"):
        end += 1  # Rasa's commented-out note of what it chose stays above ours.
    stream = io.StringIO()
    yaml = bot_rules.round_trip_yaml()
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.dump([*chosen["policies"], _policy_entry(person_intents)], stream)
    block = (
        "  # Rasa's default policies (what it picks when none are listed), "
        "written out by\n  # `rasa-handover init` so that HandoverPolicy can "
        "join them.\n" + stream.getvalue()
    )
    before = "".join(lines[:end])
    if before and not before.endswith("\n"):
        before += "\n"
    return before + block + "".join(lines[end:])


# --- the domain ------------------------------------------------------------------


def _yaml_files(folder: Path) -> List[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix in (".yml", ".yaml"))


def _declares_handover_actions(paths: Sequence[Path]) -> bool:
    safe = YAML(typ="safe")
    for path in paths:
        try:
            data = safe.load(path.read_text(encoding="utf-8"))
        except YAMLError:
            continue
        if isinstance(data, dict) and "action_handover" in (data.get("actions") or []):
            return True
    return False


def _single_domain(root: Path) -> Optional[Path]:
    for name in ("domain.yml", "domain.yaml"):
        if (root / name).is_file():
            return root / name
    return None


def plan_domain(plan: Plan, move_domain: bool) -> None:
    """Adds the domain fragment as domain/handover.yml (moving domain.yml if asked)."""
    fragment = FRAGMENT.read_text(encoding="utf-8")
    folder = plan.root / DOMAIN_DIR
    single = _single_domain(plan.root)
    if folder.is_dir():
        if not _declares_handover_actions(_yaml_files(folder)):
            plan.change(folder / FRAGMENT_NAME, None, fragment, "the domain fragment")
        return
    if single is None:
        raise SetupError(
            f"{plan.root} has neither a domain.yml nor a domain/ folder. Run "
            f"`rasa-handover init` in your bot's folder (the one `rasa train` "
            f"runs in)."
        )
    if _declares_handover_actions([single]):
        return
    if not move_domain:
        raise DomainMoveNeededError(
            f"Your domain is a single file, {single.name}, and the plugin's domain "
            f"fragment (its intents, slots, actions and the sentences the customer "
            f"sees) belongs in its own file next to it, where you can reword it "
            f"without touching yours. Rasa merges every file of a domain folder, "
            f"so this needs a one-time move: `rasa-handover init --move-domain` "
            f"moves {single.name} to {DOMAIN_DIR}/{single.name} and adds "
            f"{DOMAIN_DIR}/{FRAGMENT_NAME} (`--dry-run` shows it first). From then "
            f"on pass `--domain {DOMAIN_DIR}` to rasa train, test, shell, "
            f"interactive and data validate. Nothing was changed."
        )
    text = single.read_text(encoding="utf-8")
    plan.changes.append(
        FileChange(
            folder / single.name,
            text,
            text,
            f"your {single.name}, unchanged, next to the fragment",
            moved_from=single,
        )
    )
    plan.change(folder / FRAGMENT_NAME, None, fragment, "the domain fragment")


# --- credentials, endpoints, inbox, .gitignore ------------------------------------


def _top_level_keys(path: Path, text: str) -> List[str]:
    data = _load(path, text)[0]
    if data is None:
        return []
    if not isinstance(data, dict):
        raise SetupError(f"{path} is not a mapping of keys; fix it and run init again.")
    return [str(key) for key in data]


def _append(text: Optional[str], block: str) -> str:
    if not text:
        return block
    return text + ("\n" if text.endswith("\n") else "\n\n") + block


def plan_credentials(plan: Plan) -> None:
    """Adds the handover channel to credentials.yml."""
    path = plan.root / "credentials.yml"
    text = _read(path)
    if text is not None and CHANNEL_CREDENTIALS_KEY in _top_level_keys(path, text):
        return
    block = (
        "# rasa-handover: the customer's channel (socket.io for rasa-webchat, and\n"
        "# REST) with the agents' inbox at /webhooks/handover/inbox/\n"
        "# (docs/channel.md).\n"
        f"{CHANNEL_CREDENTIALS_KEY}:\n"
        "  inbox_config: inbox.yml\n"
        "  # Authenticates customers: signed socket.io sessions that survive a\n"
        "  # restart, and REST sender tokens\n"
        "  # (docs/channel.md#customer-authentication).\n"
        "  # customer_secret: ${HANDOVER_CUSTOMER_SECRET}\n"
    )
    plan.change(path, text, _append(text, block), "the handover channel")


def plan_endpoints(plan: Plan) -> None:
    """Points Rasa at the action server when endpoints.yml does not yet."""
    path = plan.root / "endpoints.yml"
    text = _read(path)
    if text is not None and "action_endpoint" in _top_level_keys(path, text):
        return
    block = (
        "# The action server (`rasa run actions`); it runs rasa-handover's actions.\n"
        f"action_endpoint:\n  url: {DEFAULT_ACTION_URL}\n"
    )
    plan.change(path, text, _append(text, block), "the action server's endpoint")


def _bot_language(root: Path) -> str:
    text = _read(root / "config.yml") or ""
    data = _load(root / "config.yml", text)[0] if text else None
    language = data.get("language") if isinstance(data, dict) else None
    return str(language or "en")


def starter_inbox(agent_name: str, language: str) -> str:
    """A starter inbox.yml with one agent and a freshly generated token."""
    return (
        "# The agents of rasa-handover's inbox (docs/inbox.md): they sign in at\n"
        f"# http://localhost:5005{INBOX_PATH} with their token and click\n"
        '# "Go online". While nobody is online, customers are told so and offered a\n'
        "# callback or an email instead of waiting.\n"
        "# The token was generated by `rasa-handover init`: keep it secret (do not\n"
        "# commit it; `token_env: VARIABLE` reads it from the environment instead).\n"
        "agents:\n"
        f"  - name: {agent_name}          # the name customers see\n"
        f"    token: {secrets.token_urlsafe(32)}\n"
        "    teams: [general]\n"
        f"    languages: [{language}]\n"
    )


def plan_inbox(plan: Plan, agent_name: str) -> None:
    """Writes a starter inbox.yml unless there is one."""
    path = plan.root / "inbox.yml"
    if not path.exists():
        inbox = starter_inbox(agent_name, _bot_language(plan.root))
        plan.change(path, None, inbox, "one agent with a generated token")


def gitignore_patterns() -> List[str]:
    """The SQLite files the embedded inbox and the outbox create in the bot folder."""
    inbox_db = DEFAULT_DB_URL.split("///", 1)[-1]
    return [f"{inbox_db}*", f"{DEFAULT_OUTBOX}*"]


def plan_gitignore(plan: Plan) -> None:
    """Keeps the handover databases (and their WAL files) out of git."""
    path = plan.root / ".gitignore"
    text = _read(path)
    present = {line.strip() for line in (text or "").splitlines()}
    missing = [p for p in gitignore_patterns() if p not in present]
    if missing:
        block = "\n".join([GITIGNORE_HEADER, *missing]) + "\n"
        plan.change(path, text, _append(text, block), "the handover databases")


# --- the action server -------------------------------------------------------------


def _action_module(root: Path) -> Optional[Path]:
    """Where the bot's action server starts: the file `rasa run actions` imports."""
    for candidate in ("actions/__init__.py", "actions/actions.py", "actions.py"):
        if (root / candidate).is_file():
            return root / candidate
    return None


def plan_actions(plan: Plan) -> None:
    """Mounts the plugin's actions into the bot's own action server."""
    line = (
        "# rasa-handover's actions (action_handover, ...) run in this server too.\n"
        f"{ACTIONS_IMPORT}\n"
    )
    module = _action_module(plan.root)
    if module is None:
        plan.todo.append(
            "No action package was found (actions/__init__.py, actions/actions.py "
            "or actions.py), so the plugin's actions were not mounted. Either run "
            "them on their own, `rasa run actions --actions rasa_handover.actions`, "
            f"or put `{ACTIONS_IMPORT}` in your action package."
        )
        return
    package = module.parent if module.name == "__init__.py" else None
    sources = [module] if package is None else sorted(package.glob("*.py"))
    if any("rasa_handover" in (_read(p) or "") for p in sources):
        return
    text = _read(module) or ""
    plan.change(module, text, _append(text, line), "mounts the plugin's actions")


# --- training data -------------------------------------------------------------------


def nlu_file(language: str) -> Path:
    """The shipped `human_handoff` examples in `language`."""
    return SHIPPED_DATA / f"handoff_nlu_{language}.yml"


def plan_rules(plan: Plan, target: Path) -> None:
    """Adds the shipped rules, less those the bot's own data would contradict."""
    text = RULES_FILE.read_text(encoding="utf-8")
    expected = bot_rules.shipped_answers(text)
    own = bot_rules.own_answers(plan.root / "data", expected, skip=[target])
    if own:
        text = bot_rules.rules_without(text, [a.intent for a in own])
        plan.todo.append(bot_rules.explain(own, expected, plan.root))
    plan.change(target, None, text, "rules")


def plan_data(
    plan: Plan, languages: Sequence[str], person_intents: Sequence[str] = ()
) -> None:
    """Adds the handover rules and, for `languages`, the shipped NLU examples.

    `person_intents`: the bot's own intents for a person; the shipped
    `human_handoff` examples are left out next to them.
    """
    rules = plan.root / RULES_TARGET
    if not rules.exists():
        plan_rules(plan, rules)
    intents = "human_handoff, handover_callback, handover_leave_message"
    for language in languages:
        target = plan.root / NLU_TARGET.replace(".yml", f"_{language}.yml")
        if not target.exists():
            examples = nlu_file(language).read_text(encoding="utf-8")
            if person_intents:
                examples = bot_nlu.nlu_without(examples, INTENT_HUMAN_HANDOFF)
                intents = "handover_callback, handover_leave_message"
            plan.change(target, None, examples, f"{intents} examples ({language})")
    if (
        not languages
        and not person_intents
        and INTENT_HUMAN_HANDOFF not in bot_nlu.examples_by_intent(plan.root / "data")
    ):
        plan.todo.append(
            "The intent human_handoff has no NLU examples yet, so your NLU model "
            "cannot recognise a request for a person (the policy's phrase net "
            "still catches the usual ones); nor have handover_callback and "
            'handover_leave_message ("call me back", "I\'ll leave a message"; '
            f"the offer's buttons send them anyway). {_how_to_add_examples(plan.root)}"
        )


def _how_to_add_examples(root: Path) -> str:
    language = _bot_language(root)
    if language in NLU_LANGUAGES:
        return (
            f"Add your own, or run `rasa-handover init --nlu {language}` "
            f"(shipped: {', '.join(NLU_LANGUAGES)})."
        )
    return (
        f"No examples ship in your bot's language ({language}; shipped: "
        f"{', '.join(NLU_LANGUAGES)}): add your own in data/, e.g. by translating "
        f"{nlu_file('en')}."
    )


# --- the command ---------------------------------------------------------------------


def plan_setup(
    root: Path,
    move_domain: bool = False,
    languages: Sequence[str] = (),
    agent_name: str = "Alex",
) -> Plan:
    """Everything `init` would change in the bot at `root` (nothing is written).

    Raises:
        SetupError: if the bot's files cannot be changed safely.

    """
    plan = Plan(root.resolve())
    shipped = list((plan.root / "data").glob("handover_*.yml"))
    found = bot_nlu.person_intents(plan.root / "data", skip=shipped)
    person_intents = [f.intent for f in found]
    steps: List[Callable[[Plan], None]] = [
        lambda p: plan_config(p, found),
        lambda p: plan_domain(p, move_domain),
        plan_credentials,
        plan_endpoints,
        lambda p: plan_inbox(p, agent_name),
        plan_gitignore,
        plan_actions,
        lambda p: plan_data(p, languages, person_intents),
    ]
    for step in steps:
        step(plan)
    return plan


def apply(plan: Plan) -> None:
    """Writes the plan's files (new and changed ones first, deletions last)."""
    for change in sorted(plan.changes, key=lambda c: c.after is None):
        change.apply()


def parse_languages(value: str) -> List[str]:
    """`en,es` -> ["en", "es"]; rejects languages without shipped examples."""
    languages = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [lang for lang in languages if lang not in NLU_LANGUAGES]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"no shipped human_handoff examples for {', '.join(unknown)}; "
            f"choose from {', '.join(NLU_LANGUAGES)} and write your own for others"
        )
    return languages


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds the `init` options to `parser`."""
    parser.add_argument(
        "--bot", type=Path, default=Path("."), help="the bot's folder (default: .)"
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="show the diff of every file init would change, and change nothing",
    )
    parser.add_argument(
        "--move-domain",
        action="store_true",
        help="move a single domain.yml into domain/ so the plugin's fragment can "
        "sit next to it (then use `--domain domain` with Rasa's commands)",
    )
    parser.add_argument(
        "--nlu",
        type=parse_languages,
        default=[],
        metavar="LANGS",
        help=f"add the shipped human_handoff examples, e.g. `en,es` "
        f"(available: {','.join(NLU_LANGUAGES)})",
    )
    parser.add_argument(
        "--agent-name",
        default="Alex",
        help="the name of the starter agent in inbox.yml (customers see it)",
    )


def next_steps(root: Path) -> str:
    """What to run once the files are in place."""
    domain = "domain" if (root / DOMAIN_DIR).is_dir() else "domain.yml"
    actions = (
        "  rasa run actions                     # your actions and the plugin's\n"
        if _action_module(root) is not None
        else "  rasa run actions --actions rasa_handover.actions   # the plugin's\n"
    )
    return (
        "Next:\n"
        f"  rasa train --domain {domain}\n"
        f"{actions}"
        '  rasa run --cors "*"                  # the bot, the channel and the inbox\n'
        f"  open http://localhost:5005{INBOX_PATH}, sign in with the token in "
        'inbox.yml and click "Go online"\n'
        "  rasa-handover check                  # which of your test stories the "
        "plugin changes\n"
        f"See {DOCS}."
    )


def run(args: argparse.Namespace) -> int:
    """Runs `rasa-handover init`; returns the exit code (0, or 1 on an error)."""
    try:
        plan = plan_setup(args.bot, args.move_domain, args.nlu, args.agent_name)
    except DomainMoveNeededError as error:
        if not args.dry_run:
            print(f"rasa-handover init: {error}", file=sys.stderr)
            return 1
        print(f"rasa-handover init: with --move-domain. {error}\n", file=sys.stderr)
        return run(argparse.Namespace(**{**vars(args), "move_domain": True}))
    except SetupError as error:
        print(f"rasa-handover init: {error}", file=sys.stderr)
        return 1
    if args.dry_run:
        for change in plan.changes:
            print(change.diff(plan.root), end="")
    else:
        apply(plan)
        for change in plan.changes:
            print(change.summary(plan.root))
    if not plan.changes:
        print(f"rasa-handover is already set up in {plan.root}: nothing to change.")
    for item in plan.todo:
        print(f"\nTo do: {item}")
    if plan.changes and not args.dry_run:
        print("\n" + next_steps(plan.root))
    return 0
