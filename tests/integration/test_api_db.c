/* Integration tests of the control plane's database handling: the pool survives a PostgreSQL
 * restart (503 problem while it is down, success again after, no restart of edgeplane), and
 * the migrations runner (in order, once, concurrent replicas, a failing file rolled back), and
 * the shell commands `edgeplane migrate`, `token create` and `keygen`. */
#include <check.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/integration/test_api.h"
#include "tests/lib/th.h"

static int services(const char *what)
{
	char script[4096];
	snprintf(script, sizeof script, "%s", th_top("scripts/services.sh"));
	char *argv[] = {script, (char *)what, NULL};
	return th_run(argv, NULL, NULL);
}

static long scalar(const char *db_url, const char *sql)
{
	PGconn *c = PQconnectdb(db_url);
	PGresult *r;
	long n;

	ck_assert_msg(PQstatus(c) == CONNECTION_OK, "%s", PQerrorMessage(c));
	r = PQexec(c, sql);
	ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK, "%s: %s", sql, PQerrorMessage(c));
	n = atol(PQgetvalue(r, 0, 0));
	PQclear(r);
	PQfinish(c);
	return n;
}

static int count_migration_files(void)
{
	char cmd[4200];
	snprintf(cmd, sizeof cmd, "ls %s | grep -cE '^[0-9]{4}_.*\\.sql$'", th_top("migrations"));
	FILE *p = popen(cmd, "r");
	int n = 0;
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(fscanf(p, "%d", &n), 1);
	pclose(p);
	return n;
}

START_TEST(pool_survives_database_restart)
{
	struct th_cp cp;
	struct th_resp r;

	th_env("EDGEPLANE_SERVICES_DIR");
	th_cp_start(&cp, NULL);
	ta_tenant(&cp, "before");
	ck_assert_int_eq(services("pg-stop"), 0);
	/* Down: a clear 503 problem, quickly (curl gives up after 30 s, so a hang fails). */
	for (int i = 0; i < 3; i++) {
		th_http(&r, "GET", th_cp_url(&cp, "/v1/tenants"), cp.admin_token, NULL, NULL, 0, NULL);
		ta_problem(&r, 503);
		th_resp_free(&r);
	}
	th_http(&r, "GET", th_cp_url(&cp, "/readyz"), NULL, NULL, NULL, 0, NULL);
	ta_problem(&r, 503);
	th_resp_free(&r);
	ta_expect(&cp, 200, "GET", "/healthz", NULL, NULL, NULL);
	ck_assert_int_eq(services("pg-start"), 0);
	/* Back: the same process answers again. */
	long st = 0;
	for (int i = 0; i < 100 && st != 200; i++) {
		th_http(&r, "GET", th_cp_url(&cp, "/v1/tenants"), cp.admin_token, NULL, NULL, 0, NULL);
		st = r.status;
		th_resp_free(&r);
		if (st != 200)
			usleep(100000);
	}
	ck_assert_int_eq(st, 200);
	ck_assert_int_eq(kill(cp.pid, 0), 0);
	ta_tenant(&cp, "after");
	ta_expect(&cp, 200, "GET", "/readyz", NULL, NULL, NULL);
	th_cp_stop(&cp);
}
END_TEST

/* A database that accepts connections but never answers (frozen, partitioned): requests get
 * a 503 problem after the configured wait instead of hanging, and succeed again once it
 * answers, without restarting edgeplane. */
START_TEST(pool_survives_frozen_database)
{
	static char tmo[] = "EDGEPLANE_DB_TIMEOUT_MS=500";
	char *env[] = {tmo, NULL};
	struct th_cp cp;
	struct th_resp list, create, up;

	th_env("EDGEPLANE_SERVICES_DIR");
	th_cp_start(&cp, env);
	ta_tenant(&cp, "warm"); /* the pool now holds an open connection */
	ck_assert_int_eq(services("pg-pause"), 0);
	/* curl gives up after 30 s: a request that hangs fails the test. The answers are
	 * checked after the database is thawed, so a failure never leaves it frozen. */
	th_http(&list, "GET", th_cp_url(&cp, "/v1/tenants"), cp.admin_token, NULL, NULL, 0, NULL);
	const char *frozen = "{\"slug\":\"frozen\",\"name\":\"F\"}";
	th_http(&create, "POST", th_cp_url(&cp, "/v1/tenants"), cp.admin_token, NULL, frozen,
		strlen(frozen), NULL);
	ck_assert_int_eq(services("pg-resume"), 0);
	ta_problem(&list, 503);
	ta_problem(&create, 503);
	th_resp_free(&list);
	th_resp_free(&create);
	long st = 0;
	for (int i = 0; i < 100 && st != 201; i++) {
		const char *thawed = "{\"slug\":\"thawed\",\"name\":\"T\"}";
		th_http(&up, "POST", th_cp_url(&cp, "/v1/tenants"), cp.admin_token, NULL, thawed,
			strlen(thawed), NULL);
		st = up.status;
		th_resp_free(&up);
		if (st != 201)
			usleep(100000);
	}
	ck_assert_int_eq(st, 201);
	ck_assert_int_eq(kill(cp.pid, 0), 0);
	ta_expect(&cp, 200, "GET", "/v1/tenants/thawed", cp.admin_token, NULL, NULL);
	th_cp_stop(&cp);
}
END_TEST

/* While another session holds the migrations' advisory lock, `edgeplane migrate` waits and
 * applies nothing; once the lock is released it applies every file. */
START_TEST(migrate_waits_for_the_lock)
{
	char *db = th_fresh_db();
	char env_db[1100];
	snprintf(env_db, sizeof env_db, "EDGEPLANE_DATABASE_URL=%s", db);
	char *env[] = {env_db, NULL};
	char *argv[] = {(char *)th_bin("edgeplane"), "migrate", NULL};
	PGconn *holder = PQconnectdb(db);
	PGresult *r;
	int st;

	ck_assert_msg(PQstatus(holder) == CONNECTION_OK, "%s", PQerrorMessage(holder));
	r = PQexec(holder, "SELECT pg_advisory_lock(1162890567)");
	ck_assert_int_eq(PQresultStatus(r), PGRES_TUPLES_OK);
	PQclear(r);
	pid_t a = th_spawn(argv, env, NULL);
	/* Wait until the runner is blocked on the lock (it shows in pg_locks), then check it
	 * did nothing meanwhile. */
	long waiting = 0;
	for (int i = 0; i < 200 && waiting == 0; i++) {
		waiting = scalar(db, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
				     " AND NOT granted AND objid = 1162890567");
		if (waiting == 0)
			usleep(50000);
	}
	ck_assert_int_eq(waiting, 1);
	ck_assert_int_eq(waitpid(a, &st, WNOHANG), 0);
	ck_assert_int_eq(scalar(db, "SELECT count(*) FROM pg_tables WHERE tablename = 'tenants'"), 0);
	r = PQexec(holder, "SELECT pg_advisory_unlock(1162890567)");
	PQclear(r);
	PQfinish(holder);
	ck_assert_int_eq(waitpid(a, &st, 0), a);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	ck_assert_int_eq(scalar(db, "SELECT count(*) FROM schema_migrations"), count_migration_files());
	free(db);
}
END_TEST

START_TEST(migrate_once_in_order_concurrently)
{
	char *db = th_fresh_db();
	char env_db[1100];
	snprintf(env_db, sizeof env_db, "EDGEPLANE_DATABASE_URL=%s", db);
	char *env[] = {env_db, NULL};
	char *argv[] = {(char *)th_bin("edgeplane"), "migrate", NULL};
	pid_t a = th_spawn(argv, env, NULL);
	pid_t b = th_spawn(argv, env, NULL);
	int sa, sb;

	ck_assert_int_eq(waitpid(a, &sa, 0), a);
	ck_assert_int_eq(waitpid(b, &sb, 0), b);
	ck_assert(WIFEXITED(sa) && WEXITSTATUS(sa) == 0);
	ck_assert(WIFEXITED(sb) && WEXITSTATUS(sb) == 0);
	int files = count_migration_files();
	ck_assert_int_eq(scalar(db, "SELECT count(*) FROM schema_migrations"), files);
	ck_assert_int_eq(scalar(db, "SELECT count(DISTINCT version) FROM schema_migrations"), files);
	/* In order: applied_at grows with the version number. */
	ck_assert_int_eq(scalar(db, "SELECT count(*) FROM (SELECT version, applied_at, lag(applied_at)"
				     " OVER (ORDER BY version) AS prev FROM schema_migrations) x"
				     " WHERE prev > applied_at"), 0);
	ck_assert_int_eq(th_run(argv, env, NULL), 0);
	ck_assert_int_eq(scalar(db, "SELECT count(*) FROM schema_migrations"), files);
	free(db);
}
END_TEST

START_TEST(failing_migration_is_rolled_back)
{
	char *db = th_fresh_db();
	char *dir = th_tmpdir();
	char p1[4200], p2[4200], env_db[1100], env_dir[4200];

	snprintf(p1, sizeof p1, "%s/0001_first.sql", dir);
	snprintf(p2, sizeof p2, "%s/0002_broken.sql", dir);
	ck_assert(th_write_file(p1, "CREATE TABLE first_t (x int);", 29));
	const char *bad = "CREATE TABLE second_t (x int); SELECT * FROM no_such_table;";
	ck_assert(th_write_file(p2, bad, strlen(bad)));
	snprintf(env_db, sizeof env_db, "EDGEPLANE_DATABASE_URL=%s", db);
	snprintf(env_dir, sizeof env_dir, "EDGEPLANE_MIGRATIONS=%s", dir);
	char *env[] = {env_db, env_dir, NULL};
	char *argv[] = {(char *)th_bin("edgeplane"), "migrate", NULL};
	ck_assert_int_ne(th_run(argv, env, NULL), 0);
	ck_assert_int_eq(scalar(db, "SELECT count(*) FROM schema_migrations"), 1);
	ck_assert_int_eq(scalar(db, "SELECT count(*) FROM pg_tables WHERE tablename = 'first_t'"), 1);
	ck_assert_int_eq(scalar(db, "SELECT count(*) FROM pg_tables WHERE tablename = 'second_t'"), 0);
	/* Fixed: the rest applies. */
	const char *good = "CREATE TABLE second_t (x int);";
	ck_assert(th_write_file(p2, good, strlen(good)));
	ck_assert_int_eq(th_run(argv, env, NULL), 0);
	ck_assert_int_eq(scalar(db, "SELECT count(*) FROM schema_migrations"), 2);
	/* A missing folder is an error, not "nothing to do". */
	char env_none[] = "EDGEPLANE_MIGRATIONS=/nonexistent/folder";
	char *env2[] = {env_db, env_none, NULL};
	ck_assert_int_ne(th_run(argv, env2, NULL), 0);
	th_rmrf(dir);
	free(dir);
	free(db);
}
END_TEST

START_TEST(shell_commands)
{
	char *db = th_fresh_db();
	char *dir = th_tmpdir();
	char env_db[1100], key[4200], *out = NULL;
	snprintf(env_db, sizeof env_db, "EDGEPLANE_DATABASE_URL=%s", db);
	char *env[] = {env_db, NULL};
	snprintf(key, sizeof key, "%s/k.key", dir);

	/* token create before migrate: a clear failure. */
	char *tok[] = {(char *)th_bin("edgeplane"), "token", "create", "--role", "admin", "--name", "x", NULL};
	ck_assert_int_ne(th_run(tok, env, NULL), 0);
	char *mig[] = {(char *)th_bin("edgeplane"), "migrate", NULL};
	ck_assert_int_eq(th_run(mig, env, NULL), 0);
	ck_assert_int_eq(th_run(tok, env, &out), 0);
	ck_assert(strncmp(out, "ept_", 4) == 0);
	ck_assert_uint_eq(strcspn(out, "\n"), 47);
	free(out);
	char *bad_role[] = {(char *)th_bin("edgeplane"), "token", "create", "--role", "root", "--name", "x", NULL};
	ck_assert_int_ne(th_run(bad_role, env, NULL), 0);
	char *no_tenant[] = {(char *)th_bin("edgeplane"), "token", "create", "--role", "deployer", "--name", "x",
			     "--tenant", "ghost", NULL};
	ck_assert_int_ne(th_run(no_tenant, env, NULL), 0);
	char *no_name[] = {(char *)th_bin("edgeplane"), "token", "create", "--role", "admin", NULL};
	ck_assert_int_ne(th_run(no_name, env, NULL), 0);
	ck_assert_int_eq(scalar(db, "SELECT count(*) FROM tokens"), 1);
	ck_assert_int_eq(scalar(db, "SELECT count(*) FROM audit_log WHERE action = 'token.create'"), 1);

	/* keygen: the trust-file line on stdout, a 0600 key, never overwritten. */
	char *kg[] = {(char *)th_bin("edgeplane"), "keygen", "--out", key, NULL};
	ck_assert_int_eq(th_run(kg, env, &out), 0);
	ck_assert_uint_eq(strcspn(out, " "), 16);
	ck_assert_uint_eq(strcspn(out + 17, "\n"), 44);
	free(out);
	struct stat st;
	ck_assert_int_eq(stat(key, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_int_ne(th_run(kg, env, NULL), 0);
	/* serve refuses to start without a usable key. */
	char env_key[4300];
	snprintf(env_key, sizeof env_key, "EDGEPLANE_SIGNING_KEY=%s/missing.key", dir);
	char env_listen[64];
	snprintf(env_listen, sizeof env_listen, "EDGEPLANE_LISTEN=127.0.0.1:%d", th_free_port());
	char *env3[] = {env_db, env_key, env_listen, NULL};
	char *serve[] = {(char *)th_bin("edgeplane"), "serve", NULL};
	ck_assert_int_ne(th_run(serve, env3, NULL), 0);
	/* Bad configuration values are refused with a message. */
	char bad_threads[] = "EDGEPLANE_HTTP_THREADS=lots";
	char *env4[] = {env_db, bad_threads, NULL};
	ck_assert_int_eq(th_run(serve, env4, NULL), 2);
	th_rmrf(dir);
	free(dir);
	free(db);
}
END_TEST

/* Key rotation: versions signed before keep their key id; GET /v1/keys lists the old key as
 * retired and the new one as current. */
START_TEST(signing_key_rotation)
{
	struct th_cp cp;
	struct th_resp r;
	size_t len;
	char newkey[4200], env_key[4300], old_id[32];

	th_cp_start(&cp, NULL);
	ta_tenant(&cp, "rot");
	ta_module(&cp, cp.admin_token, "rot", "m");
	unsigned char *w = ta_wasm(8, '1', &len);
	ta_upload(&cp, cp.admin_token, "rot", "m", w, len, NULL, &r);
	ck_assert_int_eq(r.status, 201);
	snprintf(old_id, sizeof old_id, "%s", json_string_value(json_object_get(r.json, "key_id")));
	th_resp_free(&r);
	free(w);
	th_cp_kill(&cp, SIGTERM);

	snprintf(newkey, sizeof newkey, "%s/new.key", cp.dir);
	char *kg[] = {(char *)th_bin("edgeplane"), "keygen", "--out", newkey, NULL};
	ck_assert_int_eq(th_run(kg, NULL, NULL), 0);
	snprintf(env_key, sizeof env_key, "EDGEPLANE_SIGNING_KEY=%s", newkey);
	char *env[] = {env_key, NULL};
	th_cp_restart(&cp, env);
	w = ta_wasm(8, '2', &len);
	ta_upload(&cp, cp.admin_token, "rot", "m", w, len, NULL, &r);
	ck_assert_int_eq(r.status, 201);
	ck_assert_str_ne(json_string_value(json_object_get(r.json, "key_id")), old_id);
	th_resp_free(&r);
	free(w);
	ta_expect(&cp, 200, "GET", "/v1/tenants/rot/modules/m/versions/1", cp.admin_token, NULL, &r);
	ck_assert_str_eq(json_string_value(json_object_get(r.json, "key_id")), old_id);
	th_resp_free(&r);
	ta_expect(&cp, 200, "GET", "/v1/keys", NULL, NULL, &r);
	json_t *items = json_object_get(r.json, "items");
	ck_assert_int_eq(json_array_size(items), 2);
	int current = 0, retired = 0;
	for (size_t i = 0; i < 2; i++) {
		json_t *k = json_array_get(items, i);
		const char *state = json_string_value(json_object_get(k, "state"));
		bool is_old = strcmp(json_string_value(json_object_get(k, "key_id")), old_id) == 0;
		ck_assert_str_eq(state, is_old ? "retired" : "current");
		current += !is_old;
		retired += is_old;
	}
	ck_assert_int_eq(current, 1);
	ck_assert_int_eq(retired, 1);
	th_resp_free(&r);
	th_cp_stop(&cp);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("api_db");
	TCase *tc = tcase_create("db");

	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, pool_survives_database_restart);
	tcase_add_test(tc, pool_survives_frozen_database);
	tcase_add_test(tc, migrate_waits_for_the_lock);
	tcase_add_test(tc, migrate_once_in_order_concurrently);
	tcase_add_test(tc, failing_migration_is_rolled_back);
	tcase_add_test(tc, shell_commands);
	tcase_add_test(tc, signing_key_rotation);
	suite_add_tcase(s, tc);
	return th_main(s);
}
