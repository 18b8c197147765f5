"""Python source of values and calls, for the code a report shows (its best trial's)."""

from __future__ import annotations

import inspect
import keyword
import math
from collections.abc import Mapping
from typing import Any

import optim

__all__ = ["WIDTH", "argument_lines", "python_source"]

#: Longest line of the generated code before a call is wrapped.
WIDTH = 88


def _keyword(name: str) -> str:
    if not name.isidentifier() or keyword.iskeyword(name):
        raise ValueError(f"{name!r} is not a Python argument name")
    return name


def argument_lines(kwargs: Mapping[str, Any], imports: set[str], indent: int) -> list[str]:
    """``name=value,`` lines of a call at ``indent``; adds the modules they need to ``imports``.

    Raises ``ValueError`` for a name or value that cannot be written as Python.
    """
    return [_argument(k, v, imports, indent) for k, v in kwargs.items()]


def _argument(name: str, value: Any, imports: set[str], indent: int) -> str:
    """``name=value,`` at ``indent``; a call too long for a line gets one argument a line."""
    pad = " " * indent
    line = f"{pad}{_keyword(name)}={python_source(value, imports)},"
    if len(line) <= WIDTH or not isinstance(value, optim.Hyperparameterized):
        return line
    head, args = _call(value, imports)
    inner = "\n".join(_argument(k, v, imports, indent + 4) for k, v in args.items())
    return f"{pad}{name}={head}(\n{inner}\n{pad}),"


def _call(value: optim.Hyperparameterized, imports: set[str]) -> tuple[str, dict[str, Any]]:
    """The qualified class name of ``value`` and its arguments that differ from the defaults."""
    cls = type(value)
    module = "optim" if getattr(optim, cls.__name__, None) is cls else cls.__module__
    imports.add(module)
    defaults = {p.name: p.default for p in inspect.signature(cls).parameters.values()}
    args = {
        k: v for k, v in value.get_params(deep=False).items()
        if k not in defaults or type(v) is not type(defaults[k]) or v != defaults[k]
    }  # fmt: skip
    return f"{module}.{cls.__name__}", args


def python_source(value: Any, imports: set[str]) -> str:
    """Python source for ``value``; raises ValueError for what repr cannot round-trip.

    Adds the modules of the classes it names (``optim``, a plug-in's) to ``imports``.
    """
    if isinstance(value, optim.Hyperparameterized):
        head, args = _call(value, imports)
        inner = ", ".join(f"{_keyword(k)}={python_source(v, imports)}" for k, v in args.items())
        return f"{head}({inner})"
    if isinstance(value, list | tuple):
        items = [python_source(v, imports) for v in value]
        if isinstance(value, list):
            return f"[{', '.join(items)}]"
        return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{value!r} has no Python literal")
    if isinstance(value, str) and value.isprintable() and not set(value) & {'"', "\\"}:
        return f'"{value}"'  # the quotes a formatter would write
    if value is None or isinstance(value, bool | int | float | str):
        return repr(value)
    raise ValueError(f"cannot write {type(value).__name__} {value!r} as Python")
