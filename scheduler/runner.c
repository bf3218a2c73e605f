/* scheduler/runner.c: the scheduler loop of `edgeplane serve`. One thread per process; the
 * process holding the PostgreSQL advisory lock is the leader and the only one that plans.
 * Each tick: step every pending/running deployment (one transaction each, store.c), then
 * announce the PoPs' new generations on Redis. The thread sleeps on its connection's socket
 * (LISTEN edgeplane_sched) so an API change or an agent report wakes it at once, and on a
 * timer for bakes and timeouts. Redis trouble only delays announcements: what was not
 * announced is retried next tick, and agents poll anyway. */
#include "scheduler/runner.h"

#include <errno.h>
#include <fcntl.h>
#include <hiredis.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "scheduler/sql.h"
#include "scheduler/store.h"

#define MAX_DUE 256
#define DEFAULT_LOCK_KEY 0x45504c4eLL /* "EPLN" */
#define MIN_GAP_MS 100                /* at most one wake-up tick per 100 ms under load */

struct sch_runner {
	char *db_url;
	char *redis_url;
	pthread_t thread;
	int wake[2];          /* self-pipe: stop and kick */
	atomic_bool stop;
	atomic_bool leader;
	int tick_ms;
	long long lock_key;
	struct sch_config cfg;
	/* Thread-private state. */
	PGconn *pg;
	redisContext *redis;
	int64_t redis_retry_ms; /* next time to try connecting to Redis */
	bool redis_down_logged;
};

static struct sch_runner *current;

static void *run(void *arg);
static bool pg_ensure(struct sch_runner *r);
static void pg_drop(struct sch_runner *r);
static bool try_lead(struct sch_runner *r);
static void tick(struct sch_runner *r);
static void publish(struct sch_runner *r);
static bool redis_ensure(struct sch_runner *r);
static void redis_drop(struct sch_runner *r, const char *why);
static bool wait_for(struct sch_runner *r, int ms);
static long long env_ll(const char *name, long long def, long long min);

static long long env_ll(const char *name, long long def, long long min)
{
	const char *v = getenv(name);
	char *end;
	long long n;

	if (v == NULL || *v == '\0')
		return def;
	errno = 0;
	n = strtoll(v, &end, 0);
	if (errno != 0 || *end != '\0' || n < min) {
		log_warn("scheduler: ignoring %s=%s (want an integer >= %lld)", name, v, min);
		return def;
	}
	return n;
}

struct sch_runner *sch_runner_start(const char *db_url, const char *redis_url, char *err,
				    size_t errlen)
{
	struct sch_runner *r = calloc(1, sizeof *r);
	int rc;

	if (r == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->wake[0] = r->wake[1] = -1;
	r->db_url = strdup(db_url ? db_url : "");
	r->redis_url = strdup(redis_url ? redis_url : "");
	if (r->db_url == NULL || r->redis_url == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (pipe2(r->wake, O_NONBLOCK | O_CLOEXEC) != 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		goto fail;
	}
	r->tick_ms = (int)env_ll("EDGEPLANE_SCHED_TICK_MS", 1000, 10);
	r->lock_key = env_ll("EDGEPLANE_SCHED_LOCK_KEY", DEFAULT_LOCK_KEY, 0);
	sch_config_from_env(&r->cfg);
	atomic_init(&r->stop, false);
	atomic_init(&r->leader, false);
	rc = pthread_create(&r->thread, NULL, run, r);
	if (rc != 0) {
		snprintf(err, errlen, "pthread_create: %s", strerror(rc));
		goto fail;
	}
	current = r;
	return r;
fail:
	if (r->wake[0] >= 0) {
		close(r->wake[0]);
		close(r->wake[1]);
	}
	free(r->db_url);
	free(r->redis_url);
	free(r);
	return NULL;
}

void sch_runner_stop(struct sch_runner *r)
{
	if (r == NULL)
		return;
	atomic_store(&r->stop, true);
	sch_runner_kick(r);
	pthread_join(r->thread, NULL);
	if (current == r)
		current = NULL;
	close(r->wake[0]);
	close(r->wake[1]);
	free(r->db_url);
	free(r->redis_url);
	free(r);
}

bool sch_runner_is_leader(const struct sch_runner *r)
{
	return r != NULL && atomic_load(&((struct sch_runner *)r)->leader);
}

void sch_runner_kick(struct sch_runner *r)
{
	if (r != NULL) {
		/* A full pipe already means "wake up": the write may fail harmlessly. */
		ssize_t n = write(r->wake[1], "k", 1);
		(void)n;
	}
}

struct sch_runner *sch_runner_current(void)
{
	return current;
}

static void pg_drop(struct sch_runner *r)
{
	if (r->pg != NULL)
		PQfinish(r->pg);
	r->pg = NULL;
	if (atomic_exchange(&r->leader, false))
		log_warn("scheduler: lost the database connection; no longer the leader");
}

static bool pg_ensure(struct sch_runner *r)
{
	PGresult *res;

	if (r->pg != NULL && PQstatus(r->pg) == CONNECTION_OK)
		return true;
	pg_drop(r);
	r->pg = PQconnectdb(r->db_url);
	if (r->pg == NULL || PQstatus(r->pg) != CONNECTION_OK) {
		log_warn("scheduler: cannot connect to PostgreSQL: %s",
			 r->pg ? PQerrorMessage(r->pg) : "out of memory");
		pg_drop(r);
		return false;
	}
	/* If this host vanishes without closing its socket, PostgreSQL notices within about
	 * 10 s (keepalives on its side of this session) and frees the leader lock. */
	res = PQexec(r->pg, "SET tcp_keepalives_idle = 5; SET tcp_keepalives_interval = 2;"
			    " SET tcp_keepalives_count = 3; LISTEN " SCH_NOTIFY_CHANNEL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		log_warn("scheduler: LISTEN failed: %s", PQerrorMessage(r->pg));
		PQclear(res);
		pg_drop(r);
		return false;
	}
	PQclear(res);
	return true;
}

/* Takes the leader lock if nobody holds it. The lock belongs to the session, so it is
 * released when this connection closes, including when the process dies. */
static bool try_lead(struct sch_runner *r)
{
	char key[32];
	const char *p[1] = {key};
	PGresult *res;
	bool got;

	if (atomic_load(&r->leader))
		return true;
	snprintf(key, sizeof key, "%lld", r->lock_key);
	res = PQexecParams(r->pg, "SELECT pg_try_advisory_lock($1::bigint)", 1, NULL, p, NULL, NULL,
			   0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_warn("scheduler: advisory lock: %s", PQerrorMessage(r->pg));
		PQclear(res);
		pg_drop(r);
		return false;
	}
	got = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (got) {
		/* Record the start of this leadership: agents could not report while nobody
		 * led (or the database was away), and the planner must not read that silence
		 * as theirs. Without the record, steps would fail waves for staleness. */
		res = PQexec(r->pg, SCH_SQL_LEADER_SINCE);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			log_warn("scheduler: recording the leader's start: %s", PQerrorMessage(r->pg));
			PQclear(res);
			pg_drop(r); /* closing the session releases the lock for another try */
			return false;
		}
		PQclear(res);
		atomic_store(&r->leader, true);
		log_info("scheduler: this instance is the leader (tick %d ms)", r->tick_ms);
	}
	return got;
}

/* Steps every pending and running deployment once, a page of MAX_DUE at a time, so any
 * number of them advance (none starves behind the oldest MAX_DUE). */
static void tick(struct sch_runner *r)
{
	char (*ids)[37] = malloc(MAX_DUE * sizeof *ids);
	char err[512];
	int64_t after = 0;
	int n;

	if (ids == NULL)
		return;
	do {
		n = sch_store_due(r->pg, &after, ids, MAX_DUE, err, sizeof err);
		if (n < 0) {
			log_warn("scheduler: %s", err);
			if (PQstatus(r->pg) != CONNECTION_OK)
				pg_drop(r);
			break;
		}
		for (int i = 0; i < n && !atomic_load(&r->stop); i++) {
			int rc = sch_store_step(r->pg, ids[i], NULL, SCH_ACT_TICK, sch_now_ms(),
						&r->cfg, NULL, err, sizeof err);
			if (rc != 0 && rc != SCH_E_NOTFOUND && rc != SCH_E_CONFLICT) {
				log_warn("scheduler: deployment %s: %s", ids[i], err);
				if (PQstatus(r->pg) != CONNECTION_OK) {
					pg_drop(r);
					n = 0;
					break;
				}
			}
		}
	} while (n == MAX_DUE && r->pg != NULL && !atomic_load(&r->stop));
	free(ids);
}

static void redis_drop(struct sch_runner *r, const char *why)
{
	if (r->redis != NULL) {
		log_warn("scheduler: Redis: %s; announcements wait until it is back (agents poll)",
			 why);
		redisFree(r->redis);
		r->redis = NULL;
	}
	r->redis_retry_ms = sch_now_ms() + 1000;
}

/* Parses redis://[user:password@]host[:port][/db] and connects with short timeouts, so a
 * dead Redis costs the loop milliseconds, not seconds. */
static bool redis_ensure(struct sch_runner *r)
{
	char host[256] = "127.0.0.1", pass[256] = "";
	const char *u = r->redis_url, *at, *hp;
	int port = 6379;
	struct timeval tv = {0, 500000};

	if (r->redis != NULL)
		return true;
	if (sch_now_ms() < r->redis_retry_ms)
		return false;
	if (strncmp(u, "redis://", 8) == 0)
		u += 8;
	at = strchr(u, '@');
	hp = at ? at + 1 : u;
	if (at != NULL) {
		const char *colon = memchr(u, ':', (size_t)(at - u));
		if (colon != NULL)
			snprintf(pass, sizeof pass, "%.*s", (int)(at - colon - 1), colon + 1);
	}
	if (*hp != '\0' && *hp != '/') {
		size_t hl = strcspn(hp, ":/");
		snprintf(host, sizeof host, "%.*s", (int)hl, hp);
		if (hp[hl] == ':')
			port = atoi(hp + hl + 1);
	}
	r->redis = redisConnectWithTimeout(host, port, tv);
	if (r->redis == NULL || r->redis->err) {
		if (!r->redis_down_logged)
			log_warn("scheduler: cannot connect to Redis at %s:%d: %s", host, port,
				 r->redis ? r->redis->errstr : "out of memory");
		r->redis_down_logged = true;
		if (r->redis != NULL)
			redisFree(r->redis);
		r->redis = NULL;
		r->redis_retry_ms = sch_now_ms() + 1000;
		return false;
	}
	redisSetTimeout(r->redis, tv);
	if (pass[0] != '\0') {
		redisReply *rep = redisCommand(r->redis, "AUTH %s", pass);
		bool ok = rep != NULL && rep->type != REDIS_REPLY_ERROR;
		if (rep != NULL)
			freeReplyObject(rep);
		if (!ok) {
			redis_drop(r, "AUTH failed");
			return false;
		}
	}
	if (r->redis_down_logged)
		log_info("scheduler: Redis is reachable again");
	r->redis_down_logged = false;
	return true;
}

/* Announces every generation not announced yet: all PUBLISH commands pipelined, then one
 * statement records the ones Redis acknowledged. */
static void publish(struct sch_runner *r)
{
	struct sch_pub *pubs = NULL;
	char err[512], channel[96], msg[48];
	int n = sch_store_unpublished(r->pg, &pubs, err, sizeof err);
	size_t ok = 0;

	if (n < 0) {
		log_warn("scheduler: %s", err);
		return;
	}
	if (n == 0 || !redis_ensure(r)) {
		free(pubs);
		return;
	}
	for (int i = 0; i < n; i++) {
		snprintf(channel, sizeof channel, "edgeplane:pop:%s", pubs[i].pop);
		snprintf(msg, sizeof msg, "{\"generation\":%lld}", (long long)pubs[i].generation);
		if (redisAppendCommand(r->redis, "PUBLISH %s %s", channel, msg) != REDIS_OK) {
			redis_drop(r, "out of memory queueing PUBLISH");
			free(pubs);
			return;
		}
	}
	for (int i = 0; i < n; i++) {
		redisReply *rep = NULL;
		if (redisGetReply(r->redis, (void **)&rep) != REDIS_OK || rep == NULL) {
			redis_drop(r, r->redis->errstr[0] ? r->redis->errstr : "connection lost");
			break;
		}
		if (rep->type != REDIS_REPLY_ERROR)
			ok = (size_t)i + 1;
		freeReplyObject(rep);
		if (ok != (size_t)i + 1)
			break;
	}
	if (ok > 0 && sch_store_mark_published(r->pg, pubs, ok, err, sizeof err) != 0)
		log_warn("scheduler: %s", err);
	free(pubs);
}

/* Sleeps up to ms, waking early for a NOTIFY or a kick. Returns false when told to stop. */
static bool wait_for(struct sch_runner *r, int ms)
{
	struct pollfd fds[2];
	nfds_t nfds = 1;
	char drain[64];

	/* Notifications that arrived while a statement ran are already buffered by libpq: the
	 * socket would not show them, so look first. */
	if (r->pg != NULL && PQconsumeInput(r->pg)) {
		PGnotify *nt;
		bool any = false;
		while ((nt = PQnotifies(r->pg)) != NULL) {
			PQfreemem(nt);
			any = true;
		}
		if (any)
			return !atomic_load(&r->stop);
	}
	fds[0].fd = r->wake[0];
	fds[0].events = POLLIN;
	if (r->pg != NULL && PQsocket(r->pg) >= 0) {
		fds[1].fd = PQsocket(r->pg);
		fds[1].events = POLLIN;
		nfds = 2;
	}
	if (poll(fds, nfds, ms) > 0) {
		while (read(r->wake[0], drain, sizeof drain) > 0)
			;
		if (nfds == 2 && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
			PGnotify *nt;
			if (!PQconsumeInput(r->pg))
				pg_drop(r);
			else
				while ((nt = PQnotifies(r->pg)) != NULL)
					PQfreemem(nt);
		}
	}
	return !atomic_load(&r->stop);
}

static void *run(void *arg)
{
	struct sch_runner *r = arg;
	int backoff = 100;

	while (!atomic_load(&r->stop)) {
		int64_t started;
		if (!pg_ensure(r)) {
			/* Database down: retry with backoff up to 2 s; the API answers 503 meanwhile. */
			if (!wait_for(r, backoff))
				break;
			backoff = backoff * 2 > 2000 ? 2000 : backoff * 2;
			continue;
		}
		backoff = 100;
		if (!try_lead(r)) {
			/* A follower: look again each tick, so it takes over within about a tick
			 * of the leader's death (PostgreSQL frees the lock with its session). */
			if (!wait_for(r, r->tick_ms))
				break;
			continue;
		}
		started = sch_now_ms();
		tick(r);
		if (r->pg != NULL)
			publish(r);
		/* Wake-ups are rate-limited so a storm of reports does not become a storm of
		 * ticks: at least MIN_GAP_MS between ticks, and at least three times what the
		 * last tick took, so planning a large fleet keeps to a quarter of a core. The
		 * timer still fires every tick_ms. */
		int64_t spent = sch_now_ms() - started;
		int64_t gap = spent * 3 > MIN_GAP_MS ? spent * 3 : MIN_GAP_MS;
		if (gap > r->tick_ms)
			gap = r->tick_ms;
		if (spent < gap) {
			struct timespec ts = {(time_t)((gap - spent) / 1000),
					      (long)((gap - spent) % 1000) * 1000000L};
			nanosleep(&ts, NULL);
		}
		if (!wait_for(r, r->tick_ms))
			break;
	}
	if (r->redis != NULL)
		redisFree(r->redis);
	r->redis = NULL;
	pg_drop(r);
	return NULL;
}
