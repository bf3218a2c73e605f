/* common/api_weak.c: weak, empty defaults of the API registration functions that other parts
 * define in their own api/ files. This object lives in libcommon, which is linked after libapi,
 * so the linker only pulls it in when the real definition does not exist (yet): the build
 * links at every stage of the parallel work, and the real one always wins when present. */
#include "api/api.h"

__attribute__((weak)) void api_deployments_register(struct api_router *r)
{
	(void)r;
}

__attribute__((weak)) void api_agent_register(struct api_router *r)
{
	(void)r;
}

__attribute__((weak)) void api_blobs_register(struct api_router *r)
{
	(void)r;
}

__attribute__((weak)) void api_ui_register(struct api_router *r)
{
	(void)r;
}
