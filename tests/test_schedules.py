"""Each schedule against its closed form, written here independently of optim.schedules."""

from __future__ import annotations

import math
import pickle
from itertools import accumulate, count, pairwise

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from optim.schedules import (
    BUILTIN_SCHEDULES,
    Constant,
    CosineAnnealing,
    CosineWarmRestarts,
    Exponential,
    LinearWarmup,
    MultiStep,
    OneCycle,
    PlateauState,
    ReduceOnPlateau,
    Schedule,
    Sequence,
    SequenceState,
    StepDecay,
)


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)


# -- references: the textbook formulas, one value at a time ------------------------------
def ref_step(t, step_size, gamma):
    return gamma ** math.floor(t / step_size)


def ref_multistep(t, milestones, gamma):
    return gamma ** len([m for m in milestones if m <= t])


def ref_cosine(t, t_max, m):
    return m + (1 - m) * (1 + math.cos(math.pi * min(t, t_max) / t_max)) / 2


def ref_restarts(t, t_0, t_mult, m):
    # Restart points are the running sums of the period lengths t_0 * t_mult**i.
    ends = accumulate(t_0 * t_mult**i for i in count())
    start, end = 0, next(ends)
    while t >= end:
        start, end = end, next(ends)
    return m + (1 - m) * (1 + math.cos(math.pi * (t - start) / (end - start))) / 2


def ref_onecycle(t, total, peak_factor, pct, final):
    """PyTorch's ``OneCycleLR.get_lr`` (two phases, cosine) for ``max_lr = peak_factor``,
    ``div_factor = peak_factor`` and ``final_div_factor = 1 / final``, over the initial rate.

    Its phases end at steps ``pct * total - 1`` (the peak) and ``total - 1``; each is
    ``end + (start - end) / 2 * (cos(pi * pct) + 1)`` over the share ``pct`` of its steps.
    PyTorch raises past the cycle, where the schedule holds the final rate.
    """
    if t > total - 1:
        return final
    phases = [(pct * total - 1, 1.0, peak_factor), (total - 1, peak_factor, final)]
    start_step = 0.0
    for i, (end_step, start, end) in enumerate(phases):
        if t <= end_step or i == len(phases) - 1:
            share = (t - start_step) / (end_step - start_step)
            return end + (start - end) / 2.0 * (math.cos(math.pi * share) + 1)
        start_step = end_step
    raise AssertionError("unreachable")


def ref_warmup(t, steps, start, then):
    return start + (1 - start) * t / steps if t < steps else then(t - steps)


def run_plateau(schedule, observations):
    """Observe the values in turn; the multipliers in force at each epoch and after."""
    state = schedule.init_state()
    factors = []
    for t, value in enumerate(observations):
        factors.append(schedule.factor(t, state))
        schedule.observe(t, value, state)
    factors.append(schedule.factor(len(observations), state))
    return factors, state


class TorchPlateau:
    """PyTorch's ``ReduceLROnPlateau`` as its documentation states it, on a rate starting at 1.

    Improvement: in ``rel`` mode ``v < best * (1 - threshold)`` (``min``) or
    ``v > best * (1 + threshold)`` (``max``); in ``abs`` mode ``v < best - threshold``
    or ``v > best + threshold``. A reduction to ``max(lr * factor, min_lr)`` is
    skipped when it changes the rate by ``eps`` or less.
    """

    def __init__(self, gamma, patience, mode, threshold, threshold_mode, cooldown, floor, eps):
        self.gamma, self.patience, self.mode = gamma, patience, mode
        self.threshold, self.threshold_mode = threshold, threshold_mode
        self.cooldown, self.floor, self.eps = cooldown, floor, eps
        self.best = math.inf if mode == "min" else -math.inf
        self.lr, self.bad, self.cooldown_counter = 1.0, 0, 0

    def better(self, v):
        rel, tau = self.threshold_mode == "rel", self.threshold
        if self.mode == "min":
            return v < self.best * (1 - tau) if rel else v < self.best - tau
        return v > self.best * (1 + tau) if rel else v > self.best + tau

    def step(self, v):
        if self.better(v):
            self.best, self.bad = v, 0
        else:
            self.bad += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.bad = 0
        if self.bad > self.patience:
            new = max(self.lr * self.gamma, self.floor)
            if self.lr - new > self.eps:
                self.lr = new
            self.cooldown_counter, self.bad = self.cooldown, 0


EXAMPLES = [
    Constant(),
    StepDecay(step_size=3, gamma=0.5),
    MultiStep(milestones=[2, 5], gamma=0.1),
    Exponential(gamma=0.9),
    CosineAnnealing(t_max=10, min_factor=0.05),
    CosineWarmRestarts(t_0=2, t_mult=2, min_factor=0.1),
    LinearWarmup(3, then=CosineAnnealing(t_max=7)),
    OneCycle(total_steps=20),
    Sequence([Constant(), Exponential(0.5)], boundaries=[4]),
    ReduceOnPlateau(patience=2),
]
PURE = [s for s in EXAMPLES if s.init_state() is None]

ts = st.integers(0, 1000)
gammas = st.floats(0.01, 1.0)
min_factors = st.floats(0.0, 1.0)


# -- closed forms ----------------------------------------------------------------------
@given(ts)
def test_constant_is_one(t):
    assert Constant()(t) == 1.0


@given(ts, st.integers(1, 50), gammas)
def test_step_decay_matches_closed_form(t, step_size, gamma):
    assert close(StepDecay(step_size, gamma)(t), ref_step(t, step_size, gamma))


@given(ts, st.lists(st.integers(1, 300), unique=True, max_size=5).map(sorted), gammas)
def test_multistep_matches_closed_form(t, milestones, gamma):
    for given_as in (tuple(milestones), milestones):
        assert close(MultiStep(given_as, gamma)(t), ref_multistep(t, milestones, gamma))


@given(ts, gammas)
def test_exponential_matches_closed_form(t, gamma):
    assert close(Exponential(gamma)(t), gamma**t)


@given(ts, st.integers(1, 300), min_factors)
def test_cosine_annealing_matches_closed_form(t, t_max, m):
    assert close(CosineAnnealing(t_max, m)(t), ref_cosine(t, t_max, m))


@given(ts, st.integers(1, 30), st.integers(1, 4), min_factors)
def test_cosine_warm_restarts_matches_closed_form(t, t_0, t_mult, m):
    assert close(CosineWarmRestarts(t_0, t_mult, m)(t), ref_restarts(t, t_0, t_mult, m))


one_cycles = st.tuples(
    st.integers(2, 300), st.floats(1.0, 50.0), st.floats(0.01, 0.95), st.floats(0, 1)
).filter(lambda c: c[0] * c[2] > 1)  # PyTorch needs a rise of more than a step


@given(ts, one_cycles)
def test_one_cycle_matches_pytorch(t, cycle):
    sched = OneCycle(*cycle)
    assert close(sched(t), ref_onecycle(t, *cycle))


@given(one_cycles)
def test_one_cycle_reaches_the_final_rate_at_the_last_step_of_the_run(cycle):
    total, _, _, final = cycle
    assert OneCycle(*cycle)(total - 1) == final


@given(ts, st.integers(1, 50), st.floats(0.01, 1.0), st.integers(1, 100))
def test_linear_warmup_matches_closed_form(t, steps, start, t_max):
    sched = LinearWarmup(steps, then=CosineAnnealing(t_max), start_factor=start)
    expected = ref_warmup(t, steps, start, lambda u: ref_cosine(u, t_max, 0.0))
    assert close(sched(t), expected)


@given(ts, st.lists(st.integers(1, 400), unique=True, min_size=1, max_size=4).map(sorted))
def test_sequence_gives_each_part_its_own_counter(t, boundaries):
    parts = [StepDecay(3 + i, 0.5) for i in range(len(boundaries) + 1)]
    starts = [0, *boundaries]
    i = max(k for k, b in enumerate(starts) if b <= t)
    expected = ref_step(t - starts[i], 3 + i, 0.5)
    assert close(Sequence(parts, boundaries)(t), expected)


# -- f(0) and values ----------------------------------------------------------------------
@pytest.mark.parametrize("sched", [s for s in PURE if not isinstance(s, LinearWarmup)], ids=repr)
def test_starts_at_one(sched):
    assert sched(0) == 1.0


def test_warmup_shapes_state_their_start():
    assert LinearWarmup(4, start_factor=0.25)(0) == 0.25
    assert OneCycle(total_steps=10, max_factor=5.0)(0) == 1.0


@pytest.mark.parametrize("sched", PURE, ids=repr)
def test_values_lists_the_multipliers(sched):
    values = sched.values(25)
    assert values.dtype == np.float64
    assert values.shape == (25,)
    assert values.tolist() == [sched(t) for t in range(25)]
    assert sched.values(0).shape == (0,)


@pytest.mark.parametrize("sched", PURE, ids=repr)
def test_pure_schedules_follow_the_stateful_protocol(sched):
    state = sched.init_state()
    for t in range(15):
        assert sched.factor(t, state) == sched(t)
        sched.observe(t, 1.0 / (t + 1), state)  # no effect on a pure schedule
    assert sched.values(15).tolist() == [sched.factor(t, state) for t in range(15)]


@pytest.mark.parametrize("sched", EXAMPLES, ids=repr)
def test_negative_or_fractional_counter_is_rejected(sched):
    state = sched.init_state()
    with pytest.raises(ValueError, match=r"t must be >= 0, got -1"):
        sched.factor(-1, state)
    with pytest.raises(ValueError, match=r"t must be >= 0, got -1"):
        sched.observe(-1, 0.5, state)
    with pytest.raises(TypeError, match=r"t must be an integer, got 1.5"):
        sched.factor(1.5, state)
    with pytest.raises(TypeError, match=r"value must be a real number, got 'x'"):
        sched.observe(0, "x", state)


def test_numpy_integers_are_counters():
    assert StepDecay(2, 0.5)(np.int64(5)) == 0.25


# -- shapes at their special points ------------------------------------------------------
def test_cosine_annealing_holds_its_minimum_after_t_max():
    sched = CosineAnnealing(t_max=10, min_factor=0.05)
    assert close(sched(5), 0.525)
    assert [sched(t) for t in (10, 11, 500)] == [0.05, 0.05, 0.05]


def test_cosine_warm_restarts_restart_with_t_mult_2():
    sched = CosineWarmRestarts(t_0=2, t_mult=2, min_factor=0.0)
    restarts = [0, 2, 6, 14, 30, 62]
    for start, end in pairwise(restarts):
        assert sched(start) == 1.0
        period = end - start
        assert close(sched(end - 1), (1 + math.cos(math.pi * (period - 1) / period)) / 2)
        assert close(sched(start + period // 2), 0.5)


def test_one_cycle_peaks_then_ends_at_final_factor():
    # As PyTorch's OneCycleLR(total_steps=100, pct_start=0.25): the peak at step 24,
    # the final rate at step 99, the last of a run of 100 steps.
    sched = OneCycle(total_steps=100, max_factor=10.0, pct_start=0.25, final_factor=1e-3)
    values = sched.values(120)
    assert values[24] == 10.0 and values.argmax() == 24
    assert np.all(np.diff(values[:25]) > 0) and np.all(np.diff(values[24:100]) < 0)
    assert np.all(values[99:] == 1e-3)


def test_linear_warmup_joins_without_compounding():
    sched = LinearWarmup(4, then=StepDecay(step_size=1, gamma=0.5), start_factor=0.2)
    assert close(sched(3), 0.2 + 0.8 * 3 / 4)  # just before the boundary
    assert sched(4) == 1.0  # then(0), not scaled by the warm-up
    assert sched(5) == 0.5


def test_linear_warmup_of_zero_steps_is_its_then():
    then = CosineAnnealing(t_max=8)
    assert LinearWarmup(0, then=then).values(12).tolist() == then.values(12).tolist()


def test_sequence_joins_without_compounding():
    sched = Sequence([Exponential(0.5), Constant(), StepDecay(1, 0.1)], boundaries=[4, 6])
    assert sched(3) == 0.125  # just before the first boundary
    assert sched(4) == 1.0  # Constant(0), not 0.5**4
    assert sched(5) == 1.0
    assert sched(6) == 1.0  # StepDecay(0)
    assert close(sched(7), 0.1)


# -- ReduceOnPlateau --------------------------------------------------------------------
def test_plateau_reduces_after_patience_bad_epochs():
    factors, _ = run_plateau(ReduceOnPlateau(gamma=0.5, patience=2), [1.0, 1.0, 1.0, 1.0])
    # Epoch 0 sets the best; epochs 1-2 are tolerated, epoch 3 triggers.
    assert factors == [1.0, 1.0, 1.0, 1.0, 0.5]


def test_plateau_improvement_resets_the_count():
    values = [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5]
    factors, state = run_plateau(ReduceOnPlateau(gamma=0.5, patience=2), values)
    assert factors == [1.0] * 7 + [0.5]
    assert state.best == 0.5


def test_plateau_cooldown_ignores_bad_epochs():
    sched = ReduceOnPlateau(gamma=0.5, patience=0, cooldown=2)
    factors, _ = run_plateau(sched, [1.0] * 7)
    # Reductions after epochs 1 and 4: the cooldown keeps epochs 2-3 and 5-6 from counting.
    assert factors == [1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25]


def test_plateau_threshold_is_relative():
    sched = ReduceOnPlateau(gamma=0.5, patience=0, threshold=0.1)
    assert run_plateau(sched, [10.0, 9.5])[0][-1] == 0.5  # 5 % better: not enough
    assert run_plateau(sched, [10.0, 8.9])[0][-1] == 1.0  # 11 % better
    assert run_plateau(sched, [-10.0, -10.5])[0][-1] == 0.5  # |b| keeps it for negatives
    assert run_plateau(sched, [-10.0, -11.1])[0][-1] == 1.0


def test_plateau_mode_max_wants_larger_values():
    sched = ReduceOnPlateau(gamma=0.5, patience=0, mode="max")
    assert run_plateau(sched, [0.5, 0.6, 0.7])[0] == [1.0] * 4
    assert run_plateau(sched, [0.7, 0.6])[0][-1] == 0.5


def test_plateau_never_goes_below_min_factor():
    sched = ReduceOnPlateau(gamma=0.1, patience=0, min_factor=0.05)
    factors, _ = run_plateau(sched, [1.0] * 5)
    assert factors == [1.0, 1.0, 0.1, 0.05, 0.05, 0.05]


def test_plateau_non_finite_value_is_never_an_improvement():
    factors, state = run_plateau(ReduceOnPlateau(gamma=0.5, patience=1), [math.nan, math.inf])
    assert factors[-1] == 0.5 and state.best is None


plateau_params = st.fixed_dictionaries(
    {
        "gamma": st.floats(0.05, 0.95),
        "patience": st.integers(0, 4),
        "mode": st.sampled_from(["min", "max"]),
        "cooldown": st.integers(0, 3),
        "min_factor": st.sampled_from([0.0, 1e-3, 0.2]),
        "eps": st.sampled_from([0.0, 1e-8, 1e-3, 0.05, 0.3]),
    }
)
# Walks with plateaus, small and large moves, so that every rule gets its turn.
moves = st.lists(st.sampled_from([-1.0, -0.1, -1e-3, 0.0, 0.0, 1e-3, 0.1, 1.0]), max_size=40)


def check_plateau_against_pytorch(params, values):
    sched = ReduceOnPlateau(**params)
    torch_like = TorchPlateau(
        params["gamma"], params["patience"], params["mode"], params["threshold"],
        params["threshold_mode"], params["cooldown"], params["min_factor"], params["eps"],
    )  # fmt: skip
    factors, _ = run_plateau(sched, values)
    rates = [1.0]
    for v in values:
        torch_like.step(v)
        rates.append(torch_like.lr)
    assert factors == rates


@given(plateau_params, st.floats(0.0, 0.5), st.floats(0.5, 5.0), moves)
def test_plateau_relative_threshold_matches_pytorch_on_positive_values(params, tau, v0, steps):
    # PyTorch's relative rule multiplies the best value by (1 -/+ tau): for positive
    # values that is the rule here; for negative ones it moves the wrong way (see below).
    values = [max(v, 1e-3) for v in accumulate(steps, initial=v0)]
    check_plateau_against_pytorch({**params, "threshold": tau, "threshold_mode": "rel"}, values)


@given(plateau_params, st.floats(0.0, 2.0), st.floats(-5.0, 5.0), moves)
def test_plateau_absolute_threshold_matches_pytorch(params, tau, v0, steps):
    values = list(accumulate(steps, initial=v0))
    check_plateau_against_pytorch({**params, "threshold": tau, "threshold_mode": "abs"}, values)


def test_plateau_defaults_are_pytorchs():
    sched = ReduceOnPlateau()
    assert (sched.gamma, sched.patience, sched.mode, sched.threshold) == (0.1, 10, "min", 1e-4)
    assert (sched.threshold_mode, sched.cooldown, sched.min_factor, sched.eps) == (
        "rel",
        0,
        0.0,
        1e-8,
    )


def test_plateau_absolute_threshold():
    sched = ReduceOnPlateau(gamma=0.5, patience=0, threshold=0.5, threshold_mode="abs")
    assert run_plateau(sched, [10.0, 9.6])[0][-1] == 0.5  # 0.4 better: not enough
    assert run_plateau(sched, [10.0, 9.4])[0][-1] == 1.0
    assert run_plateau(sched, [-10.0, -10.6])[0][-1] == 1.0
    high = ReduceOnPlateau(threshold=5.0, threshold_mode="abs")  # a threshold in the value's units
    assert high.threshold == 5.0


def test_plateau_skips_reductions_smaller_than_eps():
    # 1, 0.5, 0.25, 0.125, then 0.0625 would change the multiplier by 0.0625 <= eps.
    sched = ReduceOnPlateau(gamma=0.5, patience=0, eps=0.0625)
    factors, state = run_plateau(sched, [1.0] * 8)
    assert factors == [1.0, 1.0, 0.5, 0.25, 0.125, 0.125, 0.125, 0.125, 0.125]
    assert state.num_bad_epochs == 0  # a skipped reduction still resets the count
    tiny = ReduceOnPlateau(gamma=0.5, patience=0)  # PyTorch's eps: 1e-8
    assert run_plateau(tiny, [1.0] * 40)[0][-1] == 0.5**26  # 0.5**27 would be 7.5e-9 lower


def test_plateau_state_round_trips_through_state_dict_and_pickle():
    sched = ReduceOnPlateau(gamma=0.5, patience=1, cooldown=3)
    _, state = run_plateau(sched, [1.0, 2.0, 2.0, 0.9])
    saved = state.state_dict()
    assert saved == {"multiplier": 0.5, "best": 0.9, "num_bad_epochs": 0, "cooldown_counter": 2}
    restored = sched.init_state()
    restored.load_state_dict(saved)
    assert restored == state == pickle.loads(pickle.dumps(state))
    for t, value in enumerate([1.0] * 6, start=4):  # both continue identically
        sched.observe(t, value, state)
        sched.observe(t, value, restored)
        assert sched.factor(t + 1, restored) == sched.factor(t + 1, state)


def test_plateau_called_without_state_explains_the_protocol():
    sched = ReduceOnPlateau()
    for call in (lambda: sched(0), lambda: sched.values(3), lambda: sched.observe(0, 1.0, None)):
        with pytest.raises(TypeError, match=r"init_state\(\).*factor\(t, state\).*observe"):
            call()


def test_warmup_forwards_to_a_stateful_then_after_the_warmup():
    sched = LinearWarmup(2, then=ReduceOnPlateau(gamma=0.5, patience=0), start_factor=0.5)
    state = sched.init_state()
    assert isinstance(state, PlateauState)
    # Worsening values during the warm-up are not seen by the plateau schedule.
    factors, state = run_plateau(sched, [1.0, 2.0, 3.0, 3.0])
    assert factors == [0.5, 0.75, 1.0, 1.0, 0.5]
    assert state.best == 3.0
    with pytest.raises(TypeError, match="init_state"):
        sched(2)


def test_sequence_forwards_to_the_active_stateful_part():
    plateau = ReduceOnPlateau(gamma=0.5, patience=0)
    sched = Sequence([plateau, CosineAnnealing(4), plateau], boundaries=[2, 4])
    assert Sequence([Constant(), Exponential()], [3]).init_state() is None
    factors, state = run_plateau(sched, [1.0, 2.0, 9.0, 9.0, 1.0, 2.0])
    assert isinstance(state, SequenceState)
    assert factors == [1.0, 1.0, 1.0, CosineAnnealing(4)(1), 1.0, 1.0, 0.5]
    first, middle, last = state.children
    assert (first.multiplier, middle, last.multiplier) == (0.5, None, 0.5)
    restored = sched.init_state()
    restored.load_state_dict(state.state_dict())
    assert restored == state
    with pytest.raises(ValueError, match="state_dict has 2 parts, this Sequence has 3"):
        restored.load_state_dict({"children": [None, None]})


# -- hyperparameters: validation, params, repr, equality, pickling ----------------------
@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: StepDecay(step_size=0), ValueError, r"StepDecay: step_size must be >= 1, got 0"),
        (lambda: StepDecay(step_size=2.0), TypeError, r"step_size must be an integer, got 2.0"),
        (lambda: StepDecay(gamma=1.5), ValueError, r"StepDecay: gamma must be in \(0, 1\]"),
        (lambda: StepDecay(gamma="0.5"), TypeError, r"gamma must be a real number, got '0.5'"),
        (lambda: MultiStep([5, 5]), ValueError, r"milestones must be strictly increasing"),
        (lambda: MultiStep([0, 5]), ValueError, r"milestones\[0\] must be >= 1, got 0"),
        (lambda: MultiStep(30), TypeError, r"milestones must be a list or tuple"),
        (lambda: Exponential(0.0), ValueError, r"Exponential: gamma must be in \(0, 1\], got 0"),
        (lambda: Exponential(math.nan), ValueError, r"gamma must be finite, got nan"),
        (lambda: CosineAnnealing(t_max=0), ValueError, r"t_max must be >= 1, got 0"),
        (lambda: CosineAnnealing(min_factor=-0.1), ValueError, r"min_factor must be in \[0, 1\]"),
        (lambda: CosineWarmRestarts(t_mult=0), ValueError, r"t_mult must be >= 1, got 0"),
        (lambda: CosineWarmRestarts(t_mult=1.5), TypeError, r"t_mult must be an integer"),
        (lambda: OneCycle(pct_start=1.0), ValueError, r"pct_start must be in \(0, 1\), got 1.0"),
        (lambda: OneCycle(max_factor=0.5), ValueError, r"max_factor must be in \[1, inf\]"),
        (lambda: OneCycle(final_factor=20.0), ValueError, r"final_factor must be in \[0, 10\]"),
        (
            lambda: OneCycle(total_steps=3, pct_start=0.3),
            ValueError,
            r"OneCycle: pct_start \* total_steps must exceed 1 .*got 0.3 \* 3",
        ),
        (lambda: LinearWarmup(-1), ValueError, r"warmup_steps must be >= 0, got -1"),
        (lambda: LinearWarmup(then=0.5), TypeError, r"then must be a Schedule, got 0.5"),
        (lambda: LinearWarmup(start_factor=0), ValueError, r"start_factor must be in \(0, 1\]"),
        (lambda: Sequence([], []), TypeError, r"schedules must be a non-empty list or tuple"),
        (lambda: Sequence([Constant(), 1], [3]), TypeError, r"schedules\[1\] must be a Schedule"),
        (lambda: Sequence([Constant()], [3]), ValueError, r"boundaries must have .* = 0 entries"),
        (lambda: Sequence([Constant()] * 3, [3, 2]), ValueError, r"strictly increasing"),
        (lambda: ReduceOnPlateau(gamma=1.0), ValueError, r"gamma must be in \(0, 1\), got 1.0"),
        (lambda: ReduceOnPlateau(patience=-1), ValueError, r"patience must be >= 0, got -1"),
        (lambda: ReduceOnPlateau(mode="avg"), ValueError, r"mode must be 'min' or 'max', got 'av"),
        (lambda: ReduceOnPlateau(threshold=1), ValueError, r"threshold must be in \[0, 1\)"),
        (lambda: ReduceOnPlateau(cooldown=-2), ValueError, r"cooldown must be >= 0, got -2"),
        (
            lambda: ReduceOnPlateau(threshold_mode="absolute"),
            ValueError,
            r"ReduceOnPlateau: threshold_mode must be 'rel' or 'abs', got 'absolute'",
        ),
        (
            lambda: ReduceOnPlateau(threshold=-1.0, threshold_mode="abs"),
            ValueError,
            r"threshold must be in \[0, inf\], got -1.0",
        ),
        (lambda: ReduceOnPlateau(eps=-1e-8), ValueError, r"eps must be in \[0, inf\], got -1e-08"),
    ],
)
def test_invalid_hyperparameters_are_named_in_the_error(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_set_params_validates():
    sched = StepDecay()
    with pytest.raises(ValueError, match=r"StepDecay: gamma must be in \(0, 1\], got 2"):
        sched.set_params(gamma=2)
    warmup = LinearWarmup(then=CosineAnnealing(t_max=50))
    with pytest.raises(ValueError, match=r"CosineAnnealing: t_max must be >= 1, got 0"):
        warmup.set_params(then__t_max=0)


def test_nested_params_reach_the_then_schedule():
    sched = LinearWarmup(5, then=CosineAnnealing(t_max=95))
    params = sched.get_params(deep=True)
    assert params["then__t_max"] == 95 and params["then__min_factor"] == 0.0
    assert "then__t_max" not in sched.get_params(deep=False)
    sched.set_params(then__t_max=45, warmup_steps=3)
    assert sched == LinearWarmup(3, then=CosineAnnealing(t_max=45))
    assert sched(48) == 0.0


def test_constructor_arguments_are_stored_verbatim():
    milestones = [10, 20]
    assert MultiStep(milestones).milestones is milestones
    assert MultiStep((10, 20)).milestones == (10, 20)
    parts = (Constant(), Exponential())
    assert Sequence(parts, [3]).schedules is parts


def test_repr_and_equality():
    sched = LinearWarmup(3, then=StepDecay(step_size=4))
    assert repr(sched) == (
        "LinearWarmup(warmup_steps=3, then=StepDecay(step_size=4, gamma=0.5), start_factor=0.1)"
    )
    assert repr(Constant()) == "Constant()"
    assert sched == LinearWarmup(3, then=StepDecay(step_size=4))
    assert sched != LinearWarmup(3, then=StepDecay(step_size=5))
    assert StepDecay() != MultiStep()
    assert Constant() == Constant()
    with pytest.raises(TypeError, match="unhashable"):
        hash(sched)


@pytest.mark.parametrize("sched", EXAMPLES, ids=repr)
def test_repr_rebuilds_an_equal_schedule(sched):
    namespace = {cls.__name__: cls for cls in BUILTIN_SCHEDULES.values()}
    assert eval(repr(sched), namespace) == sched
    assert type(sched)(**sched.get_params(deep=False)) == sched


@pytest.mark.parametrize("sched", EXAMPLES, ids=repr)
def test_pickling_keeps_the_schedule(sched):
    copy = pickle.loads(pickle.dumps(sched))
    assert copy == sched
    if sched.init_state() is None:
        assert copy.values(30).tolist() == sched.values(30).tolist()


# -- registry hook and search spaces ------------------------------------------------------
def test_builtin_names():
    assert BUILTIN_SCHEDULES == {
        "constant": Constant,
        "step": StepDecay,
        "multistep": MultiStep,
        "exponential": Exponential,
        "cosine": CosineAnnealing,
        "cosine_restarts": CosineWarmRestarts,
        "warmup": LinearWarmup,
        "onecycle": OneCycle,
        "sequence": Sequence,
        "plateau": ReduceOnPlateau,
    }
    assert all(issubclass(cls, Schedule) for cls in BUILTIN_SCHEDULES.values())


@pytest.mark.parametrize("cls", list(BUILTIN_SCHEDULES.values()), ids=lambda c: c.__name__)
def test_search_space_bounds_are_valid_hyperparameters(cls):
    for hp in cls.search_space:
        assert hp.name in cls._param_names()
        for bound in (hp.low, hp.high):
            cls(**{hp.name: bound})  # raises if the declared range is not allowed
        assert hp.contains(cls().get_params()[hp.name])  # the default lies in the range
