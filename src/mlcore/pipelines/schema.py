"""The pipelines' catalog tables: runs, their step records, and the cache index.

``pipeline_runs`` holds one row per run, written when it starts and updated
once when it finishes. Step records are append-only: every write of a step's
state adds a row to ``pipeline_step_records`` and the newest row (highest
``seq``) of a step is its state, so a write is one cheap INSERT, several steps
go in one statement, and the attempts of a step stay readable afterwards.
``pipeline_cache`` maps a cache key to the outputs of a step that succeeded
with it; it is written in the same transaction that registers those outputs
(as blobs, or in a pack data file listed in ``pipeline_packed``), so a row
there always names outputs the store holds.

JSON columns (parameters, inputs, outputs, errors) hold what the engine's
records serialise to; run ids, step names and keys stay columns so that they
can be filtered with bound parameters.
"""

from __future__ import annotations

from mlcore.store.migrations import Component

SCHEMA = Component(
    "pipelines",
    (
        """
        CREATE TABLE pipeline_runs (
            id             VARCHAR PRIMARY KEY,
            pipeline       VARCHAR NOT NULL,
            status         VARCHAR NOT NULL,
            params         VARCHAR NOT NULL,
            steps          VARCHAR NOT NULL,
            source         VARCHAR,
            resumed_from   VARCHAR,
            mlcore_version VARCHAR NOT NULL,
            actor          VARCHAR NOT NULL,
            started_at     TIMESTAMPTZ NOT NULL,
            finished_at    TIMESTAMPTZ
        );
        CREATE INDEX pipeline_runs_pipeline ON pipeline_runs (pipeline);
        CREATE TABLE pipeline_step_records (
            run_id      VARCHAR NOT NULL,
            name        VARCHAR NOT NULL,
            seq         BIGINT NOT NULL,
            step        VARCHAR NOT NULL,
            status      VARCHAR NOT NULL,
            cache_key   VARCHAR,
            cache_hit   BOOLEAN,
            attempts    INTEGER NOT NULL,
            started_at  TIMESTAMPTZ,
            finished_at TIMESTAMPTZ,
            inputs      VARCHAR NOT NULL,
            outputs     VARCHAR NOT NULL,
            error       VARCHAR,
            reused_from VARCHAR,
            note        VARCHAR NOT NULL
        );
        CREATE INDEX pipeline_step_records_run ON pipeline_step_records (run_id);
        CREATE TABLE pipeline_cache (
            cache_key  VARCHAR NOT NULL,
            run_id     VARCHAR NOT NULL,
            step       VARCHAR NOT NULL,
            outputs    VARCHAR NOT NULL,
            created_at TIMESTAMPTZ NOT NULL
        );
        CREATE INDEX pipeline_cache_key ON pipeline_cache (cache_key);
        """,
        # v2: small outputs live in pack data files (mlcore.pipelines.packs).
        """
        CREATE TABLE pipeline_packed (
            sha256 VARCHAR NOT NULL,
            path   VARCHAR NOT NULL,
            bytes  BIGINT NOT NULL
        );
        CREATE INDEX pipeline_packed_sha ON pipeline_packed (sha256);
        """,
    ),
)
