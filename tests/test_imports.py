"""What each entry point imports: the package and its command line load lazily."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import pytest

import tuner

HEAVY = ("sklearn", "scipy", "pandas", "matplotlib")


def modules_after(code: str) -> set[str]:
    """The modules a fresh interpreter holds after running ``code``."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout.splitlines()[-1]))


def test_the_command_line_starts_without_the_heavy_libraries():
    # `tuner --help`, `tuner list` and the start of `tuner run` must not wait seconds
    # for scikit-learn and matplotlib: `tuner run` starts its workers first.
    loaded = modules_after("import tuner, tuner.cli")
    assert [m for m in HEAVY if m in loaded] == []


def test_a_run_on_a_journal_does_without_sqlalchemy(tmp_path):
    code = (
        "from tuner.study import run_study\n"
        "run_study(lambda t: t.suggest_float('x', 0, 1), study_name='s', n_trials=3, "
        "direction='maximize', "
        f"directory={str(tmp_path)!r}, sampler='random', pruner='none', progress=False)"
    )
    loaded = modules_after(code)
    assert "tuner.study.worker" in loaded
    assert "sqlalchemy" not in loaded


def test_every_public_name_loads_on_first_use():
    assert sorted(tuner.__all__) == sorted(tuner._EXPORTS)
    for name in tuner.__all__:
        module = importlib.import_module(f"tuner.{tuner._EXPORTS[name]}")
        assert getattr(tuner, name) is getattr(module, name)
    assert set(tuner.__all__) <= set(dir(tuner))
    with pytest.raises(AttributeError, match="has no attribute 'no_such_name'"):
        tuner.no_such_name  # noqa: B018
