-- Admin API (/v1/admin/*): tenants, projects, quotes, clients, feature flags.
CREATE TABLE tenants (
    tenant_id  text PRIMARY KEY,
    name       text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE projects (
    id         uuid PRIMARY KEY,
    tenant_id  text        NOT NULL,
    name       text        NOT NULL,
    status     text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX projects_tenant_created_idx ON projects (tenant_id, created_at DESC);

CREATE TABLE quotes (
    id           uuid PRIMARY KEY,
    tenant_id    text        NOT NULL,
    title        text        NOT NULL,
    amount_cents bigint      NOT NULL CHECK (amount_cents >= 0),
    status       text        NOT NULL CHECK (status IN ('draft', 'sent', 'signed', 'rejected')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX quotes_tenant_created_idx ON quotes (tenant_id, created_at DESC);

CREATE TABLE clients (
    id            uuid PRIMARY KEY,
    tenant_id     text        NOT NULL,
    name          text        NOT NULL,
    tier          text        NOT NULL CHECK (tier IN ('standard', 'top')),
    health_status text        NOT NULL CHECK (health_status IN ('Healthy', 'At Risk', 'Churn Risk')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX clients_tenant_created_idx ON clients (tenant_id, created_at DESC);

-- Runtime levers of spec §6.2; a missing row means the flag's default.
CREATE TABLE feature_flags (
    flag       text PRIMARY KEY,
    enabled    boolean     NOT NULL,
    updated_by text,
    updated_at timestamptz NOT NULL DEFAULT now()
);
