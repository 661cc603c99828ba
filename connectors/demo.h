/* The built-in demo feed: a thread that publishes ticker item updates through the handoff, the same
 * cross-thread path the Kafka and MQTT connectors use, so a first run shows live data with no
 * broker. */
#ifndef CG_DEMO_H
#define CG_DEMO_H

#include "../gateway/handoff.h"
#include "../gateway/config.h"

typedef struct cg_demo cg_demo_t;

/* NULL when the thread cannot be started (logged). */
cg_demo_t *cg_demo_start(const cg_demo_config_t *cfg, cg_handoff_t *handoff);
/* Stops and joins the thread. */
void cg_demo_stop(cg_demo_t *d);

#endif
