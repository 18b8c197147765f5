"""The commands that manage studies: ``check``, ``delete``, ``report``, ``list`` and
``optimizers``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import optuna

import optim

from ..study.locks import study_lock
from ..study.orphans import fail_orphans
from ..study.outcomes import score_of, tally
from ..study.storage import (
    StudyNotFoundError,
    default_storage,
    load_existing_study,
    mask_url,
    open_existing_storage,
    open_storage,
)
from ..studyfile import load_study_file
from .common import UsageError, _best, _one_line, _score, _storage_arg, _study_name_arg


def _cmd_check(args: argparse.Namespace) -> int:
    """Read a study file, its data and its space as ``tuner run`` would, and run nothing."""
    from ..runner import build_study

    spec = load_study_file(args.study_file)
    space = build_study(spec).objective.space  # loads and checks the data, the estimator
    print(f"{args.study_file}: study {spec.name!r} is valid: {spec.n_trials} trials over "
          f"{', '.join(space.optimizers)} ({spec.allocation} allocation), estimator "
          f"{spec.estimator}")  # fmt: skip
    return 0


def _cmd_delete(args: argparse.Namespace) -> int:
    """Remove a study and its trials from its storage (asks first unless --yes)."""
    storage = _storage_arg(args, None) or default_storage(_study_name_arg(args.study), args.out)
    study = load_existing_study(storage, args.study)
    ended = tally(study.get_trials(deepcopy=False)).counted
    where = mask_url(storage)
    if not args.yes:
        try:
            answer = input(f"delete study {args.study!r} ({ended} trials) from {where}? [y/N] ")
        except EOFError:  # no one to answer: no
            answer = ""
            print()
        if answer.strip().lower() not in ("y", "yes"):
            print("nothing deleted")
            return 0
    with study_lock(storage, args.study):  # no trial starts meanwhile
        running = tally(study.get_trials(deepcopy=False)).running
        if running and fail_orphans(study, study.get_trials(deepcopy=False)) < running:
            raise UsageError(
                f"study {args.study!r} has trials running (a run or a worker is going): "
                "stop it first, then delete"
            )
        optuna.delete_study(study_name=args.study, storage=open_storage(storage))
    folder = Path(args.out) / args.study
    rest = f"; its reports stay in {folder}" if folder.is_dir() else ""
    print(f"deleted study {args.study!r} from {where}{rest}")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from ..report import Report, check_formats, write_report

    try:
        formats = check_formats(args.format)
    except ValueError as exc:
        raise UsageError(f"--format: {exc}") from None
    storage = _storage_arg(args, None)
    if storage is None:  # the name makes the default storage's path: it must be safe
        storage = default_storage(_study_name_arg(args.study), args.out)
    folder = write_report(Report.from_storage(storage, args.study), args.out, formats)
    print(f"report: {folder / 'index.html' if 'html' in formats else folder}")
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    storage = _storage_arg(args, None)
    storages = (
        [storage] if storage else sorted(str(p) for p in Path(args.out).glob("*/journal.log"))
    )
    rows = []
    for url in storages:
        try:
            opened = open_existing_storage(url)
        except StudyNotFoundError as exc:
            if storage:  # the one asked for
                raise
            print(f"tuner: skipped: {_one_line(exc)}", file=sys.stderr)
            continue
        for name in optuna.get_all_study_names(opened):
            study = optuna.load_study(study_name=name, storage=opened)
            # Trials that ended on their own, of the budget (Optuna's count adds queued
            # and interrupted trials).
            ended = tally(study.get_trials(deepcopy=False)).counted
            budget = study.user_attrs.get("n_trials")
            found = _best(study)
            best = "-" if found is None else _score(score_of(found))
            trials = f"{ended}/{budget}" if isinstance(budget, int) else str(ended)
            searched = isinstance(budget, int) and ended >= budget
            rows.append((name, trials, best, _final_fits_done(study, searched), mask_url(url)))
    if not rows:
        print("no studies")
        return 0
    header = ("study", "ended/budget", "best", "final fits", "storage")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
    return 0


def _final_fits_done(study: optuna.Study, searched: bool) -> str:
    """``done/expected`` of the final fits of a study whose search has ended, else ``-``.

    The seeds and the test split come from the study file's recorded spec; a
    study without one (another program's), or without a test split, has none.
    """
    recorded = study.user_attrs.get("spec")
    if not searched or not isinstance(recorded, dict):
        return "-"
    from ..studyfile import StudySpec

    try:
        spec = StudySpec.from_attrs(recorded)
    except ValueError:
        return "-"
    if spec.test_fraction == 0:
        return "-"
    from ..final import best_per_optimizer, missing_fits  # scikit-learn: only when needed

    expected = len(best_per_optimizer(study)) * spec.final_seeds
    return f"{expected - len(missing_fits(study, spec.final_seeds))}/{expected}"


def _describe(kind: str, names: list[str], lookup) -> str:
    lines = [f"{kind}:"]
    for name in names:
        cls = lookup(name)
        space = ", ".join(
            f"{h.name} {list(h.choices)}"
            if h.kind == "categorical"
            else f"{h.name} [{h.low:g}, {h.high:g}]{' log' if h.log else ''}"
            for h in cls.search_space
        )
        lines.append(f"  {name:<16} {cls.__name__:<20} {space or '-'}")
    return "\n".join(lines)


def _cmd_optimizers(args: argparse.Namespace) -> int:
    print(_describe("optimizers", optim.available_optimizers(), optim.optimizer_class))
    print(_describe("schedules", optim.available_schedules(), optim.schedule_class))
    return 0
