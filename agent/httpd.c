/* agent/httpd.c: libmicrohttpd plumbing shared by the edge and admin listeners. */
#include "agent/httpd.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>

#include "agent/config.h"

struct MHD_Daemon *agt_httpd_start(const char *listen, unsigned threads,
				   MHD_AccessHandlerCallback h, void *h_cls,
				   MHD_RequestCompletedCallback done, void *uri_cb, void *uri_cls,
				   char *err, size_t errlen)
{
	char host[128], port_s[8];
	uint16_t port;
	struct addrinfo hints = {0}, *res = NULL;
	struct sockaddr_storage ss;
	struct MHD_Daemon *d;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	int gai;

	if (agt_split_listen(listen, host, sizeof(host), &port) != 0) {
		snprintf(err, errlen, "bad listen address \"%s\" (host:port)", listen);
		return NULL;
	}
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	snprintf(port_s, sizeof(port_s), "%u", port);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	gai = getaddrinfo(host, port_s, &hints, &res);
	if (gai != 0 || res == NULL) {
		snprintf(err, errlen, "cannot resolve %s: %s", host, gai_strerror(gai));
		return NULL;
	}
	memset(&ss, 0, sizeof(ss));
	memcpy(&ss, res->ai_addr, res->ai_addrlen);
	if (res->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	freeaddrinfo(res);
	if (threads > 1)
		flags |= MHD_USE_EPOLL_LINUX_ONLY;
	/* libmicrohttpd warns about a pool size of 0, so the option is only given for a pool.
	 * MHD_OPTION_LISTENING_ADDRESS_REUSE is deliberately left out: on Linux it means
	 * SO_REUSEPORT, which lets a second agent bind the same port and silently take half of the
	 * traffic. libmicrohttpd's default (SO_REUSEADDR only) still allows a quick restart. */
	if (threads > 1)
		d = MHD_start_daemon(flags, port, NULL, NULL, h, h_cls, MHD_OPTION_SOCK_ADDR, &ss,
				     MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_NOTIFY_COMPLETED,
				     done, NULL, MHD_OPTION_URI_LOG_CALLBACK, uri_cb, uri_cls,
				     MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_CONNECTION_LIMIT,
				     4096u, MHD_OPTION_END);
	else
		d = MHD_start_daemon(flags, port, NULL, NULL, h, h_cls, MHD_OPTION_SOCK_ADDR, &ss,
				     MHD_OPTION_NOTIFY_COMPLETED, done, NULL,
				     MHD_OPTION_URI_LOG_CALLBACK, uri_cb, uri_cls,
				     MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_CONNECTION_LIMIT,
				     1024u, MHD_OPTION_END);
	if (d == NULL)
		snprintf(err, errlen, "cannot listen on %s (in use?)", listen);
	return d;
}

unsigned agt_httpd_port(struct MHD_Daemon *d)
{
	const union MHD_DaemonInfo *i = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);

	return i != NULL ? i->port : 0;
}

/* xorshift128+ per thread, seeded from the kernel: request ids need uniqueness, not secrecy. */
static _Thread_local uint64_t rid_s[2];

void agt_request_id(char out[33])
{
	uint64_t a, b;

	if (rid_s[0] == 0 && rid_s[1] == 0) {
		if (getrandom(rid_s, sizeof(rid_s), 0) != (ssize_t)sizeof(rid_s)) {
			rid_s[0] = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)&a;
			rid_s[1] = 0x9e3779b97f4a7c15ull;
		}
		rid_s[0] |= 1;
	}
	for (int half = 0; half < 2; half++) {
		uint64_t x = rid_s[0], y = rid_s[1];
		rid_s[0] = y;
		x ^= x << 23;
		rid_s[1] = x ^ y ^ (x >> 17) ^ (y >> 26);
		a = rid_s[1] + y;
		b = a;
		snprintf(out + half * 16, 17, "%016llx", (unsigned long long)b);
	}
}

enum MHD_Result agt_httpd_reply(struct MHD_Connection *c, unsigned status, const char *ctype,
				const char *body, size_t len, const char *request_id)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body,
								  MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	if (r == NULL)
		return MHD_NO;
	if (ctype != NULL)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	if (request_id != NULL)
		MHD_add_response_header(r, "X-Request-Id", request_id);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}
