"""Studies: run trials in parallel workers on a shared Optuna storage, exactly to a budget.

- :mod:`~tuner.study.run`: :func:`run_study`, the run;
- :mod:`~tuner.study.pool`: where its workers run (loky processes, Dask tasks);
- :mod:`~tuner.study.worker`: the worker loop and its one rule for starting trials;
- :mod:`~tuner.study.orphans`: trials that lost their worker, and their parameters run again;
- :mod:`~tuner.study.outcomes`: how a trial ended, and the budget count;
- :mod:`~tuner.study.storage`, :mod:`~tuner.study.journal`, :mod:`~tuner.study.locks`:
  where studies live, and the locks that keep workers apart;
- :mod:`~tuner.study.samplers`, :mod:`~tuner.study.pruning`,
  :mod:`~tuner.study.allocation`: how trials are drawn, pruned and shared among
  optimizers;
- :mod:`~tuner.study.progress`: the progress line.
"""

from .outcomes import Outcome, Tally, counts_towards_budget, outcome_of, tally
from .pool import BACKENDS, check_backend, start_workers
from .run import StudyAborted, create_study, run_study
from .storage import (
    StorageUnreachableError,
    StudyNotFoundError,
    load_existing_study,
    mask_url,
    open_storage,
)

__all__ = [
    "BACKENDS",
    "Outcome",
    "StorageUnreachableError",
    "StudyAborted",
    "StudyNotFoundError",
    "Tally",
    "check_backend",
    "counts_towards_budget",
    "create_study",
    "load_existing_study",
    "mask_url",
    "open_storage",
    "outcome_of",
    "run_study",
    "start_workers",
    "tally",
]
