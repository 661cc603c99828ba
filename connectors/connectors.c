/* The connector set: starts Kafka/MQTT per the configuration, owns their counters and writes
 * their /stats, and the outbound hook that turns a client publish into a produce and its
 * acknowledgement into the Bayeux reply. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../gateway/alloc.h"
#include "../gateway/channel.h"
#include "../gateway/log.h"
#include "connector.h"

#define TAG "connectors"
#define MAX_LEVELS 32

/* One connector. Loop thread, except the counters (atomics, see ingest.h). */
typedef struct slot {
    const cg_connector_ops_t *ops;
    void *self; /* NULL: not configured, or it did not start */
    cg_connectors_t *owner;
    cg_connector_counters_t counters;
} slot_t;

struct cg_connectors {
    cg_connectors_config_t *cc;
    cg_handoff_t *handoff;
    cg_bayeux_t *bayeux;
    slot_t kafka, mqtt;
    cg_route_counters_t *routes; /* indexed like cc->routes; freed after the connectors stopped */
    cg_log_limit_t out_limit;    /* loop thread */
};

/* Created on the loop thread, finished from the connector's thread, freed on the loop. */
struct cg_outbound {
    cg_connectors_t *owner; /* only until cg_outbound_done: the loop may run the completion
                               after the connectors were stopped and freed */
    cg_bayeux_t *bayeux;
    cg_handoff_t *handoff;
    cg_pending_t *pending;
    cg_route_counters_t *route;
    cg_connector_counters_t *connector; /* NULL until handed to a connector */
    bool ok;
    char error[200];
};

/* Loop thread (handoff call). */
static void complete_on_loop(void *arg)
{
    cg_outbound_t *o = arg;
    cg_bayeux_pending_complete(o->bayeux, o->pending, o->ok, o->ok ? NULL : o->error);
    free(o);
}

void cg_outbound_done(cg_outbound_t *o, bool ok, const char *error)
{
    o->ok = ok;
    atomic_fetch_add(ok ? &o->route->delivered : &o->route->failed, 1);
    if (o->connector)
        atomic_fetch_add(ok ? &o->connector->sent : &o->connector->send_failed, 1);
    snprintf(o->error, sizeof(o->error), "%.*s", (int)sizeof(o->error) - 1,
             error ? error : "500::publish failed");
    /* Still accepted after cg_handoff_close: main drains the handoff once more after stopping us.
     */
    cg_handoff_call(o->handoff, complete_on_loop, o);
}

/* The index of the first outbound route whose pattern takes `channel`, or -1. */
static ptrdiff_t find_outbound(const cg_connectors_config_t *cc, const char *channel)
{
    for (size_t i = 0; i < cc->nroutes; i++) {
        const cg_route_t *r = cc->routes[i];
        if (r->outbound && cg_channel_matches(r->pattern, channel))
            return (ptrdiff_t)i;
    }
    return -1;
}

/* Loop thread: bayeux offers every client publish. */
static int on_client_publish(void *arg, const char *channel, const char *data, size_t len,
                             cg_pending_t *p)
{
    cg_connectors_t *c = arg;
    ptrdiff_t idx = find_outbound(c->cc, channel);
    if (idx < 0)
        return 0;
    const cg_route_t *r = c->cc->routes[idx];
    cg_outbound_t *o = cg_calloc(1, sizeof(*o));
    o->owner = c;
    o->bayeux = c->bayeux;
    o->handoff = c->handoff;
    o->pending = p;
    o->route = &c->routes[idx];

    char lbuf[512], err[200];
    const char *levels[MAX_LEVELS];
    size_t nlevels = cg_split_levels(channel, '/', lbuf, sizeof(lbuf), levels, MAX_LEVELS);
    json_t *fields = NULL;
    if ((r->target_topic.uses | r->key.uses) & CG_TPL_FIELD)
        fields = json_loadb(data, len, JSON_DECODE_ANY, NULL);
    cg_tpl_ctx_t ctx = {.levels = levels, .nlevels = nlevels, .fields = fields, .channel = channel};
    cg_buf_t topic, key;
    cg_buf_init(&topic, 0);
    cg_buf_init(&key, 0);
    int e = cg_template_expand(&r->target_topic, &ctx, false, &topic, err, sizeof(err));
    if (!e && r->has_key)
        e = cg_template_expand(&r->key, &ctx, false, &key, err, sizeof(err));
    json_decref(fields);
    cg_buf_append(&topic, "", 1); /* the connector takes a C string */
    slot_t *s = r->target == CG_TARGET_KAFKA ? &c->kafka : &c->mqtt;
    if (e) {
        char msg[300];
        snprintf(msg, sizeof(msg), "400::route %s: %s", r->name, err);
        cg_log_limited(&c->out_limit, CG_LOG_WARN, TAG, "publish on %s refused: %s", channel,
                       msg + 5);
        cg_outbound_done(o, false, msg);
    } else if (!s->self) {
        cg_outbound_done(o, false, "503::connector unavailable");
    } else {
        o->connector = &s->counters;
        s->ops->produce(s->self, r, cg_buf_data(&topic), key.len ? cg_buf_data(&key) : "", key.len,
                        r->has_key, data, len, o);
    }
    cg_buf_free(&topic);
    cg_buf_free(&key);
    return 1;
}

static bool route_of_kafka(const cg_route_t *r)
{
    return r->outbound ? r->target == CG_TARGET_KAFKA : r->source != CG_SOURCE_MQTT;
}

/* Appends "routes":{...}: the counters of the routes of one connector. */
static void route_stats(const cg_connectors_t *c, bool kafka, cg_buf_t *out)
{
    cg_buf_append_str(out, "\"routes\":{");
    bool first = true;
    for (size_t i = 0; i < c->cc->nroutes; i++) {
        const cg_route_t *r = c->cc->routes[i];
        const cg_route_counters_t *n = &c->routes[i];
        if (route_of_kafka(r) != kafka)
            continue;
        if (!first)
            cg_buf_append(out, ",", 1);
        first = false;
        cg_buf_append_json_string(out, r->name, strlen(r->name));
        cg_buf_printf(out,
                      ":{\"direction\":\"%s\",\"delivered\":%llu,\"bad_payload\":%llu,"
                      "\"missing_field\":%llu,\"oversize\":%llu,\"failed\":%llu}",
                      r->outbound ? "outbound" : "inbound",
                      (unsigned long long)atomic_load(&n->delivered),
                      (unsigned long long)atomic_load(&n->bad_payload),
                      (unsigned long long)atomic_load(&n->missing_field),
                      (unsigned long long)atomic_load(&n->oversize),
                      (unsigned long long)atomic_load(&n->failed));
    }
    cg_buf_append(out, "}", 1);
}

/* Loop thread (/stats source): one connector's object, the same keys whether it runs or not. */
static void slot_stats(void *arg, cg_buf_t *out)
{
    slot_t *s = arg;
    const cg_connector_ops_t *ops = s->ops;
    const cg_connector_counters_t *n = &s->counters;
    cg_buf_printf(out, "{\"name\":\"%s\",", ops->name);
    if (s->self)
        ops->stats(s->self, out);
    else
        cg_buf_append_str(out, "\"state\":\"failed\"");
    cg_buf_printf(
        out, ",\"messages\":%llu,\"skipped\":%llu,\"bus_waits\":%llu,\"%s\":%llu,\"%s\":%llu,",
        (unsigned long long)atomic_load(&n->messages), (unsigned long long)atomic_load(&n->skipped),
        (unsigned long long)atomic_load(&n->waits), ops->sent_key,
        (unsigned long long)atomic_load(&n->sent), ops->send_failed_key,
        (unsigned long long)atomic_load(&n->send_failed));
    route_stats(s->owner, ops == &cg_kafka_connector, out);
    cg_buf_append(out, "}", 1);
}

cg_ingest_t *cg_connector_ingest(const cg_connector_env_t *env, cg_bus_kind_t bus,
                                 const atomic_bool *stop, void (*on_full)(void *arg), void *arg)
{
    cg_ingest_config_t c = {.bus = bus,
                            .log_tag = bus == CG_BUS_KAFKA ? "kafka" : "mqtt",
                            .cc = env->cc,
                            .handoff = env->handoff,
                            .counters = env->counters,
                            .routes = env->routes,
                            .stop = stop,
                            .on_full = on_full,
                            .arg = arg};
    return cg_ingest_create(&c);
}

static void start_slot(cg_connectors_t *c, slot_t *s, const cg_connector_ops_t *ops,
                       const cg_stats_registry_t *stats)
{
    cg_connector_env_t env = {
        .cc = c->cc, .handoff = c->handoff, .counters = &s->counters, .routes = c->routes};
    s->ops = ops;
    s->owner = c;
    s->self = ops->start(&env);
    if (!s->self)
        cg_log(CG_LOG_ERR, TAG, "%s connector did not start", ops->name);
    if (stats)
        stats->add_stats(stats->arg, slot_stats, s);
}

cg_connectors_t *cg_connectors_start(cg_connectors_config_t *cc, cg_handoff_t *handoff,
                                     cg_bayeux_t *bayeux, const cg_stats_registry_t *stats)
{
    cg_connectors_t *c = cg_calloc(1, sizeof(*c));
    c->cc = cc;
    c->handoff = handoff;
    c->bayeux = bayeux;
    c->routes = cg_calloc(cc->nroutes, sizeof(*c->routes));
    if (cc->kafka.enabled)
        start_slot(c, &c->kafka, &cg_kafka_connector, stats);
    if (cc->mqtt.enabled)
        start_slot(c, &c->mqtt, &cg_mqtt_connector, stats);
    if (cc->noutbound) {
        /* The connector's own timeout answers first with its precise error; bayeux's is the
         * backstop for an acknowledgement that never comes. */
        int64_t t = 0;
        if (cc->kafka.enabled && cc->kafka.produce_timeout_ms > t)
            t = cc->kafka.produce_timeout_ms;
        if (cc->mqtt.enabled && cc->mqtt.publish_timeout_ms > t)
            t = cc->mqtt.publish_timeout_ms;
        cg_bayeux_set_outbound(bayeux, on_client_publish, c, t + 1000);
    }
    cg_log(CG_LOG_NOTICE, TAG, "%zu inbound and %zu outbound routes%s%s", cc->ninbound,
           cc->noutbound, cc->kafka.enabled ? ", kafka" : "", cc->mqtt.enabled ? ", mqtt" : "");
    return c;
}

void cg_connectors_stop(cg_connectors_t *c)
{
    if (!c)
        return;
    if (c->cc->noutbound)
        cg_bayeux_set_outbound(c->bayeux, NULL, NULL, 0);
    if (c->mqtt.self)
        c->mqtt.ops->stop(c->mqtt.self);
    if (c->kafka.self)
        c->kafka.ops->stop(c->kafka.self);
    cg_connectors_config_free(c->cc);
    free(c->routes);
    free(c);
}
