/* The inside of a Bayeux session, for its owners only: session.c and the bayeux engine.
 * Transports see cg_session_t as opaque (session.h).
 * Thread: lws service thread only. */
#ifndef CG_SESSION_PRIV_H
#define CG_SESSION_PRIV_H

#include "session.h"

struct cg_session {
    char id[CG_SESSION_ID_LEN + 1];
    cg_dlink_t all;           /* every session */
    cg_dlink_t timer;         /* on bayeux's held list (by deadline) or idle list (by idle_since) */
    int timer_list;           /* which of them: 0 none, else bayeux's list id */
    cg_conn_t *conn;          /* delivery target, or NULL (cg_session_attach) */
    cg_transport_t transport; /* of the last connect */
    bool connected;           /* a /meta/connect was answered */
    uint64_t idle_since_ms;   /* when the last connect ended; sweep reference */
    char browser[CG_BROWSER_ID_MAX];
    void *peer; /* bayeux's per-address record this session counts against */
    /* queue: a ring of frames */
    cg_frame_t **ring;
    size_t ring_cap, head, count;
    size_t queued_bytes;
    /* subscriptions */
    cg_subscription_t **subs;
    size_t nsubs, subs_cap;
    size_t sub_bytes;          /* CG_SUBSCRIPTION_COST summed */
    uint64_t last_publish_seq; /* deduplicates overlapping subscriptions */
    bool doomed;               /* to be destroyed after the current fan-out */
};

#endif
