/* The websocket transport: each frame in either direction is a JSON array of Bayeux messages.
 * Messages are written as soon as they are queued, batched: one lws_write per WRITEABLE carries
 * everything waiting (replies, queued messages, a released connect's reply). */
#include "log.h"
#include "transport.h"

#include <string.h>

#define TAG "ws"
#define MAX_WRITE_BYTES (256 * 1024) /* per WRITEABLE; more waits for the next one */

static void ws_wake(cg_conn_t *c)
{
    cg_pss_t *pss = cg_container_of(c, cg_pss_t, conn);
    cg_server_flush_later(pss->srv, pss);
}

const cg_conn_ops_t cg_ws_conn_ops = {.wake = ws_wake};

void cg_ws_established(cg_pss_t *pss)
{
    pss->kind = PSS_WS;
    cg_conn_init(&pss->conn, &cg_ws_conn_ops, CG_TRANSPORT_WEBSOCKET);
    cg_buf_init(&pss->in, 0);
    cg_buf_init(&pss->resp, LWS_PRE);
    lws_get_peer_simple(pss->wsi, pss->peer, sizeof(pss->peer));
    char ext[256];
    if (cg_server_config(pss->srv)->bayeux.ws_deflate &&
        lws_hdr_copy(pss->wsi, ext, sizeof(ext), WSI_TOKEN_EXTENSIONS) > 0 &&
        strstr(ext, "permessage-deflate")) {
        pss->ws_deflate = true;
        /* Keep a compressing socket's deflate state small: level 1, smallest hash table. */
        lws_set_extension_option(pss->wsi, "permessage-deflate", "mem_level", "1");
    }
    cg_server_list_add(pss->srv, pss);
}

int cg_ws_receive(cg_pss_t *pss, const void *in, size_t len)
{
    const cg_config_t *cfg = cg_server_config(pss->srv);
    if (pss->in.len + len > (size_t)cfg->limits.max_ws_message) {
        cg_log(CG_LOG_WARN, TAG, "%s: WebSocket message over limits.max_ws_message (%lld bytes)",
               pss->peer, (long long)cfg->limits.max_ws_message);
        static const char reason[] = "message too big";
        lws_close_reason(pss->wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, (unsigned char *)reason,
                         sizeof(reason) - 1);
        return -1;
    }
    if (cg_buf_append(&pss->in, in, len))
        return -1;
    if (!lws_is_final_fragment(pss->wsi) || lws_remaining_packet_payload(pss->wsi))
        return 0;
    if (lws_frame_is_binary(pss->wsi)) {
        cg_buf_reset(&pss->in);
        if (pss->conn.replies.len)
            cg_buf_append(&pss->conn.replies, ",", 1);
        cg_buf_append_str(&pss->conn.replies,
                          "{\"successful\":false,\"error\":\"400::binary frames are not Bayeux\"}");
        lws_callback_on_writable(pss->wsi);
        return 0;
    }
    cg_request_info_t info = {.transport = CG_TRANSPORT_WEBSOCKET, .peer = pss->peer};
    cg_bayeux_t *b = cg_server_bayeux(pss->srv);
    cg_bayeux_handle(b, &pss->conn, &info, cg_buf_data(&pss->in), pss->in.len);
    /* Idle sockets keep no buffers: tens of thousands of them are mostly idle. */
    cg_buf_free(&pss->in);
    if (pss->conn.connect == CG_CONNECT_RELEASED)
        cg_bayeux_take_connect_reply(b, &pss->conn, &pss->conn.replies);
    if (pss->conn.replies.len)
        cg_server_flush_later(pss->srv, pss);
    return 0;
}

static bool owns_session(const cg_pss_t *pss)
{
    const cg_session_t *s = pss->conn.session;
    return s && s->conn == &pss->conn;
}

int cg_ws_writeable(cg_pss_t *pss)
{
    cg_bayeux_t *b = cg_server_bayeux(pss->srv);
    cg_session_t *s = owns_session(pss) ? pss->conn.session : NULL;
    cg_frame_release(pss->ws_inflight); /* deflate has finished with it: we are WRITEABLE */
    pss->ws_inflight = NULL;

    if (pss->ws_ping_due) {
        /* A ping is its own frame; the rest goes on the next WRITEABLE. */
        unsigned char ping[LWS_PRE + 1];
        pss->ws_ping_due = false;
        if (lws_write(pss->wsi, ping + LWS_PRE, 0, LWS_WRITE_PING) < 0)
            return -1;
        if (pss->conn.replies.len || (s && s->count) || pss->conn.connect == CG_CONNECT_RELEASED ||
            pss->ws_closing)
            lws_callback_on_writable(pss->wsi);
        return 0;
    }
    if (pss->conn.connect == CG_CONNECT_RELEASED)
        cg_bayeux_take_connect_reply(b, &pss->conn, &pss->conn.replies);

    /* Common case of a fan-out: one message, nothing else: send the shared frame as it is. */
    if (!pss->conn.replies.len && s && s->count == 1) {
        cg_frame_t *f = cg_session_dequeue(s);
        int n = lws_write(pss->wsi, (unsigned char *)cg_frame_array(f), cg_frame_array_len(f),
                          LWS_WRITE_TEXT);
        if (pss->ws_deflate)
            pss->ws_inflight = f;
        else
            cg_frame_release(f);
        if (n < 0)
            return -1;
        cg_bayeux_count_out(b, 1);
        goto after;
    }
    if (!pss->conn.replies.len && !(s && s->count))
        goto after;

    cg_buf_t *out = &pss->resp;
    cg_buf_reset(out);
    cg_buf_append(out, "[", 1);
    if (pss->conn.replies.len)
        cg_buf_append(out, cg_buf_data(&pss->conn.replies), pss->conn.replies.len);
    cg_buf_reset(&pss->conn.replies);
    size_t sent = 0;
    while (s && s->count && out->len < MAX_WRITE_BYTES) {
        cg_frame_t *f = cg_session_dequeue(s);
        if (out->len > 1)
            cg_buf_append(out, ",", 1);
        cg_buf_append(out, cg_frame_object(f), cg_frame_object_len(f));
        cg_frame_release(f);
        sent++;
    }
    if (cg_buf_append(out, "]", 1))
        return -1;
    if (lws_write(pss->wsi, (unsigned char *)cg_buf_data(out), out->len, LWS_WRITE_TEXT) < 0)
        return -1;
    cg_bayeux_count_out(b, sent);
    if (!pss->ws_deflate)
        cg_buf_free(out);
    cg_buf_free(&pss->conn.replies);

after:
    if ((s && s->count) || pss->conn.replies.len) {
        lws_callback_on_writable(pss->wsi);
        return 0;
    }
    if (pss->ws_closing) {
        static const char reason[] = "server shutting down";
        lws_close_reason(pss->wsi, LWS_CLOSE_STATUS_GOINGAWAY, (unsigned char *)reason,
                         sizeof(reason) - 1);
        return -1;
    }
    return 0;
}

void cg_ws_closed(cg_pss_t *pss)
{
    cg_server_flush_cancel(pss->srv, pss);
    cg_frame_release(pss->ws_inflight);
    pss->ws_inflight = NULL;
    cg_bayeux_conn_closed(cg_server_bayeux(pss->srv), &pss->conn);
    cg_server_list_remove(pss->srv, pss);
    cg_buf_free(&pss->in);
    cg_conn_free(&pss->conn);
    cg_buf_free(&pss->resp);
}
