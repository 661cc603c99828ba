#include "ingest.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "../gateway/alloc.h"
#include "../gateway/log.h"

struct cg_ingest {
    cg_ingest_config_t cfg;
    cg_ingest_routes_t inbound; /* every inbound route of this bus, for messages matched here */
    /* the ingest thread only */
    cg_buf_t channel, data;
    cg_log_limit_t skip_limit;
};

static bool route_of_bus(const cg_route_t *r, cg_bus_kind_t bus)
{
    if (r->outbound)
        return false;
    return bus == CG_BUS_MQTT ? r->source == CG_SOURCE_MQTT : r->source != CG_SOURCE_MQTT;
}

/* The routes of the bus that `topic` matches (every one when topic is NULL). */
static void select_routes(const cg_ingest_t *in, const char *topic, cg_ingest_routes_t *out)
{
    const cg_connectors_config_t *cc = in->cfg.cc;
    out->idx = cg_malloc((cc->nroutes ? cc->nroutes : 1) * sizeof(*out->idx));
    out->n = 0;
    for (size_t i = 0; i < cc->nroutes; i++)
        if (route_of_bus(cc->routes[i], in->cfg.bus) &&
            (!topic || cg_route_matches_topic(cc->routes[i], topic)))
            out->idx[out->n++] = (uint32_t)i;
}

cg_ingest_t *cg_ingest_create(const cg_ingest_config_t *cfg)
{
    cg_ingest_t *in = cg_calloc(1, sizeof(*in));
    in->cfg = *cfg;
    select_routes(in, NULL, &in->inbound);
    cg_buf_init(&in->channel, 0);
    cg_buf_init(&in->data, 0);
    return in;
}

void cg_ingest_destroy(cg_ingest_t *in)
{
    if (!in)
        return;
    cg_ingest_routes_free(&in->inbound);
    cg_buf_free(&in->channel);
    cg_buf_free(&in->data);
    free(in);
}

void cg_ingest_match(const cg_ingest_t *in, const char *topic, cg_ingest_routes_t *out)
{
    select_routes(in, topic, out);
}

void cg_ingest_routes_free(cg_ingest_routes_t *r)
{
    free(r->idx);
    r->idx = NULL;
    r->n = 0;
}

size_t cg_ingest_route_count(const cg_ingest_t *in)
{
    return in->inbound.n;
}

/* Hands the normalised message to the loop, waiting while the handoff is full.
 * 0, or -1 when stopping. */
static int push(cg_ingest_t *in)
{
    bool waited = false;
    for (;;) {
        int rc = cg_handoff_push(in->cfg.handoff, cg_buf_data(&in->channel), cg_buf_data(&in->data),
                                 in->data.len);
        if (rc == 0)
            return 0;
        if (rc == CG_HANDOFF_ECLOSED)
            return -1;
        if (!waited) {
            waited = true;
            atomic_fetch_add(&in->cfg.counters->waits, 1);
            if (in->cfg.on_full)
                in->cfg.on_full(in->cfg.arg);
        }
        while (!atomic_load(in->cfg.stop) && !cg_handoff_wait_space(in->cfg.handoff, 200))
            ;
        if (atomic_load(in->cfg.stop))
            return -1;
    }
}

/* Where a skipped message came from, for the log line. */
static void describe(const cg_inbound_msg_t *m, char *buf, size_t len)
{
    if (m->bus == CG_BUS_KAFKA)
        snprintf(buf, len, "%s [%" PRId32 "] offset %" PRId64, m->topic, m->partition, m->offset);
    else
        snprintf(buf, len, "message on %s (qos %d%s)", m->topic, m->qos,
                 m->retain ? ", retained" : "");
}

static void skipped(cg_ingest_t *in, const cg_route_t *r, cg_route_counters_t *n,
                    const cg_inbound_msg_t *m, int rc, const char *err)
{
    atomic_fetch_add(&in->cfg.counters->skipped, 1);
    atomic_fetch_add(rc == CG_NORM_EPAYLOAD   ? &n->bad_payload
                     : rc == CG_NORM_EMISSING ? &n->missing_field
                     : rc == CG_NORM_ESIZE    ? &n->oversize
                                              : &n->failed,
                     1);
    char where[1200];
    describe(m, where, sizeof(where));
    cg_log_limited(&in->skip_limit, CG_LOG_WARN, in->cfg.log_tag, "route %s: skipped %s: %s",
                   r->name, where, err);
}

int cg_ingest_message(cg_ingest_t *in, const cg_inbound_msg_t *m, const cg_ingest_routes_t *routes)
{
    const cg_connectors_config_t *cc = in->cfg.cc;
    const cg_ingest_routes_t *set = routes ? routes : &in->inbound;
    atomic_fetch_add(&in->cfg.counters->messages, 1);
    for (size_t i = 0; i < set->n; i++) {
        uint32_t idx = set->idx[i];
        const cg_route_t *r = cc->routes[idx];
        if (!routes && !cg_route_matches_topic(r, m->topic))
            continue;
        cg_route_counters_t *n = &in->cfg.routes[idx];
        char err[256];
        int rc = cg_normalise(r, m, &in->channel, &in->data, err, sizeof(err));
        if (rc != CG_NORM_OK) {
            skipped(in, r, n, m, rc, err);
            continue;
        }
        if (push(in))
            return CG_INGEST_ESTOPPED;
        atomic_fetch_add(&n->delivered, 1);
    }
    return CG_INGEST_OK;
}
