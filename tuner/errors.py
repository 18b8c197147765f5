"""How bad input is reported: :class:`StudyFileError` and name suggestions.

Shared by :mod:`tuner.studyfile` (the file's keys), :mod:`tuner.data` (its
``[data]`` table) and :mod:`tuner.space` (parameter names); it imports nothing
of theirs, so that none of them imports another for an error.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path

__all__ = ["StudyFileError", "did_you_mean"]


class StudyFileError(ValueError):
    """A study file that cannot be read or is invalid.

    Parameters
    ----------
    path : str or Path
        The study file.
    key : str
        Dotted key of the offending value (``"space.params.lr.low"``); empty
        when the file as a whole is at fault (missing, not TOML).
    reason : str
        What is wrong and what was expected.
    """

    def __init__(self, path: str | Path, key: str, reason: str):
        self.path, self.key, self.reason = str(path), key, reason
        where = f"{self.path}: {key}" if key else self.path
        super().__init__(f"{where}: {reason}")

    def __reduce__(self):  # keep the three fields when sent to or from a worker process
        return type(self), (self.path, self.key, self.reason)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` when a choice is close to ``word``, else ``""``:
    for the end of a message."""
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""
