#include "bayeux.h"
#include "alloc.h"
#include "channel.h"
#include "log.h"
#include "session_priv.h"
#include "strmap.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define TAG "bayeux"

typedef struct browser {
    unsigned held; /* long-poll connects held by this browser's sessions */
    char id[CG_BROWSER_ID_MAX];
} browser_t;

/* One peer address: its sessions and its handshake token bucket. Kept while it has sessions or
 * its bucket is refilling, so a flood cannot reset its own bucket by letting sessions go. */
typedef struct peer {
    size_t sessions;
    double tokens;
    uint64_t refill_ms;
    cg_dlink_t spare; /* on bayeux's spare_peers while it has no session */
    char addr[64];
} peer_t;

enum { TIMER_NONE = 0, TIMER_HELD, TIMER_IDLE };

struct cg_pending {
    cg_dlink_t link; /* on the list of every pending publish, answered or not */
    cg_conn_t *conn; /* where the reply goes; NULL once that is gone */
    bool answered;   /* the client has its reply (the broker timed out) */
    uint64_t deadline_ms;
    char client_id[CG_SESSION_ID_LEN + 1];
    char id[CG_MESSAGE_ID_MAX];
    char channel[];
};

struct cg_bayeux {
    const cg_config_t *cfg;
    cg_outbound_fn outbound;
    void *outbound_arg;
    int64_t outbound_timeout_ms;
    cg_dlist_t pendings;
    cg_strmap_t *sessions;  /* id -> cg_session_t */
    cg_dlist_t all;         /* every session */
    cg_strmap_t *browsers;  /* BAYEUX_BROWSER -> browser_t */
    cg_strmap_t *peers;     /* peer address -> peer_t */
    cg_dlist_t spare_peers; /* peers without sessions, oldest first */
    /* Timers without walks: sessions holding a connect, by deadline, and sessions without one,
     * by the time their last connect ended (the sweep). The tick pops what is due. */
    cg_dlist_t held, idle;
    cg_channel_index_t *channels;
    uint64_t publish_seq;
    uint64_t last_tick_ms, no_sweep_until_ms; /* see cg_bayeux_tick */
    uint64_t next_message_id;
    cg_session_t **doomed; /* overflowed during a fan-out, destroyed after it */
    size_t ndoomed, doomed_cap;
    unsigned char rnd[256];
    size_t rnd_left;
    cg_bayeux_stats_t stats;
    cg_log_limit_t overflow_limit, error_limit, bus_limit, limit_limit;
};

/* ---- helpers ---------------------------------------------------------------------------- */

static void random_id(cg_bayeux_t *b, char *out, size_t n)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for (size_t i = 0; i < n; i++) {
        if (b->rnd_left == 0) {
            ssize_t got = getrandom(b->rnd, sizeof(b->rnd), 0);
            CG_ASSERT(got == (ssize_t)sizeof(b->rnd));
            b->rnd_left = sizeof(b->rnd);
        }
        out[i] = alphabet[b->rnd[--b->rnd_left] & 63];
    }
    out[n] = '\0';
}

static void comma(cg_buf_t *out)
{
    if (out->len)
        cg_buf_append(out, ",", 1);
}

/* Encoded message id, or "" when absent or unusable. */
static int encode_id(json_t *msg, char *out, size_t outlen)
{
    out[0] = '\0';
    json_t *id = json_object_get(msg, "id");
    if (!id)
        return 0;
    if (!json_is_string(id) && !json_is_integer(id))
        return -1;
    char *enc = json_dumps(id, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!enc)
        return -1;
    size_t len = strlen(enc);
    int rc = len < outlen ? 0 : -1;
    if (rc == 0)
        memcpy(out, enc, len + 1);
    free(enc);
    return rc;
}

static void append_advice(cg_bayeux_t *b, cg_buf_t *out, const char *reconnect, int64_t interval,
                          bool with_timeout, bool multiple_clients)
{
    cg_buf_printf(out, ",\"advice\":{\"reconnect\":\"%s\",\"interval\":%lld", reconnect,
                  (long long)interval);
    if (with_timeout)
        cg_buf_printf(out, ",\"timeout\":%lld", (long long)b->cfg->bayeux.timeout_ms);
    if (multiple_clients)
        cg_buf_append_str(out, ",\"multiple-clients\":true");
    cg_buf_append(out, "}", 1);
}

/* Starts a reply object: {"channel":...,"successful":...[,"clientId"][,"id"] — unclosed. */
static void reply_head(cg_buf_t *out, const char *channel, bool ok, const char *client_id,
                       const char *id)
{
    comma(out);
    cg_buf_append_str(out, "{\"channel\":");
    cg_buf_append_json_string(out, channel, strlen(channel));
    cg_buf_printf(out, ",\"successful\":%s", ok ? "true" : "false");
    if (client_id && client_id[0])
        cg_buf_printf(out, ",\"clientId\":\"%s\"", client_id);
    if (id && id[0])
        cg_buf_printf(out, ",\"id\":%s", id);
}

static void reply_error(cg_bayeux_t *b, cg_buf_t *out, const char *channel, const char *client_id,
                        const char *id, const char *error, const cg_request_info_t *info)
{
    b->stats.errors++;
    reply_head(out, channel ? channel : "", false, client_id, id);
    cg_buf_append_str(out, ",\"error\":");
    cg_buf_append_json_string(out, error, strlen(error));
    if (!strncmp(error, "402:", 4))
        append_advice(b, out, "handshake", 0, false, false);
    cg_buf_append(out, "}", 1);
    cg_log_limited(&b->error_limit, CG_LOG_INFO, TAG, "%s %s: %s",
                   info && info->peer ? info->peer : "-", channel ? channel : "(no channel)",
                   error);
}

/* A client hit a configured limit: one warning naming the client and the limit. */
static void limit_log(cg_bayeux_t *b, const cg_request_info_t *info, const char *client_id,
                      const char *limit, int64_t value)
{
    cg_log_limited(&b->limit_limit, CG_LOG_WARN, TAG, "%s%s%s: over %s (%lld)",
                   info && info->peer ? info->peer : "-", client_id ? " session " : "",
                   client_id ? client_id : "", limit, (long long)value);
}

/* ---- sessions ------------------------------------------------------------------------------ */

static browser_t *browser_get(cg_bayeux_t *b, const char *id, bool create)
{
    browser_t *br = cg_strmap_get(b->browsers, id, strlen(id));
    if (br || !create)
        return br;
    br = cg_calloc(1, sizeof(*br));
    snprintf(br->id, sizeof(br->id), "%s", id);
    if (cg_strmap_put(b->browsers, br->id, strlen(br->id), br)) {
        free(br);
        return NULL;
    }
    return br;
}

static void browser_uncount(cg_bayeux_t *b, cg_conn_t *c)
{
    if (!c->counted_browser)
        return;
    c->counted_browser = false;
    browser_t *br = browser_get(b, c->browser, false);
    if (!br)
        return;
    if (--br->held == 0) {
        cg_strmap_remove(b->browsers, br->id, strlen(br->id));
        free(br);
    }
}

/* ---- per-peer limits ------------------------------------------------------------------------ */

static void peer_refill(cg_bayeux_t *b, peer_t *p, uint64_t now)
{
    const cg_limits_config_t *lim = &b->cfg->limits;
    p->tokens += (double)(now - p->refill_ms) * (double)lim->peer_handshake_rate / 1000.0;
    if (p->tokens > (double)lim->peer_handshake_burst)
        p->tokens = (double)lim->peer_handshake_burst;
    p->refill_ms = now;
}

static peer_t *peer_get(cg_bayeux_t *b, const char *addr)
{
    size_t len = strlen(addr);
    peer_t *p = cg_strmap_get(b->peers, addr, len);
    if (p)
        return p;
    p = cg_calloc(1, sizeof(*p));
    snprintf(p->addr, sizeof(p->addr), "%s", addr);
    p->tokens = (double)b->cfg->limits.peer_handshake_burst;
    p->refill_ms = cg_now_ms();
    CG_ASSERT(cg_strmap_put(b->peers, p->addr, strlen(p->addr), p) == 0);
    cg_dlist_append(&b->spare_peers, &p->spare);
    return p;
}

static void peer_free(cg_bayeux_t *b, peer_t *p)
{
    cg_dlist_remove(&b->spare_peers, &p->spare);
    cg_strmap_remove(b->peers, p->addr, strlen(p->addr));
    free(p);
}

/* Drops records of peers without sessions whose bucket is full again: nothing left to limit. A
 * few per tick, oldest first. */
static void peers_expire(cg_bayeux_t *b, uint64_t now)
{
    for (int i = 0; i < 64 && b->spare_peers.first; i++) {
        peer_t *p = cg_dlist_entry(b->spare_peers.first, peer_t, spare);
        peer_refill(b, p, now);
        if (p->tokens < (double)b->cfg->limits.peer_handshake_burst) {
            /* not refilled yet: to the back, look again later */
            cg_dlist_remove(&b->spare_peers, &p->spare);
            cg_dlist_append(&b->spare_peers, &p->spare);
            break;
        }
        peer_free(b, p);
    }
}

static void peer_add_session(cg_bayeux_t *b, peer_t *p)
{
    p->sessions++;
    cg_dlist_remove(&b->spare_peers, &p->spare);
}

static void peer_remove_session(cg_bayeux_t *b, peer_t *p)
{
    CG_ASSERT(p->sessions > 0);
    if (--p->sessions == 0)
        cg_dlist_append(&b->spare_peers, &p->spare);
}

/* ---- session timers ------------------------------------------------------------------------ */

static void timer_unlink(cg_bayeux_t *b, cg_session_t *s)
{
    if (s->timer_list == TIMER_HELD)
        cg_dlist_remove(&b->held, &s->timer);
    else if (s->timer_list == TIMER_IDLE)
        cg_dlist_remove(&b->idle, &s->timer);
    s->timer_list = TIMER_NONE;
}

/* The session has no connect in progress from now: the sweep clock runs. */
static void session_idle(cg_bayeux_t *b, cg_session_t *s)
{
    timer_unlink(b, s);
    s->idle_since_ms = cg_now_ms();
    cg_dlist_append(&b->idle, &s->timer);
    s->timer_list = TIMER_IDLE;
}

/* The session holds a connect on `c` until its deadline. */
static void session_hold(cg_bayeux_t *b, cg_session_t *s, cg_conn_t *c)
{
    timer_unlink(b, s);
    s->idle_since_ms = 0;
    cg_dlink_t *pos = b->held.last;
    while (pos && cg_dlist_entry(pos, cg_session_t, timer)->conn->deadline_ms > c->deadline_ms)
        pos = pos->prev;
    cg_dlist_insert_after(&b->held, pos, &s->timer);
    s->timer_list = TIMER_HELD;
}

static cg_session_t *session_create(cg_bayeux_t *b, const cg_request_info_t *info, peer_t *peer)
{
    cg_session_t *s = cg_calloc(1, sizeof(*s));
    do {
        random_id(b, s->id, CG_SESSION_ID_LEN);
    } while (cg_strmap_get(b->sessions, s->id, CG_SESSION_ID_LEN));
    if (cg_strmap_put(b->sessions, s->id, CG_SESSION_ID_LEN, s)) {
        free(s);
        return NULL;
    }
    s->transport = info->transport;
    session_idle(b, s);
    s->peer = peer;
    if (peer)
        peer_add_session(b, peer);
    if (info->browser)
        snprintf(s->browser, sizeof(s->browser), "%s", info->browser);
    cg_dlist_push(&b->all, &s->all);
    b->stats.sessions_created++;
    b->stats.by_transport[s->transport]++;
    return s;
}

static void release_connect(cg_bayeux_t *b, cg_conn_t *c, cg_release_t why);

static void session_destroy(cg_bayeux_t *b, cg_session_t *s, cg_release_t why)
{
    if (s->conn) {
        cg_conn_t *c = s->conn;
        if (c->connect == CG_CONNECT_HELD)
            release_connect(b, c, why);
        cg_session_detach(s);
        /* A WebSocket whose session overflowed holds nothing worth keeping: it writes what it
         * has (the 409 reply) and closes. */
        if (why == CG_RELEASE_OVERFLOW)
            c->ended = true;
        c->ops->wake(c); /* WebSocket closes or answers; polling writes its reply */
    }
    timer_unlink(b, s);
    if (s->peer)
        peer_remove_session(b, s->peer);
    for (size_t i = 0; i < s->nsubs; i++)
        cg_channel_unsubscribe(b->channels, s->subs[i]);
    free(s->subs);
    b->stats.discarded += s->count;
    cg_session_clear_queue(s);
    cg_strmap_remove(b->sessions, s->id, CG_SESSION_ID_LEN);
    cg_dlist_remove(&b->all, &s->all);
    b->stats.by_transport[s->transport]--;
    free(s);
}

static cg_session_t *session_find(cg_bayeux_t *b, json_t *msg)
{
    const char *id = json_string_value(json_object_get(msg, "clientId"));
    if (!id)
        return NULL;
    cg_session_t *s = cg_strmap_get(b->sessions, id, strlen(id));
    return s && !s->doomed ? s : NULL;
}

/* ---- connects ------------------------------------------------------------------------------ */

/* Moves what is queued into the conn (polling transports answer with it) and cuts the
 * session<->conn link, except for a WebSocket, which keeps delivering between connects. */
static void release_connect(cg_bayeux_t *b, cg_conn_t *c, cg_release_t why)
{
    CG_ASSERT(c->connect == CG_CONNECT_HELD);
    c->connect = CG_CONNECT_RELEASED;
    c->release = why;
    browser_uncount(b, c);
    cg_session_t *s = cg_conn_owns(c) ? c->session : NULL;
    if (s) {
        session_idle(b, s);
        s->connected = true;
        if (c->transport != CG_TRANSPORT_WEBSOCKET) {
            cg_frame_t *f;
            while ((f = cg_session_dequeue(s)))
                cg_conn_push_frame(c, f);
            cg_session_detach(s);
        }
    }
    c->ops->wake(c);
}

void cg_bayeux_release_for_messages(cg_bayeux_t *b, cg_conn_t *c)
{
    if (c->connect == CG_CONNECT_HELD)
        release_connect(b, c, CG_RELEASE_MESSAGES);
}

void cg_bayeux_take_connect_reply(cg_bayeux_t *b, cg_conn_t *c, cg_buf_t *out)
{
    if (c->connect != CG_CONNECT_RELEASED)
        return;
    c->connect = CG_CONNECT_NONE;
    const int64_t interval = b->cfg->bayeux.interval_ms;
    switch (c->release) {
    case CG_RELEASE_OVERFLOW:
        reply_head(out, "/meta/connect", false, c->client_id, c->connect_id);
        cg_buf_append_str(out, ",\"error\":\"409::queue_overflow\"");
        append_advice(b, out, "handshake", 0, false, false);
        break;
    case CG_RELEASE_SHUTDOWN:
        reply_head(out, "/meta/connect", false, c->client_id, c->connect_id);
        cg_buf_append_str(out, ",\"error\":\"503::server shutting down\"");
        append_advice(b, out, "handshake", 1000, false, false);
        break;
    case CG_RELEASE_DISCONNECTED:
        reply_head(out, "/meta/connect", true, c->client_id, c->connect_id);
        append_advice(b, out, "none", 0, false, false);
        break;
    case CG_RELEASE_MULTIPLE_CLIENTS:
        reply_head(out, "/meta/connect", true, c->client_id, c->connect_id);
        append_advice(b, out, "retry", b->cfg->bayeux.multiple_clients_interval_ms, true, true);
        break;
    default:
        reply_head(out, "/meta/connect", true, c->client_id, c->connect_id);
        append_advice(b, out, "retry", interval, true, false);
        break;
    }
    cg_buf_append(out, "}", 1);
}

void cg_bayeux_conn_closed(cg_bayeux_t *b, cg_conn_t *c)
{
    browser_uncount(b, c);
    if (cg_conn_owns(c)) {
        cg_session_t *s = c->session;
        if (c->connect == CG_CONNECT_HELD)
            session_idle(b, s);
        cg_session_detach(s);
    }
    c->session = NULL;
    c->connect = CG_CONNECT_NONE;
    /* Frames taken at release never reached the client. */
    b->stats.discarded += c->nframes;
    cg_conn_clear_frames(c);
    if (c->pending) {
        for (cg_dlink_t *n = b->pendings.first; n; n = n->next) {
            cg_pending_t *p = cg_dlist_entry(n, cg_pending_t, link);
            if (p->conn == c)
                p->conn = NULL;
        }
        c->pending = 0;
    }
}

static void handle_connect(cg_bayeux_t *b, cg_conn_t *c, cg_session_t *s, json_t *msg,
                           const char *id, const cg_request_info_t *info, cg_buf_t *replies)
{
    const char *ctype = json_string_value(json_object_get(msg, "connectionType"));
    cg_transport_t t = info->transport;
    if (ctype) {
        cg_transport_t named;
        if (cg_transport_from_name(ctype, &named)) {
            reply_error(b, replies, "/meta/connect", s->id, id, "400::unknown connectionType",
                        info);
            return;
        }
        /* A streaming client POSTs its connect; the request type says how to answer. */
        if (named == CG_TRANSPORT_HTTP_STREAMING && t == CG_TRANSPORT_LONG_POLLING)
            t = named;
    }
    if (c->connect != CG_CONNECT_NONE && c->session != s) {
        reply_error(b, replies, "/meta/connect", s->id, id, "400::connect already pending", info);
        return;
    }
    /* A newer connect replaces a held one: answer the old one first. */
    if (s->conn && s->conn->connect == CG_CONNECT_HELD) {
        cg_conn_t *old = s->conn;
        release_connect(b, old, CG_RELEASE_REPLACED);
        if (old == c) /* WebSocket: same socket; its reply goes out before this one's */
            cg_bayeux_take_connect_reply(b, c, replies);
    }
    if (c->connect == CG_CONNECT_RELEASED)
        cg_bayeux_take_connect_reply(b, c, replies);
    if (s->transport != t) {
        b->stats.by_transport[s->transport]--;
        b->stats.by_transport[t]++;
        s->transport = t;
    }
    c->transport = t;

    int64_t timeout = b->cfg->bayeux.timeout_ms;
    json_t *adv = json_object_get(json_object_get(msg, "advice"), "timeout");
    if (json_is_integer(adv) && json_integer_value(adv) >= 0 && json_integer_value(adv) < timeout)
        timeout = json_integer_value(adv);
    if (!s->connected)
        timeout = 0; /* the first connect is answered at once, as CometD does */

    snprintf(c->connect_id, sizeof(c->connect_id), "%s", id);
    memcpy(c->client_id, s->id, sizeof(c->client_id));
    cg_session_attach(s, c);
    c->connect = CG_CONNECT_HELD;
    c->deadline_ms = cg_now_ms() + (uint64_t)timeout;
    session_hold(b, s, c);

    /* Streaming holds a browser connection just as long-polling does. */
    bool polling = t == CG_TRANSPORT_LONG_POLLING || t == CG_TRANSPORT_CALLBACK_POLLING ||
                   t == CG_TRANSPORT_HTTP_STREAMING;
    if (polling && timeout > 0 && s->browser[0]) {
        /* One held long-poll per browser: HTTP/1.1 browsers have few connections per host. */
        browser_t *br = browser_get(b, s->browser, true);
        if (br && br->held > 0) {
            release_connect(b, c, CG_RELEASE_MULTIPLE_CLIENTS);
            return;
        }
        if (br) {
            br->held++;
            c->counted_browser = true;
            snprintf(c->browser, sizeof(c->browser), "%s", s->browser);
        }
    }
    if (timeout == 0)
        release_connect(b, c, CG_RELEASE_IMMEDIATE);
    else if (s->count > 0)
        c->ops->wake(c); /* WebSocket writes them; polling releases with them */
}

/* ---- publish ------------------------------------------------------------------------------- */

typedef struct fanout {
    cg_bayeux_t *b;
    cg_frame_t *frame;
    uint64_t seq;
} fanout_t;

static void deliver(void *subscriber, void *arg)
{
    fanout_t *fo = arg;
    cg_session_t *s = subscriber;
    if (s->last_publish_seq == fo->seq || s->doomed)
        return;
    s->last_publish_seq = fo->seq;
    cg_bayeux_t *b = fo->b;
    const cg_limits_config_t *lim = &b->cfg->limits;
    if (cg_session_enqueue(s, fo->frame, (size_t)lim->queue_messages, (size_t)lim->queue_bytes)) {
        /* Destroying now would unsubscribe while the index is being walked. */
        s->doomed = true;
        b->stats.queue_drops++;
        if (b->ndoomed == b->doomed_cap) {
            b->doomed_cap = b->doomed_cap ? b->doomed_cap * 2 : 16;
            b->doomed = cg_realloc(b->doomed, b->doomed_cap * sizeof(*b->doomed));
        }
        b->doomed[b->ndoomed++] = s;
        return;
    }
    b->stats.deliveries++;
    if (s->count == 1 && s->conn)
        s->conn->ops->wake(s->conn);
}

static void fan_out(cg_bayeux_t *b, const char *channel, cg_frame_t *frame)
{
    fanout_t fo = {b, frame, ++b->publish_seq};
    b->stats.messages_in++;
    cg_channel_publish(b->channels, channel, deliver, &fo);
    for (size_t i = 0; i < b->ndoomed; i++) {
        cg_session_t *s = b->doomed[i];
        cg_log_limited(&b->overflow_limit, CG_LOG_WARN, TAG,
                       "session %s: queue over its bounds (%zu messages, %zu bytes): messages are "
                       "being dropped and the session is ended",
                       s->id, s->count, s->queued_bytes);
        b->stats.sessions_overflowed++;
        session_destroy(b, s, CG_RELEASE_OVERFLOW);
    }
    b->ndoomed = 0;
}

/* {"channel":C,"data":D,"id":I}: the one encoding every subscriber shares. */
static cg_frame_t *encode_message(const char *channel, const char *data, size_t data_len,
                                  const char *id)
{
    cg_buf_t buf;
    cg_buf_init(&buf, 0);
    cg_buf_append_str(&buf, "{\"channel\":\"");
    cg_buf_append_str(&buf, channel); /* valid names need no escaping */
    cg_buf_append_str(&buf, "\",\"data\":");
    cg_buf_append(&buf, data, data_len);
    if (id && id[0]) {
        cg_buf_append_str(&buf, ",\"id\":");
        cg_buf_append_str(&buf, id);
    }
    cg_buf_append(&buf, "}", 1);
    cg_frame_t *f = cg_frame_create(cg_buf_data(&buf), buf.len);
    cg_buf_free(&buf);
    return f;
}

void cg_bayeux_publish_data(cg_bayeux_t *b, const char *channel, const char *data, size_t len)
{
    cg_channel_kind_t kind;
    if (cg_channel_validate(channel, strlen(channel), (size_t)b->cfg->limits.max_channel_length,
                            &kind) ||
        kind != CG_CHANNEL_PLAIN || cg_channel_is_meta(channel)) {
        b->stats.bus_rejected++;
        cg_log_limited(&b->bus_limit, CG_LOG_WARN, TAG,
                       "bus message for invalid channel '%.100s' dropped", channel);
        return;
    }
    char id[32];
    snprintf(id, sizeof(id), "\"%llx\"", (unsigned long long)++b->next_message_id);
    cg_frame_t *f = encode_message(channel, data, len, id);
    if (!f)
        return;
    fan_out(b, channel, f);
    cg_frame_release(f);
}

/* Offers a client publish to the outbound hook. 1 claimed, 0 not. */
static int claim_outbound(cg_bayeux_t *b, cg_conn_t *c, cg_session_t *s, const char *channel,
                          const char *id, const char *data, size_t len)
{
    size_t clen = strlen(channel);
    cg_pending_t *p = cg_calloc(1, sizeof(*p) + clen + 1);
    memcpy(p->channel, channel, clen + 1);
    memcpy(p->client_id, s->id, sizeof(p->client_id));
    snprintf(p->id, sizeof(p->id), "%s", id);
    p->conn = c;
    p->deadline_ms = cg_now_ms() + (uint64_t)b->outbound_timeout_ms;
    if (!b->outbound(b->outbound_arg, channel, data, len, p)) {
        free(p);
        return 0;
    }
    b->stats.messages_in++;
    c->pending++;
    cg_dlist_append(&b->pendings, &p->link);
    return 1;
}

static void answer_pending(cg_bayeux_t *b, cg_pending_t *p, bool ok, const char *error)
{
    p->answered = true;
    cg_conn_t *c = p->conn;
    if (!c)
        return;
    p->conn = NULL;
    c->pending--;
    if (ok) {
        reply_head(&c->replies, p->channel, true, p->client_id, p->id);
        cg_buf_append(&c->replies, "}", 1);
    } else {
        reply_error(b, &c->replies, p->channel, p->client_id, p->id,
                    error ? error : "500::publish failed", NULL);
    }
    c->ops->wake(c);
}

void cg_bayeux_set_outbound(cg_bayeux_t *b, cg_outbound_fn fn, void *arg, int64_t timeout_ms)
{
    b->outbound = fn;
    b->outbound_arg = arg;
    b->outbound_timeout_ms = timeout_ms;
}

void cg_bayeux_pending_complete(cg_bayeux_t *b, cg_pending_t *p, bool ok, const char *error)
{
    if (!p->answered)
        answer_pending(b, p, ok, error);
    cg_dlist_remove(&b->pendings, &p->link);
    free(p);
}

static void handle_publish(cg_bayeux_t *b, cg_conn_t *c, cg_session_t *s, json_t *msg,
                           const char *channel, const char *id, const cg_request_info_t *info,
                           cg_buf_t *replies)
{
    cg_channel_kind_t kind;
    if (cg_channel_validate(channel, strlen(channel), (size_t)b->cfg->limits.max_channel_length,
                            &kind) ||
        kind != CG_CHANNEL_PLAIN) {
        char err[400];
        snprintf(err, sizeof(err), "405:%.300s:invalid channel", channel);
        reply_error(b, replies, channel, s->id, id, err, info);
        return;
    }
    json_t *data = json_object_get(msg, "data");
    if (!data) {
        reply_error(b, replies, channel, s->id, id, "400::missing data", info);
        return;
    }
    if (!cg_channel_is_service(channel)) {
        /* jansson allocates through cg_malloc (cg_alloc_init): NULL only for what cannot be
         * encoded */
        char *enc = json_dumps(data, JSON_COMPACT | JSON_ENCODE_ANY);
        if (!enc) {
            reply_error(b, replies, channel, s->id, id, "400::data cannot be encoded", info);
            return;
        }
        size_t enc_len = strlen(enc);
        if (enc_len > (size_t)b->cfg->limits.max_message_size) {
            free(enc);
            limit_log(b, info, s->id, "limits.max_message_size", b->cfg->limits.max_message_size);
            reply_error(b, replies, channel, s->id, id, "413::message too large", info);
            return;
        }
        if (b->outbound) {
            if (claim_outbound(b, c, s, channel, id, enc, enc_len)) {
                free(enc);
                return;
            }
        }
        cg_frame_t *f = encode_message(channel, enc, enc_len, id);
        free(enc);
        /* The reply goes first: the publisher sees its ack before its own message. */
        reply_head(replies, channel, true, s->id, id);
        cg_buf_append(replies, "}", 1);
        fan_out(b, channel, f);
        cg_frame_release(f);
        return;
    }
    reply_head(replies, channel, true, s->id, id);
    cg_buf_append(replies, "}", 1);
}

/* ---- subscribe ----------------------------------------------------------------------------- */

static void handle_subscription(cg_bayeux_t *b, cg_session_t *s, json_t *msg, const char *meta,
                                const char *id, bool subscribe, const cg_request_info_t *info,
                                cg_buf_t *replies)
{
    json_t *sub = json_object_get(msg, "subscription");
    size_t n = json_is_array(sub) ? json_array_size(sub) : 1;
    if (!(json_is_string(sub) || (json_is_array(sub) && n > 0))) {
        reply_error(b, replies, meta, s->id, id, "400::missing subscription", info);
        return;
    }
    /* Validate all first so a batch subscribe either fully applies or not at all. */
    size_t adds = 0, add_bytes = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_is_array(sub) ? json_array_get(sub, i) : sub;
        const char *name = json_string_value(e);
        char err[400];
        if (!name) {
            reply_error(b, replies, meta, s->id, id, "400::subscription must be a string", info);
            return;
        }
        if (cg_channel_validate(name, strlen(name), (size_t)b->cfg->limits.max_channel_length,
                                NULL)) {
            snprintf(err, sizeof(err), "405:%.300s:invalid channel", name);
            reply_error(b, replies, meta, s->id, id, err, info);
            return;
        }
        if (subscribe && cg_channel_is_meta(name)) {
            snprintf(err, sizeof(err), "403:%.300s:meta channels cannot be subscribed", name);
            reply_error(b, replies, meta, s->id, id, err, info);
            return;
        }
        if (subscribe && !cg_channel_is_service(name) && !cg_session_find_sub(s, name)) {
            adds++;
            add_bytes += CG_SUBSCRIPTION_COST(strlen(name));
        }
    }
    if (subscribe && s->sub_bytes + add_bytes > (size_t)b->cfg->limits.max_subscription_bytes) {
        limit_log(b, info, s->id, "limits.max_subscription_bytes",
                  b->cfg->limits.max_subscription_bytes);
        reply_error(b, replies, meta, s->id, id, "403::subscription memory limit", info);
        return;
    }
    if (subscribe && s->nsubs + adds > (size_t)b->cfg->limits.max_subscriptions) {
        char err[128];
        limit_log(b, info, s->id, "limits.max_subscriptions", b->cfg->limits.max_subscriptions);
        snprintf(err, sizeof(err), "403::too many subscriptions (limit %lld)",
                 (long long)b->cfg->limits.max_subscriptions);
        reply_error(b, replies, meta, s->id, id, err, info);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const char *name = json_string_value(json_is_array(sub) ? json_array_get(sub, i) : sub);
        cg_subscription_t *have = cg_session_find_sub(s, name);
        if (subscribe) {
            // /service/** is never broadcast, so a subscription there would never fire.
            if (have || cg_channel_is_service(name))
                continue;
            cg_session_add_sub(s, cg_channel_subscribe(b->channels, name, s));
        } else if (have) {
            cg_session_remove_sub(s, have);
            cg_channel_unsubscribe(b->channels, have);
        }
    }
    reply_head(replies, meta, true, s->id, id);
    char *enc = json_dumps(sub, JSON_COMPACT | JSON_ENCODE_ANY);
    if (enc) {
        cg_buf_append_str(replies, ",\"subscription\":");
        cg_buf_append_str(replies, enc);
        free(enc);
    }
    cg_buf_append(replies, "}", 1);
}

/* ---- handshake ----------------------------------------------------------------------------- */

static void handle_handshake(cg_bayeux_t *b, json_t *msg, const char *id,
                             const cg_request_info_t *info, cg_buf_t *replies)
{
    json_t *types = json_object_get(msg, "supportedConnectionTypes");
    bool offered[CG_TRANSPORT_COUNT] = {false};
    bool any = false;
    if (types && !json_is_array(types)) {
        reply_error(b, replies, "/meta/handshake", NULL, id,
                    "400::supportedConnectionTypes must be an array", info);
        return;
    }
    if (!types) { /* an old client that says nothing takes what it came with */
        offered[info->transport] = any = true;
    }
    size_t i;
    json_t *t;
    json_array_foreach(types, i, t)
    {
        cg_transport_t tt;
        const char *name = json_string_value(t);
        if (name && !cg_transport_from_name(name, &tt))
            offered[tt] = any = true;
    }
    if (!any) {
        /* 301:<offered>:message, the offered types comma-separated, as Bayeux asks */
        cg_buf_t err;
        cg_buf_init(&err, 0);
        cg_buf_append_str(&err, "301:");
        json_array_foreach(types, i, t)
        {
            const char *name = json_string_value(t);
            if (name && err.len < 200) {
                if (i)
                    cg_buf_append(&err, ",", 1);
                cg_buf_printf(&err, "%.60s", name);
            }
        }
        cg_buf_append_str(&err, ":unsupported connection types");
        cg_buf_append(&err, "", 1);
        reply_error(b, replies, "/meta/handshake", NULL, id,
                    cg_buf_data(&err) ? cg_buf_data(&err) : "301::unsupported connection types",
                    info);
        cg_buf_free(&err);
        return;
    }
    if (cg_strmap_count(b->sessions) >= (size_t)b->cfg->limits.max_sessions) {
        cg_log_limited(&b->error_limit, CG_LOG_WARN, TAG,
                       "%s: handshake refused: %lld sessions (limits.max_sessions)",
                       info->peer ? info->peer : "-", (long long)b->cfg->limits.max_sessions);
        reply_head(replies, "/meta/handshake", false, NULL, id);
        cg_buf_append_str(replies, ",\"error\":\"503::too many sessions\"");
        append_advice(b, replies, "handshake", 5000, false, false);
        cg_buf_append(replies, "}", 1);
        b->stats.errors++;
        return;
    }
    peer_t *peer = NULL;
    if (info->peer && info->peer[0]) {
        const cg_limits_config_t *lim = &b->cfg->limits;
        uint64_t now = cg_now_ms();
        peer = peer_get(b, info->peer);
        peer_refill(b, peer, now);
        const char *err = NULL;
        int64_t interval = 1000;
        /* Every attempt takes a token, refused or not: the bucket limits the work a peer causes,
         * not only the sessions it gets. */
        if (peer->tokens < 1.0) {
            err = "429::too many handshakes";
            limit_log(b, info, NULL, "limits.peer_handshake_rate", lim->peer_handshake_rate);
        } else {
            peer->tokens -= 1.0;
            if (peer->sessions >= (size_t)lim->peer_max_sessions) {
                err = "503::too many sessions from this address";
                interval = 5000;
                limit_log(b, info, NULL, "limits.peer_max_sessions", lim->peer_max_sessions);
            }
        }
        if (err) {
            reply_head(replies, "/meta/handshake", false, NULL, id);
            cg_buf_append_str(replies, ",\"error\":");
            cg_buf_append_json_string(replies, err, strlen(err));
            append_advice(b, replies, "handshake", interval, false, false);
            cg_buf_append(replies, "}", 1);
            b->stats.errors++;
            b->stats.peer_refused++;
            return;
        }
    }
    cg_session_t *s = session_create(b, info, peer);
    reply_head(replies, "/meta/handshake", true, s->id, id);
    cg_buf_append_str(replies, ",\"version\":\"1.0\",\"supportedConnectionTypes\":[");
    bool first = true;
    for (int k = 0; k < CG_TRANSPORT_COUNT; k++) {
        if (!offered[k])
            continue;
        cg_buf_printf(replies, "%s\"%s\"", first ? "" : ",", cg_transport_name((cg_transport_t)k));
        first = false;
    }
    cg_buf_append(replies, "]", 1);
    append_advice(b, replies, "retry", b->cfg->bayeux.interval_ms, true, false);
    /* ext is echoed, minus the extensions that ask the server to opt into features it does not
     * implement: echoing "ack" would make CometD's client expect acknowledged delivery. */
    json_t *ext = json_object_get(msg, "ext");
    if (json_is_object(ext)) {
        json_t *copy = json_copy(ext);
        json_object_del(copy, "ack");
        json_object_del(copy, "timesync");
        if (json_object_size(copy) > 0) {
            char *enc = json_dumps(copy, JSON_COMPACT);
            if (enc) {
                cg_buf_append_str(replies, ",\"ext\":");
                cg_buf_append_str(replies, enc);
                free(enc);
            }
        }
        json_decref(copy);
    }
    cg_buf_append(replies, "}", 1);
}

/* ---- dispatch ------------------------------------------------------------------------------ */

static void handle_message(cg_bayeux_t *b, cg_conn_t *c, json_t *msg, const cg_request_info_t *info,
                           cg_buf_t *replies)
{
    char id[CG_MESSAGE_ID_MAX];
    if (!json_is_object(msg)) {
        reply_error(b, replies, NULL, NULL, NULL, "400::message must be an object", info);
        return;
    }
    if (encode_id(msg, id, sizeof(id))) {
        reply_error(b, replies, NULL, NULL, NULL, "400::invalid id", info);
        return;
    }
    const char *channel = json_string_value(json_object_get(msg, "channel"));
    if (!channel) {
        reply_error(b, replies, NULL, NULL, id, "400::missing channel", info);
        return;
    }
    if (!strcmp(channel, "/meta/handshake")) {
        handle_handshake(b, msg, id, info, replies);
        return;
    }
    bool meta = cg_channel_is_meta(channel);
    bool known_meta = !strcmp(channel, "/meta/connect") || !strcmp(channel, "/meta/subscribe") ||
                      !strcmp(channel, "/meta/unsubscribe") || !strcmp(channel, "/meta/disconnect");
    if (meta && !known_meta) {
        reply_error(b, replies, channel, NULL, id, "403::unknown meta channel", info);
        return;
    }
    cg_session_t *s = session_find(b, msg);
    if (!s) {
        reply_error(b, replies, channel, json_string_value(json_object_get(msg, "clientId")), id,
                    "402::session_unknown", info);
        return;
    }
    if (!strcmp(channel, "/meta/connect"))
        handle_connect(b, c, s, msg, id, info, replies);
    else if (!strcmp(channel, "/meta/subscribe"))
        handle_subscription(b, s, msg, channel, id, true, info, replies);
    else if (!strcmp(channel, "/meta/unsubscribe"))
        handle_subscription(b, s, msg, channel, id, false, info, replies);
    else if (!strcmp(channel, "/meta/disconnect")) {
        reply_head(replies, channel, true, s->id, id);
        cg_buf_append(replies, "}", 1);
        session_destroy(b, s, CG_RELEASE_DISCONNECTED);
    } else
        handle_publish(b, c, s, msg, channel, id, info, replies);
}

int cg_bayeux_handle(cg_bayeux_t *b, cg_conn_t *conn, const cg_request_info_t *info,
                     const char *body, size_t len)
{
    cg_buf_t *replies = &conn->replies;
    json_error_t jerr;
    json_t *root = json_loadb(body, len, JSON_DECODE_ANY, &jerr);
    if (!root || !(json_is_array(root) || json_is_object(root))) {
        json_decref(root);
        reply_error(b, replies, NULL, NULL, NULL, "400::invalid json", info);
        return CG_BAYEUX_EJSON;
    }
    size_t n = json_is_array(root) ? json_array_size(root) : 1;
    if (n > (size_t)b->cfg->limits.max_batch) {
        json_decref(root);
        char err[96];
        limit_log(b, info, NULL, "limits.max_batch", b->cfg->limits.max_batch);
        snprintf(err, sizeof(err), "400::too many messages in one request (limit %lld)",
                 (long long)b->cfg->limits.max_batch);
        reply_error(b, replies, NULL, NULL, NULL, err, info);
        return CG_BAYEUX_EBATCH;
    }
    if (n == 0) {
        json_decref(root);
        reply_error(b, replies, NULL, NULL, NULL, "400::empty message batch", info);
        return CG_BAYEUX_EJSON;
    }
    for (size_t i = 0; i < n; i++)
        handle_message(b, conn, json_is_array(root) ? json_array_get(root, i) : root, info,
                       replies);
    json_decref(root);
    return CG_BAYEUX_OK;
}

/* ---- lifecycle ----------------------------------------------------------------------------- */

cg_bayeux_t *cg_bayeux_create(const cg_config_t *cfg)
{
    cg_bayeux_t *b = cg_calloc(1, sizeof(*b));
    b->cfg = cfg;
    b->sessions = cg_strmap_create();
    b->browsers = cg_strmap_create();
    b->peers = cg_strmap_create();
    b->channels = cg_channel_index_create();
    if (!b->sessions || !b->browsers || !b->peers || !b->channels) {
        cg_bayeux_destroy(b);
        return NULL;
    }
    return b;
}

void cg_bayeux_destroy(cg_bayeux_t *b)
{
    if (!b)
        return;
    while (b->all.first)
        session_destroy(b, cg_dlist_entry(b->all.first, cg_session_t, all), CG_RELEASE_SHUTDOWN);
    while (b->pendings.first) {
        cg_pending_t *p = cg_dlist_entry(b->pendings.first, cg_pending_t, link);
        cg_dlist_remove(&b->pendings, &p->link);
        free(p);
    }
    cg_strmap_destroy(b->sessions);
    cg_strmap_destroy(b->browsers); /* empty: every counted conn was released */
    while (b->spare_peers.first)
        peer_free(b, cg_dlist_entry(b->spare_peers.first, peer_t, spare));
    cg_strmap_destroy(b->peers); /* empty: every session was destroyed */
    cg_channel_index_destroy(b->channels);
    free(b->doomed);
    free(b);
}

void cg_bayeux_tick(cg_bayeux_t *b)
{
    uint64_t now = cg_now_ms();
    uint64_t max_interval = (uint64_t)b->cfg->bayeux.max_interval_ms;
    /* The loop stood still for over a second (a long stall, a paused machine): clients could not
     * reach us meanwhile, and their next /meta/connect may be waiting in a socket right now.
     * Idle time that passed while nobody could be served does not count against them: no
     * sweep until a whole max_interval has passed with the loop running. */
    if (b->last_tick_ms && now - b->last_tick_ms > 1000)
        b->no_sweep_until_ms = now + max_interval;
    b->last_tick_ms = now;
    /* Both lists are ordered: only what is due is touched. */
    while (b->held.first) {
        cg_session_t *s = cg_dlist_entry(b->held.first, cg_session_t, timer);
        if (now < s->conn->deadline_ms)
            break;
        release_connect(b, s->conn, CG_RELEASE_TIMEOUT); /* moves it to the idle list */
    }
    while (b->idle.first && now >= b->no_sweep_until_ms) {
        cg_session_t *s = cg_dlist_entry(b->idle.first, cg_session_t, timer);
        if (now - s->idle_since_ms <= max_interval)
            break;
        cg_log(CG_LOG_INFO, TAG, "session %s swept: no /meta/connect for %llu ms", s->id,
               (unsigned long long)(now - s->idle_since_ms));
        b->stats.sessions_swept++;
        session_destroy(b, s, CG_RELEASE_DISCONNECTED);
    }
    /* Pendings are in deadline order (one timeout for all). */
    for (cg_dlink_t *n = b->pendings.first; n; n = n->next) {
        cg_pending_t *p = cg_dlist_entry(n, cg_pending_t, link);
        if (p->answered)
            continue;
        if (now < p->deadline_ms)
            break;
        answer_pending(b, p, false, "504::broker timeout");
    }
    peers_expire(b, now);
}

void cg_bayeux_shutdown(cg_bayeux_t *b)
{
    while (b->held.first) {
        cg_session_t *s = cg_dlist_entry(b->held.first, cg_session_t, timer);
        release_connect(b, s->conn, CG_RELEASE_SHUTDOWN);
    }
}

size_t cg_bayeux_collect(cg_bayeux_t *b, cg_conn_t *c, cg_buf_t *out, size_t prefix_len,
                         size_t max_bytes, bool with_connect)
{
    size_t n = 0;
    if (c->replies.len) {
        if (out->len > prefix_len)
            cg_buf_append(out, ",", 1);
        cg_buf_append(out, cg_buf_data(&c->replies), c->replies.len);
        cg_buf_reset(&c->replies);
    }
    for (size_t i = 0; i < c->nframes; i++) {
        if (out->len > prefix_len)
            cg_buf_append(out, ",", 1);
        cg_buf_append(out, cg_frame_object(c->frames[i]), cg_frame_object_len(c->frames[i]));
    }
    n += c->nframes;
    cg_conn_clear_frames(c);
    cg_session_t *s = cg_conn_owns(c) ? c->session : NULL;
    while (s && s->count && out->len < max_bytes) {
        cg_frame_t *f = cg_session_dequeue(s);
        if (out->len > prefix_len)
            cg_buf_append(out, ",", 1);
        cg_buf_append(out, cg_frame_object(f), cg_frame_object_len(f));
        cg_frame_release(f);
        n++;
    }
    if (with_connect && c->connect == CG_CONNECT_RELEASED) {
        if (out->len > prefix_len)
            cg_buf_append(out, ",", 1);
        /* take_connect_reply adds its own comma only to a non-empty buffer: give it one */
        cg_buf_t tmp;
        cg_buf_init(&tmp, 0);
        cg_bayeux_take_connect_reply(b, c, &tmp);
        cg_buf_append(out, cg_buf_data(&tmp), tmp.len);
        cg_buf_free(&tmp);
    }
    b->stats.messages_out += n;
    return n;
}

bool cg_bayeux_has_output(const cg_conn_t *c)
{
    return c->replies.len || c->nframes || cg_conn_queued(c) || c->connect == CG_CONNECT_RELEASED;
}

void cg_bayeux_count_out(cg_bayeux_t *b, size_t messages)
{
    b->stats.messages_out += messages;
}

void cg_bayeux_get_stats(const cg_bayeux_t *b, cg_bayeux_stats_t *out)
{
    *out = b->stats;
    out->sessions = cg_strmap_count(b->sessions);
    out->channels = cg_channel_index_channels(b->channels);
    out->subscriptions = cg_channel_index_subscriptions(b->channels);
}
