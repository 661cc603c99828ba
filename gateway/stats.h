/* Extra JSON for /stats, from modules the server does not know (connectors). */
#ifndef CG_STATS_H
#define CG_STATS_H

#include "buf.h"

/* Appends one JSON value: an element of /stats "connectors" (commas are the caller's). Loop
 * thread. */
typedef void (*cg_stats_fn)(void *arg, cg_buf_t *out);

#endif
