"""The payload's JSON Schema (`docs/payload.schema.json`) and its version."""

import copy
import functools
import json
from pathlib import Path
from typing import Any, Dict, Mapping

# The payload format's version. A consumer may rely on every field of its major
# version; a minor bump only adds fields.
PAYLOAD_VERSION = "1.1"
SCHEMA_FILE = Path(__file__).resolve().parent.parent / "data" / "payload.schema.json"


class InvalidPayloadError(ValueError):
    """A payload that does not match `docs/payload.schema.json`."""


@functools.lru_cache(maxsize=1)
def load_schema() -> Dict[str, Any]:
    """The payload's JSON Schema, as shipped in the package."""
    with SCHEMA_FILE.open(encoding="utf-8") as handle:
        schema: Dict[str, Any] = json.load(handle)
    return schema


def validate_payload(payload: Mapping[str, Any]) -> None:
    """Checks a payload against the JSON Schema.

    Args:
        payload: A payload (e.g. as received by the inbox).

    Raises:
        InvalidPayloadError: naming the first offending field and why.
        ImportError: if the `jsonschema` package is not installed.

    """
    import jsonschema

    validator_class = jsonschema.validators.validator_for(load_schema())
    validator = validator_class(load_schema())
    errors = sorted(validator.iter_errors(copy.deepcopy(dict(payload))), key=str)
    if errors:
        error = jsonschema.exceptions.best_match(errors)
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        raise InvalidPayloadError(f"payload field {where}: {error.message}") from error
