#include "http.h"
#include "alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TAG "http"
#define SLOW_CHECKS_PER_TICK 512

static const char allow_methods[] = "GET, POST, HEAD, OPTIONS";

static void log_peer(cg_pss_t *pss, const char *what)
{
    cg_log_limited(&pss->env->http_limit, CG_LOG_WARN, TAG, "%s %s: %s", pss->peer,
                   pss->uri ? pss->uri : "-", what);
}

/* "12", "12, 12": one value however often it is repeated; -2 for a malformed or conflicting
 * list (request smuggling: two parsers disagreeing on where the body ends). */
static long long parse_content_length(const char *s)
{
    long long value = -1;
    while (*s) {
        while (*s == ' ' || *s == '\t' || *s == ',')
            s++;
        if (!*s)
            break;
        if (*s < '0' || *s > '9')
            return -2;
        long long v = 0;
        while (*s >= '0' && *s <= '9') {
            if (v > (1LL << 50))
                return -2;
            v = v * 10 + (*s++ - '0');
        }
        while (*s == ' ' || *s == '\t')
            s++;
        if (*s && *s != ',')
            return -2;
        if (value >= 0 && v != value)
            return -2;
        value = v;
    }
    return value;
}

static void reading_start(cg_pss_t *pss)
{
    pss->state = HTTP_READING;
    pss->body_start_ms = cg_now_ms();
    cg_dlist_append(&pss->env->reading, &pss->reading);
}

static void reading_stop(cg_pss_t *pss)
{
    cg_dlist_remove(&pss->env->reading, &pss->reading);
}

int cg_http_begin(cg_pss_t *pss)
{
    struct lws *wsi = pss->wsi;
    const cg_config_t *cfg = pss->env->cfg;
    reading_stop(pss);
    pss->state = HTTP_IDLE;
    pss->status = 200;
    pss->jsonp[0] = '\0';
    pss->chunked = false;
    pss->close_after = false;
    pss->stream_open = false;
    pss->content_length = -1;
    pss->body_seen = 0;
    pss->body_checked = false;
    cg_buf_reset(&pss->in);
    cg_buf_reset(&pss->resp);
    lws_get_peer_simple(wsi, pss->peer, sizeof(pss->peer));

    static const struct {
        enum lws_token_indexes tok;
        int method; /* -1: refused */
    } methods[] = {
        {WSI_TOKEN_GET_URI, CG_METHOD_GET},
        {WSI_TOKEN_POST_URI, CG_METHOD_POST},
        {WSI_TOKEN_HEAD_URI, CG_METHOD_HEAD},
        {WSI_TOKEN_OPTIONS_URI, CG_METHOD_OPTIONS},
        {WSI_TOKEN_PUT_URI, -1},
        {WSI_TOKEN_PATCH_URI, -1},
        {WSI_TOKEN_DELETE_URI, -1},
        {WSI_TOKEN_CONNECT, -1},
    };
    int method = -2;
    /* Kept per request, not per connection: tens of thousands of WebSockets need no path. */
    char uri[512];
    uri[0] = '\0';
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        if (lws_hdr_total_length(wsi, methods[i].tok) > 0) {
            method = methods[i].method;
            if (lws_hdr_copy(wsi, uri, sizeof(uri), methods[i].tok) < 0)
                uri[0] = '\0';
            break;
        }
    }
    free(pss->uri);
    pss->uri = cg_strdup(uri);
    pss->method = method >= 0 ? (cg_method_t)method : CG_METHOD_GET;
    if (method < 0) {
        pss->close_after = true;
        log_peer(pss, "method not allowed");
        return cg_http_respond_text(pss, 405, "method not allowed") < 0 ? -1 : 1;
    }
    if (!pss->uri[0]) {
        pss->close_after = true;
        return cg_http_respond_text(pss, 414, "URI too long") < 0 ? -1 : 1;
    }

    char te[64], cl[64];
    int te_len = lws_hdr_copy(wsi, te, sizeof(te), WSI_TOKEN_HTTP_TRANSFER_ENCODING);
    int cl_len = lws_hdr_copy(wsi, cl, sizeof(cl), WSI_TOKEN_HTTP_CONTENT_LENGTH);
    if (te_len != 0 || cl_len != 0) {
        /* Bodies are for POST; anything ambiguous ends the connection, since where the next
         * request starts is no longer certain. */
        pss->close_after = true;
        if (te_len < 0 || cl_len < 0) {
            log_peer(pss, "oversized framing header");
            return cg_http_respond_text(pss, 400, "bad request framing") < 0 ? -1 : 1;
        }
        if (te_len > 0 && cl_len > 0) {
            log_peer(pss, "both Content-Length and Transfer-Encoding");
            return cg_http_respond_text(pss, 400, "Content-Length with Transfer-Encoding") < 0 ? -1
                                                                                               : 1;
        }
        if (te_len > 0) {
            if (strcmp(te, "chunked")) {
                log_peer(pss, "unsupported Transfer-Encoding");
                return cg_http_respond_text(pss, 400, "unsupported Transfer-Encoding") < 0 ? -1 : 1;
            }
            /* lws stays in body mode after a chunked request and would not parse the next
             * one on this connection: it ends with this request. */
            pss->chunked = true;
            cg_chunked_init(&pss->chunk);
        } else {
            pss->content_length = parse_content_length(cl);
            if (pss->content_length == -2) {
                log_peer(pss, "conflicting Content-Length values");
                return cg_http_respond_text(pss, 400, "conflicting Content-Length") < 0 ? -1 : 1;
            }
            if (pss->content_length > cfg->limits.max_body) {
                cg_log_limited(&pss->env->http_limit, CG_LOG_WARN, TAG,
                               "%s %s: request body of %lld bytes over limits.max_body (%lld)",
                               pss->peer, pss->uri, pss->content_length,
                               (long long)cfg->limits.max_body);
                return cg_http_respond_error(pss, 413, "413::request body too large") < 0 ? -1 : 1;
            }
            pss->close_after = false;
        }
        if (pss->method != CG_METHOD_POST) {
            pss->close_after = true;
            return cg_http_respond_text(pss, 400, "a body is only accepted with POST") < 0 ? -1 : 1;
        }
    } else if (pss->method == CG_METHOD_POST) {
        pss->close_after = true;
        log_peer(pss, "POST without Content-Length");
        return cg_http_respond_text(pss, 411, "Content-Length required") < 0 ? -1 : 1;
    }
    if (pss->method == CG_METHOD_POST)
        reading_start(pss);
    return 0;
}

/* libwebsockets 4.1.6 hands a POST that it parsed from bytes pipelined behind another request
 * its own header bytes as body, then loops forever on the rest (docs/protocol.md). A Bayeux body is
 * a JSON array or object: its first byte that is not white space is '[' or '{', where such a
 * request's is a letter of its request line. A body that does not start so is answered 400 and
 * the connection closed, before lws can loop; a body of white space only is found at its end.
 * Returns 1 when `in` settles the question, 0 when it is still open (white space so far). */
static int json_start_seen(const char *in, size_t len, bool *json)
{
    for (size_t i = 0; i < len; i++) {
        char ch = in[i];
        if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n')
            continue;
        *json = ch == '[' || ch == '{';
        return 1;
    }
    return 0;
}

/* Answers a POST whose body cannot be a Bayeux message, and closes. */
static int refuse_body(cg_pss_t *pss, const char *in, size_t len)
{
    bool own_request_line = len > 0 && ((in[0] | 0x20) == 'p');
    reading_stop(pss);
    pss->close_after = true;
    if (own_request_line) {
        log_peer(pss, "pipelined POST: answered 400 and closed");
        cg_http_respond_error(pss, 400, "400::pipelined POST requests are not supported");
    } else {
        cg_http_respond_error(pss, 400, "400::invalid json");
    }
    return -1;
}

int cg_http_body(cg_pss_t *pss, const void *in, size_t len)
{
    const cg_config_t *cfg = pss->env->cfg;
    pss->body_seen += len;
    if (!pss->chunked && !pss->body_checked) {
        bool json = false;
        if (json_start_seen(in, len, &json)) {
            pss->body_checked = true;
            if (!json) {
                if (pss->state != HTTP_READING)
                    return -1; /* answered already: just close before the loop */
                return refuse_body(pss, in, len);
            }
        }
    }
    if (pss->state != HTTP_READING)
        return 0;
    if (pss->chunked) {
        /* lws passes a chunked body through undecoded and never completes it. */
        size_t used;
        int r =
            cg_chunked_feed(&pss->chunk, in, len, &pss->in, (size_t)cfg->limits.max_body, &used);
        if (r == CG_CHUNKED_MORE)
            return 0;
        reading_stop(pss);
        if (r == CG_CHUNKED_DONE) {
            pss->state = HTTP_IDLE; /* the handler answers or holds it */
            return 1;
        }
        pss->close_after = true; /* the framing is lost: this connection cannot go on */
        if (r == CG_CHUNKED_TOO_BIG) {
            log_peer(pss, "chunked request body over limits.max_body");
            return cg_http_respond_error(pss, 413, "413::request body too large") < 0 ? -1 : 0;
        }
        log_peer(pss, "malformed chunked body");
        return cg_http_respond_error(pss, 400, "400::malformed chunked body") < 0 ? -1 : 0;
    }
    if (pss->in.len + len > (size_t)cfg->limits.max_body) {
        /* Content-Length was checked: lws would not pass more. Defensive. */
        reading_stop(pss);
        pss->close_after = true;
        return cg_http_respond_error(pss, 413, "413::request body too large") < 0 ? -1 : 0;
    }
    cg_buf_append(&pss->in, in, len);
    return 0;
}

int cg_http_body_end(cg_pss_t *pss)
{
    if (pss->state != HTTP_READING || pss->chunked)
        return 0;
    if (!pss->body_checked) /* white space only, or nothing */
        return refuse_body(pss, "", 0);
    reading_stop(pss);
    pss->state = HTTP_IDLE; /* the handler answers or holds it */
    return 1;
}

void cg_http_hold(cg_pss_t *pss)
{
    reading_stop(pss);
    lws_set_timeout(pss->wsi, NO_PENDING_TIMEOUT, 0);
}

void cg_http_closed(cg_pss_t *pss)
{
    reading_stop(pss);
    free(pss->uri);
    pss->uri = NULL;
    cg_buf_free(&pss->in);
    cg_buf_free(&pss->resp);
    pss->state = HTTP_IDLE;
}

/* ---- responses ------------------------------------------------------------------------------ */

static int add_header(struct lws *wsi, const char *name, const char *value, unsigned char **p,
                      unsigned char *end)
{
    return lws_add_http_header_by_name(wsi, (const unsigned char *)name,
                                       (const unsigned char *)value, (int)strlen(value), p, end);
}

/* Status and headers into `hbuf`; body_len < 0 means chunked. */
static int write_head(cg_pss_t *pss, int status, const char *content_type, long long body_len)
{
    unsigned char hbuf[LWS_PRE + 1536];
    unsigned char *start = hbuf + LWS_PRE, *p = start, *end = hbuf + sizeof(hbuf) - 1;
    struct lws *wsi = pss->wsi;
    pss->status = status;
    if (lws_add_http_header_status(wsi, (unsigned int)status, &p, end) ||
        add_header(wsi, "content-type:", content_type, &p, end) ||
        add_header(wsi, "cache-control:", "no-cache, no-store", &p, end) ||
        add_header(wsi, "x-content-type-options:", "nosniff", &p, end))
        return -1;
    if (body_len < 0) {
        if (add_header(wsi, "transfer-encoding:", "chunked", &p, end))
            return -1;
    } else if (lws_add_http_header_content_length(wsi, (lws_filepos_t)body_len, &p, end)) {
        return -1;
    }
    if (status == 405 && add_header(wsi, "allow:", allow_methods, &p, end))
        return -1;
    if (pss->close_after && add_header(wsi, "connection:", "close", &p, end))
        return -1;
    if (pss->set_cookie && pss->browser[0]) {
        char cookie[128];
        snprintf(cookie, sizeof(cookie), "BAYEUX_BROWSER=%s; Path=/; HttpOnly; SameSite=Lax",
                 pss->browser);
        if (add_header(wsi, "set-cookie:", cookie, &p, end))
            return -1;
        pss->set_cookie = false;
    }
    if (lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    return 0;
}

/* The response is out (or in lws's buffer): next request, or close. */
static int finish(cg_pss_t *pss)
{
    reading_stop(pss);
    pss->state = HTTP_DONE;
    if (pss->resp.cap > 65536)
        cg_buf_free(&pss->resp);
    if (pss->in.cap > 65536)
        cg_buf_free(&pss->in);
    if (pss->superseded)
        return 0; /* lws is already on the next request */
    if (pss->close_after || pss->env->stopping) {
        /* Close once lws has written what the socket did not take (it calls WRITEABLE only
         * then); close now otherwise: a timeout set here would be overwritten by lws's own
         * when this runs inside LWS_CALLBACK_HTTP. */
        if (lws_partial_buffered(pss->wsi)) {
            pss->state = HTTP_CLOSING;
            lws_callback_on_writable(pss->wsi);
            return 0;
        }
        return -1;
    }
    return lws_http_transaction_completed(pss->wsi) ? -1 : 0;
}

int cg_http_respond(cg_pss_t *pss, int status, const char *content_type)
{
    bool head = pss->method == CG_METHOD_HEAD;
    /* Answered before its body was read: lws would discard the body and, with more requests
     * behind it, loop (see cg_http_body). Not worth a keep-alive. */
    if (pss->env->stopping || pss->state == HTTP_READING)
        pss->close_after = true;
    if (write_head(pss, status, content_type, (long long)pss->resp.len))
        return -1;
    if (!head && pss->resp.len &&
        lws_write(pss->wsi, (unsigned char *)cg_buf_data(&pss->resp), pss->resp.len,
                  LWS_WRITE_HTTP_FINAL) < 0)
        return -1;
    return finish(pss);
}

int cg_http_respond_error(cg_pss_t *pss, int status, const char *bayeux_error)
{
    cg_buf_reset(&pss->resp);
    cg_buf_append_str(&pss->resp, "[{\"successful\":false,\"error\":");
    cg_buf_append_json_string(&pss->resp, bayeux_error, strlen(bayeux_error));
    cg_buf_append_str(&pss->resp, "}]");
    return cg_http_respond(pss, status, "application/json; charset=utf-8");
}

int cg_http_respond_text(cg_pss_t *pss, int status, const char *text)
{
    cg_buf_reset(&pss->resp);
    cg_buf_append_str(&pss->resp, text);
    if (pss->resp.len)
        cg_buf_append(&pss->resp, "\n", 1);
    return cg_http_respond(pss, status, "text/plain; charset=utf-8");
}

int cg_http_stream_begin(cg_pss_t *pss, const char *content_type)
{
    pss->stream_open = true;
    return write_head(pss, 200, content_type, -1);
}

int cg_http_stream_write(cg_pss_t *pss, cg_buf_t *bytes)
{
    if (!bytes->len)
        return 0;
    return lws_write(pss->wsi, (unsigned char *)cg_buf_data(bytes), bytes->len, LWS_WRITE_HTTP) < 0
               ? -1
               : 0;
}

int cg_http_stream_end(cg_pss_t *pss)
{
    unsigned char end[LWS_PRE + 5];
    memcpy(end + LWS_PRE, "0\r\n\r\n", 5);
    pss->stream_open = false;
    if (lws_write(pss->wsi, end + LWS_PRE, 5, LWS_WRITE_HTTP_FINAL) < 0)
        return -1;
    return finish(pss);
}

/* ---- slow bodies ---------------------------------------------------------------------------- */

static bool too_slow(const cg_config_t *cfg, const cg_pss_t *pss, uint64_t now)
{
    uint64_t elapsed = now - pss->body_start_ms;
    if (elapsed < (uint64_t)cfg->limits.body_timeout_ms || cfg->limits.body_min_rate <= 0)
        return false;
    size_t got = pss->in.len; /* decoded bytes for a chunked body */
    return (double)got * 1000.0 < (double)cfg->limits.body_min_rate * (double)elapsed;
}

void cg_http_check_slow(cg_env_t *env)
{
    uint64_t now = cg_now_ms();
    /* Round robin over the requests reading a body, a bounded number per tick. */
    cg_dlink_t *first_moved = NULL;
    for (int i = 0; env->reading.first && i < SLOW_CHECKS_PER_TICK; i++) {
        cg_dlink_t *n = env->reading.first;
        if (n == first_moved)
            break;
        cg_pss_t *pss = cg_dlist_entry(n, cg_pss_t, reading);
        if (!too_slow(env->cfg, pss, now)) {
            cg_dlist_remove(&env->reading, n);
            cg_dlist_append(&env->reading, n);
            if (!first_moved)
                first_moved = n;
            continue;
        }
        reading_stop(pss);
        pss->close_after = true;
        log_peer(pss, "request body slower than limits.body_min_rate");
        /* Closed here and now: a timeout set for it would be replaced by lws's own body
         * timeout at the client's next byte. The tick is no callback of this connection, so a
         * synchronous close is safe; pss is gone after it. */
        if (cg_http_respond_text(pss, 408, "request body too slow") < 0)
            lws_set_timeout(pss->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_SYNC);
    }
}
