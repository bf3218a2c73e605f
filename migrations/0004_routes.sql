-- Routes: host + path to a module. A host+path pair is unique across all tenants.
CREATE TABLE routes (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    seq         bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    tenant_id   uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    host        text NOT NULL,
    path        text NOT NULL,
    module_id   uuid NOT NULL REFERENCES modules(id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (host, path)
);
CREATE INDEX routes_tenant ON routes (tenant_id, seq);
