"""Checks of a value in a study file by its owner: the form of a value, and each value
the search may give a parameter tried on the class or estimator it belongs to."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..space import Dimension
from ..tomlfile import TomlTable, toml_type


def _check_form(table: TomlTable, key: str) -> None:
    """A fixed value, a list of choices, or a range whose ends are numbers: what TOML
    allows beyond that (tables, dates) is no value of a parameter."""
    value = table.values[key]
    if isinstance(value, dict):
        rng = table.table(key, ("low", "high", "log"))
        for end in ("low", "high"):
            rng.get(end, "a number", default=None)
        rng.get("log", "a boolean", default=False)
    elif any(toml_type(v) in ("table", "date/time") for v in _as_list(value)):
        raise table.error(key, reason=f"expected values, arrays or a range, got {value!r}")


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _values(dim: Dimension) -> list[tuple[tuple[str, ...], Any]]:
    """``(end key, value)`` of each value the search may give ``dim``, as far as a check
    can tell: a fixed value, each choice, or each end of a range."""
    spec = dim.spec
    if spec is None:
        return [((), dim.value)]
    if spec.kind == "categorical":
        return [((), choice) for choice in spec.choices]
    return [(("low",), spec.low), (("high",), spec.high)]


def _try_values(table: TomlTable, key: str, dim: Dimension, make: Callable[[Any], Any]) -> None:
    """Call ``make`` (a class or an estimator's check) on each value of ``dim``, so
    that the owner's own check speaks now: a value it refuses would fail every trial."""
    value = table.values[key]
    for end, candidate in _values(dim):
        try:
            make(candidate)
        except (TypeError, ValueError) as exc:
            hint = ""
            if isinstance(value, list) and _accepts(make, value):
                hint = "; a list gives choices: write [[...]] to fix a list value"
            raise table.error(key, *end, reason=f"{exc}{hint}") from None


def _accepts(make: Callable[[Any], Any], value: Any) -> bool:
    try:
        make(value)
    except (TypeError, ValueError):
        return False
    return True
