-- Versions of an automation (Studio API); a build turns a version into a platform workflow.
CREATE TABLE automation_versions (
    id            uuid PRIMARY KEY,
    automation_id uuid        NOT NULL REFERENCES automations (id),
    tenant_id     text        NOT NULL,
    version       integer     NOT NULL,
    status        text        NOT NULL
        CHECK (status IN ('draft', 'building', 'active', 'build_failed', 'archived')),
    notes         text        NOT NULL DEFAULT '',
    workflow_id   text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (automation_id, version)
);
CREATE INDEX automation_versions_tenant_created_idx
    ON automation_versions (tenant_id, created_at DESC);

