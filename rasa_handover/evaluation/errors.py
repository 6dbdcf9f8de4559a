"""The two ways `rasa-handover evaluate` can fail before it has figures."""


class ConversationFileError(ValueError):
    """The labelled conversations file cannot be used; the message says why."""


class EvaluationError(RuntimeError):
    """The evaluation cannot run (bad model, project or training failure)."""
