/* Connections: the per-socket state lws allocates for every connection of the cometgate protocol,
 * the table of handlers each connection kind fills (the way nchan's subscriber types fill a
 * subscriber_fn_t), and the environment the server gives them.
 *
 * server.c owns the lws context and routes each new HTTP request or WebSocket to one kind:
 * cg_handler_ws (transport_ws.c), cg_handler_poll (long- and callback-polling,
 * transport_longpoll.c), cg_handler_stream (http-streaming, transport_stream.c),
 * cg_handler_static (static.c) and cg_handler_admin (/healthz, /stats: admin.c). A kind only
 * calls http.h, bayeux.h and what is here; adding a transport is one new file and one route.
 *
 * Thread: lws service thread only. A cg_pss_t is owned by lws (allocated before ESTABLISHED /
 * HTTP, freed after CLOSED); everything it points to is freed by its handler's `closed`. */
#ifndef CG_TRANSPORT_H
#define CG_TRANSPORT_H

#include <libwebsockets.h>
#include <limits.h>
#include <stdbool.h>

#include "bayeux.h"
#include "buf.h"
#include "handoff.h"
#include "chunked.h"
#include "config.h"
#include "dlist.h"
#include "frame.h"
#include "log.h"
#include "session.h"
#include "stats.h"

_Static_assert(CG_FRAME_HEADROOM >= LWS_PRE, "frame headroom must hold LWS_PRE");

#define cg_container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

typedef struct cg_pss cg_pss_t;

#define CG_MAX_STATS_SOURCES 8

/* What the server shares with the connection kinds. Owned by server.c. */
typedef struct cg_env {
    const cg_config_t *cfg;
    cg_bayeux_t *bayeux;
    cg_handoff_t *handoff;
    bool stopping;
    uint64_t started_ms;
    cg_dlist_t conns;    /* every connection: the drain at stop waits for it to empty */
    cg_dlist_t flush;    /* WebSockets to write when the current lws callback returns */
    cg_dlist_t pingable; /* WebSockets by their last write, oldest first */
    size_t npingable;
    cg_dlist_t reading;         /* HTTP requests whose body is arriving, oldest first */
    char static_root[PATH_MAX]; /* resolved static_dir; "" when static files are off */
    struct {
        cg_stats_fn fn;
        void *arg;
    } stats_sources[CG_MAX_STATS_SOURCES];
    int nstats_sources;
    cg_log_limit_t http_limit;
} cg_env_t;

typedef struct cg_handler {
    const char *name;
    /* HTTP: the request's headers passed http.c's checks; a body, if any, follows. 0 or -1 to
     * close. */
    int (*request)(cg_pss_t *pss);
    /* HTTP: the whole body is in pss->in. */
    int (*body)(cg_pss_t *pss);
    /* WebSocket: upgraded; then one whole message at a time in pss->in. */
    void (*established)(cg_pss_t *pss);
    int (*message)(cg_pss_t *pss);
    /* Writeable, or the server's flush pass (WebSocket). */
    int (*writeable)(cg_pss_t *pss);
    /* HTTP: another request waits behind this unanswered one (pipelined): answer it now,
     * synchronously, or return -1 to close the connection. */
    int (*hurry)(cg_pss_t *pss);
    /* The request or the connection is gone; free what the handler holds. */
    void (*closed)(cg_pss_t *pss);
} cg_handler_t;

extern const cg_handler_t cg_handler_ws, cg_handler_poll, cg_handler_stream, cg_handler_static,
    cg_handler_admin;

typedef enum {
    HTTP_IDLE = 0, /* between requests */
    HTTP_READING,  /* headers seen, body arriving */
    HTTP_HELD,     /* waiting: a /meta/connect or a broker ack */
    HTTP_STREAMING,
    HTTP_DONE,    /* answered */
    HTTP_CLOSING, /* answered; the connection closes once lws has written it all */
} cg_http_state_t;

typedef enum { CG_METHOD_GET = 0, CG_METHOD_POST, CG_METHOD_HEAD, CG_METHOD_OPTIONS } cg_method_t;

struct cg_pss {
    cg_conn_t conn; /* the bayeux view of this socket/request */
    struct lws *wsi;
    cg_env_t *env;
    const cg_handler_t *handler; /* NULL until routed */
    cg_dlink_t link;             /* env->conns */
    cg_buf_t in;                 /* request body or WebSocket message being reassembled */
    cg_buf_t resp;               /* response being built (LWS_PRE headroom) */
    char peer[64];
    /* HTTP */
    char *uri; /* the request's path (heap, HTTP requests only): NULL on WebSockets */
    cg_http_state_t state;
    cg_method_t method;
    int status;
    cg_chunked_t chunk;
    long long content_length; /* -1 when none */
    size_t body_seen;         /* body bytes lws has passed for this request */
    cg_dlink_t reading;       /* env->reading while the body arrives */
    uint64_t body_start_ms;
    char jsonp[64]; /* callback-polling: the callback name */
    char browser[CG_BROWSER_ID_MAX];
    bool close_after;  /* Connection: close after this response */
    bool superseded;   /* lws already parses the next request: answer without completing */
    bool chunked;      /* Transfer-Encoding: chunked request body */
    bool body_checked; /* its first non-blank byte was seen (cg_http_body) */
    bool set_cookie;   /* the request had no BAYEUX_BROWSER cookie */
    bool stream_open;
    /* WebSocket */
    bool ws, ws_closing, ws_ping_due;
    /* permessage-deflate is on for this socket. lws may go on deflating the last buffer given
     * to lws_write after the call returns (zlib keeps reading it): that buffer must stay alive
     * and unchanged until the next WRITEABLE, and no write may happen outside WRITEABLE. */
    bool ws_deflate;
    uint64_t ws_last_write_ms;
    cg_dlink_t ping;         /* env->pingable */
    cg_frame_t *ws_inflight; /* the shared frame of the last write, while deflate may read it */
    cg_dlink_t flush;        /* env->flush */
};

/* Queues a WebSocket to be written when the current lws callback returns, without a round trip
 * through the poller. */
static inline void cg_env_flush_later(cg_env_t *env, cg_pss_t *pss)
{
    cg_dlist_push(&env->flush, &pss->flush);
}

/* A request or socket is gone: bayeux forgets its conn, its buffers are freed. The `closed`
 * handler of the HTTP kinds, and part of the WebSocket one. */
static inline void cg_pss_release_conn(cg_pss_t *pss)
{
    cg_bayeux_conn_closed(pss->env->bayeux, &pss->conn);
    cg_conn_free(&pss->conn);
}

#endif
