/* The lws context, listener, HTTP routing and the loop. Each connection is handed to one kind
 * (transport.h); this file only dispatches lws callbacks to the kind's handlers, runs the
 * periodic tick and stops gracefully. */
#include "server.h"
#include "admin.h"
#include "http.h"
#include "log.h"
#include "lws_alloc.h"
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
/* Pings per tick: the sockets spread evenly over the ping interval (so a crowd that went idle
 * together is pinged over one interval, not in one stall of every delivery), at least a few. */
#define MIN_PINGS_PER_TICK 4

struct cg_server {
    cg_env_t env; /* what the connection kinds share */
    struct lws_context *ctx;
    struct ev_loop *loop; /* epoll via libev; NULL with event_loop: poll */
    struct lws_vhost *vhost;
    lws_sorted_usec_list_t tick; /* runs on the service thread */
    uint64_t last_stats_ms;
    struct lws_http_mount mount;
    struct lws_protocols protocols[2];
};

void cg_server_add_stats(cg_server_t *srv, cg_stats_fn fn, void *arg)
{
    cg_env_t *env = &srv->env;
    CG_ASSERT(env->nstats_sources < CG_MAX_STATS_SOURCES);
    env->stats_sources[env->nstats_sources].fn = fn;
    env->stats_sources[env->nstats_sources].arg = arg;
    env->nstats_sources++;
}

/* Writes every queued WebSocket now. Asking lws for a WRITEABLE callback costs two epoll_ctl
 * calls and a loop turn per socket; a fan-out to thousands of idle sockets can write at once.
 * A socket whose kernel buffer is full waits for WRITEABLE as usual. Runs at the end of each
 * lws callback and tick, so messages queued by one event go out in one batch per socket. */
static void flush_all(cg_env_t *env)
{
    while (env->flush.first) {
        cg_pss_t *pss = cg_dlist_entry(env->flush.first, cg_pss_t, flush);
        cg_dlist_remove(&env->flush, &pss->flush);
        /* lws_partial_buffered: no syscall, unlike lws_send_pipe_choked */
        if (pss->ws_deflate || lws_partial_buffered(pss->wsi)) {
            lws_callback_on_writable(pss->wsi);
            continue;
        }
        if (pss->handler->writeable(pss) < 0)
            lws_set_timeout(pss->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
    }
}

/* ---- routing -------------------------------------------------------------------------------- */

static bool path_is(const char *uri, const char *path)
{
    size_t n = strlen(path);
    return !strncmp(uri, path, n) && (uri[n] == '\0' || uri[n] == '/' || uri[n] == '?');
}

static const cg_handler_t *route(const cg_env_t *env, const char *uri)
{
    if (path_is(uri, env->cfg->bayeux.path))
        return &cg_handler_poll;
    if (!strcmp(uri, "/healthz") || !strcmp(uri, "/stats"))
        return &cg_handler_admin;
    return &cg_handler_static;
}

static void pss_init(cg_server_t *srv, cg_pss_t *pss, struct lws *wsi)
{
    memset(pss, 0, sizeof(*pss));
    pss->wsi = wsi;
    pss->env = &srv->env;
    cg_buf_init(&pss->in, 0);
    cg_buf_init(&pss->resp, LWS_PRE);
    cg_dlist_append(&srv->env.conns, &pss->link);
}

/* The request on `pss` is over (answered, or its connection gone): its handler lets go. */
static void request_closed(cg_pss_t *pss)
{
    if (pss->handler && pss->handler->closed)
        pss->handler->closed(pss);
    pss->handler = NULL;
}

static void pss_closed(cg_server_t *srv, cg_pss_t *pss)
{
    if (!pss || !pss->env)
        return;
    request_closed(pss);
    cg_http_closed(pss);
    cg_dlist_remove(&srv->env.conns, &pss->link);
    pss->env = NULL;
}

/* A request still unanswered when lws offers more bytes or the next request on the same
 * connection (pipelining): it is answered now. -1 closes the connection. */
static int hurry(cg_pss_t *pss)
{
    if (pss->state != HTTP_HELD && pss->state != HTTP_STREAMING && pss->state != HTTP_READING)
        return 0;
    if (!pss->handler || !pss->handler->hurry || pss->state == HTTP_READING)
        return -1;
    return pss->handler->hurry(pss);
}

static int http_request(cg_server_t *srv, cg_pss_t *pss, struct lws *wsi)
{
    if (!pss->env) {
        pss_init(srv, pss, wsi);
    } else if (pss->state == HTTP_HELD || pss->state == HTTP_STREAMING) {
        /* lws parsed the next request while this one was held: answer it first, without
         * completing the transaction lws has already moved past. */
        pss->superseded = true;
        int r = hurry(pss);
        pss->superseded = false;
        if (r < 0)
            return -1;
    }
    request_closed(pss);
    int r = cg_http_begin(pss);
    if (r)
        return r < 0 ? -1 : 0;
    pss->handler = route(&srv->env, pss->uri);
    return pss->handler->request(pss);
}

static int http_body_done(cg_pss_t *pss)
{
    if (pss->state != HTTP_READING) {
        /* lws repeats BODY_COMPLETION while bytes wait behind an unanswered request */
        return hurry(pss);
    }
    int r = cg_http_body_end(pss);
    if (r <= 0)
        return r;
    return pss->handler && pss->handler->body ? pss->handler->body(pss) : 0;
}

/* ---- the protocol callback ------------------------------------------------------------------ */

static void bus_publish(void *arg, const char *channel, const char *data, size_t len)
{
    cg_server_t *srv = arg;
    cg_bayeux_publish_data(srv->env.bayeux, channel, data, len);
}

void cg_server_drain_handoff(cg_server_t *srv)
{
    cg_handoff_handler_t h = {.publish = bus_publish, .arg = srv};
    cg_handoff_drain(srv->env.handoff, &h);
}

static int ws_receive(cg_pss_t *pss, const void *in, size_t len)
{
    const cg_config_t *cfg = pss->env->cfg;
    if (pss->in.len + len > (size_t)cfg->limits.max_ws_message) {
        cg_log(CG_LOG_WARN, TAG, "%s: WebSocket message over limits.max_ws_message (%lld bytes)",
               pss->peer, (long long)cfg->limits.max_ws_message);
        static const char reason[] = "message too big";
        lws_close_reason(pss->wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, (unsigned char *)reason,
                         sizeof(reason) - 1);
        return -1;
    }
    cg_buf_append(&pss->in, in, len);
    if (!lws_is_final_fragment(pss->wsi) || lws_remaining_packet_payload(pss->wsi))
        return 0;
    return pss->handler->message(pss);
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
            cg_server_drain_handoff(srv);
        return 0;

    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: {
        /* WebSocket upgrades only on the Bayeux path. */
        char uri[256];
        if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) < 0 ||
            !path_is(uri, srv->env.cfg->bayeux.path) || srv->env.stopping)
            return 1;
        return 0;
    }
    case LWS_CALLBACK_ESTABLISHED:
        if (pss->env) /* upgraded after keep-alive requests: drop their state */
            pss_closed(srv, pss);
        pss_init(srv, pss, wsi);
        pss->handler = &cg_handler_ws;
        pss->handler->established(pss);
        return 0;
    case LWS_CALLBACK_RECEIVE:
        return pss->handler == &cg_handler_ws ? ws_receive(pss, in, len) : -1;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return pss->handler == &cg_handler_ws ? pss->handler->writeable(pss) : 0;
    case LWS_CALLBACK_CLOSED:
        pss_closed(srv, pss);
        return 0;

    case LWS_CALLBACK_HTTP:
        return http_request(srv, pss, wsi);
    case LWS_CALLBACK_HTTP_BODY:
        if (!pss->env)
            return 0;
        switch (cg_http_body(pss, in, len)) {
        case 0:
            return 0;
        case 1:
            return pss->handler && pss->handler->body ? pss->handler->body(pss) : 0;
        default:
            return -1;
        }
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        if (!pss->env)
            return 0;
        return http_body_done(pss);
    case LWS_CALLBACK_HTTP_WRITEABLE:
        if (pss && pss->env && pss->state == HTTP_CLOSING)
            return -1;
        if (!pss || !pss->env || !pss->handler || !pss->handler->writeable)
            break;
        return pss->handler->writeable(pss);
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        /* A finished keep-alive transaction: lws frees the pss without CLOSED_HTTP. */
    case LWS_CALLBACK_CLOSED_HTTP:
        pss_closed(srv, pss);
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
    if (srv && srv->env.flush.first)
        flush_all(&srv->env);
    return r;
}

/* ---- tick, run, lifecycle ------------------------------------------------------------------ */

/* Pings the WebSockets that wrote nothing for ws_ping_s, oldest first, a bounded number. */
static void ping_idle(cg_env_t *env, uint64_t now)
{
    uint64_t ping_ms = (uint64_t)env->cfg->bayeux.ws_ping_s * 1000;
    if (!ping_ms)
        return;
    size_t budget = (env->npingable * (TICK_US / LWS_US_PER_MS) + ping_ms - 1) / ping_ms;
    if (budget < MIN_PINGS_PER_TICK)
        budget = MIN_PINGS_PER_TICK;
    for (size_t i = 0; i < budget && env->pingable.first; i++) {
        cg_pss_t *p = cg_dlist_entry(env->pingable.first, cg_pss_t, ping);
        if (now - p->ws_last_write_ms < ping_ms)
            break;
        /* to the back now: its ping counts as a write */
        p->ws_last_write_ms = now;
        cg_dlist_remove(&env->pingable, &p->ping);
        cg_dlist_append(&env->pingable, &p->ping);
        p->ws_ping_due = true;
        lws_callback_on_writable(p->wsi);
    }
}

static void tick_cb(lws_sorted_usec_list_t *sul)
{
    cg_server_t *srv = lws_container_of(sul, cg_server_t, tick);
    cg_env_t *env = &srv->env;
    cg_bayeux_tick(env->bayeux);
    uint64_t now = cg_now_ms();
    ping_idle(env, now);
    cg_http_check_slow(env);
    int64_t stats_ms = env->cfg->stats_interval_ms;
    if (stats_ms > 0 && now - srv->last_stats_ms >= (uint64_t)stats_ms) {
        srv->last_stats_ms = now;
        cg_buf_t b;
        cg_buf_init(&b, 0);
        cg_admin_stats_json(env, &b);
        if (b.len)
            cg_bayeux_publish_data(env->bayeux, "/cometgate/stats", cg_buf_data(&b), b.len);
        cg_buf_free(&b);
    }
    flush_all(env);
    lws_sul_schedule(srv->ctx, 0, &srv->tick, tick_cb, TICK_US);
}

static void lws_log_to_cg(int level, const char *line)
{
    cg_log_level_t l = level & LLL_ERR ? CG_LOG_ERR : level & LLL_WARN ? CG_LOG_WARN : CG_LOG_INFO;
    cg_log(l, "lws", "%s", line);
}

#ifndef CG_INSTALL_DATADIR
#define CG_INSTALL_DATADIR "/usr/local/share/cometgate"
#define CG_INSTALL_DATADIR_FROM_BINDIR "../share/cometgate"
#endif

/* A relative static_dir is looked up from the working directory, then beside the binary
 * (build/cometgate finds ../web), then in the data directory `cmake --install` filled: relative
 * to the binary (bin/../share/cometgate/web, wherever the tree was installed), then at the
 * configured prefix. So the gateway serves its pages wherever it is started. */
static bool resolve_static_dir(const char *dir, char *out)
{
    if (realpath(dir, out))
        return true;
    if (dir[0] == '/')
        return false;
    char candidate[PATH_MAX + 300];
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    char *slash = NULL;
    if (n > 0) {
        exe[n] = '\0';
        slash = strrchr(exe, '/');
    }
    if (slash) {
        *slash = '\0';
        snprintf(candidate, sizeof(candidate), "%s/../%s", exe, dir);
        if (realpath(candidate, out))
            return true;
        snprintf(candidate, sizeof(candidate), "%s/%s", exe, dir);
        if (realpath(candidate, out))
            return true;
        snprintf(candidate, sizeof(candidate), "%s/%s/%s", exe, CG_INSTALL_DATADIR_FROM_BINDIR,
                 dir);
        if (realpath(candidate, out))
            return true;
    }
    snprintf(candidate, sizeof(candidate), "%s/%s", CG_INSTALL_DATADIR, dir);
    return realpath(candidate, out) != NULL;
}

static bool is_ipv4_literal(const char *host)
{
    struct in_addr a;
    return inet_pton(AF_INET, host, &a) == 1;
}

cg_server_t *cg_server_create(const cg_config_t *cfg, cg_bayeux_t *bayeux, cg_handoff_t *handoff)
{
    cg_server_t *srv = calloc(1, sizeof(*srv));
    if (!srv)
        return NULL;
    srv->env.cfg = cfg;
    srv->env.bayeux = bayeux;
    srv->env.handoff = handoff;
    srv->env.started_ms = srv->last_stats_ms = cg_now_ms();

    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_to_cg);
    cg_lws_alloc_install();

    srv->protocols[0] = (struct lws_protocols){
        .name = "cometgate",
        .callback = callback,
        .per_session_data_size = sizeof(cg_pss_t),
        .rx_buffer_size = 1024,
    };
    /* protocols[1] stays zeroed: the list terminator */

    /* One callback mount for everything: server.c routes (Bayeux, /healthz, /stats, static
     * files), so every response goes through http.c's checks and headers. */
    srv->mount = (struct lws_http_mount){
        .mountpoint = "/",
        .mountpoint_len = 1,
        .origin = "cometgate",
        .origin_protocol = LWSMPRO_CALLBACK,
    };
    if (cfg->static_dir[0] && !resolve_static_dir(cfg->static_dir, srv->env.static_root)) {
        srv->env.static_root[0] = '\0';
        cg_log(CG_LOG_WARN, TAG, "static_dir '%s' not found: static files are off",
               cfg->static_dir);
    }

    struct lws_context_creation_info info;
    memset(&info, 0, sizeof(info));
    info.port = cfg->listen_port;
    info.iface = cfg->listen_host;
    info.protocols = srv->protocols;
    info.mounts = &srv->mount;
    info.user = srv;
    info.options = LWS_SERVER_OPTION_VALIDATE_UTF8;
    /* With IPv6 on, lws 4.1 silently binds every address for an IPv4 iface. */
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
     * loop) so stopping stays in our hands (not libuv: lws tears itself down inside uv_run on
     * SIGTERM and the loop spins). */
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
    return srv->vhost ? lws_get_vhost_listen_port(srv->vhost) : srv->env.cfg->listen_port;
}

int cg_server_service(cg_server_t *srv, int timeout_ms)
{
    cg_lws_alloc_release();
    if (srv->loop) {
        ev_run(srv->loop, timeout_ms ? EVRUN_ONCE : EVRUN_NOWAIT);
        return 0;
    }
    /* lws 4.1 waits until its next timer for any timeout >= 0; -1 is "do not wait" */
    return lws_service(srv->ctx, timeout_ms ? timeout_ms : -1) < 0 ? -1 : 0;
}

int cg_server_run(cg_server_t *srv, const cg_server_signals_t *signals, int drain_ms)
{
    cg_env_t *env = &srv->env;
    int rc = 0;
    while (!*signals->stop) {
        if (cg_server_service(srv, 1) < 0) {
            rc = -1;
            break;
        }
        if (signals->hup && *signals->hup) {
            *signals->hup = 0;
            cg_log(CG_LOG_NOTICE, TAG,
                   "SIGHUP received: configuration reload is not implemented yet; serving on");
        }
    }
    /* Graceful stop: answer every held connect with handshake advice, close WebSockets with
     * "going away", close idle keep-alive connections, and give the writes a bounded time. */
    env->stopping = true;
    cg_log(CG_LOG_NOTICE, TAG, "stopping: telling sessions to reconnect");
    cg_bayeux_shutdown(env->bayeux);
    for (cg_dlink_t *n = env->conns.first; n; n = n->next) {
        cg_pss_t *p = cg_dlist_entry(n, cg_pss_t, link);
        if (p->handler == &cg_handler_ws) {
            p->ws_closing = true;
            lws_set_timeout(p->wsi, PENDING_TIMEOUT_CLOSE_SEND, 1);
            lws_callback_on_writable(p->wsi);
        } else if (p->state == HTTP_HELD || p->state == HTTP_STREAMING) {
            lws_callback_on_writable(p->wsi);
        } else if (p->state != HTTP_READING) {
            /* idle keep-alive: nothing to answer */
            lws_set_timeout(p->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
        }
    }
    flush_all(env);
    uint64_t deadline = cg_now_ms() + (uint64_t)drain_ms;
    while (env->conns.first && cg_now_ms() < deadline) {
        if (cg_server_service(srv, 1) < 0)
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
    cg_lws_alloc_release();
    if (srv->loop)
        ev_loop_destroy(srv->loop);
    free(srv);
}
