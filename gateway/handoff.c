#include "handoff.h"
#include "alloc.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct entry {
    struct entry *next;
    void (*fn)(void *arg); /* a call when set, else a publish */
    void *arg;
    size_t channel_len, data_len;
    char bytes[]; /* channel NUL data NUL */
} entry_t;

struct cg_bus {
    pthread_mutex_t lock;
    pthread_cond_t space;   /* signalled when a drain brings the fill under the low watermark */
    entry_t *head, *tail;   /* guarded by lock */
    size_t messages, bytes; /* publishes queued or being dispatched, guarded by lock */
    bool closed;
    cg_handoff_limits_t limits;
    void (*wake)(void *arg);
    void *wake_arg;
};

cg_handoff_t *cg_handoff_create(const cg_handoff_limits_t *limits)
{
    cg_handoff_t *handoff = cg_calloc(1, sizeof(*handoff));
    pthread_mutex_init(&handoff->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&handoff->space, &ca);
    pthread_condattr_destroy(&ca);
    handoff->limits = *limits;
    return handoff;
}

void cg_handoff_destroy(cg_handoff_t *handoff)
{
    if (!handoff)
        return;
    entry_t *e = handoff->head;
    while (e) {
        entry_t *n = e->next;
        free(e);
        e = n;
    }
    pthread_cond_destroy(&handoff->space);
    pthread_mutex_destroy(&handoff->lock);
    free(handoff);
}

void cg_handoff_set_waker(cg_handoff_t *handoff, void (*wake)(void *arg), void *arg)
{
    pthread_mutex_lock(&handoff->lock);
    handoff->wake = wake;
    handoff->wake_arg = arg;
    pthread_mutex_unlock(&handoff->lock);
}

/* Appends e; returns whether the loop must be woken. Requires handoff->lock. */
static bool append_locked(cg_handoff_t *handoff, entry_t *e)
{
    bool was_empty = handoff->head == NULL;
    e->next = NULL;
    if (handoff->tail)
        handoff->tail->next = e;
    else
        handoff->head = e;
    handoff->tail = e;
    return was_empty;
}

static void wake_loop(cg_handoff_t *handoff, bool needed)
{
    /* wake/wake_arg are set once before any producer starts. */
    if (needed && handoff->wake)
        handoff->wake(handoff->wake_arg);
}

int cg_handoff_push(cg_handoff_t *handoff, const char *channel, const char *data, size_t data_len)
{
    size_t clen = strlen(channel);
    size_t cost = clen + data_len;
    /* Allocate and copy outside the lock. */
    entry_t *e = cg_malloc(sizeof(*e) + clen + 1 + data_len + 1);
    e->fn = NULL;
    e->arg = NULL;
    e->channel_len = clen;
    e->data_len = data_len;
    memcpy(e->bytes, channel, clen + 1);
    memcpy(e->bytes + clen + 1, data, data_len);
    e->bytes[clen + 1 + data_len] = '\0';

    pthread_mutex_lock(&handoff->lock);
    int rc = 0;
    if (handoff->closed)
        rc = CG_HANDOFF_ECLOSED;
    /* A single message larger than the byte bound still passes on an empty queue, else it could
     * never be delivered. */
    else if (handoff->messages >= handoff->limits.max_messages ||
             (handoff->messages > 0 && handoff->bytes + cost > handoff->limits.max_bytes))
        rc = CG_HANDOFF_EFULL;
    bool wake = false;
    if (rc == 0) {
        handoff->messages++;
        handoff->bytes += cost;
        wake = append_locked(handoff, e);
    }
    pthread_mutex_unlock(&handoff->lock);
    if (rc) {
        free(e);
        return rc;
    }
    wake_loop(handoff, wake);
    return 0;
}

void cg_handoff_call(cg_handoff_t *handoff, void (*fn)(void *arg), void *arg)
{
    entry_t *e = cg_malloc(sizeof(*e));
    e->fn = fn;
    e->arg = arg;
    e->channel_len = e->data_len = 0;
    pthread_mutex_lock(&handoff->lock);
    bool wake = append_locked(handoff, e);
    pthread_mutex_unlock(&handoff->lock);
    wake_loop(handoff, wake);
}

static bool has_space_locked(const cg_handoff_t *handoff)
{
    return handoff->messages <= handoff->limits.max_messages / 2 &&
           handoff->bytes <= handoff->limits.max_bytes / 2;
}

bool cg_handoff_wait_space(cg_handoff_t *handoff, int timeout_ms)
{
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&handoff->lock);
    while (!handoff->closed && !has_space_locked(handoff)) {
        if (pthread_cond_timedwait(&handoff->space, &handoff->lock, &deadline) == ETIMEDOUT)
            break;
    }
    bool ok = !handoff->closed && has_space_locked(handoff);
    pthread_mutex_unlock(&handoff->lock);
    return ok;
}

void cg_handoff_close(cg_handoff_t *handoff)
{
    pthread_mutex_lock(&handoff->lock);
    handoff->closed = true;
    pthread_cond_broadcast(&handoff->space);
    pthread_mutex_unlock(&handoff->lock);
}

size_t cg_handoff_drain(cg_handoff_t *handoff, const cg_handoff_handler_t *h)
{
    pthread_mutex_lock(&handoff->lock);
    entry_t *e = handoff->head;
    handoff->head = handoff->tail = NULL;
    pthread_mutex_unlock(&handoff->lock);

    size_t n = 0, msgs = 0, bytes = 0;
    while (e) {
        entry_t *next = e->next;
        if (e->fn) {
            e->fn(e->arg);
        } else {
            h->publish(h->arg, e->bytes, e->bytes + e->channel_len + 1, e->data_len);
            msgs++;
            bytes += e->channel_len + e->data_len;
        }
        free(e);
        e = next;
        n++;
    }
    if (msgs) {
        pthread_mutex_lock(&handoff->lock);
        handoff->messages -= msgs;
        handoff->bytes -= bytes;
        if (has_space_locked(handoff))
            pthread_cond_broadcast(&handoff->space);
        pthread_mutex_unlock(&handoff->lock);
    }
    return n;
}

void cg_handoff_fill(cg_handoff_t *handoff, size_t *messages, size_t *bytes)
{
    pthread_mutex_lock(&handoff->lock);
    *messages = handoff->messages;
    *bytes = handoff->bytes;
    pthread_mutex_unlock(&handoff->lock);
}
