/* scheduler/sql.h: the scheduler's SQL statements, in one place so the schema they assume
 * (migrations/0100_scheduler.sql and the control plane's tables) is easy to review. All of
 * them are parameterised; times cross the boundary as epoch milliseconds. Internal to
 * scheduler/ and the api/ files of the scheduler. */
#ifndef SCH_SQL_H
#define SCH_SQL_H

#define SCH_SQL_MS(col) "(extract(epoch FROM " col ") * 1000)::bigint"
#define SCH_SQL_RFC3339(col) \
	"to_char((" col ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* $1 deployment id, $2 tenant id or NULL. */
#define SCH_SQL_LOAD_DEPLOYMENT \
	"SELECT d.id, d.tenant_id, t.slug, d.module_id, m.name, d.from_version, d.to_version," \
	" d.state, d.strategy::text, d.current_wave, COALESCE(d.reason, '')," \
	" " SCH_SQL_RFC3339("d.created_at") ", " SCH_SQL_RFC3339("d.updated_at") "," \
	" EXISTS (SELECT 1 FROM module_versions v WHERE v.module_id = d.module_id" \
	"         AND v.version = d.to_version)," \
	" COALESCE((SELECT " SCH_SQL_MS("since") " FROM scheduler_leader), 0)" \
	" FROM deployments d JOIN modules m ON m.id = d.module_id" \
	" JOIN tenants t ON t.id = d.tenant_id" \
	" WHERE d.id = $1::uuid AND ($2::uuid IS NULL OR d.tenant_id = $2::uuid)"

#define SCH_SQL_LOAD_WAVES \
	"SELECT idx, state, " SCH_SQL_MS("started_at") ", " SCH_SQL_MS("baking_at") \
	" FROM deployment_waves WHERE deployment_id = $1::uuid ORDER BY idx"

/* $1 deployment id, $2 module id, $3 target version. One row per PoP and agent (agents of
 * revoked tokens left out), PoPs by name. */
#define SCH_SQL_LOAD_FLEET \
	"SELECT p.id, p.name, COALESCE(dm.version, ms.version, 0)," \
	" dp.wave, dp.base_requests, dp.base_errors," \
	" a.token_id, " SCH_SQL_MS("a.last_seen") "," \
	" (SELECT max(o.version) FROM observed_modules o WHERE o.token_id = a.token_id" \
	"   AND o.module_id = $2::uuid AND o.state = 'active')," \
	" ot.state, COALESCE(ot.error, ''), ot.requests_total, ot.errors_total" \
	" FROM pops p" \
	" LEFT JOIN module_stable ms ON ms.module_id = $2::uuid" \
	" LEFT JOIN desired_modules dm ON dm.pop_id = p.id AND dm.module_id = $2::uuid" \
	" LEFT JOIN deployment_pops dp ON dp.pop_id = p.id AND dp.deployment_id = $1::uuid" \
	" LEFT JOIN agents a ON a.pop_id = p.id AND EXISTS (SELECT 1 FROM tokens tk" \
	"   WHERE tk.id = a.token_id AND tk.revoked_at IS NULL)" \
	" LEFT JOIN observed_modules ot ON ot.token_id = a.token_id" \
	"   AND ot.module_id = $2::uuid AND ot.version = $3::int" \
	" ORDER BY p.name, a.token_id"

#define SCH_SQL_UPDATE_DEPLOYMENT \
	"UPDATE deployments SET state = $2, current_wave = $3::int, reason = $4," \
	" updated_at = now() WHERE id = $1::uuid"

#define SCH_SQL_UPSERT_WAVE \
	"INSERT INTO deployment_waves (deployment_id, idx, state, started_at, baking_at)" \
	" VALUES ($1::uuid, $2::int, $3, to_timestamp($4::bigint / 1000.0)," \
	"  to_timestamp($5::bigint / 1000.0))" \
	" ON CONFLICT (deployment_id, idx) DO UPDATE SET state = EXCLUDED.state," \
	"  started_at = EXCLUDED.started_at, baking_at = EXCLUDED.baking_at"

/* Batches: $1 deployment id, then arrays of PoP ids, waves, baselines. */
#define SCH_SQL_UPSERT_DEP_POPS \
	"INSERT INTO deployment_pops (deployment_id, pop_id, wave, base_requests, base_errors)" \
	" SELECT $1::uuid, u.* FROM unnest($2::uuid[], $3::int[], $4::bigint[], $5::bigint[]) AS u" \
	" ON CONFLICT (deployment_id, pop_id) DO UPDATE SET wave = EXCLUDED.wave," \
	"  base_requests = EXCLUDED.base_requests, base_errors = EXCLUDED.base_errors"

/* $1 PoP ids, $2 module id, $3 versions. */
#define SCH_SQL_SET_DESIRED \
	"INSERT INTO desired_modules (pop_id, module_id, version)" \
	" SELECT u.p, $2::uuid, u.v FROM unnest($1::uuid[], $3::int[]) AS u (p, v)" \
	" ON CONFLICT (pop_id, module_id) DO UPDATE SET version = EXCLUDED.version, updated_at = now()"

/* $1 PoP ids, $2 module id. */
#define SCH_SQL_DEL_DESIRED \
	"DELETE FROM desired_modules WHERE module_id = $2::uuid AND pop_id = ANY ($1::uuid[])"

/* $1 PoP ids: each gets a new generation. */
#define SCH_SQL_BUMP_GENERATION \
	"INSERT INTO pop_desired (pop_id, generation)" \
	" SELECT p, nextval('desired_generation_seq') FROM unnest($1::uuid[]) AS p" \
	" ON CONFLICT (pop_id) DO UPDATE SET generation = EXCLUDED.generation"

#define SCH_SQL_SET_STABLE \
	"INSERT INTO module_stable (module_id, version) VALUES ($1::uuid, $2::int)" \
	" ON CONFLICT (module_id) DO UPDATE SET version = EXCLUDED.version, updated_at = now()"

#define SCH_SQL_INSERT_EVENT \
	"INSERT INTO deployment_events (deployment_id, at, type, wave, detail)" \
	" VALUES ($1::uuid, to_timestamp($2::bigint / 1000.0), $3, $4::int, $5)"

/* $1 actor token id or NULL, $2 tenant id, $3 action, $4 target, $5 request id or NULL,
 * $6 detail JSON. */
#define SCH_SQL_INSERT_AUDIT \
	"INSERT INTO audit_log (actor_token_id, actor_name, tenant_id, action, target, request_id, detail)" \
	" VALUES ($1::uuid, COALESCE((SELECT name FROM tokens WHERE id = $1::uuid), 'scheduler')," \
	"  $2::uuid, $3, $4, COALESCE($5, 'scheduler'), $6::jsonb)"

/* $1 limit, $2 the last seq of the previous page (0 at first). */
#define SCH_SQL_DUE \
	"SELECT id, seq FROM deployments WHERE state IN ('pending', 'running') AND seq > $2::bigint" \
	" ORDER BY seq LIMIT $1::int"

#define SCH_SQL_UNPUBLISHED \
	"SELECT p.id, p.name, GREATEST(COALESCE(pd.generation, 0), g.generation)" \
	" FROM pops p CROSS JOIN desired_global g LEFT JOIN pop_desired pd ON pd.pop_id = p.id" \
	" WHERE GREATEST(COALESCE(pd.generation, 0), g.generation) > COALESCE(pd.published, 0)" \
	" ORDER BY p.name"

/* $1 uuid[] of PoPs, $2 bigint[] of the generations announced. */
#define SCH_SQL_MARK_PUBLISHED \
	"INSERT INTO pop_desired (pop_id, published)" \
	" SELECT * FROM unnest($1::uuid[], $2::bigint[])" \
	" ON CONFLICT (pop_id) DO UPDATE SET published = GREATEST(pop_desired.published, EXCLUDED.published)"

/* The leader that just took the lock records when (migrations/0101_scheduler_leader.sql). */
#define SCH_SQL_LEADER_SINCE \
	"INSERT INTO scheduler_leader (one, since) VALUES (true, now())" \
	" ON CONFLICT (one) DO UPDATE SET since = EXCLUDED.since"

#define SCH_SQL_GENERATION \
	"SELECT GREATEST(COALESCE((SELECT generation FROM pop_desired WHERE pop_id = $1::uuid), 0)," \
	" (SELECT generation FROM desired_global))"

#endif
