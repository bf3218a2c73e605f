/* controlplane/migrate.h: applying migrations/NNNN_*.sql in order, each once, each in its own
 * transaction, recorded in schema_migrations, under a PostgreSQL advisory lock so that
 * replicas starting together apply each file exactly once. */
#ifndef CP_MIGRATE_H
#define CP_MIGRATE_H

#include <libpq-fe.h>
#include <stddef.h>

/* Applies the pending migrations of folder `dir` on conn; logs each applied file. Returns the
 * number applied (>= 0), or -1 with the failing file and PostgreSQL's message in err (that
 * file's changes are rolled back; earlier files stay applied). */
int cp_migrate(PGconn *conn, const char *dir, char *err, size_t errlen);

/* The folder to use: cfg_dir when non-empty, else the one asset_find locates. Returns 0 or -1
 * (err says where it looked). */
int cp_migrations_dir(const char *cfg_dir, char *out, size_t outlen, char *err, size_t errlen);

#endif
