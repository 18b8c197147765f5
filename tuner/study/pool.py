"""Where a run's workers run: joblib's loky processes on this machine, or Dask tasks."""

from __future__ import annotations

import concurrent.futures
import contextlib
import importlib.util
import ipaddress
import os
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import joblib
from joblib.executor import get_memmapping_executor
from joblib.externals.loky.process_executor import ProcessPoolExecutor, TerminatedWorkerError

from .storage import is_local_file, mask_url
from .worker import WorkerConfig, WorkerSummary, preload, run_worker

__all__ = ["BACKENDS", "Pool", "check_backend", "map_unordered", "open_pool", "start_workers",
           "worker_count"]  # fmt: skip

T = TypeVar("T")

#: Where worker processes run: joblib's loky processes, or Dask workers.
BACKENDS = ("loky", "dask")


def _is_loopback(address: str) -> bool:
    """Whether a scheduler address (``tcp://host:port``) listens on this machine only.

    Only workers of this machine can join such a scheduler, so they all reach
    a local journal file.
    """
    host = urllib.parse.urlsplit(address if "://" in address else f"tcp://{address}").hostname
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


def check_backend(storage: str, backend: str, scheduler: str | None) -> None:
    """Raise ``ValueError`` unless workers on ``backend`` (and ``scheduler``) can reach ``storage``.

    A journal file lives on this machine: a Dask scheduler whose workers may run
    elsewhere needs a database storage instead. Nothing is contacted.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if backend == "dask" and importlib.util.find_spec("distributed") is None:
        raise ValueError("backend 'dask' needs Dask: pip install 'optim-tuner[distributed]'")
    if scheduler is not None and backend != "dask":
        raise ValueError(f"a Dask scheduler needs backend='dask', got backend={backend!r}")
    if scheduler is not None and is_local_file(storage) and not _is_loopback(scheduler):
        raise ValueError(
            f"the Dask scheduler {mask_url(scheduler)!r} may have workers on other machines: it "
            "needs a storage every worker can reach (for example postgresql://...); "
            f"{mask_url(storage)!r} is a file on this machine"
        )


def worker_count(n_jobs: int) -> int:
    """Workers for ``n_jobs``: -1 means one per core; raises ``ValueError`` otherwise."""
    n_workers = joblib.cpu_count() if n_jobs == -1 else n_jobs
    if isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1:
        raise ValueError(f"n_jobs must be a positive integer or -1, got {n_jobs!r}")
    return n_workers


def _loky_executor(n: int) -> ProcessPoolExecutor:
    """joblib's reusable loky executor of ``n`` processes (the one a later call reuses)."""
    _quiet_resource_tracker()
    return get_memmapping_executor(n, initializer=_exit_with_parent, initargs=(os.getpid(),))


#: The warnings filter that keeps loky's resource tracker quiet.
_QUIET_TRACKER = "ignore::UserWarning:joblib.externals.loky.backend.resource_tracker"


def _quiet_resource_tracker() -> None:
    """After a ``kill -9`` of the run, loky's resource tracker (a process of its own)
    warns in several lines per kind of the semaphores and folders it then cleans up:
    its own housekeeping. It takes its warnings filter from the environment it starts
    with; this adds one for its warnings alone."""
    current = os.environ.get("PYTHONWARNINGS", "")
    if _QUIET_TRACKER not in current:
        os.environ["PYTHONWARNINGS"] = f"{current},{_QUIET_TRACKER}" if current else _QUIET_TRACKER


#: Held by a loky process while it runs a study's worker.
_BUSY = threading.Lock()


def _exit_with_parent(parent: int) -> None:
    """Initializer of a loky process: end it once the run's process is gone.

    An idle loky process waits minutes for work from a parent that a ``kill -9``
    ended; a busy one ends its trial first (its worker stops when its parent is
    gone) and then exits here.
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        with _BUSY:
            os._exit(0)

    threading.Thread(target=watch, name="tuner-parent-watch", daemon=True).start()


def start_workers(n_jobs: int, modules: Sequence[str] = ()) -> ProcessPoolExecutor | None:
    """Start the worker processes of a coming loky ``run_study(n_jobs=n_jobs)`` now.

    A new worker process imports scikit-learn and the objective's modules, about
    two seconds, before its first trial. Started while the caller still reads
    its study file and data, the processes import ``modules`` meanwhile, and
    ``run_study`` finds them ready (joblib keeps them for 5 idle minutes). Worker 0
    runs in the caller's process, so ``n_jobs - 1`` processes start; none for 1.

    Returns the loky executor (None for one job): when no run follows, its
    ``shutdown(kill_workers=True)`` ends the processes without waiting for
    their imports, which Python's exit would otherwise do.
    """
    n = worker_count(n_jobs) - 1
    if n < 1:
        return None
    executor = _loky_executor(n)
    for _ in range(n):  # each import takes seconds, so the n tasks spread over the n processes
        executor.submit(preload, tuple(modules))
    return executor


def map_unordered(fn: Callable[..., T], tasks: Sequence[tuple], n_jobs: int) -> Iterator[T]:
    """``fn(*task)`` of each task, in up to ``n_jobs`` loky processes (as a run's, they end
    with this process, even when it is killed), yielded as they end; in this process for one."""
    n = min(n_jobs, len(tasks))
    if n <= 1:
        yield from (fn(*task) for task in tasks)
        return
    futures = [_loky_executor(n).submit(fn, *task) for task in tasks]
    try:
        for future in concurrent.futures.as_completed(futures):
            yield future.result()
    finally:
        for future in futures:
            future.cancel()


class Pool:
    """Where workers other than the run's own process run: loky processes or Dask tasks.

    With loky, worker 0 runs in the run's own process and each other worker in
    one of joblib's loky processes; with Dask, every worker is a task of
    joblib's dask backend. ``crashes`` are the errors of a worker process that
    died.
    """

    def __init__(self, backend: str, client: Any = None, stop_file: str | None = None):
        self.backend, self.client = backend, client
        # How the run tells its workers to start no new trial: a Dask event, or a file.
        self.signals = (
            {"stop_event": f"tuner-stop-{uuid.uuid4().hex}"}
            if client is not None
            else {"stop_file": stop_file}
        )
        self.own_worker = backend == "loky"  # worker 0 runs in this process
        self.executor: ProcessPoolExecutor | None = None
        self.crashes: tuple[type[BaseException], ...] = (TerminatedWorkerError,)
        if client is not None:
            from distributed import KilledWorker

            self.crashes += (KilledWorker,)

    def submit(self, cfg: WorkerConfig, indices: range) -> list[concurrent.futures.Future]:
        """Start workers ``indices``; futures of their lists of :class:`WorkerSummary`."""
        if not indices:
            return []
        if self.client is None:
            self.executor = _loky_executor(len(indices))
            return [self.executor.submit(_one, cfg, i) for i in indices]

        def on_dask() -> list[WorkerSummary]:  # joblib.Parallel blocks: a thread waits on it
            with joblib.parallel_config(backend="dask"):
                return joblib.Parallel(n_jobs=len(indices))(
                    joblib.delayed(run_worker)(cfg, i) for i in indices
                )

        thread = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="tuner-dask")
        future = thread.submit(on_dask)
        thread.shutdown(wait=False)
        return [future]

    @staticmethod
    def wait(futures: list[concurrent.futures.Future], timeout: float = 0.5) -> bool:
        """Wait up to ``timeout`` seconds for ``futures``; whether they are all done.

        Short waits, so that Ctrl-C gets through; each returns as soon as the last
        worker ends.
        """
        return not concurrent.futures.wait(futures, timeout=timeout).not_done

    @staticmethod
    def results(futures: list[concurrent.futures.Future]) -> list[WorkerSummary]:
        """The summaries of the ended workers (a crashed one's error is raised)."""
        return [summary for f in futures for summary in f.result()]

    def stop(self, cfg: WorkerConfig, futures: list[concurrent.futures.Future]) -> None:
        """Stop the started workers: a Dask event they read before each trial; loky
        processes (which a terminal's Ctrl-C reached too) get a moment, then are ended."""
        if self.client is not None:
            from distributed import Event

            Event(cfg.stop_event, client=self.client).set()
            return
        if self.executor is not None:
            Path(cfg.stop_file).touch()
            concurrent.futures.wait(futures, timeout=STOP_GRACE)
            self.executor.shutdown(wait=True, kill_workers=True)


def _one(cfg: WorkerConfig, index: int) -> list[WorkerSummary]:
    with _BUSY:
        return [run_worker(cfg, index)]


#: Seconds that a loky worker gets to end its trial after Ctrl-C before it is ended.
STOP_GRACE = 3.0


@contextlib.contextmanager
def open_pool(backend: str, scheduler: str | None, n_workers: int) -> Iterator[Pool]:
    """The run's pool: joblib's loky processes, or a Dask client (of ``scheduler``, or of a
    ``LocalCluster`` of ``n_workers`` single-threaded processes)."""
    if backend == "loky":
        with tempfile.TemporaryDirectory(prefix="tuner-run-") as folder:
            yield Pool(backend, stop_file=str(Path(folder) / "stop"))
        return
    from distributed import Client, LocalCluster  # present: check_backend looked

    with contextlib.ExitStack() as stack:
        if scheduler is None:
            cluster = stack.enter_context(
                LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                             dashboard_address=None)
            )  # fmt: skip
            scheduler = cluster.scheduler_address
        yield Pool(backend, stack.enter_context(Client(scheduler)))
