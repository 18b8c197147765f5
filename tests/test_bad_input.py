"""Bad input is refused before any trial runs (exit 2, one line naming file and key),
secrets never reach the terminal or the files, and read-only commands write nothing."""

from __future__ import annotations

import importlib.util

import optuna
import pytest
from sklearn.datasets import load_iris
from test_cli import study_file

from tuner import LogisticClassifier, OptimizerSearchCV
from tuner.cli import main
from tuner.study.storage import check_study_name, mask_url, open_storage
from tuner.studyfile import requested_workers
from tuner.tomlfile import MAX_FILE_BYTES


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("postgresql://u:secret@h/db", "postgresql://u:***@h/db"),
        ("postgresql://u:se cret@h/db", "postgresql://u:***@h/db"),
        ("postgresql://u:p/w@h:5432/db", "postgresql://u:***@h:5432/db"),
        ("postgresql://u@h/db?password=secret&sslmode=require",
         "postgresql://u@h/db?password=***&sslmode=require"),
        ("error: host=h password=secret dbname=x", "error: host=h password=*** dbname=x"),
        ("--scheduler tcp://user:secret@host:8786", "--scheduler tcp://user:***@host:8786"),
        ("mysql://r:pw@h/x?sslpassword=zz&token=tt", "mysql://r:***@h/x?sslpassword=***&token=***"),
        # Nothing to mask: a port, a file, an address in text.
        ("tcp://host:8786/x and a@b", "tcp://host:8786/x and a@b"),
        ("sqlite:///a.db?timeout=30", "sqlite:///a.db?timeout=30"),
    ],
)  # fmt: skip
def test_every_credential_form_is_masked(text, masked):
    assert mask_url(text) == masked


def test_a_password_in_a_query_never_reaches_the_output_or_the_study(tmp_path, capsys):
    url = f"sqlite:///{tmp_path}/s.db?password=s3cret-pw"
    path = study_file(tmp_path, n_trials=2)
    assert main(["run", str(path), "--storage", url, "--out", str(tmp_path / "r"),
                 "--no-progress"]) == 0  # fmt: skip
    assert main(["list", "--storage", url]) == 0
    captured = capsys.readouterr()
    assert "s3cret-pw" not in captured.out + captured.err
    study = optuna.load_study(study_name="cli", storage=url)
    assert "s3cret-pw" not in str(study.user_attrs)
    for file in (tmp_path / "r" / "cli").iterdir():
        if file.suffix in (".html", ".csv", ".json", ".md"):
            assert "s3cret-pw" not in file.read_text(), file


def test_a_study_name_with_a_trailing_newline_is_refused():
    with pytest.raises(ValueError, match="not allowed"):
        check_study_name("abc\n")


def run_fails(args, capsys, *fragments) -> str:
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0, err
    for fragment in fragments:
        assert fragment in err, err
    return err


def test_a_device_or_a_huge_file_is_not_read_as_a_study(tmp_path, capsys):
    run_fails(["run", "/dev/zero", "--out", str(tmp_path)], capsys, "/dev/zero", "not a regular")
    big = tmp_path / "big.toml"
    big.write_text("# " + "x" * MAX_FILE_BYTES)
    run_fails(["run", str(big), "--out", str(tmp_path)], capsys, "larger than")
    assert requested_workers("/dev/zero") is None


def test_workers_started_ahead_are_capped_at_the_trials(tmp_path):
    path = study_file(tmp_path, n_trials=2, n_jobs=2)
    assert requested_workers(path, 24) == 2
    assert requested_workers(path, 24, 5) == 5
    assert requested_workers(path) == 2


def test_a_bad_heartbeat_interval_names_its_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("TUNER_HEARTBEAT_INTERVAL", "abc")
    with pytest.raises(ValueError, match="TUNER_HEARTBEAT_INTERVAL must be a whole number"):
        open_storage(f"sqlite:///{tmp_path}/s.db")


@pytest.mark.parametrize(("option", "fragment"), [
    ("", "--storage: must not be empty"),
    ("bogus://x", "--storage: 'bogus://x' is not a storage"),
    ("bogus://u:pw@h", "'bogus://u:***@h' is not a storage"),
])  # fmt: skip
def test_a_bad_storage_option_is_a_usage_error(tmp_path, capsys, option, fragment):
    run_fails(["list", "--storage", option], capsys, fragment)


def test_a_file_that_is_not_a_journal_is_neither_read_nor_written(tmp_path, capsys):
    notes = tmp_path / "notes.txt"
    notes.write_text("line one\nline two")  # no newline at the end: it looks torn
    for args in (["list", "--storage", str(notes)], ["report", "x", "--storage", str(notes)]):
        run_fails(args, capsys, "not an Optuna journal file")
    path = study_file(tmp_path, n_trials=2)
    path.write_text(path.read_text().replace("[study]\n", f'[study]\nstorage = "{notes}"\n'))
    run_fails(["run", str(path), "--out", str(tmp_path)], capsys, "not an Optuna journal file")
    assert notes.read_text() == "line one\nline two"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("notes")) == [
        "notes.txt"
    ]


def test_read_only_commands_leave_a_torn_journal_as_it_is(tmp_path, capsys):
    path = study_file(tmp_path, n_trials=2)
    out = tmp_path / "r"
    assert main(["run", str(path), "--out", str(out), "--no-progress"]) == 0
    journal = out / "cli" / "journal.log"
    with open(journal, "ab") as f:
        f.write(b'{"op_code": 5, "worker_id"')  # a writer killed mid-record
    before = journal.read_bytes()
    assert main(["list", "--storage", str(journal)]) == 0
    assert main(["report", "cli", "--storage", str(journal), "--out", str(tmp_path / "r2"),
                 "--format", "csv"]) == 0  # fmt: skip
    assert journal.read_bytes() == before and not journal.with_name("journal.log.torn").exists()
    capsys.readouterr()


@pytest.mark.parametrize(
    ("study", "key", "fragment"),
    [
        ('[study.sampler]\nname = "tpe"\nn_startup_trials = "x"', "study.sampler", "must be int"),
        ('[study.sampler]\nname = "tpe"\nconstraints_func = "lambda t: [0]"', "study.sampler",
         "must be a function"),
        ('[study.sampler]\nname = "tpe"\nprior_weight = -1', "study.sampler",
         "option 'prior_weight' must be a finite number >= 0, got -1"),
        ('[study.sampler]\nname = "tpe"\nprior_weight = inf', "study.sampler",
         "option 'prior_weight' must be a finite number >= 0, got inf"),
        ('[study.sampler]\nname = "tpe"\nn_ei_candidates = 0', "study.sampler",
         "option 'n_ei_candidates' must be a finite number between 1 and 1000000, got 0"),
        ('[study.sampler]\nname = "tpe"\nn_ei_candidates = 100000000000', "study.sampler",
         "between 1 and 1000000"),
        ('[study.sampler]\nname = "qmc"\nindependent_sampler = 5', "study.sampler",
         "option 'independent_sampler' takes BaseSampler | None, not 5"),
        ('[study.sampler]\nname = "qmc"\nindependent_sampler = { a = 1 }', "study.sampler",
         "takes BaseSampler | None, not {'a': 1}"),
        ('[study.pruner]\nname = "successive_halving"\nmin_early_stopping_rate = 1000000000',
         "study.pruner", "option 'min_early_stopping_rate' must be a finite number between 0 "
         "and 30"),
        ('[study.pruner]\nname = "none"\nn_warmup_steps = "x"', "study.pruner",
         "pruner 'none' prunes no trial"),
        ('[study.sampler]\nname = "qmc"\nindependent_sampler = "x"', "study.sampler",
         "option 'independent_sampler' takes BaseSampler | None, not 'x'"),
        ('storage = "bogus://x"', "study.storage", "is not a storage"),
        ('storage = "sqlite:///:memory:"', "study.storage", "lives in one process"),
        ('storage = "mysql://u@localhost/db"', "study.storage", "use a journal file path"),
    ],
)  # fmt: skip
def test_options_that_would_fail_every_trial_are_refused(tmp_path, capsys, study, key, fragment):
    path = study_file(tmp_path)
    text = path.read_text()
    if study.startswith("[study.pruner]"):  # instead of the file's own
        text = text.replace('pruner = "none"\n', "")
    path.write_text(text.replace("[study]\n", f"[study]\n{study}\n", 1)
                    if not study.startswith("[") else text + study + "\n")  # fmt: skip
    run_fails(["run", str(path), "--out", str(tmp_path)], capsys, f"{path}: {key}: ", fragment)


@pytest.mark.skipif(importlib.util.find_spec("cmaes") is not None, reason="cmaes is here")
def test_cmaes_without_its_package_is_refused_with_the_install_line(tmp_path, capsys):
    path = study_file(tmp_path)
    path.write_text(path.read_text().replace("[study]\n", '[study]\nsampler = "cmaes"\n'))
    run_fails(["run", str(path), "--out", str(tmp_path)], capsys, "study.sampler",
              "optim-tuner[cmaes]")  # fmt: skip


@pytest.mark.parametrize(
    ("data", "estimator", "study", "key", "fragment"),
    [
        ('csv = "d.csv"\ntarget = "label"', "LogisticClassifier", "", "data.csv",
         "repeated column names ['label']"),
        ('csv = "h.csv"\ntarget = "label"', "LogisticClassifier", "", "data.csv",
         "values beyond"),
        ('csv = "one.csv"\ntarget = "label"', "LogisticClassifier", "", "data",
         "a single class"),
        ('csv = "text.csv"\ntarget = "label"', "LinearRegressor", "", "data", "not numeric"),
        ('dataset = "iris"', "LogisticClassifier", 'scoring = "roc_auc"', "study.scoring",
         "cannot score this study's target"),
    ],
)  # fmt: skip
def test_data_the_study_cannot_use_is_refused_before_any_trial(
    tmp_path, capsys, data, estimator, study, key, fragment
):
    (tmp_path / "d.csv").write_text("a,b,label,label\n" + "1,2,0,0\n3,4,1,1\n" * 5)
    (tmp_path / "h.csv").write_text("a,label\n1e200,0\n" + "3,1\n2,0\n" * 5)
    (tmp_path / "one.csv").write_text("a,label\n" + "1,0\n2,0\n" * 5)
    (tmp_path / "text.csv").write_text("a,label\n" + "1,x\n2,y\n" * 5)
    path = tmp_path / "s.toml"
    path.write_text(f"[study]\ncv = 2\n{study}\n[data]\n{data}\n[estimator]\n"
                    f'class = "{estimator}"\n')  # fmt: skip
    run_fails(["run", str(path), "--out", str(tmp_path / "r")], capsys, f"{path}: {key}: ",
              fragment)  # fmt: skip
    assert not (tmp_path / "r").exists()  # nothing was created, no trial spent


def test_a_search_refuses_several_metrics_up_front():
    X, y = load_iris(return_X_y=True)
    with pytest.raises(ValueError, match="one scorer"):
        OptimizerSearchCV(LogisticClassifier(), scoring=["accuracy", "f1_macro"]).fit(X, y)


def test_the_best_score_is_printed_in_a_readable_width(tmp_path, capsys):
    storage = str(tmp_path / "j.log")
    study = optuna.create_study(study_name="huge", storage=open_storage(storage),
                                direction="maximize")  # fmt: skip
    study.add_trial(optuna.trial.create_trial(value=1e280))
    assert main(["list", "--storage", storage]) == 0
    assert "1e+280" in capsys.readouterr().out


def test_a_scheduler_password_is_masked_in_its_error(tmp_path, capsys):
    path = study_file(tmp_path)
    run_fails(["run", str(path), "--backend", "dask", "--scheduler",
               "tcp://user:s3cret@scheduler.example:8786", "--out", str(tmp_path)], capsys,
              "tcp://user:***@scheduler.example:8786")  # fmt: skip


def test_a_worker_refuses_a_study_file_of_another_study(tmp_path, capsys):
    from tuner.runner import build_study
    from tuner.study import run_study
    from tuner.studyfile import load_study_file

    first = load_study_file(study_file(tmp_path, name="a", n_trials=2))
    (tmp_path / "b").mkdir()
    other = study_file(tmp_path / "b", name="b")
    storage = str(tmp_path / "j.log")
    run_study(build_study(first).objective, study_name="a", n_trials=2, storage=storage,
              study_attrs={"spec": first.to_attrs()}, progress=False)  # fmt: skip
    run_fails(["worker", "--study", "a", "--storage", storage, "--study-file", str(other)],
              capsys, f"{other}: study.name: differs from what study 'a' recorded")  # fmt: skip
    changed = tmp_path / "b" / "a.toml"
    changed.write_text((tmp_path / "a.toml").read_text().replace('"adam"', '"momentum"'))
    run_fails(["worker", "--study", "a", "--storage", storage, "--study-file", str(changed)],
              capsys, "space.optimizers: differs")  # fmt: skip
    # The same study from another folder (another machine's path) is welcome.
    same = tmp_path / "b" / "same.toml"
    same.write_text((tmp_path / "a.toml").read_text())
    assert main(["worker", "--study", "a", "--storage", storage, "--study-file", str(same),
                 "--no-progress"]) == 0  # fmt: skip


def test_a_resumed_study_whose_space_would_fail_every_trial_is_refused(tmp_path, capsys):
    from tuner.runner import build_study, check_resumable
    from tuner.studyfile import StudyFileError, load_study_file

    path = study_file(tmp_path, name="grow", n_trials=2)
    spec = load_study_file(path)
    study = run_study_of(spec, tmp_path)
    path.write_text(path.read_text().replace('["sgd", "adam"]', '["sgd", "adam", "momentum"]'))
    changed = load_study_file(path)
    with pytest.raises(StudyFileError, match=r"space: 'optimizer' cannot change"):
        check_resumable(changed, build_study(changed).objective.space, study)
    # A wider learning-rate range is a change a study can take.
    path.write_text(path.read_text().replace('"momentum"]', ']').replace(
        "[space]\n", '[space]\nparams = { lr = { low = 1e-6, high = 2.0, log = true } }\n'))
    wider = load_study_file(path)
    check_resumable(wider, build_study(wider).objective.space, study)


def run_study_of(spec, tmp_path) -> optuna.Study:
    from tuner.runner import build_study
    from tuner.study import run_study

    return run_study(build_study(spec).objective, study_name=spec.name, n_trials=2,
                     storage=str(tmp_path / "j.log"), progress=False)  # fmt: skip


def test_a_torn_record_in_the_middle_of_a_journal_is_left_out_and_the_study_goes_on(
    tmp_path, capsys
):
    path = study_file(tmp_path, name="torn", n_trials=2)
    out = tmp_path / "r"
    assert main(["run", str(path), "--out", str(out), "--no-progress"]) == 0
    journal = out / "torn" / "journal.log"
    lines = journal.read_bytes().splitlines(keepends=True)
    # A writer killed mid-append, then another writer's record on the same line.
    torn = lines[5][:17]
    journal.write_bytes(b"".join([*lines[:5], torn + lines[5], *lines[6:]]))
    with pytest.warns(RuntimeWarning, match=rf"torn record at byte {sum(map(len, lines[:5]))}"):
        before = optuna.load_study(study_name="torn", storage=open_storage(str(journal)))
    assert len(before.trials) == 2
    assert main(["list", "--storage", str(journal)]) == 0
    path.write_text(path.read_text().replace("n_trials = 2", "n_trials = 4"))
    assert main(["run", str(path), "--out", str(out), "--no-progress"]) == 0
    study = optuna.load_study(study_name="torn", storage=open_storage(str(journal)))
    assert len([t for t in study.trials if t.state.is_finished()]) == 4
    capsys.readouterr()


def test_dask_without_dask_is_a_usage_error_before_any_study_exists(tmp_path, capsys, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "distributed" else real(name, *a))
    path = study_file(tmp_path)
    run_fails(["run", str(path), "--backend", "dask", "--out", str(tmp_path / "r")], capsys,
              "pip install 'optim-tuner[distributed]'")  # fmt: skip
    assert not (tmp_path / "r").exists()


@pytest.mark.skipif(importlib.util.find_spec("psycopg") is None, reason="needs psycopg")
def test_an_unreachable_database_is_named_masked_not_a_commit_error(capsys):
    # Port 1 on loopback: nothing listens there, the connection is refused at once.
    assert main(["list", "--storage", "postgresql://u:pw-secret@127.0.0.1:1/db"]) == 1
    err = capsys.readouterr().err
    assert "the database postgresql://u:***@127.0.0.1:1/db is unreachable" in err
    assert "pw-secret" not in err and err.count("\n") == 1
    # Reading one study, as run, report and worker do: the same line, not "cannot read".
    assert main(["report", "s", "--storage", "postgresql://u:pw-secret@127.0.0.1:1/db"]) == 1
    assert capsys.readouterr().err == err


@pytest.mark.parametrize(
    ("estimator", "space", "key"),
    [
        ("params = { hidden_layer_sizes = [0] }", "", "estimator.params.hidden_layer_sizes"),
        ("params = { hidden_layer_sizes = [-4] }", "", "estimator.params.hidden_layer_sizes"),
        ('params = { hidden_layer_sizes = ["a"] }', "", "estimator.params.hidden_layer_sizes"),
        ("", "[space.estimator]\nhidden_layer_sizes = [[32], [0, 8]]",
         "space.estimator.hidden_layer_sizes"),
    ],
)  # fmt: skip
def test_a_network_that_cannot_be_built_is_refused(tmp_path, capsys, estimator, space, key):
    path = tmp_path / "s.toml"
    path.write_text(f'[data]\ndataset = "iris"\n[estimator]\nclass = "MLPClassifier"\n'
                    f"{estimator}\n{space}\n")  # fmt: skip
    run_fails(["run", str(path), "--out", str(tmp_path / "r")], capsys, f"{path}: {key}: ",
              "hidden_layer_sizes must be positive integers")  # fmt: skip
