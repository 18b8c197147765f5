"""The ``tuner`` command line.

Exit codes: 0 success, 1 a run failed, 2 bad usage, a bad study file or a
study that is not in the storage, 130 interrupted (Ctrl-C; run the same
command again to resume). Errors are one line; set ``TUNER_DEBUG=1`` to see
the traceback of an unexpected one.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import signal
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import optuna

import optim

# Only what every command needs at the top: scikit-learn (through the objective)
# and matplotlib (through the report) take seconds to import, so the commands
# that use them import them, and ``tuner --help`` answers at once.
from .study.journal import check_journal
from .study.locks import study_lock
from .study.outcomes import best_scored, directions_of, score_of, tally
from .study.pool import BACKENDS, check_backend, start_workers, worker_count
from .study.run import StudyAborted, run_study
from .study.storage import (
    StudyNotFoundError,
    check_storage_url,
    check_study_name,
    default_storage,
    is_local_file,
    load_existing_study,
    mask_url,
    open_existing_storage,
    open_storage,
    transient_errors,
)
from .study.worker import fail_orphans, quiet_libraries
from .studyfile import StudyFileError, load_study_file, requested_workers

EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130


class UsageError(Exception):
    """A command given what it cannot work with (exit code 2)."""


def _version() -> str:
    try:
        return version("optim-tuner")
    except PackageNotFoundError:  # running from a source tree
        return "unknown"


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


@contextlib.contextmanager
def _workers_started(args: argparse.Namespace, n_jobs: int | None) -> Iterator[None]:
    """Start the worker processes now, so that they import while this one reads and loads.

    If reading the study file or loading its data fails, no run comes: the
    processes are ended then, rather than waited for at exit.
    """
    executor = None
    if args.backend == "loky" and n_jobs is not None:
        executor = start_workers(n_jobs, ["tuner.objective"])
    try:
        yield
    except BaseException:
        if executor is not None:
            executor.shutdown(wait=False, kill_workers=True)
        raise


def _check_backend(args: argparse.Namespace, storage: str) -> None:
    """Refuse ``--backend``/``--scheduler`` that cannot reach ``storage``, as a usage error."""
    try:
        check_backend(storage, args.backend, args.scheduler)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _cmd_run(args: argparse.Namespace) -> int:
    with _workers_started(args, requested_workers(args.study_file, args.n_jobs, args.n_trials)):
        from .report import Report
        from .runner import build_study, check_resumable, study_allocation

        spec = load_study_file(args.study_file)
        n_trials = args.n_trials or spec.n_trials
        n_jobs = args.n_jobs or spec.n_jobs
        storage = _storage_arg(args, spec.storage) or default_storage(spec.name, args.out)
        args.storage_url = storage  # named if the storage fails
        _check_backend(args, storage)
        if is_local_file(storage):  # before anything is said or started
            check_journal(Path(storage))
        parts = build_study(spec)
        try:
            existing = load_existing_study(storage, spec.name)
        except StudyNotFoundError:  # a new study starts from nothing
            existing = None
        if existing is not None:
            check_resumable(spec, parts.objective.space, existing)
            if _already_complete(existing, n_trials, spec.final_seeds, parts.refit.has_test):
                return 0
    _say_start(spec.name, n_trials, n_jobs, storage)
    study = run_study(
        parts.objective,
        study_name=spec.name,
        n_trials=n_trials,
        storage=storage,
        n_jobs=n_jobs,
        sampler=spec.sampler.as_dict(),
        pruner=spec.pruner.as_dict(),
        seed=spec.seed,
        timeout=args.timeout or spec.timeout,
        directory=args.out,
        progress=None if not args.no_progress else False,
        backend=args.backend,
        scheduler=args.scheduler,
        allocation=study_allocation(spec),
        baselines=parts.baselines,
        study_attrs={
            "study_file": str(Path(args.study_file).resolve()),
            "estimator": spec.estimator,
            "allocation": spec.allocation,
            "confidence": spec.confidence,
            "objectives": list(spec.objectives),
            "spec": spec.to_attrs(),
        },
    )
    counts = tally(study.get_trials(deepcopy=False))
    if counts.counted < n_trials:  # the final fits wait for the whole search
        why = (
            f"{counts.running} are still running in another process (a run or a worker of "
            "the same study), whose end writes the report again; or run"
            if counts.running
            else "the timeout came first: run"
        )
        print(f"tuner: {counts.counted} of the {n_trials} trials ended; {why} the same command "
              "again to finish", file=sys.stderr)  # fmt: skip
    else:
        _final_fits(study, parts.refit, spec.final_seeds, n_jobs)
    print(_outcomes(study))
    report = Report.from_study(study, space=parts.objective.space, spec=spec)
    folder = report.save(args.out)
    print(_save_best_model(study, parts.refit, folder))
    print(report.verdict.reason)
    print(f"report: {folder / 'index.html'}")
    return 0


def _already_complete(study: optuna.Study, n_trials: int, seeds: int, has_test: bool) -> bool:
    """Whether a run of ``n_trials`` has nothing to do (it says so); says so too when the
    run would lower the study's budget."""
    from .final import study_complete

    ended = tally(study.get_trials(deepcopy=False)).counted
    budget = study.user_attrs.get("n_trials")
    if study_complete(study, n_trials, seeds, has_test):
        print(f"study {study.study_name!r} is already complete: {ended} trials ended"
              f"{f' of its budget of {budget}' if isinstance(budget, int) else ''}; "
              f"--n-trials N (more than {ended}) to extend it", file=sys.stderr)  # fmt: skip
        return True
    if isinstance(budget, int) and n_trials < budget:
        print(f"tuner: lowering the budget of study {study.study_name!r} from {budget} to "
              f"{n_trials} trials", file=sys.stderr)  # fmt: skip
    return False


def _final_fits(study: optuna.Study, refit, seeds: int, n_jobs: int) -> None:
    """Refit each optimizer's best configuration with ``seeds`` seeds, scored on the test split."""
    from .final import missing_fits, run_final_fits

    if not refit.has_test:
        return
    todo = len(missing_fits(study, seeds))
    if todo:
        print(f"final fits: {todo} (each optimizer's best with {seeds} training seeds, "
              "scored on the held-out test split)", file=sys.stderr)  # fmt: skip
    run_final_fits(study, refit, seeds, n_jobs)


def _save_best_model(study: optuna.Study, refit, folder: Path) -> str:
    """Refit the best configuration on the training part and save it as ``best_model.joblib``;
    return a line saying so, with its score on the test split, or why there is none."""
    import joblib

    best = _best(study)
    if best is None:
        return "no trial completed: no best model to save"
    try:
        model = refit.fit(best.params)
    except ValueError as exc:  # the best configuration diverged on the whole training part
        return f"best: trial {best.number}; its refit on the training part failed: {_one_line(exc)}"
    folder.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, folder / "best_model.joblib")
    params = ", ".join(
        f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in best.params.items()
    )
    test = f"; test score {_score(refit.score(model))}" if refit.has_test else ""
    return (
        f"best: trial {best.number} ({params}), cross-validation score "
        f"{_score(score_of(best))}{test}; "
        f"saved to {folder / 'best_model.joblib'}"
    )


def _cmd_bench(args: argparse.Namespace) -> int:
    """Run a suite of problems (each a study) and write its page: see :mod:`tuner.suite`."""
    from .suite import load_suite_file, run_bench

    suite = load_suite_file(args.suite_file)
    storage = _storage_arg(args, suite.storage) or default_storage(suite.name, args.out)
    args.storage_url = storage  # named if the storage fails
    _check_backend(args, storage)
    return run_bench(suite, storage=storage, out=args.out, n_jobs=args.n_jobs,
                     backend=args.backend, scheduler=args.scheduler, timeout=args.timeout,
                     progress=not args.no_progress)  # fmt: skip


def _cmd_worker(args: argparse.Namespace) -> int:
    storage = _storage_arg(args, None)
    if storage is None:
        raise UsageError("tuner worker needs --storage URL (or TUNER_STORAGE)")
    _check_backend(args, storage)
    with _workers_started(args, args.n_jobs):
        from .runner import build_study, check_same_study, study_allocation

        study = load_existing_study(storage, args.study)
        study_file = args.study_file or study.user_attrs.get("study_file")
        if not study_file or not Path(study_file).exists():
            raise UsageError(
                f"study {args.study!r} was defined by {study_file!r}, which is not on this "
                "machine; pass --study-file"
            )
        spec = load_study_file(study_file)
        check_same_study(spec, study.user_attrs.get("spec"))
        objective = build_study(spec).objective
    attrs = study.user_attrs
    n_trials = args.n_trials or attrs.get("n_trials", spec.n_trials)
    _say_start(args.study, n_trials, args.n_jobs, storage)
    study = run_study(
        objective,
        study_name=args.study,
        n_trials=n_trials,
        storage=storage,
        n_jobs=args.n_jobs,
        sampler=attrs.get("sampler"),
        pruner=attrs.get("pruner"),
        seed=attrs.get("seed"),
        timeout=args.timeout,
        progress=None if not args.no_progress else False,
        backend=args.backend,
        scheduler=args.scheduler,
        allocation=study_allocation(spec),
    )
    print(_outcomes(study))
    print(f"report: tuner report {args.study} --storage {mask_url(storage)}")
    return 0


def _say_start(name: str, n_trials: int, n_jobs: int, storage: str) -> None:
    print(f"study {name!r}: {n_trials} trials, {worker_count(n_jobs)} worker(s), "
          f"storage {mask_url(storage)}", file=sys.stderr)  # fmt: skip


def _outcomes(study: optuna.Study) -> str:
    """The trials of ``study`` by outcome, and its best score: a run's last word."""
    counts = tally(study.get_trials(deepcopy=False))
    parts = [f"{counts.complete} complete", f"{counts.pruned} pruned",
             f"{counts.diverged} diverged", f"{counts.failed} failed"]  # fmt: skip
    if counts.interrupted:
        parts.append(f"{counts.interrupted} interrupted (run again)")
    best = _best(study)
    if best is None:
        return f"trials: {', '.join(parts)}; no trial completed"
    return f"trials: {', '.join(parts)}; best {_score(score_of(best))} (trial {best.number})"


def _best(study: optuna.Study) -> optuna.trial.FrozenTrial | None:
    """The trial of the best score (the first objective of a study of several)."""
    return best_scored(study.get_trials(deepcopy=False), directions_of(study)[0])


def _cmd_check(args: argparse.Namespace) -> int:
    """Read a study file, its data and its space as ``tuner run`` would, and run nothing."""
    from .runner import build_study

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
    from .report import Report, check_formats, write_report

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
    from .studyfile import StudySpec

    try:
        spec = StudySpec.from_attrs(recorded)
    except ValueError:
        return "-"
    if spec.test_fraction == 0:
        return "-"
    from .final import best_per_optimizer, missing_fits  # scikit-learn: only when needed

    expected = len(best_per_optimizer(study)) * spec.final_seeds
    return f"{expected - len(missing_fits(study, spec.final_seeds))}/{expected}"


def _score(value: float) -> str:
    """A score to four decimals, or four significant digits when that would mislead
    (``1e+280`` rather than 281 digits, ``3.2e-07`` rather than ``0.0000``)."""
    return f"{value:.4f}" if value == 0 or 1e-3 <= abs(value) < 1e6 else f"{value:.4g}"


def _one_line(exc: BaseException) -> str:
    """The message of ``exc`` on one line, passwords masked (no library footnotes)."""
    lines = (line.strip() for line in str(exc).splitlines())
    return mask_url(" ".join(line for line in lines if line and not line.startswith("(Background")))


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


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``tuner`` command."""
    parser = argparse.ArgumentParser(
        prog="tuner",
        description="Find good optimizer settings: run tuning studies and read their results.",
        epilog="Exit codes: 0 success, 1 a run failed, 2 bad usage, a bad study file or an "
        "unknown study, 130 interrupted (run the same command again to resume).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--storage",
            help="Optuna storage URL or journal file "
            "(default: $TUNER_STORAGE, else reports/<study>/journal.log)",
        )
        p.add_argument("--out", default="reports", help="reports folder (default: reports)")

    def workers(p: argparse.ArgumentParser) -> None:
        p.add_argument("--timeout", type=_seconds, help="seconds after which no new trial starts")
        p.add_argument("--no-progress", action="store_true", help="no progress bar")
        p.add_argument(
            "--backend",
            choices=BACKENDS,
            default="loky",
            help="where workers run (default: loky processes on this machine)",
        )
        p.add_argument(
            "--scheduler",
            help="Dask scheduler address, e.g. tcp://host:8786 "
            "(default with --backend dask: a local cluster)",
        )

    p = sub.add_parser("run", help="run (or resume) the study defined by a TOML file")
    p.add_argument("study_file", help="study definition, e.g. studies/quickstart.toml")
    p.add_argument(
        "--n-jobs", type=_count(minus_one=True),
        help="worker processes, -1 for one per core (default: the file's n_jobs)",
    )  # fmt: skip
    p.add_argument("--n-trials", type=_count(), help="trials in total (default: the file's)")
    workers(p)
    common(p)
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("bench", help="run a suite of problems, each a study, and compare "
                       "the optimizers across them (performance profiles)")  # fmt: skip
    p.add_argument("suite_file", help="suite definition, e.g. studies/suite.toml")
    p.add_argument("--n-jobs", type=_count(minus_one=True),
                   help="workers of each study (default: the suite's n_jobs)")  # fmt: skip
    workers(p)
    common(p)
    p.set_defaults(func=_cmd_bench)

    p = sub.add_parser("worker", help="join a running study from another shell or machine")
    p.add_argument("--study", required=True, type=_study_name, help="study name")
    p.add_argument("--study-file", help="the study's TOML file (default: as recorded)")
    p.add_argument(
        "--n-jobs", type=_count(minus_one=True), default=1,
        help="worker processes, -1 for one per core (default 1)",
    )  # fmt: skip
    p.add_argument("--n-trials", type=_count(), help="trials in total (default: as recorded)")
    workers(p)
    common(p)
    p.set_defaults(func=_cmd_worker)

    p = sub.add_parser("check", help="check a study file, its data and space; run nothing")
    p.add_argument("study_file", help="study definition, e.g. studies/quickstart.toml")
    p.set_defaults(func=_cmd_check)

    p = sub.add_parser("delete", help="remove a study and its trials from its storage")
    p.add_argument("study", type=_study_name, help="study name")
    p.add_argument("--yes", action="store_true", help="do not ask first")
    common(p)
    p.set_defaults(func=_cmd_delete)

    p = sub.add_parser("report", help="write a study's report: tables, plots, one HTML page")
    p.add_argument("study", help="study name")
    p.add_argument("--format", help="comma-separated: csv,parquet,md,png,html (default: all)")
    common(p)
    p.set_defaults(func=_cmd_report)

    p = sub.add_parser("list", help="studies in a storage with their counts and best values")
    common(p)
    p.set_defaults(func=_cmd_list)

    p = sub.add_parser(
        "optimizers", help="registered optimizers and schedules with their search ranges"
    )
    p.set_defaults(func=_cmd_optimizers)
    return parser


def _one_line_warning(message, category, filename, lineno, line=None) -> str:
    """A warning as the command's other messages: one line, no source quoted."""
    text = _one_line(message if isinstance(message, Warning) else Warning(message))
    return f"tuner: warning: {text}\n"


def _terminate(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``tuner`` command; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    quiet_libraries()
    formatwarning, warnings.formatwarning = warnings.formatwarning, _one_line_warning
    # `kill PID` stops a run as Ctrl-C does: running trials are failed as interrupted.
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        return args.func(args)
    except (StudyFileError, StudyNotFoundError, UsageError) as exc:
        print(f"tuner: {_one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("\ntuner: interrupted; run the same command again to resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    except StudyAborted as exc:
        print(f"tuner: {_one_line(exc)}", file=sys.stderr)
        return EXIT_FAILURE
    except transient_errors() as exc:  # retried for seconds already
        where = mask_url(getattr(args, "storage_url", None) or "of the study")
        cause = exc.__cause__ or exc
        print(
            f"tuner: error: the database {where} is unreachable or refused a write "
            f"({type(cause).__name__}: {_one_line(cause)}); finished trials are kept: run "
            "the same command again when it is back",
            file=sys.stderr,
        )
        return EXIT_FAILURE
    except ImportError as exc:
        print(
            f"tuner: error: {mask_url(str(exc))} (a database storage needs its driver, "
            "for example: pip install 'psycopg[binary]')",
            file=sys.stderr,
        )
        return EXIT_FAILURE
    except Exception as exc:  # a run failure: one line, never a traceback or a password
        if os.environ.get("TUNER_DEBUG"):
            raise
        print(f"tuner: error: {type(exc).__name__}: {_one_line(exc)}", file=sys.stderr)
        return EXIT_FAILURE
    finally:
        signal.signal(signal.SIGTERM, previous)
        warnings.formatwarning = formatwarning


if __name__ == "__main__":
    sys.exit(main())
