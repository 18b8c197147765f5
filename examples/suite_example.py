"""Regenerate ``examples/suite/``: the default suite's performance profiles and summary.

Run from anywhere (the paths are the repository's)::

    python examples/suite_example.py

It runs ``tuner bench studies/suite.toml`` (resuming what
``reports/suite/`` already holds), then copies the page's main figure and
the summary here, the summary headed by this command.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

from tuner.cli import main as tuner

ROOT = Path(__file__).resolve().parents[1]
COMMAND = "python examples/suite_example.py"


def main() -> int:
    os.chdir(ROOT)  # the summary names paths from the repository's root
    start = time.perf_counter()
    code = tuner(["bench", "studies/suite.toml", "--no-progress"])
    if code:
        return code
    minutes = (time.perf_counter() - start) / 60
    source, target = ROOT / "reports" / "suite", ROOT / "examples" / "suite"
    target.mkdir(exist_ok=True)
    shutil.copyfile(source / "profiles.png", target / "profiles.png")
    summary = (source / "summary.md").read_text(encoding="utf-8")
    title, _, rest = summary.partition("\n")
    header = (
        f"Regenerate this file and `profiles.png` with `{COMMAND}` (this run: {minutes:.1f} "
        "minutes on 2 cores; studies already complete are skipped)."
    )
    (target / "summary.md").write_text(f"{title}\n\n{header}\n{rest}", encoding="utf-8")
    print(f"examples: {target / 'summary.md'}, {target / 'profiles.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
