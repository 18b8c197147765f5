"""Where studies live: the embedded journal file by default, or a database URL.

Also the storage's faults: :func:`retry` retries what a dropped connection or
a restarted server makes fail.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import optuna
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback

from .journal import StudyNotFoundError, open_journal

__all__ = [
    "JOURNAL_FILE",
    "StorageUnreachableError",
    "StudyNotFoundError",
    "check_storage_url",
    "check_study_name",
    "default_storage",
    "driver_url",
    "heartbeat_settings",
    "is_local_file",
    "load_existing_study",
    "mask_url",
    "open_database",
    "open_existing_storage",
    "open_storage",
    "retry",
    "sqlite_path",
    "transient_errors",
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


def driver_url(url: str) -> str:
    """``postgresql://`` names psycopg2; use psycopg 3 when only that one is installed."""
    if url.startswith("postgresql://") and importlib.util.find_spec("psycopg2") is None:
        if importlib.util.find_spec("psycopg") is not None:
            return "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


#: How a trial whose worker died is run again: its parameters queued as a new trial.
with warnings.catch_warnings():  # marked experimental in Optuna; relied upon here
    warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
    RERUN = RetryHeartbeatStaleTrialCallback()


def open_database(url: str, heartbeat_interval: int = 10, grace_period: int = 30) -> RDBStorage:
    """An Optuna database storage set up for many worker processes.

    Heartbeats are on: a RUNNING trial whose worker stopped beating for
    ``grace_period`` seconds is failed by the next worker that looks, and its
    parameters are queued again (:data:`RERUN`). Pooled
    connections are checked before use, so a dropped connection is replaced
    instead of failing a call.
    """
    url = driver_url(url)
    engine_kwargs: dict = {"pool_pre_ping": True}
    if url.startswith("postgresql"):
        # Named connections let an operator (or a test) find the study's sessions.
        engine_kwargs.update(
            pool_size=2, max_overflow=4, pool_recycle=600,
            connect_args={"application_name": "tuner"},
        )  # fmt: skip
    from sqlalchemy.exc import IntegrityError

    for attempt in range(2):
        try:
            with warnings.catch_warnings():  # heartbeats are marked experimental; relied upon
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return RDBStorage(
                    url,
                    engine_kwargs=engine_kwargs,
                    heartbeat_interval=heartbeat_interval,
                    grace_period=grace_period,
                    heartbeat_stale_trial_callback=RERUN,
                )
        except IntegrityError:  # another process created the tables at the same moment
            if attempt:
                raise
            time.sleep(0.5)
    raise AssertionError("unreachable")


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
            **heartbeat_settings(),
        )
    return open_journal(storage)


def check_storage_url(storage: str) -> str:
    """Return ``storage`` if it is a file path or a database URL that SQLAlchemy knows.

    Raises ``ValueError`` (the URL masked) for an empty value or an unknown scheme
    (``bogus://x``, Optuna's removed ``redis://``), before anything is contacted.
    """
    if not storage.strip():
        raise ValueError("must not be empty; leave it out for the default")
    if "://" not in storage:
        return storage
    heartbeat_settings()  # a database's heartbeats come from the environment
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        make_url(driver_url(storage)).get_dialect()
    except (ArgumentError, NoSuchModuleError, ValueError):
        raise ValueError(
            f"{mask_url(storage)!r} is not a storage: give a journal file path or a database "
            "URL such as sqlite:///studies.db or postgresql://user@host/db"
        ) from None
    path = sqlite_path(storage)
    if not (storage.startswith("postgresql") or path):
        # Workers count and start trials under a lock that only these storages offer.
        raise ValueError(
            f"{mask_url(storage)!r}: a database storage is sqlite:///<file> or "
            "postgresql://...; for others use a journal file path"
        )
    if path is not None and path.startswith(":memory:"):
        raise ValueError(
            f"{mask_url(storage)!r} lives in one process and is gone when it ends: give "
            "sqlite:///<file> or a journal file path"
        )
    return storage


def heartbeat_settings() -> dict[str, int]:
    """``heartbeat_interval`` and ``grace_period`` of a database storage, in seconds:
    ``$TUNER_HEARTBEAT_INTERVAL`` (default 10) and ``$TUNER_GRACE_PERIOD`` (default 30).
    Raises ``ValueError`` naming the variable when one is not a whole number >= 1."""
    return {
        "heartbeat_interval": _seconds_from_env("TUNER_HEARTBEAT_INTERVAL", 10),
        "grace_period": _seconds_from_env("TUNER_GRACE_PERIOD", 30),
    }


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


def sqlite_path(url: str) -> str | None:
    """The database file of a ``sqlite:///`` URL (without ``?timeout=...`` options)."""
    if not url.startswith("sqlite:///"):
        return None
    return url.removeprefix("sqlite:///").partition("?")[0]


def open_existing_storage(storage: str) -> optuna.storages.BaseStorage:
    """:func:`open_storage` for reading: a journal or SQLite file that is not there
    raises :class:`StudyNotFoundError` instead of being created, and a journal
    file is left untouched (its torn last record, if any, is skipped, not moved)."""
    path = sqlite_path(storage) or storage
    if (path != storage or is_local_file(storage)) and not Path(path).is_file():
        raise StudyNotFoundError(f"no study storage at {mask_url(storage)}")
    if path != storage and Path(path).stat().st_size == 0:  # Optuna would write its tables
        raise StudyNotFoundError(f"no study storage at {mask_url(storage)} (an empty file)")
    if not is_local_file(storage):
        _check_has_studies_table(storage)  # Optuna's storage would create its tables
        return open_storage(storage)
    return open_journal(storage, read_only=True)


def _check_has_studies_table(url: str) -> None:
    """Raise :class:`StudyNotFoundError` unless database ``url`` holds Optuna's tables."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(driver_url(url))
    try:
        found = sqlalchemy.inspect(engine).has_table("studies")
    finally:
        engine.dispose()
    if not found:
        raise StudyNotFoundError(f"no study storage at {mask_url(url)} (no Optuna tables)")


def load_existing_study(storage: str, study_name: str) -> optuna.Study:
    """Load study ``study_name`` from ``storage``, creating neither.

    Raises
    ------
    StudyNotFoundError
        When a journal file is missing, or the storage holds no such study
        (the message lists the studies it holds).
    StorageUnreachableError
        When a database stays unreachable through :func:`retry`'s tries.
    RuntimeError
        When the storage cannot be read otherwise. Messages name the storage
        with its password masked: a driver's own message may quote the URL.
    """
    try:
        return retry(_load_existing_study, storage, study_name)
    except StudyNotFoundError:
        raise
    except transient_errors() as exc:
        raise StorageUnreachableError.of(storage, exc) from None
    except Exception as exc:
        raise RuntimeError(
            f"cannot read {mask_url(storage)}: {type(exc).__name__}: {mask_url(str(exc))}"
        ) from None


def _load_existing_study(storage: str, study_name: str) -> optuna.Study:
    opened = open_existing_storage(storage)
    names = optuna.get_all_study_names(opened)
    if study_name not in names:
        where = mask_url(storage)
        raise StudyNotFoundError(f"no study {study_name!r} in {where}; it holds {sorted(names)}")
    return optuna.load_study(study_name=study_name, storage=opened)


T = TypeVar("T")


class StorageUnreachableError(RuntimeError):
    """A database storage that stayed unreachable, or refused writes, through :func:`retry`'s
    tries; what the study holds is kept."""

    @classmethod
    def of(cls, storage: str | None, exc: BaseException) -> StorageUnreachableError:
        """The error for ``storage`` (a URL, masked here) that failed with ``exc``."""
        cause = exc.__cause__ or exc
        first = next((line.strip() for line in str(cause).splitlines() if line.strip()), "")
        where = mask_url(storage) if storage else "of the study"
        return cls(f"the database {where} is unreachable or refused a write "
                   f"({type(cause).__name__}: {mask_url(first)})")  # fmt: skip


def transient_errors() -> tuple[type[BaseException], ...]:
    """Storage errors worth another try: a dropped connection, a restarted server.

    SQLAlchemy's errors can only be raised once a database storage has imported
    it; a worker on a journal file does without its import (a third of a second).
    """
    sa = sys.modules.get("sqlalchemy.exc")
    if sa is None:
        return (optuna.exceptions.StorageInternalError,)
    return (optuna.exceptions.StorageInternalError, sa.OperationalError, sa.InterfaceError)


def retry(fn: Callable[..., T], *args: Any, attempts: int = 6, **kwargs: Any) -> T:
    """Call ``fn``, retrying transient storage errors with exponential backoff (~6 s)."""
    delay = 0.1
    for attempt in range(attempts):
        try:
            return fn(*args, **kwargs)
        except transient_errors():
            if attempt == attempts - 1:
                raise
            time.sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")
