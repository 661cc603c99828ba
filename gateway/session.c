#include "session.h"
#include "session_priv.h"
#include "alloc.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>

static const char *const transport_names[CG_TRANSPORT_COUNT] = {
    "websocket", "long-polling", "callback-polling", "http-streaming"};

const char *cg_transport_name(cg_transport_t t)
{
    return t < CG_TRANSPORT_COUNT ? transport_names[t] : "unknown";
}

int cg_transport_from_name(const char *name, cg_transport_t *out)
{
    for (int i = 0; i < CG_TRANSPORT_COUNT; i++) {
        if (!strcmp(name, transport_names[i])) {
            *out = (cg_transport_t)i;
            return 0;
        }
    }
    return -1;
}

int cg_session_enqueue(cg_session_t *s, cg_frame_t *f, size_t max_messages, size_t max_bytes)
{
    size_t len = cg_frame_object_len(f);
    if (s->count >= max_messages || s->queued_bytes + len > max_bytes)
        return -1;
    if (s->count == s->ring_cap) {
        /* Grow geometrically up to the bound: an idle session costs no ring at all. */
        size_t cap = s->ring_cap ? s->ring_cap * 2 : 8;
        if (cap > max_messages)
            cap = max_messages;
        cg_frame_t **ring = cg_malloc(cap * sizeof(*ring));
        for (size_t i = 0; i < s->count; i++)
            ring[i] = s->ring[(s->head + i) % s->ring_cap];
        free(s->ring);
        s->ring = ring;
        s->ring_cap = cap;
        s->head = 0;
    }
    s->ring[(s->head + s->count) % s->ring_cap] = cg_frame_ref(f);
    s->count++;
    s->queued_bytes += len;
    return 0;
}

cg_frame_t *cg_session_dequeue(cg_session_t *s)
{
    if (s->count == 0)
        return NULL;
    cg_frame_t *f = s->ring[s->head];
    s->head = (s->head + 1) % s->ring_cap;
    s->count--;
    s->queued_bytes -= cg_frame_object_len(f);
    if (s->count == 0 && s->ring_cap > 64) {
        /* A burst grew the ring; give the memory back once drained. */
        free(s->ring);
        s->ring = NULL;
        s->ring_cap = 0;
        s->head = 0;
    }
    return f;
}

void cg_session_clear_queue(cg_session_t *s)
{
    cg_frame_t *f;
    while ((f = cg_session_dequeue(s)))
        cg_frame_release(f);
    free(s->ring);
    s->ring = NULL;
    s->ring_cap = s->head = 0;
}

cg_subscription_t *cg_session_find_sub(const cg_session_t *s, const char *name)
{
    for (size_t i = 0; i < s->nsubs; i++)
        if (!strcmp(cg_subscription_name(s->subs[i]), name))
            return s->subs[i];
    return NULL;
}

void cg_session_add_sub(cg_session_t *s, cg_subscription_t *sub)
{
    if (s->nsubs == s->subs_cap) {
        s->subs_cap = s->subs_cap ? s->subs_cap * 2 : 2;
        s->subs = cg_realloc(s->subs, s->subs_cap * sizeof(*s->subs));
    }
    s->subs[s->nsubs++] = sub;
    s->sub_bytes += CG_SUBSCRIPTION_COST(strlen(cg_subscription_name(sub)));
}

void cg_session_remove_sub(cg_session_t *s, cg_subscription_t *sub)
{
    for (size_t i = 0; i < s->nsubs; i++) {
        if (s->subs[i] == sub) {
            s->sub_bytes -= CG_SUBSCRIPTION_COST(strlen(cg_subscription_name(sub)));
            s->subs[i] = s->subs[--s->nsubs];
            if (s->nsubs == 0) { /* give a burst's array back */
                free(s->subs);
                s->subs = NULL;
                s->subs_cap = 0;
            }
            return;
        }
    }
}

size_t cg_session_queued(const cg_session_t *s)
{
    return s->count;
}

size_t cg_session_sub_bytes(const cg_session_t *s)
{
    return s->sub_bytes;
}

void cg_session_detach(cg_session_t *s)
{
    if (s->conn) {
        if (s->conn->session == s)
            s->conn->session = NULL;
        s->conn = NULL;
    }
}

void cg_session_attach(cg_session_t *s, cg_conn_t *c)
{
    if (s->conn == c && c->session == s)
        return;
    cg_session_detach(s);
    if (c->session && c->session->conn == c)
        cg_session_detach(c->session);
    c->session = s;
    s->conn = c;
}

bool cg_conn_owns(const cg_conn_t *c)
{
    return c->session && c->session->conn == c;
}

size_t cg_conn_queued(const cg_conn_t *c)
{
    return cg_conn_owns(c) ? c->session->count : 0;
}

void cg_conn_init(cg_conn_t *c, const cg_conn_ops_t *ops, cg_transport_t t)
{
    cg_buf_t replies = c->replies;
    memset(c, 0, sizeof(*c));
    c->ops = ops;
    c->transport = t;
    c->replies = replies;
    cg_buf_reset(&c->replies);
}

void cg_conn_free(cg_conn_t *c)
{
    cg_conn_clear_frames(c);
    cg_buf_free(&c->replies);
}

void cg_conn_push_frame(cg_conn_t *c, cg_frame_t *f)
{
    if (c->nframes == c->frames_cap) {
        c->frames_cap = c->frames_cap ? c->frames_cap * 2 : 8;
        c->frames = cg_realloc(c->frames, c->frames_cap * sizeof(*c->frames));
    }
    c->frames[c->nframes++] = f;
}

void cg_conn_clear_frames(cg_conn_t *c)
{
    for (size_t i = 0; i < c->nframes; i++)
        cg_frame_release(c->frames[i]);
    free(c->frames);
    c->frames = NULL;
    c->nframes = c->frames_cap = 0;
}
