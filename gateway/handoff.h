/* cg_bus: the bounded queue that carries work from connector threads into the lws loop.
 *
 * Producers (any thread) append under a mutex and wake the loop with the waker (which calls
 * lws_cancel_service()) only when the queue was empty: wakeups merge. The loop takes the whole
 * list under the lock and dispatches it unlocked (cg_handoff_drain).
 *
 * Published messages are bounded (count and bytes): cg_handoff_push answers CG_HANDOFF_EFULL and
 * the producer applies back-pressure (the Kafka connector pauses its partitions) until
 * cg_handoff_wait_space() says the loop has drained below the low watermark. Calls
 * (cg_handoff_call) are not bounded: they carry completions whose number is already bounded by
 * their producer. */
#ifndef CG_HANDOFF_H
#define CG_HANDOFF_H

#include <stdbool.h>
#include <stddef.h>

#define CG_HANDOFF_EFULL (-1)
#define CG_HANDOFF_ECLOSED (-3)

typedef struct cg_bus cg_handoff_t;

typedef struct cg_handoff_limits {
    size_t max_messages;
    size_t max_bytes;
} cg_handoff_limits_t;

cg_handoff_t *cg_handoff_create(const cg_handoff_limits_t *limits);
/* Frees what is still queued. No producer may be running. */
void cg_handoff_destroy(cg_handoff_t *handoff);

/* `wake` is called from producer threads when the queue turns non-empty. */
void cg_handoff_set_waker(cg_handoff_t *handoff, void (*wake)(void *arg), void *arg);

/* Any thread. Copies `channel` and `data` (a JSON value, encoded) into the queue. */
int cg_handoff_push(cg_handoff_t *handoff, const char *channel, const char *data, size_t data_len);
/* Any thread. Runs fn(arg) on the loop thread at the next drain (accepted after close too: the
 * last drain runs it). */
void cg_handoff_call(cg_handoff_t *handoff, void (*fn)(void *arg), void *arg);

/* Blocks until the queue is below half its bounds, `timeout_ms` passes, or the handoff is closed.
 * true when there is space. */
bool cg_handoff_wait_space(cg_handoff_t *handoff, int timeout_ms);
/* Wakes every waiter and makes later pushes fail with CG_HANDOFF_ECLOSED (shutdown). */
void cg_handoff_close(cg_handoff_t *handoff);

typedef struct cg_handoff_handler {
    void (*publish)(void *arg, const char *channel, const char *data, size_t data_len);
    void *arg;
} cg_handoff_handler_t;

/* Loop thread: dispatches everything queued, in order. Returns the number of entries. */
size_t cg_handoff_drain(cg_handoff_t *handoff, const cg_handoff_handler_t *h);

/* Current fill, for stats. Any thread. */
void cg_handoff_fill(cg_handoff_t *handoff, size_t *messages, size_t *bytes);

#endif
