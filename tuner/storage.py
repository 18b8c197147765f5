"""Where studies live: the embedded journal file by default, or any Optuna storage URL."""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import json
import os
import re
import warnings
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import optuna
from optuna.storages import JournalStorage, RDBStorage
from optuna.storages.journal import BaseJournalBackend, JournalFileOpenLock

__all__ = [
    "JOURNAL_FILE",
    "FlockLock",
    "StudyNotFoundError",
    "check_journal",
    "check_storage_url",
    "check_study_name",
    "default_storage",
    "exclusive",
    "is_local_file",
    "load_existing_study",
    "mask_url",
    "open_database",
    "open_existing_storage",
    "open_storage",
    "repair_journal",
    "requeue_stale_trial",
]

#: File name of the embedded journal storage inside ``reports/<study>/``.
JOURNAL_FILE = "journal.log"
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def check_study_name(name: str) -> str:
    """Return ``name`` if it is safe as a folder name; raise ``ValueError`` otherwise.

    Study names become folders under ``reports/``, so only letters, digits,
    ``.``, ``_`` and ``-`` are allowed, starting with a letter or digit.
    """
    if not isinstance(name, str) or not _SAFE_NAME.fullmatch(name) or ".." in name:
        raise ValueError(
            f"study name {name!r} is not allowed: use 1-128 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit, without '..'"
        )
    return name


def default_storage(study_name: str, directory: str | os.PathLike = "reports") -> str:
    """The embedded storage of a study: ``<directory>/<study_name>/journal.log``."""
    return str(Path(directory) / check_study_name(study_name) / JOURNAL_FILE)


# The password of ``scheme://user:password@host``: without spaces (then any character),
# or with spaces but without "/" (so that "tcp://host:8786/x and a@b" keeps its port).
_USERINFO = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*):(?:[^@\s]*|[^@/\n]*)@")
# Secrets given as key=value: URL query parameters (?password=...) and libpq's
# "host=h password=s" connection strings.
_KEY_VALUE = re.compile(
    r"(?i)\b(password|passwd|pwd|sslpassword|secret|token|api_?key|access_token)=[^&\s'\"]*"
)


def mask_url(text: str) -> str:
    """``text`` with every credential in it replaced by ``***``.

    Safe to print, log or write. Masked: the password of any URL
    (``postgresql://user:secret@host/db`` becomes ``postgresql://user:***@host/db``,
    ``tcp://user:secret@host:8786`` likewise, a password with spaces too) and
    secrets given as ``key=value`` (``?password=secret``, ``sslpassword=``,
    ``token=``, ``api_key=``, libpq's ``"host=h password=secret"``).
    """
    if not isinstance(text, str):
        return text
    return _KEY_VALUE.sub(r"\1=***", _USERINFO.sub(r"\1:***@", text))


def is_local_file(storage: str | optuna.storages.BaseStorage) -> bool:
    """Whether ``storage`` is a journal file path (reachable from this machine only)."""
    return isinstance(storage, str) and "://" not in storage


def _driver_url(url: str) -> str:
    """``postgresql://`` names psycopg2; use psycopg 3 when only that one is installed."""
    if url.startswith("postgresql://") and importlib.util.find_spec("psycopg2") is None:
        if importlib.util.find_spec("psycopg") is not None:
            return "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def requeue_stale_trial(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
    """Heartbeat callback: a trial whose worker died is failed; run its parameters again.

    The failed trial has no ``error`` attribute, so it does not count towards
    the budget, and the new WAITING trial (a ticket with the same parameters)
    takes its place.
    """
    study.enqueue_trial(trial.params, user_attrs={"retry_of": trial.number})


def open_database(url: str, heartbeat_interval: int = 10, grace_period: int = 30) -> RDBStorage:
    """An Optuna database storage set up for many worker processes.

    Heartbeats are on: a RUNNING trial whose worker stopped beating for
    ``grace_period`` seconds is failed by the next worker that looks, and its
    parameters are queued again (:func:`requeue_stale_trial`). Pooled
    connections are checked before use, so a dropped connection is replaced
    instead of failing a call.
    """
    url = _driver_url(url)
    engine_kwargs: dict = {"pool_pre_ping": True}
    if url.startswith("postgresql"):
        # Named connections let an operator (or a test) find the study's sessions.
        engine_kwargs.update(
            pool_size=2, max_overflow=4, pool_recycle=600,
            connect_args={"application_name": "tuner"},
        )  # fmt: skip
    with warnings.catch_warnings():  # heartbeats are marked experimental; we rely on them
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return RDBStorage(
            url,
            engine_kwargs=engine_kwargs,
            heartbeat_interval=heartbeat_interval,
            grace_period=grace_period,
            heartbeat_stale_trial_callback=requeue_stale_trial,
        )


def open_storage(storage: str | optuna.storages.BaseStorage) -> optuna.storages.BaseStorage:
    """An Optuna storage from a URL (``sqlite:///...``, ``postgresql://...``) or a file path.

    A path without a URL scheme is a journal file, created with its folder if
    needed; several local processes may share it safely. A URL opens a
    database through :func:`open_database` (heartbeats, checked connections).
    The environment variables ``TUNER_HEARTBEAT_INTERVAL`` and
    ``TUNER_GRACE_PERIOD`` (seconds) tune the heartbeat.
    """
    if isinstance(storage, optuna.storages.BaseStorage):
        return storage
    if not isinstance(storage, str) or not storage:
        raise TypeError(f"storage must be a URL or a file path, got {storage!r}")
    if "://" in storage:
        return open_database(
            storage,
            heartbeat_interval=_seconds_from_env("TUNER_HEARTBEAT_INTERVAL", 10),
            grace_period=_seconds_from_env("TUNER_GRACE_PERIOD", 30),
        )
    path = Path(storage)
    check_journal(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FlockLock(str(path))
    repair_journal(path, lock)
    return JournalStorage(JournalFile(path, lock))


def check_storage_url(storage: str) -> str:
    """Return ``storage`` if it is a file path or a database URL that SQLAlchemy knows.

    Raises ``ValueError`` (the URL masked) for an empty value or an unknown scheme
    (``bogus://x``, Optuna's removed ``redis://``), before anything is contacted.
    """
    if not storage.strip():
        raise ValueError("must not be empty; leave it out for the default")
    if "://" not in storage:
        return storage
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        make_url(_driver_url(storage)).get_dialect()
    except (ArgumentError, NoSuchModuleError, ValueError):
        raise ValueError(
            f"{mask_url(storage)!r} is not a storage: give a journal file path or a database "
            "URL such as sqlite:///studies.db or postgresql://user@host/db"
        ) from None
    return storage


def check_journal(path: Path) -> None:
    """Raise :class:`StudyNotFoundError` if ``path`` exists but is not an Optuna journal.

    A journal's first line is a JSON record with an ``op_code``; any other file
    (a notes file, a profile given as a storage by mistake) is neither read as a
    study nor written to.
    """
    if not path.exists():
        return
    if not path.is_file():
        raise StudyNotFoundError(f"{path} is not a file, so not a journal storage")
    with open(path, "rb") as f:
        first = f.readline(1 << 20)
    if not first:
        return  # an empty journal: a study being created
    try:
        record = json.loads(first)
    except ValueError:
        record = None
    if not (isinstance(record, dict) and "op_code" in record):
        raise StudyNotFoundError(
            f"{path} is not an Optuna journal file (its first line is no journal record); "
            "it is left as it is: give another storage path"
        )


def _seconds_from_env(name: str, default: int) -> int:
    """A whole number of seconds >= 1 from the environment variable ``name``."""
    text = os.environ.get(name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(f"{name} must be a whole number of seconds >= 1, got {text!r}")
    return value


class StudyNotFoundError(LookupError):
    """The storage, or the study in it, does not exist."""


def _sqlite_path(url: str) -> str | None:
    """The database file of a ``sqlite:///`` URL (without ``?timeout=...`` options)."""
    if not url.startswith("sqlite:///"):
        return None
    return url.removeprefix("sqlite:///").partition("?")[0]


def open_existing_storage(storage: str) -> optuna.storages.BaseStorage:
    """:func:`open_storage` for reading: a journal or SQLite file that is not there
    raises :class:`StudyNotFoundError` instead of being created, and a journal
    file is left untouched (its torn last record, if any, is skipped, not moved)."""
    path = _sqlite_path(storage) or storage
    if (path != storage or is_local_file(storage)) and not Path(path).is_file():
        raise StudyNotFoundError(f"no study storage at {mask_url(storage)}")
    if not is_local_file(storage):
        return open_storage(storage)
    # Read only: a torn last record is skipped by Optuna's reader, not cut off here.
    check_journal(Path(storage))
    return JournalStorage(JournalFile(Path(storage), FlockLock(storage)))


def load_existing_study(storage: str, study_name: str) -> optuna.Study:
    """Load study ``study_name`` from ``storage``, creating neither.

    Raises
    ------
    StudyNotFoundError
        When a journal file is missing, or the storage holds no such study
        (the message lists the studies it holds).
    RuntimeError
        When the storage cannot be read. Messages name the storage with its
        password masked: a driver's own message may quote the URL.
    """
    where = mask_url(storage)
    try:
        opened = open_existing_storage(storage)
        names = optuna.get_all_study_names(opened)
        if study_name in names:
            return optuna.load_study(study_name=study_name, storage=opened)
    except StudyNotFoundError:
        raise
    except Exception as exc:
        raise RuntimeError(
            f"cannot read {where}: {type(exc).__name__}: {mask_url(str(exc))}"
        ) from None
    raise StudyNotFoundError(f"no study {study_name!r} in {where}; it holds {sorted(names)}")


class FlockLock(JournalFileOpenLock):
    """Journal lock held with ``flock`` on ``<journal>.lock``.

    Optuna's file locks are lock files that a killed writer leaves behind, and
    the next writer waits out a grace period before breaking them. The kernel
    releases an ``flock`` when its holder dies, so a killed worker never
    stalls the others. Local file systems only (as is the journal default).
    """

    def __init__(self, filepath: str) -> None:
        self._path = filepath + ".lock"
        self._fd: int | None = None

    def acquire(self) -> bool:
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX)
        self._fd = fd
        return True

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


class JournalFile(BaseJournalBackend):
    """A journal file that stays readable when a record in it is torn.

    Optuna's file backend stops with a ``JSONDecodeError`` at a torn record in
    the middle of the file: a writer killed mid-append leaves part of a record,
    and the next writer's record follows it on the same line. Here such a line
    yields the complete record it ends with, and the torn bytes before it (or a
    line with no complete record) are left out of the study with a warning that
    names the file and the byte offset; nothing in the file changes. A record
    still being written at the end of the file waits for its newline.

    Parameters
    ----------
    path : Path
        The journal file (created empty if missing).
    lock : FlockLock
        Held while appending.
    """

    _START = b'{"op_code"'  # every record begins so: json.dumps keeps the key order

    def __init__(self, path: Path, lock: FlockLock):
        self.path, self.lock = path, lock
        if not path.exists():
            path.touch()
        self._resume: dict[int, int] = {0: 0}  # log number -> byte offset to read it from
        self._warned: set[int] = set()

    def read_logs(self, log_number_from: int) -> Iterator[dict[str, Any]]:
        # Readers ask from where they stopped, which is known; else read from the start.
        number = log_number_from if log_number_from in self._resume else 0
        offset = self._resume[number]
        with open(self.path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            f.seek(offset)
            while offset < size:
                line = f.readline()
                if not line.endswith(b"\n") or offset + len(line) > size:
                    return  # a record still being written (or cut short at the end)
                record = self._record(line, offset)
                offset += len(line)
                if record is None:
                    continue
                number += 1
                self._resume[number] = offset
                if number > log_number_from:
                    yield record

    def _record(self, line: bytes, offset: int) -> dict[str, Any] | None:
        """The complete record of a line, the torn bytes before it reported."""
        start = 0
        while start != -1:
            try:
                record = json.loads(line[start:])
            except ValueError:
                start = line.find(self._START, start + 1)
                continue
            if start:
                self._torn(offset, start)
            return record
        self._torn(offset, len(line) - 1)
        return None

    def _torn(self, offset: int, length: int) -> None:
        if offset in self._warned:
            return
        self._warned.add(offset)
        warnings.warn(
            f"{self.path}: a torn record at byte {offset} ({length} bytes; a writer was killed "
            "mid-write) is left out of the study; the records around it are kept",
            RuntimeWarning,
            stacklevel=3,
        )

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        text = "".join(json.dumps(log, separators=(",", ":")) + "\n" for log in logs)
        self.lock.acquire()
        try:
            with open(self.path, "ab") as f:
                f.write(text.encode("utf-8"))
                f.flush()
                os.fsync(f.fileno())
        finally:
            self.lock.release()


def repair_journal(path: str | os.PathLike, lock: FlockLock | None = None) -> int:
    """Cut a torn last record (a writer killed mid-append) off a journal file.

    Every complete record ends with a newline, so bytes after the last newline
    are an unfinished write. They are moved to ``<journal>.torn`` (nothing is
    deleted) and a warning says so. Returns the number of bytes cut.
    """
    path = Path(path)
    lock = lock or FlockLock(str(path))
    lock.acquire()
    try:
        if not path.exists() or path.stat().st_size == 0:
            return 0
        with open(path, "rb+") as f:
            size = f.seek(0, os.SEEK_END)
            f.seek(max(0, size - 1))
            if f.read(1) == b"\n":
                return 0
            data_end = _last_newline_end(f, size)
            f.seek(data_end)
            torn = f.read()
            with open(path.with_name(path.name + ".torn"), "ab") as out:
                out.write(torn + b"\n")
            f.truncate(data_end)
            f.flush()
            os.fsync(f.fileno())
    finally:
        lock.release()
    warnings.warn(
        f"{path}: the last record was incomplete (a writer was killed mid-write); "
        f"moved its {len(torn)} bytes to {path.name}.torn, all complete records are kept",
        RuntimeWarning,
        stacklevel=2,
    )
    return len(torn)


@contextlib.contextmanager
def exclusive(storage: str, study_name: str) -> Iterator[None]:
    """Hold a lock that serializes runs of one study while they issue trials.

    Two runs of the same study (two shells, or a run and ``tuner worker``) each
    count the missing trials and issue them; the lock makes that count-and-issue
    atomic, so together they never exceed the budget. A journal file or SQLite
    database is locked with ``flock`` beside it, PostgreSQL with an advisory lock.
    """
    if is_local_file(storage) or storage.startswith("sqlite:///"):
        path = _sqlite_path(storage) or storage
        lock = FlockLock(f"{path}.{study_name}.issue")
        lock.acquire()
        try:
            yield
        finally:
            lock.release()
    elif storage.startswith("postgresql"):
        import sqlalchemy

        key = zlib.crc32(study_name.encode())  # the advisory lock's id for this study
        engine = sqlalchemy.create_engine(_driver_url(storage), poolclass=sqlalchemy.pool.NullPool)
        try:
            with engine.connect() as conn:
                conn.execute(sqlalchemy.text("SELECT pg_advisory_lock(:k)"), {"k": key})
                try:
                    yield
                finally:
                    conn.execute(sqlalchemy.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
        finally:
            engine.dispose()
    else:  # other databases: no portable lock; concurrent runs may overshoot
        yield


def _last_newline_end(f, size: int, chunk: int = 1 << 16) -> int:
    """Offset just past the last newline of file ``f`` (0 when there is none)."""
    end = size
    while end > 0:
        start = max(0, end - chunk)
        f.seek(start)
        block = f.read(end - start)
        i = block.rfind(b"\n")
        if i >= 0:
            return start + i + 1
        end = start
    return 0
