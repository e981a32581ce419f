-- Automations of the Studio API; each mirrors a workflow on the WRK Platform.
CREATE TABLE automations (
    id          uuid PRIMARY KEY,
    tenant_id   text        NOT NULL,
    name        text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    status      text        NOT NULL DEFAULT 'draft',
    workflow_id text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Listing is always per tenant, newest first.
CREATE INDEX automations_tenant_created_idx ON automations (tenant_id, created_at DESC);
