"""The ``tuner`` command line.

Exit codes: 0 success, 1 a run failed, 2 bad usage, a bad study file or a
study that is not in the storage, 130 interrupted (Ctrl-C; run the same
command again to resume). Errors are one line; set ``TUNER_DEBUG=1`` to see
the traceback of an unexpected one.

- :mod:`~tuner.cli.running`: ``run``, ``worker`` and ``bench``, the commands that run studies;
- :mod:`~tuner.cli.managing`: ``check``, ``delete``, ``report``, ``list`` and ``optimizers``;
- :mod:`~tuner.cli.common`: what both share (usage errors, argument types, ``--storage``).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import warnings
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import Any

# Only what every command needs at the top, here and in the command modules:
# scikit-learn (through the objective) and matplotlib (through the report) take
# seconds to import, so the commands that use them import them, and
# ``tuner --help`` answers at once.
from ..study.pool import BACKENDS
from ..study.run import StudyAborted
from ..study.storage import (
    StorageUnreachableError,
    StudyNotFoundError,
    mask_url,
    transient_errors,
)
from ..study.worker import quiet_libraries
from ..studyfile import StudyFileError
from .common import UsageError, _count, _folder, _one_line, _seconds, _study_name
from .managing import _cmd_check, _cmd_delete, _cmd_list, _cmd_optimizers, _cmd_report
from .running import _cmd_bench, _cmd_run, _cmd_worker

__all__ = ["build_parser", "main"]

EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130


def _version() -> str:
    try:
        return version("optim-tuner")
    except PackageNotFoundError:  # running from a source tree
        return "unknown"


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
        p.add_argument("--out", default="reports", type=_folder,
                       help="reports folder (default: reports)")  # fmt: skip

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
    except (StorageUnreachableError, *transient_errors()) as exc:  # retried for seconds already
        if not isinstance(exc, StorageUnreachableError):
            exc = StorageUnreachableError.of(getattr(args, "storage_url", None), exc)
        print(f"tuner: error: {_one_line(exc)}; what it stores is kept: run the command "
              "again once it answers", file=sys.stderr)  # fmt: skip
        return EXIT_FAILURE
    except ImportError as exc:
        print(
            f"tuner: error: {mask_url(str(exc))} (a database storage needs its driver, "
            "for example: pip install 'psycopg[binary]')",
            file=sys.stderr,
        )
        return EXIT_FAILURE
    except BrokenPipeError:
        # The reader of the output left (`tuner list | head`): stop quietly, as `cat`
        # does, with the exit code of a process that SIGPIPE ended.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE
    except Exception as exc:  # a run failure: one line, never a traceback or a password
        if os.environ.get("TUNER_DEBUG"):
            raise
        print(f"tuner: error: {type(exc).__name__}: {_one_line(exc)}", file=sys.stderr)
        return EXIT_FAILURE
    finally:
        signal.signal(signal.SIGTERM, previous)
        warnings.formatwarning = formatwarning
