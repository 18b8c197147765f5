"""Writing a report to ``<out_dir>/<study>/``: CSV, Parquet, Markdown, PNG, HTML and JSON files.

Only that folder is written, under fixed file names: a study name becomes one
safe folder name (:func:`report_folder`), and no parameter or optimizer name
ever becomes part of a path. Whatever the formats, ``verdict.json`` holds the
verdict (:meth:`tuner.report.verdict.Verdict.to_dict`: ``leader``,
``decided``, ``confidence``, ``k``, ``prob_best``, ``reason``, the test
scores and ``test_lead_beyond_noise``, and the numbers behind them), so that
a program can read the answer of any report. Files hold nothing that
changes from one writing to the next (no time stamps but the study's own, no
software versions in PNGs, fixed bootstrap and permutation seeds, JSON keys
sorted), so writing the same report twice gives the same bytes.

Each file, and each plot, is written on its own (:func:`~tuner.report.problems.guarded`):
one that fails is left out, named with its reason on the page, and the
others are written. ``verdict.json`` is written first, whatever else fails.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from ..study.storage import check_study_name
from .display import SUMMARY_NOTES, SUMMARY_NUMERIC, markdown_table, summary_display
from .page import plot_images, render_page
from .problems import find_problem, guarded

if TYPE_CHECKING:
    from . import Report

__all__ = ["FORMATS", "TABLES", "check_formats", "report_folder", "write_report"]

#: What :func:`write_report` can write; it writes ``verdict.json`` whatever the formats.
FORMATS = ("csv", "parquet", "md", "png", "html")
#: The tables written as ``<name>.csv`` and ``<name>.parquet``.
TABLES = ("trials", "curves", "summary", "importances", "final")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def report_folder(study_name: str) -> str:
    """A folder name for a study: the name itself when safe, else a safe form of it.

    A name with other characters than letters, digits, ``.``, ``_`` and ``-``
    (a ``/``, ``..``, spaces) has them replaced and gets a short hash of the
    full name, so that different names never share a folder: ``"a/../b"``
    becomes ``"a_._b-900ea8b7"``.
    """
    try:
        return check_study_name(study_name)
    except ValueError:
        pass
    slug = re.sub(r"\.{2,}", ".", _UNSAFE.sub("_", study_name)).strip("._-")[:100] or "study"
    digest = hashlib.sha256(study_name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return check_study_name(f"{slug}-{digest}")


def check_formats(formats: Iterable[str] | str | None) -> list[str]:
    """The formats asked for, checked; by default all, Parquet only when pyarrow is installed.

    Raises ``ValueError`` naming an unknown format.
    """
    has_arrow = importlib.util.find_spec("pyarrow") is not None
    if formats is None:
        return [f for f in FORMATS if f != "parquet" or has_arrow]
    names = formats.split(",") if isinstance(formats, str) else formats
    asked = [f.strip().lower() for f in names]
    unknown = [f for f in asked if f not in FORMATS]
    if unknown:
        raise ValueError(f"unknown report format(s) {unknown}; choose from {list(FORMATS)}")
    if "parquet" in asked and not has_arrow:
        raise ImportError("the parquet format needs pyarrow: pip install 'optim-tuner[parquet]'")
    return list(dict.fromkeys(asked))


def write_report(
    report: Report, out_dir: str | Path = "reports", formats: Iterable[str] | str | None = None
) -> Path:
    """Write ``report`` to ``out_dir/<study>/`` and return that folder.

    Parameters
    ----------
    report : Report
        What to write.
    out_dir : str or Path, default="reports"
        Parent folder; the report goes to its subfolder :func:`report_folder`.
    formats : iterable of str or str, optional
        Some of :data:`FORMATS` (a list, or text such as ``"csv,html"``):
        ``csv`` and ``parquet`` write the ``trials``, ``curves``, ``summary``,
        ``importances`` and ``final`` (test scores of the final fits) tables;
        ``md`` writes ``summary.md`` (the verdict's sentence, then the summary
        table); ``png`` writes one image per plot;
        ``html`` writes ``index.html`` with the plots inside. Default: all of
        them (Parquet when pyarrow is installed). ``verdict.json`` is always
        written.

    Returns
    -------
    Path
        The report's folder.
    """
    chosen = check_formats(formats)
    folder = Path(out_dir) / report_folder(report.study_name)
    folder.mkdir(parents=True, exist_ok=True)
    verdict = json.dumps(report.verdict.to_dict(), indent=2, sort_keys=True, allow_nan=False)
    _write(folder / "verdict.json", verdict + "\n")
    problems = list(report.problems)
    names = report.plot_names
    images = plot_images(report, names, problems) if {"png", "html"} & set(chosen) else {}
    plots = {f"{name}.png": partial(images.get, name) for name in names if "png" in chosen}
    files = _files(report, chosen) | plots
    for name, make in files.items():
        data = guarded(problems, name, make, None)
        if data is None:  # left out: no older version of it stays beside this report
            (folder / name).unlink(missing_ok=True)
        else:
            (folder / name).write_bytes(data)
    if "html" in chosen:
        _write(folder / "index.html", render_page(report, images, problems))
    return folder


def _files(report: Report, chosen: list[str]) -> dict[str, Callable[[], bytes | None]]:
    """The table and Markdown files of the formats chosen, by name, each as a function
    that makes its bytes (None for a table that could not be built)."""
    files: dict[str, Callable[[], bytes | None]] = {}
    for name in TABLES:
        table = None if find_problem(report.problems, name) else getattr(report, name)
        if "csv" in chosen:
            files[f"{name}.csv"] = partial(_csv, table)
        if "parquet" in chosen:
            files[f"{name}.parquet"] = partial(_parquet, table)
    if "md" in chosen:
        files["summary.md"] = partial(_summary_markdown, report)
    return files


def _csv(table: pd.DataFrame | None) -> bytes | None:
    return None if table is None else table.to_csv(index=False, lineterminator="\n").encode()


def _parquet(table: pd.DataFrame | None) -> bytes | None:
    return None if table is None else table.to_parquet(index=False)


def _summary_markdown(report: Report) -> bytes | None:
    """``summary.md``: the verdict's sentence, the summary table, then what its columns mean."""
    if find_problem(report.problems, "summary"):
        return None
    table = markdown_table(summary_display(report.summary), SUMMARY_NUMERIC)
    notes = "\n".join(f"- **{name}**: {text}" for name, text in SUMMARY_NOTES.items())
    return f"{report.verdict.reason}\n\n{table}\n\n{notes}\n".encode()


def _write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8", newline="\n")
