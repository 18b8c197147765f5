"""Report files: what is written where, byte for byte, the HTML page, PNGs, names and secrets."""

from __future__ import annotations

import importlib.util
import json
import struct
from html import escape
from html.parser import HTMLParser
from pathlib import Path

import optuna
import pytest
from test_report_studies import make_study, make_trial, wine_study

from tuner.report import FORMATS, Report, report_folder, write_report
from tuner.report.display import SUMMARY_NOTES
from tuner.report.page import render_page
from tuner.report.plotting import DPI, SIZES
from tuner.study.storage import StudyNotFoundError, check_study_name, open_storage

TABLE_FILES = {f"{name}.csv" for name in ("trials", "curves", "summary", "importances", "final")}
PLOTS = [name for name in SIZES if name != "pareto"]  # a single-objective study's plots
PNG_FILES = {f"{name}.png" for name in PLOTS}


@pytest.fixture(scope="module")
def wine() -> Report:
    return Report.from_study(wine_study())


@pytest.fixture(scope="module")
def wine_folder(wine, tmp_path_factory) -> Path:
    return wine.save(tmp_path_factory.mktemp("reports"))


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


class _Page(HTMLParser):
    """Collects the tags, the section ids and every attribute that refers to something."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.ids: list[str] = []
        self.refs: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            if name == "id":
                self.ids.append(value)
            if name in ("src", "href", "action", "data", "srcset", "poster"):
                self.refs.append(value)


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    return page


# -- the files -----------------------------------------------------------------------
def test_every_file_is_written_in_the_study_folder_and_not_empty(wine_folder):
    files = _files(wine_folder)
    has_arrow = importlib.util.find_spec("pyarrow") is not None  # Parquet only with pyarrow
    parquet = {n.replace(".csv", ".parquet") for n in TABLE_FILES} if has_arrow else set()
    expected = TABLE_FILES | parquet | PNG_FILES | {"summary.md", "index.html", "verdict.json"}
    assert set(files) == expected
    assert all(len(data) > 0 for data in files.values())
    assert wine_folder.name == "wine"


def test_writing_a_report_again_gives_the_same_bytes(wine_folder, tmp_path):
    again = Report.from_study(wine_study()).save(tmp_path)  # built afresh, not reused
    assert _files(again) == _files(wine_folder)


def test_plots_are_pngs_of_the_announced_size(wine_folder):
    for name in PLOTS:
        width, height = SIZES[name]
        data = (wine_folder / f"{name}.png").read_bytes()
        assert _png_size(data) == (round(width * DPI), round(height * DPI)), name


def test_summary_markdown_is_the_verdict_then_a_row_per_summary_row(wine, wine_folder):
    text = (wine_folder / "summary.md").read_text()
    head, notes = text.split("\n\n- ", 1)
    verdict, blank, *lines = head.splitlines()
    assert verdict == wine.verdict.reason and blank == ""
    assert lines[0].startswith("| optimizer | schedule | trials |")
    assert set(lines[1]) <= set("|-:")
    assert len(lines) == 2 + len(wine.summary)
    assert all(line.count("|") == lines[0].count("|") for line in lines)
    # Then a note per column: what "compute", "k" and the others mean.
    notes = ("- " + notes).splitlines()
    assert len(notes) == len(SUMMARY_NOTES) and any("**compute**" in n for n in notes)


def test_verdict_json_is_the_reports_verdict(wine, wine_folder):
    written = json.loads((wine_folder / "verdict.json").read_text())
    assert written == wine.verdict.to_dict()
    assert {"leader", "decided", "confidence", "k", "prob_best", "reason"} <= set(written)
    assert written["k"] == wine.summary["k"].iloc[0]


def test_the_page_headline_and_summary_md_say_the_same_sentence(wine, wine_folder):
    html = (wine_folder / "index.html").read_text()
    state = "decided" if wine.verdict.decided else "undecided"
    assert f'<p class="headline verdict {state}">{escape(wine.verdict.reason)}</p>' in html
    assert (wine_folder / "summary.md").read_text().startswith(wine.verdict.reason + "\n")
    assert "beyond their 95% intervals" not in html


def test_formats_choose_the_files(wine, tmp_path):
    folder = write_report(wine, tmp_path, "csv, md")
    assert set(_files(folder)) == TABLE_FILES | {"summary.md", "verdict.json"}
    with pytest.raises(ValueError, match=r"unknown report format.*'pdf'.*choose from"):
        write_report(wine, tmp_path, ["csv", "pdf"])
    assert set(FORMATS) == {"csv", "parquet", "md", "png", "html"}


# -- the page ------------------------------------------------------------------------
def test_the_page_parses_and_needs_no_network(wine_folder):
    html = (wine_folder / "index.html").read_text()
    page = _parse(html)
    assert page.tags[0] == "html" and "script" not in page.tags and "link" not in page.tags
    assert page.refs and all(ref.startswith("data:image/png;base64,") for ref in page.refs)
    assert len(page.refs) == len(PLOTS) - 1  # the test scores' plot: only with final fits
    assert "http://" not in html and "https://" not in html and "url(" not in html


def test_the_page_shows_summary_then_plots_then_trials(wine, wine_folder):
    html = (wine_folder / "index.html").read_text()
    ids = _parse(html).ids
    assert ids.index("summary") < ids.index("plots") < ids.index("trials")
    assert html.count("<tr") == len(wine.summary) + len(wine.trials) + len(wine.best.params) + 3
    assert f"Best: <b>{wine.best.params['optimizer']} + " in html
    assert f"at an equal budget of {wine.summary['k'].iloc[0]} trials" in html


def test_text_from_the_study_is_escaped():
    trial = make_trial("fail", attrs={"error": "<script>alert(1)</script>"})
    study = make_study([trial], estimator="<b>x</b>")
    html = render_page(Report.from_study(study), {})
    assert "<script>" not in html and "&lt;script&gt;" in html and "<b>x</b>" not in html


def test_the_page_says_when_a_study_is_still_running():
    trials = [make_trial(value=0.5), make_trial("running"), make_trial("waiting")]
    html = render_page(Report.from_study(make_study(trials)), {})
    assert "The study is not finished: 1 running and 1 waiting." in html
    html = render_page(Report.from_study(make_study(trials, n_trials=5)), {})
    assert "The study is not finished: 1 of its 5 trials ended (1 running and 1 waiting)." in html


def test_a_study_of_another_program_is_reported_plainly():
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(lambda t: t.suggest_float("x", 0.0, 1.0), n_trials=3)
    html = render_page(Report.from_study(study), {})
    assert f"Best: <b>x={study.best_params['x']:.4g}</b>" in html
    assert "choose no optimizer, so there is nothing to compare" in html
    assert "No trial finished yet" not in html


def test_one_trial_per_optimizer_is_too_few_to_call_a_leader():
    # A bootstrap of one score is an interval of zero width: it must not look like one.
    trials = [make_trial(value=0.9), make_trial(value=0.8, optimizer="adam")]
    html = render_page(Report.from_study(make_study(trials)), {})
    assert "Too few trials to compare: sgd has 1 finished trial, adam 1 (3 needed)" in html
    assert "0.9 (0.9, 0.9)" not in html and "0.9 (too few trials)" in html


def test_the_header_states_how_the_trials_were_allocated():
    trials = [make_trial(value=0.9), make_trial(value=0.8, optimizer="adam")]
    equal = make_study(trials, allocation="equal", n_trials=30)
    assert "equal budgets: 10 trials per optimizer" in render_page(Report.from_study(equal), {})
    adaptive = make_study(trials, allocation={"name": "adaptive"})
    html = render_page(Report.from_study(adaptive), {})
    assert "adaptive: the sampler chose how many trials each optimizer got" in html
    assert "equal budgets" not in render_page(Report.from_study(make_study(trials)), {})


def test_the_page_says_when_a_timeout_left_part_of_the_budget():
    # A study that timed out has no queued trials, only fewer trials than its budget.
    html = render_page(Report.from_study(make_study([make_trial(value=0.5)], n_trials=40)), {})
    assert "The study is not finished: 1 of its 40 trials ended." in html
    done = make_study([make_trial(value=0.5), make_trial(value=0.6)], n_trials=2)
    assert "not finished" not in render_page(Report.from_study(done), {})


# -- edge cases, names and secrets ---------------------------------------------------
@pytest.mark.parametrize(
    "trials",
    [
        [],
        [make_trial("fail", attrs={"error": "E: x"})] * 2,
        [make_trial("pruned", scores=[0.2]), make_trial("running")],
        [make_trial("waiting")],
    ],
    ids=["no trials", "all failed", "pruned and running", "only a ticket"],
)
def test_a_report_without_results_is_still_written(trials, tmp_path):
    folder = Report.from_study(make_study(trials)).save(tmp_path, ["png", "html", "csv"])
    files = _files(folder)
    assert set(files) == TABLE_FILES | PNG_FILES | {"index.html", "verdict.json"}
    assert _parse(files["index.html"].decode()).ids[:3] == ["summary", "test", "best"]
    for name in PLOTS:
        width, height = SIZES[name]
        assert _png_size(files[f"{name}.png"]) == (round(width * DPI), round(height * DPI))


@pytest.mark.parametrize("name", ["a/../b", "../../etc", "..", "/abs", "name with space", "é", ""])
def test_an_unsafe_study_name_becomes_one_safe_folder(name):
    folder = report_folder(name)
    assert check_study_name(folder) == folder and "/" not in folder and ".." not in folder
    assert folder != report_folder(name + "x")


def test_a_safe_study_name_is_its_own_folder():
    assert report_folder("digits-mlp_v1.2") == "digits-mlp_v1.2"


def test_only_the_output_folder_is_written(tmp_path):
    study = optuna.create_study(study_name="../../escape")
    study.add_trial(make_trial(value=0.5))
    out = tmp_path / "out"
    folder = Report.from_study(study).save(out, ["csv"])
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert folder.parent == out and all(p.parent == folder for p in written)


def test_a_storage_password_appears_in_no_file(tmp_path):
    url = "postgresql://tuner:secret@db.example:5432/studies"
    trial = make_trial("fail", attrs={"error": f"OperationalError: {url} refused"})
    study = make_study([make_trial(value=0.9), trial], storage=url, note={"from": url})
    folder = Report.from_study(study).save(tmp_path)
    for name, data in _files(folder).items():
        assert b"secret" not in data, name
    assert "postgresql://tuner:***@db.example" in (folder / "index.html").read_text()


# -- reading from a storage ----------------------------------------------------------
def test_from_storage_reads_a_journal_file(tmp_path):
    path = str(tmp_path / "journal.log")
    study = optuna.create_study(study_name="stored", storage=open_storage(path))
    study.add_trial(make_trial(value=0.7))
    report = Report.from_storage(path, "stored")
    assert report.study_name == "stored" and report.best.value == 0.7
    with pytest.raises(
        StudyNotFoundError, match=r"no study 'other' in .*journal.log; it holds \['stored'\]"
    ):
        Report.from_storage(path, "other")


def test_from_storage_does_not_create_a_missing_journal(tmp_path):
    path = tmp_path / "typo" / "journal.log"
    with pytest.raises(StudyNotFoundError, match="no study storage"):
        Report.from_storage(str(path), "x")
    assert not (tmp_path / "typo").exists()


def test_from_storage_errors_never_show_the_password():
    url = "postgresql://tuner:secret@127.0.0.1:1/studies"  # nothing listens on port 1
    with pytest.raises(RuntimeError) as error:
        Report.from_storage(url, "x")
    assert "secret" not in str(error.value) and "tuner:***@127.0.0.1" in str(error.value)
