-- Modules, their numbered versions, the content-addressed bytes, and every public signing key
-- ever used (so that versions signed by a retired key stay verifiable).
CREATE TABLE modules (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    seq         bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    tenant_id   uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name        text NOT NULL CHECK (name ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, name)
);

-- One row per distinct content: uploads of the same bytes share it.
CREATE TABLE blobs (
    digest      text PRIMARY KEY CHECK (digest ~ '^sha256:[0-9a-f]{64}$'),
    size        bigint NOT NULL CHECK (size >= 0),
    bytes       bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (length(bytes) = size)
);

CREATE TABLE signing_keys (
    key_id      text PRIMARY KEY CHECK (key_id ~ '^[0-9a-f]{16}$'),
    public_key  text NOT NULL,
    algorithm   text NOT NULL DEFAULT 'ed25519',
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE module_versions (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    module_id   uuid NOT NULL REFERENCES modules(id) ON DELETE CASCADE,
    version     integer NOT NULL CHECK (version >= 1),
    digest      text NOT NULL REFERENCES blobs(digest),
    size        bigint NOT NULL,
    label       text,
    manifest    text NOT NULL,        -- the canonical bytes that were signed
    signature   text NOT NULL,        -- base64 Ed25519 signature
    key_id      text NOT NULL REFERENCES signing_keys(key_id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  uuid REFERENCES tokens(id),
    UNIQUE (module_id, version),
    UNIQUE (module_id, digest)
);
