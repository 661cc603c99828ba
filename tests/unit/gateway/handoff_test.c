#include "../cg_test.h"
#include "handoff.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* A producer thread pushes N numbered messages, applying back-pressure on EFULL; the "loop"
 * thread drains when woken. Everything must arrive exactly once, in order. */
enum { N = 200000 };

typedef struct shared {
    cg_handoff_t *handoff;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int wakeups_pending;
    atomic_int wakes;
    long next_expected;
    long received;
    int out_of_order;
    int fulls;
    int drains_with_data;
} shared_t;

static void waker(void *arg)
{
    shared_t *s = arg;
    atomic_fetch_add(&s->wakes, 1);
    pthread_mutex_lock(&s->lock);
    s->wakeups_pending = 1;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

static void on_publish(void *arg, const char *channel, const char *data, size_t len)
{
    shared_t *s = arg;
    long v = strtol(data, NULL, 10);
    if (v != s->next_expected || len == 0 || strcmp(channel, "/t"))
        s->out_of_order++;
    s->next_expected = v + 1;
    s->received++;
}

static void *producer(void *arg)
{
    shared_t *s = arg;
    char buf[32];
    for (long i = 0; i < N; i++) {
        int n = snprintf(buf, sizeof(buf), "%ld", i);
        while (cg_handoff_push(s->handoff, "/t", buf, (size_t)n) == CG_HANDOFF_EFULL) {
            s->fulls++;
            cg_handoff_wait_space(s->handoff, 1000);
        }
    }
    return NULL;
}

static void test_two_threads(void)
{
    shared_t s;
    memset(&s, 0, sizeof(s));
    pthread_mutex_init(&s.lock, NULL);
    pthread_cond_init(&s.cond, NULL);
    cg_handoff_limits_t lim = {.max_messages = 1000, .max_bytes = 1 << 20};
    s.handoff = cg_handoff_create(&lim);
    cg_handoff_set_waker(s.handoff, waker, &s);
    pthread_t t;
    pthread_create(&t, NULL, producer, &s);
    cg_handoff_handler_t h = {.publish = on_publish, .arg = &s};
    while (s.received < N) {
        pthread_mutex_lock(&s.lock);
        while (!s.wakeups_pending)
            pthread_cond_wait(&s.cond, &s.lock);
        s.wakeups_pending = 0;
        pthread_mutex_unlock(&s.lock);
        if (cg_handoff_drain(s.handoff, &h) > 0)
            s.drains_with_data++;
    }
    pthread_join(t, NULL);
    CHECK(s.received == N);
    CHECK(s.out_of_order == 0);
    /* Wakeups merge: the loop is woken only when a push finds the queue empty, so every wake
     * starts exactly one batch that exactly one drain takes (the producer calls the waker
     * before its push returns, so all wakes are counted once it is joined). */
    CHECK(atomic_load(&s.wakes) == s.drains_with_data);
    CHECK(s.drains_with_data < N);
    size_t m, b;
    cg_handoff_fill(s.handoff, &m, &b);
    CHECK(m == 0 && b == 0);
    fprintf(stderr, "  %d messages, %d wakes, %d times full\n", N, atomic_load(&s.wakes), s.fulls);
    cg_handoff_destroy(s.handoff);
}

static int wake_calls;
static void count_wake(void *arg)
{
    (void)arg;
    wake_calls++;
}

static int published;
static void count_publish(void *arg, const char *c, const char *d, size_t l)
{
    (void)arg, (void)c, (void)d, (void)l;
    published++;
}

/* One wake per empty -> non-empty transition, none for pushes onto a non-empty queue. */
static void test_wakes_merge(void)
{
    cg_handoff_limits_t lim = {.max_messages = 100, .max_bytes = 1 << 16};
    cg_handoff_t *handoff = cg_handoff_create(&lim);
    cg_handoff_set_waker(handoff, count_wake, NULL);
    cg_handoff_handler_t h = {.publish = count_publish};
    wake_calls = published = 0;
    for (int i = 0; i < 10; i++)
        CHECK(cg_handoff_push(handoff, "/w", "x", 1) == 0);
    CHECK(wake_calls == 1);
    CHECK(cg_handoff_drain(handoff, &h) == 10);
    CHECK(published == 10);
    CHECK(cg_handoff_drain(handoff, &h) == 0);
    CHECK(wake_calls == 1);
    CHECK(cg_handoff_push(handoff, "/w", "y", 1) == 0);
    CHECK(cg_handoff_push(handoff, "/w", "z", 1) == 0);
    CHECK(wake_calls == 2);
    CHECK(cg_handoff_drain(handoff, &h) == 2);
    cg_handoff_destroy(handoff);
}

static int calls;
static void count_call(void *arg)
{
    (void)arg;
    calls++;
}

static void noop_publish(void *arg, const char *c, const char *d, size_t l)
{
    (void)arg, (void)c, (void)d, (void)l;
}

static void test_bounds_and_close(void)
{
    cg_handoff_limits_t lim = {.max_messages = 3, .max_bytes = 100};
    cg_handoff_t *handoff = cg_handoff_create(&lim);
    CHECK(cg_handoff_push(handoff, "/a", "1", 1) == 0);
    CHECK(cg_handoff_push(handoff, "/a", "2", 1) == 0);
    CHECK(cg_handoff_push(handoff, "/a", "3", 1) == 0);
    CHECK(cg_handoff_push(handoff, "/a", "4", 1) == CG_HANDOFF_EFULL);
    cg_handoff_call(handoff, count_call, NULL); /* calls are never refused, even when full */
    CHECK(!cg_handoff_wait_space(handoff, 10));
    cg_handoff_handler_t h = {.publish = noop_publish};
    CHECK(cg_handoff_drain(handoff, &h) == 4);
    CHECK(calls == 1);
    CHECK(cg_handoff_wait_space(handoff, 10));
    /* byte bound: a message bigger than the bound passes alone, not behind another */
    char big[200];
    memset(big, 'x', sizeof(big));
    CHECK(cg_handoff_push(handoff, "/a", big, sizeof(big)) == 0);
    CHECK(cg_handoff_push(handoff, "/a", "1", 1) == CG_HANDOFF_EFULL);
    cg_handoff_close(handoff);
    CHECK(cg_handoff_push(handoff, "/a", "1", 1) == CG_HANDOFF_ECLOSED);
    CHECK(!cg_handoff_wait_space(handoff, 10));
    cg_handoff_destroy(handoff); /* frees the queued message */
}

int main(void)
{
    RUN(test_wakes_merge);
    RUN(test_two_threads);
    RUN(test_bounds_and_close);
    TEST_MAIN_END();
}
