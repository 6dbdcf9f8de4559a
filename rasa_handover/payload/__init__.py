"""The context payload: everything the bot learned, for the agent who takes over.

The cardinal rule of rasa-handover is that the customer never re-explains. This
package turns a conversation (Rasa's serialised events, as rasa_sdk's
`tracker.events` gives them, and the current slot values) into one versioned JSON
document with the transcript, the intent history, the entities, the slots, the
sentiment, the trigger and its evidence, the customer's language, and a summary.
`docs/payload.md` describes every field; `docs/payload.schema.json` is its JSON
Schema (the canonical copy ships in the package, see `validate_payload`).

Before the payload is returned:

* PII is masked (`redaction`), and the summariser only ever sees redacted facts,
  so nothing that redaction removes is sent to an LLM either;
* it is bounded to `PayloadConfig.max_bytes` (`payload.bound`).

Where to look:

- `config`: `PayloadConfig`, its defaults and validation;
- `build`: `build_payload` / `build_payload_async`;
- `sections`: each section, shaped from `conversation.read_transcript`;
- `language`: the customer's language (slot, metadata, detection);
- `bound`: the size bound;
- `schema`: the JSON Schema and `validate_payload`.

The package imports nothing from Rasa or rasa_sdk, only plain event and slot
dictionaries. Building a payload is synchronous and, on its first call, loads
the language models (about a second); from async code (an action's `run`), use
`build_payload_async`, and call `preload_payload_builder` at start-up (it
loads spaCy, the signals' models and the language models).
"""

from rasa_handover.payload.bound import payload_size
from rasa_handover.payload.build import (
    build_payload,
    build_payload_async,
    preload_payload_builder,
)
from rasa_handover.payload.config import (
    DEFAULT_LANGUAGES,
    DEFAULT_MAX_BYTES,
    TRANSCRIPT_HEAD,
    TRANSCRIPT_TAIL,
    PayloadConfig,
)
from rasa_handover.payload.language import (
    LanguageGuess,
    detect_language,
    preload_language_detector,
)
from rasa_handover.payload.schema import (
    PAYLOAD_VERSION,
    SCHEMA_FILE,
    InvalidPayloadError,
    load_schema,
    validate_payload,
)

__all__ = [
    "DEFAULT_LANGUAGES",
    "DEFAULT_MAX_BYTES",
    "PAYLOAD_VERSION",
    "SCHEMA_FILE",
    "TRANSCRIPT_HEAD",
    "TRANSCRIPT_TAIL",
    "InvalidPayloadError",
    "LanguageGuess",
    "PayloadConfig",
    "build_payload",
    "build_payload_async",
    "detect_language",
    "load_schema",
    "payload_size",
    "preload_language_detector",
    "preload_payload_builder",
    "validate_payload",
]
