/* agent/state.c: the applied state on disk (<state dir>/state.json), so that a restarted agent
 * serves what it served before, even with the control plane and Redis down (static stability).
 * The file holds the desired-state document of what actually served, signatures included, so
 * every module is verified again on load exactly as on first activation. */
#include "agent/agent.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/fsutil.h"
#include "common/log.h"

#define STATE_MAX_BYTES (64u << 20)

static void state_path(const struct agt *a, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s/state.json", a->cfg.state_dir);
}

int agt_state_save(struct agt *a, const struct agt_desired *d)
{
	char path[PATH_MAX], err[256];
	json_t *j = agt_desired_to_json(d);
	char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	int rc = -1;

	json_decref(j);
	if (text == NULL) {
		log_error("cannot save state: out of memory");
		return -1;
	}
	state_path(a, path, sizeof(path));
	if (agt_write_atomic(path, text, strlen(text), err, sizeof(err)) != 0)
		log_error("cannot save state: %s", err);
	else
		rc = 0;
	free(text);
	return rc;
}

void agt_state_restore(struct agt *a)
{
	char path[PATH_MAX], err[256];
	char *text = NULL;
	size_t len = 0;
	struct agt_desired *d = NULL;
	int rc, failed;

	state_path(a, path, sizeof(path));
	rc = agt_read_file(path, STATE_MAX_BYTES, &text, &len);
	if (rc == -ENOENT) {
		log_info("no saved state in %s: waiting for the control plane", a->cfg.state_dir);
		return;
	}
	if (rc != 0) {
		log_error("cannot read %s: %s", path, strerror(-rc));
		return;
	}
	if (agt_desired_parse(text, len, &d, err, sizeof(err)) != 0) {
		log_error("saved state %s is invalid (%s): ignored", path, err);
		free(text);
		return;
	}
	free(text);
	failed = agt_apply(a, d, true);
	/* The file holds only what served; the first pull must apply its generation again even
	 * when it is not newer, so that modules that had failed are tried and reported again. */
	pthread_mutex_lock(&a->lock);
	a->retry_pending = true;
	pthread_mutex_unlock(&a->lock);
	log_info("restored generation %lld from disk (%zu modules, %d failed verification)",
		 (long long)d->generation, d->n_modules, failed);
	agt_desired_free(d);
}
