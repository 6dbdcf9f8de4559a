"""HandoverPolicy: decides when a conversation must go to a human.

Add it next to the bot's own policies:

```yaml
policies:
  - name: RulePolicy
  - name: TEDPolicy
  - name: rasa_handover.HandoverPolicy
```

It adds no model and no training time. After every user message it runs the
triggers (`rasa_handover.triggers`) over a read-only view of the conversation.
When one fires, it predicts the handover (or offer) action with confidence 1.0
and a priority above `RulePolicy`'s, and sets the decision slots
(`handover_reason`, `handover_evidence`, `handover_turn`). Otherwise it abstains
(all zeros) and the bot's own policies decide. While a human owns the
conversation (`handover_active`), it keeps the bot silent.
"""

import json
import logging
from typing import Any, Collection, Dict, List, Optional, Sequence, Set, Tuple

from rasa.core.constants import POLICY_PRIORITY, RULE_POLICY_PRIORITY
from rasa.core.policies.policy import Policy, PolicyPrediction
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.core.domain import Domain, InvalidDomain
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    Event,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.utils.io import raise_warning

from rasa_handover.constants import (
    ACTION_HANDBACK,
    ACTION_LEAVE_MESSAGE,
    ACTION_LISTEN,
    ACTION_SCHEDULE_CALLBACK,
    ALTERNATIVE_INTENTS,
    FORMS,
    INTENT_HANDOVER_RESOLVED,
    INTENT_NLU_FALLBACK,
    LOW_CONFIDENCE_NLU_FALLBACK,
    OFFER_LOOKBACK_TURNS,
    POLICY_SLOTS,
    RASA_CONTROL_INTENTS,
    REASON_LOW_CONFIDENCE,
    REASON_REPEAT_LOOP,
    SLOT_HANDOVER_ACTIVE,
    SLOT_HANDOVER_EVIDENCE,
    SLOT_HANDOVER_OFFERED,
    SLOT_HANDOVER_REASON,
    SLOT_HANDOVER_TURN,
)
from rasa_handover.conversation import ConversationView, view_from_rasa_tracker
from rasa_handover.intent_properties import (
    IntentDeclaration,
    declarations_as_dict,
    parse_declarations,
)
from rasa_handover.languages import response_texts
from rasa_handover.settings import (
    HandoverSettings,
    default_config,
    parse_settings,
    with_bot_languages,
)
from rasa_handover.thresholds import Thresholds
from rasa_handover.triggers import Decision, evaluate
from rasa_handover.tuning_file import TuningFile, load_tuning, parse_tuning
from rasa_handover.validation import DOCS_URL, HandoverConfigError

logger = logging.getLogger(__name__)

# Above RulePolicy, so that a fired trigger wins a tie with a rule at 1.0.
HANDOVER_POLICY_PRIORITY = RULE_POLICY_PRIORITY + 1
PERSISTED_FILE = "handover_policy.json"
PERSISTED_FORMAT_VERSION = 1

_SLOT_SNIPPET = """slots:
  handover_active:
    type: bool
    initial_value: false
    influence_conversation: false
    mappings: [{type: custom}]
  handover_reason:
    type: text
    influence_conversation: false
    mappings: [{type: custom}]
  handover_evidence:
    type: any
    influence_conversation: false
    mappings: [{type: custom}]
  handover_turn:
    type: float
    influence_conversation: false
    mappings: [{type: custom}]
  handover_offered:
    type: bool
    initial_value: false
    influence_conversation: false
    mappings: [{type: custom}]"""


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT],
    is_trainable=True,
)
class HandoverPolicy(Policy):
    """Hands the conversation to a human when a trigger fires.

    Triggers, in the order they run: `explicit_request`, `regulated_topic`,
    `frustration`, `low_confidence`, `repeat_loop`. High-value accounts tighten
    all of them. See docs/policy.md for every setting.
    """

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """Returns the default config (see `rasa_handover.settings.default_config`).

        Every key except `priority` is documented, with a comment each, in
        `rasa_handover.settings.default_config()` and in docs/policy.md.
        """
        return {
            # Above RulePolicy (4): a fired trigger wins ties with rules.
            POLICY_PRIORITY: HANDOVER_POLICY_PRIORITY,
            **default_config(),
        }

    def __init__(
        self,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        featurizer: Optional[Any] = None,
        declarations: Optional[Dict[str, IntentDeclaration]] = None,
        tuning: Optional[TuningFile] = None,
        bot_fallback_actions: Sequence[str] = (),
    ) -> None:
        """Validates the configuration (a bad one fails `rasa train` at once)."""
        super().__init__(config, model_storage, resource, execution_context, featurizer)
        try:
            self.settings: HandoverSettings = parse_settings(
                {k: v for k, v in config.items() if k != POLICY_PRIORITY}
            )
        except HandoverConfigError as error:
            raise InvalidConfigException(str(error)) from error
        # Every threshold of every intent, resolved once (`rasa_handover.thresholds`).
        self.tuning = tuning
        self.thresholds = self._table(declarations or {})
        # `bot_languages: auto` resolved for the last domain seen (see
        # `_settings_for`): the domain object, and the settings it gives.
        self._resolved: Optional[Tuple[Domain, HandoverSettings]] = None
        # What the bot's own rules and stories answer `nlu_fallback` with
        # (learned at training; see `_bot_asks_first`).
        self.bot_fallback_actions: Tuple[str, ...] = tuple(bot_fallback_actions)
        self._own_actions = {
            self.settings.handover_action,
            self.settings.offer_action,
            self.settings.clarify_action,
            ACTION_HANDBACK,
            ACTION_SCHEDULE_CALLBACK,
            ACTION_LEAVE_MESSAGE,
        }

    def _table(self, declarations: Dict[str, IntentDeclaration]) -> Thresholds:
        tuning = self.tuning.thresholds() if self.tuning else None
        try:
            return Thresholds.build(self.settings, declarations, tuning)
        except HandoverConfigError as error:
            raise InvalidConfigException(str(error)) from error

    # --- Training: validate the domain, persist its declarations. --------------

    def train(
        self,
        training_trackers: List[TrackerWithCachedStates],
        domain: Domain,
        **kwargs: Any,
    ) -> Resource:
        """Validates the domain against the config and persists its declarations.

        Nothing is learned: this only makes a bad domain fail at training time
        and stores what the triggers need from it.

        Raises:
            InvalidDomain: if slots or actions the policy needs are missing, or a
                `regulated` / `handover_*` intent property is malformed.
            InvalidConfigException: if `intent_overrides` names unknown intents.

        """
        declarations = self.validate_domain(domain)
        if self.settings.tuning_file:
            try:
                self.tuning = load_tuning(self.settings.tuning_file)
            except HandoverConfigError as error:
                raise InvalidConfigException(str(error)) from error
        self.thresholds = self._table(declarations)
        self.bot_fallback_actions = bot_fallback_actions(
            training_trackers, self._own_actions
        )
        self._persist(declarations)
        return self._resource

    def validate_domain(self, domain: Domain) -> Dict[str, IntentDeclaration]:
        """Checks that `domain` has what the policy needs; returns its declarations.

        Raises:
            InvalidDomain: naming what is missing or malformed and how to fix it.
            InvalidConfigException: if `intent_overrides` names unknown intents.

        """
        slot_names = {slot.name for slot in domain.slots}
        missing_slots = [name for name in POLICY_SLOTS if name not in slot_names]
        if missing_slots:
            raise InvalidDomain(
                f"HandoverPolicy needs the slots {missing_slots} in your domain "
                f"to record its decisions, but they are not declared. Add them "
                f"to domain.yml:\n\n{_SLOT_SNIPPET}\n\nSee {DOCS_URL}#domain."
            )
        actions = set(domain.action_names_or_texts)
        needed = [self.settings.handover_action]
        if REASON_REPEAT_LOOP in self.settings.triggers:
            needed.append(self.settings.offer_action)
        if (
            REASON_LOW_CONFIDENCE in self.settings.triggers
            and self.settings.clarify_before_handover
        ):
            needed.append(self.settings.clarify_action)
        missing_actions = [name for name in needed if name not in actions]
        if missing_actions:
            raise InvalidDomain(
                f"HandoverPolicy predicts the actions {missing_actions}, but your "
                f"domain does not list them. Add them under `actions:` in "
                f"domain.yml (they are served by `rasa run actions --actions "
                f"rasa_handover.actions`), or point `handover_action` / "
                f"`offer_action` / `clarify_action` in config.yml to your own "
                f"actions (or set `clarify_before_handover: false`). "
                f"See {DOCS_URL}#domain."
            )
        unknown_overrides = sorted(
            set(self.settings.intent_overrides) - set(domain.intents)
        )
        if unknown_overrides:
            raise InvalidConfigException(
                f"HandoverPolicy: `intent_overrides` names the intents "
                f"{unknown_overrides}, which your domain does not declare. Fix the "
                f"names (declared intents: {sorted(domain.intents)})."
            )
        missing_explicit = sorted(
            self.settings.explicit_request_intents - set(domain.intents)
        )
        if missing_explicit:
            raise_warning(
                f"HandoverPolicy: the explicit request intents {missing_explicit} "
                f"are not in your domain, so only the phrase safety net will "
                f"catch requests for a person. Add a `human_handoff` intent with "
                f"examples, or set `explicit_request_intents`.",
                docs=DOCS_URL,
            )
        if self.settings.high_value.slot not in slot_names:
            logger.debug(
                f"HandoverPolicy: no slot '{self.settings.high_value.slot}' in the "
                f"domain; high-value tightening is off."
            )
        try:
            return parse_declarations(
                domain.intent_properties, slot_names, set(domain.entities)
            )
        except HandoverConfigError as error:
            raise InvalidDomain(str(error)) from error

    def _persist(self, declarations: Dict[str, IntentDeclaration]) -> None:
        with self._model_storage.write_to(self._resource) as directory:
            (directory / PERSISTED_FILE).write_text(
                json.dumps(
                    {
                        "format_version": PERSISTED_FORMAT_VERSION,
                        "declarations": declarations_as_dict(declarations),
                        "tuning": self.tuning.as_dict() if self.tuning else None,
                        "bot_fallback_actions": list(self.bot_fallback_actions),
                    },
                    indent=2,
                    sort_keys=True,
                ),
                encoding="utf-8",
            )

    @classmethod
    def load(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> "HandoverPolicy":
        """Loads the policy with the declarations persisted at training time.

        The tuning file is read again if it is there (a new one takes effect
        without retraining); else the copy persisted at training time is used.
        """
        declarations: Dict[str, IntentDeclaration] = {}
        tuning: Optional[TuningFile] = None
        fallback_actions: List[str] = []
        try:
            with model_storage.read_from(resource) as directory:
                data = json.loads((directory / PERSISTED_FILE).read_text("utf-8"))
            declarations = parse_declarations(data["declarations"], None, None)
            if data.get("tuning"):
                tuning = parse_tuning(data["tuning"], "persisted in the model")
            # Absent from models trained before it was learned: none then.
            fallback_actions = [str(a) for a in data.get("bot_fallback_actions") or []]
        except (ValueError, KeyError, OSError) as error:
            # A model without the file still works: only the domain's per-intent
            # declarations are missing. Say so instead of failing the server.
            raise_warning(
                f"HandoverPolicy: could not read its persisted declarations "
                f"({error}); regulated topics and per-intent thresholds from "
                f"domain.yml are not active. Retrain the model to fix this.",
                docs=DOCS_URL,
            )
        return cls(
            config,
            model_storage,
            resource,
            execution_context,
            declarations=declarations,
            tuning=_current_tuning(config.get("tuning_file"), tuning),
            bot_fallback_actions=fallback_actions,
        )

    # --- Prediction. -------------------------------------------------------------

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: Optional[Dict[str, Any]] = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        """Predicts a handover, an offer, silence, or abstains.

        Returns:
            A one-hot prediction with confidence 1.0, or all zeros to abstain.

        """
        latest_action = tracker.latest_action_name
        if latest_action in self._own_actions:
            # After a handover / offer / handback the bot waits for the user;
            # this also keeps RulePolicy's core fallback from firing.
            return self._confident(ACTION_LISTEN, domain)
        if latest_action != ACTION_LISTEN:
            return self._abstain(domain)

        view = view_from_rasa_tracker(
            tracker, max_turns=self.settings.lookback_turns + OFFER_LOOKBACK_TURNS
        )
        latest = view.latest_turn
        if latest is None or latest.intent in RASA_CONTROL_INTENTS:
            return self._abstain(domain)
        waiting = bool(tracker.get_slot(SLOT_HANDOVER_ACTIVE))
        if tracker.active_loop_name in FORMS:
            return self._in_alternative_form(view, tracker, domain, waiting)
        if self._asks_for_alternative(latest.intent, latest.confidence, domain):
            # A clear "call me back" / "leave a message", also while waiting
            # for an agent ("can someone call me back" asks for no person now):
            # the bot's rules run the form.
            return self._abstain(domain)

        if waiting:
            if (
                latest.intent == INTENT_HANDOVER_RESOLVED
                and ACTION_HANDBACK in domain.action_names_or_texts
            ):
                return self._confident(ACTION_HANDBACK, domain)
            # A human owns the conversation: the bot stays silent. The relay's
            # fast path (channels/fast_path.py) records such messages without
            # running the policies: an intent answered otherwise here belongs in
            # WAITING_CONTROL_INTENTS.
            return self._confident(ACTION_LISTEN, domain)

        decision = evaluate(view, self._settings_for(domain), self.thresholds)
        if decision is None or self._bot_asks_first(decision):
            return self._abstain(domain)
        return self._confident(
            decision.action, domain, self._decision_events(decision, tracker)
        )

    def _settings_for(self, domain: Domain) -> HandoverSettings:
        """The settings, with `bot_languages: auto` read from `domain`'s responses.

        Read once per domain object: a loaded model keeps its domain.
        """
        if self.settings.bot_languages is not None:
            return self.settings
        if self._resolved is None or self._resolved[0] is not domain:
            # Not at training: Rasa gives policies the domain without responses
            # then (`DomainForCoreTrainingProvider`), so it is read here.
            resolved = with_bot_languages(
                self.settings, response_texts(domain.responses)
            )
            self._resolved = (domain, resolved)
            logger.info(
                "HandoverPolicy: the bot speaks %s (bot_languages: auto, from "
                "the domain's responses).",
                ", ".join(resolved.known_bot_languages)
                or "no language it can tell: the other-language rule is off",
            )
        return self._resolved[1]

    def _bot_asks_first(self, decision: Decision) -> bool:
        """Whether the bot's own answer to `nlu_fallback` asks instead of ours.

        A bot whose rules or stories answer `nlu_fallback` (Rasa's
        `FallbackClassifier`) with its own action ("Sorry, could you rephrase
        that?", a safety question, `action_default_fallback`) keeps it: that
        answer is the one question before a handover, and the next unclear turn
        hands over (`low_confidence`, stage `still_unclear`).
        """
        return bool(
            self.bot_fallback_actions
            and decision.action == self.settings.clarify_action
            and decision.evidence.get("kind") == LOW_CONFIDENCE_NLU_FALLBACK
        )

    def _asks_for_alternative(
        self, intent: Optional[str], confidence: Optional[float], domain: Domain
    ) -> bool:
        """A clear "call me back" / "leave a message" the domain has forms for."""
        return (
            intent in ALTERNATIVE_INTENTS
            and (confidence or 0.0) >= self.settings.confidence_floor
            and not _forms_missing(domain)
        )

    def _in_alternative_form(
        self,
        view: ConversationView,
        tracker: DialogueStateTracker,
        domain: Domain,
        waiting: bool,
    ) -> PolicyPrediction:
        """The callback / message form runs; a handover still ends it.

        The answers (a phone number, a time) are no unclear turns, so only a
        decision to hand over counts: "I want to talk to a human" in the form
        hands over, or, for a customer already waiting for a person, ends the
        form and lets them wait (the waiting room answers).
        """
        decision = evaluate(view, self._settings_for(domain), self.thresholds)
        if decision is None or decision.action != self.settings.handover_action:
            return self._abstain(domain)
        if waiting:
            return self._confident(ACTION_LISTEN, domain, [ActiveLoop(None)])
        return self._confident(
            decision.action, domain, self._decision_events(decision, tracker)
        )

    def _decision_events(
        self, decision: Decision, tracker: DialogueStateTracker
    ) -> List[Event]:
        events: List[Event] = [
            SlotSet(SLOT_HANDOVER_REASON, decision.reason),
            SlotSet(SLOT_HANDOVER_EVIDENCE, decision.evidence),
            SlotSet(SLOT_HANDOVER_TURN, decision.turn),
        ]
        if decision.action == self.settings.offer_action:
            events.append(SlotSet(SLOT_HANDOVER_OFFERED, True))
        elif decision.action == self.settings.clarify_action:
            pass  # only a question: a form the bot was filling goes on after it
        elif tracker.active_loop_name:
            # A human takes over: the form the bot was filling is abandoned.
            events.append(ActiveLoop(None))
        return events

    def _confident(
        self,
        action: str,
        domain: Domain,
        optional_events: Optional[List[Event]] = None,
    ) -> PolicyPrediction:
        probabilities = self._default_predictions(domain)
        probabilities[domain.index_for_action(action)] = 1.0
        # Rasa's ensemble lets predictions that ignore user input (a form's happy
        # path) and end-to-end predictions outrank everything else, whatever
        # their confidence. A handover must outrank them too, so it is marked as
        # such; ties at 1.0 are then broken by our higher priority.
        return self._prediction(
            probabilities,
            optional_events=optional_events,
            is_no_user_prediction=True,
        )

    def _abstain(self, domain: Domain) -> PolicyPrediction:
        return self._prediction(self._default_predictions(domain))


def _forms_missing(domain: Domain) -> bool:
    """Whether the alternatives' forms are unavailable (not in the domain)."""
    return not all(form in domain.form_names for form in FORMS)


def _current_tuning(path: Any, persisted: Optional[TuningFile]) -> Optional[TuningFile]:
    """The tuning file as it is now, else the copy persisted at training time."""
    if not isinstance(path, str) or not path:
        return persisted
    try:
        tuning = load_tuning(path)
    except HandoverConfigError as error:
        if persisted is None:
            raise_warning(
                f"HandoverPolicy: {error} The per-intent floors of the tuning "
                f"file are not active.",
                docs=DOCS_URL,
            )
        else:
            logger.info(
                "HandoverPolicy: using the tuning file persisted at training time "
                "(%s).",
                error,
            )
        return persisted
    logger.info(
        "HandoverPolicy: per-intent thresholds of %d intents from %s.",
        len(tuning.intents),
        path,
    )
    return tuning


def bot_fallback_actions(
    training_trackers: Sequence[DialogueStateTracker], own_actions: Collection[str]
) -> Tuple[str, ...]:
    """The actions the bot's rules and stories run right after `nlu_fallback`.

    The plugin's own actions do not count: a rule `nlu_fallback` ->
    `action_handover_clarify` asks what the plugin would ask anyway.
    """
    found: Set[str] = set()
    for tracker in training_trackers:
        after_fallback = False
        for event in tracker.events:
            if isinstance(event, UserUttered):
                after_fallback = event.intent_name == INTENT_NLU_FALLBACK
            elif isinstance(event, ActionExecuted) and after_fallback:
                name = event.action_name
                if name and name != ACTION_LISTEN:
                    if name not in own_actions:
                        found.add(name)
                    after_fallback = False
    return tuple(sorted(found))
