"""The model registry: versions of models with their artifacts, signatures and lineage.

``store.models`` is a :class:`~mlcore.registry.registry.Registry`. The package:

- :mod:`~mlcore.registry.registry`: the facade — register, lifecycle verbs,
  pointers, show/history, load, search, score;
- :mod:`~mlcore.registry.lifecycle`: states, named transitions, approval rules,
  the release-gate protocol;
- :mod:`~mlcore.registry.models`: the records it returns;
- :mod:`~mlcore.registry.capture`: what registration validates and records
  besides the artifact (values, lineage);
- :mod:`~mlcore.registry.search`: the filters;
- :mod:`~mlcore.registry.scoring`: batch scoring and the in-process model cache;
- :mod:`~mlcore.registry.schema`: the catalog tables;
- :mod:`~mlcore.registry.artifacts`: safe serialisation (skops) with a trust
  list, size limits, and a registry of serializers keyed by format; its
  :func:`~mlcore.registry.artifacts.reproducible` (equal models, equal bytes)
  also serves the pipeline cache;
- :mod:`~mlcore.registry.signature`: input/output signatures inferred from the
  training frame, checking a scoring frame against them, input examples, and
  :func:`~mlcore.registry.signature.predict`;
- :mod:`~mlcore.registry.lineage`: code fingerprint, git commit, environment.
"""
