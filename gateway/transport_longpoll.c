/* long-polling (POST, JSON) and callback-polling (GET, JSONP): one request, one response.
 * A request holding a /meta/connect stays open until bayeux releases it; the response then
 * carries the other replies of the request, the queued messages and the connect reply.
 * A POSTed /meta/connect of the http-streaming transport is handed to cg_handler_stream. */
#include "http.h"
#include "log.h"
#include "transport.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void poll_wake(cg_conn_t *c)
{
    cg_pss_t *pss = cg_container_of(c, cg_pss_t, conn);
    lws_callback_on_writable(pss->wsi);
}

static const cg_conn_ops_t poll_conn_ops = {.wake = poll_wake};

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

static void read_browser_cookie(cg_pss_t *pss)
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
}

/* [replies, frames..., connect reply] (wrapped for JSONP), written at once. */
static int respond(cg_pss_t *pss)
{
    cg_buf_t *r = &pss->resp;
    cg_buf_reset(r);
    if (pss->jsonp[0]) {
        cg_buf_append_str(r, pss->jsonp);
        cg_buf_append(r, "(", 1);
    }
    cg_buf_append(r, "[", 1);
    cg_bayeux_collect(pss->env->bayeux, &pss->conn, r, r->len, SIZE_MAX, true);
    cg_buf_append(r, "]", 1);
    if (pss->jsonp[0])
        cg_buf_append(r, ")", 1);
    /* The response carries the session's conn no more: its next connect comes elsewhere. */
    cg_bayeux_conn_closed(pss->env->bayeux, &pss->conn);
    return cg_http_respond(pss, pss->status,
                           pss->jsonp[0] ? "text/javascript; charset=utf-8"
                                         : "application/json; charset=utf-8");
}

static bool ready(cg_pss_t *pss)
{
    cg_conn_t *c = &pss->conn;
    if (c->connect == CG_CONNECT_HELD && cg_conn_queued(c) > 0)
        cg_bayeux_release_for_messages(pss->env->bayeux, c);
    return c->connect != CG_CONNECT_HELD && !c->pending;
}

static int handle(cg_pss_t *pss, const char *body, size_t len)
{
    cg_request_info_t info = {
        .transport = pss->jsonp[0] ? CG_TRANSPORT_CALLBACK_POLLING : CG_TRANSPORT_LONG_POLLING,
        .browser = pss->browser,
        .peer = pss->peer,
    };
    cg_conn_init(&pss->conn, &poll_conn_ops, info.transport);
    int rc = cg_bayeux_handle(pss->env->bayeux, &pss->conn, &info, body, len);
    pss->status = rc == CG_BAYEUX_OK ? 200 : 400;
    if (pss->conn.transport == CG_TRANSPORT_HTTP_STREAMING &&
        pss->conn.connect != CG_CONNECT_NONE) {
        pss->handler = &cg_handler_stream;
        return cg_handler_stream.request(pss);
    }
    if (!ready(pss)) {
        pss->state = HTTP_HELD;
        /* bayeux's tick answers it, not an lws timeout */
        cg_http_hold(pss);
        return 0;
    }
    return respond(pss);
}

static int poll_request(cg_pss_t *pss)
{
    read_browser_cookie(pss);
    if (pss->method == CG_METHOD_OPTIONS) {
        cg_buf_reset(&pss->resp);
        return cg_http_respond(pss, 204, "text/plain");
    }
    if (pss->method == CG_METHOD_POST)
        return 0; /* the body follows */
    if (pss->method == CG_METHOD_HEAD)
        return cg_http_respond_text(pss, 405, "HEAD is not a Bayeux request");
    /* GET: callback-polling */
    char jsonp[80], message[8192];
    const char *cb = lws_get_urlarg_by_name(pss->wsi, "jsonp=", jsonp, sizeof(jsonp));
    const char *msg = lws_get_urlarg_by_name(pss->wsi, "message=", message, sizeof(message));
    if (!cb || !msg)
        return cg_http_respond_error(pss, 400,
                                     "400::use POST (long-polling), a WebSocket, or GET with "
                                     "jsonp and message (callback-polling)");
    if (!valid_jsonp(cb) || strlen(cb) >= sizeof(pss->jsonp))
        return cg_http_respond_error(pss, 400, "400::invalid jsonp callback name");
    snprintf(pss->jsonp, sizeof(pss->jsonp), "%s", cb);
    return handle(pss, msg, strlen(msg));
}

static int poll_body(cg_pss_t *pss)
{
    if (pss->in.len == 0)
        return cg_http_respond_error(pss, 400, "400::empty body");
    return handle(pss, cg_buf_data(&pss->in), pss->in.len);
}

static int poll_writeable(cg_pss_t *pss)
{
    if (pss->state != HTTP_HELD || !ready(pss))
        return 0;
    return respond(pss);
}

/* A request waits behind this one: a held connect is answered now, as if it timed out. A
 * publish still waiting for its broker cannot be answered truthfully yet: close. */
static int poll_hurry(cg_pss_t *pss)
{
    if (pss->state != HTTP_HELD)
        return 0;
    cg_conn_t *c = &pss->conn;
    if (c->pending)
        return -1;
    if (c->connect == CG_CONNECT_HELD)
        cg_bayeux_release_for_messages(pss->env->bayeux, c);
    return respond(pss);
}

const cg_handler_t cg_handler_poll = {
    .name = "long-polling",
    .request = poll_request,
    .body = poll_body,
    .writeable = poll_writeable,
    .hurry = poll_hurry,
    .closed = cg_pss_release_conn,
};
