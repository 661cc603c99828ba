#include "bus.h"

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
    cg_bus_limits_t limits;
    void (*wake)(void *arg);
    void *wake_arg;
};

cg_bus_t *cg_bus_create(const cg_bus_limits_t *limits)
{
    cg_bus_t *bus = calloc(1, sizeof(*bus));
    if (!bus)
        return NULL;
    pthread_mutex_init(&bus->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&bus->space, &ca);
    pthread_condattr_destroy(&ca);
    bus->limits = *limits;
    return bus;
}

void cg_bus_destroy(cg_bus_t *bus)
{
    if (!bus)
        return;
    entry_t *e = bus->head;
    while (e) {
        entry_t *n = e->next;
        free(e);
        e = n;
    }
    pthread_cond_destroy(&bus->space);
    pthread_mutex_destroy(&bus->lock);
    free(bus);
}

void cg_bus_set_waker(cg_bus_t *bus, void (*wake)(void *arg), void *arg)
{
    pthread_mutex_lock(&bus->lock);
    bus->wake = wake;
    bus->wake_arg = arg;
    pthread_mutex_unlock(&bus->lock);
}

/* Appends e; returns whether the loop must be woken. Requires bus->lock. */
static bool append_locked(cg_bus_t *bus, entry_t *e)
{
    bool was_empty = bus->head == NULL;
    e->next = NULL;
    if (bus->tail)
        bus->tail->next = e;
    else
        bus->head = e;
    bus->tail = e;
    return was_empty;
}

static void wake_loop(cg_bus_t *bus, bool needed)
{
    /* wake/wake_arg are set once before any producer starts. */
    if (needed && bus->wake)
        bus->wake(bus->wake_arg);
}

int cg_bus_push(cg_bus_t *bus, const char *channel, const char *data, size_t data_len)
{
    size_t clen = strlen(channel);
    size_t cost = clen + data_len;
    /* Allocate and copy outside the lock. */
    entry_t *e = malloc(sizeof(*e) + clen + 1 + data_len + 1);
    if (!e)
        return CG_BUS_ENOMEM;
    e->fn = NULL;
    e->arg = NULL;
    e->channel_len = clen;
    e->data_len = data_len;
    memcpy(e->bytes, channel, clen + 1);
    memcpy(e->bytes + clen + 1, data, data_len);
    e->bytes[clen + 1 + data_len] = '\0';

    pthread_mutex_lock(&bus->lock);
    int rc = 0;
    if (bus->closed)
        rc = CG_BUS_ECLOSED;
    /* A single message larger than the byte bound still passes on an empty queue, else it could
     * never be delivered. */
    else if (bus->messages >= bus->limits.max_messages ||
             (bus->messages > 0 && bus->bytes + cost > bus->limits.max_bytes))
        rc = CG_BUS_EFULL;
    bool wake = false;
    if (rc == 0) {
        bus->messages++;
        bus->bytes += cost;
        wake = append_locked(bus, e);
    }
    pthread_mutex_unlock(&bus->lock);
    if (rc) {
        free(e);
        return rc;
    }
    wake_loop(bus, wake);
    return 0;
}

int cg_bus_call(cg_bus_t *bus, void (*fn)(void *arg), void *arg)
{
    entry_t *e = malloc(sizeof(*e));
    if (!e)
        return CG_BUS_ENOMEM;
    e->fn = fn;
    e->arg = arg;
    e->channel_len = e->data_len = 0;
    pthread_mutex_lock(&bus->lock);
    bool wake = append_locked(bus, e);
    pthread_mutex_unlock(&bus->lock);
    wake_loop(bus, wake);
    return 0;
}

static bool has_space_locked(const cg_bus_t *bus)
{
    return bus->messages <= bus->limits.max_messages / 2 && bus->bytes <= bus->limits.max_bytes / 2;
}

bool cg_bus_wait_space(cg_bus_t *bus, int timeout_ms)
{
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&bus->lock);
    while (!bus->closed && !has_space_locked(bus)) {
        if (pthread_cond_timedwait(&bus->space, &bus->lock, &deadline) == ETIMEDOUT)
            break;
    }
    bool ok = !bus->closed && has_space_locked(bus);
    pthread_mutex_unlock(&bus->lock);
    return ok;
}

void cg_bus_close(cg_bus_t *bus)
{
    pthread_mutex_lock(&bus->lock);
    bus->closed = true;
    pthread_cond_broadcast(&bus->space);
    pthread_mutex_unlock(&bus->lock);
}

size_t cg_bus_drain(cg_bus_t *bus, const cg_bus_handler_t *h)
{
    pthread_mutex_lock(&bus->lock);
    entry_t *e = bus->head;
    bus->head = bus->tail = NULL;
    pthread_mutex_unlock(&bus->lock);

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
        pthread_mutex_lock(&bus->lock);
        bus->messages -= msgs;
        bus->bytes -= bytes;
        if (has_space_locked(bus))
            pthread_cond_broadcast(&bus->space);
        pthread_mutex_unlock(&bus->lock);
    }
    return n;
}

void cg_bus_fill(cg_bus_t *bus, size_t *messages, size_t *bytes)
{
    pthread_mutex_lock(&bus->lock);
    *messages = bus->messages;
    *bytes = bus->bytes;
    pthread_mutex_unlock(&bus->lock);
}
