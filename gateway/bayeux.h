/* The Bayeux protocol engine, transport-agnostic: meta channels, sessions, subscriptions,
 * publish/fan-out, held connects, sweeping. Transports hand it request bodies and write what it
 * prepares; they never interpret messages themselves.
 * Thread: lws service thread only (connector threads reach it through cg_bus). */
#ifndef CG_BAYEUX_H
#define CG_BAYEUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "config.h"
#include "session.h"

typedef struct cg_bayeux cg_bayeux_t;

/* Results of cg_bayeux_handle beyond the replies. */
#define CG_BAYEUX_OK 0
#define CG_BAYEUX_EJSON (-1)  /* body is not JSON, or not an object/array: HTTP 400 */
#define CG_BAYEUX_EBATCH (-2) /* more messages than limits.max_batch: HTTP 400 */
#define CG_BAYEUX_ENOMEM (-3)

typedef struct cg_request_info {
    cg_transport_t transport; /* the transport the request came in on */
    const char *browser;      /* BAYEUX_BROWSER cookie value, or NULL */
    const char *peer;         /* client address, for log lines */
} cg_request_info_t;

typedef struct cg_bayeux_stats {
    uint64_t sessions_created, sessions_swept, sessions_overflowed;
    uint64_t messages_in;      /* publishes accepted from clients and the bus */
    uint64_t deliveries;       /* messages enqueued to sessions */
    uint64_t messages_out;     /* messages written to sockets (counted by transports) */
    uint64_t queue_drops;      /* messages lost to queue overflow */
    uint64_t bus_rejected;     /* bus messages with an invalid channel */
    uint64_t errors;           /* error replies */
    size_t sessions;
    size_t by_transport[CG_TRANSPORT_COUNT];
    size_t channels, subscriptions;
} cg_bayeux_stats_t;

/* Hook for outbound routes: a client publish on a channel the hook claims is handed to it instead
 * of being broadcast. Installed by the connectors (issue: outbound routes). */
typedef struct cg_bayeux_publish_hook cg_bayeux_publish_hook_t;

cg_bayeux_t *cg_bayeux_create(const cg_config_t *cfg);
void cg_bayeux_destroy(cg_bayeux_t *b);

/* Handles one request body (a JSON array of messages or one message). Reply objects are appended
 * to `replies` comma-separated, without brackets. A /meta/connect leaves `conn` HELD (or
 * RELEASED when it is answered at once); its reply comes from cg_bayeux_take_connect_reply.
 * Returns CG_BAYEUX_OK or a negative CG_BAYEUX_E*; on an error `replies` holds one error
 * object. */
int cg_bayeux_handle(cg_bayeux_t *b, cg_conn_t *conn, const cg_request_info_t *info,
                     const char *body, size_t len, cg_buf_t *replies);

/* A transport found its held connect has queued messages to carry (polling): release it now. */
void cg_bayeux_release_for_messages(cg_bayeux_t *b, cg_conn_t *conn);
/* Appends (comma-prefixed when `out` is non-empty) the reply of a RELEASED connect; resets the
 * conn to CG_CONNECT_NONE. */
void cg_bayeux_take_connect_reply(cg_bayeux_t *b, cg_conn_t *conn, cg_buf_t *out);
/* The transport's socket or request is gone. */
void cg_bayeux_conn_closed(cg_bayeux_t *b, cg_conn_t *conn);

/* A message from the bus (connectors, demo feed): `data` is encoded JSON. */
void cg_bayeux_publish_data(cg_bayeux_t *b, const char *channel, const char *data, size_t len);

/* Periodic: releases expired connects, sweeps idle sessions. */
void cg_bayeux_tick(cg_bayeux_t *b);
/* Releases every held connect with advice to re-handshake (process shutdown). */
void cg_bayeux_shutdown(cg_bayeux_t *b);

void cg_bayeux_count_out(cg_bayeux_t *b, size_t messages);
void cg_bayeux_get_stats(const cg_bayeux_t *b, cg_bayeux_stats_t *out);

#endif
