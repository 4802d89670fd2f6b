"""The registry's catalog tables: models, versions, lifecycle events, pointers and their moves.

A version row is written once (register) and afterwards only its ``state`` and
``state_at`` change. Everything that happens to a version or a pointer is a row
in ``model_events`` or ``pointer_moves`` keyed by the sequence number of the
audit entry written in the same transaction, so the timeline of a model is
ordered exactly like the audit chain and each row points at its sealed entry.

Metrics, tags and feature references are MAP and LIST columns so that search
filters them with bound parameters (``metrics[?] >= ?``), never with SQL or
JSON paths built from user text.
"""

from __future__ import annotations

from mlcore.store.migrations import Component

SCHEMA = Component(
    "registry",
    (
        """
        CREATE TABLE models (
            name         VARCHAR PRIMARY KEY,
            created_at   TIMESTAMPTZ NOT NULL,
            created_by   VARCHAR NOT NULL,
            last_version INTEGER NOT NULL
        );
        CREATE TABLE model_versions (
            model           VARCHAR NOT NULL,
            version         INTEGER NOT NULL,
            state           VARCHAR NOT NULL,
            state_at        TIMESTAMPTZ NOT NULL,
            created_at      TIMESTAMPTZ NOT NULL,
            created_by      VARCHAR NOT NULL,
            artifact_sha256 VARCHAR NOT NULL,
            artifact        VARCHAR NOT NULL,
            trusted         VARCHAR[] NOT NULL,
            signature       VARCHAR,
            input_example   VARCHAR,
            lineage         VARCHAR NOT NULL,
            params          VARCHAR NOT NULL,
            card            VARCHAR NOT NULL,
            owner           VARCHAR NOT NULL,
            risk_tier       VARCHAR,
            metrics         MAP(VARCHAR, DOUBLE) NOT NULL,
            tags            MAP(VARCHAR, VARCHAR) NOT NULL,
            features        VARCHAR[] NOT NULL,
            PRIMARY KEY (model, version)
        );
        CREATE TABLE model_events (
            audit_seq  BIGINT PRIMARY KEY,
            model      VARCHAR NOT NULL,
            version    INTEGER NOT NULL,
            action     VARCHAR NOT NULL,
            from_state VARCHAR,
            to_state   VARCHAR NOT NULL,
            acted_at   TIMESTAMPTZ NOT NULL,
            actor      VARCHAR NOT NULL,
            roles      VARCHAR[] NOT NULL,
            reason     VARCHAR,
            evidence   VARCHAR
        );
        CREATE INDEX model_events_model ON model_events (model, version);
        CREATE TABLE model_pointers (
            model    VARCHAR NOT NULL,
            alias    VARCHAR NOT NULL,
            version  INTEGER NOT NULL,
            since    TIMESTAMPTZ NOT NULL,
            moved_by VARCHAR NOT NULL,
            PRIMARY KEY (model, alias)
        );
        CREATE TABLE pointer_moves (
            audit_seq    BIGINT PRIMARY KEY,
            model        VARCHAR NOT NULL,
            alias        VARCHAR NOT NULL,
            action       VARCHAR NOT NULL,
            from_version INTEGER,
            to_version   INTEGER,
            moved_at     TIMESTAMPTZ NOT NULL,
            moved_by     VARCHAR NOT NULL,
            reason       VARCHAR,
            evidence     VARCHAR
        );
        CREATE INDEX pointer_moves_model ON pointer_moves (model, alias);
        """,
    ),
)
