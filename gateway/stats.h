/* Extra JSON for /stats, from modules the server does not know (connectors). */
#ifndef CG_STATS_H
#define CG_STATS_H

#include "buf.h"

/* Appends `"name":value` members (no leading comma). Loop thread. */
typedef void (*cg_stats_fn)(void *arg, cg_buf_t *out);

#endif
