/* cg-load worker: epoll loop, connection I/O, Bayeux / nchan client logic.
 *
 * Single-threaded: everything here runs on the worker process's only thread.
 * Connections live in one array allocated at start and are never freed while
 * the loop runs, so a conn_t pointer stays valid across a close and a later
 * reconnect (a closed conn has fd == -1 and is skipped by stale events).
 *
 * Receive path: recv() into a per-worker scratch buffer; complete frames /
 * responses are scanned in place; only an incomplete tail is copied into the
 * connection's own buffer (allocated on demand, freed when empty), so 19,000
 * idle connections cost little memory. */
#define _GNU_SOURCE
#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "httpresp.h"
#include "jscan.h"
#include "stats.h"
#include "wsproto.h"

#define SCRATCH_CAP (1u << 20)
#define MAX_MSG (64u << 20)    /* largest frame / body accepted */
#define MAX_WBUF (16u << 20)   /* a connection backlogged past this is dropped */
#define PUB_BACKLOG (1u << 20) /* a publisher past this is skipped */
#define MAX_EVENTS 1024

enum io_state { IO_IDLE, IO_CONNECTING, IO_WS_UPGRADE, IO_WS, IO_HTTP, IO_DEAD };
enum role { R_RECV, R_PUB };
enum hstate { H_HEAD, H_BODY_CL, H_CHUNK_SIZE, H_CHUNK_DATA, H_CHUNK_CRLF, H_TRAILER, H_BODY_EOF };
enum next { NX_SUB = 1, NX_CONNECT = 2, NX_HANDSHAKE = 4 };

typedef struct conn {
    int fd;
    uint8_t io;
    uint8_t role;
    uint8_t transport; /* CG_TR_WS / CG_TR_LP / CG_TR_STREAM */
    uint8_t hstate;
    uint8_t sse; /* current HTTP response is text/event-stream */
    uint8_t is_connected, is_ready;
    uint8_t next;      /* NX_* requests to send when allowed */
    uint8_t http_busy; /* cometd over HTTP: a request is outstanding */
    uint8_t fails;
    uint8_t delayed; /* next is deferred until retry_at (advice.interval) */
    uint8_t frag;    /* a fragmented WS message is being reassembled */
    uint32_t idx;    /* global client index */
    uint32_t room;
    uint32_t msgid;
    uint32_t inflight;  /* nchan publisher: POSTs awaiting a response */
    int http_status;    /* status of the HTTP response being read */
    uint8_t http_close; /* that response said Connection: close */
    uint32_t events;
    uint64_t retry_at_ms;
    long long body_left;
    char *rbuf;
    uint32_t rlen, rcap;
    char *wbuf;
    uint32_t wlen, wcap;
    char *mbuf;
    uint32_t mlen, mcap;
    char client_id[48];
    char cookie[64];
    char key[25];
} conn_t;

typedef struct worker {
    const cg_opts_t *o;
    const cg_worker_spec_t *spec;
    int ep;
    int timer_fd;
    conn_t *conns;
    uint32_t nconns;
    uint32_t started;
    uint64_t start_ms;
    uint64_t go_ms;
    char *scratch;
    char *tmp;
    size_t tmp_cap;
    char *filler;
    uint64_t rng;
    int measuring;
    int publishing;
    int pending_retries;
    uint32_t nrooms;
    uint32_t rr;
    long tick_msgs;
    cg_stats_t st;
} worker_t;

static char ctl_tag, timer_tag;

static uint64_t now_us_real(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t now_ms_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint32_t rnd(worker_t *w)
{
    /* xorshift64*: masks and room picks only, not security */
    w->rng ^= w->rng >> 12;
    w->rng ^= w->rng << 25;
    w->rng ^= w->rng >> 27;
    return (uint32_t)((w->rng * 2685821657736338717ull) >> 32);
}

static int buf_append(char **b, uint32_t *len, uint32_t *cap, const void *p, size_t n, size_t limit)
{
    if ((size_t)*len + n > limit)
        return -1;
    if (*len + n > *cap) {
        size_t nc = *cap ? *cap : 4096;
        while (nc < *len + n)
            nc *= 2;
        char *nb = realloc(*b, nc);
        if (!nb)
            return -1;
        *b = nb;
        *cap = (uint32_t)nc;
    }
    memcpy(*b + *len, p, n);
    *len += (uint32_t)n;
    return 0;
}

static void tmp_reserve(worker_t *w, size_t n)
{
    if (n <= w->tmp_cap)
        return;
    size_t nc = w->tmp_cap;
    while (nc < n)
        nc *= 2;
    char *t = realloc(w->tmp, nc);
    if (!t) {
        fprintf(stderr, "cg-load: out of memory\n");
        _exit(3);
    }
    w->tmp = t;
    w->tmp_cap = nc;
}

static void ep_set(worker_t *w, conn_t *c, uint32_t ev)
{
    if (c->events == ev)
        return;
    struct epoll_event e = {.events = ev, .data.ptr = c};
    epoll_ctl(w->ep, EPOLL_CTL_MOD, c->fd, &e);
    c->events = ev;
}

/* ---- connection lifecycle ---- */

static void conn_reset_bufs(conn_t *c)
{
    free(c->rbuf);
    free(c->wbuf);
    free(c->mbuf);
    c->rbuf = c->wbuf = c->mbuf = NULL;
    c->rlen = c->rcap = c->wlen = c->wcap = c->mlen = c->mcap = 0;
}

/* Close the socket. failed: count it and schedule a bounded reconnect. */
static void conn_close(worker_t *w, conn_t *c, int failed)
{
    if (c->fd >= 0) {
        epoll_ctl(w->ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
        c->fd = -1;
    }
    conn_reset_bufs(c);
    if (c->is_ready)
        w->st.ready--;
    if (c->is_connected)
        w->st.connected--;
    if (failed) {
        if (c->is_connected)
            w->st.disconnects++;
        else
            w->st.conn_fail++;
    }
    c->is_ready = c->is_connected = 0;
    c->inflight = 0;
    c->http_busy = 0;
    c->next = 0;
    c->delayed = 0;
    c->frag = 0;
    c->client_id[0] = 0;
    c->cookie[0] = 0;
    if (!failed) {
        c->io = IO_DEAD;
        return;
    }
    c->fails++;
    if (c->fails > w->o->max_retries) {
        c->io = IO_DEAD;
        w->st.gave_up++;
        return;
    }
    c->io = IO_IDLE;
    c->retry_at_ms = now_ms_mono() + 500u * c->fails;
    w->pending_retries++;
}

static void conn_open(worker_t *w, conn_t *c)
{
    const cg_opts_t *o = w->o;
    int fam = o->addr.ss_family;
    w->st.attempts++;
    c->fd = socket(fam, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        conn_close(w, c, 1);
        return;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (fam == AF_INET) {
        /* spread over source addresses; the port is chosen at connect() so it
         * is shared across destinations (4-tuple unique), see ip(7) */
        struct sockaddr_in src = {.sin_family = AF_INET};
        src.sin_addr.s_addr = htonl(0x7f000000u | (uint32_t)(2 + c->idx % (uint32_t)o->src_addrs));
        setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
        if (bind(c->fd, (struct sockaddr *)&src, sizeof(src)) != 0) {
            conn_close(w, c, 1);
            return;
        }
    }
    if (connect(c->fd, (const struct sockaddr *)&o->addr, o->addrlen) != 0 &&
        errno != EINPROGRESS) {
        conn_close(w, c, 1);
        return;
    }
    c->io = IO_CONNECTING;
    c->hstate = H_HEAD;
    c->events = EPOLLOUT;
    struct epoll_event e = {.events = EPOLLOUT, .data.ptr = c};
    if (epoll_ctl(w->ep, EPOLL_CTL_ADD, c->fd, &e) != 0)
        conn_close(w, c, 1);
}

static int conn_flush(worker_t *w, conn_t *c)
{
    while (c->wlen) {
        ssize_t n = send(c->fd, c->wbuf, c->wlen, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR)
                break;
            conn_close(w, c, 1);
            return -1;
        }
        memmove(c->wbuf, c->wbuf + n, c->wlen - (size_t)n);
        c->wlen -= (uint32_t)n;
    }
    ep_set(w, c, c->wlen ? EPOLLIN | EPOLLOUT : EPOLLIN);
    return 0;
}

static int conn_write(worker_t *w, conn_t *c, const void *p, size_t n)
{
    if (c->wlen == 0) {
        ssize_t s = send(c->fd, p, n, MSG_NOSIGNAL);
        if (s < 0) {
            if (errno != EAGAIN && errno != EINTR) {
                conn_close(w, c, 1);
                return -1;
            }
            s = 0;
        }
        if ((size_t)s == n)
            return 0;
        p = (const char *)p + s;
        n -= (size_t)s;
    }
    if (buf_append(&c->wbuf, &c->wlen, &c->wcap, p, n, MAX_WBUF) != 0) {
        conn_close(w, c, 1);
        return -1;
    }
    ep_set(w, c, EPOLLIN | EPOLLOUT);
    return 0;
}

/* ---- request builders ---- */

static int ws_send_text(worker_t *w, conn_t *c, const char *p, size_t n)
{
    tmp_reserve(w, n + CG_WS_MAX_HDR);
    size_t fl = cg_ws_encode((uint8_t *)w->tmp, CG_WS_OP_TEXT, p, n, rnd(w));
    return conn_write(w, c, w->tmp, fl);
}

static int send_upgrade(worker_t *w, conn_t *c, const char *path)
{
    char req[512];
    cg_ws_make_key(c->key);
    int n = snprintf(req, sizeof(req),
                     "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n",
                     path, w->o->host_hdr, c->key);
    c->io = IO_WS_UPGRADE;
    return conn_write(w, c, req, (size_t)n);
}

/* POST with body already in place after HDR_ROOM bytes of w->tmp */
#define HDR_ROOM 512
static int http_post_tmp(worker_t *w, conn_t *c, const char *path, size_t body_len)
{
    char hdr[HDR_ROOM];
    int hn = snprintf(hdr, sizeof(hdr),
                      "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                      "Content-Length: %zu\r\n%s%s%s\r\n",
                      path, w->o->host_hdr, body_len, c->cookie[0] ? "Cookie: " : "", c->cookie,
                      c->cookie[0] ? "\r\n" : "");
    if (hn <= 0 || hn >= HDR_ROOM)
        return -1;
    char *start = w->tmp + HDR_ROOM - hn;
    memcpy(start, hdr, (size_t)hn);
    return conn_write(w, c, start, (size_t)hn + body_len);
}

static const char *conn_type_name(const conn_t *c)
{
    return c->transport == CG_TR_WS   ? "websocket"
           : c->transport == CG_TR_LP ? "long-polling"
                                      : "http-streaming";
}

/* Send a Bayeux message array held in w->tmp + HDR_ROOM. */
static int bayeux_send_tmp(worker_t *w, conn_t *c, size_t n)
{
    if (c->transport == CG_TR_WS)
        return ws_send_text(w, c, w->tmp + HDR_ROOM, n);
    c->http_busy = 1;
    return http_post_tmp(w, c, w->o->path, n);
}

static size_t fmt_tmp(worker_t *w, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(w->tmp + HDR_ROOM, w->tmp_cap - HDR_ROOM - CG_WS_MAX_HDR, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < w->tmp_cap - HDR_ROOM - CG_WS_MAX_HDR)
            return (size_t)n;
        tmp_reserve(w, w->tmp_cap * 2);
    }
}

static void recv_channel(const worker_t *w, const conn_t *c, char *out, size_t cap)
{
    if (w->o->scenario == CG_SC_CHAT)
        snprintf(out, cap, "%s/%u", w->o->channel, c->room);
    else
        snprintf(out, cap, "%s", w->o->channel);
}

static void chat_channel(const worker_t *w, uint32_t room, char *out, size_t cap)
{
    if (w->o->scenario == CG_SC_CHAT)
        snprintf(out, cap, "%s/%u", w->o->channel, room);
    else
        snprintf(out, cap, "%s", w->o->channel);
}

/* nchan channel id from a Bayeux-style name: "/chat/12" -> "chat_12" */
static void nchan_id(const char *ch, char *out, size_t cap)
{
    size_t j = 0;
    for (const char *p = ch; *p && j + 1 < cap; p++) {
        if (p == ch && *p == '/')
            continue;
        out[j++] = *p == '/' ? '_' : *p;
    }
    out[j] = 0;
}

static int bayeux_send_next(worker_t *w, conn_t *c)
{
    if (c->next & NX_HANDSHAKE) {
        c->next = 0;
        size_t n = fmt_tmp(
            w,
            "[{\"channel\":\"/meta/handshake\",\"version\":\"1.0\",\"minimumVersion\":\"1.0\","
            "\"supportedConnectionTypes\":[\"%s\"],\"id\":\"%u\"}]",
            conn_type_name(c), ++c->msgid);
        return bayeux_send_tmp(w, c, n);
    }
    if (c->next & NX_SUB) {
        char ch[160];
        recv_channel(w, c, ch, sizeof(ch));
        c->next &= (uint8_t)~NX_SUB;
        size_t n =
            fmt_tmp(w,
                    "[{\"channel\":\"/meta/"
                    "subscribe\",\"clientId\":\"%s\",\"subscription\":\"%s\",\"id\":\"%u\"}]",
                    c->client_id, ch, ++c->msgid);
        if (bayeux_send_tmp(w, c, n) != 0)
            return -1;
        if (c->transport != CG_TR_WS)
            return 0; /* HTTP: one request at a time */
    }
    if (c->next & NX_CONNECT) {
        c->next &= (uint8_t)~NX_CONNECT;
        size_t n =
            fmt_tmp(w,
                    "[{\"channel\":\"/meta/"
                    "connect\",\"clientId\":\"%s\",\"connectionType\":\"%s\",\"id\":\"%u\"}]",
                    c->client_id, conn_type_name(c), ++c->msgid);
        return bayeux_send_tmp(w, c, n);
    }
    return 0;
}

/* send pending requests if the transport allows it now */
static int bayeux_pump(worker_t *w, conn_t *c)
{
    if (!c->next || c->delayed)
        return 0;
    if (c->transport != CG_TR_WS && c->http_busy)
        return 0;
    return bayeux_send_next(w, c);
}

/* ---- receive side ---- */

static void on_delivery(worker_t *w, cg_span_t data, uint64_t now_us)
{
    double ts;
    w->st.received++;
    if (data.p && cg_jscan_path_num(data, w->o->ts_field, &ts)) {
        double t_us = ts * w->o->ts_scale;
        uint64_t lat = (double)now_us > t_us ? (uint64_t)((double)now_us - t_us) : 0;
        cg_hist_record(&w->st.hist, lat);
    } else {
        w->st.no_ts++;
    }
}

#define KEYIS(k, lit) ((k).n == sizeof(lit) - 1 && memcmp((k).p, lit, sizeof(lit) - 1) == 0)

/* One Bayeux payload (array or object). Returns -1 if the conn was closed. */
static int on_bayeux(worker_t *w, conn_t *c, const char *p, size_t n, uint64_t now_us)
{
    const char *it = p, *end = p + n;
    cg_span_t m;
    int r;
    while ((r = cg_jscan_arr_next(&it, end, &m)) == 1) {
        cg_span_t k, v, channel = {0}, data = {0}, succ = {0}, cid = {0}, advice = {0};
        const char *mi = cg_jscan_ws(m.p, m.p + m.n);
        if (mi >= m.p + m.n || *mi != '{') {
            w->st.bayeux_err++;
            continue;
        }
        while (cg_jscan_obj_next(&mi, m.p + m.n, &k, &v) == 1) {
            if (KEYIS(k, "channel"))
                cg_jscan_str(v, &channel);
            else if (KEYIS(k, "data"))
                data = v;
            else if (KEYIS(k, "successful"))
                succ = v;
            else if (KEYIS(k, "clientId"))
                cg_jscan_str(v, &cid);
            else if (KEYIS(k, "advice"))
                advice = v;
        }
        if (!channel.p) {
            w->st.bayeux_err++;
            continue;
        }
        int ok = succ.p && succ.n == 4 && memcmp(succ.p, "true", 4) == 0;
        if (channel.n > 6 && memcmp(channel.p, "/meta/", 6) == 0) {
            cg_span_t rest = {channel.p + 6, channel.n - 6};
            cg_span_t rc = {0};
            if (advice.p) {
                cg_span_t rv;
                if (cg_jscan_get(advice, "reconnect", 9, &rv))
                    cg_jscan_str(rv, &rc);
            }
            int want_handshake = rc.p && rc.n == 9 && memcmp(rc.p, "handshake", 9) == 0;
            int want_none = rc.p && rc.n == 4 && memcmp(rc.p, "none", 4) == 0;
            if (KEYIS(rest, "handshake")) {
                if (!ok || !cid.p || cid.n >= sizeof(c->client_id)) {
                    w->st.bayeux_err++;
                    conn_close(w, c, 1);
                    return -1;
                }
                memcpy(c->client_id, cid.p, cid.n);
                c->client_id[cid.n] = 0;
                if (c->role == R_PUB) {
                    c->next = NX_CONNECT;
                    if (!c->is_ready) {
                        c->is_ready = 1;
                        c->fails = 0;
                        w->st.ready++;
                    }
                } else {
                    c->next = c->transport == CG_TR_WS ? NX_SUB | NX_CONNECT : NX_SUB;
                }
            } else if (KEYIS(rest, "subscribe")) {
                if (ok) {
                    if (!c->is_ready) {
                        c->is_ready = 1;
                        c->fails = 0;
                        w->st.ready++;
                    }
                    if (c->transport != CG_TR_WS)
                        c->next |= NX_CONNECT;
                } else {
                    w->st.bayeux_err++;
                    if (want_handshake)
                        c->next = NX_HANDSHAKE;
                }
            } else if (KEYIS(rest, "connect")) {
                w->st.connects++;
                if (ok) {
                    c->next |= NX_CONNECT;
                    cg_span_t iv;
                    if (advice.p && cg_jscan_get(advice, "interval", 8, &iv)) {
                        long ms = strtol(iv.p, NULL, 10);
                        if (ms > 0) {
                            c->delayed = 1;
                            c->retry_at_ms = now_ms_mono() + (uint64_t)(ms > 60000 ? 60000 : ms);
                            w->pending_retries++;
                        }
                    }
                } else if (want_none) {
                    w->st.bayeux_err++;
                    conn_close(w, c, 1);
                    return -1;
                } else if (want_handshake) {
                    w->st.bayeux_err++;
                    w->st.rehandshakes++;
                    if (c->is_ready) {
                        c->is_ready = 0;
                        w->st.ready--;
                    }
                    c->next = NX_HANDSHAKE;
                } else {
                    /* refused but told to retry: wait a second, not a hot loop */
                    w->st.bayeux_err++;
                    c->next |= NX_CONNECT;
                    c->delayed = 1;
                    c->retry_at_ms = now_ms_mono() + 1000;
                    w->pending_retries++;
                }
            }
            continue;
        }
        if (data.p) {
            on_delivery(w, data, now_us);
        } else if (succ.p) {
            if (ok)
                w->st.acked++;
            else
                w->st.pub_err++;
        }
    }
    if (r < 0)
        w->st.bayeux_err++;
    return 0;
}

static int on_ws_message(worker_t *w, conn_t *c, const char *p, size_t n, uint64_t now_us)
{
    if (w->o->kind == CG_KIND_NCHAN) {
        cg_span_t d = {p, n};
        on_delivery(w, d, now_us);
        return 0;
    }
    if (on_bayeux(w, c, p, n, now_us) < 0)
        return -1;
    return bayeux_pump(w, c);
}

/* text/event-stream: events end with a blank line; each "data:" line holds one
 * Bayeux array. Complete events are handled in place; a partial tail is kept. */
static int sse_events(worker_t *w, conn_t *c, const char *p, size_t n, size_t *used,
                      uint64_t now_us)
{
    size_t off = 0;
    for (;;) {
        const char *e = memmem(p + off, n - off, "\n\n", 2);
        if (!e)
            break;
        const char *line = p + off;
        while (line < e) {
            const char *eol = memchr(line, '\n', (size_t)(e - line));
            if (!eol)
                eol = e;
            if (eol - line > 5 && memcmp(line, "data:", 5) == 0) {
                const char *d = line + 5;
                if (*d == ' ')
                    d++;
                if (on_bayeux(w, c, d, (size_t)(eol - d), now_us) < 0)
                    return -1;
            }
            line = eol + 1;
        }
        off = (size_t)(e + 2 - p);
    }
    *used = off;
    return 0;
}

static int sse_feed(worker_t *w, conn_t *c, const char *p, size_t n, uint64_t now_us)
{
    size_t used;
    if (c->mlen == 0) {
        if (sse_events(w, c, p, n, &used, now_us) < 0)
            return -1;
        if (used < n && buf_append(&c->mbuf, &c->mlen, &c->mcap, p + used, n - used, MAX_MSG) != 0)
            goto fail;
        return 0;
    }
    if (buf_append(&c->mbuf, &c->mlen, &c->mcap, p, n, MAX_MSG) != 0)
        goto fail;
    if (sse_events(w, c, c->mbuf, c->mlen, &used, now_us) < 0)
        return -1;
    memmove(c->mbuf, c->mbuf + used, c->mlen - used);
    c->mlen -= (uint32_t)used;
    return 0;
fail:
    conn_close(w, c, 1);
    return -1;
}

/* a whole HTTP response body (non-SSE) arrived */
static int on_http_body(worker_t *w, conn_t *c, int status, const char *p, size_t n,
                        uint64_t now_us)
{
    if (w->o->kind == CG_KIND_NCHAN) {
        /* publisher POST response */
        if (c->inflight)
            c->inflight--;
        if (status >= 200 && status < 300)
            w->st.acked++;
        else
            w->st.pub_err++;
        return 0;
    }
    c->http_busy = 0;
    if (status != 200) {
        w->st.bayeux_err++;
        conn_close(w, c, 1);
        return -1;
    }
    if (n && on_bayeux(w, c, p, n, now_us) < 0)
        return -1;
    return 0;
}

static int http_response_done(worker_t *w, conn_t *c, int status, const char *body, size_t n,
                              uint64_t now_us)
{
    int r;
    if (c->sse) {
        if (n && sse_feed(w, c, body, n, now_us) < 0)
            return -1;
        c->http_busy = 0;
        c->mlen = 0;
        r = status == 200 ? 0 : -1;
        if (r < 0) {
            w->st.bayeux_err++;
            conn_close(w, c, 1);
            return -1;
        }
    } else if (on_http_body(w, c, status, body, n, now_us) < 0) {
        return -1;
    }
    c->hstate = H_HEAD;
    c->mlen = 0;
    if (w->o->kind == CG_KIND_COMETD)
        return bayeux_pump(w, c);
    return 0;
}

static int ws_open_done(worker_t *w, conn_t *c)
{
    c->io = IO_WS;
    c->is_connected = 1;
    w->st.connected++;
    if (w->o->kind == CG_KIND_NCHAN) {
        c->is_ready = 1;
        c->fails = 0;
        w->st.ready++;
        return 0;
    }
    c->next = NX_HANDSHAKE;
    return bayeux_pump(w, c);
}

static int ws_frames(worker_t *w, conn_t *c, const char *buf, size_t n, size_t *used,
                     uint64_t now_us)
{
    size_t off = 0;
    while (off < n) {
        cg_ws_frame_t f;
        long fl = cg_ws_parse((const uint8_t *)buf + off, n - off, MAX_MSG, &f);
        if (fl == 0)
            break;
        if (fl < 0) {
            conn_close(w, c, 1);
            return -1;
        }
        off += (size_t)fl;
        const char *pl = (const char *)f.payload;
        switch (f.opcode) {
        case CG_WS_OP_TEXT:
        case CG_WS_OP_BINARY:
            if (c->frag) {
                conn_close(w, c, 1);
                return -1;
            }
            if (f.fin) {
                if (on_ws_message(w, c, pl, f.len, now_us) < 0)
                    return -1;
            } else {
                c->frag = 1;
                c->mlen = 0;
                if (buf_append(&c->mbuf, &c->mlen, &c->mcap, pl, f.len, MAX_MSG) != 0)
                    goto fail;
            }
            break;
        case CG_WS_OP_CONT:
            if (!c->frag || buf_append(&c->mbuf, &c->mlen, &c->mcap, pl, f.len, MAX_MSG) != 0)
                goto fail;
            if (f.fin) {
                size_t ml = c->mlen;
                c->frag = 0;
                c->mlen = 0;
                /* mbuf stays valid: nothing appends to it during the callback */
                if (on_ws_message(w, c, c->mbuf, ml, now_us) < 0)
                    return -1;
            }
            break;
        case CG_WS_OP_PING: {
            uint8_t pong[CG_WS_MAX_HDR + 125];
            size_t pn = f.len > 125 ? 125 : (size_t)f.len;
            size_t tot = cg_ws_encode(pong, CG_WS_OP_PONG, pl, pn, rnd(w));
            if (conn_write(w, c, pong, tot) != 0)
                return -1;
            break;
        }
        case CG_WS_OP_CLOSE: {
            uint8_t cl[CG_WS_MAX_HDR + 2];
            size_t tot = cg_ws_encode(cl, CG_WS_OP_CLOSE, "\x03\xe8", 2, rnd(w));
            if (send(c->fd, cl, tot, MSG_NOSIGNAL) < 0) {
                /* closing anyway */
            }
            conn_close(w, c, 1);
            return -1;
        }
        default:
            break;
        }
    }
    *used = off;
    return 0;
fail:
    conn_close(w, c, 1);
    return -1;
}

/* the HTTP response being read is complete; body is the non-SSE body */
static int http_done(worker_t *w, conn_t *c, const char *body, size_t n, uint64_t now_us)
{
    int close_after = c->http_close;
    if (http_response_done(w, c, c->http_status, body, n, now_us) < 0)
        return -1;
    if (close_after) {
        conn_close(w, c, 1);
        return -1;
    }
    return 0;
}

/* Consume what can be consumed of buf. Returns bytes used, or -1 if closed. */
static long conn_process(worker_t *w, conn_t *c, const char *buf, size_t n, uint64_t now_us)
{
    size_t off = 0;
    while (off < n) {
        const char *p = buf + off;
        size_t avail = n - off;
        if (c->io == IO_WS_UPGRADE) {
            cg_http_head_t h;
            long hl = cg_http_head_parse(p, avail, 16384, &h);
            if (hl == 0)
                break;
            char expect[29];
            cg_ws_accept_for(c->key, expect);
            if (hl < 0 || h.status != 101 || strcmp(h.accept, expect) != 0) {
                conn_close(w, c, 1);
                return -1;
            }
            off += (size_t)hl;
            if (ws_open_done(w, c) < 0)
                return -1;
            continue;
        }
        if (c->io == IO_WS) {
            size_t used;
            if (ws_frames(w, c, p, avail, &used, now_us) < 0)
                return -1;
            off += used;
            break;
        }
        if (c->io != IO_HTTP)
            break;
        switch (c->hstate) {
        case H_HEAD: {
            cg_http_head_t h;
            long hl = cg_http_head_parse(p, avail, 16384, &h);
            if (hl == 0)
                return (long)off;
            if (hl < 0 || h.content_length > (long long)MAX_MSG) {
                conn_close(w, c, 1);
                return -1;
            }
            off += (size_t)hl;
            if (h.cookie[0])
                snprintf(c->cookie, sizeof(c->cookie), "%s", h.cookie);
            c->sse = memmem(p, (size_t)hl, "text/event-stream", 17) != NULL;
            c->http_status = h.status;
            c->http_close = (uint8_t)h.close;
            c->mlen = 0;
            c->body_left = h.content_length;
            if (h.chunked) {
                c->hstate = H_CHUNK_SIZE;
            } else if (h.content_length >= 0) {
                c->hstate = H_BODY_CL;
                if (h.content_length == 0 && http_done(w, c, NULL, 0, now_us) < 0)
                    return -1;
            } else {
                c->hstate = H_BODY_EOF;
            }
            break;
        }
        case H_BODY_CL: {
            size_t take = avail < (size_t)c->body_left ? avail : (size_t)c->body_left;
            if (c->sse) {
                if (sse_feed(w, c, p, take, now_us) < 0)
                    return -1;
                off += take;
                c->body_left -= (long long)take;
                if (c->body_left == 0 && http_done(w, c, NULL, 0, now_us) < 0)
                    return -1;
            } else if (c->mlen == 0 && take == (size_t)c->body_left) {
                off += take; /* whole body in place: no copy */
                c->body_left = 0;
                if (http_done(w, c, p, take, now_us) < 0)
                    return -1;
            } else {
                if (buf_append(&c->mbuf, &c->mlen, &c->mcap, p, take, MAX_MSG) != 0) {
                    conn_close(w, c, 1);
                    return -1;
                }
                off += take;
                c->body_left -= (long long)take;
                if (c->body_left == 0 && http_done(w, c, c->mbuf, c->mlen, now_us) < 0)
                    return -1;
            }
            break;
        }
        case H_CHUNK_SIZE: {
            unsigned long long sz;
            long ll = cg_http_chunk_line(p, avail, &sz);
            if (ll == 0)
                return (long)off;
            if (ll < 0 || sz > MAX_MSG) {
                conn_close(w, c, 1);
                return -1;
            }
            off += (size_t)ll;
            if (sz == 0) {
                c->hstate = H_TRAILER;
            } else {
                c->body_left = (long long)sz;
                c->hstate = H_CHUNK_DATA;
            }
            break;
        }
        case H_CHUNK_DATA: {
            size_t take = avail < (size_t)c->body_left ? avail : (size_t)c->body_left;
            if (c->sse) {
                if (sse_feed(w, c, p, take, now_us) < 0)
                    return -1;
            } else if (buf_append(&c->mbuf, &c->mlen, &c->mcap, p, take, MAX_MSG) != 0) {
                conn_close(w, c, 1);
                return -1;
            }
            off += take;
            c->body_left -= (long long)take;
            if (c->body_left == 0)
                c->hstate = H_CHUNK_CRLF;
            break;
        }
        case H_CHUNK_CRLF:
            if (avail < 2)
                return (long)off;
            off += 2;
            c->hstate = H_CHUNK_SIZE;
            break;
        case H_TRAILER: {
            const char *nl = memchr(p, '\n', avail);
            if (!nl)
                return (long)off;
            size_t ll = (size_t)(nl + 1 - p);
            off += ll;
            if (ll <= 2) {
                int sse = c->sse;
                if (http_done(w, c, sse ? NULL : c->mbuf, sse ? 0 : c->mlen, now_us) < 0)
                    return -1;
            }
            break;
        }
        case H_BODY_EOF:
            if (c->sse) {
                if (sse_feed(w, c, p, avail, now_us) < 0)
                    return -1;
            } else if (buf_append(&c->mbuf, &c->mlen, &c->mcap, p, avail, MAX_MSG) != 0) {
                conn_close(w, c, 1);
                return -1;
            }
            off = n;
            break;
        }
    }
    return (long)off;
}

static void conn_eof(worker_t *w, conn_t *c, uint64_t now_us)
{
    if (c->io == IO_HTTP && c->hstate == H_BODY_EOF) {
        c->http_close = 1;
        int sse = c->sse;
        if (http_done(w, c, sse ? NULL : c->mbuf, sse ? 0 : c->mlen, now_us) < 0)
            return;
    }
    conn_close(w, c, 1);
}

static void conn_read(worker_t *w, conn_t *c, uint64_t now_us)
{
    for (int iter = 0; iter < 8 && c->fd >= 0; iter++) {
        char *buf;
        size_t off, cap;
        if (c->rlen) {
            if (c->rcap - c->rlen < 65536) {
                size_t nc = (size_t)c->rcap * 2 > (size_t)c->rlen + 65536 ? (size_t)c->rcap * 2
                                                                          : (size_t)c->rlen + 65536;
                if (nc > MAX_MSG + 65536u) {
                    conn_close(w, c, 1);
                    return;
                }
                char *nb = realloc(c->rbuf, nc);
                if (!nb) {
                    conn_close(w, c, 1);
                    return;
                }
                c->rbuf = nb;
                c->rcap = (uint32_t)nc;
            }
            buf = c->rbuf;
            off = c->rlen;
            cap = c->rcap - c->rlen;
        } else {
            buf = w->scratch;
            off = 0;
            cap = SCRATCH_CAP;
        }
        ssize_t n = recv(c->fd, buf + off, cap, 0);
        if (n < 0) {
            if (errno != EAGAIN && errno != EINTR)
                conn_close(w, c, 1);
            return;
        }
        if (n == 0) {
            conn_eof(w, c, now_us);
            return;
        }
        w->st.bytes_in += (uint64_t)n;
        size_t total = off + (size_t)n;
        long used = conn_process(w, c, buf, total, now_us);
        if (used < 0)
            return; /* closed; buffers already released */
        size_t left = total - (size_t)used;
        if (buf == w->scratch) {
            if (left) {
                size_t nc = left < 4096 ? 4096 : left;
                c->rbuf = malloc(nc);
                if (!c->rbuf) {
                    conn_close(w, c, 1);
                    return;
                }
                c->rcap = (uint32_t)nc;
                memcpy(c->rbuf, buf + used, left);
                c->rlen = (uint32_t)left;
            }
        } else {
            memmove(c->rbuf, c->rbuf + used, left);
            c->rlen = (uint32_t)left;
            if (!left) {
                free(c->rbuf);
                c->rbuf = NULL;
                c->rcap = 0;
            }
        }
        if ((size_t)n < cap)
            return; /* socket drained */
    }
}

static void conn_connected(worker_t *w, conn_t *c)
{
    int err = 0;
    socklen_t el = sizeof(err);
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err != 0) {
        conn_close(w, c, 1);
        return;
    }
    ep_set(w, c, EPOLLIN);
    if (w->o->kind == CG_KIND_NCHAN) {
        if (c->role == R_RECV) {
            char ch[160], id[160], path[200];
            recv_channel(w, c, ch, sizeof(ch));
            nchan_id(ch, id, sizeof(id));
            snprintf(path, sizeof(path), "/sub?id=%s", id);
            send_upgrade(w, c, path);
        } else {
            c->io = IO_HTTP;
            c->hstate = H_HEAD;
            c->is_connected = c->is_ready = 1;
            c->fails = 0;
            w->st.connected++;
            w->st.ready++;
        }
        return;
    }
    if (c->transport == CG_TR_WS) {
        send_upgrade(w, c, w->o->path);
        return;
    }
    c->io = IO_HTTP;
    c->hstate = H_HEAD;
    c->is_connected = 1;
    w->st.connected++;
    c->next = NX_HANDSHAKE;
    bayeux_pump(w, c);
}

/* ---- publishing ---- */

static uint64_t room_members(const worker_t *w, uint32_t room)
{
    const cg_opts_t *o = w->o;
    if (o->scenario != CG_SC_CHAT)
        return (uint64_t)o->clients;
    long first = (long)room * o->room_size;
    long n = o->clients - first;
    return (uint64_t)(n < o->room_size ? n : o->room_size);
}

static conn_t *pick_pub(worker_t *w)
{
    for (uint32_t k = 0; k < w->nconns; k++) {
        conn_t *c = &w->conns[(w->rr + k) % w->nconns];
        if (!c->is_ready || c->fd < 0 || c->wlen > PUB_BACKLOG)
            continue;
        if (w->o->kind == CG_KIND_NCHAN && c->inflight >= (uint32_t)w->o->pub_inflight)
            continue;
        w->rr = (w->rr + k + 1) % w->nconns;
        return c;
    }
    return NULL;
}

static void publish_one(worker_t *w, uint32_t room)
{
    conn_t *c = pick_pub(w);
    if (!c) {
        w->st.pub_skipped++;
        return;
    }
    char ch[160];
    chat_channel(w, room, ch, sizeof(ch));
    unsigned long long t = (unsigned long long)now_us_real();
    if (w->o->kind == CG_KIND_COMETD) {
        size_t n = fmt_tmp(w,
                           "[{\"channel\":\"%s\",\"clientId\":\"%s\",\"id\":\"%u\",\"data\":{\"t\":"
                           "%llu,\"p\":\"%s\"}}]",
                           ch, c->client_id, ++c->msgid, t, w->filler);
        if (ws_send_text(w, c, w->tmp + HDR_ROOM, n) != 0)
            return;
    } else {
        char id[160], path[200];
        nchan_id(ch, id, sizeof(id));
        snprintf(path, sizeof(path), "/pub?id=%s", id);
        size_t n = fmt_tmp(w, "{\"t\":%llu,\"p\":\"%s\"}", t, w->filler);
        if (http_post_tmp(w, c, path, n) != 0)
            return;
        c->inflight++;
    }
    w->st.sent++;
    w->st.expected += room_members(w, room);
}

static void pub_tick(worker_t *w)
{
    uint64_t exp = 0;
    if (read(w->timer_fd, &exp, sizeof(exp)) != (ssize_t)sizeof(exp) || !w->publishing)
        return;
    if (exp > 10) { /* the loop fell behind: do not burst to catch up */
        w->st.pub_skipped += (exp - 10) * (uint64_t)w->tick_msgs;
        exp = 10;
    }
    const cg_opts_t *o = w->o;
    for (uint64_t e = 0; e < exp; e++) {
        if (o->scenario != CG_SC_CHAT) {
            for (long k = 0; k < w->tick_msgs; k++)
                publish_one(w, 0);
            continue;
        }
        long bursts = w->tick_msgs / o->burst_rooms;
        for (long b = 0; b < bursts; b++) {
            /* one message to each of burst_rooms distinct random rooms */
            uint32_t picked[64];
            long nb = o->burst_rooms;
            for (long k = 0; k < nb; k++) {
                uint32_t room;
                if ((uint32_t)nb >= w->nrooms) {
                    room = (uint32_t)k % w->nrooms;
                } else {
                    int tries = 0, dup;
                    do {
                        room = rnd(w) % w->nrooms;
                        dup = 0;
                        for (long j = 0; j < k && j < 64; j++)
                            dup |= picked[j] == room;
                    } while (dup && ++tries < 16);
                }
                if (k < 64)
                    picked[k] = room;
                publish_one(w, room);
            }
        }
    }
}

static void pub_timer_set(worker_t *w, int on)
{
    const cg_opts_t *o = w->o;
    struct itimerspec its = {0};
    if (on && o->rate > 0) {
        long per = o->scenario == CG_SC_CHAT ? o->burst_rooms : 1;
        /* one tick carries `per` messages; group ticks so they are >= 200 us apart */
        double interval_ns = 1e9 * (double)per / (double)o->rate;
        long group = 1;
        while (interval_ns * (double)group < 200000.0)
            group++;
        w->tick_msgs = per * group;
        long ns = (long)(interval_ns * (double)group);
        its.it_interval.tv_sec = ns / 1000000000L;
        its.it_interval.tv_nsec = ns % 1000000000L;
        its.it_value = its.it_interval;
    }
    timerfd_settime(w->timer_fd, 0, &its, NULL);
}

/* ---- stats and control ---- */

static void send_stats(worker_t *w, int final)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    w->st.cpu_us = (uint64_t)ru.ru_utime.tv_sec * 1000000u + (uint64_t)ru.ru_utime.tv_usec +
                   (uint64_t)ru.ru_stime.tv_sec * 1000000u + (uint64_t)ru.ru_stime.tv_usec;
    w->st.final = (uint32_t) final;
    w->st.measuring = (uint32_t)w->measuring;
    const char *p = (const char *)&w->st;
    size_t left = sizeof(w->st);
    while (left) {
        ssize_t n = write(w->spec->stats_fd, p, left);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            _exit(2); /* parent gone */
        }
        p += n;
        left -= (size_t)n;
    }
}

static void reset_measure(worker_t *w)
{
    cg_stats_t *s = &w->st;
    s->sent = s->acked = s->pub_err = s->pub_skipped = s->expected = 0;
    s->received = s->no_ts = s->bytes_in = 0;
    cg_hist_reset(&s->hist);
}

/* returns 1 when the worker must exit */
static int on_ctl(worker_t *w)
{
    char cmd[16];
    ssize_t n = read(w->spec->ctl_fd, cmd, sizeof(cmd));
    if (n <= 0)
        return n == 0 || (errno != EINTR && errno != EAGAIN);
    for (ssize_t i = 0; i < n; i++) {
        switch (cmd[i]) {
        case 'G':
            w->measuring = 1;
            reset_measure(w);
            if (w->spec->is_pub) {
                w->publishing = 1;
                pub_timer_set(w, 1);
            }
            break;
        case 'S':
            w->publishing = 0;
            if (w->spec->is_pub)
                pub_timer_set(w, 0);
            break;
        case 'Q':
            return 1;
        }
    }
    return 0;
}

static void service_retries(worker_t *w, uint64_t now_ms)
{
    int pending = 0;
    for (uint32_t i = 0; i < w->nconns; i++) {
        conn_t *c = &w->conns[i];
        if (c->io == IO_IDLE && i < w->started) {
            if (c->retry_at_ms <= now_ms)
                conn_open(w, c);
            else
                pending++;
        } else if (c->delayed) {
            if (c->retry_at_ms <= now_ms) {
                c->delayed = 0;
                bayeux_pump(w, c);
            } else {
                pending++;
            }
        }
    }
    w->pending_retries = pending;
}

void cg_worker_run(const cg_opts_t *o, const cg_worker_spec_t *spec)
{
    static worker_t w;
    w.o = o;
    w.spec = spec;
    w.st.magic = CG_STATS_MAGIC;
    w.st.worker = (uint32_t)spec->id;
    w.st.target = (uint64_t)spec->count;
    w.rng = 0x9e3779b97f4a7c15ull ^ ((uint64_t)getpid() << 17) ^ now_us_real();
    w.scratch = malloc(SCRATCH_CAP);
    w.tmp_cap = 65536 + (size_t)o->payload * 2;
    w.tmp = malloc(w.tmp_cap);
    w.filler = malloc((size_t)o->payload + 1);
    w.nconns = (uint32_t)spec->count;
    w.conns = calloc(w.nconns ? w.nconns : 1, sizeof(conn_t));
    w.ep = epoll_create1(EPOLL_CLOEXEC);
    if (!w.scratch || !w.tmp || !w.filler || !w.conns || w.ep < 0) {
        fprintf(stderr, "cg-load: worker %d: setup failed\n", spec->id);
        _exit(3);
    }
    memset(w.filler, 'x', (size_t)o->payload);
    w.filler[o->payload] = 0;
    w.nrooms =
        o->scenario == CG_SC_CHAT ? (uint32_t)((o->clients + o->room_size - 1) / o->room_size) : 1;
    for (uint32_t i = 0; i < w.nconns; i++) {
        conn_t *c = &w.conns[i];
        c->fd = -1;
        c->idx = (uint32_t)(spec->first + i);
        c->role = spec->is_pub ? R_PUB : R_RECV;
        int tr = spec->is_pub ? o->pub_transport : o->transport;
        c->transport = (uint8_t)(tr == CG_TR_MIX ? (int)(c->idx % 3) : tr);
        c->room = o->scenario == CG_SC_CHAT ? (uint32_t)(c->idx / (uint32_t)o->room_size) : 0;
    }
    struct epoll_event e = {.events = EPOLLIN, .data.ptr = &ctl_tag};
    epoll_ctl(w.ep, EPOLL_CTL_ADD, spec->ctl_fd, &e);
    w.timer_fd = -1;
    if (spec->is_pub) {
        w.timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        struct epoll_event te = {.events = EPOLLIN, .data.ptr = &timer_tag};
        epoll_ctl(w.ep, EPOLL_CTL_ADD, w.timer_fd, &te);
    }

    w.start_ms = now_ms_mono();
    uint64_t next_stats = w.start_ms + 1000, next_retry = w.start_ms + 50;
    uint64_t deadline = w.start_ms + (uint64_t)spec->deadline_s * 1000u;
    struct epoll_event evs[MAX_EVENTS];
    for (;;) {
        int n = epoll_wait(w.ep, evs, MAX_EVENTS, 10);
        uint64_t now_us = now_us_real();
        for (int i = 0; i < n; i++) {
            void *tag = evs[i].data.ptr;
            if (tag == &ctl_tag) {
                if (on_ctl(&w)) {
                    send_stats(&w, 1);
                    _exit(0);
                }
                continue;
            }
            if (tag == &timer_tag) {
                pub_tick(&w);
                continue;
            }
            conn_t *c = tag;
            if (c->fd < 0)
                continue; /* closed earlier in this batch */
            uint32_t ev = evs[i].events;
            if (ev & EPOLLOUT) {
                if (c->io == IO_CONNECTING) {
                    conn_connected(&w, c);
                    continue;
                }
                if (conn_flush(&w, c) != 0)
                    continue;
            }
            if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR))
                conn_read(&w, c, now_us);
        }
        uint64_t now_ms = now_ms_mono();
        if (w.started < w.nconns) {
            uint64_t due = spec->is_pub
                               ? w.nconns
                               : (uint64_t)spec->ramp_rate * (now_ms - w.start_ms) / 1000u + 1;
            if (due > w.nconns)
                due = w.nconns;
            /* bounded per iteration so the loop keeps serving the others */
            uint32_t burst = 0;
            while (w.started < due && burst++ < 2000) {
                conn_t *c = &w.conns[w.started++];
                conn_open(&w, c);
            }
        }
        if (w.pending_retries && now_ms >= next_retry) {
            service_retries(&w, now_ms);
            next_retry = now_ms + 50;
        }
        if (now_ms >= next_stats) {
            send_stats(&w, 0);
            next_stats += 1000;
            if (next_stats < now_ms)
                next_stats = now_ms + 1000;
        }
        if (now_ms >= deadline) {
            send_stats(&w, 1);
            _exit(0);
        }
    }
}
