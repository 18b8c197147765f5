"""Docstring sections shared by the four estimators, written once.

A class docstring holds the markers ``%(training_parameters)s``,
``%(training_attributes)s`` and ``%(training_notes)s``; :func:`fill_doc`
replaces them, so that ``help(MLPClassifier)`` shows every parameter,
attribute and rule of training.
"""

from __future__ import annotations

import optim

from ._outcomes import DIVERGENCE_FACTOR
from ._params import NAMED_OPTIMIZER_DEFAULTS

__all__ = ["fill_doc"]


def _named_defaults() -> str:
    """``"sgd", "momentum": ``clip_norm=1.0``; ...`` from the estimators' table."""
    groups: dict[str, list[str]] = {}
    for cls, kwargs in NAMED_OPTIMIZER_DEFAULTS.items():
        text = ", ".join(f"{key}={value!r}" for key, value in kwargs.items())
        groups.setdefault(text, []).append(f'"{optim.name_of(cls)}"')
    return "; ".join(f"{', '.join(names)}: ``{text}``" for text, names in groups.items())


TRAINING_PARAMETERS = """\
alpha : float, default=1e-4
        Strength of the L2 penalty :math:`\\frac{\\alpha}{2}\\lVert W\\rVert^2` on
        the weight matrices (not the intercepts), added to the weighted mean loss
        of every mini-batch. Unlike scikit-learn's MLP, the penalty is not
        divided by the batch size, so ``alpha`` means the same for any batch size.
    optimizer : str or optim.Optimizer, default="adam"
        A registered optimizer name (``optim.available_optimizers()``), or an
        optimizer object such as ``optim.Adam(lr=1e-3)``, which is only read,
        never changed. A name is built with its class's defaults, except for
        the estimators' own:
        %(named_defaults)s.
        Adam's class rate is too slow to fit a small data set within the
        decaying schedules' default lengths; the largest stable rate of plain
        and momentum steps shrinks with the scale of the data, while a clipped
        step cannot grow without bound. The hyperparameters are nested
        parameters: ``set_params(optimizer__lr=0.01)`` (a name is then replaced
        by the object it stands for, with the same defaults).
    schedule : str or optim.Schedule, default="constant"
        Learning-rate schedule, a registered name or an object; the rate of a
        step is ``optimizer.lr * schedule.factor(t, state)``. Nested parameters
        as for ``optimizer`` (``schedule__t_max``).
    schedule_interval : {"epoch", "batch"}, default="epoch"
        What ``t`` counts: epochs (the rate changes once per epoch) or
        mini-batches. Stateful schedules (``ReduceOnPlateau``) observe the mean
        training loss at the end of every epoch either way.
    batch_size : int or "auto", default=32
        Mini-batch size; "auto" is ``min(200, n_samples)``, scikit-learn's MLP
        default. Larger values are clipped to the number of samples. Batches of
        32 give a small data set enough steps per epoch to converge within the
        default ``max_epochs``, and the schedules' default lengths.
    max_epochs : int, default=200
        Maximum number of passes over the data in one ``fit`` call.
    tol : float, default=1e-4
        Improvement that counts: training stops when the training loss (or, with
        early stopping, the validation score) has not improved by at least
        ``tol`` for ``n_iter_no_change`` consecutive epochs.
    n_iter_no_change : int, default=10
        Epochs without improvement before stopping.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data (stratified for
        classifiers), stop when its score stops improving, and keep the weights
        of the best epoch. With ``X_val``/``y_val`` given to ``fit``, those are
        used instead. Not used by ``partial_fit``.
    validation_fraction : float, default=0.1
        Share of the training data held out for early stopping, in (0, 1).
    shuffle : bool, default=True
        Shuffle the samples before every epoch (with ``random_state``).
    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights, the early-stopping split and the shuffling.
        An int makes ``fit`` bit-for-bit reproducible.
    warm_start : bool, default=False
        Make ``fit`` continue from the fitted weights, optimizer state, schedule
        position and shuffling stream instead of starting again;
        ``loss_curve_`` and ``n_iter_`` keep counting.
    verbose : bool or int, default=False
        Print the loss, rate and validation score after every epoch."""

TRAINING_ATTRIBUTES = """\
n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features, when ``X`` was a DataFrame with string column names.
    n_iter_ : int
        Epochs run (accumulated by ``warm_start`` and ``partial_fit``).
    n_batches_ : int
        Mini-batches processed, the counter of a per-batch schedule.
    loss_curve_ : list of float
        Mean training loss of each epoch, including the L2 term.
    lr_curve_ : list of float
        Learning rate of each epoch (mean over the epoch for per-batch schedules).
    validation_scores_ : list of float or None
        Validation score (accuracy or R^2) after each epoch, when there is
        validation data (early stopping or ``X_val``); None otherwise.
    best_validation_score_ : float or None
        The best of ``validation_scores_``.
    optimizer_state_ : optim.OptimizerState
        Moments, velocities and step counter; ``warm_start`` and ``partial_fit``
        continue from it.
    schedule_state_ : object or None
        State of a stateful schedule (None for pure schedules).
    stop_reason_ : str
        Why the last ``fit`` ended: "max_epochs" (all epochs run, or the pass of
        ``partial_fit``), "no_improvement" (the training loss stopped improving),
        "early_stopping" (the validation score did), "callback" (a callback
        returned True), "stopped" (a ``fit_epochs`` iterator was not resumed) or
        "diverged"."""


TRAINING_NOTES = f"""\
Notes
    -----
    With its defaults, and with any built-in optimizer or schedule given by name,
    the estimator passes scikit-learn's estimator checks.

    Training diverges, and ``fit`` raises :class:`DivergenceError` (a
    ``ValueError`` naming the epoch), when a mini-batch loss, the weights or most
    gradients of an epoch become NaN or infinite, or when the mean training loss
    of an epoch, or the loss of the weights it ends with (on its last
    mini-batch), exceeds {DIVERGENCE_FACTOR:,.0f} times the loss of the initial
    weights: their mean loss over the training data, computed when a ``fit``
    starts, kept by ``warm_start`` and ``partial_fit``, and raised to the loss of
    a continued session's first mini-batch when that is larger (new data of a
    larger scale). The estimator keeps the weights of the end of the last sane
    epoch. Sane training, even with noisy or rising early epochs, a warm-up or a
    too-large but stable rate, stays far below the limit; an unstable rate grows
    the loss geometrically past it."""

SECTIONS = {
    "%(training_parameters)s": TRAINING_PARAMETERS.replace("%(named_defaults)s", _named_defaults()),
    "%(training_attributes)s": TRAINING_ATTRIBUTES,
    "%(training_notes)s": TRAINING_NOTES,
}


def fill_doc(cls: type) -> type:
    """Class decorator that fills in the shared docstring sections."""
    for marker, text in SECTIONS.items():
        cls.__doc__ = cls.__doc__.replace(marker, text)
    return cls
