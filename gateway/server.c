#include "server.h"
#include "chunked.h"
#include "log.h"
#include "transport.h"

#include <arpa/inet.h>
#include <ev.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TAG "server"
#define TICK_US (100 * LWS_US_PER_MS)
#define MAX_STATS_SOURCES 8

struct cg_server {
    const cg_config_t *cfg;
    cg_bayeux_t *bayeux;
    cg_bus_t *bus;
    struct lws_context *ctx;
    struct ev_loop *loop; /* epoll via libev; NULL with event_loop: poll */
    struct lws_vhost *vhost;
    lws_sorted_usec_list_t tick; /* runs on the service thread */
    cg_dlist_t live;             /* WebSockets and held HTTP requests */
    cg_dlist_t flush;            /* WebSockets with something to write (cg_server_flush_later) */
    bool stopping;
    uint64_t started_ms, last_ping_ms, last_stats_ms;
    struct lws_http_mount mounts[4];
    struct lws_protocols protocols[2];
    char static_origin[PATH_MAX];
    struct {
        cg_stats_fn fn;
        void *arg;
    } stats_sources[MAX_STATS_SOURCES];
    int nstats_sources;
    cg_log_limit_t http_limit;
};

cg_bayeux_t *cg_server_bayeux(cg_server_t *srv)
{
    return srv->bayeux;
}

const cg_config_t *cg_server_config(cg_server_t *srv)
{
    return srv->cfg;
}

bool cg_server_stopping(cg_server_t *srv)
{
    return srv->stopping;
}

void cg_server_add_stats(cg_server_t *srv, cg_stats_fn fn, void *arg)
{
    CG_ASSERT(srv->nstats_sources < MAX_STATS_SOURCES);
    srv->stats_sources[srv->nstats_sources].fn = fn;
    srv->stats_sources[srv->nstats_sources].arg = arg;
    srv->nstats_sources++;
}

void cg_server_list_add(cg_server_t *srv, cg_pss_t *pss)
{
    cg_dlist_push(&srv->live, &pss->live);
}

void cg_server_list_remove(cg_server_t *srv, cg_pss_t *pss)
{
    cg_dlist_remove(&srv->live, &pss->live);
}

void cg_server_flush_later(cg_server_t *srv, cg_pss_t *pss)
{
    cg_dlist_push(&srv->flush, &pss->flush);
}

void cg_server_flush_cancel(cg_server_t *srv, cg_pss_t *pss)
{
    cg_dlist_remove(&srv->flush, &pss->flush);
}

/* Writes every queued WebSocket now. Asking lws for a WRITEABLE callback costs two epoll_ctl
 * calls and a loop turn per socket; a fan-out to thousands of idle sockets can write at once.
 * A socket whose kernel buffer is full waits for WRITEABLE as usual. Runs at the end of each
 * lws callback and tick, so messages queued by one event go out in one batch per socket. */
static void flush_all(cg_server_t *srv)
{
    while (srv->flush.first) {
        cg_pss_t *pss = cg_dlist_entry(srv->flush.first, cg_pss_t, flush);
        cg_server_flush_cancel(srv, pss);
        /* lws_partial_buffered: no syscall, unlike lws_send_pipe_choked */
        if (pss->ws_deflate || lws_partial_buffered(pss->wsi)) {
            lws_callback_on_writable(pss->wsi);
            continue;
        }
        if (cg_ws_writeable(pss) < 0)
            lws_set_timeout(pss->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
    }
}

/* ---- stats ---------------------------------------------------------------------------------- */

static long rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, rss = 0;
    if (!f)
        return 0;
    if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
        rss = 0;
    fclose(f);
    return rss * sysconf(_SC_PAGESIZE);
}

static void stats_json(cg_server_t *srv, cg_buf_t *out)
{
    cg_bayeux_stats_t st;
    cg_bayeux_get_stats(srv->bayeux, &st);
    size_t bus_msgs = 0, bus_bytes = 0;
    cg_bus_fill(srv->bus, &bus_msgs, &bus_bytes);
    cg_buf_printf(out, "{\"sessions\":{\"total\":%zu", st.sessions);
    for (int t = 0; t < CG_TRANSPORT_COUNT; t++)
        cg_buf_printf(out, ",\"%s\":%zu", cg_transport_name((cg_transport_t)t), st.by_transport[t]);
    cg_buf_printf(
        out,
        "},\"subscriptions\":%zu,\"channels\":%zu,\"messages_in\":%llu,"
        "\"deliveries\":%llu,\"messages_out\":%llu,\"queue_drops\":%llu,\"discarded\":%llu,"
        "\"sessions_created\":%llu,\"sessions_swept\":%llu,"
        "\"sessions_overflowed\":%llu,\"errors\":%llu,\"bus_rejected\":%llu,"
        "\"bus\":{\"messages\":%zu,\"bytes\":%zu},\"rss_bytes\":%ld,\"uptime_s\":%llu",
        st.subscriptions, st.channels, (unsigned long long)st.messages_in,
        (unsigned long long)st.deliveries, (unsigned long long)st.messages_out,
        (unsigned long long)st.queue_drops, (unsigned long long)st.discarded,
        (unsigned long long)st.sessions_created, (unsigned long long)st.sessions_swept,
        (unsigned long long)st.sessions_overflowed, (unsigned long long)st.errors,
        (unsigned long long)st.bus_rejected, bus_msgs, bus_bytes, rss_bytes(),
        (unsigned long long)((cg_now_ms() - srv->started_ms) / 1000));
    cg_buf_append_str(out, ",\"connectors\":[");
    for (int i = 0; i < srv->nstats_sources; i++) {
        if (i)
            cg_buf_append(out, ",", 1);
        srv->stats_sources[i].fn(srv->stats_sources[i].arg, out);
    }
    cg_buf_append_str(out, "]}");
}

/* ---- HTTP helpers --------------------------------------------------------------------------- */

int cg_http_write_headers(cg_pss_t *pss, const char *content_type, bool chunked)
{
    unsigned char hbuf[LWS_PRE + 1024];
    unsigned char *start = hbuf + LWS_PRE, *p = start, *end = hbuf + sizeof(hbuf) - 1;
    struct lws *wsi = pss->wsi;
    int status = pss->status ? pss->status : 200;
    if (lws_add_http_header_status(wsi, (unsigned int)status, &p, end) ||
        lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE,
                                     (const unsigned char *)content_type, (int)strlen(content_type),
                                     &p, end) ||
        lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
                                     (const unsigned char *)"no-cache, no-store", 18, &p, end))
        return -1;
    if (chunked) {
        if (lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING,
                                         (const unsigned char *)"chunked", 7, &p, end))
            return -1;
    } else if (lws_add_http_header_content_length(wsi, pss->resp.len, &p, end)) {
        return -1;
    }
    if (pss->close_after &&
        lws_add_http_header_by_token(wsi, WSI_TOKEN_CONNECTION, (const unsigned char *)"close", 5,
                                     &p, end))
        return -1;
    if (pss->set_cookie && pss->browser[0]) {
        char cookie[128];
        int n = snprintf(cookie, sizeof(cookie),
                         "BAYEUX_BROWSER=%s; Path=/; HttpOnly; SameSite=Lax", pss->browser);
        if (lws_add_http_header_by_name(wsi, (const unsigned char *)"set-cookie:",
                                        (const unsigned char *)cookie, n, &p, end))
            return -1;
        pss->set_cookie = false;
    }
    if (lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    return 0;
}

int cg_http_write_body(cg_pss_t *pss)
{
    enum { PIECE = 64 * 1024 };
    size_t left = pss->resp.len - pss->resp_off;
    size_t n = left > PIECE ? PIECE : left;
    bool last = n == left;
    if (n && lws_write(pss->wsi, (unsigned char *)cg_buf_data(&pss->resp) + pss->resp_off, n,
                       last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) < 0)
        return -1;
    pss->resp_off += n;
    return last ? 1 : 0;
}

int cg_http_finish(cg_pss_t *pss)
{
    pss->state = HTTP_DONE;
    if (pss->close_after)
        return -1;
    if (pss->resp.cap > 65536)
        cg_buf_free(&pss->resp);
    if (pss->in.cap > 65536)
        cg_buf_free(&pss->in);
    return lws_http_transaction_completed(pss->wsi) ? -1 : 0;
}

void cg_http_set_error(cg_pss_t *pss, int status, const char *bayeux_error)
{
    pss->status = status;
    cg_buf_reset(&pss->resp);
    pss->resp_off = 0;
    cg_buf_append_str(&pss->resp, "[{\"successful\":false,\"error\":");
    cg_buf_append_json_string(&pss->resp, bayeux_error, strlen(bayeux_error));
    cg_buf_append_str(&pss->resp, "}]");
    pss->state = HTTP_RESPOND;
}

static void set_json(cg_pss_t *pss, int status, const char *json)
{
    pss->status = status;
    cg_buf_reset(&pss->resp);
    pss->resp_off = 0;
    cg_buf_append_str(&pss->resp, json);
    pss->state = HTTP_RESPOND;
}

static bool path_is(const char *uri, const char *path)
{
    size_t n = strlen(path);
    return !strncmp(uri, path, n) && (uri[n] == '\0' || uri[n] == '/');
}

static bool valid_jsonp(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '$' || *s == '.'))
            return false;
    return true;
}

static void read_browser_cookie(cg_server_t *srv, cg_pss_t *pss)
{
    char cookies[1024];
    pss->browser[0] = '\0';
    pss->set_cookie = false;
    int n = lws_hdr_copy(pss->wsi, cookies, sizeof(cookies), WSI_TOKEN_HTTP_COOKIE);
    if (n > 0) {
        const char *p = strstr(cookies, "BAYEUX_BROWSER=");
        if (p && (p == cookies || p[-1] == ' ' || p[-1] == ';')) {
            p += 15;
            size_t len = strcspn(p, "; ");
            if (len > 0 && len < sizeof(pss->browser)) {
                memcpy(pss->browser, p, len);
                pss->browser[len] = '\0';
                return;
            }
        }
    }
    /* A new browser: give it an id now so this request's session is already attributed. */
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    unsigned char rnd[20];
    if (getentropy(rnd, sizeof(rnd)))
        return;
    for (size_t i = 0; i < sizeof(rnd); i++)
        pss->browser[i] = alphabet[rnd[i] % 36];
    pss->browser[sizeof(rnd)] = '\0';
    pss->set_cookie = true;
    (void)srv;
}

/* A new HTTP request on a callback mount. Returns -1 to close. */
static int http_request(cg_server_t *srv, cg_pss_t *pss)
{
    struct lws *wsi = pss->wsi;
    char uri[512];
    /* keep-alive reuses the pss: start from a clean request state */
    pss->kind = PSS_HTTP;
    pss->state = HTTP_READING;
    pss->status = 200;
    pss->jsonp[0] = '\0';
    pss->discard_body = false;
    pss->chunked = false;
    pss->close_after = false;
    pss->resp_off = 0;
    pss->stream_headers_sent = false;
    cg_buf_reset(&pss->in);
    cg_buf_reset(&pss->resp);
    cg_conn_init(&pss->conn, &cg_http_conn_ops, CG_TRANSPORT_LONG_POLLING);
    lws_get_peer_simple(wsi, pss->peer, sizeof(pss->peer));

    pss->post = lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0;
    bool options = lws_hdr_total_length(wsi, WSI_TOKEN_OPTIONS_URI) > 0;
    enum lws_token_indexes tok = pss->post ? WSI_TOKEN_POST_URI
                                 : options ? WSI_TOKEN_OPTIONS_URI
                                           : WSI_TOKEN_GET_URI;
    if (lws_hdr_copy(wsi, uri, sizeof(uri), tok) < 0)
        uri[0] = '\0';

    if (path_is(uri, srv->cfg->bayeux.path)) {
        pss->route = ROUTE_BAYEUX;
    } else if (!strcmp(uri, "/healthz")) {
        pss->route = ROUTE_HEALTH;
    } else if (!strcmp(uri, "/stats")) {
        pss->route = ROUTE_STATS;
    } else {
        pss->route = ROUTE_NOT_FOUND;
    }

    if (options) {
        pss->route = ROUTE_OPTIONS;
        set_json(pss, 204, "");
        lws_callback_on_writable(wsi);
        return 0;
    }
    if (pss->route == ROUTE_NOT_FOUND) {
        set_json(pss, 404, "{\"error\":\"not found\"}");
        lws_callback_on_writable(wsi);
        return 0;
    }
    if (pss->route == ROUTE_HEALTH) {
        char body[160];
        snprintf(body, sizeof(body), "{\"status\":\"%s\",\"uptime_s\":%llu}",
                 srv->stopping ? "stopping" : "ok",
                 (unsigned long long)((cg_now_ms() - srv->started_ms) / 1000));
        set_json(pss, srv->stopping ? 503 : 200, body);
        lws_callback_on_writable(wsi);
        return 0;
    }
    if (pss->route == ROUTE_STATS) {
        cg_buf_reset(&pss->resp);
        stats_json(srv, &pss->resp);
        pss->status = 200;
        pss->state = HTTP_RESPOND;
        lws_callback_on_writable(wsi);
        return 0;
    }

    read_browser_cookie(srv, pss);
    if (pss->post) {
        char cl[32], te[64];
        if (lws_hdr_copy(wsi, te, sizeof(te), WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0 &&
            strstr(te, "chunked")) {
            pss->chunked = true;
            /* lws stays in body mode after a chunked request and would not parse the next one
             * on this connection: answer with Connection: close. */
            pss->close_after = true;
            cg_chunked_init(&pss->chunk);
            return 0;
        }
        if (lws_hdr_copy(wsi, cl, sizeof(cl), WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0) {
            long long n = atoll(cl);
            if (n > srv->cfg->limits.max_body) {
                cg_log_limited(&srv->http_limit, CG_LOG_WARN, TAG,
                               "%s: request body of %lld bytes over limits.max_body (%lld)",
                               pss->peer, n, (long long)srv->cfg->limits.max_body);
                pss->discard_body = true;
            } else if (n == 0) {
                cg_http_set_error(pss, 400, "400::empty body");
                lws_callback_on_writable(wsi);
            }
        }
        return 0; /* the body follows */
    }
    /* GET: callback-polling */
    char jsonp[80], message[8192];
    const char *cb = lws_get_urlarg_by_name(wsi, "jsonp=", jsonp, sizeof(jsonp));
    const char *msg = lws_get_urlarg_by_name(wsi, "message=", message, sizeof(message));
    if (!cb || !msg) {
        cg_http_set_error(pss, 400,
                          "400::use POST (long-polling), a WebSocket, or GET with jsonp and "
                          "message (callback-polling)");
        lws_callback_on_writable(wsi);
        return 0;
    }
    if (!valid_jsonp(cb) || strlen(cb) >= sizeof(pss->jsonp)) {
        cg_http_set_error(pss, 400, "400::invalid jsonp callback name");
        lws_callback_on_writable(wsi);
        return 0;
    }
    snprintf(pss->jsonp, sizeof(pss->jsonp), "%s", cb);
    cg_poll_request(pss, msg, strlen(msg));
    return 0;
}

static int http_body_done(cg_pss_t *pss);

static int http_body(cg_server_t *srv, cg_pss_t *pss, const void *in, size_t len)
{
    if (pss->state != HTTP_READING)
        return 0;
    if (pss->chunked) {
        /* lws passes a chunked body through undecoded and never completes it. */
        size_t used;
        int r = cg_chunked_feed(&pss->chunk, in, len, &pss->in, (size_t)srv->cfg->limits.max_body,
                                &used);
        if (r == CG_CHUNKED_MORE)
            return 0;
        if (r == CG_CHUNKED_DONE)
            return http_body_done(pss);
        pss->close_after = true; /* the framing is lost: this connection cannot go on */
        if (r == CG_CHUNKED_TOO_BIG) {
            cg_log_limited(&srv->http_limit, CG_LOG_WARN, TAG,
                           "%s: request body over limits.max_body (%lld)", pss->peer,
                           (long long)srv->cfg->limits.max_body);
            cg_http_set_error(pss, 413, "413::request body too large");
        } else {
            cg_log_limited(&srv->http_limit, CG_LOG_WARN, TAG, "%s: malformed chunked body",
                           pss->peer);
            cg_http_set_error(pss, 400, "400::malformed chunked body");
        }
        lws_callback_on_writable(pss->wsi);
        return 0;
    }
    if (pss->discard_body)
        return 0;
    if (pss->in.len + len > (size_t)srv->cfg->limits.max_body) {
        cg_log_limited(&srv->http_limit, CG_LOG_WARN, TAG,
                       "%s: request body over limits.max_body (%lld)", pss->peer,
                       (long long)srv->cfg->limits.max_body);
        pss->discard_body = true;
        cg_buf_free(&pss->in);
        return 0;
    }
    return cg_buf_append(&pss->in, in, len) ? -1 : 0;
}

static int http_body_done(cg_pss_t *pss)
{
    if (pss->state != HTTP_READING)
        return 0;
    if (pss->discard_body) {
        cg_http_set_error(pss, 413, "413::request body too large");
        lws_callback_on_writable(pss->wsi);
        return 0;
    }
    cg_poll_request(pss, cg_buf_data(&pss->in) ? cg_buf_data(&pss->in) : "", pss->in.len);
    return 0;
}

static int http_writeable(cg_pss_t *pss)
{
    switch (pss->state) {
    case HTTP_HELD:
        if (!cg_poll_ready(pss))
            return 0;
        /* fall through */
    case HTTP_RESPOND: {
        const char *ctype =
            pss->jsonp[0] ? "text/javascript; charset=utf-8" : "application/json; charset=utf-8";
        pss->resp_off = 0;
        if (cg_http_write_headers(pss, ctype, false))
            return -1;
        pss->state = HTTP_BODY;
        if (pss->resp.len == 0)
            return cg_http_finish(pss);
        lws_callback_on_writable(pss->wsi);
        return 0;
    }
    case HTTP_BODY: {
        int r = cg_http_write_body(pss);
        if (r < 0)
            return -1;
        if (r == 0) {
            lws_callback_on_writable(pss->wsi);
            return 0;
        }
        return cg_http_finish(pss);
    }
    case HTTP_STREAMING:
        return cg_stream_writeable(pss);
    default:
        return 0;
    }
}

/* ---- the protocol callback ------------------------------------------------------------------ */

static void bus_publish(void *arg, const char *channel, const char *data, size_t len)
{
    cg_server_t *srv = arg;
    cg_bayeux_publish_data(srv->bayeux, channel, data, len);
}

void cg_server_drain_bus(cg_server_t *srv)
{
    cg_bus_handler_t h = {.publish = bus_publish, .arg = srv};
    cg_bus_drain(srv->bus, &h);
}

static int dispatch(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    cg_pss_t *pss = user;
    struct lws_context *ctx = lws_get_context(wsi);
    cg_server_t *srv = ctx ? lws_context_user(ctx) : NULL;

    switch (reason) {
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        if (srv)
            cg_server_drain_bus(srv);
        return 0;

    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: {
        /* WebSocket upgrades only on the Bayeux path. */
        char uri[256];
        if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) < 0 ||
            !path_is(uri, srv->cfg->bayeux.path) || srv->stopping)
            return 1;
        return 0;
    }
    case LWS_CALLBACK_ESTABLISHED:
        if (pss->kind == PSS_HTTP) /* upgraded after keep-alive requests: drop their state */
            cg_poll_closed(pss);
        memset(pss, 0, sizeof(*pss));
        pss->wsi = wsi;
        pss->srv = srv;
        cg_ws_established(pss);
        return 0;
    case LWS_CALLBACK_RECEIVE:
        return cg_ws_receive(pss, in, len);
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return cg_ws_writeable(pss);
    case LWS_CALLBACK_CLOSED:
        if (pss && pss->kind == PSS_WS)
            cg_ws_closed(pss);
        return 0;

    case LWS_CALLBACK_HTTP:
        if (pss->kind == PSS_NEW) {
            memset(pss, 0, sizeof(*pss));
            pss->wsi = wsi;
            pss->srv = srv;
            cg_buf_init(&pss->in, 0);
            cg_buf_init(&pss->resp, LWS_PRE);
        }
        return http_request(srv, pss);
    case LWS_CALLBACK_HTTP_BODY:
        return http_body(srv, pss, in, len);
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        return http_body_done(pss);
    case LWS_CALLBACK_HTTP_WRITEABLE:
        if (!pss || pss->kind != PSS_HTTP)
            break;
        return http_writeable(pss);
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        /* A finished keep-alive transaction: lws frees the pss without CLOSED_HTTP. */
    case LWS_CALLBACK_CLOSED_HTTP:
        if (pss && pss->kind == PSS_HTTP)
            cg_poll_closed(pss);
        if (pss)
            pss->kind = PSS_NEW;
        return 0;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    int r = dispatch(wsi, reason, user, in, len);
    struct lws_context *ctx = lws_get_context(wsi);
    cg_server_t *srv = ctx ? lws_context_user(ctx) : NULL;
    if (srv && srv->flush.first)
        flush_all(srv);
    return r;
}

/* ---- tick, run, lifecycle ------------------------------------------------------------------ */

static void tick_cb(lws_sorted_usec_list_t *sul)
{
    cg_server_t *srv = lws_container_of(sul, cg_server_t, tick);
    cg_bayeux_tick(srv->bayeux);
    uint64_t now = cg_now_ms();
    int64_t ping_ms = srv->cfg->bayeux.ws_ping_s * 1000;
    if (ping_ms > 0 && now - srv->last_ping_ms >= (uint64_t)ping_ms) {
        srv->last_ping_ms = now;
        for (cg_dlink_t *n = srv->live.first; n; n = n->next) {
            cg_pss_t *p = cg_dlist_entry(n, cg_pss_t, live);
            if (p->kind == PSS_WS) {
                p->ws_ping_due = true;
                lws_callback_on_writable(p->wsi);
            }
        }
    }
    int64_t stats_ms = srv->cfg->stats_interval_ms;
    if (stats_ms > 0 && now - srv->last_stats_ms >= (uint64_t)stats_ms) {
        srv->last_stats_ms = now;
        cg_buf_t b;
        cg_buf_init(&b, 0);
        stats_json(srv, &b);
        if (b.len)
            cg_bayeux_publish_data(srv->bayeux, "/cometgate/stats", cg_buf_data(&b), b.len);
        cg_buf_free(&b);
    }
    flush_all(srv);
    lws_sul_schedule(srv->ctx, 0, &srv->tick, tick_cb, TICK_US);
}

static void lws_log_to_cg(int level, const char *line)
{
    cg_log_level_t l = level & LLL_ERR ? CG_LOG_ERR : level & LLL_WARN ? CG_LOG_WARN : CG_LOG_INFO;
    cg_log(l, "lws", "%s", line);
}

/* A relative static_dir is looked up from the working directory, then beside the binary
 * (build/cometgate finds ../web), so the gateway serves its pages wherever it is started. */
static bool resolve_static_dir(const char *dir, char *out)
{
    if (realpath(dir, out))
        return true;
    if (dir[0] == '/')
        return false;
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0)
        return false;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash)
        return false;
    *slash = '\0';
    char candidate[PATH_MAX + 300];
    snprintf(candidate, sizeof(candidate), "%s/../%s", exe, dir);
    if (realpath(candidate, out))
        return true;
    snprintf(candidate, sizeof(candidate), "%s/%s", exe, dir);
    return realpath(candidate, out) != NULL;
}

static bool is_ipv4_literal(const char *host)
{
    struct in_addr a;
    return inet_pton(AF_INET, host, &a) == 1;
}

cg_server_t *cg_server_create(const cg_config_t *cfg, cg_bayeux_t *bayeux, cg_bus_t *bus)
{
    cg_server_t *srv = calloc(1, sizeof(*srv));
    if (!srv)
        return NULL;
    srv->cfg = cfg;
    srv->bayeux = bayeux;
    srv->bus = bus;
    srv->started_ms = srv->last_ping_ms = srv->last_stats_ms = cg_now_ms();

    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_to_cg);

    srv->protocols[0] = (struct lws_protocols){
        .name = "cometgate",
        .callback = callback,
        .per_session_data_size = sizeof(cg_pss_t),
        .rx_buffer_size = 1024,
    };
    /* protocols[1] stays zeroed: the list terminator */

    /* Mounts: Bayeux, /healthz, /stats by callback; everything else from static_dir. */
    struct lws_http_mount *m = srv->mounts;
    int nm = 0;
    const char *mount_paths[3] = {cfg->bayeux.path, "/healthz", "/stats"};
    for (int i = 0; i < 3; i++) {
        m[nm] = (struct lws_http_mount){
            .mountpoint = mount_paths[i],
            .mountpoint_len = (unsigned char)strlen(mount_paths[i]),
            .origin = "cometgate",
            .origin_protocol = LWSMPRO_CALLBACK,
        };
        nm++;
    }
    if (cfg->static_dir[0]) {
        if (!resolve_static_dir(cfg->static_dir, srv->static_origin)) {
            cg_log(CG_LOG_WARN, TAG, "static_dir '%s' not found: static files are off",
                   cfg->static_dir);
        } else {
            m[nm] = (struct lws_http_mount){
                .mountpoint = "/",
                .mountpoint_len = 1,
                .origin = srv->static_origin,
                .def = "index.html",
                .origin_protocol = LWSMPRO_FILE,
            };
            nm++;
        }
    }
    for (int i = 0; i + 1 < nm; i++)
        m[i].mount_next = &m[i + 1];

    struct lws_context_creation_info info;
    memset(&info, 0, sizeof(info));
    info.port = cfg->listen_port;
    info.iface = cfg->listen_host;
    info.protocols = srv->protocols;
    info.mounts = srv->mounts;
    info.user = srv;
    info.options = LWS_SERVER_OPTION_VALIDATE_UTF8;
    /* With IPv6 on, an IPv4 iface silently binds every address (PLATFORM.md). */
    if (is_ipv4_literal(cfg->listen_host))
        info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    info.max_http_header_data = 8192;
    info.max_http_header_pool = 65535;
    info.keepalive_timeout = 65;
    info.timeout_secs = 30;
    info.fd_limit_per_thread = 0;
    /* lws's default idle policy re-arms a per-socket validity timer on every read and write,
     * and its timer list is sorted by insertion walk: with 20,000 sockets each message cost a
     * walk of the whole list (the gateway spent most of a core there in the chat benchmark).
     * Keep-alive is ours instead (bayeux.ws_ping_s from the tick) plus kernel TCP keep-alive to
     * find dead peers. */
    static const lws_retry_bo_t no_validity = {.secs_since_valid_ping = 0,
                                               .secs_since_valid_hangup = 0};
    info.retry_and_idle_policy = &no_validity;
    info.ka_time = 60;
    info.ka_probes = 3;
    info.ka_interval = 10;
    info.count_threads = 1;

    /* The deflate window costs ~170 KB per compressing socket: operators with tens of thousands
     * of WebSocket clients turn bayeux.ws_deflate off. */
    static const struct lws_extension extensions[] = {
        {"permessage-deflate", lws_extension_callback_pm_deflate,
         "permessage-deflate; client_no_context_takeover; client_max_window_bits"},
        {NULL, NULL, NULL}};
    if (cfg->bayeux.ws_deflate)
        info.extensions = extensions;

    /* lws's default loop calls poll() over every socket on each wakeup: with tens of
     * thousands of sockets that scan dominates. libev gives it epoll; we own the loop (foreign
     * loop) so stopping stays in our hands (PLATFORM.md: not libuv). */
    void *foreign[1] = {NULL};
    if (!strcmp(cfg->event_loop, "epoll")) {
        srv->loop = ev_loop_new(EVBACKEND_EPOLL | EVFLAG_NOENV);
        if (!srv->loop) {
            cg_log(CG_LOG_ERR, TAG, "cannot create the epoll event loop");
            free(srv);
            return NULL;
        }
        foreign[0] = srv->loop;
        info.foreign_loops = foreign;
        info.options |= LWS_SERVER_OPTION_LIBEV;
    }

    srv->ctx = lws_create_context(&info);
    if (!srv->ctx) {
        cg_log(CG_LOG_ERR, TAG, "cannot listen on %s:%d", cfg->listen_host, cfg->listen_port);
        if (srv->loop)
            ev_loop_destroy(srv->loop);
        free(srv);
        return NULL;
    }
    srv->vhost = lws_get_vhost_by_name(srv->ctx, "default");
    lws_sul_schedule(srv->ctx, 0, &srv->tick, tick_cb, TICK_US);
    return srv;
}

void cg_server_wake(void *arg)
{
    cg_server_t *srv = arg;
    lws_cancel_service(srv->ctx);
}

int cg_server_port(const cg_server_t *srv)
{
    return srv->vhost ? lws_get_vhost_listen_port(srv->vhost) : srv->cfg->listen_port;
}

int cg_server_run(cg_server_t *srv, volatile sig_atomic_t *stop, int drain_ms)
{
    int rc = 0;
    while (!*stop) {
        if (srv->loop) {
            ev_run(srv->loop, EVRUN_ONCE);
        } else if (lws_service(srv->ctx, 0) < 0) {
            rc = -1;
            break;
        }
    }
    /* Graceful stop: answer every held connect with handshake advice, close WebSockets with
     * "going away", and give the writes a bounded time. */
    srv->stopping = true;
    cg_log(CG_LOG_NOTICE, TAG, "stopping: telling sessions to reconnect");
    cg_bayeux_shutdown(srv->bayeux);
    for (cg_dlink_t *n = srv->live.first; n; n = n->next) {
        cg_pss_t *p = cg_dlist_entry(n, cg_pss_t, live);
        if (p->kind == PSS_WS)
            p->ws_closing = true;
        lws_callback_on_writable(p->wsi);
    }
    uint64_t deadline = cg_now_ms() + (uint64_t)drain_ms;
    while (srv->live.first && cg_now_ms() < deadline) {
        if (srv->loop)
            ev_run(srv->loop, EVRUN_ONCE);
        else if (lws_service(srv->ctx, 0) < 0)
            break;
    }
    return rc;
}

void cg_server_destroy(cg_server_t *srv)
{
    if (!srv)
        return;
    lws_sul_cancel(&srv->tick);
    lws_context_destroy(srv->ctx);
    if (srv->loop)
        ev_loop_destroy(srv->loop);
    free(srv);
}
