/* controlplane/migrate.c: the migrations runner (see migrate.h). Files must not contain
 * transaction control of their own: each runs inside the transaction opened here. */
#include "controlplane/migrate.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/asset.h"
#include "common/buf.h"
#include "common/log.h"

/* Arbitrary but fixed: "EPMG". Other advisory locks of the project use other keys. */
#define MIGRATE_LOCK_KEY "1162890567"

static bool is_migration_name(const char *n)
{
	size_t len = strlen(n);

	if (len < 10 || strcmp(n + len - 4, ".sql") != 0 || n[4] != '_')
		return false;
	for (int i = 0; i < 4; i++)
		if (n[i] < '0' || n[i] > '9')
			return false;
	return true;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool exec_ok(PGconn *c, const char *sql, char *err, size_t errlen)
{
	PGresult *r = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(r);
	bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;

	if (!ok)
		snprintf(err, errlen, "%s", PQerrorMessage(c));
	PQclear(r);
	return ok;
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct buf b = {0};
	char chunk[8192];
	size_t n;

	if (f == NULL)
		return NULL;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		if (!buf_append(&b, chunk, n)) {
			fclose(f);
			buf_free(&b);
			return NULL;
		}
	fclose(f);
	return buf_steal(&b);
}

int cp_migrations_dir(const char *cfg_dir, char *out, size_t outlen, char *err, size_t errlen)
{
	if (cfg_dir != NULL && cfg_dir[0] != '\0') {
		snprintf(out, outlen, "%s", cfg_dir);
		return 0;
	}
	if (asset_find(NULL, "migrations", out, outlen) < 0) {
		snprintf(err, errlen, "migrations folder not found (last tried %s; set EDGEPLANE_MIGRATIONS)", out);
		return -1;
	}
	return 0;
}

/* Applies one file in its own transaction. */
static int apply_one(PGconn *c, const char *dir, const char *name, char *err, size_t errlen)
{
	char path[4096], version[5];
	char *sql;
	PGresult *r;
	char emsg[1024];

	snprintf(path, sizeof path, "%s/%s", dir, name);
	sql = read_file(path);
	if (sql == NULL) {
		snprintf(err, errlen, "cannot read %s", path);
		return -1;
	}
	memcpy(version, name, 4);
	version[4] = '\0';
	if (!exec_ok(c, "BEGIN", emsg, sizeof emsg) || !exec_ok(c, sql, emsg, sizeof emsg)) {
		free(sql);
		goto fail;
	}
	free(sql);
	const char *p[] = {version, name};
	r = PQexecParams(c, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", 2, NULL, p,
			 NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		snprintf(emsg, sizeof emsg, "%s", PQerrorMessage(c));
		PQclear(r);
		goto fail;
	}
	PQclear(r);
	if (!exec_ok(c, "COMMIT", emsg, sizeof emsg))
		goto fail;
	log_info("migration %s applied", name);
	return 0;
fail:
	exec_ok(c, "ROLLBACK", err, errlen);
	snprintf(err, errlen, "%s: %s", name, emsg);
	return -1;
}

int cp_migrate(PGconn *c, const char *dir, char *err, size_t errlen)
{
	DIR *d;
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int applied = 0, rc = -1;
	PGresult *r = NULL;

	d = opendir(dir);
	if (d == NULL) {
		snprintf(err, errlen, "cannot open migrations folder %s", dir);
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (!is_migration_name(e->d_name))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			char **nn = realloc(names, cap * sizeof *nn);
			if (nn == NULL)
				goto oom;
			names = nn;
		}
		if ((names[n] = strdup(e->d_name)) == NULL)
			goto oom;
		n++;
	}
	closedir(d);
	d = NULL;
	qsort(names, n, sizeof *names, cmp_names);
	for (size_t i = 1; i < n; i++)
		if (strncmp(names[i], names[i - 1], 4) == 0) {
			snprintf(err, errlen, "two migrations share the number %.4s: %s and %s", names[i],
				 names[i - 1], names[i]);
			goto out;
		}

	/* The lock is held for the whole run: a second replica waits, then finds nothing to do. */
	if (!exec_ok(c, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", err, errlen))
		goto out;
	if (!exec_ok(c, "CREATE TABLE IF NOT EXISTS schema_migrations ("
			" version text PRIMARY KEY, name text NOT NULL,"
			" applied_at timestamptz NOT NULL DEFAULT now())", err, errlen))
		goto unlock;
	r = PQexec(c, "SELECT version FROM schema_migrations");
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		snprintf(err, errlen, "%s", PQerrorMessage(c));
		goto unlock;
	}
	for (size_t i = 0; i < n; i++) {
		bool done = false;
		for (int j = 0; j < PQntuples(r) && !done; j++)
			done = strncmp(PQgetvalue(r, j, 0), names[i], 4) == 0;
		if (done)
			continue;
		if (apply_one(c, dir, names[i], err, errlen) < 0)
			goto unlock;
		applied++;
	}
	rc = applied;
unlock:
	{
		char uerr[256];
		if (!exec_ok(c, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")", uerr, sizeof uerr))
			log_warn("advisory unlock failed: %s", uerr);
	}
	goto out;
oom:
	snprintf(err, errlen, "out of memory listing %s", dir);
out:
	PQclear(r);
	if (d != NULL)
		closedir(d);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}
