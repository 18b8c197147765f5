"""What the commands share: the usage error, argument types, ``--storage``, scores.

The ``argparse`` types refuse a bad value with the parser's own message; the
``*_arg`` helpers check inside a command and raise :class:`UsageError`.
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable
from pathlib import Path

import optuna

from ..study.outcomes import best_scored, directions_of
from ..study.storage import check_storage_url, check_study_name, mask_url


class UsageError(Exception):
    """A command given what it cannot work with (exit code 2)."""


def _storage_arg(args: argparse.Namespace, fallback: str | None) -> str | None:
    """--storage, else $TUNER_STORAGE (unless empty), else ``fallback``; checked."""
    storage = args.storage if args.storage is not None else os.environ.get("TUNER_STORAGE")
    if not storage and args.storage is None:
        return fallback
    try:
        args.storage_url = check_storage_url(storage)  # named if the storage fails
    except ValueError as exc:
        given = "--storage" if args.storage is not None else "$TUNER_STORAGE"
        raise UsageError(f"{given}: {exc}") from None
    return storage


def _best(study: optuna.Study) -> optuna.trial.FrozenTrial | None:
    """The trial of the best score (the first objective of a study of several)."""
    return best_scored(study.get_trials(deepcopy=False), directions_of(study)[0])


def _score(value: float) -> str:
    """A score to four decimals, or four significant digits when that would mislead
    (``1e+280`` rather than 281 digits, ``3.2e-07`` rather than ``0.0000``)."""
    return f"{value:.4f}" if value == 0 or 1e-3 <= abs(value) < 1e6 else f"{value:.4g}"


def _one_line(exc: BaseException) -> str:
    """The message of ``exc`` on one line, passwords masked (no library footnotes), cut
    at :data:`_LONGEST` characters (a worker process's error may carry its traceback)."""
    lines = (line.strip() for line in str(exc).splitlines())
    text = mask_url(" ".join(line for line in lines if line and not line.startswith("(Background")))
    return text if len(text) <= _LONGEST else text[: _LONGEST - 3] + "..."


#: The longest error message printed, in characters.
_LONGEST = 400


def _count(minus_one: bool = False) -> Callable[[str], int]:
    """An argparse type: an integer >= 1 (or -1, one per core, when ``minus_one``)."""
    wanted = "an integer >= 1" + (" or -1 (one per core)" if minus_one else "")

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = 0
        if value < 1 and not (minus_one and value == -1):
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}")
        return value

    return parse


def _study_name(text: str) -> str:
    """An argparse type: a study name that is safe as a folder name."""
    try:
        return check_study_name(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _study_name_arg(text: str) -> str:
    """:func:`check_study_name` inside a command: a usage error."""
    try:
        return check_study_name(text)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _seconds(text: str) -> float:
    """An argparse type: a positive number of seconds."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not value > 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"expected positive seconds, got {text!r}")
    return value


def _folder(text: str) -> str:
    """An argparse type: a folder that is there or can be made (not a file, nor empty)."""
    path = Path(text)
    if not text.strip() or (path.exists() and not path.is_dir()):
        raise argparse.ArgumentTypeError(f"expected a folder, got {text!r}")
    return text
