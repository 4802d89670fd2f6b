"""The model registry: versions of models with their artifacts, signatures and lineage.

Phase 1 holds the artifact side, pure functions over models, frames and bytes:

- :mod:`mlcore.registry.artifacts`: safe serialisation (skops) with a trust
  list, size limits, and a registry of serializers keyed by format;
- :mod:`mlcore.registry.signature`: input/output signatures inferred from the
  training frame, checking a scoring frame against them, input examples, and
  :func:`~mlcore.registry.signature.predict`;
- :mod:`mlcore.registry.lineage`: code fingerprint, git commit, environment.

The catalog side (models, versions, lifecycle, aliases) builds on these.
"""
