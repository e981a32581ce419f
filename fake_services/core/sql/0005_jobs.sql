-- One row per job: enqueue, start and finish times, so async SLIs are measurable end to end.
CREATE TABLE job_runs (
    queue           text        NOT NULL,
    job_id          text        NOT NULL,
    kind            text        NOT NULL,
    request_id      text,
    tenant_id       text,
    enqueued_at     timestamptz NOT NULL,
    started_at      timestamptz,
    finished_at     timestamptz,
    status          text        NOT NULL,
    attempts        integer     NOT NULL DEFAULT 0,  -- deliveries to a worker, crashes included
    last_error_code text,
    PRIMARY KEY (queue, job_id)
);
CREATE INDEX job_runs_request_idx ON job_runs (request_id);

-- Notifications "sent" by the notifications worker; job_id makes a redelivery a no-op.
CREATE TABLE notifications (
    job_id      text PRIMARY KEY,
    tenant_id   text,
    kind        text        NOT NULL,
    resource_id text,
    sent_at     timestamptz NOT NULL DEFAULT now()
);

-- What the AI ingestion worker indexed: a digest, never the content itself.
CREATE TABLE ai_documents (
    version_id     uuid PRIMARY KEY,
    tenant_id      text        NOT NULL,
    content_sha256 text        NOT NULL,
    chunk_count    integer     NOT NULL,
    ingested_at    timestamptz NOT NULL DEFAULT now()
);
