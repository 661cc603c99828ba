/* What the server and the transports share: the per-connection state lws allocates for every
 * socket of the cometgate protocol, and each transport's entry points.
 *
 * Thread: lws service thread only. A cg_pss_t is owned by lws (allocated before ESTABLISHED /
 * HTTP, freed after CLOSED); everything it points to is freed in the CLOSED callbacks. */
#ifndef CG_TRANSPORT_H
#define CG_TRANSPORT_H

#include <libwebsockets.h>
#include <stdbool.h>

#include "bayeux.h"
#include "buf.h"
#include "bus.h"
#include "chunked.h"
#include "dlist.h"
#include "config.h"
#include "frame.h"
#include "session.h"

_Static_assert(CG_FRAME_HEADROOM >= LWS_PRE, "frame headroom must hold LWS_PRE");

#define cg_container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

typedef struct cg_server cg_server_t;
typedef struct cg_pss cg_pss_t;

typedef enum { PSS_NEW = 0, PSS_HTTP, PSS_WS } cg_pss_kind_t;

typedef enum {
    HTTP_READING = 0, /* headers seen, body arriving */
    HTTP_HELD,        /* a /meta/connect waits */
    HTTP_RESPOND,     /* the response is ready: headers next */
    HTTP_BODY,        /* headers sent: body bytes from `resp` */
    HTTP_STREAMING,   /* SSE response open */
    HTTP_DONE,
} cg_http_state_t;

typedef enum {
    ROUTE_BAYEUX = 0,
    ROUTE_HEALTH,
    ROUTE_STATS,
    ROUTE_OPTIONS,
    ROUTE_NOT_FOUND,
} cg_route_t;

struct cg_pss {
    cg_conn_t conn; /* the bayeux view of this socket/request */
    struct lws *wsi;
    cg_server_t *srv;
    cg_pss_kind_t kind;
    cg_dlink_t live; /* server's list of live WebSockets and held requests */
    cg_buf_t in;     /* request body or WebSocket message being reassembled */
    /* HTTP */
    cg_http_state_t state;
    cg_route_t route;
    bool post, discard_body, close_after;
    bool chunked; /* Transfer-Encoding: chunked request body */
    cg_chunked_t chunk;
    int status;
    char jsonp[64]; /* callback-polling: the callback name */
    char browser[CG_BROWSER_ID_MAX];
    bool set_cookie; /* the request had no BAYEUX_BROWSER cookie */
    char peer[64];
    cg_buf_t resp; /* response body being written (LWS_PRE headroom) */
    size_t resp_off;
    bool stream_headers_sent;
    /* WebSocket */
    bool ws_closing, ws_ping_due;
    /* permessage-deflate is on for this socket. lws may go on deflating the last buffer given
     * to lws_write after the call returns (zlib keeps reading it): that buffer must stay alive
     * and unchanged until the next WRITEABLE, and no write may happen outside WRITEABLE. */
    bool ws_deflate;
    cg_frame_t *ws_inflight; /* the shared frame of the last write, while deflate may read it */
    cg_dlink_t flush;        /* server's list of sockets to write before polling */
};

/* server.c */
cg_bayeux_t *cg_server_bayeux(cg_server_t *srv);
const cg_config_t *cg_server_config(cg_server_t *srv);
bool cg_server_stopping(cg_server_t *srv);
void cg_server_list_add(cg_server_t *srv, cg_pss_t *pss);
void cg_server_list_remove(cg_server_t *srv, cg_pss_t *pss);
/* Queues a WebSocket to be written when the current callback returns, without a round trip
 * through the poller; cg_server_flush_cancel when the socket closes. */
void cg_server_flush_later(cg_server_t *srv, cg_pss_t *pss);
void cg_server_flush_cancel(cg_server_t *srv, cg_pss_t *pss);
/* Writes status and headers for `pss->resp`; then the body goes out over WRITEABLE callbacks.
 * Returns -1 when the connection must close. */
int cg_http_write_headers(cg_pss_t *pss, const char *content_type, bool chunked);
/* Writes the next piece of pss->resp. 1 when all was written, 0 more to go, -1 close. */
int cg_http_write_body(cg_pss_t *pss);
/* Ends the response; -1 if the connection must close. */
int cg_http_finish(cg_pss_t *pss);
/* Sets an error response (JSON body with one Bayeux error, or plain text). */
void cg_http_set_error(cg_pss_t *pss, int status, const char *bayeux_error);

/* transport_ws.c */
void cg_ws_established(cg_pss_t *pss);
int cg_ws_receive(cg_pss_t *pss, const void *in, size_t len);
int cg_ws_writeable(cg_pss_t *pss);
void cg_ws_closed(cg_pss_t *pss);

/* transport_longpoll.c: long-polling and callback-polling requests */
void cg_poll_request(cg_pss_t *pss, const char *body, size_t len);
/* Fills pss->resp when a held connect can be answered. true when the response is ready. */
bool cg_poll_ready(cg_pss_t *pss);
void cg_poll_closed(cg_pss_t *pss);

/* transport_stream.c: the http-streaming /meta/connect response */
/* Called when a POSTed batch left a streaming connect held on pss. */
void cg_stream_start(cg_pss_t *pss);
int cg_stream_writeable(cg_pss_t *pss);

/* wake() for HTTP conns: asks for a WRITEABLE callback. */
extern const cg_conn_ops_t cg_http_conn_ops;
extern const cg_conn_ops_t cg_ws_conn_ops;

#endif
