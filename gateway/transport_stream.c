/* http-streaming: a POSTed /meta/connect answered with a Server-Sent Events stream that stays
 * open while the connect is held. Each batch of queued messages is one event, `data: [...]`;
 * the last event carries the connect reply, then the response ends (chunked by hand: lws 4.1 as
 * built by Debian has no stream encoder). Other messages travel by POST as in long-polling. */
#include "log.h"
#include "transport.h"

#include <stdio.h>
#include <string.h>

#define MAX_EVENT_BYTES (256 * 1024)

void cg_stream_start(cg_pss_t *pss)
{
    pss->state = HTTP_STREAMING;
    pss->stream_headers_sent = false;
    cg_server_list_add(pss->srv, pss);
    lws_set_timeout(pss->wsi, NO_PENDING_TIMEOUT, 0);
    lws_callback_on_writable(pss->wsi);
}

/* Appends one chunk holding `data: <array>\n\n` built from replies, frames and queued
 * messages; returns the number of messages. */
static size_t append_event(cg_pss_t *pss, cg_buf_t *out, bool final)
{
    cg_bayeux_t *b = cg_server_bayeux(pss->srv);
    cg_conn_t *c = &pss->conn;
    cg_buf_t ev;
    cg_buf_init(&ev, 0);
    cg_buf_append_str(&ev, "data: [");
    size_t start = ev.len, n = 0;
    if (pss->conn.replies.len)
        cg_buf_append(&ev, cg_buf_data(&pss->conn.replies), pss->conn.replies.len);
    cg_buf_reset(&pss->conn.replies);
    for (size_t i = 0; i < c->nframes; i++) {
        if (ev.len > start)
            cg_buf_append(&ev, ",", 1);
        cg_buf_append(&ev, cg_frame_object(c->frames[i]), cg_frame_object_len(c->frames[i]));
        n++;
    }
    cg_conn_clear_frames(c);
    cg_session_t *s = c->session && c->session->conn == c ? c->session : NULL;
    while (s && s->count && ev.len < MAX_EVENT_BYTES) {
        cg_frame_t *f = cg_session_dequeue(s);
        if (ev.len > start)
            cg_buf_append(&ev, ",", 1);
        cg_buf_append(&ev, cg_frame_object(f), cg_frame_object_len(f));
        cg_frame_release(f);
        n++;
    }
    if (final) {
        cg_buf_t tmp;
        cg_buf_init(&tmp, 0);
        cg_bayeux_take_connect_reply(b, c, &tmp);
        if (ev.len > start)
            cg_buf_append(&ev, ",", 1);
        cg_buf_append(&ev, cg_buf_data(&tmp), tmp.len);
        cg_buf_free(&tmp);
    }
    cg_buf_append_str(&ev, "]\n\n");
    cg_buf_printf(out, "%zx\r\n", ev.len);
    cg_buf_append(out, cg_buf_data(&ev), ev.len);
    cg_buf_append(out, "\r\n", 2);
    cg_buf_free(&ev);
    cg_bayeux_count_out(b, n);
    return n;
}

int cg_stream_writeable(cg_pss_t *pss)
{
    cg_conn_t *c = &pss->conn;
    if (!pss->stream_headers_sent) {
        pss->stream_headers_sent = true;
        pss->status = 200;
        if (cg_http_write_headers(pss, "text/event-stream", true))
            return -1;
        /* The opening comment tells the client the stream is live before any message. */
        cg_buf_reset(&pss->resp);
        cg_buf_append_str(&pss->resp, "5\r\n:ok\n\n\r\n");
        pss->resp_off = 0;
        lws_callback_on_writable(pss->wsi);
        return 0;
    }
    if (pss->resp_off < pss->resp.len) {
        /* Still writing the previous piece. */
        int n = lws_write(pss->wsi, (unsigned char *)cg_buf_data(&pss->resp) + pss->resp_off,
                          pss->resp.len - pss->resp_off, LWS_WRITE_HTTP);
        if (n < 0)
            return -1;
        pss->resp_off = pss->resp.len;
        lws_callback_on_writable(pss->wsi);
        return 0;
    }
    cg_buf_reset(&pss->resp);
    pss->resp_off = 0;
    bool final = c->connect == CG_CONNECT_RELEASED;
    cg_session_t *s = c->session && c->session->conn == c ? c->session : NULL;
    if (!final && !pss->conn.replies.len && !c->nframes && !(s && s->count))
        return 0;
    append_event(pss, &pss->resp, final);
    if (final) {
        cg_buf_append_str(&pss->resp, "0\r\n\r\n");
        cg_server_list_remove(pss->srv, pss);
        if (lws_write(pss->wsi, (unsigned char *)cg_buf_data(&pss->resp), pss->resp.len,
                      LWS_WRITE_HTTP_FINAL) < 0)
            return -1;
        cg_buf_reset(&pss->resp);
        return cg_http_finish(pss);
    }
    if (lws_write(pss->wsi, (unsigned char *)cg_buf_data(&pss->resp), pss->resp.len,
                  LWS_WRITE_HTTP) < 0)
        return -1;
    pss->resp_off = pss->resp.len;
    if (s && s->count)
        lws_callback_on_writable(pss->wsi);
    return 0;
}
