"""Checking a configuration section's keys, with the error message every section uses.

A leaf module: it imports nothing from the package, so that any configuration
reader (payload, redaction, summariser) can use it.
"""

from typing import Any, Collection, Mapping


def checked_section(raw: Any, known: Collection[str], where: str) -> Mapping[str, Any]:
    """Returns `raw` when it is a mapping of `known` keys.

    Args:
        raw: The section as read from YAML.
        known: The valid keys.
        where: How the section is named in the message, e.g. "payload config".

    Raises:
        ValueError: naming what is wrong and the valid keys.

    """
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where}: expected a mapping, got {raw!r}.")
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise ValueError(
            f"{where}: unknown key(s) {unknown}; valid keys are {sorted(known)}."
        )
    return raw
