"""The data of a study: a bundled scikit-learn dataset, a ``make_*`` generator or a CSV file.

Everything works offline: the ``fetch_*`` datasets of scikit-learn download
their data and are not accepted (save such data as CSV instead). Errors are
:class:`~tuner.errors.StudyFileError` naming the study file's ``data.*`` key.

>>> X, y = load_data(DataSpec("dataset", "iris"))
>>> X.shape, y.shape
((150, 4), (150,))
"""

from __future__ import annotations

import csv
import inspect
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from .errors import StudyFileError, did_you_mean

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "MAX_MAGNITUDE",
    "DataSpec",
    "bundled_datasets",
    "check_data",
    "generators",
    "load_data",
]

#: Largest feature magnitude accepted: the square of a larger one overflows float64.
MAX_MAGNITUDE = 1e150


@dataclass(frozen=True)
class DataSpec:
    """Where a study's data comes from: the ``[data]`` table of a study file.

    Attributes
    ----------
    kind : {"dataset", "generator", "csv"}
        A bundled scikit-learn dataset, a ``make_*`` generator or a CSV file.
    name : str
        The dataset name, the generator function name or the CSV path as written.
    args : dict
        Keyword arguments of the generator.
    target : str or None
        Target column of the CSV file.
    origin : Path or None
        The study file: named in errors; relative CSV paths start from its folder.
    """

    kind: Literal["dataset", "generator", "csv"]
    name: str
    args: dict[str, Any] = field(default_factory=dict)
    target: str | None = None
    origin: Path | None = None


def _datasets():
    """``sklearn.datasets``, imported on first use rather than with this module
    (as pandas is): they take seconds to import, which ``tuner --help`` should not
    wait for."""
    import sklearn.datasets

    return sklearn.datasets


def bundled_datasets() -> list[str]:
    """Names accepted by ``dataset =``: the ``sklearn.datasets.load_<name>`` loaders
    that ship their data and return ``(X, y)`` (``digits``, ``iris``, ``diabetes``, ...)."""
    return sorted(
        name.removeprefix("load_")
        for name in dir(_datasets())
        if name.startswith("load_") and "return_X_y" in _parameters(name)
    )


def generators() -> list[str]:
    """Names accepted by ``generator =``: the ``sklearn.datasets.make_*`` functions."""
    return sorted(name for name in dir(_datasets()) if name.startswith("make_"))


def _parameters(function_name: str) -> list[str]:
    return list(inspect.signature(getattr(_datasets(), function_name)).parameters)


def _error(data: DataSpec, key: str, reason: str) -> StudyFileError:
    return StudyFileError(data.origin or "<data>", f"data.{key}", reason)


def _unknown(data: DataSpec, what: str, names: list[str], hint: str = "") -> StudyFileError:
    suggestion = did_you_mean(data.name, names)
    return _error(
        data,
        data.kind,
        f"unknown {what} {data.name!r}{suggestion}{hint}; available: {', '.join(names)}",
    )


def _csv_path(data: DataSpec, base_dir: str | Path | None) -> Path:
    path = Path(data.name).expanduser()
    if base_dir is None:
        base_dir = data.origin.parent if data.origin is not None else Path.cwd()
    return path if path.is_absolute() else Path(base_dir) / path


def check_data(data: DataSpec, base_dir: str | Path | None = None) -> None:
    """Check that ``data`` can be loaded, without loading it.

    Parameters
    ----------
    data : DataSpec
        The data source of a study.
    base_dir : str or Path, optional
        Folder that a relative CSV path starts from; default: the folder of
        ``data.origin`` (the study file), else the working directory.

    Raises
    ------
    StudyFileError
        Naming the ``data.*`` key: unknown dataset or generator, unknown
        generator argument, missing CSV file or target column.
    """
    if data.kind == "dataset" and data.name not in bundled_datasets():
        online = hasattr(_datasets(), f"fetch_{data.name}")
        hint = " (fetch_* datasets need the network: save the data as CSV)" if online else ""
        raise _unknown(data, "bundled dataset", bundled_datasets(), hint)
    if data.kind == "generator":
        _check_generator(data)
    if data.kind == "csv":
        columns = _read_csv(data, _csv_path(data, base_dir), nrows=0).columns
        if data.target not in columns:
            raise _error(
                data, "target", f"no column {data.target!r} in {data.name}; it has {list(columns)}"
            )


def _check_generator(data: DataSpec) -> None:
    if data.name not in generators():
        raise _unknown(data, "generator", generators())
    accepted = _parameters(data.name)
    for arg in data.args:
        if arg not in accepted:
            raise _error(
                data, f"args.{arg}", f"{data.name} has no argument {arg!r}; it takes {accepted}"
            )


def load_data(data: DataSpec, base_dir: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Load the features ``X`` (float64, 2-D) and target ``y`` of a study.

    Parameters
    ----------
    data : DataSpec
        The data source, usually ``load_study_file(path).data``.
    base_dir : str or Path, optional
        Folder that a relative CSV path starts from (see :func:`check_data`).

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,) or (n_samples, n_outputs)

    Raises
    ------
    StudyFileError
        Naming the ``data.*`` key, for the reasons of :func:`check_data` and
        for a generator that rejects its arguments or a CSV file with
        non-numeric feature columns or missing values.
    """
    check_data(data, base_dir)
    if data.kind == "dataset":
        X, y = getattr(_datasets(), f"load_{data.name}")(return_X_y=True)
    elif data.kind == "generator":
        X, y = _generate(data)
    else:
        X, y = _load_csv(data, _csv_path(data, base_dir))
    return np.asarray(X, dtype=np.float64), np.asarray(y)


def _generate(data: DataSpec) -> tuple[np.ndarray, np.ndarray]:
    args = dict(data.args)
    if "random_state" in _parameters(data.name):
        # Every worker process generates the data again: it must be the same data.
        args.setdefault("random_state", 0)
    try:
        result = getattr(_datasets(), data.name)(**args)
    except (TypeError, ValueError) as exc:
        raise _error(data, "args", f"{data.name} rejected its arguments: {exc}") from None
    is_dataset = (
        isinstance(result, tuple)
        and len(result) == 2
        and np.ndim(result[0]) == 2
        and len(result[0]) == len(result[1])
    )
    if not is_dataset:
        raise _error(data, "generator", f"{data.name} does not return a dataset (X, y)")
    return result


def _read_csv(data: DataSpec, path: Path, **options) -> pd.DataFrame:
    import pandas as pd

    try:
        return pd.read_csv(path, **options)
    except FileNotFoundError:
        raise _error(data, "csv", f"file not found: {path}") from None
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise _error(data, "csv", f"cannot read {path}: {reason}") from None


def _load_csv(data: DataSpec, path: Path) -> tuple[np.ndarray, np.ndarray]:
    # pandas renames a repeated column ("label" -> "label.1"): a second target column
    # would then leak the target into the features.
    import pandas as pd

    header = next(csv.reader(_read_csv_header(data, path)), [])
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise _error(data, "csv", f"repeated column names {repeated}: give every column its own")
    frame = _read_csv(data, path)
    features = frame.drop(columns=[data.target])
    if features.columns.empty:
        raise _error(data, "csv", f"{data.name} has no feature column besides the target")
    text = features.columns[~features.apply(pd.api.types.is_numeric_dtype)].tolist()
    if text:
        raise _error(data, "csv", f"non-numeric feature columns {text}: encode them as numbers")
    if frame.empty:
        raise _error(data, "csv", f"{data.name} has no rows")
    missing = frame.columns[frame.isna().any()].tolist()
    if missing:
        raise _error(data, "csv", f"missing values in columns {missing}: fill or drop them")
    X = features.to_numpy(dtype=np.float64)
    infinite = features.columns[~np.isfinite(X).all(axis=0)].tolist()
    if infinite:
        raise _error(data, "csv", f"infinite values in columns {infinite}: clip or drop them")
    huge = features.columns[(np.abs(X) > MAX_MAGNITUDE).any(axis=0)].tolist()
    if huge:
        raise _error(
            data, "csv", f"values beyond {MAX_MAGNITUDE:.0e} in columns {huge}: their squares "
            "overflow in scaling and training; rescale them"
        )  # fmt: skip
    return X, frame[data.target].to_numpy()


def _read_csv_header(data: DataSpec, path: Path) -> list[str]:
    """The first line of the CSV file (for its column names as written)."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            return [f.readline()]
    except FileNotFoundError:
        raise _error(data, "csv", f"file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise _error(data, "csv", f"cannot read {path}: {exc}") from None
