"""Benchmark suites: several problems, each a study, and the optimizers compared across them.

- :mod:`~tuner.suite.spec`: the suite file, and the study file of each problem;
- :mod:`~tuner.suite.run`: run every problem's studies as ``tuner run`` does;
- :mod:`~tuner.suite.results`: each problem's draws, verdict and best of k;
- :mod:`~tuner.suite.profiles`: performance profiles (Dolan and Moré, 2002);
- :mod:`~tuner.suite.inclusion`: win/tie/loss counts and the inclusion question;
- :mod:`~tuner.suite.figures`, :mod:`~tuner.suite.page`: the plots, the page and its files.
"""

from .inclusion import inclusion_failures, inclusion_finding, win_tie_loss
from .page import write_suite_report
from .profiles import perfect_score, performance_profile, performance_ratios, profile_table
from .results import SuiteResults, collect_results, pairwise_table
from .run import SuiteRun, run_bench, run_suite
from .spec import Problem, SuiteSpec, load_suite_file, study_name, write_study_files

__all__ = [
    "Problem",
    "SuiteResults",
    "SuiteRun",
    "SuiteSpec",
    "collect_results",
    "inclusion_failures",
    "inclusion_finding",
    "load_suite_file",
    "pairwise_table",
    "perfect_score",
    "performance_profile",
    "performance_ratios",
    "profile_table",
    "run_bench",
    "run_suite",
    "study_name",
    "win_tie_loss",
    "write_study_files",
    "write_suite_report",
]
