"""The tuner command line: run, worker, list, errors and a killed run."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import joblib
import optuna
import pandas as pd
import pytest
from optuna.trial import TrialState
from study_objectives import wait_until_running

from tuner.cli import main
from tuner.final import final_fits, missing_fits
from tuner.study.locks import worker_id
from tuner.study.outcomes import Outcome, counts_towards_budget, outcome_of, record_worker
from tuner.study.storage import default_storage, open_storage

STUDY = """
[study]
name = "{name}"
n_trials = {n_trials}
seed = 0
n_jobs = {n_jobs}
cv = 2
pruner = "none"

[data]
dataset = "wine"

[estimator]
class = "LogisticClassifier"
params = {{ max_epochs = {epochs}, batch_size = 16, random_state = 0 }}

[space]
optimizers = ["sgd", "adam"]
schedules = ["constant", "step"]
"""


def study_file(tmp_path: Path, name="cli", n_trials=5, n_jobs=1, epochs=5) -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(STUDY.format(name=name, n_trials=n_trials, n_jobs=n_jobs, epochs=epochs))
    return path


def trials(tmp_path: Path, name: str) -> list[optuna.trial.FrozenTrial]:
    storage = open_storage(default_storage(name, tmp_path / "reports"))
    return optuna.load_study(study_name=name, storage=storage).get_trials()


def test_output_cut_short_by_its_reader_ends_quietly():
    # As `tuner optimizers | head -0`: the reader leaves before the command writes.
    command = [sys.executable, "-m", "tuner.cli", "optimizers"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        proc.stdout.close()
        assert proc.wait(timeout=60) == 128 + signal.SIGPIPE
        assert proc.stderr.read() == b""


def test_the_last_line_counts_each_outcome_and_says_what_interrupted_means():
    from tuner.cli.running import _outcomes

    study = optuna.create_study(direction="maximize")
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    study.tell(study.ask(), state=TrialState.FAIL)  # cut short: no error of its own
    best = max(t.value for t in study.trials if t.value is not None)
    assert _outcomes(study) == (
        "trials: 2 complete, 0 pruned, 0 diverged, 0 failed, 1 interrupted (not counted; "
        f"their parameters rerun); best {best:.4f} (trial "
        f"{[t.value for t in study.trials].index(best)})"
    )


def test_run_writes_trials_and_prints_the_best(tmp_path, capsys):
    out = tmp_path / "reports"
    assert main(["run", str(study_file(tmp_path)), "--out", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "cross-validation score" in printed and "optimizer=" in printed
    table = pd.read_csv(out / "cli" / "trials.csv")
    assert len(table) == 5 and set(table["outcome"]) == {"complete"}
    assert {"optimizer", "lr", "end"} <= set(table.columns)
    for name in ("index.html", "summary.csv", "summary.md", "curves.csv"):
        assert (out / "cli" / name).stat().st_size > 0
    capsys.readouterr()
    assert main(["report", "cli", "--out", str(out), "--format", "csv,md"]) == 0
    assert capsys.readouterr().out.strip() == f"report: {out / 'cli'}"  # no page: the folder
    assert main(["report", "cli", "--out", str(out), "--format", "csv,xyz"]) == 2
    assert "--format: unknown report format(s) ['xyz']" in capsys.readouterr().err
    assert main(["list", "--out", str(out)]) == 0
    assert "cli" in capsys.readouterr().out


def test_a_study_of_score_against_fit_time_reports_each_optimizers_front(tmp_path, capsys):
    path = study_file(tmp_path, name="both", n_trials=6)
    both = path.read_text().replace('pruner = "none"', 'objectives = ["score", "fit_time"]')
    path.write_text(both)
    out = tmp_path / "reports"
    assert main(["run", str(path), "--out", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "trials: 6 complete" in printed and "cross-validation score" in printed
    study = optuna.load_study(study_name="both", storage=open_storage(default_storage("both", out)))
    assert [d.name for d in study.directions] == ["MAXIMIZE", "MINIMIZE"]
    for t in study.trials:  # the score, and the seconds the folds trained
        assert t.values[0] == pytest.approx(sum(t.user_attrs["fold_scores"]) / 2)
        assert t.values[1] == pytest.approx(sum(t.user_attrs["fold_fit_times"]))
    table = pd.read_csv(out / "both" / "trials.csv")
    assert table["fit_time"].tolist() == pytest.approx([t.values[1] for t in study.trials])
    assert (out / "both" / "pareto.png").stat().st_size > 0
    assert 'id="plot-pareto"' in (out / "both" / "index.html").read_text()
    assert main(["list", "--out", str(out)]) == 0
    best = max(t.values[0] for t in study.trials)
    assert f"both   6/6           {best:.4f}" in capsys.readouterr().out


def test_a_run_that_times_out_says_how_much_is_left(tmp_path, capsys):
    path = study_file(tmp_path, name="short")
    out = str(tmp_path / "reports")
    assert main(["run", str(path), "--timeout", "1e-9", "--out", out, "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert "0 of the 5 trials ended; the timeout came first: run the same command again" in err
    page = (tmp_path / "reports" / "short" / "index.html").read_text()
    assert "The study is not finished: 0 of its 5 trials ended." in page
    assert main(["list", "--out", out]) == 0
    assert capsys.readouterr().out.splitlines()[1].split()[:3] == ["short", "0/5", "-"]


def test_options_override_the_file_and_worker_joins(tmp_path, monkeypatch, capsys):
    out = tmp_path / "reports"
    path = study_file(tmp_path, name="join")
    assert main(["run", str(path), "--out", str(out), "--n-trials", "3", "--no-progress"]) == 0
    assert len(trials(tmp_path, "join")) == 3
    monkeypatch.setenv("TUNER_STORAGE", default_storage("join", out))
    capsys.readouterr()
    assert main(["worker", "--study", "join", "--n-trials", "6", "--no-progress"]) == 0
    assert Counter(t.state for t in trials(tmp_path, "join")) == {TrialState.COMPLETE: 6}
    # A worker says what it joins and, at the end, how the study's trials ended.
    printed = capsys.readouterr()
    assert "study 'join': 6 trials, 1 worker(s), storage" in printed.err
    assert printed.out.startswith("trials: 6 complete, 0 pruned, 0 diverged, 0 failed; best ")


@pytest.mark.parametrize("command", ["run", "worker"])
def test_backend_and_scheduler_reach_the_run(tmp_path, monkeypatch, command):
    from tuner.cli import running

    seen = {}
    monkeypatch.setattr(running, "run_study", lambda objective, **kw: seen.update(kw))
    path = study_file(tmp_path, name="dask")
    out = str(tmp_path / "reports")
    optuna.create_study(study_name="dask", storage=open_storage(default_storage("dask", out)))
    target = [str(path)] if command == "run" else ["--study", "dask", "--study-file", str(path)]
    main([command, *target, "--out", out, "--storage", default_storage("dask", out),
          "--backend", "dask", "--scheduler", "tcp://127.0.0.1:8786"])  # fmt: skip
    assert (seen["backend"], seen["scheduler"]) == ("dask", "tcp://127.0.0.1:8786")


@pytest.mark.parametrize(
    ("option", "message"),
    [(["--scheduler", "tcp://127.0.0.1:8786"], "needs backend='dask'"),
     (["--backend", "dask", "--scheduler", "tcp://10.1.2.3:8786"], "is a file on this machine")],
)  # fmt: skip
def test_a_scheduler_that_cannot_reach_the_storage_is_a_usage_error(tmp_path, capsys, option,
                                                                    message):  # fmt: skip
    # Refused before the scheduler is contacted (nothing listens at these addresses).
    path = study_file(tmp_path)
    assert main(["run", str(path), *option, "--out", str(tmp_path / "reports")]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_a_bad_study_file_ends_the_started_workers_at_once(tmp_path, monkeypatch, capsys):
    from tuner.cli import running

    class Executor:
        def shutdown(self, wait=True, kill_workers=False):
            ended.append((wait, kill_workers))

    ended = []
    monkeypatch.setattr(running, "start_workers", lambda n, modules: Executor())
    path = study_file(tmp_path, n_jobs=2)
    path.write_text(path.read_text().replace("cv = 2", "cv = 1"))
    assert main(["run", str(path), "--out", str(tmp_path / "reports")]) == 2
    assert "study.cv" in capsys.readouterr().err
    assert ended == [(False, True)]  # killed, not waited for at exit


@pytest.mark.parametrize(("file_jobs", "option", "started"), [(2, [], 2), (1, ["--n-jobs", "2"], 2),
                                                           (1, [], 1)])  # fmt: skip
def test_run_starts_its_workers_before_reading_the_file(tmp_path, monkeypatch, file_jobs, option,
                                                        started):  # fmt: skip
    import tuner.studyfile
    from tuner.cli import running

    calls = []
    monkeypatch.setattr(running, "start_workers", lambda n, modules: calls.append(("start", n)))
    load = tuner.studyfile.load_study_file
    monkeypatch.setattr(running, "load_study_file", lambda p: calls.append(("load",)) or load(p))
    path = study_file(tmp_path, name="early", n_trials=2, n_jobs=file_jobs)
    args = ["run", str(path), *option, "--out", str(tmp_path / "reports"), "--no-progress"]
    assert main(args) == 0
    assert calls == [("start", started), ("load",)]


@pytest.mark.parametrize(
    ("edit", "key"),
    [
        (lambda s: s.replace("n_trials", "n_trails"), "study.n_trails"),
        (lambda s: s.replace("n_trials = 5", 'n_trials = "5"'), "study.n_trials"),
        (lambda s: s.replace('"sgd", "adam"', '"sgd", "adma"'), "space.optimizers"),
        (lambda s: s.replace('dataset = "wine"', 'dataset = "wines"'), "data.dataset"),
        (lambda s: s.replace("cv = 2", "cv = 100"), "study.cv"),  # more folds than the data
        (lambda s: s.replace("batch_size = 16", "batch_size = 0"), "estimator.params.batch_size"),
    ],
)
def test_study_file_errors_exit_2_with_one_line(tmp_path, capsys, edit, key):
    path = study_file(tmp_path)
    path.write_text(edit(path.read_text()))
    assert main(["run", str(path), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(path) in err and key in err
    assert "Traceback" not in err


def test_missing_file_and_bad_usage_exit_2(tmp_path, capsys):
    assert main(["run", str(tmp_path / "nope.toml")]) == 2
    assert "nope.toml" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["run"])
    assert exc.value.code == 2
    assert main([]) == 2


@pytest.mark.parametrize(
    ("option", "value"),
    [("--n-jobs", "0"), ("--n-jobs", "-2"), ("--n-jobs", "two"), ("--n-trials", "0"),
     ("--n-trials", "-5"), ("--timeout", "0"), ("--timeout", "-1"), ("--timeout", "nan"),
     ("--out", "/dev/null"), ("--out", "")],
)  # fmt: skip
@pytest.mark.parametrize("command", ["run", "worker"])
def test_bad_option_values_exit_2_naming_the_option(tmp_path, capsys, command, option, value):
    # Refused before a worker starts or a study is read: 0 does not mean "the file's value".
    target = [str(study_file(tmp_path))] if command == "run" else ["--study", "s"]
    out = [] if option == "--out" else ["--out", str(tmp_path)]
    with pytest.raises(SystemExit) as exc:
        main([command, *target, option, value, *out])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {option}: expected" in err and repr(value) in err
    assert not (tmp_path / "s").exists()


def test_worker_and_report_usage_errors_exit_2_with_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("TUNER_STORAGE", raising=False)
    journal = str(tmp_path / "j" / "journal.log")
    optuna.create_study(study_name="there", storage=open_storage(journal))
    for args, message in [
        (["worker", "--study", "there"], "tuner worker needs --storage"),
        (["worker", "--study", "gone", "--storage", journal],
         f"no study 'gone' in {journal}; it holds ['there']"),
        (["worker", "--study", "there", "--storage", journal],
         "study 'there' was defined by None, which is not on this machine; pass --study-file"),
        (["report", "gone", "--storage", journal], "no study 'gone'"),
        (["report", "gone"], "no study storage at"),
    ]:  # fmt: skip
        assert main([*args, "--out", str(tmp_path / "out")]) == 2, args
        err = capsys.readouterr().err.strip()
        assert err.startswith("tuner: ") and message in err and len(err.splitlines()) == 1


def test_an_unsafe_study_name_is_a_usage_error(capsys):
    # Without --storage, a report's study name makes the storage's path.
    assert main(["report", "../etc"]) == 2
    assert "is not allowed" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["worker", "--study", "a/b", "--storage", "j.log"])
    assert exc.value.code == 2 and "is not allowed" in capsys.readouterr().err


def test_list_and_report_read_any_optuna_study(tmp_path, capsys):
    # Studies of other programs: two objectives, a name unfit for a folder; a SQLite URL
    # with options.
    url = f"sqlite:///{tmp_path / 'q.db'}"
    optuna.create_study(study_name="two", storage=url, directions=["maximize", "minimize"])
    spaced = optuna.create_study(study_name="my study", storage=url)
    spaced.optimize(lambda t: t.suggest_float("x", 0.0, 1.0), n_trials=2)
    assert main(["list", "--storage", url + "?timeout=30"]) == 0
    rows = [line.split()[:3] for line in capsys.readouterr().out.splitlines()[1:]]
    assert ["two", "0", "-"] in rows
    out = str(tmp_path / "out")
    assert main(["report", "my study", "--storage", url, "--out", out, "--format", "csv"]) == 0
    assert (Path(capsys.readouterr().out.split("report: ")[1].strip()) / "trials.csv").exists()


def test_list_does_not_create_a_missing_storage(tmp_path, capsys):
    for storage in (tmp_path / "typo" / "journal.log", f"sqlite:///{tmp_path / 'typo.db'}"):
        assert main(["list", "--storage", str(storage)]) == 2
        assert "no study storage at" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_storage_password_never_printed(tmp_path, capsys):
    path = study_file(tmp_path)
    url = "postgresql://tuner:s3cret-pw@127.0.0.1:1/nowhere"
    assert main(["run", str(path), "--storage", url, "--no-progress"]) == 1
    captured = capsys.readouterr()
    assert "s3cret-pw" not in captured.out + captured.err
    assert "tuner:***@" in captured.err


def start_run(tmp_path: Path, name: str, n_trials: int, epochs: int, completed: int = 1):
    """``tuner run`` of a two-worker study in a process of its own session, once it has
    ``completed`` trials done and one running; returns its command, process and folder."""
    path = study_file(tmp_path, name=name, n_trials=n_trials, n_jobs=2, epochs=epochs)
    out = tmp_path / "reports"
    args = [sys.executable, "-m", "tuner.cli", "run", str(path), "--out", str(out), "--no-progress"]
    proc = subprocess.Popen(args, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    wait_until_running(default_storage(name, out), name, proc, completed=completed)
    return args, proc, out


@pytest.mark.slow
def test_killed_run_resumes_with_nothing_lost(tmp_path):
    args, proc, out = start_run(tmp_path, "killed", n_trials=12, epochs=400)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    subprocess.run(args, check=True, timeout=300, stdout=subprocess.DEVNULL)
    final = trials(tmp_path, "killed")
    states = Counter(t.state for t in final)
    assert states[TrialState.RUNNING] == 0 and states[TrialState.WAITING] == 0
    assert len({t.number for t in final}) == len(final)
    counted = [t for t in final if counts_towards_budget(t)]
    assert len(counted) == 12
    assert any(outcome_of(t) is Outcome.INTERRUPTED for t in final)
    # Equal allocation held through the kill, and the final fits were all done once.
    assert Counter(t.params["optimizer"] for t in counted) == {"sgd": 6, "adam": 6}
    study = optuna.load_study(study_name="killed", storage=open_storage(
        default_storage("killed", out)))  # fmt: skip
    assert not missing_fits(study, 5) and len(final_fits(study.user_attrs)) == 10


@pytest.mark.slow
def test_sigterm_stops_a_run_as_ctrl_c_and_it_resumes(tmp_path):
    args, proc, _ = start_run(tmp_path, "term", n_trials=12, epochs=400)
    os.kill(proc.pid, signal.SIGTERM)  # the run's process only, as `kill PID` does
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrupted; run the same command again to resume" in err
    assert not [t for t in trials(tmp_path, "term") if t.state == TrialState.RUNNING]
    subprocess.run(args, check=True, timeout=300, stdout=subprocess.DEVNULL)
    counted = [t for t in trials(tmp_path, "term") if t.state != TrialState.FAIL]
    assert len(counted) == 12


@pytest.mark.slow
def test_worker_processes_stop_when_the_run_is_killed_outright(tmp_path):
    _, proc, _ = start_run(tmp_path, "orphans", n_trials=200, epochs=100, completed=3)
    os.kill(proc.pid, signal.SIGKILL)  # not its worker processes
    proc.wait()
    time.sleep(5)  # a worker ends the trial it is running, then sees its parent gone
    started = len(trials(tmp_path, "orphans"))
    time.sleep(5)
    assert len(trials(tmp_path, "orphans")) == started < 200
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # tidy up, should anything be left


def test_a_complete_study_says_so_and_does_nothing_else(tmp_path, capsys):
    out = tmp_path / "reports"
    path = study_file(tmp_path, name="done", n_trials=2, n_jobs=-1)
    assert main(["run", str(path), "--out", str(out), "--no-progress"]) == 0
    header = capsys.readouterr().err
    assert f"2 trials, {joblib.cpu_count()} worker(s)" in header  # -1 resolved
    page = out / "done" / "index.html"
    written = page.stat().st_mtime_ns
    for extra in ([], ["--n-trials", "1"]):
        assert main(["run", str(path), "--out", str(out), "--no-progress", *extra]) == 0
        err = capsys.readouterr().err
        assert "is already complete: 2 trials ended of its budget of 2; --n-trials N (more " \
               "than 2) to extend it" in err  # fmt: skip
        assert "lowering" not in err
    assert page.stat().st_mtime_ns == written
    assert len(trials(tmp_path, "done")) == 2
    # A run cut short while it wrote the report left none: the next run writes it.
    page.unlink()
    assert main(["run", str(path), "--out", str(out), "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert "is already complete: 2 trials ended of its budget of 2; writing its report" in err
    assert "to extend it" not in err and page.is_file()
    assert len(trials(tmp_path, "done")) == 2
    # An unfinished study whose budget a run lowers hears of it.
    storage = open_storage(default_storage("done", out))
    optuna.load_study(study_name="done", storage=storage).set_user_attr("n_trials", 5)
    assert main(["run", str(path), "--out", str(out), "--no-progress", "--n-trials", "3"]) == 0
    assert "lowering the budget of study 'done' from 5 to 3 trials" in capsys.readouterr().err


def test_a_run_stopped_because_every_trial_fails_leaves_its_report(tmp_path, monkeypatch,
                                                                  capsys):  # fmt: skip
    from tuner.cli import running
    from tuner.study import StudyAborted

    real = running.run_study

    def aborted(objective, **kwargs):  # the run's trials ran, and all failed alike
        real(objective, **kwargs)
        raise StudyAborted("study 'broken' stopped: every trial of this run failed with X")

    monkeypatch.setattr(running, "run_study", aborted)
    out = tmp_path / "reports"
    path = study_file(tmp_path, name="broken", n_trials=2)
    assert main(["run", str(path), "--out", str(out), "--no-progress"]) == 1
    assert "every trial of this run failed with X" in capsys.readouterr().err
    assert (out / "broken" / "index.html").is_file()


def test_read_only_commands_leave_a_database_without_optuna_tables_alone(tmp_path, capsys):
    import sqlite3

    db = tmp_path / "other.db"
    with contextlib.closing(sqlite3.connect(db)) as conn:
        conn.execute("CREATE TABLE mine (x)")
        conn.commit()
    before = db.read_bytes()
    for command in (["list"], ["report", "any"]):
        assert main([*command, "--storage", f"sqlite:///{db}"]) == 2
        assert "no Optuna tables" in capsys.readouterr().err
    assert db.read_bytes() == before


def test_check_reads_a_study_file_and_runs_nothing(tmp_path, capsys):
    path = study_file(tmp_path, name="checked")
    assert main(["check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "study 'checked' is valid: 5 trials over sgd, adam" in out
    assert not (Path.cwd() / "reports" / "checked").exists()
    bad = tmp_path / "bad.toml"
    bad.write_text(path.read_text().replace('dataset = "wine"', 'dataset = "wines"'))
    assert main(["check", str(bad)]) == 2
    assert "dataset" in capsys.readouterr().err


def test_delete_asks_first_and_removes_the_study(tmp_path, capsys, monkeypatch):
    out = str(tmp_path / "reports")
    assert main(["run", str(study_file(tmp_path, name="gone", n_trials=2)), "--out", out,
                 "--no-progress"]) == 0  # fmt: skip
    capsys.readouterr()
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    assert main(["delete", "gone", "--out", out]) == 0
    assert capsys.readouterr().out.strip() == "nothing deleted"
    assert len(trials(tmp_path, "gone")) == 2
    assert main(["delete", "gone", "--out", out, "--yes"]) == 0
    assert "deleted study 'gone'" in capsys.readouterr().out
    assert main(["list", "--out", out]) == 0
    assert "gone" not in capsys.readouterr().out
    assert main(["delete", "gone", "--out", out, "--yes"]) == 2  # no such study now


def test_a_baseline_runs_first_and_the_page_says_what_tuning_gained(tmp_path):
    path = study_file(tmp_path, name="based", n_trials=4)
    path.write_text(path.read_text().replace(
        "[data]", '[[study.baseline]]\noptimizer = "sgd"\nlr = 0.001\n\n[data]'))
    out = tmp_path / "reports"
    assert main(["run", str(path), "--out", str(out), "--no-progress"]) == 0
    table = pd.read_csv(out / "based" / "trials.csv")
    assert table["baseline"].tolist() == [True, False, False, False]
    assert table.loc[0, "lr"] == 0.001 and table.loc[0, "schedule"] == "constant"
    page = (out / "based" / "index.html").read_text()
    assert "Baselines: what tuning gained" in page and "lr=0.001" in page


def test_baselines_beyond_an_optimizers_share_are_a_study_file_error(tmp_path, capsys):
    path = study_file(tmp_path, name="based", n_trials=4)
    two = '[[study.baseline]]\noptimizer = "sgd"\nlr = 0.001\n\n'
    path.write_text(path.read_text().replace("[data]", two * 3 + "[data]"))
    for command in (["check", str(path)], ["run", str(path), "--out", str(tmp_path / "r")]):
        assert main(command) == 2
        err = capsys.readouterr().err
        assert f"{path}: study.baseline: 3 baselines use optimizer 'sgd'" in err
        assert "share of 2 of the 4 trials" in err
    assert not (tmp_path / "r").exists()
    # A budget given on the command line is the one they must fit.
    path.write_text(path.read_text().replace("n_trials = 4", "n_trials = 6"))
    assert main(["check", str(path)]) == 0
    assert main(["run", str(path), "--n-trials", "4", "--out", str(tmp_path / "r")]) == 2
    assert "share of 2 of the 4 trials" in capsys.readouterr().err


def test_delete_with_no_one_to_answer_deletes_nothing(tmp_path, capsys, monkeypatch):
    out = str(tmp_path / "reports")
    assert main(["run", str(study_file(tmp_path, name="kept", n_trials=1)), "--out", out,
                 "--no-progress"]) == 0  # fmt: skip

    def closed(prompt):
        raise EOFError

    monkeypatch.setattr("builtins.input", closed)
    assert main(["delete", "kept", "--out", out]) == 0
    assert capsys.readouterr().out.endswith("\nnothing deleted\n")
    assert len(trials(tmp_path, "kept")) == 1


def test_delete_refuses_a_study_with_live_running_trials(tmp_path, capsys):
    storage = default_storage("busy", tmp_path / "reports")
    study = optuna.create_study(study_name="busy", storage=open_storage(storage))
    record_worker(study.ask(), worker_id(), None)  # running in this (live) process
    assert main(["delete", "busy", "--out", str(tmp_path / "reports"), "--yes"]) == 2
    assert "has trials running" in capsys.readouterr().err
    assert len(trials(tmp_path, "busy")) == 1


def test_list_skips_a_storage_it_cannot_read_and_lists_the_others(tmp_path, capsys):
    out = tmp_path / "reports"
    assert main(["run", str(study_file(tmp_path, name="fine", n_trials=1)), "--out", str(out),
                 "--no-progress"]) == 0  # fmt: skip
    (out / "aaa" / "journal.log").mkdir(parents=True)  # a folder where a journal would be
    capsys.readouterr()
    assert main(["list", "--out", str(out)]) == 0
    printed = capsys.readouterr()
    assert "fine" in printed.out and "skipped" in printed.err and "aaa" in printed.err


def test_list_leaves_an_empty_sqlite_file_alone(tmp_path):
    empty = tmp_path / "empty.db"
    empty.touch()
    assert main(["list", "--storage", f"sqlite:///{empty}"]) == 2
    assert empty.stat().st_size == 0


def test_a_bad_heartbeat_setting_or_storage_variable_is_a_usage_error(capsys, monkeypatch):
    monkeypatch.setenv("TUNER_HEARTBEAT_INTERVAL", "abc")
    assert main(["list", "--storage", "sqlite:///x.db"]) == 2
    assert "TUNER_HEARTBEAT_INTERVAL must be a whole number of seconds" in capsys.readouterr().err
    monkeypatch.delenv("TUNER_HEARTBEAT_INTERVAL")
    monkeypatch.setenv("TUNER_STORAGE", "bogus://x")
    assert main(["list"]) == 2
    assert capsys.readouterr().err.startswith("tuner: $TUNER_STORAGE: 'bogus://x' is not a storage")


def test_warnings_of_the_command_take_one_line(tmp_path, capsys):
    out = tmp_path / "reports"
    assert main(["run", str(study_file(tmp_path, name="torn", n_trials=1)), "--out", str(out),
                 "--no-progress"]) == 0  # fmt: skip
    journal = out / "torn" / "journal.log"
    lines = journal.read_bytes().splitlines(keepends=True)
    journal.write_bytes(b"".join(lines[:2]) + b'{"op_code": 5, "tri' + b"".join(lines[2:]))
    listed = subprocess.run([sys.executable, "-m", "tuner.cli", "list", "--out", str(out)],
                            capture_output=True, text=True, check=True)  # fmt: skip
    err = listed.stderr.splitlines()
    assert len(err) == 1 and err[0].startswith("tuner: warning: ") and "torn record" in err[0]
