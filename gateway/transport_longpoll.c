/* long-polling (POST, JSON) and callback-polling (GET, JSONP): one request, one response.
 * A request holding a /meta/connect stays open until bayeux releases it; the response then
 * carries the other replies of the request, the queued messages and the connect reply. */
#include "log.h"
#include "transport.h"

#include <string.h>

static void http_wake(cg_conn_t *c)
{
    cg_pss_t *pss = cg_container_of(c, cg_pss_t, conn);
    lws_callback_on_writable(pss->wsi);
}

const cg_conn_ops_t cg_http_conn_ops = {.wake = http_wake};

/* resp = [replies, frames..., connect reply] (wrapped for JSONP). */
static void build_response(cg_pss_t *pss)
{
    cg_bayeux_t *b = cg_server_bayeux(pss->srv);
    cg_conn_t *c = &pss->conn;
    cg_buf_t *r = &pss->resp;
    cg_buf_reset(r);
    pss->resp_off = 0;
    if (pss->jsonp[0]) {
        cg_buf_append_str(r, pss->jsonp);
        cg_buf_append(r, "(", 1);
    }
    cg_buf_append(r, "[", 1);
    size_t start = r->len;
    if (pss->conn.replies.len)
        cg_buf_append(r, cg_buf_data(&pss->conn.replies), pss->conn.replies.len);
    cg_buf_reset(&pss->conn.replies);
    for (size_t i = 0; i < c->nframes; i++) {
        if (r->len > start)
            cg_buf_append(r, ",", 1);
        cg_buf_append(r, cg_frame_object(c->frames[i]), cg_frame_object_len(c->frames[i]));
    }
    cg_bayeux_count_out(b, c->nframes);
    cg_conn_clear_frames(c);
    if (c->connect == CG_CONNECT_RELEASED) {
        cg_buf_t tmp;
        cg_buf_init(&tmp, 0);
        cg_bayeux_take_connect_reply(b, c, &tmp);
        if (r->len > start)
            cg_buf_append(r, ",", 1);
        cg_buf_append(r, cg_buf_data(&tmp), tmp.len);
        cg_buf_free(&tmp);
    }
    cg_buf_append(r, "]", 1);
    if (pss->jsonp[0])
        cg_buf_append(r, ")", 1);
    pss->state = HTTP_RESPOND;
}

void cg_poll_request(cg_pss_t *pss, const char *body, size_t len)
{
    cg_bayeux_t *b = cg_server_bayeux(pss->srv);
    cg_request_info_t info = {
        .transport = pss->jsonp[0] ? CG_TRANSPORT_CALLBACK_POLLING : CG_TRANSPORT_LONG_POLLING,
        .browser = pss->browser,
        .peer = pss->peer,
    };
    cg_conn_init(&pss->conn, &cg_http_conn_ops, info.transport);
    int rc = cg_bayeux_handle(b, &pss->conn, &info, body, len);
    if (rc != CG_BAYEUX_OK)
        pss->status = 400;
    if (pss->conn.transport == CG_TRANSPORT_HTTP_STREAMING &&
        pss->conn.connect != CG_CONNECT_NONE) {
        cg_stream_start(pss);
        return;
    }
    if (pss->conn.connect == CG_CONNECT_HELD || pss->conn.pending) {
        pss->state = HTTP_HELD;
        cg_server_list_add(pss->srv, pss);
        /* lws must not time the request out: bayeux's tick answers it. */
        lws_set_timeout(pss->wsi, NO_PENDING_TIMEOUT, 0);
        return;
    }
    build_response(pss);
    lws_callback_on_writable(pss->wsi);
}

bool cg_poll_ready(cg_pss_t *pss)
{
    cg_conn_t *c = &pss->conn;
    if (c->connect == CG_CONNECT_HELD && c->session && c->session->conn == c &&
        c->session->count > 0)
        cg_bayeux_release_for_messages(cg_server_bayeux(pss->srv), c);
    if (c->connect == CG_CONNECT_HELD || c->pending)
        return false;
    cg_server_list_remove(pss->srv, pss);
    build_response(pss);
    return true;
}

void cg_poll_closed(cg_pss_t *pss)
{
    cg_bayeux_conn_closed(cg_server_bayeux(pss->srv), &pss->conn);
    cg_server_list_remove(pss->srv, pss);
    cg_buf_free(&pss->in);
    cg_conn_free(&pss->conn);
    cg_buf_free(&pss->resp);
}
