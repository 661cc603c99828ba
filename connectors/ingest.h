/* Ingest: the one inbound path of every bus connector. A message a connector received is matched
 * to its inbound routes, normalised once per route (normalise.h), pushed into the handoff (waiting
 * while it is full) and counted, per route and per connector.
 *
 * The counters live here, not in the configuration (which stays read-only after it is loaded):
 * cg_connectors owns one cg_connector_counters_t per connector and one cg_route_counters_t per
 * route (indexed like cc->routes), and gives them to each connector in its env. They are C11
 * atomics: bumped by connector threads (ingest) and by cg_outbound_done (any thread), read by the
 * loop for /stats.
 *
 * A cg_ingest_t belongs to one connector thread (librdkafka's consumer thread, paho's receive
 * thread): it holds that thread's scratch buffers and log limit, so cg_ingest_message is called
 * from that thread only. */
#ifndef CG_INGEST_H
#define CG_INGEST_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../gateway/handoff.h"
#include "connectors_config.h"
#include "normalise.h"

/* One route's counters. */
typedef struct cg_route_counters {
    atomic_ullong delivered;     /* inbound: handed to the loop; outbound: acknowledged */
    atomic_ullong bad_payload;   /* invalid JSON / msgpack / UTF-8 */
    atomic_ullong missing_field; /* a template placeholder had no value */
    atomic_ullong oversize;      /* over max_size */
    atomic_ullong failed;        /* outbound: refused or not acknowledged */
} cg_route_counters_t;

/* One connector's counters. */
typedef struct cg_connector_counters {
    atomic_ullong messages;    /* inbound messages received */
    atomic_ullong skipped;     /* (message, route) pairs not delivered: see the route's counters */
    atomic_ullong waits;       /* pushes that found the handoff full and waited for the loop */
    atomic_ullong sent;        /* publishes the broker acknowledged (cg_outbound_done ok) */
    atomic_ullong send_failed; /* publishes the connector or the broker failed */
} cg_connector_counters_t;

/* The inbound routes of one bus that take one topic: indexes into cc->routes. */
typedef struct cg_ingest_routes {
    uint32_t *idx;
    size_t n;
} cg_ingest_routes_t;

typedef struct cg_ingest cg_ingest_t;

typedef struct cg_ingest_config {
    cg_bus_kind_t bus;   /* whose inbound routes: CG_BUS_KAFKA (topics, regexes) or CG_BUS_MQTT */
    const char *log_tag; /* for "route R: skipped ..." lines */
    const cg_connectors_config_t *cc;
    cg_handoff_t *handoff;
    cg_connector_counters_t *counters;
    cg_route_counters_t *routes; /* indexed like cc->routes */
    const atomic_bool *stop;     /* the connector's stop flag: a waiting push gives up */
    /* Optional, the ingest thread: a push found the handoff full and is about to wait (Kafka
     * pauses its partitions here). Called once per waiting push. */
    void (*on_full)(void *arg);
    void *arg;
} cg_ingest_config_t;

/* Any thread; the config's pointers must outlive the ingest. */
cg_ingest_t *cg_ingest_create(const cg_ingest_config_t *cfg);
void cg_ingest_destroy(cg_ingest_t *in);

/* The inbound routes of this ingest's bus that take `topic` (a Kafka connector computes them once
 * per partition). Free with cg_ingest_routes_free. Any thread: reads only the configuration. */
void cg_ingest_match(const cg_ingest_t *in, const char *topic, cg_ingest_routes_t *out);
void cg_ingest_routes_free(cg_ingest_routes_t *r);
/* How many inbound routes this ingest's bus has. */
size_t cg_ingest_route_count(const cg_ingest_t *in);

#define CG_INGEST_OK 0
#define CG_INGEST_ESTOPPED (-1) /* stopping: some route did not get the message */

/* The ingest thread. Route match (against `routes`, or every inbound route of the bus when
 * NULL) → normalise → push (waiting while the handoff is full) → count. A message a route cannot
 * take (bad payload, missing field, oversize) is skipped for that route, counted and logged (rate
 * limited): that is CG_INGEST_OK too, the message is done with. */
int cg_ingest_message(cg_ingest_t *in, const cg_inbound_msg_t *m, const cg_ingest_routes_t *routes);

#endif
