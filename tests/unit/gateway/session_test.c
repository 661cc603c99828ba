#include "../cg_test.h"
#include "session.h"
#include "session_priv.h"

static void test_bounds_messages(void)
{
    cg_session_t s;
    memset(&s, 0, sizeof(s));
    cg_frame_t *f = cg_frame_create("{\"x\":1}", 7);
    for (int i = 0; i < 5; i++)
        CHECK(cg_session_enqueue(&s, f, 5, 1000) == 0);
    CHECK(s.count == 5);
    CHECK(cg_session_enqueue(&s, f, 5, 1000) == -1); /* over the message bound */
    CHECK(s.count == 5 && s.queued_bytes == 35);
    CHECK(cg_frame_refs(f) == 6);
    cg_session_clear_queue(&s);
    CHECK(cg_frame_refs(f) == 1);
    cg_frame_release(f);
}

static void test_bounds_bytes(void)
{
    cg_session_t s;
    memset(&s, 0, sizeof(s));
    char big[100];
    memset(big, 'a', sizeof(big));
    cg_frame_t *f = cg_frame_create(big, sizeof(big));
    CHECK(cg_session_enqueue(&s, f, 1000, 250) == 0);
    CHECK(cg_session_enqueue(&s, f, 1000, 250) == 0);
    CHECK(cg_session_enqueue(&s, f, 1000, 250) == -1); /* 300 > 250 bytes */
    CHECK(s.queued_bytes == 200);
    cg_frame_release(cg_session_dequeue(&s));
    CHECK(s.queued_bytes == 100);
    CHECK(cg_session_enqueue(&s, f, 1000, 250) == 0);
    cg_session_clear_queue(&s);
    CHECK(s.queued_bytes == 0);
    cg_frame_release(f);
}

static void test_fifo_wraparound(void)
{
    cg_session_t s;
    memset(&s, 0, sizeof(s));
    cg_frame_t *fr[40];
    for (int i = 0; i < 40; i++) {
        char obj[16];
        int n = snprintf(obj, sizeof(obj), "{\"i\":%d}", i);
        fr[i] = cg_frame_create(obj, (size_t)n);
    }
    /* interleave enqueue/dequeue so head wraps while the ring grows */
    int next_out = 0;
    for (int i = 0; i < 40; i++) {
        CHECK(cg_session_enqueue(&s, fr[i], 100, 100000) == 0);
        if (i % 3 == 2) {
            cg_frame_t *g = cg_session_dequeue(&s);
            CHECK(g == fr[next_out]);
            next_out++;
            cg_frame_release(g);
        }
    }
    cg_frame_t *g;
    while ((g = cg_session_dequeue(&s))) {
        CHECK(g == fr[next_out]);
        next_out++;
        cg_frame_release(g);
    }
    CHECK(next_out == 40);
    CHECK(cg_session_dequeue(&s) == NULL);
    for (int i = 0; i < 40; i++)
        cg_frame_release(fr[i]);
    cg_session_clear_queue(&s);
}

static void test_transport_names(void)
{
    cg_transport_t t;
    CHECK(cg_transport_from_name("long-polling", &t) == 0 && t == CG_TRANSPORT_LONG_POLLING);
    CHECK(cg_transport_from_name("http-streaming", &t) == 0 && t == CG_TRANSPORT_HTTP_STREAMING);
    CHECK(cg_transport_from_name("iframe", &t) == -1);
    CHECK_STR(cg_transport_name(CG_TRANSPORT_WEBSOCKET), "websocket");
}

int main(void)
{
    RUN(test_bounds_messages);
    RUN(test_bounds_bytes);
    RUN(test_fifo_wraparound);
    RUN(test_transport_names);
    TEST_MAIN_END();
}
