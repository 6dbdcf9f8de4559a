"""`rasa_handover.__all__` and the lazily exported names agree (as httpx checks)."""

import importlib

import pytest

import rasa_handover


def test_all_is_sorted_and_unique() -> None:
    names = list(rasa_handover.__all__)
    assert len(names) == len(set(names)), "duplicate names in __all__"
    # Constants first (upper case), then the rest, each group alphabetical.
    assert names == sorted(names, key=lambda name: (not name.isupper(), name))


@pytest.mark.parametrize("name", rasa_handover.__all__)
def test_every_public_name_resolves(name: str) -> None:
    assert getattr(rasa_handover, name) is not None


def test_every_lazy_name_is_public_and_points_to_its_module() -> None:
    lazy = rasa_handover._LAZY
    assert set(lazy) <= set(rasa_handover.__all__)
    for name, (module, attribute) in lazy.items():
        expected = getattr(importlib.import_module(module), attribute)
        assert getattr(rasa_handover, name) is expected, name


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'HandoverPolcy'"):
        rasa_handover.HandoverPolcy  # noqa: B018
