/* Connectors: the threads that bring handoff messages (Kafka, MQTT) into the loop through cg_bus,
 * and take client publishes claimed by outbound routes to the handoff.
 *
 * main.c sees only cg_connectors_*; each connector fills a cg_connector_ops_t.
 *
 * Threads:
 *  - each connector runs its own thread(s) (librdkafka consumer thread, paho's threads); they reach
 *    the loop only through cg_handoff_push (item updates) and cg_handoff_call (outbound
 * completions);
 *  - the outbound hook and the stats callbacks run on the loop thread; a connector's `produce`
 *    must therefore never block (librdkafka producev and paho sendMessage only enqueue). */
#ifndef CG_CONNECTOR_H
#define CG_CONNECTOR_H

#include <stdbool.h>
#include <stddef.h>

#include "../gateway/bayeux.h"
#include "../gateway/handoff.h"
#include "../gateway/server.h"
#include "connectors_config.h"

/* One client publish on its way to a broker. Created on the loop thread by the outbound hook,
 * handed to the connector, finished exactly once with cg_outbound_done (any thread). */
typedef struct cg_outbound cg_outbound_t;

/* Any thread, exactly once per cg_outbound_t: the broker acknowledged (ok) or it failed
 * (`error` is "code::message"). The Bayeux reply is sent from the loop. */
void cg_outbound_done(cg_outbound_t *o, bool ok, const char *error);

typedef struct cg_connector_env {
    const cg_connectors_config_t *cc;
    cg_handoff_t *handoff;
} cg_connector_env_t;

typedef struct cg_connector_ops {
    const char *name;
    /* Loop thread, at start. NULL on failure (logged). Must not wait for a broker. */
    void *(*start)(const cg_connector_env_t *env);
    /* Loop thread. Enqueues one message for `r`'s target; the connector calls cg_outbound_done
     * later (or at once from this call when it cannot even enqueue). */
    void (*produce)(void *self, const cg_route_t *r, const char *topic, const char *key,
                    size_t key_len, bool has_key, const char *data, size_t len, cg_outbound_t *o);
    /* Loop thread: appends one JSON object describing the connector. */
    void (*stats)(void *self, cg_buf_t *out);
    /* Loop thread, at shutdown, after cg_handoff_close: joins the connector's threads. */
    void (*stop)(void *self);
} cg_connector_ops_t;

extern const cg_connector_ops_t cg_kafka_connector;
extern const cg_connector_ops_t cg_mqtt_connector;

/* Appends the counters of the routes of one connector: "routes":{...} (no leading comma). */
void cg_connector_route_stats(const cg_connectors_config_t *cc, bool kafka, cg_buf_t *out);

/* ---- what main.c uses ---- */
typedef struct cg_connectors cg_connectors_t;

/* Starts the connectors the configuration has sections for, installs the outbound hook and the
 * /stats sources. Brokers need not be reachable. Takes ownership of `cc`. */
cg_connectors_t *cg_connectors_start(cg_connectors_config_t *cc, cg_handoff_t *handoff,
                                     cg_bayeux_t *bayeux, cg_server_t *srv);
/* Stops and joins every connector thread. Call after cg_handoff_close, before cg_server_destroy. */
void cg_connectors_stop(cg_connectors_t *c);

#endif
