-- 0100_scheduler.sql: deployments (waves, PoP assignments, events), the desired state of every
-- PoP with its generation, and what agents report. Owned by scheduler/; tenants, modules,
-- versions, pops and tokens belong to the control plane's migrations (their ids are uuids,
-- referenced here by value).

-- Generations only grow: every bump takes the next value of this sequence.
CREATE SEQUENCE desired_generation_seq;

CREATE TABLE deployments (
	id            uuid PRIMARY KEY,
	seq           bigint GENERATED ALWAYS AS IDENTITY UNIQUE, -- list order and cursor key
	tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	module_id     uuid NOT NULL REFERENCES modules (id) ON DELETE CASCADE,
	from_version  integer CHECK (from_version IS NULL OR from_version > 0),
	to_version    integer NOT NULL CHECK (to_version > 0),
	state         text NOT NULL CHECK (state IN ('pending', 'running', 'paused', 'succeeded',
	                                             'failed', 'aborted', 'rolled_back')),
	strategy      jsonb NOT NULL,
	current_wave  integer NOT NULL DEFAULT 0,
	reason        text,
	rollback_of   uuid REFERENCES deployments (id), -- set for module rollbacks
	created_by    text,
	created_at    timestamptz NOT NULL DEFAULT now(),
	updated_at    timestamptz NOT NULL DEFAULT now()
);
-- One running or paused (or not yet started) deployment per module.
CREATE UNIQUE INDEX deployments_one_active ON deployments (module_id)
	WHERE state IN ('pending', 'running', 'paused');
CREATE INDEX deployments_due ON deployments (seq) WHERE state IN ('pending', 'running');
CREATE INDEX deployments_by_tenant ON deployments (tenant_id, seq);
CREATE INDEX deployments_by_module ON deployments (module_id, seq);

CREATE TABLE deployment_waves (
	deployment_id uuid NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
	idx           integer NOT NULL CHECK (idx >= 0),
	state         text NOT NULL CHECK (state IN ('pending', 'activating', 'baking', 'passed', 'failed')),
	started_at    timestamptz,
	baking_at     timestamptz,
	PRIMARY KEY (deployment_id, idx)
);

-- The PoPs a deployment switched, by wave, with the counter baseline taken when the bake began.
CREATE TABLE deployment_pops (
	deployment_id uuid NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
	pop_id        uuid NOT NULL REFERENCES pops (id) ON DELETE CASCADE,
	wave          integer NOT NULL CHECK (wave >= 0),
	base_requests bigint NOT NULL DEFAULT 0,
	base_errors   bigint NOT NULL DEFAULT 0,
	PRIMARY KEY (deployment_id, pop_id)
);

CREATE TABLE deployment_events (
	id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	deployment_id uuid NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
	at            timestamptz NOT NULL,
	type          text NOT NULL,
	wave          integer,
	detail        text NOT NULL DEFAULT ''
);
CREATE INDEX deployment_events_by_deployment ON deployment_events (deployment_id, id);

-- The version a module runs where no deployment says otherwise (PoPs that join get it).
CREATE TABLE module_stable (
	module_id  uuid PRIMARY KEY REFERENCES modules (id) ON DELETE CASCADE,
	version    integer NOT NULL CHECK (version > 0),
	updated_at timestamptz NOT NULL DEFAULT now()
);

-- Explicit desired versions per PoP and module (written by the scheduler's steps).
CREATE TABLE desired_modules (
	pop_id     uuid NOT NULL REFERENCES pops (id) ON DELETE CASCADE,
	module_id  uuid NOT NULL REFERENCES modules (id) ON DELETE CASCADE,
	version    integer NOT NULL CHECK (version > 0),
	updated_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (pop_id, module_id)
);
CREATE INDEX desired_modules_by_module ON desired_modules (module_id);

-- Per-PoP generation and the last one announced on Redis.
CREATE TABLE pop_desired (
	pop_id     uuid PRIMARY KEY REFERENCES pops (id) ON DELETE CASCADE,
	generation bigint NOT NULL DEFAULT 0,
	published  bigint NOT NULL DEFAULT 0
);

-- Changes that concern every PoP (routes): one row.
CREATE TABLE desired_global (
	one        boolean PRIMARY KEY DEFAULT true CHECK (one),
	generation bigint NOT NULL DEFAULT 0,
	published  bigint NOT NULL DEFAULT 0
);
INSERT INTO desired_global (one) VALUES (true);

-- One row per agent (its token), updated by every report.
CREATE TABLE agents (
	token_id        uuid PRIMARY KEY REFERENCES tokens (id) ON DELETE CASCADE,
	pop_id          uuid NOT NULL REFERENCES pops (id) ON DELETE CASCADE,
	agent_version   text NOT NULL DEFAULT '',
	uptime_seconds  bigint NOT NULL DEFAULT 0,
	generation      bigint NOT NULL DEFAULT 0, -- the generation it says it applied
	first_seen      timestamptz NOT NULL DEFAULT now(),
	last_seen       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX agents_by_pop ON agents (pop_id);

-- What each agent last reported per module version; counters are cumulative totals of the
-- per-report counts (requests and errors since the previous report).
CREATE TABLE observed_modules (
	token_id       uuid NOT NULL REFERENCES agents (token_id) ON DELETE CASCADE,
	module_id      uuid NOT NULL REFERENCES modules (id) ON DELETE CASCADE,
	version        integer NOT NULL,
	state          text NOT NULL CHECK (state IN ('active', 'failed')),
	error          text,
	requests_total bigint NOT NULL DEFAULT 0,
	errors_total   bigint NOT NULL DEFAULT 0,
	p99_ms         double precision,
	reported_at    timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (token_id, module_id, version)
);
CREATE INDEX observed_modules_by_module ON observed_modules (module_id, version);

-- Routes are part of every PoP's desired state: any change to them moves every PoP to a new
-- generation (announced by the scheduler's runner like any other).
CREATE FUNCTION desired_routes_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	UPDATE desired_global SET generation = nextval('desired_generation_seq');
	PERFORM pg_notify('edgeplane_sched', 'routes');
	RETURN NULL;
END;
$$;
CREATE TRIGGER routes_bump_generation AFTER INSERT OR UPDATE OR DELETE ON routes
	FOR EACH STATEMENT EXECUTE FUNCTION desired_routes_changed();
