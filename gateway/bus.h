/* cg_bus: the bounded queue that carries work from connector threads into the lws loop.
 *
 * Producers (any thread) append under a mutex and wake the loop with the waker (which calls
 * lws_cancel_service()) only when the queue was empty: wakeups merge. The loop takes the whole
 * list under the lock and dispatches it unlocked (cg_bus_drain).
 *
 * Published messages are bounded (count and bytes): cg_bus_push answers CG_BUS_EFULL and the
 * producer applies back-pressure (the Kafka connector pauses its partitions) until
 * cg_bus_wait_space() says the loop has drained below the low watermark. Calls (cg_bus_call) are
 * not bounded: they carry completions whose number is already bounded by their producer. */
#ifndef CG_BUS_H
#define CG_BUS_H

#include <stdbool.h>
#include <stddef.h>

#define CG_BUS_EFULL (-1)
#define CG_BUS_ENOMEM (-2)
#define CG_BUS_ECLOSED (-3)

typedef struct cg_bus cg_bus_t;

typedef struct cg_bus_limits {
    size_t max_messages;
    size_t max_bytes;
} cg_bus_limits_t;

cg_bus_t *cg_bus_create(const cg_bus_limits_t *limits);
/* Frees what is still queued. No producer may be running. */
void cg_bus_destroy(cg_bus_t *bus);

/* `wake` is called from producer threads when the queue turns non-empty. */
void cg_bus_set_waker(cg_bus_t *bus, void (*wake)(void *arg), void *arg);

/* Any thread. Copies `channel` and `data` (a JSON value, encoded) into the queue. */
int cg_bus_push(cg_bus_t *bus, const char *channel, const char *data, size_t data_len);
/* Any thread. Runs fn(arg) on the loop thread at the next drain. 0 or CG_BUS_ENOMEM. */
int cg_bus_call(cg_bus_t *bus, void (*fn)(void *arg), void *arg);

/* Blocks until the queue is below half its bounds, `timeout_ms` passes, or the bus is closed.
 * true when there is space. */
bool cg_bus_wait_space(cg_bus_t *bus, int timeout_ms);
/* Wakes every waiter and makes later pushes fail with CG_BUS_ECLOSED (shutdown). */
void cg_bus_close(cg_bus_t *bus);

typedef struct cg_bus_handler {
    void (*publish)(void *arg, const char *channel, const char *data, size_t data_len);
    void *arg;
} cg_bus_handler_t;

/* Loop thread: dispatches everything queued, in order. Returns the number of entries. */
size_t cg_bus_drain(cg_bus_t *bus, const cg_bus_handler_t *h);

/* Current fill, for stats. Any thread. */
void cg_bus_fill(cg_bus_t *bus, size_t *messages, size_t *bytes);

#endif
