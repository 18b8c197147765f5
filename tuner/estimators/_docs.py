"""Docstring sections shared by the four estimators, written once.

A class docstring holds the markers ``%(training_parameters)s`` and
``%(training_attributes)s``; :func:`fill_doc` replaces them, so that
``help(MLPClassifier)`` shows every parameter and attribute.
"""

from __future__ import annotations

__all__ = ["fill_doc"]

TRAINING_PARAMETERS = """\
alpha : float, default=1e-4
        Strength of the L2 penalty :math:`\\frac{\\alpha}{2}\\lVert W\\rVert^2` on
        the weight matrices (not the intercepts), added to the weighted mean loss
        of every mini-batch. Unlike scikit-learn's MLP, the penalty is not
        divided by the batch size, so ``alpha`` means the same for any batch size.
    optimizer : str or optim.Optimizer, default="adam"
        A registered optimizer name (``optim.available_optimizers()``), built with
        its default hyperparameters, or an optimizer object such as
        ``optim.Adam(lr=1e-3)``, which is only read, never changed. Its
        hyperparameters are nested parameters: ``set_params(optimizer__lr=0.01)``
        (a name is then replaced by the object it stands for).
    schedule : str or optim.Schedule, default="constant"
        Learning-rate schedule, a registered name or an object; the rate of a
        step is ``optimizer.lr * schedule.factor(t, state)``. Nested parameters
        as for ``optimizer`` (``schedule__t_max``).
    schedule_interval : {"epoch", "batch"}, default="epoch"
        What ``t`` counts: epochs (the rate changes once per epoch) or
        mini-batches. Stateful schedules (``ReduceOnPlateau``) observe the mean
        training loss at the end of every epoch either way.
    batch_size : int or "auto", default="auto"
        Mini-batch size; "auto" is ``min(200, n_samples)``. Larger values are
        clipped to the number of samples.
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


def fill_doc(cls: type) -> type:
    """Class decorator that fills in the shared docstring sections."""
    cls.__doc__ = cls.__doc__.replace("%(training_parameters)s", TRAINING_PARAMETERS).replace(
        "%(training_attributes)s", TRAINING_ATTRIBUTES
    )
    return cls
