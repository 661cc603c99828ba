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
    uint64_t messages_in;  /* publishes accepted from clients and the bus */
    uint64_t deliveries;   /* messages enqueued to sessions */
    uint64_t messages_out; /* messages written to sockets (counted by transports) */
    uint64_t queue_drops;  /* messages lost to queue overflow */
    uint64_t discarded;    /* messages still queued when their session ended or left */
    uint64_t bus_rejected; /* bus messages with an invalid channel */
    uint64_t errors;       /* error replies */
    uint64_t peer_refused; /* handshakes refused by the per-address limits */
    size_t sessions;
    size_t by_transport[CG_TRANSPORT_COUNT];
    size_t channels, subscriptions;
} cg_bayeux_stats_t;

/* Outbound routes: a client publish the hook claims is handed to a connector instead of being
 * broadcast; it reaches subscribers when it comes back from the bus. */
typedef struct cg_pending cg_pending_t; /* one client publish awaiting the broker's ack */
/* Runs on the loop thread for each client publish (not /meta, not /service). Return 1 to claim
 * it: the message is NOT broadcast locally and the reply waits for cg_bayeux_pending_complete;
 * return 0 to let it be broadcast as usual. `data` is the encoded JSON of the message's data. */
typedef int (*cg_outbound_fn)(void *arg, const char *channel, const char *data, size_t len,
                              cg_pending_t *p);
void cg_bayeux_set_outbound(cg_bayeux_t *b, cg_outbound_fn fn, void *arg, int64_t timeout_ms);
/* Loop thread only (connector threads get there with cg_handoff_call). Exactly once per claimed
 * publish. After the timeout bayeux has already answered the client with 504::broker timeout and
 * this call only frees it. `error` is "code::message", or NULL. */
void cg_bayeux_pending_complete(cg_bayeux_t *b, cg_pending_t *p, bool ok, const char *error);

cg_bayeux_t *cg_bayeux_create(const cg_config_t *cfg);
void cg_bayeux_destroy(cg_bayeux_t *b);

/* Handles one request body (a JSON array of messages or one message). Reply objects are appended
 * to `conn->replies` comma-separated, without brackets; replies to claimed publishes come later
 * (conn->pending counts them, and conn is woken). A /meta/connect leaves `conn` HELD (or
 * RELEASED when it is answered at once); its reply comes from cg_bayeux_take_connect_reply.
 * Returns CG_BAYEUX_OK or a negative CG_BAYEUX_E*; on an error the replies hold one error
 * object. */
int cg_bayeux_handle(cg_bayeux_t *b, cg_conn_t *conn, const cg_request_info_t *info,
                     const char *body, size_t len);

/* A transport found its held connect has queued messages to carry (polling): release it now. */
void cg_bayeux_release_for_messages(cg_bayeux_t *b, cg_conn_t *conn);
/* Appends (comma-prefixed when `out` is non-empty) the reply of a RELEASED connect; resets the
 * conn to CG_CONNECT_NONE. */
void cg_bayeux_take_connect_reply(cg_bayeux_t *b, cg_conn_t *conn, cg_buf_t *out);
/* The transport's socket or request is gone. */
void cg_bayeux_conn_closed(cg_bayeux_t *b, cg_conn_t *conn);

/* A message from the bus (Kafka, MQTT, the demo feed; handed over by cg_handoff): `data` is
 * encoded JSON. */
void cg_bayeux_publish_data(cg_bayeux_t *b, const char *channel, const char *data, size_t len);

/* Periodic: releases expired connects, sweeps idle sessions. */
void cg_bayeux_tick(cg_bayeux_t *b);
/* Releases every held connect with advice to re-handshake (process shutdown). */
void cg_bayeux_shutdown(cg_bayeux_t *b);

void cg_bayeux_count_out(cg_bayeux_t *b, size_t messages);

/* The one batch assembler of every transport: appends to `out`, comma-separated, the conn's
 * pending replies, the frames taken at its release, the messages queued for the session it owns
 * (while `out` stays under `max_bytes`), and, when `with_connect`, the reply of its released
 * /meta/connect. Returns the number of messages appended (counted as
 * messages_out). The first `prefix_len` bytes of `out` are not messages (a bracket, a JSONP
 * name): a comma separates only what comes after them. */
size_t cg_bayeux_collect(cg_bayeux_t *b, cg_conn_t *c, cg_buf_t *out, size_t prefix_len,
                         size_t max_bytes, bool with_connect);
/* The conn has something for cg_bayeux_collect (replies, frames, queued messages, a released
 * connect reply). */
bool cg_bayeux_has_output(const cg_conn_t *c);
void cg_bayeux_get_stats(const cg_bayeux_t *b, cg_bayeux_stats_t *out);

#endif
