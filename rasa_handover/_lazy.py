"""Lazy public attributes for packages whose heavy parts load on first use."""

from importlib import import_module
from typing import Any, Callable, Mapping, MutableMapping, Tuple


def lazy_getattr(
    package: str,
    namespace: MutableMapping[str, Any],
    lazy: Mapping[str, Tuple[str, str]],
) -> Callable[[str], Any]:
    """Returns a module `__getattr__` that imports `lazy` names on first access.

    Args:
        package: The package's name, for the error message.
        namespace: The package's `globals()`; a loaded name is cached there, so
            the next access does not come back here.
        lazy: Public name -> (module, attribute).

    """

    def load(name: str) -> Any:
        if name in lazy:
            module, attribute = lazy[name]
            value = getattr(import_module(module), attribute)
            namespace[name] = value
            return value
        raise AttributeError(f"module '{package}' has no attribute '{name}'")

    return load


__all__ = ["lazy_getattr"]
