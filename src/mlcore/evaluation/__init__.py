"""Evaluation: is this model good enough, fair enough, and better than production?

``store.evals`` is :class:`~mlcore.evaluation.evaluations.Evaluations`: evaluations of
model versions recorded under policies as code, waivers, reports, and the release gate
the registry calls. The package, from the store down to the numbers:

- :mod:`~mlcore.evaluation.evaluations` -- the facade: run, read, report, apply
  policies, waive rules, the registry's gate hooks;
- :mod:`~mlcore.evaluation.gate` -- which policies are in force for a version and
  whether its evaluation clears them (catalog reads only, inside the release);
- :mod:`~mlcore.evaluation.runner` -- what ``run`` computes before recording: data,
  scores of the version and the champion, drift, rule verdicts;
- :mod:`~mlcore.evaluation.policy` and :mod:`~mlcore.evaluation.rules` -- TOML policies
  and the rule kinds, one module each;
- :mod:`~mlcore.evaluation.records`, :mod:`~mlcore.evaluation.report`,
  :mod:`~mlcore.evaluation.inputs`, :mod:`~mlcore.evaluation.schema` -- what is returned,
  exported, read in and stored;
- :mod:`~mlcore.evaluation.evaluate` -- one frame in, every table out;
- the numeric core, pure functions of arrays or of a Polars frame and column names:
  :mod:`~mlcore.evaluation.metrics` (metrics equal to scikit-learn's, each with a
  bootstrap interval; their kernels in :mod:`~mlcore.evaluation.tasks`),
  :mod:`~mlcore.evaluation.bootstrap` (the multinomial row bootstrap as integer
  weights), :mod:`~mlcore.evaluation.slices` (per slice and cross, the worst named),
  :mod:`~mlcore.evaluation.fairness` (group rates and disparities equal to Fairlearn's,
  with small-sample tests), :mod:`~mlcore.evaluation.comparison` (paired deltas against
  the champion).

Nothing is imported here, so that ``import mlcore.evaluation`` stays cheap.
"""
