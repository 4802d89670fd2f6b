"""The feature store's catalog tables (append-only migrations: never edit a released one).

- ``feature_definitions``: every version of every entity and feature view. A
  version is never changed or deleted; removing a definition appends a
  ``removed`` version. ``def_seq`` is the manifest sequence number of the
  definitions file written by the apply that created the version, so a manifest
  snapshot pins definitions as exactly as it pins data. Retrieval reads a view's
  data files with ``seq > data_since`` (a forced breaking change starts anew).
- ``feature_datasets``: saved training datasets (spec, snapshot, versions, files).
- ``feature_online``: which online file was materialized from which view version.
- ``feature_stats``: discovery statistics cached per view version and data snapshot.
"""

from __future__ import annotations

from mlcore.store.migrations import Component

SCHEMA = Component(
    "features",
    (
        """
        CREATE TABLE feature_definitions (
            kind        VARCHAR NOT NULL,
            name        VARCHAR NOT NULL,
            version     INTEGER NOT NULL,
            status      VARCHAR NOT NULL,
            spec        VARCHAR NOT NULL,
            fingerprint VARCHAR NOT NULL,
            breaking    BOOLEAN NOT NULL,
            forced      BOOLEAN NOT NULL,
            data_since  BIGINT NOT NULL,
            def_seq     BIGINT NOT NULL,
            created_at  TIMESTAMPTZ NOT NULL,
            created_by  VARCHAR NOT NULL,
            PRIMARY KEY (kind, name, version)
        );
        CREATE TABLE feature_datasets (
            name            VARCHAR NOT NULL,
            version         INTEGER NOT NULL,
            snapshot        BIGINT NOT NULL,
            spec            VARCHAR NOT NULL,
            versions        VARCHAR NOT NULL,
            entities_path   VARCHAR NOT NULL,
            entities_sha256 VARCHAR NOT NULL,
            path            VARCHAR NOT NULL,
            sha256          VARCHAR NOT NULL,
            rows            BIGINT NOT NULL,
            description     VARCHAR NOT NULL,
            created_at      TIMESTAMPTZ NOT NULL,
            created_by      VARCHAR NOT NULL,
            PRIMARY KEY (name, version)
        );
        CREATE TABLE feature_online (
            view            VARCHAR NOT NULL,
            seq             BIGINT NOT NULL,
            version         INTEGER NOT NULL,
            materialized_at TIMESTAMPTZ NOT NULL,
            data_snapshot   BIGINT NOT NULL,
            PRIMARY KEY (view, seq)
        );
        CREATE TABLE feature_stats (
            view          VARCHAR NOT NULL,
            version       INTEGER NOT NULL,
            data_snapshot BIGINT NOT NULL,
            stats         VARCHAR NOT NULL,
            computed_at   TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (view, version, data_snapshot)
        );
        """,
    ),
)
