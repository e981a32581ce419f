-- Run events received from the WRK Platform webhook, and the usage aggregated from them.
CREATE TABLE run_events (
    event_id      text PRIMARY KEY,  -- idempotency: a redelivered event is a no-op
    tenant_id     text        NOT NULL,
    automation_id text        NOT NULL,
    status        text        NOT NULL,
    occurred_at   timestamptz NOT NULL,
    received_at   timestamptz NOT NULL,  -- first reception, across sender retries
    stored_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    request_id    text
);
CREATE INDEX run_events_usage_idx ON run_events (tenant_id, automation_id, occurred_at);
CREATE INDEX run_events_received_idx ON run_events (received_at);

CREATE TABLE usage_aggregates (
    tenant_id     text        NOT NULL,
    automation_id text        NOT NULL,
    period        date        NOT NULL,  -- UTC day of occurred_at
    run_count     integer     NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, automation_id, period)
);
