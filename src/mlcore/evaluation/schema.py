"""The evaluation capability's catalog tables: policies, evaluations, rule results, waivers.

A policy version is written once (``policy apply``) and never changes; applying
changed content adds the next version. An evaluation row, its rule results and
its slice table (a Parquet data file of kind ``evaluations`` owned by the
evaluation id) are written together in one transaction, then never change:
later waivers and the passing of time (revalidation age) are applied when an
evaluation is read or the gate runs, not by editing what was recorded.

Every row points at the audit entry written in the same transaction
(``audit_seq``). The per-rule table exists so that the release gate reads one
evaluation's verdict with one indexed query inside the release transaction.
"""

from __future__ import annotations

from mlcore.store.migrations import Component

SCHEMA = Component(
    "evaluation",
    (
        """
        CREATE TABLE policies (
            name        VARCHAR NOT NULL,
            version     INTEGER NOT NULL,
            sha256      VARCHAR NOT NULL,
            spec        VARCHAR NOT NULL,
            source      VARCHAR NOT NULL,
            source_name VARCHAR,
            applied_at  TIMESTAMPTZ NOT NULL,
            applied_by  VARCHAR NOT NULL,
            audit_seq   BIGINT NOT NULL,
            PRIMARY KEY (name, version)
        );
        CREATE TABLE evaluations (
            id             VARCHAR PRIMARY KEY,
            model          VARCHAR NOT NULL,
            version        INTEGER NOT NULL,
            created_at     TIMESTAMPTZ NOT NULL,
            created_by     VARCHAR NOT NULL,
            task           VARCHAR NOT NULL,
            n_rows         BIGINT NOT NULL,
            dataset_sha256 VARCHAR NOT NULL,
            dataset        VARCHAR NOT NULL,
            policies       VARCHAR NOT NULL,
            champion       INTEGER,
            passed         BOOLEAN NOT NULL,
            metrics        MAP(VARCHAR, DOUBLE) NOT NULL,
            results        VARCHAR NOT NULL,
            audit_seq      BIGINT NOT NULL
        );
        CREATE INDEX evaluations_version ON evaluations (model, version);
        CREATE TABLE evaluation_rules (
            evaluation_id  VARCHAR NOT NULL,
            position       INTEGER NOT NULL,
            policy         VARCHAR NOT NULL,
            policy_version INTEGER NOT NULL,
            rule           VARCHAR NOT NULL,
            kind           VARCHAR NOT NULL,
            severity       VARCHAR NOT NULL,
            status         VARCHAR NOT NULL,
            value          DOUBLE,
            threshold      DOUBLE,
            op             VARCHAR,
            message        VARCHAR NOT NULL,
            citation       VARCHAR NOT NULL,
            description    VARCHAR NOT NULL,
            details        VARCHAR NOT NULL,
            PRIMARY KEY (evaluation_id, position)
        );
        CREATE TABLE waivers (
            id             VARCHAR PRIMARY KEY,
            model          VARCHAR NOT NULL,
            version        INTEGER NOT NULL,
            policy         VARCHAR NOT NULL,
            policy_version INTEGER NOT NULL,
            rule           VARCHAR NOT NULL,
            justification  VARCHAR NOT NULL,
            expires_at     TIMESTAMPTZ NOT NULL,
            created_at     TIMESTAMPTZ NOT NULL,
            created_by     VARCHAR NOT NULL,
            audit_seq      BIGINT NOT NULL
        );
        CREATE INDEX waivers_version ON waivers (model, version);
        """,
    ),
)
