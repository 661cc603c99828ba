/* Kafka connector (librdkafka).
 *
 * Inbound: one consumer thread. Every node must serve all of its clients, so it reads every
 * partition of its topics: partitions are assigned by the connector itself (rd_kafka_assign family,
 * no group rebalancing), found by a periodic metadata scan matching the routes (exact names and
 * regexes; new topics and partitions are picked up). The group id is used for offset commits
 * only: an offset is stored once its message has been handed to the loop (cg_handoff_push
 * succeeded) and auto-committed, so `start: committed` resumes after what was delivered. When the
 * handoff is full the thread pauses every partition (rd_kafka_pause_partitions: librdkafka stops
 * fetching and drops what it prefetched), waits for the loop to drain, hands over the message it
 * holds and resumes: fetching restarts after the last message consumed. Nothing is lost.
 *
 * Outbound: a producer handle, fed from the loop thread (rd_kafka_producev only enqueues), with its
 * own thread serving delivery reports: each report completes the client's publish.
 *
 * Stop takes about a second at most, also when every broker has just gone away. librdkafka's own
 * consumer close waits for the group coordinator up to session.timeout.ms (45 s by default), and a
 * commit still waiting for an unreachable coordinator (an auto-commit during the outage) holds
 * rd_kafka_destroy just as long, even with RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE. So the consumer's
 * session.timeout.ms defaults to CLOSE_BUDGET_MS (no group membership uses it: the assignment is
 * our own), the final commit and close are attempted only while the cluster answers and only until
 * CLOSE_BUDGET_MS, the producer flushes for FLUSH_BUDGET_MS at most (in parallel), and whatever is
 * left is abandoned with one log line saying what: offsets handed over but not committed (read
 * again after a restart with `start: committed`), unflushed publishes (answered 503).
 *
 * librdkafka handles broker outages and leader moves; its logs and errors go to cg_log. */
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "../gateway/alloc.h"
#include "../gateway/log.h"
#include "connector.h"

#define TAG "kafka"

/* Shutdown bounds, in ms from the stop request: the producer's flush, the consumer's close (and the
 * session.timeout.ms default that bounds what librdkafka waits for inside rd_kafka_destroy). */
#define FLUSH_BUDGET_MS 1000
#define CLOSE_BUDGET_MS 1000
/* rd_kafka_metadata blocks for its whole timeout while no broker is up, and a stop has to wait
 * for it: probe an unreachable cluster with short requests. */
#define METADATA_TIMEOUT_MS 1000
#define METADATA_PROBE_MS 250

/* One assigned partition. Consumer thread only. */
typedef struct part {
    char *topic;
    int32_t partition;
    int64_t next_offset;       /* first offset not yet handed to the loop; -1 unknown */
    int64_t first_offset;      /* first offset handed over (or skipped) by this process; -1 none */
    int64_t committed;         /* latest offset the group committed for us; -1 none yet */
    cg_ingest_routes_t routes; /* the inbound routes that take this topic */
} part_t;

typedef struct cg_kafka {
    const cg_kafka_config_t *cfg;
    rd_kafka_t *consumer; /* NULL without inbound Kafka routes */
    rd_kafka_t *producer; /* NULL without outbound Kafka routes */
    pthread_t consumer_thread, producer_thread;
    bool consumer_running, producer_running;
    atomic_bool stop;

    /* consumer thread only */
    part_t *parts;
    size_t nparts, cap_parts;
    bool first_scan_done;
    bool paused;
    cg_ingest_t *ingest; /* route → normalise → handoff → count */
    cg_log_limit_t meta_limit, err_limit;

    /* producer thread only */
    cg_log_limit_t perr_limit;

    /* read by the loop for /stats */
    atomic_uint assigned;
    atomic_bool metadata_ok;
    atomic_bool brokers_down; /* consumer: librdkafka reported all brokers down, nothing since */
    atomic_llong in_flight;   /* produced messages without a delivery report yet */
    atomic_bool is_paused;
    atomic_ullong pauses;
} cg_kafka_t;

/* ---- librdkafka → cg_log --------------------------------------------------------------------- */

static cg_log_level_t level_from_syslog(int level)
{
    if (level <= LOG_ERR)
        return CG_LOG_ERR;
    if (level == LOG_WARNING)
        return CG_LOG_WARN;
    if (level == LOG_NOTICE)
        return CG_LOG_NOTICE;
    if (level == LOG_INFO)
        return CG_LOG_INFO;
    return CG_LOG_DEBUG;
}

/* librdkafka's threads. */
static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    cg_log(level_from_syslog(level), "rdkafka", "%s: %s: %s", rd_kafka_name(rk), fac, buf);
}

/* Served by rd_kafka_consumer_poll / rd_kafka_poll: the consumer or producer thread. */
static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    cg_kafka_t *k = opaque;
    bool producer = rk == k->producer;
    cg_log_limit_t *lim = producer ? &k->perr_limit : &k->err_limit;
    cg_log_level_t lvl = err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN ? CG_LOG_WARN : CG_LOG_NOTICE;
    if (!producer && err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
        atomic_store(&k->brokers_down, true);
    if (rd_kafka_fatal_error(rk, NULL, 0))
        lvl = CG_LOG_ERR;
    cg_log_limited(lim, lvl, TAG, "%s: %s: %s", producer ? "producer" : "consumer",
                   rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

/* kafka.client, then the role's own map (kafka.consumer or kafka.producer), then ours. */
static rd_kafka_conf_t *base_conf(cg_kafka_t *k, cg_kafka_role_t role, char *err, size_t errlen)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (cg_kafka_conf_apply(k->cfg, role, conf, err, errlen))
        goto fail;
    if (rd_kafka_conf_set(conf, "bootstrap.servers", k->cfg->bootstrap_servers, err, errlen))
        goto fail;
    rd_kafka_conf_set_log_cb(conf, log_cb);
    rd_kafka_conf_set_error_cb(conf, error_cb);
    rd_kafka_conf_set_opaque(conf, k);
    return conf;
fail:
    rd_kafka_conf_destroy(conf);
    return NULL;
}

/* ---- consumer thread --------------------------------------------------------------------------
 */

static part_t *find_part(cg_kafka_t *k, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < k->nparts; i++)
        if (k->parts[i].partition == partition && !strcmp(k->parts[i].topic, topic))
            return &k->parts[i];
    return NULL;
}

/* Looks for topics and partitions the routes want and assigns the new ones. */
static void scan(cg_kafka_t *k)
{
    const struct rd_kafka_metadata *md = NULL;
    bool reachable = atomic_load(&k->metadata_ok) && !atomic_load(&k->brokers_down);
    rd_kafka_resp_err_t e = rd_kafka_metadata(k->consumer, 1, NULL, &md,
                                              reachable ? METADATA_TIMEOUT_MS : METADATA_PROBE_MS);
    if (e) {
        atomic_store(&k->metadata_ok, false);
        cg_log_limited(&k->meta_limit, CG_LOG_WARN, TAG,
                       "cannot read cluster metadata from %s: %s (retrying)",
                       k->cfg->bootstrap_servers, rd_kafka_err2str(e));
        return;
    }
    atomic_store(&k->metadata_ok, true);
    atomic_store(&k->brokers_down, false);
    rd_kafka_topic_partition_list_t *add = rd_kafka_topic_partition_list_new(8);
    for (int t = 0; t < md->topic_cnt; t++) {
        const rd_kafka_metadata_topic_t *mt = &md->topics[t];
        if (mt->err || !strncmp(mt->topic, "__", 2))
            continue;
        cg_ingest_routes_t routes;
        cg_ingest_match(k->ingest, mt->topic, &routes);
        if (!routes.n) {
            cg_ingest_routes_free(&routes);
            continue;
        }
        for (int p = 0; p < mt->partition_cnt; p++) {
            int32_t id = mt->partitions[p].id;
            if (find_part(k, mt->topic, id))
                continue;
            if (k->nparts == k->cap_parts) {
                k->cap_parts = k->cap_parts ? k->cap_parts * 2 : 16;
                k->parts = cg_realloc(k->parts, k->cap_parts * sizeof(*k->parts));
            }
            part_t *pt = &k->parts[k->nparts++];
            pt->topic = cg_strdup(mt->topic);
            pt->partition = id;
            pt->next_offset = -1;
            pt->first_offset = -1;
            pt->committed = -1;
            pt->routes.n = routes.n;
            pt->routes.idx = cg_malloc(routes.n * sizeof(*pt->routes.idx));
            memcpy(pt->routes.idx, routes.idx, routes.n * sizeof(*pt->routes.idx));
            /* Partitions present at the first scan start where the configuration says; any that
             * appear later are new, so everything in them is news: read them from the start. */
            int64_t off;
            if (k->cfg->start == CG_START_COMMITTED)
                off = RD_KAFKA_OFFSET_STORED;
            else if (k->cfg->start == CG_START_EARLIEST || k->first_scan_done)
                off = RD_KAFKA_OFFSET_BEGINNING;
            else
                off = RD_KAFKA_OFFSET_END;
            rd_kafka_topic_partition_list_add(add, mt->topic, id)->offset = off;
        }
        cg_ingest_routes_free(&routes);
    }
    rd_kafka_metadata_destroy(md);
    k->first_scan_done = true;
    if (add->cnt) {
        rd_kafka_error_t *err = rd_kafka_incremental_assign(k->consumer, add);
        if (err) {
            cg_log(CG_LOG_ERR, TAG, "assign: %s", rd_kafka_error_string(err));
            rd_kafka_error_destroy(err);
        } else {
            atomic_store(&k->assigned, (unsigned)k->nparts);
            cg_log(CG_LOG_NOTICE, TAG, "assigned %d new partitions (%zu in all), group %s",
                   add->cnt, k->nparts, k->cfg->group_id);
        }
    }
    rd_kafka_topic_partition_list_destroy(add);
}

static void pause_all(cg_kafka_t *k, bool pause)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)k->nparts);
    for (size_t i = 0; i < k->nparts; i++)
        rd_kafka_topic_partition_list_add(l, k->parts[i].topic, k->parts[i].partition);
    rd_kafka_resp_err_t e = pause ? rd_kafka_pause_partitions(k->consumer, l)
                                  : rd_kafka_resume_partitions(k->consumer, l);
    if (e)
        cg_log(CG_LOG_ERR, TAG, "%s partitions: %s", pause ? "pause" : "resume",
               rd_kafka_err2str(e));
    rd_kafka_topic_partition_list_destroy(l);
    k->paused = pause;
    atomic_store(&k->is_paused, pause);
    if (pause)
        atomic_fetch_add(&k->pauses, 1);
    cg_log(CG_LOG_INFO, TAG, "%s consumption: the handoff into the loop is %s",
           pause ? "paused" : "resumed", pause ? "full" : "drained");
}

/* Consumer thread (the ingest's push found the handoff full): stop fetching until the message
 * in hand is delivered; handle_message resumes. */
static void on_handoff_full(void *arg)
{
    cg_kafka_t *k = arg;
    if (!k->paused)
        pause_all(k, true);
}

static void handle_message(cg_kafka_t *k, rd_kafka_message_t *m)
{
    const char *topic = rd_kafka_topic_name(m->rkt);
    part_t *pt = find_part(k, topic, m->partition);
    if (!pt)
        return; /* not ours: cannot happen with our own assignment */
    if (pt->next_offset >= 0 && m->offset < pt->next_offset)
        return; /* already handed over (a refetch after resume) */
    rd_kafka_timestamp_type_t tst;
    int64_t ts = rd_kafka_message_timestamp(m, &tst);
    cg_inbound_msg_t in = {.bus = CG_BUS_KAFKA,
                           .topic = topic,
                           .payload = m->payload,
                           .len = m->len,
                           .key = m->key,
                           .key_len = m->key_len,
                           .has_key = m->key != NULL,
                           .partition = m->partition,
                           .offset = m->offset,
                           .timestamp_ms = tst == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? -1 : ts};
    if (cg_ingest_message(k->ingest, &in, &pt->routes) == CG_INGEST_ESTOPPED)
        return; /* shutting down: not stored, so not committed */
    if (pt->first_offset < 0)
        pt->first_offset = m->offset;
    pt->next_offset = m->offset + 1;
    /* Handed over (or skipped for good): commit it. */
    rd_kafka_offset_store(m->rkt, m->partition, m->offset);
    if (k->paused)
        pause_all(k, false);
}

/* Remembers what the group committed, so that a stop that has to give up can say what it leaves.
 * Consumer thread (offset_commit_cb, served by rd_kafka_consumer_poll), or the stopping thread
 * after the consumer thread was joined (commit events of the close). */
static void note_committed(cg_kafka_t *k, const rd_kafka_topic_partition_list_t *offsets)
{
    for (int i = 0; offsets && i < offsets->cnt; i++) {
        const rd_kafka_topic_partition_t *tp = &offsets->elems[i];
        part_t *pt = tp->err ? NULL : find_part(k, tp->topic, tp->partition);
        if (pt && tp->offset > pt->committed)
            pt->committed = tp->offset;
    }
}

static void commit_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                      rd_kafka_topic_partition_list_t *offsets, void *opaque)
{
    (void)rk;
    if (!err)
        note_committed(opaque, offsets);
}

static void *consumer_main(void *arg)
{
    cg_kafka_t *k = arg;
    uint64_t next_scan = 0;
    while (!atomic_load(&k->stop)) {
        uint64_t now = cg_now_ms();
        if (now >= next_scan) {
            scan(k);
            /* Until a first scan finds something, look again soon. */
            uint64_t period = (uint64_t)k->cfg->metadata_refresh_ms;
            if ((!atomic_load(&k->metadata_ok) || !k->nparts) && period > 1000)
                period = 1000;
            next_scan = cg_now_ms() + period;
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(k->consumer, 100);
        if (!m)
            continue;
        atomic_store(&k->brokers_down, false); /* a message or a partition EOF: a broker answers */
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                cg_log_limited(&k->err_limit, CG_LOG_WARN, TAG, "consume %s [%" PRId32 "]: %s",
                               m->rkt ? rd_kafka_topic_name(m->rkt) : "-", m->partition,
                               rd_kafka_message_errstr(m));
        } else {
            handle_message(k, m);
        }
        rd_kafka_message_destroy(m);
    }
    return NULL;
}

/* ---- producer ---------------------------------------------------------------------------------
 */

/* Producer thread (rd_kafka_poll). */
static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    cg_kafka_t *k = opaque;
    cg_outbound_t *o = m->_private;
    if (!o)
        return;
    atomic_fetch_sub(&k->in_flight, 1);
    if (!m->err) {
        cg_outbound_done(o, true, NULL);
        return;
    }
    char e[256];
    snprintf(e, sizeof(e), "%s::kafka: %s",
             m->err == RD_KAFKA_RESP_ERR__MSG_TIMED_OUT ? "504" : "503", rd_kafka_err2str(m->err));
    cg_outbound_done(o, false, e);
}

static void *producer_main(void *arg)
{
    cg_kafka_t *k = arg;
    while (!atomic_load(&k->stop))
        rd_kafka_poll(k->producer, 100);
    /* Stopping (this runs alongside the consumer's close): the messages still queued or in flight
     * get FLUSH_BUDGET_MS to be delivered, then fail at once, so every pending publish gets its
     * answer and an unreachable cluster cannot hold the exit. rd_kafka_flush sends without
     * lingering and serves the delivery reports; it runs in slices because it also waits for
     * requests that are not messages (metadata to a broker that is down). */
    uint64_t t0 = cg_now_ms();
    while (atomic_load(&k->in_flight) > 0 && cg_now_ms() < t0 + FLUSH_BUDGET_MS)
        rd_kafka_flush(k->producer, 20);
    long long left = atomic_load(&k->in_flight);
    if (left > 0) {
        rd_kafka_purge(k->producer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        /* The purged messages' reports (503) are queued now; serve them all. */
        uint64_t until = cg_now_ms() + 200;
        while (atomic_load(&k->in_flight) > 0 && cg_now_ms() < until)
            rd_kafka_poll(k->producer, 10);
        cg_log(CG_LOG_WARN, TAG,
               "stop: producer flush abandoned after %llu ms: %lld unflushed messages failed "
               "(their publishes answered 503)",
               (unsigned long long)(cg_now_ms() - t0), left);
    }
    rd_kafka_poll(k->producer, 0);
    return NULL;
}

/* Loop thread. */
static void kafka_produce(void *self, const cg_route_t *r, const char *topic, const char *key,
                          size_t key_len, bool has_key, const char *data, size_t len,
                          cg_outbound_t *o)
{
    cg_kafka_t *k = self;
    (void)r;
    rd_kafka_resp_err_t e = rd_kafka_producev(
        k->producer, RD_KAFKA_V_TOPIC(topic),
        RD_KAFKA_V_KEY(has_key ? key : NULL, has_key ? key_len : 0),
        RD_KAFKA_V_VALUE((void *)data, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_OPAQUE(o), RD_KAFKA_V_END);
    if (!e)
        atomic_fetch_add(&k->in_flight, 1);
    if (e) {
        char msg[256];
        snprintf(msg, sizeof(msg), "503::kafka: %s", rd_kafka_err2str(e));
        cg_outbound_done(o, false, msg);
    }
}

/* ---- lifecycle --------------------------------------------------------------------------------
 */

static void kafka_stop(void *self);

static void *kafka_start(const cg_connector_env_t *env)
{
    cg_kafka_t *k = cg_calloc(1, sizeof(*k));
    atomic_init(&k->stop, false);
    k->ingest = cg_connector_ingest(env, CG_BUS_KAFKA, &k->stop, on_handoff_full, k);
    k->cfg = &env->cc->kafka;
    bool inbound = cg_ingest_route_count(k->ingest) > 0, outbound = false;
    for (size_t i = 0; i < env->cc->nroutes; i++)
        outbound |= env->cc->routes[i]->outbound && env->cc->routes[i]->target == CG_TARGET_KAFKA;
    char err[512];
    if (inbound) {
        rd_kafka_conf_t *conf = base_conf(k, CG_KAFKA_CONSUMER, err, sizeof(err));
        bool has_reset = cg_kafka_conf_has(k->cfg, CG_KAFKA_CONSUMER, "auto.offset.reset");
        bool has_session = cg_kafka_conf_has(k->cfg, CG_KAFKA_CONSUMER, "session.timeout.ms");
        char session_ms[16];
        snprintf(session_ms, sizeof(session_ms), "%d", CLOSE_BUDGET_MS);
        if (!conf || rd_kafka_conf_set(conf, "group.id", k->cfg->group_id, err, sizeof(err)) ||
            rd_kafka_conf_set(conf, "enable.auto.offset.store", "false", err, sizeof(err)) ||
            rd_kafka_conf_set(conf, "enable.auto.commit", "true", err, sizeof(err)) ||
            (!has_reset &&
             rd_kafka_conf_set(conf, "auto.offset.reset",
                               k->cfg->start == CG_START_EARLIEST ? "earliest" : "latest", err,
                               sizeof(err))) ||
            /* No group membership uses it (the assignment is our own); it bounds how long
             * destroy waits for a commit to an unreachable coordinator. */
            (!has_session &&
             rd_kafka_conf_set(conf, "session.timeout.ms", session_ms, err, sizeof(err)))) {
            if (conf)
                rd_kafka_conf_destroy(conf);
            cg_log(CG_LOG_ERR, TAG, "consumer configuration: %s", err);
            goto fail;
        }
        rd_kafka_conf_set_offset_commit_cb(conf, commit_cb);
        k->consumer = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
        if (!k->consumer) {
            cg_log(CG_LOG_ERR, TAG, "consumer: %s", err);
            goto fail;
        }
        rd_kafka_poll_set_consumer(k->consumer);
    }
    if (outbound) {
        rd_kafka_conf_t *conf = base_conf(k, CG_KAFKA_PRODUCER, err, sizeof(err));
        char t[32];
        snprintf(t, sizeof(t), "%" PRId64, k->cfg->produce_timeout_ms);
        if (!conf || rd_kafka_conf_set(conf, "message.timeout.ms", t, err, sizeof(err))) {
            if (conf)
                rd_kafka_conf_destroy(conf);
            cg_log(CG_LOG_ERR, TAG, "producer configuration: %s", err);
            goto fail;
        }
        rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
        k->producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
        if (!k->producer) {
            cg_log(CG_LOG_ERR, TAG, "producer: %s", err);
            goto fail;
        }
    }
    if (k->consumer) {
        if (pthread_create(&k->consumer_thread, NULL, consumer_main, k))
            goto fail;
        k->consumer_running = true;
    }
    if (k->producer) {
        if (pthread_create(&k->producer_thread, NULL, producer_main, k))
            goto fail;
        k->producer_running = true;
    }
    cg_log(CG_LOG_NOTICE, TAG, "connector started: %s, group %s, start %s%s%s",
           k->cfg->bootstrap_servers, k->cfg->group_id, cg_kafka_start_name(k->cfg->start),
           k->consumer ? ", consuming" : "", k->producer ? ", producing" : "");
    return k;
fail:
    kafka_stop(k);
    return NULL;
}

/* Stopping thread, the consumer thread joined. While the cluster answers: the final commit of the
 * stored offsets and the close, served on a queue of our own until `deadline`. Otherwise, or past
 * the deadline, the close is abandoned: destroyed without one, with one line saying what stays
 * uncommitted. */
static void close_consumer(cg_kafka_t *k, uint64_t t0, uint64_t deadline)
{
    bool reachable = atomic_load(&k->metadata_ok) && !atomic_load(&k->brokers_down);
    bool closed = false;
    if (reachable) {
        rd_kafka_queue_t *q = rd_kafka_queue_new(k->consumer);
        rd_kafka_error_t *e = rd_kafka_consumer_close_queue(k->consumer, q);
        if (e) {
            cg_log(CG_LOG_WARN, TAG, "consumer close: %s", rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
        } else {
            uint64_t now;
            while (!(closed = rd_kafka_consumer_closed(k->consumer)) &&
                   (now = cg_now_ms()) < deadline) {
                int wait = deadline - now < 20 ? (int)(deadline - now) : 20;
                rd_kafka_event_t *ev = rd_kafka_queue_poll(q, wait);
                if (ev && rd_kafka_event_type(ev) == RD_KAFKA_EVENT_OFFSET_COMMIT &&
                    !rd_kafka_event_error(ev))
                    note_committed(k, rd_kafka_event_topic_partition_list(ev));
                rd_kafka_event_destroy(ev);
            }
        }
        rd_kafka_queue_destroy(q);
    }
    if (closed) {
        cg_log(CG_LOG_DEBUG, TAG, "consumer closed after %llu ms",
               (unsigned long long)(cg_now_ms() - t0));
    } else {
        unsigned long long msgs = 0;
        size_t parts = 0;
        for (size_t i = 0; i < k->nparts; i++) {
            const part_t *pt = &k->parts[i];
            int64_t from = pt->committed > pt->first_offset ? pt->committed : pt->first_offset;
            if (pt->first_offset >= 0 && pt->next_offset > from) {
                msgs += (unsigned long long)(pt->next_offset - from);
                parts++;
            }
        }
        cg_log(CG_LOG_WARN, TAG,
               "stop: consumer close abandoned after %llu ms (%s): offsets of %llu consumed "
               "messages in %zu partitions left uncommitted",
               (unsigned long long)(cg_now_ms() - t0),
               reachable ? "no answer in time" : "cluster unreachable", msgs, parts);
    }
    /* Closed, or given up on: destroy must not start a close of its own. What it still waits for
     * (a commit queued for the coordinator) is bounded by session.timeout.ms. */
    rd_kafka_destroy_flags(k->consumer, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
}

static void kafka_stop(void *self)
{
    cg_kafka_t *k = self;
    uint64_t t0 = cg_now_ms();
    atomic_store(&k->stop, true); /* the producer thread starts its bounded flush now */
    if (k->consumer_running)
        pthread_join(k->consumer_thread, NULL);
    if (k->consumer)
        close_consumer(k, t0, t0 + CLOSE_BUDGET_MS);
    if (k->producer_running)
        pthread_join(k->producer_thread, NULL);
    if (k->producer)
        rd_kafka_destroy(k->producer);
    cg_log(CG_LOG_INFO, TAG, "stopped in %llu ms", (unsigned long long)(cg_now_ms() - t0));
    for (size_t i = 0; i < k->nparts; i++) {
        free(k->parts[i].topic);
        cg_ingest_routes_free(&k->parts[i].routes);
    }
    free(k->parts);
    cg_ingest_destroy(k->ingest);
    free(k);
}

static void kafka_stats(void *self, cg_buf_t *out)
{
    cg_kafka_t *k = self;
    cg_buf_printf(out, "\"state\":\"%s\",\"bootstrap_servers\":",
                  !k->consumer                   ? "producing"
                  : atomic_load(&k->metadata_ok) ? "up"
                                                 : "connecting");
    cg_buf_append_json_string(out, k->cfg->bootstrap_servers, strlen(k->cfg->bootstrap_servers));
    cg_buf_printf(out, ",\"assigned_partitions\":%u,\"paused\":%s,\"pauses\":%llu",
                  atomic_load(&k->assigned), atomic_load(&k->is_paused) ? "true" : "false",
                  (unsigned long long)atomic_load(&k->pauses));
}

const cg_connector_ops_t cg_kafka_connector = {
    .name = "kafka",
    .sent_key = "produced",
    .send_failed_key = "produce_failed",
    .start = kafka_start,
    .produce = kafka_produce,
    .stats = kafka_stats,
    .stop = kafka_stop,
};
