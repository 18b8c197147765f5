"""The commands that run studies: ``run``, ``worker`` and ``bench``.

Also what ends a run: the final fits, the saved best model and the outcomes line.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

import optuna

from ..study.journal import check_journal
from ..study.outcomes import score_of, tally
from ..study.pool import check_backend, start_workers, worker_count
from ..study.run import StudyAborted, run_study
from ..study.storage import (
    StudyNotFoundError,
    default_storage,
    is_local_file,
    load_existing_study,
    mask_url,
    retry,
)
from ..studyfile import load_study_file, requested_workers
from .common import UsageError, _best, _one_line, _score, _storage_arg


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
        from ..report import report_folder
        from ..runner import build_study, check_resumable

        spec = load_study_file(args.study_file)
        n_trials = args.n_trials or spec.n_trials
        n_jobs = args.n_jobs or spec.n_jobs
        storage = _storage_arg(args, spec.storage) or default_storage(spec.name, args.out)
        args.storage_url = storage  # named if the storage fails
        _check_backend(args, storage)
        if is_local_file(storage):  # before anything is said or started
            check_journal(Path(storage))
        parts = build_study(spec, n_trials)
        try:
            existing = load_existing_study(storage, spec.name)
        except StudyNotFoundError:  # a new study starts from nothing
            existing = None
        if existing is not None:
            check_resumable(spec, parts.objective.space, existing)
            page = Path(args.out) / report_folder(spec.name) / "index.html"
            if _already_complete(existing, n_trials, spec.final_seeds, parts.refit.has_test,
                                  page.is_file()):  # fmt: skip
                if not page.is_file():
                    _finish(existing, parts, spec, args.out)  # a run cut short while writing it
                return 0
    _say_start(spec.name, n_trials, n_jobs, storage)
    try:
        study = _search(args, spec, parts, storage, n_trials, n_jobs)
    except StudyAborted:  # its report says why every trial failed
        _finish(load_existing_study(storage, spec.name), parts, spec, args.out)
        raise
    counts = retry(lambda: tally(study.get_trials(deepcopy=False)))
    if counts.counted < n_trials:  # the final fits wait for the whole search
        if counts.running:
            why = (f"{counts.running} are still running in another process (a run or a worker "
                   "of the same study), whose end writes the report again; or run")  # fmt: skip
        elif args.timeout or spec.timeout:
            why = "the timeout came first: run"
        else:
            why = "run"
        print(f"tuner: {counts.counted} of the {n_trials} trials ended; {why} the same command "
              "again to finish", file=sys.stderr)  # fmt: skip
    else:
        _final_fits(study, parts.refit, spec.final_seeds, n_jobs)
    _finish(study, parts, spec, args.out)
    return 0


def _search(args, spec, parts, storage: str, n_trials: int, n_jobs: int) -> optuna.Study:
    """The study file's search, through :func:`tuner.study.run_study`."""
    from ..runner import study_allocation

    return run_study(
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


def _finish(study: optuna.Study, parts, spec, out: str) -> None:
    """A run's last word: its outcomes, the report, the best model and the verdict. Storage
    calls are retried: after a whole search, a dropped connection must not cost its report."""
    from ..report import Report

    print(retry(_outcomes, study))
    report = retry(Report.from_study, study, space=parts.objective.space, spec=spec)
    folder = report.save(out)
    print(retry(_save_best_model, study, parts.refit, folder))
    print(report.verdict.reason)
    print(f"report: {folder / 'index.html'}")


def _already_complete(
    study: optuna.Study, n_trials: int, seeds: int, has_test: bool, has_page: bool
) -> bool:
    """Whether a run of ``n_trials`` has no trial to run (it says so, and whether its page
    is still to be written); says so too when the run would lower the study's budget."""
    from ..final import study_complete

    ended = tally(study.get_trials(deepcopy=False)).counted
    budget = study.user_attrs.get("n_trials")
    if study_complete(study, n_trials, seeds, has_test):
        of_budget = f" of its budget of {budget}" if isinstance(budget, int) else ""
        then = (f"--n-trials N (more than {ended}) to extend it" if has_page
                else "writing its report, which the run that ended it did not")  # fmt: skip
        print(f"study {study.study_name!r} is already complete: {ended} trials ended"
              f"{of_budget}; {then}", file=sys.stderr)  # fmt: skip
        return True
    if isinstance(budget, int) and n_trials < budget:
        print(f"tuner: lowering the budget of study {study.study_name!r} from {budget} to "
              f"{n_trials} trials", file=sys.stderr)  # fmt: skip
    return False


def _final_fits(study: optuna.Study, refit, seeds: int, n_jobs: int) -> None:
    """Refit each optimizer's best configuration with ``seeds`` seeds, scored on the test split."""
    from ..final import missing_fits, run_final_fits

    if not refit.has_test:
        return
    todo = len(retry(missing_fits, study, seeds))
    if todo:
        print(f"final fits: {todo} (each optimizer's best with {seeds} training seeds, "
              "scored on the held-out test split)", file=sys.stderr)  # fmt: skip
    retry(run_final_fits, study, refit, seeds, n_jobs)  # runs again only the fits not recorded


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
    from ..suite import load_suite_file, run_bench

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
        from ..runner import build_study, check_same_study, study_allocation

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
        # Cut short by a kill or Ctrl-C: not counted, their parameters queued to run again.
        parts.append(f"{counts.interrupted} interrupted (not counted; their parameters rerun)")
    best = _best(study)
    if best is None:
        return f"trials: {', '.join(parts)}; no trial completed"
    return f"trials: {', '.join(parts)}; best {_score(score_of(best))} (trial {best.number})"
