/* common/sched_weak.c: weak stand-ins for the scheduler's runner (scheduler/runner.h), linked
 * only while scheduler/runner.c does not exist: libcommon comes after libscheduler on the link
 * line, so the real definitions win whenever they are present. The stand-in start returns NULL
 * with an empty err, which `edgeplane serve` reads as "no scheduler in this build". */
#include <stddef.h>

#include "scheduler/runner.h"

__attribute__((weak)) struct sch_runner *sch_runner_start(const char *db_url, const char *redis_url,
							  char *err, size_t errlen)
{
	(void)db_url;
	(void)redis_url;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	return NULL;
}

__attribute__((weak)) void sch_runner_stop(struct sch_runner *r)
{
	(void)r;
}

__attribute__((weak)) bool sch_runner_is_leader(const struct sch_runner *r)
{
	(void)r;
	return false;
}

__attribute__((weak)) void sch_runner_kick(struct sch_runner *r)
{
	(void)r;
}

__attribute__((weak)) struct sch_runner *sch_runner_current(void)
{
	return NULL;
}
