"""The monitoring capability's catalog tables: monitors, window summaries, alerts.

A monitor row holds its configuration and points at two blobs, the reference
profile and its calibration (content-addressed, written once at creation, in
:mod:`mlcore.monitoring.codec` form). Production rows themselves live in
Parquet data files of kind ``monitoring`` (owner ``monitor:<name>`` for
predictions, ``labels:<name>`` for ground truth); what the catalog keeps per
window is its summary and performance counts, a few kilobytes whatever the
rows, updated in the transaction that registers the log file they came from.

``window_id`` numbers a monitor's windows: for time windows the bucket index
since the origin (Monday 1970-01-05 UTC), for per-batch windows a counter. An
alert is unique per (monitor, rule, window): evaluating a window again never
raises the same alert twice.
"""

from __future__ import annotations

from mlcore.store.migrations import Component

SCHEMA = Component(
    "monitoring",
    (
        """
        CREATE TABLE monitors (
            name               VARCHAR PRIMARY KEY,
            model              VARCHAR,
            model_version      INTEGER,
            pinned             BOOLEAN NOT NULL,
            created_at         TIMESTAMPTZ NOT NULL,
            created_by         VARCHAR NOT NULL,
            profile_id         VARCHAR NOT NULL,
            profile_sha256     VARCHAR NOT NULL,
            calibration_sha256 VARCHAR,
            columns            VARCHAR[] NOT NULL,
            prediction         VARCHAR,
            label              VARCHAR,
            task               VARCHAR,
            request_id         VARCHAR NOT NULL,
            event_time         VARCHAR,
            window_spec        VARCHAR NOT NULL,
            settings           VARCHAR NOT NULL,
            rules              VARCHAR NOT NULL,
            detector_state     VARCHAR,
            audit_seq          BIGINT NOT NULL
        );
        CREATE INDEX monitors_model ON monitors (model);
        CREATE TABLE monitor_windows (
            monitor     VARCHAR NOT NULL,
            window_id   BIGINT NOT NULL,
            starts_at   TIMESTAMPTZ NOT NULL,
            ends_at     TIMESTAMPTZ NOT NULL,
            n_rows      BIGINT NOT NULL,
            n_labelled  BIGINT NOT NULL,
            n_changes   BIGINT NOT NULL,
            summary     BLOB NOT NULL,
            performance BLOB,
            updated_at  TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (monitor, window_id)
        );
        CREATE TABLE monitor_alerts (
            id            BIGINT PRIMARY KEY,
            monitor       VARCHAR NOT NULL,
            rule          VARCHAR NOT NULL,
            window_id     BIGINT NOT NULL,
            window_start  TIMESTAMPTZ NOT NULL,
            statistic     VARCHAR NOT NULL,
            columns       VARCHAR[] NOT NULL,
            value         DOUBLE,
            threshold     DOUBLE,
            severity      VARCHAR NOT NULL,
            status        VARCHAR NOT NULL,
            created_at    TIMESTAMPTZ NOT NULL,
            created_by    VARCHAR NOT NULL,
            details       VARCHAR NOT NULL,
            action        VARCHAR,
            action_status VARCHAR,
            run_id        VARCHAR,
            acked_at      TIMESTAMPTZ,
            acked_by      VARCHAR,
            ack_comment   VARCHAR,
            resolved_at   TIMESTAMPTZ,
            resolved_by   VARCHAR,
            resolution    VARCHAR,
            UNIQUE (monitor, rule, window_id)
        );
        CREATE INDEX monitor_alerts_status ON monitor_alerts (monitor, status);
        """,
    ),
)
