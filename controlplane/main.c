/* controlplane/main.c: the `edgeplane` program: serve | migrate | keygen | token create.
 * Configuration comes from the environment and flags (controlplane/config.c). */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/server.h"
#include "common/log.h"
#include "controlplane/config.h"
#include "controlplane/dbpool.h"
#include "controlplane/migrate.h"
#include "scheduler/runner.h"
#include "signing/signing.h"

/* How long SIGTERM waits for requests in flight. */
#define DRAIN_MS 30000
/* How long start-up waits for the database to accept connections. */
#define DB_WAIT_MS 15000

static void usage(FILE *f)
{
	fprintf(f,
		"usage: edgeplane serve [--no-migrate] [options]\n"
		"       edgeplane migrate [options]\n"
		"       edgeplane keygen [--out FILE]\n"
		"       edgeplane token create --role admin|deployer|reader|agent --name NAME\n"
		"                              [--tenant SLUG] [--pop NAME] [--ttl-seconds N]\n"
		"       edgeplane config       (prints the effective configuration)\n"
		"       edgeplane routes       (prints the route table as JSON)\n"
		"options (each also an environment variable):\n");
	if (f == stdout)
		cp_config_usage();
}

/* Connects, retrying while the database starts up. */
static PGconn *connect_retry(const char *url, unsigned wait_ms)
{
	char err[512];

	for (unsigned waited = 0;; waited += 250) {
		PGconn *c = cp_db_connect(url, 3000, err, sizeof err);
		if (c != NULL)
			return c;
		if (waited >= wait_ms) {
			log_error("cannot connect to the database: %s", err);
			return NULL;
		}
		usleep(250000);
	}
}

static int run_migrations(const struct cp_config *cfg, PGconn *c)
{
	char dir[4096], err[1024];
	int n;

	if (cp_migrations_dir(cfg->migrations, dir, sizeof dir, err, sizeof err) < 0) {
		log_error("%s", err);
		return -1;
	}
	n = cp_migrate(c, dir, err, sizeof err);
	if (n < 0) {
		log_error("migration failed: %s", err);
		return -1;
	}
	log_info("migrations: %d applied from %s", n, dir);
	return 0;
}

static int cmd_migrate(const struct cp_config *cfg)
{
	PGconn *c = connect_retry(cfg->api.database_url, DB_WAIT_MS);
	int rc;

	if (c == NULL)
		return 1;
	rc = run_migrations(cfg, c);
	PQfinish(c);
	return rc == 0 ? 0 : 1;
}

static int cmd_keygen(const struct cp_config *cfg, int nrest, char **rest)
{
	const char *out = cfg->api.signing_key;
	char id[SIGN_KEY_ID_LEN + 1], pub[SIGN_PUBLIC_B64_LEN + 1], err[256];

	for (int i = 0; i < nrest; i++) {
		if (strcmp(rest[i], "--out") == 0 && i + 1 < nrest)
			out = rest[++i];
		else if (strncmp(rest[i], "--out=", 6) == 0)
			out = rest[i] + 6;
		else {
			fprintf(stderr, "edgeplane keygen: unexpected argument '%s'\n", rest[i]);
			return 2;
		}
	}
	if (sign_keygen_file(out, id, pub, err, sizeof err) != SIGN_OK) {
		fprintf(stderr, "edgeplane keygen: %s\n", err);
		return 1;
	}
	/* The trust-file line agents need ("KEYID BASE64"), then where the secret went. */
	printf("%s %s\n", id, pub);
	fprintf(stderr, "wrote the secret key to %s (mode 0600); key id %s\n", out, id);
	return 0;
}

static int cmd_token(const struct cp_config *cfg, int nrest, char **rest)
{
	const char *role = NULL, *name = NULL, *tenant = NULL, *pop = NULL;
	long long ttl = 0;
	char secret[API_TOKEN_SECRET_LEN + 1], id[37], err[512];

	if (nrest < 1 || strcmp(rest[0], "create") != 0) {
		usage(stderr);
		return 2;
	}
	for (int i = 1; i < nrest; i++) {
		const char **slot = NULL;
		const char *a = rest[i];
		if (strcmp(a, "--role") == 0)
			slot = &role;
		else if (strcmp(a, "--name") == 0)
			slot = &name;
		else if (strcmp(a, "--tenant") == 0)
			slot = &tenant;
		else if (strcmp(a, "--pop") == 0)
			slot = &pop;
		else if (strcmp(a, "--ttl-seconds") != 0) {
			fprintf(stderr, "edgeplane token create: unexpected argument '%s'\n", a);
			return 2;
		}
		if (i + 1 >= nrest) {
			fprintf(stderr, "edgeplane token create: %s needs a value\n", a);
			return 2;
		}
		if (slot != NULL) {
			*slot = rest[++i];
		} else {
			char *end;
			ttl = strtoll(rest[++i], &end, 10);
			if (*end != '\0' || ttl < 0) {
				fprintf(stderr, "edgeplane token create: --ttl-seconds must be a whole number\n");
				return 2;
			}
		}
	}
	if (role == NULL || name == NULL) {
		fprintf(stderr, "edgeplane token create: --role and --name are required\n");
		return 2;
	}
	PGconn *c = connect_retry(cfg->api.database_url, 5000);
	if (c == NULL)
		return 1;
	int rc = api_token_issue(c, role, name, tenant, pop, ttl, secret, id, err, sizeof err);
	PQfinish(c);
	if (rc < 0) {
		fprintf(stderr, "edgeplane token create: %s\n", err);
		return 1;
	}
	/* The secret alone on the first line: scripts read it with `| head -1`. */
	printf("%s\n", secret);
	fflush(stdout);
	fprintf(stderr, "token %s created (role %s); the secret is shown only once\n", id, role);
	return 0;
}

static int cmd_serve(const struct cp_config *cfg, int nrest, char **rest)
{
	bool migrate = true;
	char err[512];
	sigset_t set;
	int sig, rc = 1;
	struct cp_pool *pool = NULL;
	struct api_server *srv = NULL;
	struct sch_runner *runner = NULL;
	struct api_db_ops ops;

	for (int i = 0; i < nrest; i++) {
		if (strcmp(rest[i], "--no-migrate") == 0) {
			migrate = false;
		} else {
			fprintf(stderr, "edgeplane serve: unexpected argument '%s'\n", rest[i]);
			return 2;
		}
	}
	/* Signals are taken synchronously by this thread only: every thread started below
	 * inherits the blocked mask. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (migrate) {
		PGconn *c = connect_retry(cfg->api.database_url, DB_WAIT_MS);
		if (c == NULL)
			return 1;
		int m = run_migrations(cfg, c);
		PQfinish(c);
		if (m < 0)
			return 1;
	}
	pool = cp_pool_create(cfg->api.database_url, cfg->api.db_pool_size, cfg->api.db_timeout_ms);
	if (pool == NULL) {
		log_error("out of memory");
		return 1;
	}
	cp_pool_ops(pool, &ops);
	srv = api_server_create(&cfg->api, &ops, err, sizeof err);
	if (srv == NULL) {
		log_error("%s", err);
		goto out;
	}
	if (api_server_start(srv, err, sizeof err) < 0) {
		log_error("%s", err);
		goto out;
	}
	runner = sch_runner_start(cfg->api.database_url, cfg->api.redis_url, err, sizeof err);
	if (runner == NULL) {
		log_error("scheduler: %s", err);
		goto out;
	}
	log_info("edgeplane serving on %s (%u threads, pool of %u)", cfg->api.listen, cfg->api.threads,
		 cfg->api.db_pool_size);
	for (;;) {
		if (sigwait(&set, &sig) == 0 && (sig == SIGTERM || sig == SIGINT))
			break;
	}
	log_info("signal %d: finishing requests in flight", sig);
	api_server_drain(srv, DRAIN_MS);
	rc = 0;
out:
	sch_runner_stop(runner);
	api_server_destroy(srv);
	cp_pool_destroy(pool);
	if (rc == 0)
		log_info("stopped");
	return rc;
}

int main(int argc, char **argv)
{
	struct cp_config cfg;
	char err[512];
	int rest_idx[64], nrest = 0, rc;
	char *rest[64];

	log_init("edgeplane", LOG_INFO);
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (argc - 2 > 64) {
		fprintf(stderr, "edgeplane: too many arguments\n");
		return 2;
	}
	if (cp_config_load(&cfg, argc, argv, 2, rest_idx, &nrest, err, sizeof err) < 0) {
		fprintf(stderr, "edgeplane: %s\n", err);
		cp_config_free(&cfg); /* the values set before the bad one */
		return 2;
	}
	for (int i = 0; i < nrest; i++)
		rest[i] = argv[rest_idx[i]];
	if (strcmp(argv[1], "serve") == 0)
		rc = cmd_serve(&cfg, nrest, rest);
	else if (strcmp(argv[1], "migrate") == 0)
		rc = nrest == 0 ? cmd_migrate(&cfg) : (usage(stderr), 2);
	else if (strcmp(argv[1], "keygen") == 0)
		rc = cmd_keygen(&cfg, nrest, rest);
	else if (strcmp(argv[1], "token") == 0)
		rc = cmd_token(&cfg, nrest, rest);
	else if (strcmp(argv[1], "routes") == 0) {
		json_t *t = api_route_table();
		rc = t && json_dumpf(t, stdout, JSON_INDENT(1)) == 0 ? 0 : 1;
		putchar('\n');
		json_decref(t);
	} else if (strcmp(argv[1], "config") == 0 || strcmp(argv[1], "--print-config") == 0) {
		cp_config_print(&cfg);
		rc = 0;
	} else {
		usage(stderr);
		rc = 2;
	}
	cp_config_free(&cfg);
	return rc;
}
