/* api/db.c: a request's pooled PostgreSQL connection (taken on first use, returned after the
 * handler), parameterised statements with SQLSTATE kept for the handler, transactions, and
 * the mapping of database failures to 503/500 problems. */
#include "api/api_int.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/log.h"

/* How much longer than the server's statement_timeout (db_timeout_ms) the client waits for an
 * answer. statement_timeout gives the proper error in the normal slow case; this deadline is
 * for a server that cannot answer at all (frozen, partitioned), where it would never fire. */
#define DB_MARGIN_MS 1000

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until the socket of c is readable (or writable too when `out`), at most until
 * deadline; false on timeout or a socket error. */
static bool wait_socket(PGconn *c, bool out, long long deadline)
{
	struct pollfd pfd = {.fd = PQsocket(c), .events = (short)(POLLIN | (out ? POLLOUT : 0))};

	if (pfd.fd < 0)
		return false;
	for (;;) {
		long long left = deadline - now_ms();
		if (left <= 0)
			return false;
		int n = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
		if (n > 0)
			return true;
		if (n < 0 && errno != EINTR)
			return false;
	}
}

/* Collects the result of a statement sent with PQsend*, waiting at most `ms`: libpq itself
 * has no client-side timeout. Returns the last result (the caller PQclears), or NULL with
 * *out_timeout set when the deadline passed (the connection is then unusable: its answer may
 * still arrive) or clear when the connection failed. */
static PGresult *collect(PGconn *c, unsigned ms, bool *out_timeout)
{
	long long deadline = now_ms() + ms;
	PGresult *last = NULL, *r;
	int f;

	*out_timeout = false;
	while ((f = PQflush(c)) == 1)
		if (!wait_socket(c, true, deadline)) {
			*out_timeout = true;
			return NULL;
		}
	if (f < 0)
		return NULL;
	for (;;) {
		while (PQisBusy(c)) {
			if (!wait_socket(c, false, deadline)) {
				*out_timeout = true;
				PQclear(last);
				return NULL;
			}
			if (!PQconsumeInput(c)) {
				/* The connection broke: libpq has queued an error result, or none. */
				break;
			}
		}
		r = PQgetResult(c);
		if (r == NULL)
			break;
		PQclear(last);
		last = r;
		if (PQstatus(c) != CONNECTION_OK)
			break;
	}
	return last;
}

/* What a statement of this request may wait for its answer. */
static unsigned deadline_ms(const struct api_req *req)
{
	return req->srv->cfg->db_timeout_ms + DB_MARGIN_MS;
}

/* A statement failed on a connection that cannot be trusted any more (timed out or lost). */
static void mark_broken(struct api_req *req, const char *state)
{
	snprintf(req->sqlstate, sizeof req->sqlstate, "%s", state);
	req->db_broken = true;
}

PGconn *api_db(struct api_req *req)
{
	struct api_server *s = req->srv;

	if (req->db != NULL)
		return req->db;
	req->db = s->db.acquire(s->db.ud, s->cfg->db_timeout_ms);
	/* Non-blocking, so that sending a large statement (an upload's bytes) to a server that
	 * stopped reading cannot block past the deadline either (see collect). */
	if (req->db != NULL && PQsetnonblocking(req->db, 1) != 0) {
		s->db.release(s->db.ud, req->db, true);
		req->db = NULL;
	}
	if (req->db == NULL) {
		snprintf(req->sqlstate, sizeof req->sqlstate, "08006");
		api_reply_problem(req, 503, "the database is unavailable; retry later");
		api_add_header(req, "Retry-After", "1");
	}
	return req->db;
}

void api__db_release(struct api_req *req)
{
	struct api_server *s = req->srv;

	if (req->db == NULL)
		return;
	if (PQstatus(req->db) != CONNECTION_OK)
		req->db_broken = true;
	if (!req->db_broken && PQtransactionStatus(req->db) != PQTRANS_IDLE) {
		/* A transaction left open (handler error path) must not leak into the next request. */
		bool timeout;
		PGresult *r = PQsendQuery(req->db, "ROLLBACK") ? collect(req->db, deadline_ms(req), &timeout)
							       : NULL;
		if (PQresultStatus(r) != PGRES_COMMAND_OK)
			req->db_broken = true;
		PQclear(r);
	}
	s->db.release(s->db.ud, req->db, req->db_broken);
	req->db = NULL;
	req->in_tx = false;
}

/* True when the result is a failure caused by the connection rather than the statement. */
static bool connection_lost(struct api_req *req)
{
	return PQstatus(req->db) != CONNECTION_OK;
}

/* No answer in time: the connection is given up (its answer may still come) and the
 * statement is not retried, it may have run. */
static void give_up(struct api_req *req)
{
	log_warn("request %s: no answer from the database within %u ms", req->request_id,
		 deadline_ms(req));
	mark_broken(req, "08006");
	api__db_release(req);
}

/* api_sql_bin with the result format chosen (1: binary cells, e.g. bytea as raw bytes). */
PGresult *api__sql_fmt(struct api_req *req, const char *sql, int nparams,
		       const char *const *params, const int *lengths, const int *formats,
		       int result_format)
{
	PGresult *r;
	ExecStatusType st;
	bool timeout;

	for (int attempt = 0; attempt < 2; attempt++) {
		if (api_db(req) == NULL)
			return NULL;
		req->sqlstate[0] = '\0';
		r = NULL;
		timeout = false;
		if (PQsendQueryParams(req->db, sql, nparams, NULL, params, lengths, formats, result_format))
			r = collect(req->db, deadline_ms(req), &timeout);
		st = PQresultStatus(r);
		if (r != NULL && (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK))
			return r;
		if (timeout) {
			give_up(req);
			return NULL;
		}
		const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
		snprintf(req->sqlstate, sizeof req->sqlstate, "%s", state ? state : "08006");
		if (r == NULL || connection_lost(req)) {
			PQclear(r);
			mark_broken(req, "08006");
			/* A pooled connection may have died with a database restart. Outside a
			 * transaction the statement can safely run again on a fresh connection. */
			bool retry = !req->in_tx && attempt == 0;
			api__db_release(req);
			if (retry)
				continue;
			return NULL;
		}
		log_warn("request %s: SQL failed (%s): %s", req->request_id, req->sqlstate,
			 PQresultErrorMessage(r));
		PQclear(r);
		return NULL;
	}
	return NULL;
}

PGresult *api_sql_bin(struct api_req *req, const char *sql, int nparams,
		      const char *const *params, const int *lengths, const int *formats)
{
	return api__sql_fmt(req, sql, nparams, params, lengths, formats, 0);
}

PGresult *api__sql_named(struct api_req *req, const char *name, const char *sql, int nparams,
			  const char *const *params)
{
	for (int attempt = 0; attempt < 3; attempt++) {
		if (api_db(req) == NULL)
			return NULL;
		bool timeout = false;
		PGresult *r = NULL;
		if (PQsendQueryPrepared(req->db, name, nparams, params, NULL, NULL, 0))
			r = collect(req->db, deadline_ms(req), &timeout);
		ExecStatusType st = PQresultStatus(r);
		if (r != NULL && (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK))
			return r;
		if (timeout) {
			give_up(req);
			return NULL;
		}
		const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
		bool missing = state != NULL && strcmp(state, "26000") == 0;
		PQclear(r);
		if (!missing || req->in_tx)
			break;
		/* First use on this connection: prepare it once, it stays for the session. */
		r = NULL;
		if (PQsendPrepare(req->db, name, sql, nparams, NULL))
			r = collect(req->db, deadline_ms(req), &timeout);
		st = PQresultStatus(r);
		PQclear(r);
		if (timeout) {
			give_up(req);
			return NULL;
		}
		if (st != PGRES_COMMAND_OK)
			break;
	}
	/* Anything unusual: the plain path, with its error handling and reconnect retry. */
	return api_sql(req, sql, nparams, params);
}

PGresult *api_sql(struct api_req *req, const char *sql, int nparams, const char *const *params)
{
	return api_sql_bin(req, sql, nparams, params, NULL, NULL);
}

const char *api_sql_state(const struct api_req *req)
{
	return req->sqlstate;
}

void api_reply_sql_error(struct api_req *req)
{
	if (strcmp(req->sqlstate, "08006") == 0 || strncmp(req->sqlstate, "08", 2) == 0 ||
	    strcmp(req->sqlstate, "57P01") == 0 || strcmp(req->sqlstate, "57014") == 0) {
		api_reply_problem(req, 503, "the database is unavailable; retry later");
		api_add_header(req, "Retry-After", "1");
		return;
	}
	api_reply_problem(req, 500, "internal error (request %s)", req->request_id);
}

static bool run_simple(struct api_req *req, const char *sql)
{
	PGresult *r = api_sql(req, sql, 0, NULL);

	if (r == NULL)
		return false;
	PQclear(r);
	return true;
}

bool api_tx_begin(struct api_req *req)
{
	if (!run_simple(req, "BEGIN")) {
		if (!req->replied || req->status < 500)
			api_reply_sql_error(req);
		return false;
	}
	req->in_tx = true;
	return true;
}

bool api_tx_commit(struct api_req *req)
{
	bool ok = req->db != NULL && run_simple(req, "COMMIT");

	req->in_tx = false;
	if (!ok)
		api_reply_sql_error(req);
	return ok;
}

void api_tx_rollback(struct api_req *req)
{
	if (req->db != NULL && req->in_tx) {
		bool timeout;
		PGresult *r = PQsendQuery(req->db, "ROLLBACK") ? collect(req->db, deadline_ms(req), &timeout)
							       : NULL;
		if (PQresultStatus(r) != PGRES_COMMAND_OK)
			req->db_broken = true;
		PQclear(r);
	}
	req->in_tx = false;
}
