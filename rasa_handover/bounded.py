"""A mapping that forgets its least recently used entries beyond a size.

For per-conversation state kept in memory (the channel's response templates and
the agent last announced): a conversation that never ends cleanly (abandoned,
never resolved) must not stay in memory forever.

This module is pure: it imports nothing from Rasa.
"""

from collections import OrderedDict
from typing import Generic, Optional, TypeVar, Union, overload

Key = TypeVar("Key")
Value = TypeVar("Value")
Default = TypeVar("Default")


class LruDict(Generic[Key, Value]):
    """`get` / `[]=` / `pop` of a dict, at most `max_size` entries."""

    def __init__(self, max_size: int) -> None:
        """Keeps at most `max_size` entries (the least recently used go first)."""
        if max_size < 1:
            raise ValueError(f"max_size must be at least 1, got {max_size}.")
        self.max_size = max_size
        self._items: OrderedDict[Key, Value] = OrderedDict()

    def __len__(self) -> int:
        """How many entries are kept."""
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        """Whether `key` is kept."""
        return key in self._items

    def __setitem__(self, key: Key, value: Value) -> None:
        """Sets `key`, the most recently used now; drops the oldest beyond size."""
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.max_size:
            self._items.popitem(last=False)

    @overload
    def get(self, key: Key) -> Optional[Value]: ...

    @overload
    def get(self, key: Key, default: Default) -> Union[Value, Default]: ...

    def get(self, key: Key, default: object = None) -> object:
        """The value of `key` (now the most recently used), or `default`."""
        if key not in self._items:
            return default
        self._items.move_to_end(key)
        return self._items[key]

    def pop(self, key: Key, default: object = None) -> object:
        """Removes `key`; returns its value or `default`."""
        return self._items.pop(key, default)
