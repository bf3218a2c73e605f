-- API tokens. Only the SHA-256 of the secret is stored. Reader and deployer tokens name a
-- tenant, agent tokens a PoP; tokens are revoked (kept for the audit trail), never deleted.
CREATE TABLE tokens (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    seq         bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    role        text NOT NULL CHECK (role IN ('admin', 'deployer', 'reader', 'agent')),
    tenant_id   uuid REFERENCES tenants(id) ON DELETE CASCADE,
    pop_id      uuid REFERENCES pops(id) ON DELETE CASCADE,
    hash        bytea NOT NULL UNIQUE CHECK (length(hash) = 32),
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz,
    revoked_at  timestamptz,
    CHECK ((role IN ('deployer', 'reader')) = (tenant_id IS NOT NULL)),
    CHECK ((role = 'agent') = (pop_id IS NOT NULL))
);
