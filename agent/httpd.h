/* agent/httpd.h: what the edge and admin listeners share: binding a libmicrohttpd daemon to a
 * "host:port", request ids, and small canned responses. */
#ifndef AGT_HTTPD_H
#define AGT_HTTPD_H

#include <microhttpd.h>
#include <stddef.h>

/* Starts a daemon on listen ("host:port"; port 0 picks a free one) with handler h. threads > 1
 * uses a thread pool of that size, else one internal thread. Returns the daemon or NULL with the
 * reason in err. */
struct MHD_Daemon *agt_httpd_start(const char *listen, unsigned threads,
				   MHD_AccessHandlerCallback h, void *h_cls,
				   MHD_RequestCompletedCallback done, void *uri_cb, void *uri_cls,
				   char *err, size_t errlen);

/* The port a daemon listens on (0 if unknown). */
unsigned agt_httpd_port(struct MHD_Daemon *d);

/* A new request id (32 lowercase hex + NUL) into out. Thread-safe and cheap (no syscall per
 * call after the first in a thread). */
void agt_request_id(char out[33]);

/* Queues a response with a copy of body, the given content type and X-Request-Id (NULL: none).
 * Returns MHD's result. */
enum MHD_Result agt_httpd_reply(struct MHD_Connection *c, unsigned status, const char *ctype,
				const char *body, size_t len, const char *request_id);

#endif
