"""TOML files read as tables whose errors name the file and the dotted key.

Study files (:mod:`tuner.studyfile`) and suite files (:mod:`tuner.suite`) read
their values through :class:`TomlTable`: a wrong type, a value out of bounds or
an unknown key raises :class:`tuner.errors.StudyFileError` with a one-line
message naming the file, the key and the reason.
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .errors import StudyFileError, did_you_mean

__all__ = ["MAX_FILE_BYTES", "TomlTable", "read_toml", "toml_type"]

#: Largest file read: a study or suite file is a page of TOML, not data.
MAX_FILE_BYTES = 1 << 20
_MISSING = object()
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_KINDS: dict[str, Callable[[Any], bool]] = {
    "an integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "a number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "a string": lambda v: isinstance(v, str),
    "a boolean": lambda v: isinstance(v, bool),
    "a table": lambda v: isinstance(v, dict),
    "an array": lambda v: isinstance(v, list),
}
_TOML_TYPES = {bool: "boolean", int: "integer", float: "float", str: "string", dict: "table"}
#: Bounds of the values that only the file reader knows (the others' owners check theirs).
_BOUNDS: dict[str, Callable[[Any], bool]] = {
    "> 0": lambda v: v > 0,
    ">= 0": lambda v: v >= 0,
    ">= 1": lambda v: v >= 1,
    ">= 1, or -1 (all cores)": lambda v: v >= 1 or v == -1,
    ">= 2": lambda v: v >= 2,
    "< 2**32": lambda v: v < 2**32,  # numpy's limit of a seed, which the samplers use
    "in (0, 1)": lambda v: 0 < v < 1,
    "in [0, 1)": lambda v: 0 <= v < 1,
}


def toml_type(value: Any) -> str:
    """The TOML name of ``value``'s type, for messages."""
    return _TOML_TYPES.get(type(value), "array" if isinstance(value, list) else "date/time")


def _join(prefix: str, *keys: str) -> str:
    """Dotted key as TOML spells it: keys that are not bare are quoted."""
    parts = [prefix] if prefix else []
    return ".".join(parts + [k if _BARE_KEY.match(k) else json.dumps(k) for k in keys])


class TomlTable:
    """One TOML table and its dotted name: typed reads whose errors name the key."""

    def __init__(self, path: Path, values: Any, name: str):
        if not isinstance(values, dict):
            raise StudyFileError(path, name, f"expected a table, got {toml_type(values)}")
        self.path, self.values, self.name = path, values, name

    def error(self, *keys: str, reason: str) -> StudyFileError:
        return StudyFileError(self.path, _join(self.name, *keys), reason)

    @contextmanager
    def blame(self, *keys: str, hint: str = "") -> Iterator[None]:
        """Report the ``ValueError`` or ``TypeError`` of an owner's check (a class, a
        registry, Optuna) as an error at ``keys``: the owner says what is wrong, the
        file says where."""
        try:
            yield
        except (ValueError, TypeError, ImportError) as exc:
            reason = str(exc).removeprefix(f"{keys[-1]!r}: ") if keys else str(exc)
            raise self.error(*keys, reason=f"{reason}{hint}") from None

    def only(self, allowed: Iterable[str]) -> TomlTable:
        """Reject keys outside ``allowed``; call before reading, so that a misspelt
        key is reported as unknown rather than as missing."""
        allowed = sorted(allowed)
        for key in self.values:
            if key not in allowed:
                known = f" (known keys: {', '.join(allowed)})" if allowed else ""
                raise self.error(key, reason=f"unknown key{did_you_mean(key, allowed)}{known}")
        return self

    def get(self, key: str, *kinds: str, default: Any = _MISSING, bounds: str = "") -> Any:
        """The value of ``key`` if it is one of ``kinds`` (and within ``bounds``, a key
        of :data:`_BOUNDS`); ``default`` when absent."""
        if key not in self.values:
            if default is _MISSING:
                raise self.error(key, reason="required key is missing")
            return default
        value = self.values[key]
        if not any(_KINDS[kind](value) for kind in kinds):
            got = f"{toml_type(value)} {value!r}"
            raise self.error(key, reason=f"expected {' or '.join(kinds)}, got {got}")
        if isinstance(value, float) and not math.isfinite(value):
            raise self.error(key, reason=f"must be finite, got {value!r}")
        return self.bound(key, value, bounds) if bounds else value

    def bound(self, key: str, value: Any, bounds: str) -> Any:
        if not _BOUNDS[bounds](value):
            raise self.error(key, reason=f"must be {bounds}, got {value!r}")
        return value

    def table(self, key: str, allowed: Iterable[str] | None = None) -> TomlTable:
        """The sub-table ``key`` (empty when absent), restricted to ``allowed`` keys."""
        sub = TomlTable(self.path, self.values.get(key, {}), _join(self.name, key))
        return sub if allowed is None else sub.only(allowed)

    def choose(self, key: str, choices: Iterable[str], what: str, default: Any = _MISSING):
        """The string at ``key`` if it is one of ``choices``."""
        value, choices = self.get(key, "a string", default=default), list(choices)
        if value is not None and value not in choices:
            hint = did_you_mean(value, choices)
            raise self.error(
                key, reason=f"unknown {what} {value!r}{hint}; available: {', '.join(choices)}"
            )
        return value



def read_toml(path: Path) -> dict[str, Any]:
    """The TOML file ``path`` as a dict; :class:`StudyFileError` naming the file (and the
    line and column of a syntax error) for a missing, oversized or unreadable file."""
    try:
        if path.exists() and not path.is_file() and not path.is_dir():
            raise StudyFileError(path, "", "not a regular file (a device or a pipe?)")
        with path.open("rb") as f:
            text = f.read(MAX_FILE_BYTES + 1)
        if len(text) > MAX_FILE_BYTES:
            raise StudyFileError(path, "", f"larger than {MAX_FILE_BYTES} bytes: not a study file")
        return tomllib.loads(text.decode("utf-8"))
    except FileNotFoundError:
        raise StudyFileError(path, "", "file not found") from None
    except IsADirectoryError:
        raise StudyFileError(path, "", "is a directory, not a study file") from None
    except OSError as exc:
        raise StudyFileError(path, "", f"cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise StudyFileError(path, "", "not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise StudyFileError(path, "", f"invalid TOML: {exc}") from None
