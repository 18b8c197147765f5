"""The verdict is calibrated on studies whose truth is known (slow: 40 small studies)."""

from __future__ import annotations

import pytest
from calibration import TRUTH, calibration_verdict

#: Seeds per case, and how many of them must end as the truth says.
SEEDS, AT_LEAST = 20, 18


@pytest.mark.slow
@pytest.mark.parametrize("case", list(TRUTH))
def test_the_verdict_is_right_in_at_least_90_percent_of_seeds(case):
    verdicts = [calibration_verdict(case, seed) for seed in range(SEEDS)]
    right = [v.decided and v.leader == TRUTH[case] if TRUTH[case] else not v.decided
             for v in verdicts]  # fmt: skip
    assert sum(right) >= AT_LEAST, [v.reason for v, ok in zip(verdicts, right) if not ok]
