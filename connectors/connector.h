/* Connectors: the threads that bring bus messages (Kafka, MQTT) into the loop through the handoff
 * (each through one cg_ingest_t, ingest.h), and take client publishes claimed by outbound routes to
 * their broker.
 *
 * main.c sees only cg_connectors_*; each connector fills a cg_connector_ops_t. Connectors know
 * nothing of the server: their /stats JSON goes out through the cg_stats_fn registration callback
 * main.c gives cg_connectors_start.
 *
 * Threads:
 *  - each connector runs its own thread(s) (librdkafka consumer thread, paho's threads); they reach
 *    the loop only through cg_handoff_push (item updates) and cg_handoff_call (outbound
 *    completions);
 *  - the outbound hook and the stats callbacks run on the loop thread; a connector's `produce`
 *    must therefore never block (librdkafka producev and paho sendMessage only enqueue). */
#ifndef CG_CONNECTOR_H
#define CG_CONNECTOR_H

#include <stdbool.h>
#include <stddef.h>

#include "../gateway/bayeux.h"
#include "../gateway/handoff.h"
#include "../gateway/stats.h"
#include "connectors_config.h"
#include "ingest.h"

/* One client publish on its way to a broker. Created on the loop thread by the outbound hook,
 * handed to the connector, finished exactly once with cg_outbound_done (any thread). */
typedef struct cg_outbound cg_outbound_t;

/* Any thread, exactly once per cg_outbound_t: the broker acknowledged (ok) or it failed
 * (`error` is "code::message"). Counts it for the route and the connector (sent, send_failed);
 * the Bayeux reply is sent from the loop. */
void cg_outbound_done(cg_outbound_t *o, bool ok, const char *error);

/* What a connector is started with. The counters are owned by cg_connectors (they outlive the
 * connector) and written only through cg_ingest_message and cg_outbound_done. */
typedef struct cg_connector_env {
    const cg_connectors_config_t *cc;
    cg_handoff_t *handoff;
    cg_connector_counters_t *counters; /* this connector's */
    cg_route_counters_t *routes;       /* every route's, indexed like cc->routes */
} cg_connector_env_t;

/* The connector's ingest (ingest.h) for its bus, on the env's counters and handoff. `on_full` (may
 * be NULL) is called with `arg` when a push finds the handoff full. */
cg_ingest_t *cg_connector_ingest(const cg_connector_env_t *env, cg_bus_kind_t bus,
                                 const atomic_bool *stop, void (*on_full)(void *arg), void *arg);

typedef struct cg_connector_ops {
    const char *name;
    /* /stats names of cg_connector_counters_t's sent and send_failed for this connector */
    const char *sent_key, *send_failed_key;
    /* Loop thread, at start. NULL on failure (logged). Must not wait for a broker. */
    void *(*start)(const cg_connector_env_t *env);
    /* Loop thread. Enqueues one message for `r`'s target; the connector calls cg_outbound_done
     * later (or at once from this call when it cannot even enqueue). */
    void (*produce)(void *self, const cg_route_t *r, const char *topic, const char *key,
                    size_t key_len, bool has_key, const char *data, size_t len, cg_outbound_t *o);
    /* Loop thread: appends the connector's own /stats members, "state" first (no leading or
     * trailing comma); the shared counters and the routes are added around them. */
    void (*stats)(void *self, cg_buf_t *out);
    /* Loop thread, at shutdown, after cg_handoff_close: joins the connector's threads. */
    void (*stop)(void *self);
} cg_connector_ops_t;

extern const cg_connector_ops_t cg_kafka_connector;
extern const cg_connector_ops_t cg_mqtt_connector;

/* ---- what main.c uses ---- */
typedef struct cg_connectors cg_connectors_t;

/* How connectors report /stats: add_stats(arg, fn, fn_arg) registers one source whose fn appends
 * one JSON object (main.c passes cg_server_add_stats). Loop thread. */
typedef struct cg_stats_registry {
    void (*add_stats)(void *arg, cg_stats_fn fn, void *fn_arg);
    void *arg;
} cg_stats_registry_t;

/* Starts the connectors the configuration has sections for, installs the outbound hook and
 * registers one /stats source per connector with `stats` (may be NULL). Brokers need not be
 * reachable. Takes ownership of `cc`. */
cg_connectors_t *cg_connectors_start(cg_connectors_config_t *cc, cg_handoff_t *handoff,
                                     cg_bayeux_t *bayeux, const cg_stats_registry_t *stats);
/* Stops and joins every connector thread. Call after cg_handoff_close, before cg_server_destroy. */
void cg_connectors_stop(cg_connectors_t *c);

#endif
