"""Locks held by the kernel or the database, so that a dead holder never blocks anyone.

- :class:`FlockLock`: an ``flock`` on a file, re-entrant within a thread. It
  guards a journal file's appends and the trial claims of its studies.
- :func:`study_lock`: the lock under which a worker counts a study's trials
  and starts one (see :mod:`tuner.study.worker`).
- :func:`worker_id` and :func:`worker_gone`: each worker process holds an
  ``flock`` on a file of its own for as long as it lives; a RUNNING trial
  whose worker's lock is free lost its worker.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import functools
import os
import socket
import stat
import tempfile
import threading
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

__all__ = ["FlockLock", "study_lock", "worker_gone", "worker_id"]


class FlockLock:
    """An exclusive ``flock`` on ``.<name>.lock`` beside ``path``, re-entrant within the thread
    that holds it (a hidden file: a study's folder holds its reports).

    The kernel releases an ``flock`` when its holder dies, so a killed worker
    never stalls the others (Optuna's lock files wait out a grace period
    instead). Re-entrant, so that a worker holding its study's lock can append
    to the journal that the same lock guards. Local file systems only.
    """

    _held: ClassVar[dict[tuple[int, str], tuple[threading.RLock, list[int]]]] = {}
    _guard: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, path: str | os.PathLike):
        path = Path(path)
        self.path = str(path.with_name(f".{path.name}.lock"))

    def _state(self) -> tuple[threading.RLock, list[int]]:
        key = (os.getpid(), self.path)  # a forked child holds nothing of its parent's
        state = self._held.get(key)
        if state is None:
            with self._guard:
                state = self._held.setdefault(key, (threading.RLock(), [0, -1]))
        return state

    def acquire(self) -> bool:
        rlock, state = self._state()  # state: [depth, file descriptor]
        rlock.acquire()
        if state[0] == 0:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
            except BaseException:
                os.close(fd)
                rlock.release()
                raise
            state[1] = fd
        state[0] += 1
        return True

    def release(self) -> None:
        rlock, state = self._state()
        state[0] -= 1
        if state[0] == 0:
            fcntl.flock(state[1], fcntl.LOCK_UN)
            os.close(state[1])
        rlock.release()

    def __enter__(self) -> FlockLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


#: Guards the studies of in-memory storages, which only this process's threads share.
_MEMORY_LOCK = threading.RLock()


@contextlib.contextmanager
def study_lock(storage: str | object, study_name: str) -> Iterator[None]:
    """Hold the lock under which a study's trials are counted and started.

    A journal file is locked with its own append lock (one lock file beside
    it), a SQLite database with an ``flock`` beside it, PostgreSQL with an
    advisory lock on a connection of its own (released by the server when the
    connection drops), a storage object (Optuna's in-memory storage, which
    lives in this process) with a lock of this process. Other databases have
    no portable lock: ``ValueError``.
    """
    from .storage import driver_url, retry, sqlite_path  # it imports this module

    if not isinstance(storage, str):
        with _MEMORY_LOCK:
            yield
    elif "://" not in storage or storage.startswith("sqlite:///"):
        path = sqlite_path(storage)
        with _flock(storage if path is None else f"{path}.{study_name}"):
            yield
    elif storage.startswith("postgresql"):
        import sqlalchemy

        key = zlib.crc32(study_name.encode())  # the advisory lock's id for this study
        engine = _lock_engine(driver_url(storage))

        def lock() -> sqlalchemy.Connection:
            conn = engine.connect()
            try:
                conn.execute(sqlalchemy.text("SELECT pg_advisory_lock(:k)"), {"k": key})
            except BaseException:  # a connection dropped since the pool's ping: another
                conn.invalidate()
                conn.close()
                raise
            return conn

        with retry(lock) as conn:
            try:
                yield
            finally:
                try:
                    conn.execute(sqlalchemy.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                except Exception:  # the connection is gone, and its lock with it
                    conn.invalidate()
    else:
        raise ValueError(
            "workers share a study through a lock that only journal files, sqlite:/// and "
            f"postgresql:// storages offer; {storage.partition('://')[0]}:// has none"
        )


@functools.cache
def _flock(path: str) -> FlockLock:
    """The lock of ``path``, made once: a claim takes it for every trial."""
    return FlockLock(path)


@functools.cache
def _lock_engine(url: str):
    """One engine per database and process for study locks (its pool reuses the connection)."""
    import sqlalchemy

    return sqlalchemy.create_engine(url, pool_size=1, pool_pre_ping=True,
                                    connect_args={"application_name": "tuner"})  # fmt: skip


# -- worker liveness -------------------------------------------------------------------
def _lock_dir() -> Path:
    """This user's folder of worker lock files, in the temp dir; it must be theirs alone
    (another user who could write there could make live trials look orphaned)."""
    path = Path(tempfile.gettempdir()) / f"tuner-workers-{os.getuid()}"
    try:
        path.mkdir(mode=0o700, exist_ok=True)
        info = path.lstat()
    except OSError as exc:
        raise OSError(f"cannot keep worker lock files in {path}: {exc.strerror or exc}; set "
                      "TMPDIR to a writable folder") from None  # fmt: skip
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o022:
        raise OSError(f"{path} is not a folder of this user's alone (owner, mode); remove it "
                      "or set TMPDIR to another folder")  # fmt: skip
    return path


_identity: dict[int, str] = {}  # pid -> this process's worker id


def worker_id() -> str:
    """``host:pid:token`` of this process, recorded on each trial it runs.

    The first call takes an ``flock`` on ``<tmp>/tuner-workers-<uid>/<pid>-<token>``
    that the process holds until it exits: :func:`worker_gone` tells from it
    whether the process still runs (a pid alone may be reused).
    """
    pid = os.getpid()
    if pid not in _identity:
        token = uuid.uuid4().hex[:12]
        path = _lock_dir() / f"{pid}-{token}"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)  # held, with the descriptor, for the process's life
        atexit.register(_remove, path)
        _sweep(path.parent)
        _identity[pid] = f"{socket.gethostname()}:{pid}:{token}"
    return _identity[pid]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def _sweep(folder: Path) -> None:
    """Remove the lock files of workers that ended without removing theirs (killed)."""
    for path in folder.iterdir():
        with contextlib.suppress(OSError):
            fd = os.open(path, os.O_RDWR)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free: its process is gone
                path.unlink()
            except BlockingIOError:
                pass  # held: a live worker's
            finally:
                os.close(fd)


def _remove(path: Path) -> None:
    if os.getpid() == int(path.name.partition("-")[0]):
        path.unlink(missing_ok=True)


def worker_gone(worker: str) -> bool:
    """Whether the worker process ``worker`` (a :func:`worker_id`) of this host has ended.

    False for a worker of another host: its liveness is the storage's heartbeat's
    to judge. A worker id without a token (a study run by an older version) is
    never judged gone.
    """
    host, _, rest = worker.partition(":")
    pid, _, token = rest.partition(":")
    if host != socket.gethostname() or not token:
        return False
    path = _lock_dir() / f"{pid}-{token}"
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        # Removed as its process exited, or kept where this process does not look (another
        # user's or TMPDIR's folder): then the pid tells, if no other process took it.
        return not _pid_alive(int(pid))
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False  # held: the process lives
    finally:
        os.close(fd)  # releases the lock if it was taken
    path.unlink(missing_ok=True)
    return True
