-- Who did what: one row per change made through the API or the shell.
CREATE TABLE audit_log (
    seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    actor_token_id uuid,              -- NULL for the shell (edgeplane token create)
    actor_name  text NOT NULL,
    tenant_id   uuid,                 -- no foreign key: the trail outlives what it names
    action      text NOT NULL,
    target      text NOT NULL,
    request_id  text NOT NULL,
    detail      jsonb
);
CREATE INDEX audit_log_tenant ON audit_log (tenant_id, seq);
