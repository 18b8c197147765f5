"""Tuning layer: scikit-learn estimators, Optuna studies, reports and the CLI."""

__all__: list[str] = []
