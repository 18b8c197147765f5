"""The journal file: Optuna's file storage, kept readable when a writer is killed mid-write."""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from optuna.storages import JournalStorage
from optuna.storages.journal import BaseJournalBackend

from .locks import FlockLock
from .optuna_compat import RUNNING_TRIAL_OPS

__all__ = ["JournalFile", "StudyNotFoundError", "check_journal", "open_journal", "repair_journal"]


class StudyNotFoundError(LookupError):
    """The storage, or the study in it, does not exist (or a file is not a journal)."""


def open_journal(path: str | os.PathLike, read_only: bool = False) -> JournalStorage:
    """Optuna's journal storage on the file ``path`` (created with its folder unless read only).

    A torn last record is moved aside first (:func:`repair_journal`); read only,
    it is skipped instead and the file is left untouched.
    """
    path = Path(path)
    check_journal(path)
    lock = FlockLock(path)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
        repair_journal(path, lock)
    return JournalStorage(JournalFile(path, lock))


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
        if os.stat(self.path).st_size <= offset:
            return  # nothing new: read before every look at the study, so without an open
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
        # Written at once, to the disk only when they must survive a power loss: a
        # running trial's progress (its parameters, epochs and attributes; dozens of
        # records a trial) goes to the disk with the record that ends the trial, since
        # fsync writes the whole file. Cut short, that trial would run again anyway.
        text = "".join(json.dumps(log, separators=(",", ":")) + "\n" for log in logs)
        durable = any(log.get("op_code") not in RUNNING_TRIAL_OPS for log in logs)
        self.lock.acquire()
        try:
            with open(self.path, "ab") as f:
                f.write(text.encode("utf-8"))
                f.flush()
                if durable:
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
    lock = lock or FlockLock(path)
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
