/* The websocket transport: each frame in either direction is a JSON array of Bayeux messages.
 * Messages are written as soon as they are queued, batched: one lws_write carries everything
 * waiting (replies, queued messages, a released connect's reply). */
#include "log.h"
#include "transport.h"

#include <string.h>

#define TAG "ws"
#define MAX_WRITE_BYTES (256 * 1024) /* per write; more waits for the next one */
/* A socket told to close (overflow, shutdown) that cannot write its last words in this long is
 * dropped: a peer that stopped reading must not hold its buffers forever. */
#define CLOSE_GRACE_S 5

static void ws_wake(cg_conn_t *c)
{
    cg_pss_t *pss = cg_container_of(c, cg_pss_t, conn);
    if (c->ended && !pss->ws_closing) {
        pss->ws_closing = true;
        lws_set_timeout(pss->wsi, PENDING_TIMEOUT_CLOSE_SEND, CLOSE_GRACE_S);
    }
    cg_env_flush_later(pss->env, pss);
}

static const cg_conn_ops_t ws_conn_ops = {.wake = ws_wake};

/* Pings go to sockets that wrote nothing for bayeux.ws_ping_s: env->pingable is kept in
 * last-write order, so the tick only looks at its head. */
static void wrote(cg_pss_t *pss)
{
    pss->ws_last_write_ms = cg_now_ms();
    cg_dlist_remove(&pss->env->pingable, &pss->ping);
    cg_dlist_append(&pss->env->pingable, &pss->ping);
}

static void ws_established(cg_pss_t *pss)
{
    pss->ws = true;
    cg_conn_init(&pss->conn, &ws_conn_ops, CG_TRANSPORT_WEBSOCKET);
    cg_buf_init(&pss->in, 0);
    cg_buf_init(&pss->resp, LWS_PRE);
    lws_get_peer_simple(pss->wsi, pss->peer, sizeof(pss->peer));
    char ext[256];
    if (pss->env->cfg->bayeux.ws_deflate &&
        lws_hdr_copy(pss->wsi, ext, sizeof(ext), WSI_TOKEN_EXTENSIONS) > 0 &&
        strstr(ext, "permessage-deflate")) {
        pss->ws_deflate = true;
        /* Keep a compressing socket's deflate state small: level 1, smallest hash table. */
        lws_set_extension_option(pss->wsi, "permessage-deflate", "mem_level", "1");
    }
    pss->env->npingable++;
    wrote(pss);
}

static int ws_message(cg_pss_t *pss)
{
    cg_bayeux_t *b = pss->env->bayeux;
    if (lws_frame_is_binary(pss->wsi)) {
        cg_buf_reset(&pss->in);
        if (pss->conn.replies.len)
            cg_buf_append(&pss->conn.replies, ",", 1);
        cg_buf_append_str(&pss->conn.replies,
                          "{\"successful\":false,\"error\":\"400::binary frames are not Bayeux\"}");
        cg_env_flush_later(pss->env, pss);
        return 0;
    }
    cg_request_info_t info = {.transport = CG_TRANSPORT_WEBSOCKET, .peer = pss->peer};
    cg_bayeux_handle(b, &pss->conn, &info, pss->in.len ? cg_buf_data(&pss->in) : "", pss->in.len);
    /* Idle sockets keep no buffers: tens of thousands of them are mostly idle. */
    cg_buf_free(&pss->in);
    if (cg_bayeux_has_output(&pss->conn))
        cg_env_flush_later(pss->env, pss);
    return 0;
}

static int ws_writeable(cg_pss_t *pss)
{
    cg_bayeux_t *b = pss->env->bayeux;
    cg_conn_t *c = &pss->conn;
    cg_frame_release(pss->ws_inflight); /* deflate has finished with it: we are WRITEABLE */
    pss->ws_inflight = NULL;

    if (pss->ws_ping_due) {
        /* A ping is its own frame; the rest goes on the next WRITEABLE. */
        unsigned char ping[LWS_PRE + 1];
        pss->ws_ping_due = false;
        if (lws_write(pss->wsi, ping + LWS_PRE, 0, LWS_WRITE_PING) < 0)
            return -1;
        wrote(pss);
        if (cg_bayeux_has_output(c) || pss->ws_closing)
            lws_callback_on_writable(pss->wsi);
        return 0;
    }

    /* Common case of a fan-out: one message, nothing else: send the shared frame as it is. */
    if (!c->replies.len && c->connect != CG_CONNECT_RELEASED && cg_conn_queued(c) == 1) {
        cg_frame_t *f = cg_session_dequeue(c->session);
        int n = lws_write(pss->wsi, (unsigned char *)cg_frame_array(f), cg_frame_array_len(f),
                          LWS_WRITE_TEXT);
        if (pss->ws_deflate)
            pss->ws_inflight = f;
        else
            cg_frame_release(f);
        if (n < 0)
            return -1;
        cg_bayeux_count_out(b, 1);
        wrote(pss);
    } else if (cg_bayeux_has_output(c)) {
        cg_buf_t *out = &pss->resp;
        cg_buf_reset(out);
        cg_buf_append(out, "[", 1);
        cg_bayeux_collect(b, c, out, 1, MAX_WRITE_BYTES, true);
        cg_buf_append(out, "]", 1);
        if (lws_write(pss->wsi, (unsigned char *)cg_buf_data(out), out->len, LWS_WRITE_TEXT) < 0)
            return -1;
        if (!pss->ws_deflate)
            cg_buf_free(out);
        cg_buf_free(&c->replies);
        wrote(pss);
    }

    if (cg_bayeux_has_output(c)) {
        lws_callback_on_writable(pss->wsi);
        return 0;
    }
    if (pss->ws_closing) {
        bool overflow = c->ended;
        const char *reason = overflow ? "queue overflow" : "server shutting down";
        lws_close_reason(pss->wsi,
                         overflow ? LWS_CLOSE_STATUS_POLICY_VIOLATION : LWS_CLOSE_STATUS_GOINGAWAY,
                         (unsigned char *)reason, strlen(reason));
        return -1;
    }
    return 0;
}

static void ws_closed(cg_pss_t *pss)
{
    cg_dlist_remove(&pss->env->flush, &pss->flush);
    if (cg_dlink_linked(&pss->ping)) {
        cg_dlist_remove(&pss->env->pingable, &pss->ping);
        pss->env->npingable--;
    }
    cg_frame_release(pss->ws_inflight);
    pss->ws_inflight = NULL;
    cg_pss_release_conn(pss);
    cg_buf_free(&pss->in);
    cg_buf_free(&pss->resp);
}

const cg_handler_t cg_handler_ws = {
    .name = "websocket",
    .established = ws_established,
    .message = ws_message,
    .writeable = ws_writeable,
    .closed = ws_closed,
};
