/* agent/main.c: the edge-agent program. Start-up order matters for static stability: the saved
 * state is restored and the listeners serve it before the control plane or Redis are asked
 * anything. Then the sync, doorbell and report threads run until SIGTERM or SIGINT; SIGHUP
 * reloads the trust file (key rotation without a restart). */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "agent/fetch.h"
#include "agent/stats.h"
#include "common/log.h"

int main(int argc, char **argv)
{
	static struct agt a;
	char err[4096];
	sigset_t set;
	pthread_t th_sync, th_bell, th_report;
	int rc, sig = 0;

	rc = agt_config_load(&a.cfg, argc, argv, err, sizeof(err));
	if (rc != 0) {
		fprintf(rc > 0 ? stdout : stderr, "%s%s", rc > 0 ? "" : "edge-agent: ", err);
		if (rc < 0)
			fputc('\n', stderr);
		return rc > 0 ? 0 : 2;
	}
	if (a.cfg.print_config) {
		agt_config_print(&a.cfg);
		return 0;
	}
	log_init("edge-agent", LOG_INFO);
	/* Signals are taken by sigwait in this thread only; SIGPIPE never kills the agent. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (agt_fetch_global_init() != 0) {
		log_error("cannot initialise libcurl");
		return 1;
	}
	if (agt_init(&a, err, sizeof(err)) != 0) {
		log_error("%s", err);
		return 2;
	}
	agt_state_restore(&a);
	if (agt_serve_start(&a, err, sizeof(err)) != 0 || agt_admin_start(&a, err, sizeof(err)) != 0) {
		log_error("%s", err);
		agt_serve_stop();
		agt_destroy(&a);
		return 1;
	}
	if (pthread_create(&th_sync, NULL, agt_sync_main, &a) != 0 ||
	    pthread_create(&th_bell, NULL, agt_doorbell_main, &a) != 0 ||
	    pthread_create(&th_report, NULL, agt_report_main, &a) != 0) {
		log_error("cannot start threads");
		_exit(1);
	}
	log_info("edge-agent %s started (control plane %s)", AGT_VERSION, a.cfg.control_plane);
	sigdelset(&set, SIGPIPE);
	do {
		if (sigwait(&set, &sig) != 0)
			sig = SIGTERM;
		if (sig == SIGHUP) {
			log_info("SIGHUP: reloading %s", a.cfg.trusted_keys);
			agt_request_trust_reload(&a);
		}
	} while (sig != SIGINT && sig != SIGTERM);
	log_info("signal %d: stopping", sig);
	agt_request_stop(&a);
	agt_serve_stop();
	agt_admin_stop();
	pthread_join(th_sync, NULL);
	pthread_join(th_bell, NULL);
	pthread_join(th_report, NULL);
	agt_destroy(&a);
	agt_stats_shutdown();
	return 0;
}
