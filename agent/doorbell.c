/* agent/doorbell.c: the Redis side of the sync loop. Redis pub/sub is a doorbell, not the data
 * (DESIGN.md "Rollouts"): a message on edgeplane:pop:<name> only wakes the pull. The thread
 * keeps one subscription, detects a dead connection (EOF, or no answer to a PING), reconnects
 * with jittered backoff, resubscribes, and pulls after every reconnect because messages sent
 * while it was away are lost. */
#include "agent/agent.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/fetch.h"
#include "common/log.h"

#define PING_IDLE_MS 15000
#define DEAD_IDLE_MS 45000

struct redis_target {
	char host[256];
	int port;
	char password[256];
	int db;
};

/* redis://[[user]:password@]host[:port][/db] */
static int parse_url(const char *url, struct redis_target *t)
{
	const char *p, *at, *hs, *colon, *slash;
	size_t n;

	memset(t, 0, sizeof(*t));
	t->port = 6379;
	if (strncmp(url, "redis://", 8) != 0)
		return -1;
	p = url + 8;
	slash = strchr(p, '/');
	at = strchr(p, '@');
	if (at != NULL && (slash == NULL || at < slash)) {
		const char *pc = memchr(p, ':', (size_t)(at - p));
		if (pc != NULL) {
			n = (size_t)(at - pc - 1);
			if (n >= sizeof(t->password))
				return -1;
			memcpy(t->password, pc + 1, n);
		}
		p = at + 1;
	}
	hs = p;
	n = slash ? (size_t)(slash - hs) : strlen(hs);
	colon = memchr(hs, ':', n);
	if (colon != NULL) {
		t->port = atoi(colon + 1);
		n = (size_t)(colon - hs);
	}
	if (n == 0 || n >= sizeof(t->host) || t->port <= 0 || t->port > 65535)
		return -1;
	memcpy(t->host, hs, n);
	if (slash != NULL && slash[1] != '\0')
		t->db = atoi(slash + 1);
	return 0;
}

static bool stopping(struct agt *a)
{
	pthread_mutex_lock(&a->lock);
	bool s = a->stop;
	pthread_mutex_unlock(&a->lock);
	return s;
}

/* Sleeps up to ms, waking early on stop. */
static void nap(struct agt *a, long ms)
{
	while (ms > 0 && !stopping(a)) {
		long step = ms < 100 ? ms : 100;
		struct timespec ts = {0, step * 1000000L};
		nanosleep(&ts, NULL);
		ms -= step;
	}
}

static void set_up(struct agt *a, bool up)
{
	pthread_mutex_lock(&a->lock);
	a->redis_up = up;
	pthread_mutex_unlock(&a->lock);
}

/* A pub/sub reply: ["message", channel, payload] rings the bell when its generation is newer
 * than the applied one (or cannot be read: then pulling is the safe choice). */
static void on_reply(struct agt *a, redisReply *r)
{
	json_t *j;
	int64_t gen = -1, applied;

	if (r->type != REDIS_REPLY_ARRAY)
		return;
	if (r->elements != 3 || r->element[0]->type != REDIS_REPLY_STRING ||
	    strcmp(r->element[0]->str, "message") != 0 || r->element[2]->type != REDIS_REPLY_STRING)
		return;
	j = json_loadb(r->element[2]->str, r->element[2]->len, 0, NULL);
	if (json_is_integer(json_object_get(j, "generation")))
		gen = (int64_t)json_integer_value(json_object_get(j, "generation"));
	json_decref(j);
	pthread_mutex_lock(&a->lock);
	applied = a->generation;
	a->doorbells++;
	pthread_mutex_unlock(&a->lock);
	if (gen < 0 || gen > applied) {
		log_debug("doorbell: generation %lld (applied %lld)", (long long)gen, (long long)applied);
		agt_kick_sync(a);
	}
}

static int send_ping(redisContext *c)
{
	int done = 0;

	if (redisAppendCommand(c, "PING") != REDIS_OK)
		return -1;
	while (!done)
		if (redisBufferWrite(c, &done) != REDIS_OK)
			return -1;
	return 0;
}

static double mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* One connected session: subscribe, then read until an error, a PoP change or stop. */
static void session(struct agt *a, redisContext *c, const char *pop, uint64_t epoch)
{
	redisReply *r;
	double last_rx = mono_ms(), last_ping = 0;
	char chan[128];

	snprintf(chan, sizeof(chan), "edgeplane:pop:%s", pop);
	r = redisCommand(c, "SUBSCRIBE %s", chan);
	if (r == NULL) {
		log_warn("redis: SUBSCRIBE %s failed: %s", chan, c->errstr);
		return;
	}
	freeReplyObject(r);
	set_up(a, true);
	log_info("redis: subscribed to %s", chan);
	/* Messages published while we were away are lost: pull now. */
	agt_kick_sync(a);
	while (!stopping(a)) {
		void *reply = NULL;
		struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
		int pr;

		pthread_mutex_lock(&a->lock);
		bool moved = a->pop_epoch != epoch;
		pthread_mutex_unlock(&a->lock);
		if (moved)
			break;
		if (redisGetReplyFromReader(c, &reply) != REDIS_OK) {
			log_warn("redis: protocol error: %s", c->errstr);
			break;
		}
		if (reply != NULL) {
			on_reply(a, reply);
			freeReplyObject(reply);
			continue;
		}
		pr = poll(&pfd, 1, 500);
		if (pr < 0 && errno != EINTR)
			break;
		if (pr > 0) {
			if (redisBufferRead(c) != REDIS_OK) {
				log_warn("redis: connection lost: %s", c->errstr[0] ? c->errstr : "closed");
				break;
			}
			last_rx = mono_ms();
			continue;
		}
		/* Idle: make sure the other end is still there. */
		if (mono_ms() - last_rx > DEAD_IDLE_MS) {
			log_warn("redis: no answer for %d s, reconnecting", DEAD_IDLE_MS / 1000);
			break;
		}
		if (mono_ms() - last_rx > PING_IDLE_MS && mono_ms() - last_ping > PING_IDLE_MS) {
			last_ping = mono_ms();
			if (send_ping(c) != 0) {
				log_warn("redis: connection lost: %s", c->errstr);
				break;
			}
		}
	}
	set_up(a, false);
}

void *agt_doorbell_main(void *arg)
{
	struct agt *a = arg;
	struct redis_target t;
	int failures = 0;
	bool warned = false;

	if (parse_url(a->cfg.redis_url, &t) != 0) {
		log_error("EDGE_AGENT_REDIS_URL is not redis://host:port: doorbell disabled, polling only");
		return NULL;
	}
	while (!stopping(a)) {
		char pop[64];
		uint64_t epoch;
		struct timeval tv = {2, 0};
		redisContext *c;

		pthread_mutex_lock(&a->lock);
		snprintf(pop, sizeof(pop), "%s", a->pop);
		epoch = a->pop_epoch;
		pthread_mutex_unlock(&a->lock);
		if (pop[0] == '\0') {
			/* The PoP's name comes with the first desired state (the token names it). */
			nap(a, 200);
			continue;
		}
		c = redisConnectWithTimeout(t.host, t.port, tv);
		if (c == NULL || c->err) {
			if (!warned)
				log_warn("redis %s:%d unreachable (%s): polling every %u s until it is back",
					 t.host, t.port, c ? c->errstr : "out of memory", a->cfg.poll_seconds);
			warned = true;
			redisFree(c);
			nap(a, agt_backoff_ms(failures < 10 ? failures : 10, 250, 10000));
			failures++;
			continue;
		}
		/* The connect timeout does not bound commands: without this, a Redis that accepts
		 * the connection and then stops answering would hang AUTH or SUBSCRIBE forever. The
		 * session loop polls before every read, so the timeout never cuts an idle wait. */
		if (redisSetTimeout(c, tv) != REDIS_OK) {
			log_warn("redis: cannot set a command timeout: %s", c->errstr);
			redisFree(c);
			nap(a, agt_backoff_ms(failures < 10 ? failures : 10, 250, 10000));
			failures++;
			continue;
		}
		if (t.password[0] != '\0') {
			redisReply *r = redisCommand(c, "AUTH %s", t.password);
			bool ok = r != NULL && r->type != REDIS_REPLY_ERROR;
			freeReplyObject(r);
			if (!ok) {
				log_error("redis: AUTH failed");
				redisFree(c);
				nap(a, agt_backoff_ms(failures < 10 ? failures : 10, 250, 10000));
				failures++;
				continue;
			}
		}
		failures = 0;
		warned = false;
		session(a, c, pop, epoch);
		redisFree(c);
		nap(a, agt_backoff_ms(0, 250, 10000));
	}
	return NULL;
}
