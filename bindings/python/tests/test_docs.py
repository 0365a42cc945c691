"""The examples in the package's docstrings run as written."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize("module", ["pluriverse._kinds", "pluriverse._version_vector", "pluriverse.vv", "pluriverse._replica", "pluriverse._sync"])
def test_docstring_examples(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_public_api_is_documented() -> None:
    import pluriverse

    for name in pluriverse.__all__:
        obj = getattr(pluriverse, name)
        if callable(obj) and isinstance(obj, type):
            assert obj.__doc__, name
            for attr, member in vars(obj).items():
                if callable(member) and not attr.startswith("_"):
                    assert member.__doc__, f"{name}.{attr}"
