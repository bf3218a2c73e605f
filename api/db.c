/* api/db.c: a request's pooled PostgreSQL connection (taken on first use, returned after the
 * handler), parameterised statements with SQLSTATE kept for the handler, transactions, and
 * the mapping of database failures to 503/500 problems. */
#include "api/api_int.h"

#include <stdio.h>
#include <string.h>

#include "common/log.h"

PGconn *api_db(struct api_req *req)
{
	struct api_server *s = req->srv;

	if (req->db != NULL)
		return req->db;
	req->db = s->db.acquire(s->db.ud, s->cfg->db_timeout_ms);
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
		PGresult *r = PQexec(req->db, "ROLLBACK");
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

PGresult *api_sql_bin(struct api_req *req, const char *sql, int nparams,
		      const char *const *params, const int *lengths, const int *formats)
{
	PGresult *r;
	ExecStatusType st;

	for (int attempt = 0; attempt < 2; attempt++) {
		if (api_db(req) == NULL)
			return NULL;
		req->sqlstate[0] = '\0';
		r = PQexecParams(req->db, sql, nparams, NULL, params, lengths, formats, 0);
		st = PQresultStatus(r);
		if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
			return r;
		const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
		snprintf(req->sqlstate, sizeof req->sqlstate, "%s", state ? state : "08006");
		if (connection_lost(req)) {
			PQclear(r);
			snprintf(req->sqlstate, sizeof req->sqlstate, "08006");
			/* A pooled connection may have died with a database restart. Outside a
			 * transaction the statement can safely run again on a fresh connection. */
			req->db_broken = true;
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

PGresult *api__sql_named(struct api_req *req, const char *name, const char *sql, int nparams,
			  const char *const *params)
{
	for (int attempt = 0; attempt < 3; attempt++) {
		if (api_db(req) == NULL)
			return NULL;
		PGresult *r = PQexecPrepared(req->db, name, nparams, params, NULL, NULL, 0);
		ExecStatusType st = PQresultStatus(r);
		if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
			return r;
		const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
		bool missing = state != NULL && strcmp(state, "26000") == 0;
		PQclear(r);
		if (!missing || req->in_tx)
			break;
		/* First use on this connection: prepare it once, it stays for the session. */
		r = PQprepare(req->db, name, sql, nparams, NULL);
		st = PQresultStatus(r);
		PQclear(r);
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
		PGresult *r = PQexec(req->db, "ROLLBACK");
		PQclear(r);
	}
	req->in_tx = false;
}
