"""Shared test setup."""

import os
from pathlib import Path

import optuna

# Worker processes (loky) import test objectives by module name: let them find tests/.
_tests = str(Path(__file__).parent)
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (_tests, os.environ.get("PYTHONPATH")) if p)
optuna.logging.set_verbosity(optuna.logging.WARNING)
