/* The gateway's own counters as JSON: served at /stats and published on /cometgate/stats. */
#ifndef CG_ADMIN_H
#define CG_ADMIN_H

#include "transport.h"

void cg_admin_stats_json(cg_env_t *env, cg_buf_t *out);

#endif
