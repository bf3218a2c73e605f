/* controlplane/dbpool.c: the PostgreSQL pool (see dbpool.h). Slots hold an open connection or
 * nothing; acquire takes an idle open one, else opens one in an empty slot, else waits on a
 * condition variable up to the timeout. Connecting happens outside the lock, so a database
 * that is down slows only the requests that need it, by at most the connect timeout. */
#include "controlplane/dbpool.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"

struct slot {
	PGconn *conn;   /* NULL: not connected */
	bool busy;      /* handed out (or being connected) */
};

struct cp_pool {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char *conninfo;
	unsigned size;
	unsigned stmt_timeout_ms;
	struct slot *slots;
	/* When the database was last found down: further connects within a short back-off fail
	 * fast instead of each request paying for its own failed attempt. */
	struct timespec down_until;
};

static void quiet_notice(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

PGconn *cp_db_connect(const char *conninfo, unsigned timeout_ms, char *err, size_t errlen)
{
	char timeout[16];
	const char *keys[] = {"dbname", "connect_timeout", "application_name", NULL};
	const char *vals[] = {conninfo, timeout, "edgeplane", NULL};
	PGconn *c;

	/* libpq's connect_timeout is in whole seconds with a minimum of 2. */
	snprintf(timeout, sizeof timeout, "%u", timeout_ms / 1000 < 2 ? 2 : timeout_ms / 1000);
	c = PQconnectdbParams(keys, vals, 1);
	if (c == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (PQstatus(c) != CONNECTION_OK) {
		snprintf(err, errlen, "%s", PQerrorMessage(c));
		size_t n = strlen(err);
		while (n > 0 && (err[n - 1] == '\n' || err[n - 1] == ' '))
			err[--n] = '\0';
		PQfinish(c);
		return NULL;
	}
	PQsetNoticeProcessor(c, quiet_notice, NULL);
	return c;
}

struct cp_pool *cp_pool_create(const char *conninfo, unsigned size, unsigned stmt_timeout_ms)
{
	struct cp_pool *p = calloc(1, sizeof *p);

	if (p == NULL)
		return NULL;
	p->conninfo = strdup(conninfo);
	p->slots = calloc(size, sizeof *p->slots);
	if (p->conninfo == NULL || p->slots == NULL) {
		free(p->conninfo);
		free(p->slots);
		free(p);
		return NULL;
	}
	p->size = size;
	p->stmt_timeout_ms = stmt_timeout_ms;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	return p;
}

void cp_pool_destroy(struct cp_pool *p)
{
	if (p == NULL)
		return;
	for (unsigned i = 0; i < p->size; i++)
		if (p->slots[i].conn != NULL)
			PQfinish(p->slots[i].conn);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p->slots);
	free(p->conninfo);
	free(p);
}

static bool before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* Opens the connection of slot i (its busy flag is already set by the caller). */
static PGconn *open_conn(struct cp_pool *p, unsigned timeout_ms)
{
	char err[512], sql[64];
	PGconn *c = cp_db_connect(p->conninfo, timeout_ms, err, sizeof err);
	PGresult *r;

	if (c == NULL) {
		log_warn("database connection failed: %s", err);
		return NULL;
	}
	snprintf(sql, sizeof sql, "SET statement_timeout = %u", p->stmt_timeout_ms);
	r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		log_warn("database session setup failed: %s", PQerrorMessage(c));
		PQclear(r);
		PQfinish(c);
		return NULL;
	}
	PQclear(r);
	return c;
}

static PGconn *pool_acquire(void *ud, unsigned timeout_ms)
{
	struct cp_pool *p = ud;
	struct timespec deadline, now;
	int empty;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&p->mu);
	for (;;) {
		empty = -1;
		for (unsigned i = 0; i < p->size; i++) {
			if (p->slots[i].busy)
				continue;
			if (p->slots[i].conn != NULL) {
				p->slots[i].busy = true;
				PGconn *c = p->slots[i].conn;
				pthread_mutex_unlock(&p->mu);
				return c;
			}
			if (empty < 0)
				empty = (int)i;
		}
		if (empty >= 0) {
			clock_gettime(CLOCK_REALTIME, &now);
			if (before(&now, &p->down_until)) {
				pthread_mutex_unlock(&p->mu);
				return NULL;
			}
			p->slots[empty].busy = true;
			pthread_mutex_unlock(&p->mu);
			PGconn *c = open_conn(p, timeout_ms);
			pthread_mutex_lock(&p->mu);
			if (c == NULL) {
				p->slots[empty].busy = false;
				clock_gettime(CLOCK_REALTIME, &p->down_until);
				p->down_until.tv_nsec += 200000000L; /* 200 ms back-off */
				if (p->down_until.tv_nsec >= 1000000000L) {
					p->down_until.tv_sec++;
					p->down_until.tv_nsec -= 1000000000L;
				}
				pthread_cond_signal(&p->cv);
				pthread_mutex_unlock(&p->mu);
				return NULL;
			}
			p->slots[empty].conn = c;
			pthread_mutex_unlock(&p->mu);
			return c;
		}
		if (pthread_cond_timedwait(&p->cv, &p->mu, &deadline) == ETIMEDOUT) {
			pthread_mutex_unlock(&p->mu);
			return NULL;
		}
	}
}

static void pool_release(void *ud, PGconn *conn, bool broken)
{
	struct cp_pool *p = ud;

	pthread_mutex_lock(&p->mu);
	for (unsigned i = 0; i < p->size; i++) {
		if (p->slots[i].conn != conn)
			continue;
		if (broken || PQstatus(conn) != CONNECTION_OK) {
			/* Closed now and reopened on demand: that is how a restart is survived. A
			 * lost connection usually means the server restarted, so the idle ones are
			 * dead too: close them as well rather than let each fail one request. */
			PQfinish(conn);
			p->slots[i].conn = NULL;
			for (unsigned j = 0; j < p->size; j++)
				if (!p->slots[j].busy && p->slots[j].conn != NULL) {
					PQfinish(p->slots[j].conn);
					p->slots[j].conn = NULL;
				}
		}
		p->slots[i].busy = false;
		break;
	}
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

static void pool_stats(void *ud, unsigned *in_use, unsigned *idle, unsigned *size)
{
	struct cp_pool *p = ud;

	*in_use = *idle = 0;
	pthread_mutex_lock(&p->mu);
	for (unsigned i = 0; i < p->size; i++) {
		if (p->slots[i].busy)
			(*in_use)++;
		else if (p->slots[i].conn != NULL)
			(*idle)++;
	}
	*size = p->size;
	pthread_mutex_unlock(&p->mu);
}

void cp_pool_ops(struct cp_pool *p, struct api_db_ops *ops)
{
	ops->ud = p;
	ops->acquire = pool_acquire;
	ops->release = pool_release;
	ops->stats = pool_stats;
}
