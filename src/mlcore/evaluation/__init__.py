"""Evaluation: is this model good enough, fair enough, and better than production?

The numeric core the evaluation gate calls, all pure functions of arrays or of a Polars
frame and column names:

- :mod:`~mlcore.evaluation.metrics` -- classification and regression metrics equal to
  scikit-learn's, each with a bootstrap confidence interval;
- :mod:`~mlcore.evaluation.bootstrap` -- the multinomial row bootstrap as integer weights;
- :mod:`~mlcore.evaluation.slices` -- metrics per slice and per cross of slices, the
  worst slice named;
- :mod:`~mlcore.evaluation.fairness` -- group rates and disparities equal to Fairlearn's,
  with small-sample tests;
- :mod:`~mlcore.evaluation.comparison` -- a challenger against the production champion,
  metric deltas with paired bootstrap intervals.

Nothing is imported here, so that ``import mlcore.evaluation`` stays cheap.
"""
