/* MQTT connector (paho MQTTAsync, MQTT 3.1.1 or 5).
 *
 * paho runs its own threads: connects and reconnects automatically (also when the broker is down
 * at start), and calls `on_connected` after every (re)connect, where every route's filter is
 * subscribed again (a clean session forgets subscriptions). Messages, retained ones included,
 * arrive on paho's receive thread (`on_message`): handed to the ingest (ingest.h) there.
 * When the handoff is full that thread waits for space: paho stops reading the socket and the
 * broker's flow control (and TCP) hold the rest back. QoS 1 messages are acknowledged once the
 * callback returns, so after it was handed to the loop.
 *
 * Outbound: the loop calls mqtt_produce (MQTTAsync_sendMessage only enqueues); paho calls
 * onSuccess when the broker acknowledged (PUBACK for QoS 1, written for QoS 0) or onFailure. */
#include <MQTTAsync.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../gateway/alloc.h"
#include "../gateway/log.h"
#include "connector.h"

#define TAG "mqtt"

typedef struct cg_mqtt {
    const cg_mqtt_config_t *cfg;
    MQTTAsync client;
    char *uri;
    /* unique filters of the inbound routes, and their QoS */
    char **filters;
    int *qos;
    size_t nfilters;
    atomic_bool stop;

    /* paho's receive thread only */
    cg_ingest_t *ingest; /* route → normalise → handoff → count */

    /* paho's threads (connect/subscribe callbacks are serialised by paho) */
    cg_log_limit_t conn_limit;

    /* read by the loop for /stats */
    atomic_bool connected;
    atomic_ullong connects;
} cg_mqtt_t;

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- paho → cg_log ----------------------------------------------------------------------------
 */

static void trace_cb(enum MQTTASYNC_TRACE_LEVELS level, char *message)
{
    cg_log(level >= MQTTASYNC_TRACE_ERROR ? CG_LOG_WARN : CG_LOG_DEBUG, "paho", "%s", message);
}

/* ---- inbound ----------------------------------------------------------------------------------
 */

static void subscribe_all(cg_mqtt_t *m);

/* paho thread, after every successful connect and reconnect. */
static void on_connected(void *ctx, char *cause)
{
    cg_mqtt_t *m = ctx;
    (void)cause;
    atomic_store(&m->connected, true);
    atomic_fetch_add(&m->connects, 1);
    cg_log(CG_LOG_NOTICE, TAG, "connected to %s as %s (MQTT %s)", m->cfg->uri, m->cfg->client_id,
           m->cfg->version == 5 ? "5" : "3.1.1");
    subscribe_all(m);
}

static void on_lost(void *ctx, char *cause)
{
    cg_mqtt_t *m = ctx;
    atomic_store(&m->connected, false);
    if (!atomic_load(&m->stop))
        cg_log(CG_LOG_WARN, TAG, "connection to %s lost%s%s; reconnecting", m->cfg->uri,
               cause ? ": " : "", cause ? cause : "");
}

static void on_sub_ok(void *ctx, MQTTAsync_successData *r)
{
    cg_mqtt_t *m = ctx;
    (void)r;
    cg_log(CG_LOG_INFO, TAG, "subscribed to %zu filters", m->nfilters);
}

static void on_sub_ok5(void *ctx, MQTTAsync_successData5 *r)
{
    cg_mqtt_t *m = ctx;
    for (int i = 0; i < r->alt.sub.reasonCodeCount; i++)
        if (r->alt.sub.reasonCodes[i] >= 0x80 && (size_t)i < m->nfilters)
            cg_log(CG_LOG_ERR, TAG, "subscription to '%s' refused: %s", m->filters[i],
                   MQTTReasonCode_toString(r->alt.sub.reasonCodes[i]));
    cg_log(CG_LOG_INFO, TAG, "subscribed to %zu filters", m->nfilters);
}

static void on_sub_fail(void *ctx, MQTTAsync_failureData *r)
{
    cg_mqtt_t *m = ctx;
    cg_log(CG_LOG_ERR, TAG, "subscribe failed: %d %s (resubscribing at the next connect)",
           r ? r->code : -1, r && r->message ? r->message : "");
    (void)m;
}

static void on_sub_fail5(void *ctx, MQTTAsync_failureData5 *r)
{
    cg_mqtt_t *m = ctx;
    cg_log(CG_LOG_ERR, TAG, "subscribe failed: %s %s (resubscribing at the next connect)",
           r ? MQTTReasonCode_toString(r->reasonCode) : "", r && r->message ? r->message : "");
    (void)m;
}

static void subscribe_all(cg_mqtt_t *m)
{
    if (!m->nfilters)
        return;
    MQTTAsync_responseOptions o = MQTTAsync_responseOptions_initializer;
    o.context = m;
    if (m->cfg->version == 5) {
        o.onSuccess5 = on_sub_ok5;
        o.onFailure5 = on_sub_fail5;
    } else {
        o.onSuccess = on_sub_ok;
        o.onFailure = on_sub_fail;
    }
    int rc = MQTTAsync_subscribeMany(m->client, (int)m->nfilters, m->filters, m->qos, &o);
    if (rc != MQTTASYNC_SUCCESS)
        cg_log(CG_LOG_ERR, TAG, "subscribe: %s", MQTTAsync_strerror(rc));
}

/* paho's receive thread. Returns 1: the message is ours and freed here. */
static int on_message(void *ctx, char *topic_name, int topic_len, MQTTAsync_message *msg)
{
    cg_mqtt_t *m = ctx;
    char tbuf[1024];
    const char *topic = topic_name;
    if (topic_len > 0) { /* not NUL-terminated when it may hold a NUL */
        size_t n = (size_t)topic_len < sizeof(tbuf) - 1 ? (size_t)topic_len : sizeof(tbuf) - 1;
        memcpy(tbuf, topic_name, n);
        tbuf[n] = '\0';
        topic = tbuf;
    }
    cg_inbound_msg_t in = {.bus = CG_BUS_MQTT,
                           .topic = topic,
                           .payload = msg->payload,
                           .len = (size_t)msg->payloadlen,
                           .qos = msg->qos,
                           .retain = msg->retained != 0,
                           .timestamp_ms = wall_ms()};
    /* Stopping (CG_INGEST_ESTOPPED): the message is dropped like any other on its way when the
     * connection closes. */
    cg_ingest_message(m->ingest, &in, NULL);
    MQTTAsync_freeMessage(&msg);
    MQTTAsync_free(topic_name);
    return 1;
}

/* ---- outbound ---------------------------------------------------------------------------------
 */

/* paho's threads; the context is the cg_outbound_t, which counts the result itself. */
static void on_pub_ok(void *ctx, MQTTAsync_successData *r)
{
    (void)r;
    cg_outbound_done(ctx, true, NULL);
}

static void on_pub_ok5(void *ctx, MQTTAsync_successData5 *r)
{
    if (r && r->reasonCode >= 0x80) {
        char e[200];
        snprintf(e, sizeof(e), "503::mqtt: %s", MQTTReasonCode_toString(r->reasonCode));
        cg_outbound_done(ctx, false, e);
        return;
    }
    cg_outbound_done(ctx, true, NULL);
}

static void on_pub_fail(void *ctx, MQTTAsync_failureData *r)
{
    char e[200];
    snprintf(e, sizeof(e), "503::mqtt: publish failed (%d%s%s)", r ? r->code : -1,
             r && r->message ? " " : "", r && r->message ? r->message : "");
    cg_outbound_done(ctx, false, e);
}

static void on_pub_fail5(void *ctx, MQTTAsync_failureData5 *r)
{
    char e[200];
    snprintf(e, sizeof(e), "503::mqtt: publish failed (%s%s%s)",
             r ? MQTTReasonCode_toString(r->reasonCode) : "", r && r->message ? " " : "",
             r && r->message ? r->message : "");
    cg_outbound_done(ctx, false, e);
}

/* Loop thread. */
static void mqtt_produce(void *self, const cg_route_t *r, const char *topic, const char *key,
                         size_t key_len, bool has_key, const char *data, size_t len,
                         cg_outbound_t *o)
{
    cg_mqtt_t *m = self;
    (void)key, (void)key_len, (void)has_key;
    if (!atomic_load(&m->connected)) {
        cg_outbound_done(o, false, "503::mqtt: not connected to the broker");
        return;
    }
    MQTTAsync_message msg = MQTTAsync_message_initializer;
    msg.payload = (void *)data;
    msg.payloadlen = (int)len;
    msg.qos = r->qos;
    msg.retained = r->retain;
    MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
    ro.context = o;
    if (m->cfg->version == 5) {
        ro.onSuccess5 = on_pub_ok5;
        ro.onFailure5 = on_pub_fail5;
    } else {
        ro.onSuccess = on_pub_ok;
        ro.onFailure = on_pub_fail;
    }
    int rc = MQTTAsync_sendMessage(m->client, topic, &msg, &ro);
    if (rc != MQTTASYNC_SUCCESS) {
        char e[200];
        snprintf(e, sizeof(e), "503::mqtt: %s", MQTTAsync_strerror(rc));
        cg_outbound_done(o, false, e);
    }
}

/* ---- lifecycle --------------------------------------------------------------------------------
 */

static void on_connect_fail(void *ctx, MQTTAsync_failureData *r)
{
    cg_mqtt_t *m = ctx;
    cg_log_limited(&m->conn_limit, CG_LOG_WARN, TAG, "cannot connect to %s: %s (retrying)",
                   m->cfg->uri,
                   r && r->message ? r->message : MQTTAsync_strerror(r ? r->code : -1));
}

static void on_connect_fail5(void *ctx, MQTTAsync_failureData5 *r)
{
    cg_mqtt_t *m = ctx;
    cg_log_limited(
        &m->conn_limit, CG_LOG_WARN, TAG, "cannot connect to %s: %s (retrying)", m->cfg->uri,
        r && r->message ? r->message : (r ? MQTTReasonCode_toString(r->reasonCode) : "unknown"));
}

static void mqtt_stop(void *self);

static void *mqtt_start(const cg_connector_env_t *env)
{
    const cg_connectors_config_t *cc = env->cc;
    cg_mqtt_t *m = cg_calloc(1, sizeof(*m));
    m->cfg = &cc->mqtt;
    atomic_init(&m->stop, false);
    m->ingest = cg_connector_ingest(env, CG_BUS_MQTT, &m->stop, NULL, NULL);
    MQTTAsync_setTraceCallback(trace_cb);
    MQTTAsync_setTraceLevel(MQTTASYNC_TRACE_ERROR);

    m->filters = cg_calloc(cc->nroutes + 1, sizeof(*m->filters));
    m->qos = cg_calloc(cc->nroutes + 1, sizeof(*m->qos));
    for (size_t i = 0; i < cc->nroutes; i++) {
        const cg_route_t *r = cc->routes[i];
        if (r->outbound || r->source != CG_SOURCE_MQTT)
            continue;
        bool dup = false;
        for (size_t j = 0; j < m->nfilters; j++)
            dup |= !strcmp(m->filters[j], r->topic);
        if (!dup) {
            m->qos[m->nfilters] = m->cfg->qos;
            m->filters[m->nfilters++] = r->topic;
        }
    }

    /* paho knows tcp:// and ssl://; accept the mqtt:// spellings people write. */
    const char *u = m->cfg->uri;
    char ubuf[512];
    if (!strncmp(u, "mqtt://", 7))
        snprintf(ubuf, sizeof(ubuf), "tcp://%s", u + 7);
    else if (!strncmp(u, "mqtts://", 8))
        snprintf(ubuf, sizeof(ubuf), "ssl://%s", u + 8);
    else
        snprintf(ubuf, sizeof(ubuf), "%s", u);
    m->uri = cg_strdup(ubuf);

    MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer;
    co.MQTTVersion = m->cfg->version == 5 ? MQTTVERSION_5 : MQTTVERSION_3_1_1;
    co.sendWhileDisconnected = 0; /* a publish while down fails at once: no silent buffering */
    int rc = MQTTAsync_createWithOptions(&m->client, m->uri, m->cfg->client_id,
                                         MQTTCLIENT_PERSISTENCE_NONE, NULL, &co);
    if (rc != MQTTASYNC_SUCCESS) {
        cg_log(CG_LOG_ERR, TAG, "cannot create client for %s: %s", m->uri, MQTTAsync_strerror(rc));
        m->client = NULL;
        goto fail;
    }
    MQTTAsync_setCallbacks(m->client, m, on_lost, on_message, NULL);
    MQTTAsync_setConnected(m->client, m, on_connected);

    MQTTAsync_connectOptions o = MQTTAsync_connectOptions_initializer;
    MQTTAsync_connectOptions o5 = MQTTAsync_connectOptions_initializer5;
    if (m->cfg->version == 5) {
        o = o5;
        o.cleanstart = m->cfg->clean_session;
        o.onFailure5 = on_connect_fail5;
    } else {
        o.cleansession = m->cfg->clean_session;
        o.MQTTVersion = MQTTVERSION_3_1_1;
        o.onFailure = on_connect_fail;
    }
    o.context = m;
    o.keepAliveInterval = (int)m->cfg->keepalive_s;
    o.connectTimeout = (int)m->cfg->connect_timeout_s;
    o.automaticReconnect = 1;
    o.minRetryInterval = (int)m->cfg->reconnect_min_s;
    o.maxRetryInterval = (int)m->cfg->reconnect_max_s;
    o.username = m->cfg->username;
    o.password = m->cfg->password;
    rc = MQTTAsync_connect(m->client, &o);
    if (rc != MQTTASYNC_SUCCESS) {
        cg_log(CG_LOG_ERR, TAG, "connect to %s: %s", m->uri, MQTTAsync_strerror(rc));
        goto fail;
    }
    cg_log(CG_LOG_NOTICE, TAG, "connector started: %s, %zu filters", m->uri, m->nfilters);
    return m;
fail:
    mqtt_stop(m);
    return NULL;
}

static void mqtt_stop(void *self)
{
    cg_mqtt_t *m = self;
    atomic_store(&m->stop, true);
    if (m->client) {
        if (MQTTAsync_isConnected(m->client)) {
            MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer;
            d.timeout = 500;
            MQTTAsync_disconnect(m->client, &d);
            for (int i = 0; i < 50 && MQTTAsync_isConnected(m->client); i++)
                usleep(10000);
        }
        /* Joins nothing itself, but no callback runs after it returns. */
        MQTTAsync_destroy(&m->client);
    }
    free(m->filters);
    free(m->qos);
    free(m->uri);
    cg_ingest_destroy(m->ingest);
    free(m);
}

static void mqtt_stats(void *self, cg_buf_t *out)
{
    cg_mqtt_t *m = self;
    cg_buf_printf(out,
                  "\"state\":\"%s\",\"uri\":", atomic_load(&m->connected) ? "up" : "connecting");
    cg_buf_append_json_string(out, m->cfg->uri, strlen(m->cfg->uri));
    cg_buf_printf(out, ",\"connects\":%llu", (unsigned long long)atomic_load(&m->connects));
}

const cg_connector_ops_t cg_mqtt_connector = {
    .name = "mqtt",
    .sent_key = "published",
    .send_failed_key = "publish_failed",
    .start = mqtt_start,
    .produce = mqtt_produce,
    .stats = mqtt_stats,
    .stop = mqtt_stop,
};
