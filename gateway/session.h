/* Bayeux sessions and the connections that carry them.
 *
 * A session (cg_session_t) is what a handshake creates: an id, its subscriptions and a bounded
 * queue of frames waiting for delivery. A connection (cg_conn_t) is a transport's handle on one
 * socket or request; it is embedded in the transport's per-connection data. A session delivers
 * through at most one connection at a time (`session->conn`): the WebSocket it connected on, or
 * the HTTP request holding its /meta/connect.
 *
 * Thread: lws service thread only. Ownership: sessions are owned by the bayeux module and are
 * opaque here (session_priv.h is for bayeux and session.c); a session and its conn point at each
 * other, and only cg_session_attach / cg_session_detach make or cut that link, both ways at
 * once. */
#ifndef CG_SESSION_H
#define CG_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "channel.h"
#include "dlist.h"
#include "frame.h"

#define CG_SESSION_ID_LEN 24
#define CG_MESSAGE_ID_MAX 80 /* encoded JSON of a message id */
#define CG_BROWSER_ID_MAX 48

typedef enum {
    CG_TRANSPORT_WEBSOCKET = 0,
    CG_TRANSPORT_LONG_POLLING,
    CG_TRANSPORT_CALLBACK_POLLING,
    CG_TRANSPORT_HTTP_STREAMING,
    CG_TRANSPORT_COUNT
} cg_transport_t;

const char *cg_transport_name(cg_transport_t t);
int cg_transport_from_name(const char *name, cg_transport_t *out);

typedef struct cg_session cg_session_t;
typedef struct cg_conn cg_conn_t;

typedef struct cg_conn_ops {
    /* The conn has something to write (messages queued, connect released): ask for a
     * writeable callback. Never writes directly. */
    void (*wake)(cg_conn_t *c);
} cg_conn_ops_t;

typedef enum {
    CG_CONNECT_NONE = 0, /* no /meta/connect on this conn */
    CG_CONNECT_HELD,     /* waiting for messages or the deadline */
    CG_CONNECT_RELEASED, /* its reply is ready to be written */
} cg_connect_state_t;

typedef enum {
    CG_RELEASE_IMMEDIATE = 0, /* first connect, or timeout 0 */
    CG_RELEASE_TIMEOUT,
    CG_RELEASE_MESSAGES,
    CG_RELEASE_REPLACED,     /* a newer connect for the same session arrived */
    CG_RELEASE_DISCONNECTED, /* /meta/disconnect */
    CG_RELEASE_OVERFLOW,     /* the session's queue overflowed; the session is gone */
    CG_RELEASE_SHUTDOWN,
    CG_RELEASE_MULTIPLE_CLIENTS,
} cg_release_t;

struct cg_conn {
    const cg_conn_ops_t *ops;
    cg_transport_t transport;
    cg_session_t *session; /* delivers for this session when it owns it (cg_conn_owns) */
    /* The held /meta/connect, answered by cg_bayeux_take_connect_reply(). */
    cg_connect_state_t connect;
    cg_release_t release;
    uint64_t deadline_ms;
    bool counted_browser;               /* counted in the browser's held long-polls */
    bool ended;                         /* its session ended with an error: close after writing */
    char connect_id[CG_MESSAGE_ID_MAX]; /* encoded id of the connect, "" if it had none */
    char client_id[CG_SESSION_ID_LEN + 1];
    char browser[CG_BROWSER_ID_MAX];
    /* Replies to this conn's requests, comma-separated objects, waiting to be written. */
    cg_buf_t replies;
    /* Client publishes claimed by an outbound route whose broker ack has not come yet: a
     * polling response waits for them. */
    unsigned pending;
    /* Polling transports: frames taken from the session when the connect was released. */
    cg_frame_t **frames;
    size_t nframes, frames_cap;
};

/* Session queue. Returns 0, or -1 when the bounds would be exceeded. */
int cg_session_enqueue(cg_session_t *s, cg_frame_t *f, size_t max_messages, size_t max_bytes);
/* Takes the oldest frame (the caller owns its reference); NULL when empty. */
cg_frame_t *cg_session_dequeue(cg_session_t *s);
void cg_session_clear_queue(cg_session_t *s);
size_t cg_session_queued(const cg_session_t *s);

/* Subscription bookkeeping of the session (the index entries live in channel.c). */
cg_subscription_t *cg_session_find_sub(const cg_session_t *s, const char *name);
void cg_session_add_sub(cg_session_t *s, cg_subscription_t *sub);
void cg_session_remove_sub(cg_session_t *s, cg_subscription_t *sub);
/* What the session's subscriptions cost against limits.max_subscription_bytes. */
size_t cg_session_sub_bytes(const cg_session_t *s);
#define CG_SUBSCRIPTION_COST(namelen) (128 + (namelen))

/* The session <-> conn link. attach makes `c` the session's delivery target, cutting whatever
 * either was linked to before; detach cuts the session's link (both sides). */
void cg_session_attach(cg_session_t *s, cg_conn_t *c);
void cg_session_detach(cg_session_t *s);
/* The conn is its session's current delivery target. */
bool cg_conn_owns(const cg_conn_t *c);
/* Messages queued for the session this conn owns (0 when it owns none). */
size_t cg_conn_queued(const cg_conn_t *c);

/* Conn helpers for transports. cg_conn_init keeps the replies buffer's memory (HTTP keep-alive
 * reuses a conn); cg_conn_free releases it. */
void cg_conn_init(cg_conn_t *c, const cg_conn_ops_t *ops, cg_transport_t t);
void cg_conn_free(cg_conn_t *c);
/* Polling transports: frames taken at release. */
void cg_conn_push_frame(cg_conn_t *c, cg_frame_t *f);
void cg_conn_clear_frames(cg_conn_t *c);

#endif
