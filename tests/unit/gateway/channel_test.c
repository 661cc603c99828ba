#include "../cg_test.h"
#include "channel.h"

#include <stdint.h>
#include <stdlib.h>

static void test_validate(void)
{
    cg_channel_kind_t k;
    CHECK(cg_channel_validate("/a", 2, 256, &k) == 0 && k == CG_CHANNEL_PLAIN);
    CHECK(cg_channel_validate("/a/b-c_d.e", 10, 256, &k) == 0 && k == CG_CHANNEL_PLAIN);
    CHECK(cg_channel_validate("/a/*", 4, 256, &k) == 0 && k == CG_CHANNEL_WILD);
    CHECK(cg_channel_validate("/a/**", 5, 256, &k) == 0 && k == CG_CHANNEL_DEEP);
    CHECK(cg_channel_validate("/**", 3, 256, &k) == 0 && k == CG_CHANNEL_DEEP);
    CHECK(cg_channel_validate("/", 1, 256, &k) < 0);
    CHECK(cg_channel_validate("a/b", 3, 256, &k) < 0);
    CHECK(cg_channel_validate("/a/", 3, 256, &k) < 0);
    CHECK(cg_channel_validate("/a//b", 5, 256, &k) < 0);
    CHECK(cg_channel_validate("/a/*/b", 6, 256, &k) < 0);
    CHECK(cg_channel_validate("/a/***", 6, 256, &k) < 0);
    CHECK(cg_channel_validate("/a/b*", 5, 256, &k) < 0);
    CHECK(cg_channel_validate("/a\"b", 4, 256, &k) < 0);
    CHECK(cg_channel_validate("/a\\b", 4, 256, &k) < 0);
    CHECK(cg_channel_validate("/a b", 4, 256, &k) < 0);
    CHECK(cg_channel_validate("/abcdef", 7, 6, &k) < 0); /* over max length */
    CHECK(cg_channel_is_meta("/meta/connect"));
    CHECK(!cg_channel_is_meta("/metadata"));
    CHECK(cg_channel_is_service("/service/x"));
    CHECK(!cg_channel_is_service("/services"));
}

static void test_matches(void)
{
    CHECK(cg_channel_matches("/a/*", "/a/b"));
    CHECK(!cg_channel_matches("/a/*", "/a/b/c"));
    CHECK(!cg_channel_matches("/a/*", "/a"));
    CHECK(cg_channel_matches("/a/**", "/a/b/c"));
    CHECK(cg_channel_matches("/a/**", "/a/b"));
    CHECK(!cg_channel_matches("/a/**", "/a"));
    CHECK(!cg_channel_matches("/a/**", "/ab/c"));
    CHECK(cg_channel_matches("/**", "/x/y"));
    CHECK(cg_channel_matches("/a/b", "/a/b"));
    CHECK(!cg_channel_matches("/a/b", "/a/bc"));
}

typedef struct hits {
    int n[8];
} hits_t;

static void count_hit(void *subscriber, void *arg)
{
    hits_t *h = arg;
    h->n[(int)(intptr_t)subscriber]++;
}

static void test_index(void)
{
    cg_channel_index_t *idx = cg_channel_index_create();
    cg_subscription_t *s1 = cg_channel_subscribe(idx, "/a/b", (void *)1);
    cg_subscription_t *s2 = cg_channel_subscribe(idx, "/a/*", (void *)2);
    cg_subscription_t *s3 = cg_channel_subscribe(idx, "/a/**", (void *)3);
    cg_subscription_t *s4 = cg_channel_subscribe(idx, "/**", (void *)4);
    cg_subscription_t *s5 = cg_channel_subscribe(idx, "/a/b", (void *)5);
    CHECK(cg_channel_index_subscriptions(idx) == 5);
    CHECK(cg_channel_index_channels(idx) == 4);

    hits_t h = {{0}};
    CHECK(cg_channel_publish(idx, "/a/b", count_hit, &h) == 5);
    CHECK(h.n[1] == 1 && h.n[2] == 1 && h.n[3] == 1 && h.n[4] == 1 && h.n[5] == 1);

    hits_t h2 = {{0}};
    CHECK(cg_channel_publish(idx, "/a/b/c", count_hit, &h2) == 2);
    CHECK(h2.n[3] == 1 && h2.n[4] == 1 && h2.n[2] == 0 && h2.n[1] == 0);

    hits_t h3 = {{0}};
    CHECK(cg_channel_publish(idx, "/x", count_hit, &h3) == 1);
    CHECK(h3.n[4] == 1);

    /* Removal keeps the rest intact (swap-remove). */
    cg_channel_unsubscribe(idx, s1);
    hits_t h4 = {{0}};
    CHECK(cg_channel_publish(idx, "/a/b", count_hit, &h4) == 4);
    CHECK(h4.n[1] == 0 && h4.n[5] == 1);
    CHECK_STR(cg_subscription_name(s5), "/a/b");
    CHECK(cg_subscription_subscriber(s5) == (void *)5);

    cg_channel_unsubscribe(idx, s2);
    cg_channel_unsubscribe(idx, s3);
    cg_channel_unsubscribe(idx, s4);
    cg_channel_unsubscribe(idx, s5);
    CHECK(cg_channel_index_subscriptions(idx) == 0);
    CHECK(cg_channel_index_channels(idx) == 0);
    cg_channel_index_destroy(idx);
}

static void test_many(void)
{
    /* 10,000 subscribers on one channel, removed in an interleaved order. */
    enum { N = 10000 };
    cg_channel_index_t *idx = cg_channel_index_create();
    static cg_subscription_t *subs[N];
    for (int i = 0; i < N; i++)
        subs[i] = cg_channel_subscribe(idx, "/room/1", (void *)(intptr_t)(i % 8));
    hits_t h = {{0}};
    CHECK(cg_channel_publish(idx, "/room/1", count_hit, &h) == N);
    for (int i = 0; i < N; i += 2)
        cg_channel_unsubscribe(idx, subs[i]);
    hits_t h2 = {{0}};
    CHECK(cg_channel_publish(idx, "/room/1", count_hit, &h2) == N / 2);
    CHECK(h2.n[0] == 0 && h2.n[1] == N / 8);
    for (int i = 1; i < N; i += 2)
        cg_channel_unsubscribe(idx, subs[i]);
    CHECK(cg_channel_index_channels(idx) == 0);
    cg_channel_index_destroy(idx);
}

int main(void)
{
    RUN(test_validate);
    RUN(test_matches);
    RUN(test_index);
    RUN(test_many);
    TEST_MAIN_END();
}
