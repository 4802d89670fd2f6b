"""The store's own tables: store facts, data-file manifest, blobs, audit, actors."""

from __future__ import annotations

from mlcore.store.migrations import Component

CORE = Component(
    "core",
    (
        """
        CREATE TABLE store_info (
            key   VARCHAR PRIMARY KEY,
            value VARCHAR NOT NULL
        );
        -- Immutable Parquet files. A file is visible at snapshot S when
        -- seq <= S and it was not retired at or before S.
        CREATE TABLE data_files (
            seq         BIGINT PRIMARY KEY,
            path        VARCHAR NOT NULL UNIQUE,
            kind        VARCHAR NOT NULL,
            owner       VARCHAR NOT NULL,
            rows        BIGINT NOT NULL,
            bytes       BIGINT NOT NULL,
            sha256      VARCHAR NOT NULL,
            schema_json VARCHAR NOT NULL,
            created_at  TIMESTAMPTZ NOT NULL,
            created_by  VARCHAR NOT NULL,
            retired_seq BIGINT
        );
        CREATE INDEX data_files_owner ON data_files (kind, owner);
        CREATE TABLE blobs (
            sha256     VARCHAR PRIMARY KEY,
            bytes      BIGINT NOT NULL,
            media_type VARCHAR,
            created_at TIMESTAMPTZ NOT NULL,
            created_by VARCHAR NOT NULL
        );
        CREATE TABLE audit_log (
            seq       BIGINT PRIMARY KEY,
            logged_at TIMESTAMPTZ NOT NULL,
            actor     VARCHAR NOT NULL,
            action    VARCHAR NOT NULL,
            subject   VARCHAR NOT NULL,
            details   VARCHAR NOT NULL,
            prev_hash VARCHAR NOT NULL,
            hash      VARCHAR NOT NULL
        );
        CREATE TABLE role_grants (
            actor      VARCHAR NOT NULL,
            role       VARCHAR NOT NULL,
            granted_at TIMESTAMPTZ NOT NULL,
            granted_by VARCHAR NOT NULL,
            PRIMARY KEY (actor, role)
        );
        """,
    ),
)
