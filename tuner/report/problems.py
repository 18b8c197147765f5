"""Parts of a report that could not be built: each is left out with its reason, never the whole.

A study that ran must leave its report. Every part of one (a table, an
optimizer's importances, a plot, a file, a section of the page) is built
through :func:`guarded`: when building it raises, the part gets a stand-in
(an empty table, no plot, a one-line reason on the page), the failure is
recorded as a :class:`ReportProblem` and logged, and the rest is built as
usual. Invalid arguments (a confidence outside (0, 1), a study with several
objectives) are checked before any part is built, and still raise.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from ..study.storage import mask_url

__all__ = ["ReportProblem", "find_problem", "guarded"]

T = TypeVar("T")
_LOG = logging.getLogger(__name__)
#: Longest error message kept, in characters: a reason is one line on the page.
MAX_MESSAGE = 300


@dataclass(frozen=True)
class ReportProblem:
    """A part of a report that could not be built.

    Attributes
    ----------
    part : str
        What is missing: a table (``"summary"``), an optimizer's importances
        (``"importances of adam"``), a plot (``"history plot"``), a file
        (``"summary.md"``) or a section of the page (``"best trial section"``).
    error : str
        Why: the exception's type and message, on one line, passwords masked.
    """

    part: str
    error: str

    def __str__(self) -> str:
        return f"{self.part}: {self.error}"


def guarded(problems: list[ReportProblem], part: str, build: Callable[[], T], fallback: T) -> T:
    """``build()``; when it raises, ``fallback``, with the failure added to ``problems``.

    Parameters
    ----------
    problems : list of ReportProblem
        Where the failure is recorded (it is also logged as a warning).
    part : str
        The name of what ``build`` makes (see :attr:`ReportProblem.part`).
    build : callable
        Makes the part.
    fallback
        What stands in for the part when ``build`` raises.

    Returns
    -------
    The part, or ``fallback``.
    """
    try:
        return build()
    except Exception as exc:  # any failure of one part: the report goes on without it
        problem = ReportProblem(part, _describe(exc))
        problems.append(problem)
        _LOG.warning("%s left out of the report: %s", part, problem.error)
        return fallback


def find_problem(problems: Iterable[ReportProblem], *parts: str) -> ReportProblem | None:
    """The first problem of any of ``parts``; None when they were all built."""
    return next((p for p in problems if p.part in parts), None)


def _describe(exc: BaseException) -> str:
    """``"Type: message"`` on one line, passwords masked, cut to :data:`MAX_MESSAGE`."""
    message = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    text = mask_url(f"{type(exc).__name__}: {message}" if message else type(exc).__name__)
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"
