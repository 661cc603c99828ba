#include "../cg_test.h"
#include "frame.h"
#include "session.h"
#include "session_priv.h"

static void test_refcount(void)
{
    const char *obj = "{\"channel\":\"/a\",\"data\":1}";
    cg_frame_t *f = cg_frame_create(obj, strlen(obj));
    CHECK(f != NULL);
    CHECK(cg_frame_refs(f) == 1);
    CHECK(cg_frame_ref(f) == f);
    CHECK(cg_frame_refs(f) == 2);
    CHECK(cg_frame_object_len(f) == strlen(obj));
    CHECK(!memcmp(cg_frame_object(f), obj, strlen(obj)));
    CHECK(cg_frame_array_len(f) == strlen(obj) + 2);
    CHECK(cg_frame_array(f)[0] == '[' && cg_frame_array(f)[strlen(obj) + 1] == ']');
    /* headroom before the array is writable scratch space */
    memset(cg_frame_array(f) - CG_FRAME_HEADROOM, 0x55, CG_FRAME_HEADROOM);
    CHECK(!memcmp(cg_frame_object(f), obj, strlen(obj)));
    cg_frame_release(f);
    CHECK(cg_frame_refs(f) == 1);
    cg_frame_release(f); /* freed: ASan would report a leak otherwise */
    cg_frame_release(NULL);
}

static void test_shared_by_queues(void)
{
    /* One frame in three session queues: each holds a reference; the last dequeue frees it. */
    cg_frame_t *f = cg_frame_create("{}", 2);
    cg_session_t s[3];
    memset(s, 0, sizeof(s));
    for (int i = 0; i < 3; i++)
        CHECK(cg_session_enqueue(&s[i], f, 10, 1000) == 0);
    CHECK(cg_frame_refs(f) == 4);
    cg_frame_release(f); /* the publisher's own reference */
    for (int i = 0; i < 3; i++) {
        cg_frame_t *g = cg_session_dequeue(&s[i]);
        CHECK(g == f);
        if (i < 2)
            CHECK(cg_frame_refs(g) == (unsigned)(3 - i - 1) + 1);
        cg_frame_release(g);
        cg_session_clear_queue(&s[i]);
    }
}

int main(void)
{
    RUN(test_refcount);
    RUN(test_shared_by_queues);
    TEST_MAIN_END();
}
