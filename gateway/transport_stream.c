/* http-streaming: a POSTed /meta/connect answered with a Server-Sent Events stream that stays
 * open while the connect is held. Each batch of queued messages is one event, `data: [...]`;
 * the last event carries the connect reply, then the response ends (chunked by hand: lws 4.1 as
 * built by Debian has no stream encoder). Other messages travel by POST as in long-polling,
 * whose handler passes the connect request here. */
#include "http.h"
#include "log.h"
#include "transport.h"

#include <stdio.h>
#include <string.h>

#define MAX_EVENT_BYTES (256 * 1024)

static void stream_wake(cg_conn_t *c)
{
    cg_pss_t *pss = cg_container_of(c, cg_pss_t, conn);
    lws_callback_on_writable(pss->wsi);
}

static const cg_conn_ops_t stream_conn_ops = {.wake = stream_wake};

/* One chunk holding `data: <array>\n\n` from what the conn has to say. */
static void append_event(cg_pss_t *pss, cg_buf_t *out, bool final)
{
    cg_buf_t ev;
    cg_buf_init(&ev, 0);
    cg_buf_append_str(&ev, "data: [");
    cg_bayeux_collect(pss->env->bayeux, &pss->conn, &ev, ev.len, MAX_EVENT_BYTES, final);
    cg_buf_append_str(&ev, "]\n\n");
    cg_buf_printf(out, "%zx\r\n", ev.len);
    cg_buf_append(out, cg_buf_data(&ev), ev.len);
    cg_buf_append(out, "\r\n", 2);
    cg_buf_free(&ev);
}

/* Writes what is ready; ends the response with the connect reply once it is released. */
static int flush_stream(cg_pss_t *pss)
{
    cg_conn_t *c = &pss->conn;
    if (!pss->stream_open) {
        if (cg_http_stream_begin(pss, "text/event-stream"))
            return -1;
        /* The opening comment tells the client the stream is live before any message. */
        cg_buf_reset(&pss->resp);
        cg_buf_append_str(&pss->resp, "5\r\n:ok\n\n\r\n");
        if (cg_http_stream_write(pss, &pss->resp))
            return -1;
    }
    if (lws_partial_buffered(pss->wsi)) {
        /* lws still holds part of the last write: come back when it is out */
        lws_callback_on_writable(pss->wsi);
        return 0;
    }
    bool final = c->connect == CG_CONNECT_RELEASED;
    if (!final && !cg_bayeux_has_output(c))
        return 0;
    cg_buf_reset(&pss->resp);
    append_event(pss, &pss->resp, final);
    if (cg_http_stream_write(pss, &pss->resp))
        return -1;
    if (final) {
        cg_bayeux_conn_closed(pss->env->bayeux, c);
        return cg_http_stream_end(pss);
    }
    if (cg_bayeux_has_output(c))
        lws_callback_on_writable(pss->wsi);
    return 0;
}

/* Called by the long-polling handler with a held (or released) streaming connect. */
static int stream_request(cg_pss_t *pss)
{
    pss->conn.ops = &stream_conn_ops;
    pss->state = HTTP_STREAMING;
    cg_http_hold(pss);
    return flush_stream(pss);
}

static int stream_writeable(cg_pss_t *pss)
{
    if (pss->state != HTTP_STREAMING)
        return 0;
    return flush_stream(pss);
}

/* A request waits behind the stream: end it now, as if its connect timed out. */
static int stream_hurry(cg_pss_t *pss)
{
    if (pss->state != HTTP_STREAMING)
        return 0;
    if (pss->conn.connect == CG_CONNECT_HELD)
        cg_bayeux_release_for_messages(pss->env->bayeux, &pss->conn);
    return flush_stream(pss);
}

const cg_handler_t cg_handler_stream = {
    .name = "http-streaming",
    .request = stream_request,
    .writeable = stream_writeable,
    .hurry = stream_hurry,
    .closed = cg_pss_release_conn,
};
