/* api/reply.c: setting a request's reply (JSON, raw bytes, empty, problem+json) and extra
 * response headers; the request accessors. http.c turns the reply into the HTTP response. */
#include "api/api_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"

const char *api__reason(unsigned status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 412: return "Precondition Failed";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return status < 400 ? "OK" : status < 500 ? "Client Error" : "Server Error";
	}
}

void api__reply_free(struct api_req *req)
{
	free(req->resp);
	free(req->resp_type);
	req->resp = NULL;
	req->resp_type = NULL;
	req->resp_len = 0;
	for (int i = 0; i < req->nheaders; i++) {
		free(req->headers[i].name);
		free(req->headers[i].value);
	}
	req->nheaders = 0;
}

/* Replaces the body part of the reply (headers added so far are kept). */
static void set_reply(struct api_req *req, unsigned status, const char *type, char *data,
		      size_t len)
{
	free(req->resp);
	free(req->resp_type);
	req->resp = data;
	req->resp_len = len;
	req->resp_type = type ? strdup(type) : NULL;
	req->status = status;
	req->replied = true;
}

void api_reply_json_take(struct api_req *req, unsigned status, json_t *body)
{
	/* 15 significant digits: 0.05 prints as 0.05, not jansson's default 0.050000000000000003. */
	char *text = body ? json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15))
			  : NULL;

	if (body != NULL)
		json_decref(body);
	if (text == NULL) {
		api_reply_problem(req, 500, "could not encode the answer");
		return;
	}
	set_reply(req, status, "application/json", text, strlen(text));
}

void api_reply_bytes(struct api_req *req, unsigned status, const char *content_type,
		     const void *data, size_t len)
{
	char *copy = malloc(len ? len : 1);

	if (copy == NULL) {
		api_reply_problem(req, 503, "out of memory");
		return;
	}
	if (len > 0)
		memcpy(copy, data, len);
	set_reply(req, status, content_type, copy, len);
}

void api_reply_bytes_take(struct api_req *req, unsigned status, const char *content_type,
			  void *data, size_t len)
{
	set_reply(req, status, content_type, data, len);
}

void api_reply_empty(struct api_req *req, unsigned status)
{
	set_reply(req, status, NULL, NULL, 0);
}

void api_reply_problem(struct api_req *req, unsigned status, const char *detail_fmt, ...)
{
	char detail[1024];
	va_list ap;
	json_t *o;
	char *text;

	va_start(ap, detail_fmt);
	vsnprintf(detail, sizeof detail, detail_fmt, ap);
	va_end(ap);
	o = json_object();
	if (o != NULL) {
		json_t *d = json_string(detail);
		json_object_set_new(o, "type", json_string("about:blank"));
		json_object_set_new(o, "title", json_string(api__reason(status)));
		json_object_set_new(o, "status", json_integer(status));
		/* A detail quoting client bytes that are not UTF-8 cannot be a JSON string. */
		json_object_set_new(o, "detail", d ? d : json_string("the request contains bytes that are not UTF-8"));
		json_object_set_new(o, "request_id", json_string(req->request_id));
	}
	text = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
	json_decref(o);
	if (text == NULL) {
		set_reply(req, status, NULL, NULL, 0);
		return;
	}
	set_reply(req, status, "application/problem+json", text, strlen(text));
}

bool api_add_header(struct api_req *req, const char *name, const char *value)
{
	char *n, *v;

	/* Same name again replaces the earlier value (e.g. a handler overriding a default). */
	for (int i = 0; i < req->nheaders; i++)
		if (strcasecmp(req->headers[i].name, name) == 0) {
			v = strdup(value);
			if (v == NULL)
				return false;
			free(req->headers[i].value);
			req->headers[i].value = v;
			return true;
		}
	if (req->nheaders == API_MAX_HEADERS)
		return false;
	n = strdup(name);
	v = strdup(value);
	if (n == NULL || v == NULL) {
		free(n);
		free(v);
		return false;
	}
	req->headers[req->nheaders].name = n;
	req->headers[req->nheaders].value = v;
	req->nheaders++;
	return true;
}

bool api_replied(const struct api_req *req) { return req->replied; }
const char *api_method(const struct api_req *req) { return req->head ? "GET" : req->method; }
const char *api_path(const struct api_req *req) { return req->path; }
const char *api_route_path(const struct api_req *req) { return req->route ? req->route->r->path : NULL; }
const char *api_request_id(const struct api_req *req) { return req->request_id; }
const struct api_principal *api_who(const struct api_req *req) { return &req->who; }
const char *api_tenant_id(const struct api_req *req) { return req->has_tenant ? req->tenant_id : NULL; }
const char *api_tenant_slug(const struct api_req *req) { return req->has_tenant ? req->tenant_slug : NULL; }
const struct api_config *api_cfg(const struct api_req *req) { return req->srv->cfg; }
json_t *api_json(const struct api_req *req) { return req->json; }

const char *api_param(const struct api_req *req, const char *name)
{
	for (int i = 0; i < req->nparams; i++)
		if (strcmp(req->params[i].name, name) == 0)
			return req->params[i].value;
	return NULL;
}

const char *api_query(const struct api_req *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *api_header(const struct api_req *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const uint8_t *api_body(const struct api_req *req, size_t *out_len)
{
	*out_len = req->body.len;
	return req->body.len ? (const uint8_t *)req->body.data : NULL;
}
