"""Run a suite: every problem and seed as a study, through the run of ``tuner run``.

Each study is run by the ``tuner run`` command itself, on its generated study
file, so every guarantee of a study holds for a suite: the exact budget
whatever the workers, resuming where a run stopped, the final fits, the
report of each study. All studies share one storage. A study already
complete (its trials and final fits done) is skipped without being opened
by a run, so running a finished suite again does no new work (one whose page is
missing, its run killed while writing it, goes through ``tuner run``, which writes it).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from ..final import study_complete
from ..report.files import report_folder
from ..study.storage import StudyNotFoundError, default_storage, load_existing_study
from .page import write_suite_report
from .results import collect_results
from .spec import SuiteSpec, write_study_files

__all__ = ["SuiteRun", "run_bench", "run_suite"]

#: Exit code of ``tuner run`` interrupted by Ctrl-C.
_INTERRUPTED = 130


@dataclass(frozen=True)
class SuiteRun:
    """How a suite's run went.

    Attributes
    ----------
    storage : str
        The storage of every study.
    folder : Path
        ``<out>/<suite>``: the suite's page, and each study's report in a subfolder.
    ran, skipped : tuple of str
        Studies run now, and studies already complete (some of them had only
        their page written now).
    failed : dict
        Study -> exit code of its ``tuner run`` (1: the run failed; 2: bad input).
    interrupted : bool
        A run was interrupted (Ctrl-C): the studies after it were not started.
    """

    storage: str
    folder: Path
    ran: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    failed: dict[str, int] = field(default_factory=dict)
    interrupted: bool = False


def run_suite(
    suite: SuiteSpec,
    *,
    out: str | Path = "reports",
    storage: str | None = None,
    n_jobs: int | None = None,
    backend: str = "loky",
    scheduler: str | None = None,
    timeout: float | None = None,
    progress: bool = True,
) -> SuiteRun:
    """Run (or resume) every study of ``suite``, one after the other.

    Parameters
    ----------
    suite : SuiteSpec
    out : str or Path, default="reports"
        Reports folder: the suite writes ``<out>/<suite>/`` (its study files in
        ``studies/``, each study's report in a folder of the study's name).
    storage : str, optional
        Storage URL or journal file of every study; default the suite's
        ``storage``, else ``<out>/<suite>/journal.log``.
    n_jobs : int, optional
        Workers of each study; default the suite's ``n_jobs``.
    backend, scheduler, timeout, progress
        As for ``tuner run`` (the timeout is each study's).

    Returns
    -------
    SuiteRun
    """
    from ..cli import main  # the command's run, whole: the suite adds no run path of its own

    folder = Path(out) / suite.name
    storage = storage or suite.storage or default_storage(suite.name, out)
    files = write_study_files(suite, folder / "studies")
    specs = {name: p for p in suite.problems for name in suite.study_names(p)}
    ran, skipped, failed = [], [], {}
    for name, path in files.items():
        problem = specs[name]
        page = folder / report_folder(name) / "index.html"
        # Only a study that got as far as its report can be complete: a new one is not read.
        complete = page.parent.is_dir() and _complete(
            storage, name, problem.tables["study"]["n_trials"], problem.spec
        )
        if complete and page.is_file():
            print(f"study {name!r}: complete, skipped", file=sys.stderr)
            skipped.append(name)
            continue
        # Else tuner run runs it, or writes the page that a kill left unwritten.
        args = ["run", str(path), "--storage", storage, "--out", str(folder),
                "--n-jobs", str(n_jobs or suite.n_jobs), "--backend", backend]  # fmt: skip
        args += ["--scheduler", scheduler] if scheduler else []
        args += ["--timeout", str(timeout)] if timeout else []
        args += [] if progress else ["--no-progress"]
        code = main(args)
        if code == _INTERRUPTED:
            return SuiteRun(storage, folder, tuple(ran), tuple(skipped), failed, True)
        (skipped if complete and not code else ran).append(name)
        if code:
            failed[name] = code
    return SuiteRun(storage, folder, tuple(ran), tuple(skipped), failed)


def _complete(storage: str, name: str, n_trials: int, spec) -> bool:
    """Whether study ``name`` has nothing left to do: its trials and its final fits."""
    try:
        study = load_existing_study(storage, name)
    except StudyNotFoundError:
        return False
    return study_complete(study, n_trials, spec.final_seeds, spec.test_fraction > 0)


def run_bench(suite: SuiteSpec, *, out: str | Path = "reports", **options) -> int:
    """``tuner bench``: run the suite (:func:`run_suite` takes ``options``), write its page
    from whatever finished, and return the command's exit code (130 interrupted, 1 a
    study failed, else 0)."""
    run = run_suite(suite, out=out, **options)
    if run.interrupted:
        return _INTERRUPTED
    results = collect_results(suite, run.storage)
    command = f"tuner bench {suite.path}"
    if options.get("n_jobs"):
        command += f" --n-jobs {options['n_jobs']}"
    page = write_suite_report(results, run.folder, command)
    print(f"suite {suite.name!r}: {len(run.ran)} studies run, {len(run.skipped)} already "
          f"complete, {len(run.failed)} failed")  # fmt: skip
    for name, code in run.failed.items():
        print(f"tuner: study {name!r} failed (exit {code}); its run said why above",
              file=sys.stderr)  # fmt: skip
    print(f"suite report: {page}")
    return 1 if run.failed else 0
